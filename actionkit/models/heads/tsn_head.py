"""The TSN classification head: spatial average pool, segment consensus, dropout, linear.

Temporal Segment Networks, https://arxiv.org/abs/1608.00859.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead, build_consensus

__all__ = ['TSNHead']


def _check_head_args(owner: str, spatial_type: str | None, dropout_ratio: float) -> None:
    if spatial_type not in ('avg', None):
        raise ValueError(f"{owner}: spatial_type must be 'avg' or None, got {spatial_type!r}")
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(f'{owner}: dropout_ratio must be in [0, 1), got {dropout_ratio!r}')


@HEADS.register_module()
class TSNHead(BaseHead):
    """TSN head: ``[N * num_segs, C, H, W]`` features to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' pools the feature map to 1x1; None expects pooled
            features. Default: 'avg'.
        consensus (dict): how segments are combined. Default:
            ``dict(type='AvgConsensus', dim=1)``.
        dropout_ratio (float): dropout before the linear layer (0 for none). Default: 0.4.
        init_std (float): std of the linear layer's normal init. Default: 0.01.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str | None = 'avg',
                 consensus: Mapping[str, Any] = dict(type='AvgConsensus', dim=1),
                 dropout_ratio: float = 0.4, init_std: float = 0.01,
                 multi_class: bool = False, label_smooth_eps: float = 0.0,
                 topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        _check_head_args('TSNHead', spatial_type, dropout_ratio)
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.consensus = build_consensus('TSNHead', consensus)
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1)) if spatial_type == 'avg' else None
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Normal init of ``fc_cls`` with ``init_std``, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor, num_segs: int) -> torch.Tensor:
        """Args:
            x: ``[N * num_segs, in_channels, H, W]`` (or ``[N * num_segs, in_channels]``
                when ``spatial_type`` is None).
            num_segs: segments per sample.

        Returns:
            ``[N, num_classes]``.
        """
        if isinstance(x, tuple):
            raise TypeError(f'TSNHead takes one feature tensor, got a tuple of '
                            f'{[tuple(t.shape) for t in x]}; set the backbone out_indices to '
                            'a single stage')
        if self.avg_pool is not None:
            x = self.avg_pool(x)  # [N * num_segs, C, 1, 1]
        x = x.reshape((-1, num_segs) + x.shape[1:])  # [N, num_segs, C, ...]
        x = self.consensus(x).squeeze(1)  # [N, C, ...]
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.view(x.size(0), -1))  # [N, num_classes]
