"""The TPN classification head: a TSN head that also takes 3D feature maps.

Temporal Pyramid Network for Action Recognition, https://arxiv.org/abs/2004.03548.

After the TPN neck the features are ``[N, C, T, H, W]`` (3D recognizers, and 2D ones, whose
neck turns the segments into the time axis) or ``[N * num_segs, C, H, W]`` (a 2D recognizer
without a neck); the head averages them over space and time, combines the segments, and applies
dropout and ``fc_cls``.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from .tsn_head import TSNHead

__all__ = ['TPNHead']

_LOG = logging.getLogger(__name__)


@HEADS.register_module()
class TPNHead(TSNHead):
    """TPN head: TPN features to ``[N, num_classes]`` scores.

    The arguments are those of :class:`TSNHead` (same defaults); the state dict holds only
    ``fc_cls``.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' pools the feature map; None expects pooled features
            (and cannot take 3D maps without ``num_segs``). Default: 'avg'.
        consensus (dict): how segments are combined. Default:
            ``dict(type='AvgConsensus', dim=1)``.
        dropout_ratio (float): dropout before the linear layer. Default: 0.4.
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
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, spatial_type=spatial_type,
                         consensus=consensus, dropout_ratio=dropout_ratio, init_std=init_std,
                         multi_class=multi_class, label_smooth_eps=label_smooth_eps, topk=topk)
        # adaptive, so any T x H x W map pools to one value per channel
        self.avg_pool3d = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == 'avg' else None

    # MMAction2 0.x adds a ``new_cls`` conv (a copy of ``fc_cls``) the first time it runs an
    # fcn test, so checkpoints saved after a validation may hold ``new_cls.*``; the fcn path
    # here uses ``fc_cls`` directly: weights.load_state_dict skips these keys, and torch's own
    # load_state_dict drops them below
    ignored_checkpoint_keys = ('new_cls.weight', 'new_cls.bias')

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        for key in self.ignored_checkpoint_keys:
            if state_dict.pop(prefix + key, None) is not None:
                _LOG.debug('TPNHead: ignoring %s%s (a copy of fc_cls)', prefix, key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _pool_all(self, x: torch.Tensor) -> torch.Tensor:
        if self.avg_pool3d is None:
            raise ValueError('TPNHead(spatial_type=None) needs num_segs to combine features; '
                             f'got features of shape {tuple(x.shape)} and num_segs=None')
        return self.avg_pool3d(x)  # [N, C, 1, 1, 1]

    def forward(self, x: torch.Tensor, num_segs: int | None = None,
                fcn_test: bool = False) -> torch.Tensor:
        """Args:
            x: ``[N, C, T, H, W]`` (``num_segs=None``, or ``fcn_test``), or
                ``[N * num_segs, C, H, W]``.
            num_segs: segments per sample (2D recognizers), or None.
            fcn_test: fully convolutional test: ``fc_cls`` applied as a 1x1x1 conv to the
                (average-pooled, when ``spatial_type='avg'``) map; returns
                ``[N, num_classes, T', H', W']``.

        Returns:
            ``[N, num_classes]`` (or the score map when ``fcn_test``).
        """
        if fcn_test:
            if self.avg_pool3d is not None:
                x = self.avg_pool3d(x)
            weight = self.fc_cls.weight[..., None, None, None]  # [classes, C, 1, 1, 1]
            return nn.functional.conv3d(x, weight, self.fc_cls.bias)
        if num_segs is None:
            x = self._pool_all(x)  # [N, C, 1, 1, 1]
        else:
            x = x.mean(dim=(-2, -1), keepdim=True)  # spatial average: [N * num_segs, C, ..., 1, 1]
            x = x.reshape((-1, num_segs) + x.shape[1:])  # [N, num_segs, C, ...]
            x = self.consensus(x).squeeze(1)  # [N, C, ...]
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.reshape(x.size(0), -1))  # [N, num_classes]
