"""The TimeSformer classification head: one linear layer on the cls token."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import trunc_normal_init
from .base import BaseHead

__all__ = ['TimeSformerHead']


@HEADS.register_module()
class TimeSformerHead(BaseHead):
    """TimeSformer head: ``[N, in_channels]`` tokens to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): token width.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        init_std (float): std of the truncated-normal init of ``fc_cls``. Default: 0.02.
        dropout_ratio (float): dropout before ``fc_cls`` (MMAction2 1.x's argument; 0 for
            none). Default: 0.0.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.

    Example:
        >>> TimeSformerHead(num_classes=4, in_channels=8)(torch.rand(2, 8)).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 init_std: float = 0.02, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5),
                 dropout_ratio: float = 0.0) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        if not 0.0 <= dropout_ratio < 1.0:
            raise ValueError(f'TimeSformerHead: dropout_ratio must be in [0, 1), '
                             f'got {dropout_ratio!r}')
        self.init_std = init_std
        self.dropout_ratio = dropout_ratio
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Truncated-normal init of ``fc_cls`` with ``init_std``, zero bias."""
        trunc_normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, in_channels]``. Returns ``[N, num_classes]``."""
        if isinstance(x, tuple) or x.dim() != 2:
            shape = [tuple(t.shape) for t in x] if isinstance(x, tuple) else tuple(x.shape)
            raise ValueError(f'TimeSformerHead takes (N, C) features; got {shape}')
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)
