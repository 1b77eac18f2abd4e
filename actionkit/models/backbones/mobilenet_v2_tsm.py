"""MobileNetV2 with temporal shift (TSM), https://arxiv.org/abs/1811.08383.

The ``N * num_segments`` frames of ``N`` clips go through a MobileNetV2 whose residual
inverted blocks shift ``1 / shift_div`` of their input channels one frame forward and as many
one frame backward before the expansion conv. The shift wraps the expansion ``ConvModule``
at construction (nothing is patched afterwards), where MMAction2 0.x puts it once its
``init_weights`` has run, so its checkpoints load with ``strict=True``:
``layer2.1.conv.0.net.conv.weight``, ``layer2.1.conv.0.net.bn.running_mean``.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import BACKBONES
from .mobilenet_v2 import InvertedResidual, MobileNetV2
from .resnet_tsm import TemporalShift

__all__ = ['MobileNetV2TSM']


@BACKBONES.register_module()
class MobileNetV2TSM(MobileNetV2):
    """MobileNetV2 with temporal shift: ``[N * num_segments, 3, H, W]`` frames to features.

    Only blocks with a residual connection and an expansion conv are shifted (10 of the 17
    blocks at every ``widen_factor``).

    Args:
        num_segments (int): frames per clip. Default: 8.
        is_shift (bool): add the temporal shift; without it this is a :class:`MobileNetV2`.
            Default: True.
        shift_div (int): ``1 / fraction`` of the channels shifted each way. Default: 8.
        pretrained, widen_factor, out_indices, frozen_stages, conv_cfg, norm_cfg, act_cfg,
        norm_eval, with_cp: see :class:`MobileNetV2`. A plain MobileNetV2 checkpoint (such
            as ``'mmcls://mobilenet_v2'``) loads into the shifted blocks.
    """

    def __init__(self, num_segments: int = 8, is_shift: bool = True, shift_div: int = 8,
                 pretrained: str | None = None, widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (7,), frozen_stages: int = -1,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU6', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False) -> None:
        for name, value in (('num_segments', num_segments), ('shift_div', shift_div)):
            check_positive_int('MobileNetV2TSM', name, value)
        if not isinstance(is_shift, bool):
            raise TypeError(f'MobileNetV2TSM: is_shift must be True or False, got {is_shift!r}')
        # read by _make_block, which MobileNetV2.__init__ calls
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        super().__init__(pretrained=pretrained, widen_factor=widen_factor,
                         out_indices=out_indices, frozen_stages=frozen_stages,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                         norm_eval=norm_eval, with_cp=with_cp)

    def _make_block(self, in_channels: int, out_channels: int, stride: int,
                    expand_ratio: int) -> nn.Module:
        """An inverted residual block, its expansion conv shifted when it has a residual
        connection (MMAction2 0.x's rule)."""
        shifted = (self.is_shift and expand_ratio != 1 and stride == 1
                   and in_channels == out_channels)
        wrapper = functools.partial(TemporalShift, num_segments=self.num_segments,
                                    shift_div=self.shift_div) if shifted else None
        return InvertedResidual(in_channels, out_channels, stride, expand_ratio,
                                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                act_cfg=self.act_cfg, with_cp=self.with_cp,
                                expand_wrapper=wrapper)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args:
            x: ``[N * num_segments, 3, H, W]``, the frames of each clip consecutive.
        """
        if self.is_shift and x.dim() == 4 and x.shape[0] % self.num_segments != 0:
            raise ValueError(f'MobileNetV2TSM(num_segments={self.num_segments}) takes a batch '
                             f'of N * {self.num_segments} frames (N, 3, H, W). Got '
                             f'{tuple(x.shape)} instead!')
        return super().forward(x)
