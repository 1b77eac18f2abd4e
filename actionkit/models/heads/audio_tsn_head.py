"""The TSN head for audio: average pool the spectrogram features, dropout, linear.

MMAction2 0.x's ``AudioTSNHead`` (for ``AudioRecognizer``): no segment consensus, each audio
clip is scored on its own and the recognizer averages the clips of a sample at test time.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead
from .tsn_head import _check_head_args

__all__ = ['AudioTSNHead']


@HEADS.register_module()
class AudioTSNHead(BaseHead):
    """``[N, C, T, F]`` features (or ``[N, C]`` with ``spatial_type=None``) to
    ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' pools the feature map to 1x1. Default: 'avg'.
        dropout_ratio (float): dropout before the linear layer (0 for none). Default: 0.4.
        init_std (float): std of the linear layer's normal init. Default: 0.01.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str | None = 'avg', dropout_ratio: float = 0.4,
                 init_std: float = 0.01, multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        _check_head_args('AudioTSNHead', spatial_type, dropout_ratio)
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1)) if spatial_type == 'avg' else None
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Normal init of ``fc_cls`` with ``init_std``, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, in_channels, T, F]`` -> ``[N, num_classes]``."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)  # [N, C, 1, 1]
        x = x.reshape(x.shape[0], -1)  # [N, C]
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)


# MMAction2 1.x's name of the same head
HEADS.register_module(name='TSNAudioHead', module=AudioTSNHead)
