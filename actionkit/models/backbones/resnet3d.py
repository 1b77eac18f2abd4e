"""ResNet3d: ResNet with 3D convolutions, optionally inflated from a 2D ImageNet ResNet (I3D).

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset",
https://arxiv.org/abs/1705.07750; Hara et al., "Can Spatiotemporal 3D CNNs Retrace the History
of 2D CNNs and ImageNet?", https://arxiv.org/abs/1711.09577.

Module names follow MMAction2 0.x (``conv1.conv``, ``layer1.0.conv2.bn``,
``layer1.0.downsample.conv`` …) so its checkpoints load with ``strict=True``. A 2D ResNet state
dict is inflated here (:meth:`ResNet3d.inflate_weights`); reading a state dict and loading a 3D
one are in :mod:`.weights3d`, shared with the other 3D backbones.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import nn

from ..builder import BACKBONES
from ..layers import ConvModule, build_activation_layer, constant_init, freeze, kaiming_init
from .non_local import NonLocal3d
from .weights3d import load_3d_state_dict, read_state_dict, strip_prefix

__all__ = ['BasicBlock3d', 'Bottleneck3d', 'ResNet3d']

logger = logging.getLogger(__name__)

_STYLES = ('pytorch', 'caffe')
_INFLATE_STYLES = ('3x1x1', '3x3x3')


def _triple(value: int | Sequence[int], name: str) -> tuple[int, int, int]:
    if isinstance(value, int):
        return (value, value, value)
    if len(value) != 3:
        raise ValueError(f'{name} must be an int or a (t, h, w) triple, got {value!r}')
    return tuple(int(v) for v in value)  # type: ignore[return-value]


class BasicBlock3d(nn.Module):
    """Two 3x3(x3) convolutions with a shortcut (ResNet-18/34).

    Args:
        inplanes: input channels.
        planes: output channels (``expansion`` is 1).
        spatial_stride: stride of the first conv in H and W.
        temporal_stride: stride of the first conv in T.
        dilation: spatial dilation of the first conv.
        downsample: the shortcut projection, or ``None`` for identity.
        style: ``'pytorch'`` or ``'caffe'`` (no effect here, kept for config compatibility).
        inflate: 3x3x3 kernels when True, 1x3x3 otherwise.
        inflate_style: accepted for config compatibility; a basic block always uses 3x3x3.
        non_local: append a non-local block after the residual sum.
        non_local_cfg: arguments of ``NonLocal3d``.
        conv_cfg, norm_cfg, act_cfg: layer configs.
        with_cp: use gradient checkpointing for the residual branch.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None,
                 style: str = 'pytorch', inflate: bool = True, inflate_style: str = '3x1x1',
                 non_local: bool = False, non_local_cfg: Mapping[str, Any] = dict(),
                 conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d'),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU'), with_cp: bool = False) -> None:
        super().__init__()
        if style not in _STYLES:
            raise ValueError(f'style must be one of {_STYLES}, got {style!r}')
        self.inplanes, self.planes = inplanes, planes
        self.spatial_stride, self.temporal_stride = spatial_stride, temporal_stride
        self.style, self.inflate, self.with_cp = style, inflate, with_cp
        kt, pt = (3, 1) if inflate else (1, 0)
        self.conv1 = ConvModule(
            inplanes, planes, (kt, 3, 3), stride=(temporal_stride, spatial_stride, spatial_stride),
            padding=(pt, dilation, dilation), dilation=(1, dilation, dilation), bias=False,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(
            planes, planes * self.expansion, (kt, 3, 3), stride=1, padding=(pt, 1, 1),
            bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.downsample = downsample
        self.relu = build_activation_layer(act_cfg)
        self.non_local = non_local
        if non_local:
            self.non_local_block = NonLocal3d(planes * self.expansion, **dict(non_local_cfg))

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        out = self.relu(out)
        if self.non_local:
            out = self.non_local_block(out)
        return out


class Bottleneck3d(nn.Module):
    """1x1, 3x3, 1x1 convolutions with a shortcut (ResNet-50 and deeper).

    Args:
        inplanes: input channels.
        planes: bottleneck channels; the output has ``planes * 4``.
        spatial_stride: spatial stride, on conv2 (``'pytorch'`` style) or conv1 (``'caffe'``).
        temporal_stride: temporal stride, on the same conv as the spatial one.
        dilation: spatial dilation of conv2.
        downsample: the shortcut projection, or ``None`` for identity.
        style: ``'pytorch'`` or ``'caffe'``.
        inflate: whether this block has a temporal kernel of 3.
        inflate_style: ``'3x1x1'`` puts it on conv1 (3x1x1, then 1x3x3), ``'3x3x3'`` on conv2.
        non_local: append a non-local block after the residual sum.
        non_local_cfg: arguments of ``NonLocal3d``.
        conv_cfg, norm_cfg, act_cfg: layer configs.
        with_cp: use gradient checkpointing for the residual branch.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1,
                 temporal_stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None,
                 style: str = 'pytorch', inflate: bool = True, inflate_style: str = '3x1x1',
                 non_local: bool = False, non_local_cfg: Mapping[str, Any] = dict(),
                 conv_cfg: Mapping[str, Any] = dict(type='Conv3d'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN3d'),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU'), with_cp: bool = False) -> None:
        super().__init__()
        if style not in _STYLES:
            raise ValueError(f'style must be one of {_STYLES}, got {style!r}')
        if inflate_style not in _INFLATE_STYLES:
            raise ValueError(f'inflate_style must be one of {_INFLATE_STYLES}, '
                             f'got {inflate_style!r}')
        self.inplanes, self.planes = inplanes, planes
        self.spatial_stride, self.temporal_stride = spatial_stride, temporal_stride
        self.style, self.inflate, self.inflate_style = style, inflate, inflate_style
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.with_cp = with_cp
        stride = (temporal_stride, spatial_stride, spatial_stride)
        stride1, stride2 = ((1, 1, 1), stride) if style == 'pytorch' else (stride, (1, 1, 1))
        kt1, kt2 = 1, 1
        if inflate:
            kt1, kt2 = (3, 1) if inflate_style == '3x1x1' else (1, 3)
        self.conv1 = ConvModule(
            inplanes, planes, (kt1, 1, 1), stride=stride1, padding=(kt1 // 2, 0, 0), bias=False,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(
            planes, planes, (kt2, 3, 3), stride=stride2, padding=(kt2 // 2, dilation, dilation),
            dilation=(1, dilation, dilation), bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv3 = ConvModule(
            planes, planes * self.expansion, 1, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=None)
        self.downsample = downsample
        self.relu = build_activation_layer(act_cfg)
        self.non_local = non_local
        if non_local:
            self.non_local_block = NonLocal3d(planes * self.expansion, **dict(non_local_cfg))

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x))) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        out = self.relu(out)
        if self.non_local:
            out = self.non_local_block(out)
        return out


def _per_block(value: int | Sequence[int], blocks: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * blocks
    if len(value) != blocks:
        raise ValueError(f'{name} has {len(value)} entries for a stage of {blocks} blocks: '
                         f'{tuple(value)}')
    return tuple(int(v) for v in value)


def make_res_layer(block: Callable[..., nn.Module], inplanes: int, planes: int, blocks: int,
                   spatial_stride: int = 1, temporal_stride: int = 1, dilation: int = 1,
                   style: str = 'pytorch', inflate: int | Sequence[int] = 1,
                   inflate_style: str = '3x1x1', non_local: int | Sequence[int] = 0,
                   non_local_cfg: Mapping[str, Any] = dict(),
                   conv_cfg: Mapping[str, Any] | None = None,
                   norm_cfg: Mapping[str, Any] | None = None,
                   act_cfg: Mapping[str, Any] | None = None, with_cp: bool = False,
                   lateral_inplanes: int = 0, expansion: int | None = None) -> nn.Sequential:
    """Build one stage: ``blocks`` residual blocks, the first one strided.

    Args:
        block: the block class (or a ``functools.partial`` of one; then give ``expansion``).
        inplanes: channels entering the stage (not counting ``lateral_inplanes``).
        planes: bottleneck channels; the stage outputs ``planes * expansion``.
        blocks: number of blocks.
        spatial_stride, temporal_stride, dilation, style, inflate_style: see the blocks.
        inflate: per stage (int) or per block (sequence of 0/1).
        non_local: per stage (int) or per block (sequence of 0/1).
        non_local_cfg, conv_cfg, norm_cfg, act_cfg, with_cp: passed to every block.
        lateral_inplanes: extra input channels concatenated by a SlowFast lateral connection.
        expansion: the block's channel expansion; defaults to ``block.expansion``.

    Returns:
        nn.Sequential: the blocks, named ``0``, ``1`` … as in MMAction2 checkpoints.
    """
    expansion = block.expansion if expansion is None else expansion  # type: ignore[attr-defined]
    inflate = _per_block(inflate, blocks, 'inflate')
    non_local = _per_block(non_local, blocks, 'non_local')
    common = dict(style=style, inflate_style=inflate_style, non_local_cfg=non_local_cfg,
                  conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp)
    in_channels = inplanes + lateral_inplanes
    downsample = None
    if spatial_stride != 1 or in_channels != planes * expansion:
        downsample = ConvModule(
            in_channels, planes * expansion, 1,
            stride=(temporal_stride, spatial_stride, spatial_stride), bias=False,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
    layers = [block(in_channels, planes, spatial_stride=spatial_stride,
                    temporal_stride=temporal_stride, dilation=dilation, downsample=downsample,
                    inflate=inflate[0] == 1, non_local=non_local[0] == 1, **common)]
    for i in range(1, blocks):
        layers.append(block(planes * expansion, planes, spatial_stride=1, temporal_stride=1,
                            dilation=dilation, inflate=inflate[i] == 1,
                            non_local=non_local[i] == 1, **common))
    return nn.Sequential(*layers)


def _check_args(name: str, arch_settings: Mapping[int, Any], depth: int, pretrained: Any,
                num_stages: int, per_stage: Mapping[str, Sequence[int]],
                out_indices: Sequence[int], style: str, inflate_style: str) -> None:
    """Raise ``ValueError``/``TypeError`` naming the first invalid ResNet3d argument."""
    if depth not in arch_settings:
        raise ValueError(f'{name}: depth must be one of {sorted(arch_settings)}, got {depth!r}')
    if pretrained is not None and not isinstance(pretrained, str):
        raise TypeError(f'{name}: pretrained must be a str or None, got {pretrained!r}')
    if not 1 <= num_stages <= 4:
        raise ValueError(f'{name}: num_stages must be in 1..4, got {num_stages}')
    for arg, value in per_stage.items():
        if len(value) != num_stages:
            raise ValueError(f'{name}: {arg} needs one entry per stage ({num_stages}), '
                             f'got {tuple(value)}')
    if not out_indices or max(out_indices) >= num_stages or min(out_indices) < 0:
        raise ValueError(f'{name}: out_indices must be stage indices in 0..{num_stages - 1}, '
                         f'got {tuple(out_indices)}')
    if style not in _STYLES:
        raise ValueError(f'{name}: style must be one of {_STYLES}, got {style!r}')
    if inflate_style not in _INFLATE_STYLES:
        raise ValueError(f'{name}: inflate_style must be one of {_INFLATE_STYLES}, '
                         f'got {inflate_style!r}')


@BACKBONES.register_module()
class ResNet3d(nn.Module):
    """ResNet with 3D convolutions (the I3D / SlowOnly / CSN / R(2+1)D family's base).

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: a checkpoint (local path, ``torchvision://resnet50``, or a URL found in the
            torch hub cache), or ``None`` to initialise from scratch in ``init_weights``.
        stage_blocks: blocks per stage, overriding the depth's (e.g. ``(1, 1, 1, 1)`` for a tiny
            model); the block type still comes from ``depth``.
        pretrained2d: ``pretrained`` is a 2D ResNet whose weights are inflated (repeated over
            time and divided by the temporal kernel size).
        in_channels: input channels (3 for RGB, 2 for flow).
        num_stages: 1 to 4.
        base_channels: channels of the stem; stage ``i`` has ``base_channels * 2**i`` planes.
        out_indices: stages whose output is returned (a tuple when more than one).
        spatial_strides, temporal_strides, dilations: per stage.
        conv1_kernel: (t, h, w) kernel of the stem conv.
        conv1_stride_s, conv1_stride_t: stem conv strides.
        pool1_stride_s, pool1_stride_t: stem max-pool strides.
        with_pool1: use the stem max-pool.
        with_pool2: halve T with a (2, 1, 1) max-pool after the first stage.
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (on the first 1x1).
        frozen_stages: freeze the stem and stages ``1..frozen_stages`` (-1: nothing).
        inflate: per stage, an int or a per-block tuple of 0/1: which blocks get 3-frame kernels.
        inflate_style: ``'3x1x1'`` or ``'3x3x3'`` (see :class:`Bottleneck3d`).
        conv_cfg, norm_cfg, act_cfg: layer configs.
        norm_eval: keep BN layers in eval mode while training.
        with_cp: gradient checkpointing in every block.
        non_local: per stage, an int or a per-block tuple of 0/1.
        non_local_cfg: arguments of ``NonLocal3d``.
        zero_init_residual: zero the last BN of each block in ``init_weights``.

    Example:
        >>> model = ResNet3d(depth=18, pretrained=None, base_channels=8)
        >>> model.init_weights()
        >>> model(torch.rand(1, 3, 8, 32, 32)).shape
        torch.Size([1, 64, 4, 1, 1])
    """

    arch_settings: dict[int, tuple[type[nn.Module], tuple[int, ...]]] = {
        18: (BasicBlock3d, (2, 2, 2, 2)),
        34: (BasicBlock3d, (3, 4, 6, 3)),
        50: (Bottleneck3d, (3, 4, 6, 3)),
        101: (Bottleneck3d, (3, 4, 23, 3)),
        152: (Bottleneck3d, (3, 8, 36, 3)),
    }

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
                 non_local_cfg: Mapping[str, Any] = dict(),
                 zero_init_residual: bool = True) -> None:
        super().__init__()
        _check_args(type(self).__name__, self.arch_settings, depth, pretrained, num_stages,
                    dict(spatial_strides=spatial_strides, temporal_strides=temporal_strides,
                         dilations=dilations), out_indices, style, inflate_style)
        self.block, default_blocks = self.arch_settings[depth]
        if stage_blocks is None:
            stage_blocks = default_blocks[:num_stages]
        if len(stage_blocks) != num_stages:
            raise ValueError(f'{type(self).__name__}: stage_blocks needs one entry per stage '
                             f'({num_stages}), got {tuple(stage_blocks)}')
        self.depth, self.pretrained, self.pretrained2d = depth, pretrained, pretrained2d
        self.in_channels, self.base_channels = in_channels, base_channels
        self.num_stages = num_stages
        self.stage_blocks = tuple(stage_blocks)
        self.out_indices = tuple(out_indices)
        self.spatial_strides = tuple(spatial_strides)
        self.temporal_strides = tuple(temporal_strides)
        self.dilations = tuple(dilations)
        self.conv1_kernel = _triple(conv1_kernel, 'conv1_kernel')
        self.conv1_stride_s, self.conv1_stride_t = conv1_stride_s, conv1_stride_t
        self.pool1_stride_s, self.pool1_stride_t = pool1_stride_s, pool1_stride_t
        self.with_pool1, self.with_pool2 = with_pool1, with_pool2
        self.style, self.frozen_stages = style, frozen_stages
        self.stage_inflations = self._per_stage(inflate, 'inflate')
        self.non_local_stages = self._per_stage(non_local, 'non_local')
        self.inflate_style = inflate_style
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.non_local_cfg = non_local_cfg
        self.zero_init_residual = zero_init_residual

        self._make_stem_layer()
        self.res_layers: list[str] = []
        inplanes = base_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            layer = self._make_stage(i, inplanes, planes, num_blocks)
            inplanes = planes * self.block.expansion  # type: ignore[attr-defined]
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        expansion: int = self.block.expansion  # type: ignore[attr-defined]
        self.feat_dim = expansion * base_channels * 2**(len(self.stage_blocks) - 1)
        self.min_frames = self._min_frames()

    def _per_stage(self, value: int | Sequence[Any], name: str) -> tuple[Any, ...]:
        """One entry per built stage. Entries past ``num_stages`` are ignored, as MMAction2
        does (its 3-stage PoseC3D configs keep the 4-stage ``non_local=(0, 0, 0, 0)``)."""
        if isinstance(value, int):
            return (value,) * self.num_stages
        if len(value) < self.num_stages:
            raise ValueError(f'{type(self).__name__}: {name} needs one entry per stage '
                             f'({self.num_stages}), got {tuple(value)}')
        return tuple(value)[:self.num_stages]

    def _lateral_inplanes(self, inplanes: int) -> int:
        """Channels a lateral connection adds to a stage's input (none in a plain ResNet3d)."""
        return 0

    def _make_stage(self, i: int, inplanes: int, planes: int, num_blocks: int) -> nn.Sequential:
        return make_res_layer(
            self.block, inplanes, planes, num_blocks, spatial_stride=self.spatial_strides[i],
            temporal_stride=self.temporal_strides[i], dilation=self.dilations[i],
            style=self.style, inflate=self.stage_inflations[i], inflate_style=self.inflate_style,
            non_local=self.non_local_stages[i], non_local_cfg=self.non_local_cfg,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
            with_cp=self.with_cp, lateral_inplanes=self._lateral_inplanes(inplanes))

    def _make_stem_layer(self) -> None:
        self.conv1 = ConvModule(
            self.in_channels, self.base_channels, self.conv1_kernel,
            stride=(self.conv1_stride_t, self.conv1_stride_s, self.conv1_stride_s),
            padding=tuple((k - 1) // 2 for k in self.conv1_kernel), bias=False,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.maxpool = nn.MaxPool3d(
            kernel_size=(1, 3, 3), stride=(self.pool1_stride_t, self.pool1_stride_s,
                                           self.pool1_stride_s), padding=(0, 1, 1))
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

    def _temporal_steps(self) -> list[tuple[int, int, int]]:
        """(kernel, stride, padding) along T of every step that changes T, in order."""
        kt = self.conv1_kernel[0]
        steps = [(kt, self.conv1_stride_t, (kt - 1) // 2)]
        if self.with_pool1:
            steps.append((1, self.pool1_stride_t, 0))
        for i, stride in enumerate(self.temporal_strides):
            steps.append((1, stride, 0))  # a strided conv with "same" padding: ceil(T / stride)
            if i == 0 and self.with_pool2:
                steps.append((2, 2, 0))
        return steps

    def _min_frames(self) -> int:
        steps = self._temporal_steps()
        for frames in range(1, 4097):
            t = frames
            for kernel, stride, pad in steps:
                t = (t + 2 * pad - kernel) // stride + 1
                if t < 1:
                    break
            else:
                return frames
        raise ValueError(f'{type(self).__name__}: no clip length up to 4096 frames fits the '
                         f'temporal strides {steps}')

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is ``[N, in_channels, T >= min_frames, H, W]``."""
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] < self.min_frames:
            raise ValueError(
                f'{type(self).__name__} takes (N, C, T, H, W) with C = {self.in_channels} and '
                f'T >= {self.min_frames}; got shape {tuple(x.shape)}')

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args: x ``[N, C, T, H, W]``. Returns the ``out_indices`` stages' features."""
        self.check_input(x)
        x = self.conv1(x)
        if self.with_pool1:
            x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i == 0 and self.with_pool2:
                x = self.pool2(x)
            if i in self.out_indices:
                outs.append(x)  # [N, C_i, T_i, H_i, W_i]
        return outs[0] if len(outs) == 1 else tuple(outs)

    # ---------------------------------------------------------------- weights
    def init_weights(self, pretrained: str | None = None) -> None:
        """Load ``pretrained`` (inflating it when ``pretrained2d``), or initialise from scratch.

        From scratch: Kaiming-normal convs, unit BN, and the last BN of each block zeroed when
        ``zero_init_residual``.
        """
        if pretrained:
            self.pretrained = pretrained
        if isinstance(self.pretrained, str):
            logger.info('%s: loading %s', type(self).__name__, self.pretrained)
            if self.pretrained2d:
                self.inflate_weights(read_state_dict(self.pretrained))
            else:
                load_3d_state_dict(self, self.pretrained)
        elif self.pretrained is None:
            for m in self.modules():
                if isinstance(m, nn.Conv3d):
                    kaiming_init(m)
                elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                    constant_init(m, 1)
            if self.zero_init_residual:
                for m in self.modules():
                    if isinstance(m, Bottleneck3d):
                        constant_init(m.conv3.bn, 0)
                    elif isinstance(m, BasicBlock3d):
                        constant_init(m.conv2.bn, 0)
        else:
            raise TypeError(f'{type(self).__name__}: pretrained must be a str or None, '
                            f'got {self.pretrained!r}')

    def _inflation_skips(self, name: str) -> bool:
        """Modules left out of 2D inflation (the lateral connections of a pathway)."""
        return False

    def inflate_weights(self, state_dict_2d: Mapping[str, torch.Tensor]) -> None:
        """Copy a 2D ResNet's weights into this model, inflating convs over time.

        Accepts torchvision's layout (``layer1.0.conv1.weight``, ``layer1.0.bn1.*``,
        ``downsample.0/1``) and MMAction2's 2D layout (``conv1.conv.weight``, ``conv1.bn.*``),
        with or without a ``backbone.`` prefix. A 2D conv weight ``[O, I, h, w]`` becomes
        ``[O, I, t, h, w]`` repeated over ``t`` and divided by ``t``; BN layers are copied.
        """
        sd = strip_prefix(state_dict_2d, 'backbone.')
        loaded: set[str] = set()
        for name, module in self.named_modules():
            if not isinstance(module, ConvModule) or self._inflation_skips(name):
                continue
            if name.endswith('downsample'):
                conv_names, bn_names = [name + '.0', name + '.conv'], [name + '.1', name + '.bn']
            else:
                conv_names = [name, name + '.conv']
                bn_names = [name.replace('conv', 'bn'), name + '.bn']
            conv_2d = next((n for n in conv_names if n + '.weight' in sd), None)
            if conv_2d is None:
                logger.warning('inflate: no 2D weight for %s (looked for %s)', name, conv_names)
            else:
                self._inflate_conv(module.conv, sd, conv_2d, loaded)
            bn_2d = next((n for n in bn_names if n + '.weight' in sd), None)
            if module.norm is not None and bn_2d is not None:
                _copy_norm(module.norm, sd, bn_2d, loaded)
            elif module.norm is not None:
                logger.warning('inflate: no 2D norm for %s (looked for %s)', name, bn_names)
        left = sorted(set(sd) - loaded)
        if left:
            logger.info('inflate: 2D parameters not used: %s', left)

    def _inflate_conv(self, conv3d: nn.Module, sd: Mapping[str, torch.Tensor], name_2d: str,
                      loaded: set[str]) -> None:
        weight_2d = sd[name_2d + '.weight']
        shape_3d = conv3d.weight.shape
        if weight_2d.dim() != 4:
            raise ValueError(f'inflate: {name_2d}.weight has shape {tuple(weight_2d.shape)}; a 2D '
                             f'conv weight [O, I, h, w] was expected for {tuple(shape_3d)}. '
                             'For a 3D checkpoint set pretrained2d=False')
        if weight_2d.shape[1] < shape_3d[1] and self._pads_lateral_inputs():
            pad = weight_2d.new_zeros((weight_2d.shape[0], shape_3d[1] - weight_2d.shape[1],
                                       *weight_2d.shape[2:]))
            weight_2d = torch.cat((weight_2d, pad), dim=1)
        if tuple(weight_2d.shape) != tuple(shape_3d[:2]) + tuple(shape_3d[3:]):
            logger.warning('inflate: %s.weight has shape %s, not compatible with %s; not loaded',
                           name_2d, tuple(sd[name_2d + '.weight'].shape), tuple(shape_3d))
            return
        kernel_t = shape_3d[2]
        with torch.no_grad():
            conv3d.weight.copy_(weight_2d.unsqueeze(2).expand(shape_3d) / kernel_t)
            if conv3d.bias is not None and name_2d + '.bias' in sd:
                conv3d.bias.copy_(sd[name_2d + '.bias'])
                loaded.add(name_2d + '.bias')
        loaded.add(name_2d + '.weight')

    def _pads_lateral_inputs(self) -> bool:
        """Zero-pad 2D weights for extra (lateral) input channels; only pathways do."""
        return False

    # ---------------------------------------------------------------- train mode
    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            freeze(self.conv1)
        freeze(*(getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)))

    def train(self, mode: bool = True) -> 'ResNet3d':
        """Switch mode, keeping frozen stages (and all BN with ``norm_eval``) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


# -------------------------------------------------------------------- checkpoint helpers
def _copy_norm(norm: nn.Module, sd: Mapping[str, torch.Tensor], name_2d: str,
               loaded: set[str]) -> None:
    for key, tensor in list(norm.named_parameters()) + list(norm.named_buffers()):
        source = sd.get(f'{name_2d}.{key}')
        if source is None:
            continue  # e.g. num_batches_tracked in old checkpoints
        if source.shape != tensor.shape:
            logger.warning('inflate: %s.%s has shape %s, expected %s; not loaded', name_2d, key,
                           tuple(source.shape), tuple(tensor.shape))
            return
        with torch.no_grad():
            tensor.copy_(source)
        loaded.add(f'{name_2d}.{key}')
