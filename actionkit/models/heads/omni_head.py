"""``OmniHead``: OmniSource's two classifiers, one for images, one for videos (MMAction2 1.x).

The input's number of dims picks the branch: image features ``[N, C, H, W]`` go through
``fc2d`` (average pool, batch norm, dropout, linear to ``image_classes``), video features
``[N, C, T, H, W]`` through ``fc3d`` (average pool, then either linear to ``2 *
video_classes``, batch norm, ReLU, dropout, linear to ``video_classes`` — the non-linear head
— or batch norm, dropout, linear). Both are ``nn.Sequential``, so the state-dict keys are
1.x's: ``fc2d.2.weight`` (batch norm), ``fc2d.4.weight`` (linear), ``fc3d.2.weight`` ...
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from .base import BaseHead
from .i3d_head import check_head_args

__all__ = ['OmniHead']


@HEADS.register_module()
class OmniHead(BaseHead):
    """Image / video classification head of :class:`~actionkit.models.RecognizerOmni`.

    Args:
        image_classes (int): image classes (also the head's ``num_classes``, as in 1.x).
        video_classes (int): video classes.
        in_channels (int): channels of the backbone's features.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        image_dropout_ratio (float): dropout of the image branch. Default: 0.2.
        video_dropout_ratio (float): dropout of the video branch. Default: 0.5.
        video_nl_head (bool): the non-linear video branch (a hidden layer of ``2 *
            video_classes`` units). Default: True.
        **kwargs: the remaining :class:`BaseHead` arguments (``topk`` ...).

    Example:
        >>> head = OmniHead(image_classes=3, video_classes=2, in_channels=4).eval()
        >>> head(torch.rand(5, 4, 2, 2)).shape, head(torch.rand(5, 4, 1, 2, 2)).shape
        (torch.Size([5, 3]), torch.Size([5, 2]))
    """

    def __init__(self, image_classes: int, video_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 image_dropout_ratio: float = 0.2, video_dropout_ratio: float = 0.5,
                 video_nl_head: bool = True, **kwargs: Any) -> None:
        super().__init__(image_classes, in_channels, loss_cls=loss_cls, **kwargs)
        for ratio in (image_dropout_ratio, video_dropout_ratio):
            check_head_args('OmniHead', None, ratio)
        if not isinstance(video_classes, int) or video_classes <= 0:
            raise ValueError(f'OmniHead: video_classes must be a positive int, '
                             f'got {video_classes!r}')
        self.image_classes, self.video_classes = image_classes, video_classes
        self.video_nl_head = video_nl_head
        self.fc2d = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.BatchNorm1d(in_channels),
            nn.Dropout(image_dropout_ratio), nn.Linear(in_channels, image_classes))
        if video_nl_head:
            hidden = 2 * video_classes
            self.fc3d = nn.Sequential(
                nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(in_channels, hidden),
                nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                nn.Dropout(video_dropout_ratio), nn.Linear(hidden, video_classes))
        else:
            self.fc3d = nn.Sequential(
                nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.BatchNorm1d(in_channels),
                nn.Dropout(video_dropout_ratio), nn.Linear(in_channels, video_classes))

    def init_weights(self) -> None:
        """Nothing to do: PyTorch's default initialisation, as 1.x leaves it."""

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Image features ``[N, C, H, W]`` -> ``[N, image_classes]``; video features
        ``[N, C, T, H, W]`` -> ``[N, video_classes]``."""
        if x.dim() == 4:
            return self.fc2d(x)
        if x.dim() == 5:
            return self.fc3d(x)
        raise ValueError('OmniHead takes image features [N, C, H, W] or video features '
                         f'[N, C, T, H, W]; got {tuple(x.shape)}')
