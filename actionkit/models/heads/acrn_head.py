"""``ACRNHead``: actor-centric relations for AVA (https://arxiv.org/abs/1807.10982).

A shared head of ``AVARoIHead``: each actor's RoI feature, max-pooled to one vector, is tiled
over the whole clip's context feature of its sample, concatenated with it, and mixed by a 1x1
and ``num_convs`` (1, 3, 3) convolutions. Keys: ``roi_head.shared_head.conv1.conv.weight``,
``.conv1.bn.*``, ``.conv2.*``, ``.convs.{i}.*`` (MMAction2's).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..layers import ConvModule, constant_init, kaiming_init

__all__ = ['ACRNHead']


@HEADS.register_module()
class ACRNHead(nn.Module):
    """Tile + 1x1 convolution + 3x3 convolutions.

    Args:
        in_channels (int): channels of the RoI feature plus the context feature.
        out_channels (int): output channels.
        stride (int): spatial stride of the first 3x3 convolution.
        num_convs (int): number of 3x3 convolutions (>= 1).
        conv_cfg (dict): convolution config. Default: ``dict(type='Conv3d')``.
        norm_cfg (dict): norm config. Default: ``dict(type='BN3d', requires_grad=True)``.
        act_cfg (dict): activation config. Default: ``dict(type='ReLU', inplace=True)``.
        **kwargs: accepted for compatibility (mmdet's extra arguments).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, num_convs: int = 1,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 **kwargs: Any) -> None:
        super().__init__()
        if not isinstance(num_convs, int) or num_convs < 1:
            raise ValueError(f'ACRNHead: num_convs must be an int >= 1, got {num_convs!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.num_convs = num_convs
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.max_pool = nn.AdaptiveMaxPool3d(1)
        layer = dict(bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, out_channels, kernel_size=1, **layer)
        self.conv2 = ConvModule(out_channels, out_channels, kernel_size=(1, 3, 3),
                                stride=(1, stride, stride), padding=(0, 1, 1), **layer)
        self.convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, kernel_size=(1, 3, 3), padding=(0, 1, 1),
                       **layer) for _ in range(num_convs - 1))

    def init_weights(self, **kwargs: Any) -> None:
        """Kaiming convolutions, norm weights 1."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                constant_init(m, 1)

    def forward(self, x: torch.Tensor, feat: torch.Tensor, rois: torch.Tensor,
                **kwargs: Any) -> torch.Tensor:
        """RoI features ``[K, C1, 1, h, w]`` + context ``[N, C2, 1, H, W]`` (both pooled in
        time) -> ``[K, out_channels, 1, H', W']``."""
        x = self.max_pool(x)  # [K, C1, 1, 1, 1]
        h, w = feat.shape[-2:]
        context = feat[rois[:, 0].long()]  # [K, C2, T', H, W]
        new_feat = torch.cat([x.repeat(1, 1, 1, h, w), context], dim=1)
        new_feat = self.conv2(self.conv1(new_feat))
        for conv in self.convs:
            new_feat = conv(new_feat)
        return new_feat
