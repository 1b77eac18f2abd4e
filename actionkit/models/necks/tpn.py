"""The Temporal Pyramid Network neck (TPN), https://arxiv.org/abs/2004.03548.

TPN takes the features of several backbone stages (e.g. ``layer3`` and ``layer4`` of a
SlowOnly or TSM ResNet-50, ``[N, C_i, T, H_i, W_i]``) and

1. brings them to the top stage's spatial size and channels (:class:`SpatialModulation`),
2. pools each one in time at its own rate (:class:`TemporalModulation`),
3. fuses them top-down and bottom-up (:class:`LevelFusion` after adding upsampled /
   downsampled neighbours; 'cascade' runs bottom-up on the top-down sums, 'parallel' on the
   modulated features),
4. concatenates the two fusions and mixes them with a 1x1x1 conv (``pyramid_fusion``).

An optional auxiliary head (:class:`AuxHead`) classifies the second-to-last stage in
training and adds ``loss_aux`` to the losses. Module names follow MMAction2 0.x so its
checkpoints load with ``strict=True``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import LOSSES, NECKS
from ..layers import ConvModule, constant_init, normal_init, xavier_init

__all__ = ['Identity', 'DownSample', 'LevelFusion', 'SpatialModulation', 'AuxHead',
           'TemporalModulation', 'TPN']

_BN3D = dict(type='BN3d', requires_grad=True)
_CONV3D = dict(type='Conv3d')
_RELU = dict(type='ReLU', inplace=True)
_FLOW_TYPES = ('cascade', 'parallel')
_POSITIONS = ('before', 'after')


class Identity(nn.Module):
    """Return the input unchanged (a stage already at the top stage's size)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class DownSample(nn.Module):
    """A conv and a max pool (kernel = stride = ``downsample_scale``, ceil mode), in either order.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size, stride, padding, groups, bias, conv_cfg, norm_cfg, act_cfg: of the
            :class:`ConvModule`. Defaults: (3, 1, 1), (1, 1, 1), (1, 0, 0), 1, False,
            ``dict(type='Conv3d')``, None, None.
        downsample_position (str): 'before' (pool, then conv) or 'after'. Default: 'after'.
        downsample_scale (int | tuple[int]): the pool's kernel and stride. Default: (1, 2, 2).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int | tuple[int, ...] = (3, 1, 1),
                 stride: int | tuple[int, ...] = (1, 1, 1),
                 padding: int | tuple[int, ...] = (1, 0, 0), groups: int = 1,
                 bias: bool | str = False, conv_cfg: Mapping[str, Any] | None = _CONV3D,
                 norm_cfg: Mapping[str, Any] | None = None,
                 act_cfg: Mapping[str, Any] | None = None,
                 downsample_position: str = 'after',
                 downsample_scale: int | tuple[int, ...] = (1, 2, 2)) -> None:
        super().__init__()
        if downsample_position not in _POSITIONS:
            raise ValueError(f"DownSample: downsample_position must be 'before' or 'after', "
                             f'got {downsample_position!r}')
        self.conv = ConvModule(in_channels, out_channels, kernel_size, stride, padding,
                               groups=groups, bias=bias, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                               act_cfg=act_cfg)
        self.downsample_position = downsample_position
        self.pool = nn.MaxPool3d(downsample_scale, downsample_scale, (0, 0, 0), ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample_position == 'before':
            return self.conv(self.pool(x))
        return self.pool(self.conv(x))


class LevelFusion(nn.Module):
    """Bring each level to ``mid_channels`` (grouped 1x1x1 conv after a pool), concatenate,
    and fuse with a 1x1x1 conv to ``out_channels``.

    Args:
        in_channels (tuple[int]): channels of each level.
        mid_channels (tuple[int]): channels of each level after its downsample.
        out_channels (int): output channels.
        downsample_scales (tuple): the pool scale of each level. Default:
            ``((1, 1, 1), (1, 1, 1))``.
    """

    def __init__(self, in_channels: Sequence[int], mid_channels: Sequence[int],
                 out_channels: int,
                 downsample_scales: Sequence[Any] = ((1, 1, 1), (1, 1, 1))) -> None:
        super().__init__()
        if not len(in_channels) == len(mid_channels) <= len(downsample_scales):
            raise ValueError('LevelFusion: in_channels, mid_channels and downsample_scales need '
                             f'one entry per level; got {tuple(in_channels)}, '
                             f'{tuple(mid_channels)}, {tuple(downsample_scales)}')
        self.downsamples = nn.ModuleList(
            DownSample(cin, cmid, kernel_size=(1, 1, 1), stride=(1, 1, 1), bias=False,
                       padding=(0, 0, 0), groups=32, norm_cfg=_BN3D, act_cfg=_RELU,
                       downsample_position='before',
                       downsample_scale=scale if isinstance(scale, int) else tuple(scale))
            for cin, cmid, scale in zip(in_channels, mid_channels, downsample_scales))
        self.fusion_conv = ConvModule(sum(mid_channels), out_channels, 1, stride=1, padding=0,
                                      bias=False, conv_cfg=_CONV3D, norm_cfg=_BN3D,
                                      act_cfg=_RELU)

    def forward(self, x: Sequence[torch.Tensor]) -> torch.Tensor:
        out = [down(feature) for down, feature in zip(self.downsamples, x)]
        return self.fusion_conv(torch.cat(out, 1))


class SpatialModulation(nn.Module):
    """Strided 1x3x3 convs that bring each level to the top level's spatial size.

    A level with ``c`` channels gets ``log2(out_channels // c)`` convs, each doubling the
    channels and halving height and width; a level already at ``out_channels`` passes as is.

    Args:
        in_channels (tuple[int]): channels of each level.
        out_channels (int): channels of the top level.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int) -> None:
        super().__init__()
        self.spatial_modulation = nn.ModuleList()
        for channel in in_channels:
            ratio = out_channels // channel
            steps = ratio.bit_length() - 1 if ratio > 0 else 0  # int(log2(ratio))
            if steps < 1:
                self.spatial_modulation.append(Identity())
                continue
            self.spatial_modulation.append(nn.ModuleList(
                ConvModule(channel * 2**i, channel * 2**(i + 1), (1, 3, 3), stride=(1, 2, 2),
                           padding=(0, 1, 1), bias=False, conv_cfg=_CONV3D, norm_cfg=_BN3D,
                           act_cfg=_RELU)
                for i in range(steps)))

    def forward(self, x: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for ops, feature in zip(self.spatial_modulation, x):
            if isinstance(ops, nn.ModuleList):
                for op in ops:
                    feature = op(feature)
            else:
                feature = ops(feature)
            out.append(feature)
        return out


class AuxHead(nn.Module):
    """Auxiliary classifier of one level, trained with ``loss_weight * loss_cls``.

    Args:
        in_channels (int): channels of the level.
        out_channels (int): number of classes.
        loss_weight (float): weight of ``loss_aux``. Default: 0.5.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
    """

    def __init__(self, in_channels: int, out_channels: int, loss_weight: float = 0.5,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss')) -> None:
        super().__init__()
        self.conv = ConvModule(in_channels, in_channels * 2, (1, 3, 3), stride=(1, 2, 2),
                               padding=(0, 1, 1), bias=False, conv_cfg=_CONV3D,
                               norm_cfg=_BN3D)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.loss_weight = loss_weight
        self.dropout = nn.Dropout(p=0.5)
        self.fc = nn.Linear(in_channels * 2, out_channels)
        self.loss_cls = LOSSES.build(loss_cls)

    def init_weights(self) -> None:
        """Normal(0, 0.01) linear, Xavier-uniform convs, unit BatchNorm."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                normal_init(m, std=0.01)
            if isinstance(m, nn.Conv3d):
                xavier_init(m, distribution='uniform')
            if isinstance(m, nn.BatchNorm3d):
                constant_init(m, 1)

    def forward(self, x: torch.Tensor,
                target: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``{'loss_aux': ...}`` for ``x`` ``[N, C, T, H, W]`` and labels ``target``; ``{}``
        without labels."""
        if target is None:
            return {}
        x = self.avg_pool(self.conv(x)).flatten(1)  # [N, 2C]
        x = self.fc(self.dropout(x))  # [N, num_classes]
        if target.dim() == 0:
            target = target.unsqueeze(0)
        return {'loss_aux': self.loss_weight * self.loss_cls(x, target)}


class TemporalModulation(nn.Module):
    """A grouped 3x1x1 conv, then a temporal max pool by ``downsample_scale`` (ceil mode).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        downsample_scale (int): the pool's temporal kernel and stride. Default: 8.
    """

    def __init__(self, in_channels: int, out_channels: int, downsample_scale: int = 8) -> None:
        super().__init__()
        self.conv = ConvModule(in_channels, out_channels, (3, 1, 1), stride=(1, 1, 1),
                               padding=(1, 0, 0), bias=False, groups=32, conv_cfg=_CONV3D,
                               act_cfg=None)
        self.pool = nn.MaxPool3d((downsample_scale, 1, 1), (downsample_scale, 1, 1), (0, 0, 0),
                                 ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


def _check_cfg(name: str, cfg: Any, required: Sequence[str] = ()) -> None:
    if cfg is None and not required:
        return
    if not isinstance(cfg, Mapping):
        raise TypeError(f'TPN: {name} must be a dict'
                        f'{"" if required else " or None"}, got {cfg!r}')
    missing = [key for key in required if key not in cfg]
    if missing:
        raise ValueError(f'TPN: {name} needs the keys {list(required)}; {missing} missing '
                         f'from {dict(cfg)!r}')


@NECKS.register_module()
class TPN(nn.Module):
    """TPN neck: a tuple of stage features to ``([N, 2048, T', H, W], aux_losses)``.

    Args:
        in_channels (tuple[int]): channels of the input stages (e.g. ``(1024, 2048)``).
        out_channels (int): channels after temporal modulation.
        spatial_modulation_cfg (dict): :class:`SpatialModulation` arguments
            (``in_channels``, ``out_channels``). Required.
        temporal_modulation_cfg (dict): ``downsample_scales``, one temporal pool scale per
            stage. Required in practice: the forward pass needs it (MMAction2's default of None
            fails there too; here it fails when the neck is built).
        upsample_cfg (dict | None): ``nn.Upsample`` arguments of the top-down flow. Default:
            None.
        downsample_cfg (dict | None): :class:`DownSample` arguments (besides the channels) of
            the bottom-up flow. Default: None.
        level_fusion_cfg (dict): :class:`LevelFusion` arguments (``in_channels``,
            ``mid_channels``, ``out_channels``, optional ``downsample_scales``). Required.
        aux_head_cfg (dict | None): :class:`AuxHead` arguments (``out_channels``, optional
            ``loss_weight``, ``loss_cls``) for the second-to-last stage; None for no auxiliary
            loss. Default: None.
        flow_type (str): 'cascade' or 'parallel'. Default: 'cascade'.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int,
                 spatial_modulation_cfg: Mapping[str, Any] | None = None,
                 temporal_modulation_cfg: Mapping[str, Any] | None = None,
                 upsample_cfg: Mapping[str, Any] | None = None,
                 downsample_cfg: Mapping[str, Any] | None = None,
                 level_fusion_cfg: Mapping[str, Any] | None = None,
                 aux_head_cfg: Mapping[str, Any] | None = None,
                 flow_type: str = 'cascade') -> None:
        super().__init__()
        if (not isinstance(in_channels, Sequence) or len(in_channels) < 2
                or not all(isinstance(c, int) and c > 0 for c in in_channels)):
            raise ValueError(f'TPN: in_channels must be a tuple of at least 2 positive ints, '
                             f'got {in_channels!r}')
        check_positive_int('TPN', 'out_channels', out_channels)
        if flow_type not in _FLOW_TYPES:
            raise ValueError(f"TPN: flow_type must be 'cascade' or 'parallel', "
                             f'got {flow_type!r}')
        _check_cfg('spatial_modulation_cfg', spatial_modulation_cfg,
                   ('in_channels', 'out_channels'))
        _check_cfg('level_fusion_cfg', level_fusion_cfg,
                   ('in_channels', 'mid_channels', 'out_channels'))
        _check_cfg('temporal_modulation_cfg', temporal_modulation_cfg, ('downsample_scales',))
        _check_cfg('upsample_cfg', upsample_cfg)
        _check_cfg('downsample_cfg', downsample_cfg)
        _check_cfg('aux_head_cfg', aux_head_cfg)
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.num_tpn_stages = len(in_channels)
        self.flow_type = flow_type
        scales = temporal_modulation_cfg['downsample_scales']
        if not isinstance(scales, Sequence) or len(scales) < self.num_tpn_stages:
            raise ValueError('TPN: temporal_modulation_cfg.downsample_scales needs one '
                             f'scale per stage ({self.num_tpn_stages}), got {scales!r}')

        self.temporal_modulation_ops = nn.ModuleList()
        self.upsample_ops = nn.ModuleList()
        self.downsample_ops = nn.ModuleList()
        self.level_fusion_1 = LevelFusion(**level_fusion_cfg)
        self.spatial_modulation = SpatialModulation(**spatial_modulation_cfg)
        for i in range(self.num_tpn_stages):
            self.temporal_modulation_ops.append(TemporalModulation(
                self.in_channels[-1], out_channels, scales[i]))
            if i < self.num_tpn_stages - 1:
                if upsample_cfg is not None:
                    # a JSON / YAML config gives scale_factor as a list, which nn.Upsample refuses
                    self.upsample_ops.append(nn.Upsample(**{
                        k: tuple(v) if isinstance(v, list) else v
                        for k, v in upsample_cfg.items()}))
                if downsample_cfg is not None:
                    self.downsample_ops.append(
                        DownSample(out_channels, out_channels, **downsample_cfg))
        self.level_fusion_2 = LevelFusion(**level_fusion_cfg)
        self.pyramid_fusion = ConvModule(level_fusion_cfg['out_channels'] * 2, 2048, 1,
                                         stride=1, padding=0, bias=False, conv_cfg=_CONV3D,
                                         norm_cfg=_BN3D)
        self.aux_head = AuxHead(self.in_channels[-2], **aux_head_cfg) \
            if aux_head_cfg is not None else None
        self.init_weights()

    def init_weights(self) -> None:
        """Xavier-uniform 3D convs and unit BatchNorm; the auxiliary head's own init."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                xavier_init(m, distribution='uniform')
            if isinstance(m, nn.BatchNorm3d):
                constant_init(m, 1)
        if self.aux_head is not None:
            self.aux_head.init_weights()

    def forward(self, x: Sequence[torch.Tensor], target: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Args:
            x: the stage features, ``[N, C_i, T, H_i, W_i]`` each, lowest stage first.
            target: labels for the auxiliary loss (training), or None.

        Returns:
            ``([N, 2048, T', H, W], losses)``; ``losses`` holds ``loss_aux`` when there is an
            auxiliary head and ``target`` is given, else it is empty.
        """
        if not isinstance(x, (tuple, list)) or len(x) != self.num_tpn_stages:
            got = f'{len(x)} tensors' if isinstance(x, (tuple, list)) else type(x).__name__
            raise ValueError(f'TPN takes the features of {self.num_tpn_stages} stages '
                             f'(set the backbone out_indices); got {got}')
        losses = self.aux_head(x[-2], target) if self.aux_head is not None else {}
        spatial = self.spatial_modulation(x)
        temporal = [op(feature) for op, feature in zip(self.temporal_modulation_ops, spatial)]

        outs = list(temporal)
        if len(self.upsample_ops) != 0:  # top-down: add each upsampled level to the one below
            for i in range(self.num_tpn_stages - 1, 0, -1):
                outs[i - 1] = outs[i - 1] + self.upsample_ops[i - 1](outs[i])
        top_down = self.level_fusion_1(outs)

        if self.flow_type == 'parallel':
            outs = list(temporal)
        if len(self.downsample_ops) != 0:  # bottom-up: add each downsampled level above
            for i in range(self.num_tpn_stages - 1):
                outs[i + 1] = outs[i + 1] + self.downsample_ops[i](outs[i])
        bottom_up = self.level_fusion_2(outs)

        return self.pyramid_fusion(torch.cat([top_down, bottom_up], 1)), losses
