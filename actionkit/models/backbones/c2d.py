"""``C2D``: a 2D ResNet run on every frame, with two temporal max pools (MMAction2 1.x).

The C2D baseline of Non-local Neural Networks, https://arxiv.org/abs/1711.07971, as the
video-nonlocal-net code trains it: the ResNet's stem and stages see each frame as an image;
after the stem a ``1 x 3 x 3`` max pool (stride ``1 x 2 x 2``, no padding) replaces the 2D
one, and after the first stage a ``2 x 1 x 1`` max pool halves the frames. Parameter names are
the ResNet's (``conv1.conv``, ``layer1.0.conv1.conv`` ...), so ImageNet ResNet weights and 1.x
C2D checkpoints load as they are.
"""
from __future__ import annotations

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import ConvModule
from .resnet import ResNet

__all__ = ['C2D']


def _frames_as_batch(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, T, H, W]`` -> ``[N * T, C, H, W]``."""
    return x.transpose(1, 2).reshape(-1, *x.shape[1:2], *x.shape[3:])


def _batch_as_frames(x: torch.Tensor, batches: int) -> torch.Tensor:
    """``[N * T, C, H, W]`` -> ``[N, C, T, H, W]``."""
    return x.reshape(batches, -1, *x.shape[1:]).transpose(1, 2)


@BACKBONES.register_module()
class C2D(ResNet):
    """C2D backbone: the arguments of :class:`ResNet`; input ``[N, C, T, H, W]``, output
    ``[N, C', T / 2, H', W']`` per stage in ``out_indices``."""

    def _make_stem_layer(self) -> None:
        """The ResNet's 7x7 conv, then the two temporal max pools of C2D."""
        self.conv1 = ConvModule(self.in_channels, self.base_channels, kernel_size=7, stride=2,
                                padding=3, bias=False, conv_cfg=self.conv_cfg,
                                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.maxpool3d_1 = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2))
        self.maxpool3d_2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args:
            x: ``[N, in_channels, T, H, W]``.

        Returns:
            The last stage in ``out_indices`` as ``[N, C, T', H', W']``, or a tuple of them.
        """
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f'C2D takes an input of shape (N, C, T, H, W) with C = in_channels '
                             f'= {self.in_channels}. Got {tuple(x.shape)} instead!')
        batches = x.shape[0]
        x = _batch_as_frames(self.conv1(_frames_as_batch(x)), batches)
        x = _frames_as_batch(self.maxpool3d_1(x))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i == 0:
                x = _frames_as_batch(self.maxpool3d_2(_batch_as_frames(x, batches)))
            if i in self.out_indices:
                outs.append(_batch_as_frames(x, batches))
        return outs[0] if len(outs) == 1 else tuple(outs)
