"""SlowFast: a slow, wide pathway and a fast, thin one, joined by lateral connections.

Feichtenhofer et al., "SlowFast Networks for Video Recognition", https://arxiv.org/abs/1812.03982.

The slow pathway sees every ``resample_rate``-th frame; the fast one sees ``speed_ratio`` times
more frames with ``1 / channel_ratio`` of the channels. After the stem and each stage but the
last, a time-strided conv (``conv1_lateral``, ``layer{i}_lateral``) maps fast features onto the
slow pathway's time axis, and they are concatenated to the slow features. Module names are
MMAction2 0.x's (``slow_path.conv1_lateral.conv.weight``, ``fast_path.layer1.0.conv1.conv.weight``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import ConvModule, freeze, kaiming_init
from .resnet3d import ResNet3d
from .weights3d import load_3d_state_dict

__all__ = ['ResNet3dPathway', 'ResNet3dSlowFast']


class ResNet3dPathway(ResNet3d):
    """One pathway of SlowFast: a :class:`ResNet3d` that may take lateral inputs.

    Args:
        depth … zero_init_residual: as for :class:`ResNet3d`.
        lateral: receive lateral connections from the other (faster) pathway.
        lateral_norm: add BN and activation to the lateral convs.
        speed_ratio: the other pathway's frame-rate multiple (the paper's alpha), the
            temporal stride of the lateral convs.
        channel_ratio: the other pathway's channel divisor (the paper's 1 / beta).
        fusion_kernel: temporal kernel size of the lateral convs.
    """

    def __init__(self, depth: int, pretrained: str | None,
                 stage_blocks: Sequence[int] | None = None,
                 pretrained2d: bool = True, in_channels: int = 3, num_stages: int = 4,
                 base_channels: int = 64, out_indices: Sequence[int] = (3,),
                 spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 1, 1, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 conv1_kernel: Sequence[int] = (3, 7, 7), conv1_stride_s: int = 2,
                 conv1_stride_t: int = 1, pool1_stride_s: int = 2, pool1_stride_t: int = 1,
                 with_pool1: bool = True, with_pool2: bool = True, style: str = 'pytorch',
                 frozen_stages: int = -1, inflate: int | Sequence[Any] = (1, 1, 1, 1),
                 inflate_style: str = '3x1x1', conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False,
                 non_local: int | Sequence[Any] = (0, 0, 0, 0),
                 non_local_cfg: Mapping[str, Any] = dict(), zero_init_residual: bool = True,
                 lateral: bool = False, lateral_norm: bool = False, speed_ratio: int = 8,
                 channel_ratio: int = 8, fusion_kernel: int = 5) -> None:
        for arg, value in (('speed_ratio', speed_ratio), ('channel_ratio', channel_ratio),
                           ('fusion_kernel', fusion_kernel)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{type(self).__name__}: {arg} must be a positive int, '
                                 f'got {value!r}')
        # Plain attributes may be set before nn.Module.__init__; the stages built there
        # read them through _lateral_inplanes.
        self.lateral, self.lateral_norm = lateral, lateral_norm
        self.speed_ratio, self.channel_ratio = speed_ratio, channel_ratio
        self.fusion_kernel = fusion_kernel
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
        self.lateral_connections: list[str] = []
        if not lateral:
            return
        self.conv1_lateral = self._lateral_conv(self.base_channels)
        for i in range(self.num_stages - 1):  # no lateral after the last stage
            expansion: int = self.block.expansion  # type: ignore[attr-defined]
            channels = self.base_channels * 2**i * expansion
            self.add_module(f'layer{i + 1}_lateral', self._lateral_conv(channels))
            self.lateral_connections.append(f'layer{i + 1}_lateral')

    def _lateral_conv(self, slow_channels: int) -> ConvModule:
        # The paper's third fusion type: a time-strided conv with 2 * beta * C outputs.
        return ConvModule(
            slow_channels // self.channel_ratio, slow_channels * 2 // self.channel_ratio,
            kernel_size=(self.fusion_kernel, 1, 1), stride=(self.speed_ratio, 1, 1),
            padding=((self.fusion_kernel - 1) // 2, 0, 0), bias=False, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg if self.lateral_norm else None,
            act_cfg=self.act_cfg if self.lateral_norm else None)

    def _lateral_inplanes(self, inplanes: int) -> int:
        return inplanes * 2 // self.channel_ratio if self.lateral else 0

    def _inflation_skips(self, name: str) -> bool:
        return 'lateral' in name

    def _pads_lateral_inputs(self) -> bool:
        return True

    def init_weights(self, pretrained: str | None = None) -> None:
        """As :meth:`ResNet3d.init_weights`; lateral convs get Kaiming init unless loaded."""
        super().init_weights(pretrained)
        if isinstance(self.pretrained, str) and not self.pretrained2d:
            return  # a 3D checkpoint holds the lateral convs too
        for name in ['conv1_lateral'] * self.lateral + self.lateral_connections:
            for m in getattr(self, name).modules():
                if isinstance(m, (nn.Conv3d, nn.Conv2d)):
                    kaiming_init(m)

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        for i in range(1, self.frozen_stages + 1):
            if self.lateral and i <= len(self.lateral_connections):
                freeze(getattr(self, self.lateral_connections[i - 1]))


_PATHWAYS = {'resnet3d': ResNet3dPathway, 'ResNet3dPathway': ResNet3dPathway}


def build_pathway(cfg: Mapping[str, Any], **overrides: Any) -> ResNet3dPathway:
    """Build a pathway from ``dict(type='resnet3d', ...)``; ``overrides`` win over ``cfg``."""
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise TypeError(f'a pathway config must be a dict with a "type" key, got {cfg!r}')
    args = {**cfg, **overrides}
    kind = args.pop('type')
    if kind not in _PATHWAYS:
        raise KeyError(f'unknown pathway type {kind!r}; expected one of {sorted(_PATHWAYS)}')
    return _PATHWAYS[kind](**args)


_SLOW_DEFAULT = dict(type='resnet3d', depth=50, pretrained=None, lateral=True,
                     conv1_kernel=(1, 7, 7), dilations=(1, 1, 1, 1), conv1_stride_t=1,
                     pool1_stride_t=1, inflate=(0, 0, 1, 1))
_FAST_DEFAULT = dict(type='resnet3d', depth=50, pretrained=None, lateral=False,
                     base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1)


@BACKBONES.register_module()
class ResNet3dSlowFast(nn.Module):
    """The SlowFast backbone: returns ``(slow_features, fast_features)``.

    Args:
        pretrained: a SlowFast checkpoint to load strictly in ``init_weights`` (local path or
            hub-cache URL), or ``None`` to initialise each pathway by its own config.
        resample_rate: the slow pathway keeps one frame out of ``resample_rate`` (tau).
        speed_ratio: the fast pathway keeps ``speed_ratio`` times more frames (alpha).
        channel_ratio: the fast pathway has ``1 / channel_ratio`` of the channels (1 / beta).
        slow_pathway: config of the slow :class:`ResNet3dPathway` (``type='resnet3d'``);
            with ``lateral=True`` it gets this model's ``speed_ratio`` and ``channel_ratio``.
        fast_pathway: config of the fast pathway.

    Example:
        >>> model = ResNet3dSlowFast(None, slow_pathway=dict(
        ...     type='resnet3d', depth=18, pretrained=None, lateral=True, base_channels=16,
        ...     conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1)), fast_pathway=dict(
        ...     type='resnet3d', depth=18, pretrained=None, lateral=False, base_channels=2,
        ...     conv1_kernel=(5, 7, 7)))
        >>> [f.shape for f in model(torch.rand(1, 3, 16, 32, 32))]
        [torch.Size([1, 128, 2, 1, 1]), torch.Size([1, 16, 16, 1, 1])]
    """

    def __init__(self, pretrained: str | None, resample_rate: int = 8, speed_ratio: int = 8,
                 channel_ratio: int = 8, slow_pathway: Mapping[str, Any] = _SLOW_DEFAULT,
                 fast_pathway: Mapping[str, Any] = _FAST_DEFAULT) -> None:
        super().__init__()
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'ResNet3dSlowFast: pretrained must be a str or None, '
                            f'got {pretrained!r}')
        for arg, value in (('resample_rate', resample_rate), ('speed_ratio', speed_ratio),
                           ('channel_ratio', channel_ratio)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'ResNet3dSlowFast: {arg} must be a positive int, got {value!r}')
        if resample_rate % speed_ratio:
            raise ValueError(f'ResNet3dSlowFast: resample_rate ({resample_rate}) must be a '
                             f'multiple of speed_ratio ({speed_ratio})')
        self.pretrained = pretrained
        self.resample_rate, self.speed_ratio = resample_rate, speed_ratio
        self.channel_ratio = channel_ratio
        slow_overrides = {}
        if slow_pathway.get('lateral', False):
            slow_overrides = dict(speed_ratio=speed_ratio, channel_ratio=channel_ratio)
        self.slow_path = build_pathway(slow_pathway, **slow_overrides)
        self.fast_path = build_pathway(fast_pathway)
        if self.slow_path.num_stages != self.fast_path.num_stages:
            raise ValueError(f'ResNet3dSlowFast: the pathways have {self.slow_path.num_stages} '
                             f'and {self.fast_path.num_stages} stages; they must match')

    def init_weights(self, pretrained: str | None = None) -> None:
        """Load ``pretrained`` strictly, or initialise each pathway on its own."""
        if pretrained:
            self.pretrained = pretrained
        if isinstance(self.pretrained, str):
            load_3d_state_dict(self, self.pretrained, strict=True)
        elif self.pretrained is None:
            self.fast_path.init_weights()
            self.slow_path.init_weights()
        else:
            raise TypeError(f'ResNet3dSlowFast: pretrained must be a str or None, '
                            f'got {self.pretrained!r}')

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``[N, C, T, H, W]`` with T a multiple of tau."""
        rate = self.resample_rate
        if (x.dim() != 5 or x.shape[1] != self.slow_path.in_channels or x.shape[2] < rate
                or x.shape[2] % rate):
            raise ValueError(
                f'ResNet3dSlowFast takes (N, C, T, H, W) with C = {self.slow_path.in_channels} '
                f'and T a positive multiple of resample_rate={rate}; got shape {tuple(x.shape)}')

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x ``[N, C, T, H, W]``. Returns (slow ``[N, C_s, T/tau, h, w]``, fast
        ``[N, C_f, T*alpha/tau, h, w]``)."""
        self.check_input(x)
        slow, fast = self.slow_path, self.fast_path
        x_slow = nn.functional.interpolate(
            x, mode='nearest', scale_factor=(1.0 / self.resample_rate, 1.0, 1.0))
        x_slow = slow.maxpool(slow.conv1(x_slow))
        x_fast = nn.functional.interpolate(
            x, mode='nearest',
            scale_factor=(1.0 / (self.resample_rate // self.speed_ratio), 1.0, 1.0))
        x_fast = fast.maxpool(fast.conv1(x_fast))
        if slow.lateral:
            x_slow = torch.cat((x_slow, slow.conv1_lateral(x_fast)), dim=1)
        for i, layer_name in enumerate(slow.res_layers):
            x_slow = getattr(slow, layer_name)(x_slow)
            x_fast = getattr(fast, layer_name)(x_fast)
            if slow.lateral and i != len(slow.res_layers) - 1:
                lateral = getattr(slow, slow.lateral_connections[i])
                x_slow = torch.cat((x_slow, lateral(x_fast)), dim=1)
        return x_slow, x_fast
