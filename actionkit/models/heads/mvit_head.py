"""The MViT classification head (MMAction2 1.x): dropout and a linear layer on the cls token
(or on the averaged patch tokens) of MViT's last scale. Keys: ``cls_head.fc_cls.weight`` /
``.bias``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import trunc_normal_init
from .base import BaseHead
from .i3d_head import check_head_args

__all__ = ['MViTHead']


@HEADS.register_module()
class MViTHead(BaseHead):
    """MViT head: MViT's outputs to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of MViT's last scale.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        dropout_ratio (float): dropout before ``fc_cls`` (0 for none). Default: 0.5.
        init_std (float): std of the truncated-normal init of ``fc_cls.weight``. Default: 0.02.
        init_scale (float): factor on ``fc_cls``'s initial weight and bias (0.02). Default: 1.
        with_cls_token (bool): classify the cls token (else the mean of the patch tokens).
            Default: True.
        **kwargs: the remaining :class:`BaseHead` arguments.

    Example:
        >>> head = MViTHead(num_classes=4, in_channels=8)
        >>> head(([torch.rand(2, 8, 1, 2, 2), torch.rand(2, 8)],)).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.5, init_std: float = 0.02, init_scale: float = 1.0,
                 with_cls_token: bool = True, **kwargs: Any) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, **kwargs)
        check_head_args('MViTHead', None, dropout_ratio)
        self.dropout_ratio, self.init_std, self.init_scale = dropout_ratio, init_std, init_scale
        self.with_cls_token = with_cls_token
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Truncated-normal weight (``init_std``), bias 0.02, both times ``init_scale``."""
        trunc_normal_init(self.fc_cls, std=self.init_std, bias=0.02)
        with torch.no_grad():
            self.fc_cls.weight.mul_(self.init_scale)
            self.fc_cls.bias.mul_(self.init_scale)

    def pre_logits(self, feats: Sequence[Any]) -> torch.Tensor:
        """The ``[N, in_channels]`` vector of the last scale: its cls token, or the mean of its
        patch tokens ``[N, C, T, H, W]``."""
        last = feats[-1]
        if self.with_cls_token:
            if not isinstance(last, (list, tuple)) or len(last) != 2:
                raise ValueError('MViTHead with with_cls_token=True takes MViT outputs of '
                                 '[patch tokens, cls token] (output_cls_token=True); got '
                                 f'{type(last).__name__}')
            return last[1]
        if not isinstance(last, torch.Tensor) or last.dim() != 5:
            raise ValueError('MViTHead with with_cls_token=False takes patch tokens '
                             '(N, C, T, H, W) (MViT output_cls_token=False)')
        return last.mean(dim=(2, 3, 4))

    def forward(self, x: Sequence[Any]) -> torch.Tensor:
        """Args: x MViT's tuple of outputs. Returns ``[N, num_classes]``."""
        x = self.pre_logits(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)
