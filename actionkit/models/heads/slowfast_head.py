"""The SlowFast classification head: pool each pathway, concatenate, dropout, linear.

The pooled fast features come first in the concatenation (then the slow ones), the order of
MMAction2 0.x's ``cls_head.fc_cls.weight`` columns.
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

__all__ = ['SlowFastHead']


@HEADS.register_module()
class SlowFastHead(BaseHead):
    """SlowFast head: ``(slow, fast)`` features to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): slow plus fast channels (2048 + 256 for SlowFast-R50).
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' pools each pathway over T, H, W; None expects pooled
            features. Default: 'avg'.
        dropout_ratio (float): dropout before the linear layer (0 for none). Default: 0.8.
        init_std (float): std of the linear layer's normal init. Default: 0.01.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.

    Example:
        >>> head = SlowFastHead(num_classes=4, in_channels=24)
        >>> head((torch.rand(2, 16, 1, 2, 2), torch.rand(2, 8, 4, 2, 2))).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str | None = 'avg', dropout_ratio: float = 0.8,
                 init_std: float = 0.01, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        check_head_args('SlowFastHead', spatial_type, dropout_ratio)
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == 'avg' else None

    def init_weights(self) -> None:
        """Normal init of ``fc_cls`` with ``init_std``, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Args: x ``(slow [N, C_s, T_s, H, W], fast [N, C_f, T_f, H, W])`` as returned by
        ``ResNet3dSlowFast``. Returns ``[N, num_classes]``."""
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise TypeError('SlowFastHead takes the (slow, fast) feature pair of '
                            f'ResNet3dSlowFast, got {type(x).__name__}')
        x_slow, x_fast = x
        if self.avg_pool is not None:
            x_slow, x_fast = self.avg_pool(x_slow), self.avg_pool(x_fast)
        feats = torch.cat((x_fast.flatten(1), x_slow.flatten(1)), dim=1)  # fast first
        if feats.shape[1] != self.in_channels:
            raise ValueError(f'SlowFastHead: the pathways give {x_slow.shape[1]} + '
                             f'{x_fast.shape[1]} channels, in_channels is {self.in_channels}')
        if self.dropout is not None:
            feats = self.dropout(feats)
        return self.fc_cls(feats)
