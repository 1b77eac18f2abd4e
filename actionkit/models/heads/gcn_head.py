"""``GCNHead`` (MMAction2 1.x): pool graph features over time and joints, average the persons,
then a linear classifier."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead

__all__ = ['GCNHead']


@HEADS.register_module()
class GCNHead(BaseHead):
    """Head of 1.x's ``RecognizerGCN``: ``[N, M, C, T, V]`` features to ``[N, num_classes]``.

    Args:
        num_classes (int): number of classes.
        in_channels (int): ``C``.
        loss_cls (dict): the loss config.
        dropout (float): dropout before the classifier. Default: 0.
        average_clips (str | None): how ``RecognizerGCN`` averages the views at test time:
            ``'prob'`` (1.x's default for this head), ``'score'`` or None.
        init_std (float): std of the classifier's normal init. Default: 0.01.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 dropout: float = 0., average_clips: str | None = 'prob',
                 init_std: float = 0.01, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        if not 0 <= dropout < 1:
            raise ValueError(f'GCNHead: dropout must be in [0, 1), got {dropout!r}')
        self.dropout_ratio = dropout
        self.dropout = nn.Dropout(p=dropout) if dropout else None
        self.average_clips = average_clips
        self.init_std = init_std
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Normal init of ``fc`` with ``init_std``, zero bias."""
        normal_init(self.fc, std=self.init_std)

    def forward(self, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``x`` ``[N, M, C, T, V]`` -> ``[N, num_classes]``."""
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(f'GCNHead takes (N, M, C={self.in_channels}, T, V) features, got '
                             f'{tuple(x.shape)}')
        n, m = x.shape[:2]
        x = self.pool(x.flatten(0, 1)).view(n, m, -1).mean(dim=1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc(x)
