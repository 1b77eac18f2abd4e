"""X3D: a small 3D network expanded along width, depth, bottleneck width (and input size).

Feichtenhofer, "X3D: Expanding Architectures for Efficient Video Recognition",
https://arxiv.org/abs/2004.04730. Module names (``conv1_s``, ``conv1_t``,
``layer1.0.se_module.fc1``, ``conv5``) follow MMAction2 0.x, whose X3D-S/M checkpoints were
converted from the official ones.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import nn

from ..builder import BACKBONES
from ..layers import (ConvModule, Swish, build_activation_layer, constant_init, freeze,
                      kaiming_init)
from .weights3d import load_3d_state_dict

__all__ = ['BlockX3D', 'X3D']

logger = logging.getLogger(__name__)


def _round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """``width * multiplier`` rounded to a multiple of ``divisor`` (at least ``min_width``),
    rounding up when plain rounding would lose more than 10%."""
    if not multiplier:
        return int(width)
    width *= multiplier
    rounded = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * width:
        rounded += divisor
    return int(rounded)


class SEModule(nn.Module):
    """Squeeze-and-excitation with 1x1x1 convs ``fc1``/``fc2`` (bottleneck rounded to 8)."""

    def __init__(self, channels: int, reduction: float) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool3d(1)
        self.bottleneck = _round_width(channels, reduction)
        self.fc1 = nn.Conv3d(channels, self.bottleneck, kernel_size=1, padding=0)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv3d(self.bottleneck, channels, kernel_size=1, padding=0)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
        return x * scale


class BlockX3D(nn.Module):
    """1x1x1 conv, depthwise 3x3x3 conv (+ SE), Swish, 1x1x1 conv, with a shortcut.

    Args:
        inplanes: input channels.
        planes: channels of the depthwise conv (the expanded bottleneck).
        outplanes: output channels.
        spatial_stride: stride of the depthwise conv in H and W.
        downsample: the shortcut projection, or ``None`` for identity.
        se_ratio: SE reduction ratio, or ``None`` for no SE.
        use_swish: kept for config compatibility; the block always applies Swish (as 0.x).
        conv_cfg, norm_cfg, act_cfg: layer configs.
        with_cp: gradient checkpointing for the residual branch.
    """

    def __init__(self, inplanes: int, planes: int, outplanes: int, spatial_stride: int = 1,
                 downsample: nn.Module | None = None, se_ratio: float | None = None,
                 use_swish: bool = True, conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d'),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU'), with_cp: bool = False) -> None:
        super().__init__()
        self.inplanes, self.planes, self.outplanes = inplanes, planes, outplanes
        self.spatial_stride, self.se_ratio, self.use_swish = spatial_stride, se_ratio, use_swish
        self.with_cp = with_cp
        self.conv1 = ConvModule(inplanes, planes, 1, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, 3, stride=(1, spatial_stride, spatial_stride),
                                padding=1, groups=planes, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=None)
        self.swish = Swish()
        self.conv3 = ConvModule(planes, outplanes, 1, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=None)
        if se_ratio is not None:
            self.se_module = SEModule(planes, se_ratio)
        self.downsample = downsample
        self.relu = build_activation_layer(act_cfg)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        if self.se_ratio is not None:
            out = self.se_module(out)
        out = self.conv3(self.swish(out))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)


@BACKBONES.register_module()
class X3D(nn.Module):
    """X3D backbone (24 stem channels and (1, 2, 5, 3) blocks before expansion).

    Args:
        gamma_w: global width multiplier.
        gamma_b: bottleneck width multiplier.
        gamma_d: depth multiplier.
        pretrained: a checkpoint (local path or hub-cache URL) loaded in ``init_weights``, or
            ``None``. 2D weights cannot be inflated into X3D.
        in_channels: input channels.
        num_stages: 1 to 4.
        spatial_strides: per stage.
        frozen_stages: freeze the stem and stages ``1..frozen_stages`` (-1: nothing).
        se_style: ``'half'`` (SE in every other block) or ``'all'``.
        se_ratio: SE reduction ratio, or ``None`` for no SE.
        use_swish: passed to the blocks.
        conv_cfg, norm_cfg, act_cfg: layer configs.
        norm_eval: keep BN layers in eval mode while training.
        with_cp: gradient checkpointing in every block.
        zero_init_residual: zero the last BN of each block in ``init_weights``.

    Example:
        >>> model = X3D(gamma_w=1, gamma_b=1, gamma_d=1)
        >>> model(torch.rand(1, 3, 4, 32, 32)).shape
        torch.Size([1, 192, 4, 1, 1])
    """

    def __init__(self, gamma_w: float = 1.0, gamma_b: float = 1.0, gamma_d: float = 1.0,
                 pretrained: str | None = None, in_channels: int = 3, num_stages: int = 4,
                 spatial_strides: Sequence[int] = (2, 2, 2, 2), frozen_stages: int = -1,
                 se_style: str = 'half', se_ratio: float | None = 1 / 16, use_swish: bool = True,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False,
                 zero_init_residual: bool = True) -> None:
        super().__init__()
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'X3D: pretrained must be a str or None, got {pretrained!r}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'X3D: num_stages must be in 1..4, got {num_stages}')
        if len(spatial_strides) != num_stages:
            raise ValueError(f'X3D: spatial_strides needs one entry per stage ({num_stages}), '
                             f'got {tuple(spatial_strides)}')
        if se_style not in ('half', 'all'):
            raise ValueError(f"X3D: se_style must be 'half' or 'all', got {se_style!r}")
        if se_ratio is not None and se_ratio <= 0:
            raise ValueError(f'X3D: se_ratio must be positive or None, got {se_ratio}')
        self.gamma_w, self.gamma_b, self.gamma_d = gamma_w, gamma_b, gamma_d
        self.pretrained, self.in_channels, self.num_stages = pretrained, in_channels, num_stages
        self.spatial_strides, self.frozen_stages = tuple(spatial_strides), frozen_stages
        self.se_style, self.se_ratio, self.use_swish = se_style, se_ratio, use_swish
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.zero_init_residual = zero_init_residual
        self.base_channels = _round_width(24, gamma_w)
        self.stage_blocks = [int(math.ceil(gamma_d * n)) if gamma_d else n
                             for n in (1, 2, 5, 3)][:num_stages]

        self.conv1_s = ConvModule(in_channels, self.base_channels, (1, 3, 3), stride=(1, 2, 2),
                                  padding=(0, 1, 1), bias=False, conv_cfg=conv_cfg,
                                  norm_cfg=None, act_cfg=None)
        self.conv1_t = ConvModule(self.base_channels, self.base_channels, (5, 1, 1),
                                  padding=(2, 0, 0), groups=self.base_channels, bias=False,
                                  conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.res_layers: list[str] = []
        layer_inplanes = self.base_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            inplanes = self.base_channels * 2**i
            layer = self._make_stage(layer_inplanes, inplanes, int(inplanes * gamma_b),
                                     num_blocks, self.spatial_strides[i])
            layer_inplanes = inplanes
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        feat_dim = self.base_channels * 2**(len(self.stage_blocks) - 1)
        self.conv5 = ConvModule(feat_dim, int(feat_dim * gamma_b), 1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.feat_dim = int(feat_dim * gamma_b)

    def _make_stage(self, layer_inplanes: int, inplanes: int, planes: int, blocks: int,
                    spatial_stride: int) -> nn.Sequential:
        downsample = None
        if spatial_stride != 1 or layer_inplanes != inplanes:
            downsample = ConvModule(layer_inplanes, inplanes, 1,
                                    stride=(1, spatial_stride, spatial_stride), bias=False,
                                    conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=None)
        layers = []
        for i in range(blocks):
            use_se = self.se_style == 'all' or i % 2 == 0
            layers.append(BlockX3D(
                layer_inplanes if i == 0 else inplanes, planes, inplanes,
                spatial_stride=spatial_stride if i == 0 else 1,
                downsample=downsample if i == 0 else None,
                se_ratio=self.se_ratio if use_se else None, use_swish=self.use_swish,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp))
        return nn.Sequential(*layers)

    def init_weights(self) -> None:
        """Load ``pretrained``, or Kaiming convs, unit BN and zero last BN per block."""
        if isinstance(self.pretrained, str):
            logger.info('X3D: loading %s', self.pretrained)
            load_3d_state_dict(self, self.pretrained)
            return
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                constant_init(m, 1)
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, BlockX3D):
                    constant_init(m.conv3.bn, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, C, T, H, W]``. Returns ``[N, feat_dim, T, H/32, W/32]``."""
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] < 1:
            raise ValueError(f'X3D takes (N, C, T, H, W) with C = {self.in_channels} and T >= 1; '
                             f'got shape {tuple(x.shape)}')
        x = self.conv1_t(self.conv1_s(x))
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return self.conv5(x)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            freeze(self.conv1_s, self.conv1_t)
        freeze(*(getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)))

    def train(self, mode: bool = True) -> 'X3D':
        """Switch mode, keeping frozen stages (and all BN with ``norm_eval``) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
