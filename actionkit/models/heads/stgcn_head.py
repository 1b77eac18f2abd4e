"""``STGCNHead``: pool GCN features over time, joints and persons, then a 1 x 1 conv."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead

__all__ = ['STGCNHead']


@HEADS.register_module()
class STGCNHead(BaseHead):
    """Head of ST-GCN / 2s-AGCN: ``[N M, C, T, V]`` features to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the features.
        loss_cls (dict): the loss config.
        spatial_type (str): ``'avg'`` or ``'max'`` pooling over T and V.
        num_person (int): ``M``, the persons per sample (their pooled features are averaged).
        init_std (float): std of the classifier's normal init.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', num_person: int = 2, init_std: float = 0.01,
                 multi_class: bool = False, label_smooth_eps: float = 0.0,
                 topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        pools = {'avg': nn.AdaptiveAvgPool2d, 'max': nn.AdaptiveMaxPool2d}
        if spatial_type not in pools:
            raise ValueError(f"STGCNHead: spatial_type must be 'avg' or 'max', got "
                             f'{spatial_type!r}')
        if isinstance(num_person, bool) or not isinstance(num_person, int) or num_person < 1:
            raise ValueError(f'STGCNHead: num_person must be an int >= 1, got {num_person!r}')
        self.spatial_type = spatial_type
        self.num_person = num_person
        self.init_std = init_std
        self.pool = pools[spatial_type]((1, 1))
        self.fc = nn.Conv2d(in_channels, num_classes, kernel_size=1)

    def init_weights(self) -> None:
        """Normal init of ``fc`` with ``init_std``, zero bias."""
        normal_init(self.fc, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N M, C, T, V]`` -> ``[N, num_classes]``."""
        if x.dim() != 4 or x.shape[0] % self.num_person:
            raise ValueError(f'STGCNHead takes (N * num_person={self.num_person}, C, T, V) '
                             f'features, got {tuple(x.shape)}')
        x = self.pool(x)
        x = x.view(x.shape[0] // self.num_person, self.num_person, -1, 1, 1).mean(dim=1)
        return self.fc(x).flatten(1)
