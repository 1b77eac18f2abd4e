"""The TSM classification head: per-frame scores averaged over the clip's segments.

TSM: Temporal Shift Module for Efficient Video Understanding, https://arxiv.org/abs/1811.08383.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead, build_consensus
from .tsn_head import _check_head_args

__all__ = ['TSMHead']


@HEADS.register_module()
class TSMHead(BaseHead):
    """TSM head: ``[N * num_segments, C, H, W]`` features to ``[N, num_classes]`` scores.

    Unlike :class:`TSNHead` it classifies every frame, then averages the scores of each group
    of ``num_segments`` frames (``num_segments // 2`` after the backbone's temporal pool).

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        num_segments (int): frames per clip (the backbone's). Default: 8.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' or None. Default: 'avg'.
        consensus (dict): Default: ``dict(type='AvgConsensus', dim=1)``.
        dropout_ratio (float): Default: 0.8.
        init_std (float): Default: 0.001.
        is_shift (bool): the backbone shifts features (with ``temporal_pool``, the segments
            were halved). Default: True.
        temporal_pool (bool): the backbone pools time by 2. Default: False.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, num_segments: int = 8,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str | None = 'avg',
                 consensus: Mapping[str, Any] = dict(type='AvgConsensus', dim=1),
                 dropout_ratio: float = 0.8, init_std: float = 0.001, is_shift: bool = True,
                 temporal_pool: bool = False, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        _check_head_args('TSMHead', spatial_type, dropout_ratio)
        check_positive_int('TSMHead', 'num_segments', num_segments)
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.num_segments = num_segments
        self.init_std = init_std
        self.is_shift = is_shift
        self.temporal_pool = temporal_pool
        self.consensus = build_consensus('TSMHead', consensus)
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == 'avg' else None

    def init_weights(self) -> None:
        """Normal init of ``fc_cls`` with ``init_std``, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    @property
    def segments_per_clip(self) -> int:
        """Feature maps per clip reaching the head."""
        return self.num_segments // 2 if self.is_shift and self.temporal_pool \
            else self.num_segments

    def forward(self, x: torch.Tensor, num_segs: int | None = None) -> torch.Tensor:
        """Args:
            x: ``[N * segments, in_channels, H, W]``.
            num_segs: unused (the recognizer passes the frames per sample); the grouping
                comes from ``num_segments``.

        Returns:
            ``[N, num_classes]``.
        """
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = torch.flatten(x, 1)  # [N * segments, C]
        if self.dropout is not None:
            x = self.dropout(x)
        cls_score = self.fc_cls(x)
        segments = self.segments_per_clip
        if cls_score.shape[0] % segments != 0:
            raise ValueError(f'TSMHead(num_segments={self.num_segments}) needs a multiple of '
                             f'{segments} feature maps, got {cls_score.shape[0]}')
        cls_score = cls_score.view((-1, segments) + cls_score.shape[1:])  # [N, T, classes]
        return self.consensus(cls_score).squeeze(1)
