"""ResNet with temporal shift (TSM), https://arxiv.org/abs/1811.08383.

TSM runs a 2D ResNet on the ``N * num_segments`` frames of ``N`` clips and, inside the
residual blocks, shifts a fraction of the channels one frame forward and one frame backward
in time, so 2D convolutions mix information across frames at no extra cost.

All wrappers are built in ``__init__`` (nothing is patched afterwards) with MMAction2 0.x's
module names, so its checkpoints load with ``strict=True``:

* ``shift_place='blockres'``: the conv of each block's ``conv1`` is wrapped,
  ``layer1.0.conv1.conv.net.weight`` (for ResNet-101 and deeper, every other block);
* ``shift_place='block'``: each whole block is wrapped, ``layer1.0.net.conv1.conv.weight``;
* ``non_local``: a block followed by a :class:`NonLocal3d`, ``layer2.0.block.conv1...`` and
  ``layer2.0.non_local_block.g.conv.weight``;
* ``temporal_pool``: ``layer2`` behind a temporal max pool, ``layer2.net.0.conv1...``.
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
from .non_local import NonLocal3d
from .resnet import ResNet, make_downsample

__all__ = ['TemporalShift', 'TemporalPool', 'NL3DWrapper', 'ResNetTSM']

_LOG = logging.getLogger(__name__)
_SHIFT_PLACES = ('block', 'blockres')


def _any_flag(flags: int | Sequence[int]) -> bool:
    return bool(flags) if isinstance(flags, int) else any(flags)


def _shift_keeping_layout(x: torch.Tensor, num_segments: int, fold: int) -> torch.Tensor:
    """:meth:`TemporalShift.shift` for a channels_last ``x``: one copy into a tensor of the same
    layout (concatenating would return a contiguous tensor, and the next conv would convert it
    back). Same values as the concatenation, which stays the path that exporters trace."""
    n, c, h, w = x.size()
    x = x.view(-1, num_segments, c, h, w)  # [N, T, C, H, W]
    out = torch.empty_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]  # frame t takes frame t + 1
    out[:, -1:, :fold] = 0
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]  # frame t takes frame t - 1
    out[:, :1, fold:2 * fold] = 0
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(n, c, h, w)


class TemporalShift(nn.Module):
    """Shift channels in time, then run ``net``.

    Of the ``C`` channels of each frame, the first ``C // shift_div`` take the next frame's
    values, the following ``C // shift_div`` the previous frame's, the rest stay; frames
    beyond the clip's ends contribute zeros.

    Args:
        net (nn.Module): the module run on the shifted features (its keys live under
            ``net.``).
        num_segments (int): frames per clip. Default: 3.
        shift_div (int): ``1 / fraction`` of the channels shifted each way. Default: 8.
    """

    def __init__(self, net: nn.Module, num_segments: int = 3, shift_div: int = 8) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x: ``[N * num_segments, C, H, W]``.
        """
        return self.net(self.shift(x, self.num_segments, shift_div=self.shift_div))

    @staticmethod
    def shift(x: torch.Tensor, num_segments: int, shift_div: int = 3) -> torch.Tensor:
        """The temporal shift of ``x`` (``[N * num_segments, C, H, W]``), same shape."""
        n, c, h, w = x.size()
        fold = c // shift_div
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            return _shift_keeping_layout(x, num_segments, fold)  # fast CPU inference
        x = x.view(-1, num_segments, c, h * w)  # [N, T, C, H*W]; the export-friendly form
        backward = x[:, 1:, :fold]  # frame t takes frame t + 1
        forward = x[:, :-1, fold:2 * fold]  # frame t takes frame t - 1
        out = torch.cat([
            torch.cat([backward, torch.zeros_like(x[:, :1, :fold])], dim=1),
            torch.cat([torch.zeros_like(x[:, :1, fold:2 * fold]), forward], dim=1),
            x[:, :, 2 * fold:],
        ], dim=2)
        return out.view(n, c, h, w)


class TemporalPool(nn.Module):
    """Max-pool over time by 2 (kernel 3, stride 2, padding 1), then run ``net``.

    Args:
        net (nn.Module): the stage run on the pooled features (keys under ``net.``).
        num_segments (int): frames per clip before pooling.
    """

    def __init__(self, net: nn.Module, num_segments: int) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.max_pool3d = nn.MaxPool3d(kernel_size=(3, 1, 1), stride=(2, 1, 1),
                                       padding=(1, 0, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N * T, C, H, W]`` -> ``net`` of ``[N * ceil(T / 2), C, H, W]``."""
        n, c, h, w = x.size()
        x = x.view(n // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
        x = self.max_pool3d(x)  # [N, C, T/2, H, W]
        x = x.transpose(1, 2).contiguous().view(-1, c, h, w)
        return self.net(x)


class NL3DWrapper(nn.Module):
    """A residual block followed by a 3D non-local block over the clip's frames.

    Args:
        block (nn.Module): the residual block (keys under ``block.``).
        num_segments (int): frames per clip.
        non_local_cfg (dict): arguments of :class:`NonLocal3d`.
        in_channels (int | None): the block's output channels; by default read from the
            block's last norm layer.
    """

    def __init__(self, block: nn.Module, num_segments: int,
                 non_local_cfg: Mapping[str, Any] = dict(),
                 in_channels: int | None = None) -> None:
        super().__init__()
        self.block = block
        self.num_segments = num_segments
        self.non_local_cfg = dict(non_local_cfg)
        if in_channels is None:
            last = getattr(block, 'conv3', None) or block.conv2
            in_channels = last.norm.num_features
        self.non_local_block = NonLocal3d(in_channels, **self.non_local_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        n, c, h, w = x.size()
        x = x.view(n // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
        x = self.non_local_block(x.contiguous())  # [N, C, T, H, W]
        return x.transpose(1, 2).contiguous().view(n, c, h, w)


@BACKBONES.register_module()
class ResNetTSM(ResNet):
    """ResNet with temporal shift: ``[N * num_segments, C, H, W]`` frames to features.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): frames per clip. Default: 8.
        is_shift (bool): add the temporal shift. Default: True.
        non_local (Sequence): per stage, per block 0/1 flags where to add a non-local block
            (an int applies to every block of the stage). Used only when ``non_local_cfg`` is
            not empty, as in MMAction2 0.x. Default: (0, 0, 0, 0).
        non_local_cfg (dict): :class:`NonLocal3d` arguments. Default: ``dict()``.
        shift_div (int): ``1 / fraction`` of the channels shifted each way. Default: 8.
        shift_place (str): 'blockres' (shift inside the residual branch, before ``conv1``) or
            'block' (shift the block's input). Default: 'blockres'.
        temporal_pool (bool): halve the frames between ``layer1`` and ``layer2``.
            Default: False.
        pretrained2d (bool): a non-torchvision ``pretrained`` file is a plain 2D ResNet
            checkpoint (keys without the wrappers' ``net.`` / ``block.``), mapped on load.
            Default: True.
        pretrained, torchvision_pretrain, in_channels, num_stages, out_indices, strides,
        dilations, style, frozen_stages, conv_cfg, norm_cfg, act_cfg, norm_eval, partial_bn,
        with_cp, base_channels: see :class:`ResNet`.
    """

    def __init__(self, depth: int, num_segments: int = 8, is_shift: bool = True,
                 non_local: Sequence[Any] = (0, 0, 0, 0),
                 non_local_cfg: Mapping[str, Any] = dict(), shift_div: int = 8,
                 shift_place: str = 'blockres', temporal_pool: bool = False,
                 pretrained2d: bool = True, pretrained: str | None = None,
                 torchvision_pretrain: bool = True, in_channels: int = 3, num_stages: int = 4,
                 out_indices: Sequence[int] = (3,), strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1), style: str = 'pytorch',
                 frozen_stages: int = -1, conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, partial_bn: bool = False,
                 with_cp: bool = False, base_channels: int = 64) -> None:
        check_positive_int('ResNetTSM', 'num_segments', num_segments)
        if shift_place not in _SHIFT_PLACES:
            raise ValueError(f"ResNetTSM: shift_place must be 'block' or 'blockres', "
                             f'got {shift_place!r}')
        check_positive_int('ResNetTSM', 'shift_div', shift_div)
        if temporal_pool and num_segments // 2 <= 0:
            raise ValueError(f'ResNetTSM: temporal_pool halves num_segments={num_segments}; '
                             'it must be at least 2')
        # read by _make_res_layer, which ResNet.__init__ calls
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        self.shift_place = shift_place
        self.temporal_pool = temporal_pool
        self.pretrained2d = pretrained2d
        self.non_local = non_local
        self.non_local_cfg = dict(non_local_cfg)
        self._non_local_flags = self._parse_non_local(non_local, num_stages)
        if any(map(_any_flag, self._non_local_flags)) and not self.non_local_cfg:
            _LOG.warning('ResNetTSM: non_local=%r has no effect because non_local_cfg is empty '
                         '(as in MMAction2 0.x)', non_local)
        half = num_segments // 2 if temporal_pool else num_segments
        self.stage_segments = (num_segments, half, half, half)
        # ResNet-101/152 (layer3 of 23 or more blocks) shift every other block, as 0.x does
        stage_blocks = self.arch_settings[depth][1] if depth in self.arch_settings else (0,) * 4
        self._shift_every = 2 if stage_blocks[2] >= 23 else 1
        super().__init__(depth, pretrained=pretrained, torchvision_pretrain=torchvision_pretrain,
                         in_channels=in_channels, num_stages=num_stages,
                         out_indices=out_indices, strides=strides, dilations=dilations,
                         style=style, frozen_stages=frozen_stages, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, act_cfg=act_cfg, norm_eval=norm_eval,
                         partial_bn=partial_bn, with_cp=with_cp, base_channels=base_channels)
        self.non_local_stages = self._non_local_flags

    @staticmethod
    def _parse_non_local(non_local: Sequence[Any], num_stages: int) -> list[Any]:
        if not isinstance(non_local, Sequence) or len(non_local) < num_stages:
            raise ValueError(f'ResNetTSM: non_local needs one entry per stage ({num_stages}), '
                             f'got {non_local!r}')
        return [stage if isinstance(stage, Sequence) else int(stage)
                for stage in non_local[:num_stages]]

    def _block_flags(self, stage: int, num_blocks: int) -> list[int]:
        flags = self._non_local_flags[stage]
        if isinstance(flags, int):
            return [flags] * num_blocks
        if len(flags) != num_blocks:
            raise ValueError(f'ResNetTSM: non_local[{stage}] needs one flag per block of '
                             f'layer{stage + 1} ({num_blocks}), got {flags!r}')
        return [int(flag) for flag in flags]

    def _make_res_layer(self, stage: int, inplanes: int, planes: int, num_blocks: int,
                        stride: int, dilation: int) -> nn.Module:
        """One stage with its shift / non-local / temporal-pool wrappers."""
        segments = self.stage_segments[stage]
        use_non_local = self._block_flags(stage, num_blocks) if self.non_local_cfg \
            else [0] * num_blocks
        out_channels = planes * self.block.expansion
        blocks: list[nn.Module] = []
        for idx in range(num_blocks):
            wrap_conv1 = (self.is_shift and self.shift_place == 'blockres'
                          and idx % self._shift_every == 0)
            conv1_wrapper = functools.partial(TemporalShift, num_segments=segments,
                                              shift_div=self.shift_div) if wrap_conv1 else None
            first = idx == 0
            block: nn.Module = self.block(
                inplanes if first else out_channels, planes, stride if first else 1, dilation,
                make_downsample(self.block, inplanes, planes, stride, self.conv_cfg,
                                self.norm_cfg) if first else None,
                style=self.style, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg, with_cp=self.with_cp, conv1_wrapper=conv1_wrapper)
            if self.is_shift and self.shift_place == 'block':
                block = TemporalShift(block, num_segments=segments, shift_div=self.shift_div)
            if use_non_local[idx]:
                block = NL3DWrapper(block, segments, self.non_local_cfg,
                                    in_channels=out_channels)
            blocks.append(block)
        layer: nn.Module = nn.Sequential(*blocks)
        if self.temporal_pool and stage == 1:
            layer = TemporalPool(layer, self.num_segments)
        return layer

    def init_weights(self) -> None:
        """Load ``pretrained`` (see :class:`ResNet`), or initialise from scratch."""
        if self.pretrained is not None and not self.torchvision_pretrain \
                and not self.pretrained2d:
            from ..weights import load_checkpoint
            load_checkpoint(self, self.pretrained, strict=False)
            return
        super().init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args:
            x: ``[N * num_segments, in_channels, H, W]``, the frames of each clip consecutive.
        """
        if x.dim() == 4 and x.shape[0] % self.num_segments != 0:
            raise ValueError(f'ResNetTSM(num_segments={self.num_segments}) takes a batch of '
                             f'N * {self.num_segments} frames (N, C, H, W). Got '
                             f'{tuple(x.shape)} instead!')
        return super().forward(x)
