"""SlowOnly: the slow pathway of SlowFast used alone.

Feichtenhofer et al., "SlowFast Networks for Video Recognition", https://arxiv.org/abs/1812.03982.
A ResNet-50 whose first two stages are purely spatial (1x3x3) and whose last two use 3x1x1
temporal kernels; no temporal downsampling, so a 4- or 8-frame clip keeps its length throughout.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..builder import BACKBONES
from .resnet3d_slowfast import ResNet3dPathway

__all__ = ['ResNet3dSlowOnly']


@BACKBONES.register_module()
class ResNet3dSlowOnly(ResNet3dPathway):
    """A :class:`ResNet3dPathway` without lateral connections and with SlowOnly's defaults.

    The arguments are those of :class:`ResNet3dPathway`; the defaults that differ are
    ``conv1_kernel=(1, 7, 7)``, ``inflate=(0, 0, 1, 1)`` and ``with_pool2=False``.
    ``lateral`` must stay False. ``depth=50`` and ``pretrained=None`` are defaults, as in
    MMAction2 1.x (whose PoseC3D ``pose_only`` config gives neither).

    Example:
        >>> import torch
        >>> model = ResNet3dSlowOnly(depth=18, pretrained=None, base_channels=8)
        >>> model(torch.rand(1, 3, 4, 32, 32)).shape
        torch.Size([1, 64, 4, 1, 1])
    """

    def __init__(self, depth: int = 50, pretrained: str | None = None,
                 stage_blocks: Sequence[int] | None = None,
                 pretrained2d: bool = True, in_channels: int = 3, num_stages: int = 4,
                 base_channels: int = 64, out_indices: Sequence[int] = (3,),
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 1, 1, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 conv1_kernel: Sequence[int] = (1, 7, 7), conv1_stride_s: int = 2,
                 conv1_stride_t: int = 1, pool1_stride_s: int = 2, pool1_stride_t: int = 1,
                 with_pool1: bool = True, with_pool2: bool = False, style: str = 'pytorch',
                 frozen_stages: int = -1, inflate: int | Sequence[Any] = (0, 0, 1, 1),
                 inflate_style: str = '3x1x1', conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False,
                 non_local: int | Sequence[Any] = (0, 0, 0, 0),
                 non_local_cfg: Mapping[str, Any] = dict(), zero_init_residual: bool = True,
                 lateral: bool = False, lateral_norm: bool = False, speed_ratio: int = 8,
                 channel_ratio: int = 8, fusion_kernel: int = 5) -> None:
        if lateral:
            raise ValueError('ResNet3dSlowOnly: lateral must be False (SlowOnly has no fast '
                             'pathway); use ResNet3dSlowFast for lateral connections')
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
            zero_init_residual=zero_init_residual, lateral=lateral, lateral_norm=lateral_norm,
            speed_ratio=speed_ratio, channel_ratio=channel_ratio, fusion_kernel=fusion_kernel)
