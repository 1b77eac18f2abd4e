"""Argument checks and results-dict helpers shared by the transforms in
:mod:`.augmentations` and :mod:`.crops`.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

__all__: list[str] = []  # helpers for the transform modules beside this one; nothing public

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
    """``lazy`` as a bool (see :mod:`.lazy` for what it does)."""
    if not isinstance(lazy, (bool, int, np.bool_)):
        raise TypeError(f'{owner}: lazy must be True or False, got {lazy!r}')
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
