"""TANet: a ResNet whose bottleneck blocks carry a temporal adaptive module (TAM).

TAM: Temporal Adaptive Module for Video Recognition, https://arxiv.org/abs/2005.06803.

Like TSM, TANet runs a 2D ResNet on the ``N * num_segments`` frames of ``N`` clips; each
bottleneck becomes a TA-block, with a :class:`~actionkit.models.tam.TAM` between its first
1x1 conv and its 3x3 conv. The blocks are built wrapped in ``__init__`` with MMAction2 0.x's
names, so its checkpoints load with ``strict=True``: ``layer1.0.block.conv1.conv.weight``,
``layer1.0.block.downsample.conv.weight``, ``layer1.0.tam.G.0.weight``,
``layer1.0.tam.L.1.running_mean``. A plain ResNet checkpoint (torchvision's, or keys without
``block.``) loads into the ResNet part through ``pretrained``.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils import checkpoint as cp

from ...utils.checks import check_positive_int
from ..builder import BACKBONES
from ..tam import TAM
from .resnet import Bottleneck, ResNet, make_res_layer

__all__ = ['TABlock', 'TANet']

_LOG = logging.getLogger(__name__)
_TAM_ARGS = ('alpha', 'adaptive_kernel_size', 'beta', 'conv1d_kernel_size',
             'adaptive_convolution_stride', 'adaptive_convolution_padding', 'init_std')


class TABlock(nn.Module):
    """A bottleneck with a TAM after its first conv (``conv1 -> tam -> conv2 -> conv3``).

    Args:
        block (Bottleneck): the residual block (its keys live under ``block.``).
        num_segments (int): frames per clip.
        tam_cfg (dict): extra :class:`TAM` arguments (``alpha``, ``beta``, ...).
            Default: ``dict()``.
    """

    def __init__(self, block: nn.Module, num_segments: int,
                 tam_cfg: Mapping[str, Any] = dict()) -> None:
        super().__init__()
        if not isinstance(block, Bottleneck):
            raise TypeError(f'TABlock wraps a Bottleneck block (ResNet-50/101/152), '
                            f'got {type(block).__name__}')
        self.tam_cfg = dict(tam_cfg)
        self.block = block
        self.num_segments = num_segments
        self.tam = TAM(in_channels=block.planes, num_segments=num_segments, **self.tam_cfg)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        block = self.block
        out = block.conv3(block.conv2(self.tam(block.conv1(x))))
        identity = x if block.downsample is None else block.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N * num_segments, C, H, W]`` -> ``[N * num_segments, planes * 4, H', W']``."""
        if self.block.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.block.relu(out)


@BACKBONES.register_module()
class TANet(ResNet):
    """Temporal adaptive network: ``[N * num_segments, C, H, W]`` frames to features.

    Args:
        depth (int): 50, 101 or 152 (TA-blocks are bottlenecks, as in MMAction2 0.x).
        num_segments (int): frames per clip, at least 3.
        tam_cfg (dict): :class:`TAM` arguments shared by every block: ``alpha``,
            ``adaptive_kernel_size``, ``beta``, ``conv1d_kernel_size``,
            ``adaptive_convolution_stride``, ``adaptive_convolution_padding``, ``init_std``.
            Default: ``dict()``.
        pretrained, torchvision_pretrain, in_channels, num_stages, out_indices, strides,
        dilations, style, frozen_stages, conv_cfg, norm_cfg, act_cfg, norm_eval, partial_bn,
        with_cp, base_channels: see :class:`ResNet`.

    Example:
        >>> model = TANet(depth=50, num_segments=8, base_channels=8)
        >>> model(torch.rand(16, 3, 64, 64)).shape  # 2 clips of 8 frames
        torch.Size([16, 256, 2, 2])
    """

    def __init__(self, depth: int, num_segments: int,
                 tam_cfg: Mapping[str, Any] | None = dict(),
                 pretrained: str | None = None, torchvision_pretrain: bool = True,
                 in_channels: int = 3, num_stages: int = 4, out_indices: Sequence[int] = (3,),
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 style: str = 'pytorch', frozen_stages: int = -1,
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, partial_bn: bool = False,
                 with_cp: bool = False, base_channels: int = 64) -> None:
        block = self.arch_settings.get(depth, (None,))[0]
        if block is not Bottleneck:
            bottlenecks = sorted(d for d, (b, _) in self.arch_settings.items() if b is Bottleneck)
            raise ValueError(f'TANet: depth must be one of {bottlenecks} (TA-blocks are '
                             f'bottlenecks), got {depth!r}')
        check_positive_int('TANet', 'num_segments', num_segments, minimum=3)
        tam_cfg = {} if tam_cfg is None else tam_cfg  # MMAction2 1.x's default
        if not isinstance(tam_cfg, Mapping):
            raise TypeError(f'TANet: tam_cfg must be a dict, got {tam_cfg!r}')
        unknown = sorted(set(tam_cfg) - set(_TAM_ARGS))
        if unknown:
            raise ValueError(f'TANet: unknown tam_cfg keys {unknown}; allowed: {list(_TAM_ARGS)}')
        # read by _make_res_layer, which ResNet.__init__ calls
        self.num_segments = num_segments
        self.tam_cfg = dict(tam_cfg)
        super().__init__(depth, pretrained=pretrained, torchvision_pretrain=torchvision_pretrain,
                         in_channels=in_channels, num_stages=num_stages,
                         out_indices=out_indices, strides=strides, dilations=dilations,
                         style=style, frozen_stages=frozen_stages, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, act_cfg=act_cfg, norm_eval=norm_eval,
                         partial_bn=partial_bn, with_cp=with_cp, base_channels=base_channels)

    def _make_res_layer(self, stage: int, inplanes: int, planes: int, num_blocks: int,
                        stride: int, dilation: int) -> nn.Module:
        """One stage of TA-blocks (keys ``{i}.block.*`` and ``{i}.tam.*``)."""
        plain = make_res_layer(self.block, inplanes, planes, num_blocks, stride=stride,
                               dilation=dilation, style=self.style, conv_cfg=self.conv_cfg,
                               norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                               with_cp=self.with_cp)
        return nn.Sequential(*(TABlock(block, self.num_segments, self.tam_cfg)
                               for block in plain))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args:
            x: ``[N * num_segments, in_channels, H, W]``, the frames of each clip consecutive.

        Returns:
            See :meth:`ResNet.forward`.
        """
        if x.dim() == 4 and x.shape[0] % self.num_segments != 0:
            raise ValueError(f'TANet(num_segments={self.num_segments}) takes a batch of '
                             f'N * {self.num_segments} frames (N, C, H, W). Got '
                             f'{tuple(x.shape)} instead! Set num_segments to the clip\'s '
                             f'frame count (num_clips * clip_len of SampleFrames).')
        return super().forward(x)
