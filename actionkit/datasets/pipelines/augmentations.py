"""Spatial and colour transforms of the frames of a clip.

Each random transform draws its parameters once per call (``make_params``), with the same
calls to numpy's and Python's global generators as MMAction2 0.x, and applies them to every
frame through the deterministic kernels in :mod:`.functional`. Frames are never modified in
place.

``lazy=True`` (``Resize``, ``Flip`` and the crops) works as in MMAction2 0.x: the step only
records its geometry in ``results['lazy']`` and ``Fuse`` applies it to the original frames as
one crop, one resize and one flip (see :mod:`.lazy`), which gives different pixels from
applying each step in turn.

The crops (``RandomCrop``, ``RandomResizedCrop``, ``MultiScaleCrop``, ``CenterCrop``,
``ThreeCrop``, ``TenCrop``) live in :mod:`.crops`; they are re-exported here so imports from this
module keep working.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..builder import PIPELINES
from . import functional as F
from .crops import CenterCrop, MultiScaleCrop, RandomCrop, RandomResizedCrop, TenCrop, ThreeCrop
from .lazy import fuse_lazy, init_lazy, lazy_state
from .transform_utils import _check_lazy, _float_pair

__all__ = ['Fuse', 'RandomCrop', 'RandomResizedCrop', 'MultiScaleCrop', 'Resize',
           'RandomRescale', 'Flip', 'Normalize', 'ColorJitter', 'CenterCrop', 'ThreeCrop',
           'TenCrop']


@PIPELINES.register_module()
class Fuse:
    """Apply the lazy operations recorded by ``lazy=True`` steps: crop the original frames to
    the pending box, resize them once to ``img_shape`` (with the last lazy ``Resize``'s
    interpolation, else bilinear) and flip them if a lazy ``Flip`` drew a flip.

    Required keys: ``imgs``, ``img_shape``, ``lazy``.
    Modified keys: ``imgs``.
    Removed keys: ``lazy``.
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        return fuse_lazy(results)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@PIPELINES.register_module()
class Resize:
    """Resize every frame.

    With ``keep_ratio=True``, a float ``scale`` is a factor and a tuple bounds the size:
    the largest size whose long side is at most ``max(scale)`` and short side at most
    ``min(scale)``; ``-1`` in the tuple means "no bound", so ``(-1, 256)`` sets the short side
    to 256. With ``keep_ratio=False`` the tuple is the output ``(w, h)``.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``scale_factor``, ``keypoint``, ``gt_bboxes``, ``proposals``.
    Added keys: ``keep_ratio``, ``scale_factor``.
    Modified keys: ``imgs``, ``img_shape``, ``scale_factor``, ``keypoint``, ``gt_bboxes``,
        ``proposals``.

    Args:
        scale (float | tuple[int]): see above.
        keep_ratio (bool): keep the aspect ratio.
        interpolation (str): ``'nearest'``, ``'bilinear'``, ``'bicubic'``, ``'area'`` or
            ``'lanczos'``.
        lazy (bool): only record the step for ``Fuse`` (MMAction2's lazy mode).
    """

    def __init__(self, scale: float | tuple[int, int], keep_ratio: bool = True,
                 interpolation: str = 'bilinear', lazy: bool = False) -> None:
        owner = type(self).__name__
        if isinstance(scale, float):
            if scale <= 0:
                raise ValueError(f'{owner}: a float scale is a factor and must be positive, '
                                 f'got {scale}')
        elif isinstance(scale, (tuple, list)) and len(scale) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale):
            scale = tuple(scale)
            if min(scale) == -1:
                scale = (np.inf, max(scale))
            elif min(scale) <= 0:
                raise ValueError(f'{owner}: scale sides must be positive (or -1 for "any"), '
                                 f'got {scale}')
            if not keep_ratio and np.inf in scale:
                raise ValueError(f'{owner}: keep_ratio=False needs an explicit (w, h) scale, '
                                 f'got {scale}')
        else:
            raise TypeError(f'{owner}: scale must be a float factor or a pair of ints (w, h) '
                            f'such as (-1, 256), got {scale!r}')
        if interpolation not in F.INTERPOLATIONS:
            raise ValueError(f'{owner}: interpolation must be one of '
                             f'{sorted(F.INTERPOLATIONS)}, got {interpolation!r}')
        self.scale = scale
        self.keep_ratio = bool(keep_ratio)
        self.interpolation = interpolation
        self.lazy = _check_lazy(lazy, owner)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img_h, img_w = init_lazy(results, self.lazy, type(self).__name__)
        if self.keep_ratio:
            new_w, new_h = F.rescale_size((img_w, img_h), self.scale)
        else:
            new_w, new_h = (int(v) for v in self.scale)
        factor = np.array([new_w / img_w, new_h / img_h], dtype=np.float32)
        results['img_shape'] = (new_h, new_w)
        results['keep_ratio'] = self.keep_ratio
        results['scale_factor'] = results.get('scale_factor',
                                              np.array([1, 1], dtype=np.float32)) * factor
        if self.lazy:
            lazy_state(results, type(self).__name__)['interpolation'] = self.interpolation
            return results
        if 'imgs' in results:
            results['imgs'] = F.resize(results['imgs'], (new_w, new_h), self.interpolation)
        if 'keypoint' in results:
            results['keypoint'] = results['keypoint'] * factor
        if 'gt_bboxes' in results:
            results['gt_bboxes'] = F.resize_boxes(results['gt_bboxes'], factor)
            if results.get('proposals') is not None:
                results['proposals'] = F.resize_boxes(results['proposals'], factor)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation}, lazy={self.lazy})')


@PIPELINES.register_module()
class RandomRescale:
    """Resize so that the short side is a random length in ``scale_range`` (inclusive).

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``scale_factor``.
    Added keys: ``keep_ratio``, ``scale_factor``, ``short_edge``.
    Modified keys: ``imgs``, ``img_shape``, ``scale_factor``.

    Args:
        scale_range (tuple[int]): ``(min, max)`` short side, ``0 < min < max``.
        interpolation (str): as in :class:`Resize`.
    """

    def __init__(self, scale_range: tuple[int, int], interpolation: str = 'bilinear') -> None:
        owner = type(self).__name__
        if (not isinstance(scale_range, (tuple, list)) or len(scale_range) != 2
                or not all(isinstance(v, int) for v in scale_range)
                or not 0 < scale_range[0] < scale_range[1]):
            raise ValueError(f'{owner}: scale_range must be two ints 0 < min < max, got '
                             f'{scale_range!r}')
        if interpolation not in F.INTERPOLATIONS:
            raise ValueError(f'{owner}: interpolation must be one of '
                             f'{sorted(F.INTERPOLATIONS)}, got {interpolation!r}')
        self.scale_range = tuple(scale_range)
        self.keep_ratio = True
        self.interpolation = interpolation

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        short_edge = int(np.random.randint(self.scale_range[0], self.scale_range[1] + 1))
        results = Resize((-1, short_edge), interpolation=self.interpolation)(results)
        results['short_edge'] = short_edge
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale_range={self.scale_range}, '
                f'interpolation={self.interpolation})')


@PIPELINES.register_module()
class Flip:
    """Mirror every frame with probability ``flip_ratio`` (one draw per clip).

    For optical flow (``modality='Flow'``, horizontal only) the x frames are also inverted
    (``255 - x``), since mirroring reverses horizontal motion.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``modality``, ``label``, ``keypoint``, ``keypoint_score``, ``gt_bboxes``,
        ``proposals``.
    Added keys: ``flip``, ``flip_direction``.
    Modified keys: ``imgs``, ``label``, ``keypoint``, ``keypoint_score``, ``gt_bboxes``,
        ``proposals``.

    Args:
        flip_ratio (float): probability of flipping.
        direction (str): ``'horizontal'`` or ``'vertical'``.
        flip_label_map (dict[int, int] | None): new labels for flipped clips (e.g. "swipe
            left" <-> "swipe right").
        left_kp, right_kp (list[int] | None): keypoint indices swapped when flipping.
        lazy (bool): only record the step for ``Fuse`` (MMAction2's lazy mode).
    """

    _directions = ('horizontal', 'vertical')

    def __init__(self, flip_ratio: float = 0.5, direction: str = 'horizontal',
                 flip_label_map: Mapping[int, int] | None = None,
                 left_kp: Sequence[int] | None = None, right_kp: Sequence[int] | None = None,
                 lazy: bool = False) -> None:
        owner = type(self).__name__
        if direction not in self._directions:
            raise ValueError(f'{owner}: direction must be one of {self._directions}, got '
                             f'{direction!r}')
        if not 0 <= flip_ratio <= 1:
            raise ValueError(f'{owner}: flip_ratio must be in [0, 1], got {flip_ratio!r}')
        self.flip_ratio = flip_ratio
        self.direction = direction
        self.flip_label_map = flip_label_map
        self.left_kp = left_kp
        self.right_kp = right_kp
        self.lazy = _check_lazy(lazy, owner)

    def make_params(self) -> bool:
        return bool(np.random.rand() < self.flip_ratio)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        modality = results.get('modality', 'RGB')
        if modality == 'Flow' and self.direction != 'horizontal':
            raise ValueError('Flip: optical flow can only be flipped horizontally')
        if 'keypoint' in results and self.direction != 'horizontal':
            raise ValueError('Flip: keypoints can only be flipped horizontally (MMAction2 '
                             'mirrors x and swaps left_kp/right_kp)')
        if 'keypoint' in results and self.lazy:
            raise ValueError('Flip: keypoints cannot be flipped with lazy=True (as in MMAction2)')
        owner = type(self).__name__
        img_width = init_lazy(results, self.lazy, owner)[1]
        flip = self.make_params()
        results['flip'] = flip
        results['flip_direction'] = self.direction
        if flip and self.flip_label_map is not None and 'label' in results:
            results['label'] = self.flip_label_map.get(results['label'], results['label'])
        if self.lazy:  # Fuse mirrors; as in MMAction2, x-flow is not inverted on this path
            state = lazy_state(results, owner)
            state['flip'], state['flip_direction'] = flip, self.direction
            return results
        if not flip:
            return results
        if 'imgs' in results:
            imgs = F.flip(results['imgs'], self.direction)
            if modality == 'Flow':
                imgs = [F.invert(img) if i % 2 == 0 else img for i, img in enumerate(imgs)]
            results['imgs'] = imgs
        if 'keypoint' in results:
            results['keypoint'], score = F.flip_keypoints(
                results['keypoint'], results.get('keypoint_score'), img_width, self.left_kp,
                self.right_kp)
            if 'keypoint_score' in results:
                results['keypoint_score'] = score
        if 'gt_bboxes' in results:
            results['gt_bboxes'] = F.flip_boxes(results['gt_bboxes'], img_width)
            if results.get('proposals') is not None:
                results['proposals'] = F.flip_boxes(results['proposals'], img_width)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(flip_ratio={self.flip_ratio}, '
                f'direction={self.direction}, flip_label_map={self.flip_label_map}, '
                f'lazy={self.lazy})')


@PIPELINES.register_module()
class Normalize:
    """Subtract ``mean`` and divide by ``std`` per channel; the frames become one
    ``T x H x W x C`` ``float32`` array.

    For optical flow (``modality='Flow'``) ``mean``/``std`` have two values (x, y), the
    interleaved x/y frames become ``T x H x W x 2``, and ``adjust_magnitude`` multiplies them
    by ``results['scale_factor']`` so the flow follows earlier resizing.

    Required keys: ``imgs``.
    Optional keys: ``modality``, ``scale_factor``.
    Added keys: ``img_norm_cfg``.
    Modified keys: ``imgs``.

    Args:
        mean (Sequence[float]): per-channel mean (after ``to_bgr``).
        std (Sequence[float]): per-channel standard deviation.
        to_bgr (bool): reverse the channels (RGB -> BGR) before normalising.
        adjust_magnitude (bool): flow only, see above.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_bgr: bool = False,
                 adjust_magnitude: bool = False) -> None:
        owner = type(self).__name__
        for name, value in (('mean', mean), ('std', std)):
            if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
                raise TypeError(f'{owner}: {name} must be a list, tuple or np.ndarray of '
                                f'floats, got {type(value).__name__}')
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError(f'{owner}: mean and std must be flat and of equal length, got '
                             f'{list(mean)} and {list(std)}')
        if np.any(self.std == 0):
            raise ValueError(f'{owner}: std must not contain zeros, got {list(std)}')
        self.to_bgr = bool(to_bgr)
        self.adjust_magnitude = bool(adjust_magnitude)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        modality = results.get('modality', 'RGB')
        if modality == 'RGB':
            results['imgs'] = F.normalize(results['imgs'], self.mean, self.std, self.to_bgr)
            results['img_norm_cfg'] = dict(mean=self.mean, std=self.std, to_bgr=self.to_bgr)
            return results
        if modality == 'Flow':
            if self.mean.shape[0] != 2:
                raise ValueError(f'Normalize: flow needs two mean/std values (x, y), got '
                                 f'{self.mean.tolist()}')
            scale = None
            if self.adjust_magnitude:
                if 'scale_factor' not in results:
                    raise KeyError('Normalize: adjust_magnitude=True needs '
                                   'results["scale_factor"] (set by Resize)')
                scale = results['scale_factor']
            results['imgs'] = F.normalize_flow(results['imgs'], self.mean, self.std, scale)
            results['img_norm_cfg'] = dict(mean=self.mean, std=self.std, to_bgr=self.to_bgr,
                                           adjust_magnitude=self.adjust_magnitude)
            return results
        raise ValueError(f"Normalize: modality must be 'RGB' or 'Flow', got {modality!r}")

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mean={self.mean}, std={self.std}, '
                f'to_bgr={self.to_bgr}, adjust_magnitude={self.adjust_magnitude})')


@PIPELINES.register_module()
class ColorJitter:
    """Random brightness, contrast, saturation and hue changes, the same for every frame.

    The order of the four adjustments is drawn once, when the transform is built
    (``np.random.permutation(4)``), as in MMAction2 0.x; the factors are drawn per clip.

    Required keys: ``imgs``.
    Modified keys: ``imgs``.

    Args:
        brightness, contrast, saturation (float | tuple[float]): a float ``x`` means factors
            in ``(1 - x, 1 + x)``; a tuple gives the range (within ``[0, 2]``).
        hue (float | tuple[float]): a float ``x`` means offsets in ``(-x, x)`` of a full turn;
            a tuple gives the range (within ``[-0.5, 0.5]``).
    """

    def __init__(self, brightness: float | tuple[float, float] = 0.5,
                 contrast: float | tuple[float, float] = 0.5,
                 saturation: float | tuple[float, float] = 0.5,
                 hue: float | tuple[float, float] = 0.1) -> None:
        self.brightness = self._range('brightness', brightness, 1, 1)
        self.contrast = self._range('contrast', contrast, 1, 1)
        self.saturation = self._range('saturation', saturation, 1, 1)
        self.hue = self._range('hue', hue, 0.5, 0)
        self.fn_idx = np.random.permutation(4)

    @staticmethod
    def _range(name: str, value: Any, bound: float, base: float) -> tuple[float, float]:
        if isinstance(value, (tuple, list)):
            low, high = _float_pair(value, name, 'ColorJitter')
            if not base - bound <= low <= high <= base + bound:
                raise ValueError(f'ColorJitter: {name} range must lie in '
                                 f'[{base - bound}, {base + bound}], got {value!r}')
            return low, high
        if not isinstance(value, (int, float)) or not 0 <= value <= bound:
            raise ValueError(f'ColorJitter: {name} must be in [0, {bound}] or a (min, max) '
                             f'pair, got {value!r}')
        return base - value, base + value

    def make_params(self) -> tuple[float, float, float, float]:
        b = np.random.uniform(low=self.brightness[0], high=self.brightness[1])
        c = np.random.uniform(low=self.contrast[0], high=self.contrast[1])
        s = np.random.uniform(low=self.saturation[0], high=self.saturation[1])
        h = np.random.uniform(low=self.hue[0], high=self.hue[1])
        return b, c, s, h

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        factors = self.make_params()
        results['imgs'] = F.color_jitter(results['imgs'], *factors, order=self.fn_idx)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, hue={self.hue})')
