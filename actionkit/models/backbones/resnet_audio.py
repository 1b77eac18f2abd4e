"""ResNetAudio: a 2D ResNet on log-mel spectrograms with factorised (time x 1, 1 x frequency)
convolutions, MMAction2 0.x's audio backbone.

Audiovisual SlowFast Networks for Video Recognition, https://arxiv.org/abs/2001.08740.

The input is ``[N, 1, T, F]`` (``FormatAudioShape``'s ``NCTF``: time frames by mel bands).
The stem is a 9x1 and a 1x9 convolution summed; the bottlenecks of the stages with
``factorize`` set replace their 3x3 convolution by a 3x1 and a 1x3 one whose outputs are
concatenated (so ``conv3`` takes twice the channels). Module names equal MMAction2's, so its
checkpoints load with ``strict=True`` (``conv1.conv.conv_1.conv.weight``,
``layer1.0.conv2.conv.conv_2.bn.running_mean`` ...).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..builder import BACKBONES
from ..layers import ConvModule, constant_init, freeze, kaiming_init, register_conv_layer

__all__ = ['ConvAudio', 'Bottleneck2dAudio', 'ResNetAudio']


class ConvAudio(nn.Module):
    """A ``k0 x 1`` and a ``1 x k1`` convolution (each with BN and ReLU) of the same input,
    summed (``op='sum'``) or concatenated on channels (``op='concat'``).

    Args:
        in_channels, out_channels, kernel_size, stride: as ``nn.Conv2d``; each branch gives
            ``out_channels`` channels.
        op (str): ``'concat'`` or ``'sum'``.
        padding, dilation, groups: accepted for ``ConvModule``; each branch pads half its
            kernel and uses no dilation or groups, as in MMAction2.
        bias (bool): a bias in the branch convolutions.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 op: str = 'concat', stride: int | Sequence[int] = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1,
                 bias: bool = False) -> None:
        super().__init__()
        if op not in ('concat', 'sum'):
            raise ValueError(f"ConvAudio: op must be 'concat' or 'sum', got {op!r}")
        k_time, k_freq = (kernel_size, kernel_size) if isinstance(kernel_size, int) \
            else tuple(kernel_size)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.op = op
        self.conv_1 = ConvModule(in_channels, out_channels, (k_time, 1), stride=stride,
                                 padding=(k_time // 2, 0), bias=bias,
                                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
        self.conv_2 = ConvModule(in_channels, out_channels, (1, k_freq), stride=stride,
                                 padding=(0, k_freq // 2), bias=bias,
                                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time, freq = self.conv_1(x), self.conv_2(x)
        return torch.cat([time, freq], 1) if self.op == 'concat' else time + freq


register_conv_layer('ConvAudio', ConvAudio)


class Bottleneck2dAudio(nn.Module):
    """1x1 conv, 3x3 (or factorised 3x1 + 1x3) conv, 1x1 conv, plus the shortcut.

    Args:
        inplanes (int): input channels.
        planes (int): bottleneck channels; the block outputs ``planes * 4``.
        stride (int): stride of the middle convolution (and the shortcut).
        dilation (int): dilation of the plain 3x3 convolution.
        downsample (nn.Module | None): the shortcut projection.
        factorize (bool): use :class:`ConvAudio` (concat) for the middle convolution.
        norm_cfg (dict | None): norm of ``conv1`` and ``conv3``.
        with_cp (bool): gradient checkpointing.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 2, dilation: int = 1,
                 downsample: nn.Module | None = None, factorize: bool = True,
                 norm_cfg: Mapping[str, Any] | None = None, with_cp: bool = False) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.factorize = factorize
        self.with_cp = with_cp
        self.conv1 = ConvModule(inplanes, planes, 1, dilation=dilation, bias=False,
                                norm_cfg=norm_cfg)
        self.conv2 = ConvModule(planes, planes, 3, stride=stride, padding=dilation,
                                dilation=dilation, bias=False,
                                conv_cfg=dict(type='ConvAudio' if factorize else 'Conv'),
                                norm_cfg=None, act_cfg=None)
        self.conv3 = ConvModule(2 * planes if factorize else planes, planes * self.expansion, 1,
                                bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3(self.conv2(self.conv1(x)))
        return out + (x if self.downsample is None else self.downsample(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)


def _stage(inplanes: int, planes: int, blocks: int, stride: int, dilation: int,
           factorize: int | Sequence[int], norm_cfg: Mapping[str, Any] | None,
           with_cp: bool) -> nn.Sequential:
    """One stage of ``blocks`` bottlenecks; ``factorize`` per stage (int) or per block."""
    flags = (factorize,) * blocks if isinstance(factorize, int) else tuple(factorize)
    if len(flags) != blocks:
        raise ValueError(f'ResNetAudio: factorize has {len(flags)} entries for a stage of '
                         f'{blocks} blocks')
    out_channels = planes * Bottleneck2dAudio.expansion
    downsample = None
    if stride != 1 or inplanes != out_channels:
        downsample = ConvModule(inplanes, out_channels, 1, stride=stride, bias=False,
                                norm_cfg=norm_cfg, act_cfg=None)
    layers = [Bottleneck2dAudio(inplanes, planes, stride, dilation, downsample,
                                factorize=flags[0] == 1, norm_cfg=norm_cfg, with_cp=with_cp)]
    layers += [Bottleneck2dAudio(out_channels, planes, 1, dilation, factorize=flag == 1,
                                 norm_cfg=norm_cfg, with_cp=with_cp) for flag in flags[1:]]
    return nn.Sequential(*layers)


@BACKBONES.register_module()
class ResNetAudio(nn.Module):
    """ResNet for audio spectrograms ``[N, in_channels, T, F]``.

    Args:
        depth (int): 50, 101 or 152.
        pretrained (str | None): a checkpoint loaded by ``init_weights`` (its own state dict
            or a recognizer's ``backbone.`` entries).
        in_channels (int): input channels. Default: 1.
        num_stages (int): 1 to 4. Default: 4.
        base_channels (int): stem output channels; stage ``i`` has ``base_channels * 2**i``
            bottleneck channels. Default: 32.
        strides (Sequence[int]): stride of each stage. Default: (1, 2, 2, 2).
        dilations (Sequence[int]): dilation of each stage. Default: (1, 1, 1, 1).
        conv1_kernel (int): stem kernel (``k x 1`` and ``1 x k``). Default: 9.
        conv1_stride (int): stem stride. Default: 1.
        frozen_stages (int): freeze the stem and this many stages (-1: none).
        factorize (Sequence[int]): per stage (or per block), 1 to factorise the 3x3
            convolution. Default: (1, 1, 0, 0).
        norm_eval (bool): keep BatchNorm in eval mode while training.
        with_cp (bool): gradient checkpointing in the blocks.
        conv_cfg (dict): accepted for MMAction2's configs; unused there as here.
        norm_cfg (dict): norm layers. Default: ``dict(type='BN2d', requires_grad=True)``.
        act_cfg (dict): the stem's activation. Default: ``dict(type='ReLU', inplace=True)``.
        zero_init_residual (bool): start each block's last norm at zero.
    """

    arch_settings = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

    def __init__(self, depth: int, pretrained: str | None = None, in_channels: int = 1,
                 num_stages: int = 4, base_channels: int = 32,
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 conv1_kernel: int = 9, conv1_stride: int = 1, frozen_stages: int = -1,
                 factorize: Sequence[int] | int = (1, 1, 0, 0), norm_eval: bool = False,
                 with_cp: bool = False,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 zero_init_residual: bool = True) -> None:
        super().__init__()
        if depth not in self.arch_settings:
            raise KeyError(f'ResNetAudio: invalid depth {depth!r}; expected one of '
                           f'{sorted(self.arch_settings)}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'ResNetAudio: num_stages must be 1 to 4, got {num_stages!r}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'ResNetAudio: frozen_stages must be in [-1, {num_stages}], got '
                             f'{frozen_stages!r}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'ResNetAudio: pretrained must be a str or None, got {pretrained!r}')
        stage_factorize = (factorize,) * num_stages if isinstance(factorize, int) \
            else tuple(factorize)
        if len(strides) < num_stages or len(dilations) < num_stages \
                or len(stage_factorize) < num_stages:
            raise ValueError(f'ResNetAudio: strides, dilations and factorize need '
                             f'{num_stages} entries, got {strides}, {dilations}, {factorize}')
        self.depth = depth
        self.pretrained = pretrained
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.conv_cfg = conv_cfg
        self.zero_init_residual = zero_init_residual
        self.stage_blocks = self.arch_settings[depth][:num_stages]

        self.conv1 = ConvModule(in_channels, base_channels, conv1_kernel, stride=conv1_stride,
                                bias=False, conv_cfg=dict(type='ConvAudio', op='sum'),
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.res_layers = []
        inplanes = base_channels
        for i, blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2 ** i
            self.add_module(f'layer{i + 1}', _stage(inplanes, planes, blocks, strides[i],
                                                    dilations[i], stage_factorize[i], norm_cfg,
                                                    with_cp))
            self.res_layers.append(f'layer{i + 1}')
            inplanes = planes * Bottleneck2dAudio.expansion
        self.feat_dim = inplanes

    def init_weights(self) -> None:
        """Load ``pretrained``, or Kaiming convs, unit norms and (``zero_init_residual``)
        zero last norms in the blocks."""
        if self.pretrained is not None:
            from ..weights import load_backbone_checkpoint
            load_backbone_checkpoint(self, self.pretrained)
            return
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                kaiming_init(module)
            elif isinstance(module, _BatchNorm):
                constant_init(module, 1.0)
        if self.zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck2dAudio):
                    constant_init(module.conv3.bn, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x: ``[N, in_channels, T, F]``.

        Returns:
            ``[N, feat_dim, T / 8, F / 8]`` with the default strides.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ResNetAudio takes an input of shape (N, {self.in_channels}, T, '
                             f'F). Got {tuple(x.shape)} instead!')
        x = self.conv1(x)
        for name in self.res_layers:
            x = getattr(self, name)(x)
        return x

    def train(self, mode: bool = True) -> 'ResNetAudio':
        """Set the training mode, keeping frozen stages and ``norm_eval`` in effect."""
        super().train(mode)
        if self.frozen_stages >= 0:
            freeze(self.conv1)
        freeze(*(getattr(self, name) for name in self.res_layers[:max(self.frozen_stages, 0)]))
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
