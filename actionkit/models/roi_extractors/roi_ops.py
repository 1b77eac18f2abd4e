"""RoIAlign and RoIPool with mmcv's definitions, in PyTorch (no compiled ops).

``rois`` is ``[K, 5]``: the batch index, then ``x1, y1, x2, y2`` in input pixels; features
are sampled at ``spatial_scale`` times those coordinates.

- :func:`roi_align` (mmcv ``RoIAlign``, Mask R-CNN's RoIAlign): each of the
  ``out_h x out_w`` bins of a RoI averages (``pool_mode='avg'``) or takes the max of
  (``'max'``) ``grid_h x grid_w`` bilinear samples at the centres of a regular grid; the grid is
  ``sampling_ratio`` a side, or ``ceil(roi_size / out_size)`` when ``sampling_ratio=0``.
  ``aligned=True`` shifts the box by half a pixel (pixel centres at ``i + 0.5``). Bilinear
  sampling is separable, so a RoI's samples are ``Wy @ feat @ Wx^T`` with two small
  interpolation matrices. When torchvision is installed, ``pool_mode='avg'`` goes through
  ``torchvision.ops.roi_align`` (the same algorithm, compiled).
- :func:`roi_pool` (mmcv ``RoIPool``, Fast R-CNN): bin ``(i, j)`` is the max over the feature
  cells ``floor(y1 + i * bin_h) .. ceil(y1 + (i + 1) * bin_h)`` (clipped to the map), with
  ``x2 + 1`` / ``y2 + 1`` as the end of the box; an empty bin is 0.

A RoI with no sample (zero width or height with ``aligned=True``) gives zeros; mmcv gives 0
for ``'avg'`` and ``-FLT_MAX`` for ``'max'``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ['roi_align', 'roi_pool', 'RoIAlign', 'RoIPool']

try:  # optional: the compiled RoIAlign
    from torchvision.ops import roi_align as _tv_roi_align
except ImportError:  # pragma: no cover - depends on the environment
    _tv_roi_align = None

_POOL_MODES = ('avg', 'max')


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f'output_size must be an int or (h, w) of positive ints, got {size!r}')
    return int(size[0]), int(size[1])


def _check(feat: torch.Tensor, rois: torch.Tensor) -> None:
    if feat.dim() != 4:
        raise ValueError(f'RoI ops take features [N, C, H, W], got shape {tuple(feat.shape)}')
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f'rois must be [K, 5] (batch index, x1, y1, x2, y2), got shape '
                         f'{tuple(rois.shape)}')
    if len(rois):
        index = rois[:, 0]
        if bool((index < 0).any() or (index >= feat.shape[0]).any()):
            raise ValueError(f'rois name batch indices {sorted(set(index.tolist()))}, but the '
                             f'features hold {feat.shape[0]} samples')


def _interp_matrix(coords: np.ndarray, size: int, like: torch.Tensor) -> torch.Tensor:
    """``[len(coords), size]`` bilinear weights (mmcv's edge rules) for sampling one axis."""
    valid = (coords >= -1) & (coords <= size)
    c = np.maximum(coords, 0)
    low = np.floor(c).astype(np.int64)
    edge = low >= size - 1
    low[edge] = size - 1
    c = np.where(edge, low, c)
    high = np.where(edge, low, low + 1)
    frac = (c - low).astype(coords.dtype)
    weights = np.zeros((len(coords), size), dtype=coords.dtype)
    rows = np.arange(len(coords))
    np.add.at(weights, (rows, low), (1 - frac) * valid)
    np.add.at(weights, (rows, high), frac * valid)
    return torch.from_numpy(weights).to(device=like.device, dtype=like.dtype)


def _axis_samples(start: float, length: float, bins: int, grid: int,
                  dtype: type) -> np.ndarray:
    """Sample positions along one axis, ordered (bin, grid point)."""
    bin_size = dtype(length) / dtype(bins)
    b = np.arange(bins, dtype=dtype)[:, None]
    g = (np.arange(grid, dtype=dtype) + dtype(.5))[None, :]
    return (dtype(start) + b * bin_size + g * bin_size / dtype(grid)).reshape(-1)


def _align_one(fmap: torch.Tensor, box: np.ndarray, out: tuple[int, int], scale: float,
               sampling_ratio: int, pool_mode: str, aligned: bool) -> torch.Tensor:
    dtype = box.dtype.type
    offset = dtype(.5) if aligned else dtype(0)
    x1, y1, x2, y2 = (box * dtype(scale) - offset).tolist()
    x1, y1, x2, y2 = dtype(x1), dtype(y1), dtype(x2), dtype(y2)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = max(roi_w, dtype(1)), max(roi_h, dtype(1))
    grid_h = sampling_ratio or int(math.ceil(roi_h / dtype(out[0])))
    grid_w = sampling_ratio or int(math.ceil(roi_w / dtype(out[1])))
    channels, height, width = fmap.shape
    if grid_h <= 0 or grid_w <= 0:
        return fmap.new_zeros(channels, *out)
    wy = _interp_matrix(_axis_samples(y1, roi_h, out[0], grid_h, dtype), height, fmap)
    wx = _interp_matrix(_axis_samples(x1, roi_w, out[1], grid_w, dtype), width, fmap)
    samples = torch.einsum('ah,chw,bw->cab', wy, fmap, wx)
    samples = samples.reshape(channels, out[0], grid_h, out[1], grid_w)
    if pool_mode == 'avg':
        return samples.mean(dim=(2, 4))
    return samples.amax(dim=(2, 4))


def roi_align(feat: torch.Tensor, rois: torch.Tensor, output_size: int | tuple[int, int],
              spatial_scale: float = 1., sampling_ratio: int = 0, pool_mode: str = 'avg',
              aligned: bool = True) -> torch.Tensor:
    """mmcv's RoIAlign: ``feat`` ``[N, C, H, W]``, ``rois`` ``[K, 5]`` -> ``[K, C, oh, ow]``."""
    out = _pair(output_size)
    if pool_mode not in _POOL_MODES:
        raise ValueError(f'pool_mode must be one of {_POOL_MODES}, got {pool_mode!r}')
    _check(feat, rois)
    if _tv_roi_align is not None and pool_mode == 'avg':
        return _tv_roi_align(feat, rois.to(feat.dtype), out, spatial_scale, sampling_ratio,
                             aligned)
    np_dtype = np.float64 if feat.dtype == torch.float64 else np.float32
    boxes = rois.detach().cpu().numpy().astype(np_dtype)
    results = [_align_one(feat[int(r[0])], r[1:], out, spatial_scale, sampling_ratio,
                          pool_mode, aligned) for r in boxes]
    if not results:
        return feat.new_zeros(0, feat.shape[1], *out)
    return torch.stack(results)


def _bin_bounds(start: float, length: float, bins: int, size: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` feature cells of each RoIPool bin along one axis (clipped to the map)."""
    bin_size = length / bins
    idx = np.arange(bins)
    lo = np.clip(np.floor(idx * bin_size + start), 0, size).astype(np.int64)
    hi = np.clip(np.ceil((idx + 1) * bin_size + start), 0, size).astype(np.int64)
    return list(zip(lo.tolist(), hi.tolist()))


def _pool_one(fmap: torch.Tensor, ys: list, xs: list) -> torch.Tensor:
    """Max over each (y-bin, x-bin) rectangle, separably: columns first, then rows."""
    channels, height, _ = fmap.shape
    cols = [fmap[:, :, lo:hi].amax(-1) if hi > lo else fmap.new_zeros(channels, height)
            for lo, hi in xs]
    cols_t = torch.stack(cols, dim=-1)  # [C, H, ow]
    rows = [cols_t[:, lo:hi].amax(1) if hi > lo else cols_t.new_zeros(channels, len(xs))
            for lo, hi in ys]
    out = torch.stack(rows, dim=1)  # [C, oh, ow]
    empty_x = torch.tensor([hi <= lo for lo, hi in xs], device=fmap.device)
    return out.masked_fill(empty_x[None, None], 0)


def roi_pool(feat: torch.Tensor, rois: torch.Tensor, output_size: int | tuple[int, int],
             spatial_scale: float = 1.) -> torch.Tensor:
    """mmcv's RoIPool: ``feat`` ``[N, C, H, W]``, ``rois`` ``[K, 5]`` -> ``[K, C, oh, ow]``."""
    out = _pair(output_size)
    _check(feat, rois)
    channels, height, width = feat.shape[1:]
    scale = np.float32(spatial_scale)
    results = []
    for r in rois.detach().cpu().numpy().astype(np.float32):
        x1, y1, x2, y2 = r[1] * scale, r[2] * scale, (r[3] + 1) * scale, (r[4] + 1) * scale
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            results.append(feat.new_zeros(channels, *out))
            continue
        results.append(_pool_one(feat[int(r[0])], _bin_bounds(y1, y2 - y1, out[0], height),
                                 _bin_bounds(x1, x2 - x1, out[1], width)))
    if not results:
        return feat.new_zeros(0, channels, *out)
    return torch.stack(results)


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align` (mmcv ``RoIAlign``'s arguments)."""

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float = 1.,
                 sampling_ratio: int = 0, pool_mode: str = 'avg', aligned: bool = True) -> None:
        super().__init__()
        self.output_size = _pair(output_size)
        if pool_mode not in _POOL_MODES:
            raise ValueError(f'RoIAlign: pool_mode must be one of {_POOL_MODES}, got '
                             f'{pool_mode!r}')
        if not isinstance(sampling_ratio, int) or sampling_ratio < 0:
            raise ValueError(f'RoIAlign: sampling_ratio must be an int >= 0, got '
                             f'{sampling_ratio!r}')
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = sampling_ratio
        self.pool_mode = pool_mode
        self.aligned = bool(aligned)

    def forward(self, feat: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        return roi_align(feat, rois, self.output_size, self.spatial_scale, self.sampling_ratio,
                         self.pool_mode, self.aligned)


class RoIPool(nn.Module):
    """Module form of :func:`roi_pool` (mmcv ``RoIPool``'s arguments)."""

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float = 1.) -> None:
        super().__init__()
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)

    def forward(self, feat: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        return roi_pool(feat, rois, self.output_size, self.spatial_scale)
