"""The X3D classification head: pool, a 2048-wide linear layer with ReLU, dropout, linear.

Keys: ``cls_head.fc1.weight`` (no bias by default), ``cls_head.fc2.weight`` / ``.bias``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead
from .i3d_head import check_head_args

__all__ = ['X3DHead']


@HEADS.register_module()
class X3DHead(BaseHead):
    """X3D head: ``[N, C, T, H, W]`` features to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str): 'avg' or 'max' pooling over T, H, W. Default: 'avg'.
        dropout_ratio (float): dropout before ``fc2`` (0 for none). Default: 0.5.
        init_std (float): std of the normal init of both linear layers. Default: 0.01.
        fc1_bias (bool): give ``fc1`` a bias. Default: False.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.

    Example:
        >>> head = X3DHead(num_classes=4, in_channels=16)
        >>> head(torch.rand(2, 16, 2, 3, 3)).shape
        torch.Size([2, 4])
    """

    mid_channels = 2048

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', dropout_ratio: float = 0.5, init_std: float = 0.01,
                 fc1_bias: bool = False, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        check_head_args('X3DHead', spatial_type, dropout_ratio, allowed=('avg', 'max'))
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.fc1_bias = fc1_bias
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc1 = nn.Linear(in_channels, self.mid_channels, bias=fc1_bias)
        self.fc2 = nn.Linear(self.mid_channels, num_classes)
        self.relu = nn.ReLU()
        pool = nn.AdaptiveAvgPool3d if spatial_type == 'avg' else nn.AdaptiveMaxPool3d
        self.pool = pool((1, 1, 1))

    def init_weights(self) -> None:
        """Normal init of ``fc1`` and ``fc2`` with ``init_std``, zero biases."""
        normal_init(self.fc1, std=self.init_std)
        normal_init(self.fc2, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, in_channels, T, H, W]``. Returns ``[N, num_classes]``."""
        if isinstance(x, tuple) or x.dim() != 5:
            shape = [tuple(t.shape) for t in x] if isinstance(x, tuple) else tuple(x.shape)
            raise ValueError(f'X3DHead takes (N, C, T, H, W) features; got {shape}')
        x = self.relu(self.fc1(self.pool(x).flatten(1)))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc2(x)
