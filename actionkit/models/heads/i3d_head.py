"""The I3D classification head: spatio-temporal average pool, dropout, linear.

Also the head of SlowOnly, R(2+1)D, CSN, C3D (``spatial_type=None``, the backbone already
returns a vector) and Video Swin. Keys: ``cls_head.fc_cls.weight`` / ``.bias``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead

__all__ = ['I3DHead']


def check_head_args(owner: str, spatial_type: str | None, dropout_ratio: float,
                    allowed: tuple[str | None, ...] = ('avg', None)) -> None:
    """Raise ``ValueError`` for a ``spatial_type`` outside ``allowed`` or a bad dropout ratio."""
    if spatial_type not in allowed:
        raise ValueError(f'{owner}: spatial_type must be one of {allowed}, got {spatial_type!r}')
    if not 0.0 <= dropout_ratio < 1.0:
        raise ValueError(f'{owner}: dropout_ratio must be in [0, 1), got {dropout_ratio!r}')


@HEADS.register_module()
class I3DHead(BaseHead):
    """I3D head: ``[N, C, T, H, W]`` features to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' pools T, H and W to 1; None expects features that
            flatten to ``in_channels`` (C3D's vector). Default: 'avg'.
        dropout_ratio (float): dropout before the linear layer (0 for none). Default: 0.5.
        init_std (float): std of the linear layer's normal init. Default: 0.01.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.

    Example:
        >>> head = I3DHead(num_classes=4, in_channels=16)
        >>> head(torch.rand(2, 16, 2, 3, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str | None = 'avg', dropout_ratio: float = 0.5,
                 init_std: float = 0.01, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        check_head_args('I3DHead', spatial_type, dropout_ratio)
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == 'avg' else None

    def init_weights(self) -> None:
        """Normal init of ``fc_cls`` with ``init_std``, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, in_channels, T, H, W]`` (or ``[N, in_channels]`` with
        ``spatial_type=None``). Returns ``[N, num_classes]``."""
        if isinstance(x, tuple):
            raise TypeError(f'I3DHead takes one feature tensor, got a tuple of '
                            f'{[tuple(t.shape) for t in x]}; use SlowFastHead for two pathways '
                            'or set the backbone out_indices to a single stage')
        if self.avg_pool is not None:
            if x.dim() != 5:
                raise ValueError(f"I3DHead with spatial_type='avg' takes (N, C, T, H, W) "
                                 f'features; got shape {tuple(x.shape)}')
            x = self.avg_pool(x)  # [N, C, 1, 1, 1]
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.reshape(x.shape[0], -1))
