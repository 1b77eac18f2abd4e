"""``RandomErasing``: MMAction2 1.x's random box erasing (the MViT / UniFormerV2 configs).

One box is drawn per clip and erased in every frame: with a constant colour (``'const'``) or
with random pixels (``'rand'``: uniform in [0, 255], or normal around ``fill_color`` with
``fill_std``), drawn afresh for each frame as 1.x does. Random numbers come from numpy's
global generator, in 1.x's order.
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

from ..builder import PIPELINES

__all__ = ['RandomErasing']


def _triple(value: Any, name: str) -> list[float]:
    if isinstance(value, Number):
        return [float(value)] * 3
    if not isinstance(value, Sequence) or len(value) != 3 or not all(
            isinstance(v, Number) for v in value):
        raise TypeError(f'RandomErasing: {name} must be a number or 3 numbers, got {value!r}')
    return [float(v) for v in value]


@PIPELINES.register_module()
class RandomErasing:
    """Erase one random box of every frame, with probability ``erase_prob``.

    The box covers a fraction of the frame uniform in ``[min_area_ratio, max_area_ratio]``
    with an aspect ratio (h / w) log-uniform in ``aspect_range``, at a uniform position.

    Required keys: ``imgs`` (uint8 ``[H, W, 3]`` frames). Modified keys: ``imgs``.

    Args:
        erase_prob (float): the probability of erasing.
        min_area_ratio, max_area_ratio (float): the box area's range, as fractions.
        aspect_range (float | Sequence[float]): the h / w range (a float ``r``: ``(r, 1/r)``
            ordered).
        mode (str): ``'const'`` (``fill_color``) or ``'rand'`` (random pixels).
        fill_color (number | Sequence): the constant colour, or the mean with ``fill_std``.
        fill_std (number | Sequence | None): ``'rand'`` mode: normal pixels with this std;
            None: uniform.
    """

    def __init__(self, erase_prob: float = 0.5, min_area_ratio: float = 0.02,
                 max_area_ratio: float = 1 / 3,
                 aspect_range: float | Sequence[float] = (3 / 10, 10 / 3), mode: str = 'const',
                 fill_color: Any = (128, 128, 128), fill_std: Any = None) -> None:
        for name, value in (('erase_prob', erase_prob), ('min_area_ratio', min_area_ratio),
                            ('max_area_ratio', max_area_ratio)):
            if not isinstance(value, float) or not 0 <= value <= 1:
                raise ValueError(f'RandomErasing: {name} must be a float in [0, 1], got '
                                 f'{value!r}')
        if min_area_ratio > max_area_ratio:
            raise ValueError(f'RandomErasing: min_area_ratio ({min_area_ratio}) must not '
                             f'exceed max_area_ratio ({max_area_ratio})')
        if isinstance(aspect_range, float):
            low = min(aspect_range, 1 / aspect_range)
            aspect_range = (low, 1 / low)
        if (not isinstance(aspect_range, Sequence) or len(aspect_range) != 2
                or not 0 < aspect_range[0] <= aspect_range[1]):
            raise ValueError(f'RandomErasing: aspect_range must be (min, max) with '
                             f'0 < min <= max, got {aspect_range!r}')
        if mode not in ('const', 'rand'):
            raise ValueError(f"RandomErasing: mode must be 'const' or 'rand', got {mode!r}")
        self.erase_prob, self.mode = erase_prob, mode
        self.min_area_ratio, self.max_area_ratio = min_area_ratio, max_area_ratio
        self.aspect_range = tuple(aspect_range)
        self.fill_color = _triple(fill_color, 'fill_color')
        self.fill_std = None if fill_std is None else _triple(fill_std, 'fill_std')

    def box(self, img_h: int, img_w: int) -> tuple[int, int, int, int]:
        """Draw ``(top, left, h, w)``."""
        log_range = np.log(np.array(self.aspect_range, dtype=np.float32))
        aspect = np.exp(np.random.uniform(*log_range))
        area = img_h * img_w * np.random.uniform(self.min_area_ratio, self.max_area_ratio)
        h = min(int(round(np.sqrt(area * aspect))), img_h)
        w = min(int(round(np.sqrt(area / aspect))), img_w)
        top = np.random.randint(0, img_h - h) if img_h > h else 0
        left = np.random.randint(0, img_w - w) if img_w > w else 0
        return top, left, h, w

    def _patch(self, h: int, w: int) -> np.ndarray:
        if self.mode == 'const':
            return np.broadcast_to(np.array(self.fill_color, dtype=np.uint8), (h, w, 3))
        if self.fill_std is None:
            return np.random.uniform(0, 256, (h, w, 3)).astype(np.uint8)
        patch = np.random.normal(self.fill_color, self.fill_std, (h, w, 3))
        return np.clip(patch.astype(np.int32), 0, 255).astype(np.uint8)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if np.random.rand() > self.erase_prob:
            return results
        if 'imgs' not in results:
            raise KeyError(f"RandomErasing: the results have no 'imgs' (keys: "
                           f'{sorted(results)})')
        imgs = results['imgs']
        top, left, h, w = self.box(*imgs[0].shape[:2])
        for img in imgs:
            img[top:top + h, left:left + w] = self._patch(h, w)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(erase_prob={self.erase_prob}, '
                f'min_area_ratio={self.min_area_ratio}, max_area_ratio={self.max_area_ratio}, '
                f'aspect_range={self.aspect_range}, mode={self.mode}, '
                f'fill_color={self.fill_color}, fill_std={self.fill_std})')
