"""ResNet with temporal interlace (TIN), https://arxiv.org/abs/2001.06499.

TIN is TSM with learned shifts: in every residual block, before ``conv1``, a small network
looks at the first ``C // shift_div`` channels of the clip's frames and predicts, per clip,
a fractional temporal offset for each of four channel groups (two offsets and their
negatives) and a per-frame weight for each group. The groups are moved along time by their
offsets with linear interpolation between neighbouring frames (zeros beyond the clip's ends),
scaled by the weights, and the remaining channels pass unchanged.

MMAction2 0.x builds the shift with mmcv's compiled ``tin_shift`` op; here it is plain,
vectorised PyTorch (:func:`tin_shift`, :func:`linear_sampler`), differentiable with respect to
the features and, through the interpolation weights, to the offsets.

Module names follow MMAction2 0.x, so its checkpoints load with ``strict=True``: the conv of
each block's ``conv1`` becomes ``conv1.conv.net2`` and the interlace module sits beside it,
``layer1.0.conv1.conv.net1.offset_net.fc1.weight``, ``...net1.weight_net.conv.weight``.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import BACKBONES
from .resnet import make_downsample
from .resnet_tsm import NL3DWrapper, ResNetTSM

__all__ = ['tin_shift', 'linear_sampler', 'CombineNet', 'WeightNet', 'OffsetNet',
           'TemporalInterlace', 'ResNetTIN']

_LOG = logging.getLogger(__name__)
_DEFORM_GROUPS = 2  # offsets predicted per clip; each is used with both signs


def tin_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move channel groups along time by whole frames, with zeros where nothing lands.

    The channels are split into ``G = shift.shape[1]`` consecutive groups of ``C // G``;
    ``out[n, t, c] = x[n, t - shift[n, c // (C // G)], c]`` when that frame exists, else 0.
    The semantics of mmcv's ``tin_shift`` op.

    Args:
        x: ``[N, T, C, L]`` features (``L`` flattened spatial positions).
        shift: ``[N, G]`` integer shifts (any integer dtype, or whole-valued floats).

    Returns:
        ``[N, T, C, L]``; differentiable with respect to ``x``.
    """
    if x.dim() != 4 or shift.dim() != 2 or shift.shape[0] != x.shape[0]:
        raise ValueError(f'tin_shift takes x of shape (N, T, C, L) and shift of shape (N, G); '
                         f'got {tuple(x.shape)} and {tuple(shift.shape)}')
    n, t, c, _ = x.shape
    groups = shift.shape[1]
    if c % groups != 0:
        raise ValueError(f'tin_shift: the {c} channels do not split into {groups} groups')
    per_channel = shift.long().repeat_interleave(c // groups, dim=1)  # [N, C]
    frames = torch.arange(t, device=x.device).view(1, t, 1)
    source = frames - per_channel.unsqueeze(1)  # [N, T, C]: the frame each output reads
    valid = (source >= 0) & (source < t)
    index = source.clamp(0, t - 1).unsqueeze(-1).expand_as(x)
    return torch.gather(x, 1, index) * valid.unsqueeze(-1).to(x.dtype)


def linear_sampler(data: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Move channel groups along time by fractional offsets (linear interpolation).

    With ``o0 = floor(offset)`` and ``a = offset - o0``, each group is
    ``(1 - a) * tin_shift(data, o0) + a * tin_shift(data, o0 + 1)``.

    Args:
        data: ``[N, T, C, H, W]`` features.
        offset: ``[N, G]`` float offsets, one per group of ``C // G`` channels.

    Returns:
        ``[N, T, C, H, W]``; differentiable with respect to ``data`` and ``offset``.
    """
    n, t, c, h, w = data.shape
    groups = offset.shape[1]
    flat = data.reshape(n, t, c, h * w)
    floor = torch.floor(offset)
    frac = (offset - floor).repeat_interleave(c // groups, dim=1)  # [N, C]
    frac = frac[:, None, :, None]  # [N, 1, C, 1]
    out = (1 - frac) * tin_shift(flat, floor) + frac * tin_shift(flat, floor + 1)
    return out.view(n, t, c, h, w)


class CombineNet(nn.Module):
    """Run ``net1`` (the temporal interlace), then ``net2`` (the wrapped conv).

    Args:
        net1 (nn.Module): the temporal interlace module.
        net2 (nn.Module): the conv it precedes.
    """

    def __init__(self, net1: nn.Module, net2: nn.Module) -> None:
        super().__init__()
        self.net1 = net1
        self.net2 = net2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net2(self.net1(x))  # [N * T, C, H, W] -> conv output


class WeightNet(nn.Module):
    """Per-frame weights of the channel groups, in (0, 2); 1 at initialisation.

    Args:
        in_channels (int): channels of the pooled descriptor.
        groups (int): number of weights per frame.
    """

    def __init__(self, in_channels: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.conv = nn.Conv1d(in_channels, groups, 3, padding=1)
        self.sigmoid = nn.Sigmoid()
        self.init_weights()

    def init_weights(self) -> None:
        """Zero bias, so the weights start near ``2 * sigmoid(0) = 1``."""
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T]`` -> ``[N, T, groups]``."""
        return 2 * self.sigmoid(self.conv(x).permute(0, 2, 1))


class OffsetNet(nn.Module):
    """Per-clip temporal offsets of the channel groups, in (-2, 2).

    Args:
        in_channels (int): channels of the pooled descriptor.
        groups (int): number of offsets.
        num_segments (int): frames per clip.
    """

    def __init__(self, in_channels: int, groups: int, num_segments: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, 1, 3, padding=1)
        self.fc1 = nn.Linear(num_segments, num_segments)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(num_segments, groups)
        self.sigmoid = nn.Sigmoid()
        self.init_weights()

    def init_weights(self) -> None:
        """``fc2``'s bias 0.5108, so the offsets start near ``4 * (sigmoid(0.5108) - 0.5) = 1``."""
        nn.init.constant_(self.fc2.bias, 0.5108)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T]`` -> ``[N, 1, groups]``."""
        n, _, t = x.shape
        x = self.conv(x).view(n, t)  # [N, T]
        x = self.fc2(self.relu(self.fc1(x)))  # [N, groups]
        return 4 * (self.sigmoid(x.view(n, 1, -1)) - 0.5)


class TemporalInterlace(nn.Module):
    """The temporal interlace of the first ``in_channels // shift_div`` channels.

    Args:
        in_channels (int): input channels; ``in_channels // shift_div`` must be a multiple
            of 4 (four channel groups).
        num_segments (int): frames per clip. Default: 3.
        shift_div (int): ``1 / fraction`` of the channels that are moved. Default: 1.
    """

    def __init__(self, in_channels: int, num_segments: int = 3, shift_div: int = 1) -> None:
        super().__init__()
        for arg, value in (('in_channels', in_channels), ('num_segments', num_segments),
                           ('shift_div', shift_div)):
            check_positive_int('TemporalInterlace', arg, value)
        num_folds = in_channels // shift_div
        if num_folds == 0 or num_folds % (2 * _DEFORM_GROUPS) != 0:
            raise ValueError(f'TemporalInterlace: in_channels // shift_div = {in_channels} // '
                             f'{shift_div} = {num_folds} must be a positive multiple of '
                             f'{2 * _DEFORM_GROUPS} (the channel groups)')
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.deform_groups = _DEFORM_GROUPS
        self.offset_net = OffsetNet(num_folds, self.deform_groups, num_segments)
        self.weight_net = WeightNet(num_folds, self.deform_groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N * num_segments, C, H, W]`` -> same shape."""
        n, c, h, w = x.shape
        if n % self.num_segments != 0:
            raise ValueError(f'TemporalInterlace(num_segments={self.num_segments}) takes '
                             f'N * {self.num_segments} frames; got {tuple(x.shape)}')
        batches = n // self.num_segments
        folds = c // self.shift_div
        moved = x[:, :folds].reshape(batches, self.num_segments, folds, h, w)  # [N, T, F, H, W]
        pooled = moved.mean(dim=(3, 4)).permute(0, 2, 1)  # [N, F, T]
        offset = self.offset_net(pooled).view(batches, -1)  # [N, groups]
        weight = self.weight_net(pooled)  # [N, T, groups]
        offset = torch.cat([offset, -offset], dim=1)  # [N, 2 * groups]
        shifted = linear_sampler(moved, offset)  # [N, T, F, H, W]
        # group k of the 2 * groups channel groups takes weight k % groups
        weight = weight.repeat(1, 1, 2).repeat_interleave(folds // (2 * self.deform_groups),
                                                          dim=2)  # [N, T, F]
        shifted = (shifted * weight[..., None, None]).reshape(n, folds, h, w)
        return torch.cat([shifted, x[:, folds:]], dim=1)


@BACKBONES.register_module()
class ResNetTIN(ResNetTSM):
    """ResNet with a temporal interlace before ``conv1`` of every residual block.

    Input ``[N * num_segments, C, H, W]`` (each clip's frames consecutive), output as
    :class:`ResNet`. As in MMAction2 0.x, TSM's own shift, ``shift_place`` and
    ``temporal_pool`` are not used by TIN (and so are not arguments here).

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): frames per clip. Default: 8.
        is_tin (bool): add the temporal interlace. Default: True.
        shift_div (int): ``1 / fraction`` of each block's input channels that are
            interlaced; ``in_channels // shift_div`` must be a multiple of 4. Default: 4.
        non_local, non_local_cfg, pretrained2d: see :class:`ResNetTSM`.
        pretrained, torchvision_pretrain, in_channels, num_stages, out_indices, strides,
        dilations, style, frozen_stages, conv_cfg, norm_cfg, act_cfg, norm_eval, partial_bn,
        with_cp, base_channels: see :class:`ResNet`.
    """

    def __init__(self, depth: int, num_segments: int = 8, is_tin: bool = True,
                 shift_div: int = 4, non_local: Sequence[Any] = (0, 0, 0, 0),
                 non_local_cfg: Mapping[str, Any] = dict(), pretrained2d: bool = True,
                 pretrained: str | None = None, torchvision_pretrain: bool = True,
                 in_channels: int = 3, num_stages: int = 4, out_indices: Sequence[int] = (3,),
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 style: str = 'pytorch', frozen_stages: int = -1,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, partial_bn: bool = False,
                 with_cp: bool = False, base_channels: int = 64) -> None:
        if not isinstance(is_tin, bool):
            raise TypeError(f'ResNetTIN: is_tin must be a bool, got {is_tin!r}')
        self.is_tin = is_tin  # read by _make_res_layer during ResNet.__init__
        super().__init__(depth, num_segments=num_segments, is_shift=False,
                         non_local=non_local, non_local_cfg=non_local_cfg, shift_div=shift_div,
                         pretrained2d=pretrained2d, pretrained=pretrained,
                         torchvision_pretrain=torchvision_pretrain, in_channels=in_channels,
                         num_stages=num_stages, out_indices=out_indices, strides=strides,
                         dilations=dilations, style=style, frozen_stages=frozen_stages,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                         norm_eval=norm_eval, partial_bn=partial_bn, with_cp=with_cp,
                         base_channels=base_channels)

    def _make_res_layer(self, stage: int, inplanes: int, planes: int, num_blocks: int,
                        stride: int, dilation: int) -> nn.Module:
        """One stage: every block's ``conv1.conv`` behind a :class:`TemporalInterlace`."""
        use_non_local = self._block_flags(stage, num_blocks) if self.non_local_cfg \
            else [0] * num_blocks
        out_channels = planes * self.block.expansion
        blocks: list[nn.Module] = []
        for idx in range(num_blocks):
            first = idx == 0
            block_in = inplanes if first else out_channels
            wrapper = None
            if self.is_tin:  # conv1.conv becomes CombineNet(interlace, conv)
                wrapper = functools.partial(CombineNet, TemporalInterlace(
                    block_in, num_segments=self.num_segments, shift_div=self.shift_div))
            block: nn.Module = self.block(
                block_in, planes, stride if first else 1, dilation,
                make_downsample(self.block, inplanes, planes, stride, self.conv_cfg,
                                self.norm_cfg) if first else None,
                style=self.style, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg, with_cp=self.with_cp, conv1_wrapper=wrapper)
            if use_non_local[idx]:
                block = NL3DWrapper(block, self.num_segments, self.non_local_cfg,
                                    in_channels=out_channels)
            blocks.append(block)
        return nn.Sequential(*blocks)
