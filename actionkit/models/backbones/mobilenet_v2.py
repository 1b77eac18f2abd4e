"""MobileNetV2 backbone, https://arxiv.org/abs/1801.04381.

A stem conv, seven stages of inverted residual blocks (a 1x1 expansion, a 3x3 depthwise conv,
a 1x1 linear projection; a residual connection where the shapes allow) and a final 1x1 conv to
1280 channels. Module names are MMAction2 0.x's (mmcls's layout), so its checkpoints and
mmcls's ImageNet weights load with ``strict=True``: ``conv1.conv.weight``,
``layer2.0.conv.0.conv.weight`` (expansion), ``layer2.0.conv.1.bn.running_mean`` (depthwise),
``layer2.0.conv.2.conv.weight`` (projection), ``conv2.conv.weight``.

``pretrained`` may be ``'mmcls://mobilenet_v2'`` (the mmcls ImageNet checkpoint, found in the
torch hub cache under its download file name; nothing is downloaded), a URL, or a local path.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils import checkpoint as cp

from ..builder import BACKBONES
from ..layers import ConvModule, check_positive_int, constant_init, freeze, kaiming_init

__all__ = ['make_divisible', 'InvertedResidual', 'MobileNetV2']

_LOG = logging.getLogger(__name__)

ModuleWrapper = Callable[[nn.Module], nn.Module]

# attribute under which TSM's shift wrapper holds the wrapped module; not part of plain keys
_WRAPPER_SEGMENT = re.compile(r'\.net(?=\.)')


def make_divisible(value: float, divisor: int, min_value: int | None = None,
                   min_ratio: float = 0.9) -> int:
    """Round a channel count to the nearest multiple of ``divisor``.

    Args:
        value: the unrounded channel count (e.g. ``32 * widen_factor``).
        divisor: the multiple to round to.
        min_value: the smallest result allowed. Default: ``divisor``.
        min_ratio: when rounding down loses more than ``1 - min_ratio`` of ``value``, one more
            ``divisor`` is added. Default: 0.9.

    Returns:
        The rounded channel count.
    """
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < min_ratio * value:
        rounded += divisor
    return rounded


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise conv, 1x1 linear projection; ``x + branch(x)`` when the
    block keeps its shape (stride 1, ``in_channels == out_channels``).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        stride (int): stride of the depthwise conv, 1 or 2.
        expand_ratio (int): hidden channels = ``round(in_channels * expand_ratio)``; with 1
            there is no expansion conv (``conv`` then holds two modules).
        conv_cfg (dict | None): conv layer config. Default: None (``nn.Conv2d``).
        norm_cfg (dict): norm layer config. Default: ``dict(type='BN')``.
        act_cfg (dict): activation of the expansion and depthwise convs.
            Default: ``dict(type='ReLU6')``.
        with_cp (bool): recompute the block in backward to save memory. Default: False.
        expand_wrapper (callable | None): wraps the expansion ``ConvModule`` (``conv.0``);
            TSM passes its temporal shift here, whose keys then read ``conv.0.net.conv...``.
            Default: None.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = dict(type='BN'),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU6'), with_cp: bool = False,
                 expand_wrapper: ModuleWrapper | None = None) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'InvertedResidual: stride must be 1 or 2, got {stride!r}')
        check_positive_int('InvertedResidual', 'in_channels', in_channels)
        check_positive_int('InvertedResidual', 'out_channels', out_channels)
        if isinstance(expand_ratio, bool) or not isinstance(expand_ratio, (int, float)) \
                or expand_ratio <= 0:
            raise ValueError(f'InvertedResidual: expand_ratio must be a positive number, '
                             f'got {expand_ratio!r}')
        if expand_wrapper is not None and expand_ratio == 1:
            raise ValueError('InvertedResidual: expand_wrapper needs an expansion conv, but '
                             'expand_ratio=1 has none')
        self.stride = stride
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            expand: nn.Module = ConvModule(in_channels, hidden, kernel_size=1,
                                           conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                           act_cfg=act_cfg)
            layers.append(expand if expand_wrapper is None else expand_wrapper(expand))
        layers.append(ConvModule(hidden, hidden, kernel_size=3, stride=stride, padding=1,
                                 groups=hidden, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                 act_cfg=act_cfg))
        layers.append(ConvModule(hidden, out_channels, kernel_size=1, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=None))
        self.conv = nn.Sequential(*layers)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, in_channels, H, W]`` -> ``[N, out_channels, H / stride, W / stride]``."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


@BACKBONES.register_module()
class MobileNetV2(nn.Module):
    """MobileNetV2: ``[N, 3, H, W]`` images to ``[N, 1280, H/32, W/32]`` features.

    Stages, 0-based as ``out_indices`` counts them: ``layer1`` ... ``layer7`` are 0 ... 6 and
    ``conv2`` is 7. ``frozen_stages = k`` freezes ``conv1`` and the first ``k`` of those
    (``k = 8`` freezes everything).

    Args:
        pretrained (str | None): weights loaded by ``init_weights``: ``'mmcls://mobilenet_v2'``,
            a URL (its file looked up in the torch hub cache), a local path (a backbone, an
            mmcls classifier or an MMAction2 recognizer checkpoint), or ``None`` for random
            init. Default: None.
        widen_factor (float): channel multiplier of every layer. Default: 1.0.
        out_indices (Sequence[int]): stages (0 to 7) whose outputs are returned.
            Default: (7,).
        frozen_stages (int): -1 (nothing frozen) to 8. Default: -1.
        conv_cfg (dict): conv layer config. Default: ``dict(type='Conv')``.
        norm_cfg (dict): norm layer config. Default: ``dict(type='BN2d', requires_grad=True)``.
        act_cfg (dict): activation config. Default: ``dict(type='ReLU6', inplace=True)``.
        norm_eval (bool): keep every BatchNorm in eval mode while training. Default: False.
        with_cp (bool): gradient checkpointing in the blocks. Default: False.
    """

    # per stage: expand_ratio, channels, num_blocks, stride
    arch_settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                     (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, pretrained: str | None = None, widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (7,), frozen_stages: int = -1,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU6', inplace=True),
                 norm_eval: bool = False, with_cp: bool = False) -> None:
        super().__init__()
        self._check_args(pretrained, widen_factor, out_indices, frozen_stages)
        self.pretrained = pretrained
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, self.in_channels, kernel_size=3, stride=2, padding=1,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.layers: list[str] = []
        for i, (expand_ratio, channels, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(channels * widen_factor, 8)
            self.add_module(f'layer{i + 1}',
                            self.make_layer(out_channels, num_blocks, stride, expand_ratio))
            self.layers.append(f'layer{i + 1}')
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(self.in_channels, self.out_channel, kernel_size=1,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.layers.append('conv2')

    def _check_args(self, pretrained: Any, widen_factor: Any, out_indices: Any,
                    frozen_stages: Any) -> None:
        name = type(self).__name__
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'{name}: pretrained must be a str or None, got {pretrained!r}')
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, (int, float)) \
                or widen_factor <= 0:
            raise ValueError(f'{name}: widen_factor must be a positive number, '
                             f'got {widen_factor!r}')
        if not isinstance(out_indices, Sequence) or isinstance(out_indices, str):
            raise TypeError(f'{name}: out_indices must be a sequence of stage indices in '
                            f'[0, 7], got {out_indices!r}')
        if not out_indices or not all(isinstance(i, int) and 0 <= i <= 7 for i in out_indices):
            raise ValueError(f'{name}: out_indices must be stage indices in [0, 7] (7 is '
                             f'conv2), got {out_indices!r}')
        if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) \
                or not -1 <= frozen_stages <= 8:
            raise ValueError(f'{name}: frozen_stages must be an int in [-1, 8], '
                             f'got {frozen_stages!r}')

    def _make_block(self, in_channels: int, out_channels: int, stride: int,
                    expand_ratio: int) -> nn.Module:
        """One inverted residual block; subclasses override this to wrap parts of it."""
        return InvertedResidual(in_channels, out_channels, stride, expand_ratio,
                                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                act_cfg=self.act_cfg, with_cp=self.with_cp)

    def make_layer(self, out_channels: int, num_blocks: int, stride: int,
                   expand_ratio: int) -> nn.Sequential:
        """A stage of ``num_blocks`` blocks, the first one with ``stride``, starting from
        ``self.in_channels`` (which is updated to ``out_channels``)."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(self._make_block(self.in_channels, out_channels,
                                           stride if i == 0 else 1, expand_ratio))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Load ``pretrained``, or initialise from scratch (Kaiming convs, unit norms).

        Raises:
            FileNotFoundError: the checkpoint file is not there (the message says where to put
                it).
            ValueError: an unknown ``mmcls://`` name or an unsupported scheme.
        """
        if self.pretrained is None:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    kaiming_init(module)
                elif isinstance(module, (_BatchNorm, nn.GroupNorm)):
                    constant_init(module, 1.0)
            return
        self.load_pretrained(self.pretrained)

    def load_pretrained(self, filename: str) -> None:
        """Load a MobileNetV2 checkpoint, whatever its wrappers and prefixes.

        Accepts a bare backbone state dict, an mmcls classifier or an MMAction2 recognizer
        (their ``backbone.`` keys are used, the rest ignored), with or without TSM's shift
        wrapper (``conv.0.net.``), which is added or dropped to match this model.
        """
        from ..weights import load_backbone_checkpoint
        load_backbone_checkpoint(self, filename, lambda key: _WRAPPER_SEGMENT.sub('', key))

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args:
            x: ``[N, 3, H, W]``.

        Returns:
            The output of the one stage in ``out_indices`` (``[N, 1280, H/32, W/32]`` by
            default), or a tuple of the outputs of several.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'{type(self).__name__} takes an input of shape (N, 3, H, W). '
                             f'Got {tuple(x.shape)} instead!')
        x = self.conv1(x)
        outs = []
        for i, layer_name in enumerate(self.layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    # ------------------------------------------------------------------ training mode
    def _freeze_stages(self) -> None:
        """Fix ``conv1`` and the first ``frozen_stages`` stages (no gradients, eval mode)."""
        if self.frozen_stages >= 0:
            freeze(self.conv1)
        freeze(*(getattr(self, name) for name in self.layers[:max(self.frozen_stages, 0)]))

    def train(self, mode: bool = True) -> 'MobileNetV2':
        """Set the training mode, keeping frozen stages and ``norm_eval`` in effect."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
