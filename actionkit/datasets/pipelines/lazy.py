"""MMAction2 0.x's lazy geometry: ``lazy=True`` crops, resizes and flips only record what they
would do in ``results['lazy']``, and ``Fuse`` then cuts the region out of the original frames,
resizes it once and flips it.

``results['lazy']`` holds ``original_shape`` (the frames' ``(h, w)`` when the first lazy step
ran), ``crop_bbox`` (``float32`` ``[x1, y1, x2, y2]`` in original-frame pixels),
``interpolation`` (the last lazy ``Resize``'s, ``None`` for bilinear), ``flip`` and
``flip_direction``. The other keys (``img_shape``, ``crop_bbox``, ``crop_quadruple``,
``scale_factor``, ``flip`` ...) change exactly as in the eager steps. As in MMAction2, a flip
must come after the lazy crops and resizes, keypoints and boxes are not supported in lazy mode,
a non-lazy geometric step may not run while lazy operations are pending, and a lazy ``Flip``
of optical flow does not invert the x components (``Fuse`` only mirrors).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from .transform_utils import _img_shape

__all__ = ['init_lazy', 'compose_lazy_crop', 'lazy_state', 'fuse_lazy']


def init_lazy(results: dict[str, Any], lazy: bool, owner: str) -> tuple[int, int]:
    """Start (or continue) the lazy state for a lazy step; refuse a non-lazy step while one is
    pending. Returns the current ``img_shape``."""
    img_h, img_w = _img_shape(results, owner)
    if not lazy:
        if 'lazy' in results:
            raise ValueError(f'{owner}: lazy operations are pending in results["lazy"]; put '
                             f'Fuse before a non-lazy {owner} (or make it lazy=True)')
        return img_h, img_w
    for key in ('keypoint', 'gt_bboxes'):
        if key in results:
            raise ValueError(f'{owner}: lazy=True does not support results[{key!r}]; use '
                             'lazy=False for keypoints and boxes')
    if 'lazy' not in results:
        results['lazy'] = dict(original_shape=(img_h, img_w),
                               crop_bbox=np.array([0, 0, img_w, img_h], dtype=np.float32),
                               flip=False, flip_direction=None, interpolation=None)
    return img_h, img_w


def lazy_state(results: dict[str, Any], owner: str, before_flip: bool = True) -> dict:
    """``results['lazy']``; with ``before_flip``, refuse when a lazy flip already happened."""
    state = results['lazy']
    if before_flip and state['flip']:
        raise ValueError(f'{owner}: a lazy Flip already flipped these frames; put Flip after '
                         'the lazy crops and resizes (and use one Flip)')
    return state


def compose_lazy_crop(results: dict[str, Any], bbox: tuple[int, int, int, int],
                      img_shape: tuple[int, int], owner: str) -> None:
    """Map ``bbox`` (pixels of the current, virtual frames of ``img_shape``) into the original
    frames and store it as the pending crop."""
    state = lazy_state(results, owner)
    img_h, img_w = img_shape
    x1, y1, x2, y2 = bbox
    left, top, right, bottom = (float(v) for v in state['crop_bbox'])
    scale_x, scale_y = (right - left) / img_w, (bottom - top) / img_h
    state['crop_bbox'] = np.array([left + x1 * scale_x, top + y1 * scale_y,
                                   left + x2 * scale_x, top + y2 * scale_y], dtype=np.float32)


def fuse_lazy(results: dict[str, Any]) -> dict[str, Any]:
    """Apply the pending crop, one resize to ``img_shape`` and the flip; drop ``lazy``."""
    if 'lazy' not in results:
        raise ValueError('Fuse: no lazy operation is pending (results has no "lazy"); Fuse '
                         'follows transforms built with lazy=True')
    state = results.pop('lazy')
    x1, y1, x2, y2 = (int(v) for v in np.round(state['crop_bbox']))
    imgs = F.crop(results['imgs'], (x1, y1, x2, y2))
    img_h, img_w = results['img_shape']
    imgs = F.resize(imgs, (img_w, img_h), state['interpolation'] or 'bilinear')
    if state['flip']:
        imgs = F.flip(imgs, state['flip_direction'])
    results['imgs'] = imgs
    return results
