"""``RGBPoseConv3D`` (MMAction2 1.x, PoseC3D's RGB + pose model): an RGB pathway and a
heatmap pathway exchanging features both ways after the middle stages.

Duan et al., "Revisiting Skeleton-based Action Recognition" (PoseC3D), CVPR 2022,
https://arxiv.org/abs/2104.13586. The pathways are 1.x's ``ResNet3dPathway``, whose lateral
connections generalise 0.x's: ``lateral_activate`` (which stages take one), ``lateral_infl``
(the widening) and ``lateral_inv`` (a transposed conv that *raises* the frame rate, for the
pose pathway, which runs at the higher rate). Keys follow 1.x (``rgb_path.layer2_lateral.conv``,
``pose_path.layer1_lateral.{conv,bn}`` ...).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import ConvModule, kaiming_init
from .resnet3d import ResNet3d
from .resnet3d_slowfast import ResNet3dPathway

__all__ = ['DeConvModule', 'ResNet3dPathwayV1', 'RGBPoseConv3D']


class DeConvModule(nn.Module):
    """Transposed 3D conv (output ``stride`` times the input), BN, ReLU.

    Args:
        in_channels, out_channels (int): channels.
        kernel_size, stride, padding: of the transposed conv.
        bias (bool): conv bias.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Sequence[int],
                 stride: Sequence[int] = (1, 1, 1), padding: Sequence[int] = (0, 0, 0),
                 bias: bool = False) -> None:
        super().__init__()
        self.out_channels, self.stride = out_channels, tuple(stride)
        self.conv = nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride=stride,
                                       padding=padding, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, h, w = x.shape
        size = (n, self.out_channels, self.stride[0] * t, self.stride[1] * h, self.stride[2] * w)
        return self.relu(self.bn(self.conv(x, output_size=size)))


class ResNet3dPathwayV1(ResNet3dPathway):
    """1.x's ``ResNet3dPathway``: :class:`ResNet3dPathway` with per-stage lateral inputs.

    Args:
        depth (int): ResNet depth. Default: 50 (1.x's default).
        pretrained (str | None): Default: None.
        lateral (bool): take lateral inputs from the other pathway.
        lateral_inv (bool): the laterals are :class:`DeConvModule` (frame rate up by
            ``speed_ratio``) instead of strided convs (down).
        lateral_norm (bool): BN and ReLU in the (strided conv) laterals.
        speed_ratio, channel_ratio, fusion_kernel (int): as for :class:`ResNet3dPathway`.
        lateral_infl (int): the lateral's channel factor (1.x's default 2 is 0.x's pathway).
        lateral_activate (sequence of 0/1): stage ``i`` takes a lateral input when set;
            entry 0 is the stem's (``conv1_lateral``).
        **kwargs: :class:`~actionkit.models.backbones.resnet3d.ResNet3d` arguments.
    """

    def __init__(self, depth: int = 50, pretrained: str | None = None, lateral: bool = False,
                 lateral_inv: bool = False, lateral_norm: bool = False, speed_ratio: int = 8,
                 channel_ratio: int = 8, fusion_kernel: int = 5, lateral_infl: int = 2,
                 lateral_activate: Sequence[int] = (1, 1, 1, 1), **kwargs: Any) -> None:
        num_stages = kwargs.get('num_stages', 4)
        if len(lateral_activate) < num_stages:
            raise ValueError(f'ResNet3dPathway: lateral_activate needs one flag per stage '
                             f'({num_stages}), got {tuple(lateral_activate)}')
        self.lateral_v1, self.lateral_inv, self.lateral_infl = lateral, lateral_inv, lateral_infl
        self.lateral_activate = tuple(lateral_activate)
        self._stage = 0
        super().__init__(depth, pretrained, lateral=False, lateral_norm=lateral_norm,
                         speed_ratio=speed_ratio, channel_ratio=channel_ratio,
                         fusion_kernel=fusion_kernel, **kwargs)
        self.lateral = lateral
        if not lateral:
            return
        expansion: int = self.block.expansion  # type: ignore[attr-defined]
        if self.lateral_activate[0]:
            self.conv1_lateral = self._lateral_v1(self.base_channels)
        for i in range(self.num_stages - 1):
            if self.lateral_activate[i + 1]:
                name = f'layer{i + 1}_lateral'
                self.add_module(name, self._lateral_v1(self.base_channels * 2**i * expansion))
                self.lateral_connections.append(name)

    def _lateral_v1(self, channels: int) -> nn.Module:
        """The lateral from the other pathway into a stage whose own input has ``channels``."""
        kernel, pad = (self.fusion_kernel, 1, 1), ((self.fusion_kernel - 1) // 2, 0, 0)
        if self.lateral_inv:
            return DeConvModule(channels * self.channel_ratio,
                                channels * self.channel_ratio // self.lateral_infl, kernel,
                                stride=(self.speed_ratio, 1, 1), padding=pad)
        return ConvModule(
            channels // self.channel_ratio, channels * self.lateral_infl // self.channel_ratio,
            kernel_size=kernel, stride=(self.speed_ratio, 1, 1), padding=pad, bias=False,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg if self.lateral_norm else None,
            act_cfg=self.act_cfg if self.lateral_norm else None)

    def _make_stage(self, i: int, inplanes: int, planes: int, num_blocks: int) -> nn.Sequential:
        self._stage = i
        return super()._make_stage(i, inplanes, planes, num_blocks)

    def _lateral_inplanes(self, inplanes: int) -> int:
        if not (self.lateral_v1 and self.lateral_activate[self._stage]):
            return 0
        if self.lateral_inv:
            return inplanes * self.channel_ratio // self.lateral_infl
        return inplanes * self.lateral_infl // self.channel_ratio

    def init_weights(self, pretrained: str | None = None) -> None:
        """As :class:`ResNet3d`; the strided-conv / transposed-conv laterals Kaiming-init."""
        ResNet3d.init_weights(self, pretrained)  # the 0.x pathway's assumes conv1_lateral
        if isinstance(self.pretrained, str) and not self.pretrained2d:
            return
        for name in ['conv1_lateral'] * hasattr(self, 'conv1_lateral') + \
                self.lateral_connections:
            for module in getattr(self, name).modules():
                if isinstance(module, (nn.Conv3d, nn.ConvTranspose3d)):
                    kaiming_init(module)


_RGB_PATHWAY = dict(num_stages=4, lateral=True, lateral_infl=1, lateral_activate=(0, 0, 1, 1),
                    fusion_kernel=7, base_channels=64, conv1_kernel=(1, 7, 7),
                    inflate=(0, 0, 1, 1), with_pool2=False)
_POSE_PATHWAY = dict(num_stages=3, stage_blocks=(4, 6, 3), lateral=True, lateral_inv=True,
                     lateral_infl=16, lateral_activate=(0, 1, 1), fusion_kernel=7,
                     in_channels=17, base_channels=32, out_indices=(2,), conv1_kernel=(1, 7, 7),
                     conv1_stride_s=1, conv1_stride_t=1, pool1_stride_s=1, pool1_stride_t=1,
                     inflate=(0, 1, 1), spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 1),
                     dilations=(1, 1, 1), with_pool2=False)


@BACKBONES.register_module()
class RGBPoseConv3D(nn.Module):
    """RGB frames ``[N, 3, T, H, W]`` and pose heatmaps ``[N, J, speed_ratio T, H', W']`` to
    ``(rgb features, pose features)``.

    Args:
        pretrained (str | None): a checkpoint of the whole backbone.
        speed_ratio (int): the pose pathway's frame-rate multiple. Default: 4.
        channel_ratio (int): the channel ratio of the laterals. Default: 4.
        rgb_detach, pose_detach (bool): stop gradients through the laterals into the RGB /
            pose pathway's input.
        rgb_drop_path, pose_drop_path (float): in training, the probability of zeroing the
            lateral into the RGB / pose pathway.
        rgb_pathway, pose_pathway (dict): :class:`ResNet3dPathwayV1` arguments (1.x defaults).
    """

    def __init__(self, pretrained: str | None = None, speed_ratio: int = 4,
                 channel_ratio: int = 4, rgb_detach: bool = False, pose_detach: bool = False,
                 rgb_drop_path: float = 0, pose_drop_path: float = 0,
                 rgb_pathway: Mapping[str, Any] = _RGB_PATHWAY,
                 pose_pathway: Mapping[str, Any] = _POSE_PATHWAY) -> None:
        super().__init__()
        for name, rate in (('rgb_drop_path', rgb_drop_path), ('pose_drop_path', pose_drop_path)):
            if not 0 <= rate <= 1:
                raise ValueError(f'RGBPoseConv3D: {name} must be in [0, 1], got {rate!r}')
        self.pretrained, self.speed_ratio, self.channel_ratio = pretrained, speed_ratio, \
            channel_ratio
        ratios = dict(speed_ratio=speed_ratio, channel_ratio=channel_ratio)
        self.rgb_path = ResNet3dPathwayV1(
            **{**rgb_pathway, **(ratios if rgb_pathway.get('lateral') else {})})
        self.pose_path = ResNet3dPathwayV1(
            **{**pose_pathway, **(ratios if pose_pathway.get('lateral') else {})})
        self.rgb_detach, self.pose_detach = rgb_detach, pose_detach
        self.rgb_drop_path, self.pose_drop_path = rgb_drop_path, pose_drop_path

    def init_weights(self) -> None:
        """Load ``pretrained`` (strict), or initialise both pathways."""
        if isinstance(self.pretrained, str):
            from ..weights import load_checkpoint
            load_checkpoint(self, self.pretrained, strict=True)
            return
        if self.pretrained is not None:
            raise TypeError(f'RGBPoseConv3D: pretrained must be a str or None, '
                            f'got {self.pretrained!r}')
        self.rgb_path.init_weights()
        self.pose_path.init_weights()

    @staticmethod
    def _lateral(path: nn.Module, name: str, feat: torch.Tensor, detach: bool,
                 drop: bool) -> torch.Tensor | None:
        """``path``'s lateral ``name`` applied to the other pathway's ``feat`` (None if the
        pathway has no such lateral; zeros when dropped)."""
        if not hasattr(path, name):
            return None
        out = getattr(path, name)(feat.detach() if detach else feat)
        return out.new_zeros(out.shape) if drop else out

    def forward(self, imgs: torch.Tensor, heatmap_imgs: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        drop_rgb = self.training and bool(torch.rand(1) < self.rgb_drop_path)
        drop_pose = self.training and bool(torch.rand(1) < self.pose_drop_path)
        rgb, pose = self.rgb_path, self.pose_path
        x_rgb = rgb.layer2(rgb.layer1(rgb.maxpool(rgb.conv1(imgs))))
        x_pose = pose.layer1(pose.maxpool(pose.conv1(heatmap_imgs)))
        # after rgb stage k (2, 3) and pose stage k - 1, each takes the other's features
        for rgb_stage, pose_stage in ((2, 1), (3, 2)):
            into_rgb = self._lateral(rgb, f'layer{rgb_stage}_lateral', x_pose,
                                     self.rgb_detach, drop_rgb)
            into_pose = self._lateral(pose, f'layer{pose_stage}_lateral', x_rgb,
                                      self.pose_detach, drop_pose)
            if into_rgb is not None:
                x_rgb = torch.cat((x_rgb, into_rgb), dim=1)
            if into_pose is not None:
                x_pose = torch.cat((x_pose, into_pose), dim=1)
            x_rgb = getattr(rgb, f'layer{rgb_stage + 1}')(x_rgb)
            x_pose = getattr(pose, f'layer{pose_stage + 1}')(x_pose)
        return x_rgb, x_pose
