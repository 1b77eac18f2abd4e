"""Spatial and colour transforms of the frames of a clip.

Each random transform draws its parameters once per call (``make_params``), with the same
calls to numpy's and Python's global generators as MMAction2 0.x, and applies them to every
frame through the deterministic kernels in :mod:`.functional`. Frames are never modified in
place.

``lazy=True`` is accepted for compatibility with MMAction2 configs but the transforms are
applied eagerly, in order; ``Fuse`` is then a no-op. (MMAction2's lazy mode fuses crop, resize
and flip into one resize of the cropped region; eager application gives the same frames up
to interpolation rounding when a ``Resize`` precedes a crop.)
"""
from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..builder import PIPELINES
from . import functional as F

__all__ = ['Fuse', 'RandomCrop', 'RandomResizedCrop', 'MultiScaleCrop', 'Resize',
           'RandomRescale', 'Flip', 'Normalize', 'ColorJitter', 'CenterCrop', 'ThreeCrop',
           'TenCrop']

logger = logging.getLogger(__name__)


def _pair(value: Any, name: str, owner: str) -> tuple[int, int]:
    """An int ``n`` as ``(n, n)``, or a pair of ints as a tuple."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in pair)):
        raise TypeError(f'{owner}: {name} must be an int or a pair of ints (w, h), got '
                        f'{value!r}')
    return int(pair[0]), int(pair[1])


def _float_pair(value: Any, name: str, owner: str) -> tuple[float, float]:
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise TypeError(f'{owner}: {name} must be a pair of floats, got {value!r}')
    return float(value[0]), float(value[1])


def _check_lazy(lazy: Any, owner: str) -> bool:
    if lazy:
        logger.debug('%s: lazy=True is applied eagerly (Fuse is a no-op)', owner)
    return bool(lazy)


def _img_shape(results: dict[str, Any], owner: str) -> tuple[int, int]:
    """``results['img_shape']``, or the first frame's shape when it is not set yet."""
    if 'img_shape' not in results:
        if 'imgs' not in results:
            raise KeyError(f'{owner} needs results["imgs"] or results["img_shape"]; got keys '
                           f'{sorted(results)}')
        results['img_shape'] = tuple(results['imgs'][0].shape[:2])
    h, w = results['img_shape']
    return int(h), int(w)


def _apply_crop(results: dict[str, Any], bbox: tuple[int, int, int, int],
                img_shape: tuple[int, int]) -> dict[str, Any]:
    """Crop frames, keypoints and boxes to ``bbox`` and record it (the shared crop tail)."""
    x1, y1, x2, y2 = bbox
    crop_bbox = np.array(bbox)
    results['crop_quadruple'] = F.update_crop_quadruple(results.get('crop_quadruple'), bbox,
                                                        img_shape)
    results['crop_bbox'] = crop_bbox
    results['img_shape'] = (y2 - y1, x2 - x1)
    if 'imgs' in results:
        results['imgs'] = F.crop(results['imgs'], bbox)
    if 'keypoint' in results:
        results['keypoint'] = results['keypoint'] - crop_bbox[:2]
    if 'gt_bboxes' in results:
        results['gt_bboxes'] = F.crop_boxes(results['gt_bboxes'], bbox)
        if results.get('proposals') is not None:
            results['proposals'] = F.crop_boxes(results['proposals'], bbox)
    return results


@PIPELINES.register_module()
class Fuse:
    """Finish a run of ``lazy=True`` transforms. They are applied eagerly in actionkit, so
    this step only checks that no foreign lazy state is left and passes the results on.

    Required keys: ``imgs``.
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'lazy' in results:
            raise ValueError('Fuse: results["lazy"] was set by a transform outside actionkit; '
                             'actionkit applies lazy transforms eagerly and cannot fuse it')
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@PIPELINES.register_module()
class RandomCrop:
    """Crop a random ``size x size`` square, the same for every frame.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``crop_quadruple``, ``keypoint``, ``gt_bboxes``, ``proposals``.
    Added keys: ``crop_bbox``, ``crop_quadruple``.
    Modified keys: ``imgs``, ``img_shape``, ``crop_quadruple``, ``keypoint``, ``gt_bboxes``,
        ``proposals``.

    Args:
        size (int): side of the square crop.
        lazy (bool): accepted for compatibility; applied eagerly.
    """

    def __init__(self, size: int, lazy: bool = False) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise TypeError(f'RandomCrop: size must be an int >= 1, got {size!r}')
        self.size = size
        self.lazy = _check_lazy(lazy, type(self).__name__)

    def make_params(self, img_shape: tuple[int, int]) -> tuple[int, int, int, int]:
        img_h, img_w = img_shape
        if self.size > img_h or self.size > img_w:
            raise ValueError(f'RandomCrop: size {self.size} is larger than the frames '
                             f'(h, w)={img_shape}')
        y_offset = int(np.random.randint(0, img_h - self.size)) if img_h > self.size else 0
        x_offset = int(np.random.randint(0, img_w - self.size)) if img_w > self.size else 0
        return x_offset, y_offset, x_offset + self.size, y_offset + self.size

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img_shape = _img_shape(results, type(self).__name__)
        return _apply_crop(results, self.make_params(img_shape), img_shape)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, lazy={self.lazy})'


@PIPELINES.register_module()
class RandomResizedCrop:
    """Crop a random region of random area and aspect ratio (Inception-style), the same for
    every frame; a ``Resize`` usually follows.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``crop_quadruple``, ``keypoint``, ``gt_bboxes``, ``proposals``.
    Added keys: ``crop_bbox``, ``crop_quadruple``.
    Modified keys: ``imgs``, ``img_shape``, ``crop_quadruple``, ``keypoint``, ``gt_bboxes``,
        ``proposals``.

    Args:
        area_range (tuple[float]): the crop's area as a fraction of the frame, (min, max).
        aspect_ratio_range (tuple[float]): the crop's width / height, (min, max).
        lazy (bool): accepted for compatibility; applied eagerly.
    """

    def __init__(self, area_range: tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: tuple[float, float] = (3 / 4, 4 / 3),
                 lazy: bool = False) -> None:
        owner = type(self).__name__
        self.area_range = _float_pair(area_range, 'area_range', owner)
        self.aspect_ratio_range = _float_pair(aspect_ratio_range, 'aspect_ratio_range', owner)
        if not 0 < self.area_range[0] <= self.area_range[1] <= 1:
            raise ValueError(f'{owner}: area_range must satisfy 0 < min <= max <= 1, got '
                             f'{area_range!r}')
        if not 0 < self.aspect_ratio_range[0] <= self.aspect_ratio_range[1]:
            raise ValueError(f'{owner}: aspect_ratio_range must satisfy 0 < min <= max, got '
                             f'{aspect_ratio_range!r}')
        self.lazy = _check_lazy(lazy, owner)

    @staticmethod
    def get_crop_bbox(img_shape: tuple[int, int], area_range: tuple[float, float],
                      aspect_ratio_range: tuple[float, float], max_attempts: int = 10
                      ) -> tuple[int, int, int, int]:
        """Draw a crop box ``(x1, y1, x2, y2)``; after ``max_attempts`` misses, a centre square."""
        img_h, img_w = img_shape
        area = img_h * img_w
        min_ar, max_ar = aspect_ratio_range
        ratios = np.exp(np.random.uniform(np.log(min_ar), np.log(max_ar), size=max_attempts))
        areas = np.random.uniform(*area_range, size=max_attempts) * area
        widths = np.round(np.sqrt(areas * ratios)).astype(np.int32)
        heights = np.round(np.sqrt(areas / ratios)).astype(np.int32)
        for crop_w, crop_h in zip(widths.tolist(), heights.tolist()):
            if crop_h <= img_h and crop_w <= img_w:
                x_offset = random.randint(0, img_w - crop_w)
                y_offset = random.randint(0, img_h - crop_h)
                return x_offset, y_offset, x_offset + crop_w, y_offset + crop_h
        side = min(img_h, img_w)
        x_offset, y_offset = (img_w - side) // 2, (img_h - side) // 2
        return x_offset, y_offset, x_offset + side, y_offset + side

    def make_params(self, img_shape: tuple[int, int]) -> tuple[int, int, int, int]:
        return self.get_crop_bbox(img_shape, self.area_range, self.aspect_ratio_range)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img_shape = _img_shape(results, type(self).__name__)
        return _apply_crop(results, self.make_params(img_shape), img_shape)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(area_range={self.area_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, lazy={self.lazy})')


@PIPELINES.register_module()
class MultiScaleCrop:
    """Crop a region whose sides are drawn from ``scales`` times the short side (TSN's
    multi-scale crop), at a random or one of 5 / 13 fixed positions, the same for every frame.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``crop_quadruple``, ``keypoint``, ``gt_bboxes``, ``proposals``.
    Added keys: ``crop_bbox``, ``crop_quadruple``, ``scales``.
    Modified keys: ``imgs``, ``img_shape``, ``crop_quadruple``, ``keypoint``, ``gt_bboxes``,
        ``proposals``.

    Args:
        input_size (int | tuple[int]): the network input ``(w, h)``; a crop side within 2
            pixels of it snaps to it.
        scales (tuple[float]): candidate sides as fractions of the short side.
        max_wh_scale_gap (int): how many scale steps width and height may differ.
        random_crop (bool): a random position instead of the fixed ones.
        num_fixed_crops (int): 5 (corners and centre) or 13 (adds edge centres and quarters).
        lazy (bool): accepted for compatibility; applied eagerly.
    """

    def __init__(self, input_size: int | tuple[int, int], scales: tuple[float, ...] = (1, ),
                 max_wh_scale_gap: int = 1, random_crop: bool = False,
                 num_fixed_crops: int = 5, lazy: bool = False) -> None:
        owner = type(self).__name__
        self.input_size = _pair(input_size, 'input_size', owner)
        if not isinstance(scales, (tuple, list)) or not scales or not all(
                isinstance(s, (int, float)) and s > 0 for s in scales):
            raise TypeError(f'{owner}: scales must be a non-empty tuple of positive numbers, '
                            f'got {scales!r}')
        if num_fixed_crops not in (5, 13):
            raise ValueError(f'{owner}: num_fixed_crops must be 5 or 13, got {num_fixed_crops!r}')
        self.scales = tuple(scales)
        self.max_wh_scale_gap = int(max_wh_scale_gap)
        self.random_crop = bool(random_crop)
        self.num_fixed_crops = num_fixed_crops
        self.lazy = _check_lazy(lazy, owner)

    def make_params(self, img_shape: tuple[int, int]) -> tuple[int, int, int, int]:
        img_h, img_w = img_shape
        sides = [int(min(img_h, img_w) * s) for s in self.scales]
        candidates = [[w, h] for i, h in enumerate(sides) for j, w in enumerate(sides)
                      if abs(i - j) <= self.max_wh_scale_gap]
        crop_size = random.choice(candidates)
        for axis in range(2):
            if abs(crop_size[axis] - self.input_size[axis]) < 3:
                crop_size[axis] = self.input_size[axis]
        crop_w, crop_h = crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(f'MultiScaleCrop: crop (w, h)=({crop_w}, {crop_h}) does not fit '
                             f'frames of (h, w)={img_shape}')
        if self.random_crop:
            x_offset = random.randint(0, img_w - crop_w)
            y_offset = random.randint(0, img_h - crop_h)
        else:
            offsets = F.fixed_crop_offsets((img_w, img_h), (crop_w, crop_h),
                                           self.num_fixed_crops)
            x_offset, y_offset = random.choice(offsets)
        return x_offset, y_offset, x_offset + crop_w, y_offset + crop_h

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img_shape = _img_shape(results, type(self).__name__)
        results = _apply_crop(results, self.make_params(img_shape), img_shape)
        results['scales'] = self.scales
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, scales={self.scales}, '
                f'max_wh_scale_gap={self.max_wh_scale_gap}, random_crop={self.random_crop}, '
                f'num_fixed_crops={self.num_fixed_crops}, lazy={self.lazy})')


@PIPELINES.register_module()
class CenterCrop:
    """Crop the centre ``crop_size=(w, h)`` region of every frame.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``crop_quadruple``, ``keypoint``, ``gt_bboxes``, ``proposals``.
    Added keys: ``crop_bbox``, ``crop_quadruple``.
    Modified keys: ``imgs``, ``img_shape``, ``crop_quadruple``, ``keypoint``, ``gt_bboxes``,
        ``proposals``.

    Args:
        crop_size (int | tuple[int]): ``(w, h)``, or one int for a square.
        lazy (bool): accepted for compatibility; applied eagerly.
    """

    def __init__(self, crop_size: int | tuple[int, int], lazy: bool = False) -> None:
        self.crop_size = _pair(crop_size, 'crop_size', type(self).__name__)
        self.lazy = _check_lazy(lazy, type(self).__name__)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img_h, img_w = _img_shape(results, type(self).__name__)
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(f'CenterCrop: crop_size (w, h)={self.crop_size} is larger than '
                             f'the frames (h, w)={(img_h, img_w)}')
        left, top = (img_w - crop_w) // 2, (img_h - crop_h) // 2
        return _apply_crop(results, (left, top, left + crop_w, top + crop_h), (img_h, img_w))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size}, lazy={self.lazy})'



class _MultiCrop:
    """Several crops of the clip side by side (crop-major), for testing."""

    with_flips = False

    def __init__(self, crop_size: int | tuple[int, int]) -> None:
        self.crop_size = _pair(crop_size, 'crop_size', type(self).__name__)

    def _offsets(self, img_size: tuple[int, int]) -> list[tuple[int, int]]:
        raise NotImplementedError(f'{type(self).__name__} must define _offsets')

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        img_h, img_w = results['imgs'][0].shape[:2]
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(f'{type(self).__name__}: crop_size (w, h)={self.crop_size} is '
                             f'larger than the frames (h, w)={(img_h, img_w)}')
        offsets = self._offsets((img_w, img_h))
        results['imgs'], results['crop_bbox'] = F.multi_crop(
            results['imgs'], offsets, self.crop_size, with_flips=self.with_flips)
        results['img_shape'] = (crop_h, crop_w)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@PIPELINES.register_module()
class ThreeCrop(_MultiCrop):
    """Three crops along the long side (left/top, right/bottom, centre) for testing; the
    crop must span the short side. The output holds 3 copies of the clip, crop-major.

    Required keys: ``imgs``, ``img_shape``.
    Added keys: ``crop_bbox``.
    Modified keys: ``imgs``, ``img_shape``.

    Args:
        crop_size (int | tuple[int]): ``(w, h)``, or one int for a square.
    """

    def _offsets(self, img_size: tuple[int, int]) -> list[tuple[int, int]]:
        (img_w, img_h), (crop_w, crop_h) = img_size, self.crop_size
        if crop_h == img_h:
            step = (img_w - crop_w) // 2
            return [(0, 0), (2 * step, 0), (step, 0)]
        if crop_w == img_w:
            step = (img_h - crop_h) // 2
            return [(0, 0), (0, 2 * step), (0, step)]
        raise ValueError(f'ThreeCrop: crop_size (w, h)={self.crop_size} must span the frame '
                         f'height or width; frames are (w, h)={img_size}')


@PIPELINES.register_module()
class TenCrop(_MultiCrop):
    """Four corner crops and the centre crop, each followed by its mirror image, for testing.
    The output holds 10 copies of the clip (crop, flipped crop, next crop …).

    Required keys: ``imgs``, ``img_shape``.
    Added keys: ``crop_bbox``.
    Modified keys: ``imgs``, ``img_shape``.

    Args:
        crop_size (int | tuple[int]): ``(w, h)``, or one int for a square.
    """

    with_flips = True

    def _offsets(self, img_size: tuple[int, int]) -> list[tuple[int, int]]:
        return F.fixed_crop_offsets(img_size, self.crop_size, 5)


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
        lazy (bool): accepted for compatibility; applied eagerly.
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
        img_h, img_w = _img_shape(results, type(self).__name__)
        if self.keep_ratio:
            new_w, new_h = F.rescale_size((img_w, img_h), self.scale)
        else:
            new_w, new_h = (int(v) for v in self.scale)
        factor = np.array([new_w / img_w, new_h / img_h], dtype=np.float32)
        results['img_shape'] = (new_h, new_w)
        results['keep_ratio'] = self.keep_ratio
        results['scale_factor'] = results.get('scale_factor',
                                              np.array([1, 1], dtype=np.float32)) * factor
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
        lazy (bool): accepted for compatibility; applied eagerly.
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
        img_width = _img_shape(results, type(self).__name__)[1]
        flip = self.make_params()
        results['flip'] = flip
        results['flip_direction'] = self.direction
        if not flip:
            return results
        if self.flip_label_map is not None and 'label' in results:
            results['label'] = self.flip_label_map.get(results['label'], results['label'])
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
