"""``RGBPoseHead`` (MMAction2 1.x): one linear classifier per pathway of ``RGBPoseConv3D``."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead

__all__ = ['RGBPoseHead']

_STREAMS = ('rgb', 'pose')


@HEADS.register_module()
class RGBPoseHead(BaseHead):
    """``(rgb features, pose features)`` -> ``{'rgb': [N, K], 'pose': [N, K]}`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (sequence[int]): channels of the rgb and the pose features.
        loss_cls (dict): the loss config.
        loss_components (sequence[str]): the streams whose losses are summed (and scored).
        loss_weights (float | sequence[float]): a weight per component.
        dropout (float | dict): dropout before each classifier (``{'rgb': p, 'pose': q}``).
        init_std (float): std of the classifiers' normal init.
        average_clips (str | None): how views are averaged at test time (1.x's default None;
            its configs set ``'prob'``).
        topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: Sequence[int],
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 loss_components: Sequence[str] = _STREAMS,
                 loss_weights: float | Sequence[float] = 1., dropout: float | Mapping = 0.5,
                 init_std: float = 0.01, average_clips: str | None = None,
                 topk: int | tuple[int, ...] = (1, 5)) -> None:
        channels = tuple(in_channels)
        if len(channels) != 2:
            raise ValueError(f'RGBPoseHead: in_channels must be (rgb, pose) channels, got '
                             f'{in_channels!r}')
        super().__init__(num_classes, channels[0], loss_cls=loss_cls, topk=topk)
        self.in_channels = channels
        unknown = [c for c in loss_components if c not in _STREAMS]
        if unknown:
            raise ValueError(f"RGBPoseHead: loss_components must be among {_STREAMS}, got "
                             f'{unknown}')
        if isinstance(loss_weights, (int, float)):
            loss_weights = [float(loss_weights)] * len(loss_components)
        if len(loss_weights) != len(loss_components):
            raise ValueError(f'RGBPoseHead: {len(loss_weights)} loss_weights for '
                             f'{len(loss_components)} loss_components')
        self.loss_components, self.loss_weights = list(loss_components), list(loss_weights)
        if isinstance(dropout, (int, float)):
            dropout = {name: float(dropout) for name in _STREAMS}
        self.dropout, self.init_std, self.average_clips = dict(dropout), init_std, average_clips
        self.dropout_rgb = nn.Dropout(p=self.dropout['rgb'])
        self.dropout_pose = nn.Dropout(p=self.dropout['pose'])
        self.fc_rgb = nn.Linear(channels[0], num_classes)
        self.fc_pose = nn.Linear(channels[1], num_classes)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))

    def init_weights(self) -> None:
        """Normal init of both classifiers with ``init_std``, zero bias."""
        normal_init(self.fc_rgb, std=self.init_std)
        normal_init(self.fc_pose, std=self.init_std)

    def forward(self, x: Sequence[torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """``(x_rgb [N, C1, T, H, W], x_pose [N, C2, T', H', W'])`` -> scores per stream."""
        x_rgb = self.dropout_rgb(self.avg_pool(x[0]).flatten(1))
        x_pose = self.dropout_pose(self.avg_pool(x[1]).flatten(1))
        return dict(rgb=self.fc_rgb(x_rgb), pose=self.fc_pose(x_pose))

    def loss(self, cls_score: Mapping[str, torch.Tensor], labels: torch.Tensor,
             **kwargs: Any) -> dict[str, torch.Tensor]:
        """Per component ``{name}_loss_cls`` (weighted) and ``{name}_top{k}_acc``."""
        losses: dict[str, torch.Tensor] = {}
        for name, weight in zip(self.loss_components, self.loss_weights):
            part = super().loss(cls_score[name], labels, **kwargs)
            part['loss_cls'] = part['loss_cls'] * weight
            losses.update({f'{name}_{key}': value for key, value in part.items()})
        return losses

