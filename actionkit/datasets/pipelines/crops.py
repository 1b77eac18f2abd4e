"""Crops of the frames of a clip: the random crops used for training (``RandomCrop``,
``RandomResizedCrop``, ``MultiScaleCrop``) and the fixed crops used for testing
(``CenterCrop``, ``ThreeCrop``, ``TenCrop``).

A random crop draws its box once per call (``make_params``), with the same calls to numpy's and
Python's global generators as MMAction2 0.x, and cuts it from every frame through the kernels in
:mod:`.functional`. Frames are never modified in place. With ``lazy=True`` the crop is only
recorded in ``results['lazy']`` and ``Fuse`` applies it (see :mod:`.lazy`). These classes are
also importable from :mod:`.augmentations`, where they used to live.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np

from ..builder import PIPELINES
from . import functional as F
from .lazy import compose_lazy_crop, init_lazy
from .transform_utils import _check_lazy, _float_pair, _pair

__all__ = ['RandomCrop', 'RandomResizedCrop', 'MultiScaleCrop', 'CenterCrop', 'ThreeCrop',
           'TenCrop']


def _apply_crop(results: dict[str, Any], bbox: tuple[int, int, int, int],
                img_shape: tuple[int, int], lazy: bool = False, owner: str = '') -> dict[str, Any]:
    """Crop frames, keypoints and boxes to ``bbox`` and record it (the shared crop tail); with
    ``lazy``, only record it (in ``results['lazy']`` too, for ``Fuse``)."""
    x1, y1, x2, y2 = bbox
    crop_bbox = np.array(bbox)
    results['crop_quadruple'] = F.update_crop_quadruple(results.get('crop_quadruple'), bbox,
                                                        img_shape)
    results['crop_bbox'] = crop_bbox
    results['img_shape'] = (y2 - y1, x2 - x1)
    if lazy:
        compose_lazy_crop(results, bbox, img_shape, owner)
        return results
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
class RandomCrop:
    """Crop a random ``size x size`` square, the same for every frame.

    Required keys: ``imgs``, ``img_shape``.
    Optional keys: ``crop_quadruple``, ``keypoint``, ``gt_bboxes``, ``proposals``.
    Added keys: ``crop_bbox``, ``crop_quadruple``.
    Modified keys: ``imgs``, ``img_shape``, ``crop_quadruple``, ``keypoint``, ``gt_bboxes``,
        ``proposals``.

    Args:
        size (int): side of the square crop.
        lazy (bool): only record the crop for ``Fuse`` (MMAction2's lazy mode).
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
        owner = type(self).__name__
        img_shape = init_lazy(results, self.lazy, owner)
        return _apply_crop(results, self.make_params(img_shape), img_shape, self.lazy, owner)

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
        lazy (bool): only record the crop for ``Fuse`` (MMAction2's lazy mode).
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
        owner = type(self).__name__
        img_shape = init_lazy(results, self.lazy, owner)
        return _apply_crop(results, self.make_params(img_shape), img_shape, self.lazy, owner)

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
        lazy (bool): only record the crop for ``Fuse`` (MMAction2's lazy mode).
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
        owner = type(self).__name__
        img_shape = init_lazy(results, self.lazy, owner)
        results = _apply_crop(results, self.make_params(img_shape), img_shape, self.lazy, owner)
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
        lazy (bool): only record the crop for ``Fuse`` (MMAction2's lazy mode).
    """

    def __init__(self, crop_size: int | tuple[int, int], lazy: bool = False) -> None:
        self.crop_size = _pair(crop_size, 'crop_size', type(self).__name__)
        self.lazy = _check_lazy(lazy, type(self).__name__)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        owner = type(self).__name__
        img_h, img_w = init_lazy(results, self.lazy, owner)
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ValueError(f'CenterCrop: crop_size (w, h)={self.crop_size} is larger than '
                             f'the frames (h, w)={(img_h, img_w)}')
        left, top = (img_w - crop_w) // 2, (img_h - crop_h) // 2
        return _apply_crop(results, (left, top, left + crop_w, top + crop_h), (img_h, img_w),
                           self.lazy, owner)

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
        if 'lazy' in results:
            raise ValueError(f'{type(self).__name__}: lazy operations are pending in '
                             'results["lazy"]; put Fuse before it')
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
