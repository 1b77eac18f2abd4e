"""CSN: channel-separated 3D ResNets (ip-CSN and ir-CSN).

Tran et al., "Video Classification with Channel-Separated Convolutional Networks",
https://arxiv.org/abs/1904.02811.

The 3x3x3 conv of each bottleneck becomes depthwise: ``'ir'`` (interaction-reduced) keeps only
the depthwise conv, ``'ip'`` (interaction-preserved) puts a 1x1x1 conv before it. Either way
``conv2`` is an ``nn.Sequential``, so keys read ``layer1.0.conv2.0.conv.weight`` (and
``conv2.1`` for ip), as in MMAction2 0.x.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from ..builder import BACKBONES
from ..layers import ConvModule
from .resnet3d import Bottleneck3d, ResNet3d, make_res_layer

__all__ = ['CSNBottleneck3d', 'ResNet3dCSN']

_MODES = ('ip', 'ir')


class CSNBottleneck3d(Bottleneck3d):
    """A :class:`Bottleneck3d` whose conv2 is channel-separated.

    Args:
        bottleneck_mode: ``'ir'`` (depthwise conv only) or ``'ip'`` (1x1x1 conv, then depthwise).
        the others: as for :class:`Bottleneck3d`.
    """

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None,
                 style: str = 'pytorch', inflate: bool = True, inflate_style: str = '3x1x1',
                 non_local: bool = False, non_local_cfg: Mapping[str, Any] = dict(),
                 conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d'),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU'), with_cp: bool = False,
                 bottleneck_mode: str = 'ir') -> None:
        if bottleneck_mode not in _MODES:
            raise ValueError(f'bottleneck_mode must be one of {_MODES}, got {bottleneck_mode!r}')
        super().__init__(inplanes, planes, spatial_stride=spatial_stride,
                         temporal_stride=temporal_stride, dilation=dilation,
                         downsample=downsample, style=style, inflate=inflate,
                         inflate_style=inflate_style, non_local=non_local,
                         non_local_cfg=non_local_cfg, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, with_cp=with_cp)
        self.bottleneck_mode = bottleneck_mode
        dense = self.conv2.conv  # the plain conv built by Bottleneck3d, replaced below
        layers: list[nn.Module] = []
        if bottleneck_mode == 'ip':
            layers.append(ConvModule(planes, planes, 1, bias=False, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg, act_cfg=None))
        layers.append(ConvModule(
            planes, planes, dense.kernel_size, stride=dense.stride, padding=dense.padding,
            dilation=dense.dilation, groups=planes, bias=False, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg))
        self.conv2 = nn.Sequential(*layers)


@BACKBONES.register_module()
class ResNet3dCSN(ResNet3d):
    """ResNet3d with channel-separated bottlenecks (depth 50, 101 or 152).

    The arguments are those of :class:`ResNet3d`, with CSN's defaults
    ``temporal_strides=(1, 2, 2, 2)``, ``norm_cfg`` eps 1e-3 and ``inflate_style='3x3x3'``, plus:

    Args:
        bottleneck_mode: ``'ir'`` or ``'ip'`` (see :class:`CSNBottleneck3d`).
        bn_frozen: with ``norm_eval``, also stop gradients to the BN parameters.

    Example:
        >>> import torch
        >>> model = ResNet3dCSN(depth=50, pretrained=None, pretrained2d=False,
        ...                     stage_blocks=(1, 1, 1, 1), base_channels=4)
        >>> model.eval()(torch.rand(1, 3, 8, 32, 32)).shape
        torch.Size([1, 128, 1, 1, 1])
    """

    arch_settings = {
        50: (CSNBottleneck3d, (3, 4, 6, 3)),
        101: (CSNBottleneck3d, (3, 4, 23, 3)),
        152: (CSNBottleneck3d, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, pretrained: str | None,
                 stage_blocks: Sequence[int] | None = None,
                 pretrained2d: bool = True, in_channels: int = 3, num_stages: int = 4,
                 base_channels: int = 64, out_indices: Sequence[int] = (3,),
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 conv1_kernel: Sequence[int] = (3, 7, 7), conv1_stride_s: int = 2,
                 conv1_stride_t: int = 1, pool1_stride_s: int = 2, pool1_stride_t: int = 1,
                 with_pool1: bool = True, with_pool2: bool = True, style: str = 'pytorch',
                 frozen_stages: int = -1, inflate: int | Sequence[Any] = (1, 1, 1, 1),
                 inflate_style: str = '3x3x3', conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d', requires_grad=True, eps=1e-3),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False,
                 non_local: int | Sequence[Any] = (0, 0, 0, 0),
                 non_local_cfg: Mapping[str, Any] = dict(), zero_init_residual: bool = True,
                 bottleneck_mode: str = 'ir', bn_frozen: bool = False) -> None:
        if bottleneck_mode not in _MODES:
            raise ValueError(f'ResNet3dCSN: bottleneck_mode must be one of {_MODES}, '
                             f'got {bottleneck_mode!r}')
        # Plain attributes may be set before nn.Module.__init__; _make_stage reads them.
        self.bottleneck_mode, self.bn_frozen = bottleneck_mode, bn_frozen
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

    def _make_stage(self, i: int, inplanes: int, planes: int, num_blocks: int) -> nn.Sequential:
        block = functools.partial(CSNBottleneck3d, bottleneck_mode=self.bottleneck_mode)
        return make_res_layer(
            block, inplanes, planes, num_blocks, spatial_stride=self.spatial_strides[i],
            temporal_stride=self.temporal_strides[i], dilation=self.dilations[i],
            style=self.style, inflate=self.stage_inflations[i], inflate_style=self.inflate_style,
            non_local=self.non_local_stages[i], non_local_cfg=self.non_local_cfg,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
            with_cp=self.with_cp, expansion=CSNBottleneck3d.expansion)

    def train(self, mode: bool = True) -> 'ResNet3dCSN':
        """As :meth:`ResNet3d.train`; with ``norm_eval`` and ``bn_frozen``, BN stops learning."""
        super().train(mode)
        if mode and self.norm_eval and self.bn_frozen:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    for param in m.parameters():
                        param.requires_grad = False
        return self
