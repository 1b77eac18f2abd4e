"""``SingleRoIExtractor3D``: RoI features of a 3D feature map, frame by frame (MMAction2 0.x)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .roi_ops import RoIAlign, RoIPool

__all__ = ['SingleRoIExtractor3D']

_LAYER_TYPES = ('RoIPool', 'RoIAlign')
_POOL_MODES = ('avg', 'max')


class SingleRoIExtractor3D(nn.Module):
    """Extract RoI features from one feature level of a video backbone.

    Several pathways (SlowFast) are first resized (nearest) to the longest one's time length
    and the first one's spatial size, then concatenated on channels; with
    ``with_temporal_pool`` time is averaged (or maxed) to length 1 first. Each time step is then
    pooled with RoIAlign / RoIPool (:mod:`~actionkit.models.roi_extractors.roi_ops`, no
    compiled ops needed).

    Args:
        roi_layer_type (str): ``'RoIAlign'`` or ``'RoIPool'``.
        featmap_stride (int): input pixels per feature cell (``spatial_scale = 1 / stride``).
        output_size (int | tuple[int, int]): RoI feature size.
        sampling_ratio (int): RoIAlign samples per bin side (0: adaptive).
        pool_mode (str): RoIAlign's pooling in a bin, ``'avg'`` or ``'max'``.
        aligned (bool): RoIAlign's half-pixel shift.
        with_temporal_pool (bool): pool time to length 1 before the RoI layer.
        temporal_pool_mode (str): ``'avg'`` or ``'max'``.
        with_global (bool): concatenate each RoI's feature with the whole frame's, adaptively
            average-pooled to ``output_size``.
    """

    def __init__(self, roi_layer_type: str = 'RoIAlign', featmap_stride: int = 16,
                 output_size: int | tuple[int, int] = 16, sampling_ratio: int = 0,
                 pool_mode: str = 'avg', aligned: bool = True, with_temporal_pool: bool = True,
                 temporal_pool_mode: str = 'avg', with_global: bool = False) -> None:
        super().__init__()
        if roi_layer_type not in _LAYER_TYPES:
            raise ValueError(f'SingleRoIExtractor3D: roi_layer_type must be one of '
                             f'{_LAYER_TYPES}, got {roi_layer_type!r}')
        if temporal_pool_mode not in _POOL_MODES:
            raise ValueError(f'SingleRoIExtractor3D: temporal_pool_mode must be one of '
                             f'{_POOL_MODES}, got {temporal_pool_mode!r}')
        if not isinstance(featmap_stride, (int, float)) or featmap_stride <= 0:
            raise ValueError(f'SingleRoIExtractor3D: featmap_stride must be > 0, got '
                             f'{featmap_stride!r}')
        self.roi_layer_type = roi_layer_type
        self.featmap_stride = featmap_stride
        self.spatial_scale = 1. / featmap_stride
        self.output_size = output_size
        self.sampling_ratio = sampling_ratio
        self.pool_mode = pool_mode
        self.aligned = aligned
        self.with_temporal_pool = bool(with_temporal_pool)
        self.temporal_pool_mode = temporal_pool_mode
        self.with_global = bool(with_global)
        if roi_layer_type == 'RoIPool':
            self.roi_layer: nn.Module = RoIPool(output_size, self.spatial_scale)
        else:
            self.roi_layer = RoIAlign(output_size, self.spatial_scale,
                                      sampling_ratio=sampling_ratio, pool_mode=pool_mode,
                                      aligned=aligned)
        self.global_pool = nn.AdaptiveAvgPool2d(output_size)

    def init_weights(self) -> None:
        """No parameters."""

    def _merge_pathways(self, feat: Sequence[torch.Tensor]) -> torch.Tensor:
        """One ``[N, C, T, H, W]`` map from one or several pathways."""
        feat = list(feat)
        if len(feat) >= 2:
            size = (max(x.shape[2] for x in feat), *feat[0].shape[3:])
            feat = [F.interpolate(x, size).contiguous() for x in feat]
        if self.with_temporal_pool:
            if self.temporal_pool_mode == 'avg':
                feat = [x.mean(2, keepdim=True) for x in feat]
            else:
                feat = [x.amax(2, keepdim=True) for x in feat]
        return torch.cat(feat, dim=1).contiguous()

    def forward(self, feat: torch.Tensor | Sequence[torch.Tensor],
                rois: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool the RoIs of every time step.

        Args:
            feat: ``[N, C, T, H, W]`` or a tuple of them (pathways).
            rois: ``[K, 5]`` batch index and ``x1, y1, x2, y2`` in input pixels.

        Returns:
            tuple: RoI features ``[K, C', T', oh, ow]`` (``C'`` doubles with ``with_global``)
            and the merged feature map ``[N, C, T', H, W]``.
        """
        feat = self._merge_pathways(feat if isinstance(feat, (tuple, list)) else (feat,))
        roi_feats = []
        for t in range(feat.size(2)):
            frame = feat[:, :, t].contiguous()  # [N, C, H, W]
            roi_feat = self.roi_layer(frame, rois)
            if self.with_global:
                whole = self.global_pool(frame)[rois[:, 0].long()]
                roi_feat = torch.cat([roi_feat, whole], dim=1).contiguous()
            roi_feats.append(roi_feat)
        return torch.stack(roi_feats, dim=2), feat
