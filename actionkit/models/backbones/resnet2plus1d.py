"""R(2+1)D: a ResNet whose 3D convolutions are factorised into a spatial and a temporal conv.

Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition",
https://arxiv.org/abs/1711.11248.

``Conv2plus1d`` is registered as the conv type ``'Conv2plus1d'`` so that configs can write
``conv_cfg=dict(type='Conv2plus1d')``; its sub-modules ``conv_s``, ``bn_s``, ``conv_t`` carry
MMAction2 0.x's names (``backbone.layer1.0.conv1.conv.conv_s.weight``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import build_norm_layer, constant_init, kaiming_init, register_conv_layer
from .resnet3d import ResNet3d

__all__ = ['Conv2plus1d', 'ResNet2Plus1d']


def _triple(value: int | Sequence[int]) -> tuple[int, int, int]:
    return (value,) * 3 if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


class Conv2plus1d(nn.Module):
    """A (t, h, w) conv as a (1, h, w) conv, BN, ReLU, then a (t, 1, 1) conv.

    The middle width keeps the parameter count of the full 3D conv (the paper's M_i, with
    t = 3): ``int(3 * C_in * C_out * h * w / (C_in * h * w + 3 * C_out))``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: as for
            ``nn.Conv3d`` (``dilation`` and ``groups`` are accepted for interface
            compatibility and must be 1).
        bias: add biases to both convs.
        norm_cfg: the norm between the two convs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d')) -> None:
        super().__init__()
        kernel, strides, pads = _triple(kernel_size), _triple(stride), _triple(padding)
        if len(kernel) != 3 or len(strides) != 3 or len(pads) != 3:
            raise ValueError(f'Conv2plus1d: kernel_size, stride and padding must be ints or '
                             f'triples, got {kernel_size!r}, {stride!r}, {padding!r}')
        if _triple(dilation) != (1, 1, 1) or groups != 1:
            raise ValueError(f'Conv2plus1d supports dilation=1 and groups=1 only, got '
                             f'dilation={dilation!r}, groups={groups!r}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel, strides, pads
        mid_channels = int(3 * (in_channels * out_channels * kernel[1] * kernel[2])
                           / (in_channels * kernel[1] * kernel[2] + 3 * out_channels))
        self.mid_channels = mid_channels
        self.conv_s = nn.Conv3d(in_channels, mid_channels, (1, kernel[1], kernel[2]),
                                stride=(1, strides[1], strides[2]),
                                padding=(0, pads[1], pads[2]), bias=bias)
        _, self.bn_s = build_norm_layer(norm_cfg, mid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv_t = nn.Conv3d(mid_channels, out_channels, (kernel[0], 1, 1),
                                stride=(strides[0], 1, 1), padding=(pads[0], 0, 0), bias=bias)
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming-normal convs, unit BN."""
        kaiming_init(self.conv_s)
        kaiming_init(self.conv_t)
        constant_init(self.bn_s, 1, bias=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_t(self.relu(self.bn_s(self.conv_s(x))))


register_conv_layer('Conv2plus1d', Conv2plus1d)


@BACKBONES.register_module()
class ResNet2Plus1d(ResNet3d):
    """ResNet3d built with ``Conv2plus1d`` convolutions and no temporal max-pool after stage 1.

    The arguments are those of :class:`ResNet3d`, with ``pretrained2d=False`` (R(2+1)D cannot
    be inflated from 2D weights) and ``conv_cfg=dict(type='Conv2plus1d')`` required.
    ``with_pool2`` is accepted for config compatibility and ignored.

    Example:
        >>> model = ResNet2Plus1d(depth=18, pretrained=None, base_channels=8)
        >>> model(torch.rand(1, 3, 8, 32, 32)).shape
        torch.Size([1, 64, 8, 1, 1])
    """

    def __init__(self, depth: int, pretrained: str | None,
                 stage_blocks: Sequence[int] | None = None,
                 pretrained2d: bool = False, in_channels: int = 3, num_stages: int = 4,
                 base_channels: int = 64, out_indices: Sequence[int] = (3,),
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 1, 1, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 conv1_kernel: Sequence[int] = (3, 7, 7), conv1_stride_s: int = 2,
                 conv1_stride_t: int = 1, pool1_stride_s: int = 2, pool1_stride_t: int = 1,
                 with_pool1: bool = True, with_pool2: bool = True, style: str = 'pytorch',
                 frozen_stages: int = -1, inflate: int | Sequence[Any] = (1, 1, 1, 1),
                 inflate_style: str = '3x1x1',
                 conv_cfg: Mapping[str, Any] = dict(type='Conv2plus1d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False,
                 non_local: int | Sequence[Any] = (0, 0, 0, 0),
                 non_local_cfg: Mapping[str, Any] = dict(),
                 zero_init_residual: bool = True) -> None:
        if pretrained2d:
            raise ValueError('ResNet2Plus1d: pretrained2d must be False; 2D weights cannot be '
                             'inflated into (2+1)D convolutions')
        if not isinstance(conv_cfg, Mapping) or conv_cfg.get('type') != 'Conv2plus1d':
            raise ValueError(f"ResNet2Plus1d: conv_cfg must be dict(type='Conv2plus1d'), "
                             f'got {conv_cfg!r}')
        with_pool2 = False  # R(2+1)D never pools time after the first stage
        super().__init__(
            depth=depth, pretrained=pretrained, stage_blocks=stage_blocks,
            pretrained2d=pretrained2d, in_channels=in_channels, num_stages=num_stages,
            base_channels=base_channels, out_indices=out_indices, spatial_strides=spatial_strides,
            temporal_strides=temporal_strides, dilations=dilations, conv1_kernel=conv1_kernel,
            conv1_stride_s=conv1_stride_s, conv1_stride_t=conv1_stride_t,
            pool1_stride_s=pool1_stride_s, pool1_stride_t=pool1_stride_t, with_pool1=with_pool1,
            with_pool2=with_pool2, style=style, frozen_stages=frozen_stages, inflate=inflate,
            inflate_style=inflate_style, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            norm_eval=norm_eval, with_cp=with_cp, non_local=non_local, non_local_cfg=non_local_cfg,
            zero_init_residual=zero_init_residual)
