"""``OmniResNet``: a ResNet-50-style network that takes images and videos (MMAction2 1.x).

The OmniSource backbone (https://arxiv.org/abs/2003.13042) as MMAction2 1.x builds it: every
layer is a 3D convolution (plain ``nn.Conv3d`` / ``nn.BatchNorm3d`` with momentum 0.01, no
``ConvModule`` wrappers, so the state-dict keys are ``conv1.weight``, ``bn1.running_mean``,
``layer1.0.conv1.weight``, ``layer1.0.downsample.0.weight`` ...). A video ``[N, C, T, H, W]``
runs through them as they are: SlowOnly-style, the first convolution of each bottleneck is
``1 x 1 x 1`` in ``layer1`` / ``layer2`` and ``3 x 1 x 1`` in ``layer3`` / ``layer4``.

An image ``[N, C, H, W]`` runs through the same parameters as 2D operations: a kernel of
temporal size 1 is squeezed, the ``3 x 1 x 1`` kernels are summed over time (what a clip of
one repeated frame would give, padding aside), and batch norm uses the 3D modules' statistics
and affine parameters (batch statistics in training mode, running ones in eval mode).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..builder import BACKBONES
from ..weights import read_checkpoint
from .init_cfg import load_init_cfg_checkpoint, pretrained_init_cfg

__all__ = ['OmniBottleneck', 'OmniResNet', 'inflate_2d_state_dict']

_BN_MOMENTUM = 0.01


def _bn(planes: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(planes, momentum=_BN_MOMENTUM)


def bn_as_2d(x: torch.Tensor, bn: nn.BatchNorm3d) -> torch.Tensor:
    """Apply a 3D batch-norm module to a 2D feature map ``[N, C, H, W]`` (its statistics
    and parameters; batch statistics when the module is training)."""
    training = bn.training
    return F.batch_norm(x, None if training else bn.running_mean,
                        None if training else bn.running_var, bn.weight, bn.bias,
                        training, bn.momentum, bn.eps)


def _spatial(conv: nn.Conv3d) -> torch.Tensor:
    """A 3D kernel as a 2D one: summed over its temporal extent (``[O, I, kH, kW]``)."""
    return conv.weight.sum(2)


class OmniBottleneck(nn.Module):
    """The bottleneck of :class:`OmniResNet` (1.x's ``BottleNeck`` in ``resnet_omni``).

    Args:
        inplanes (int): input channels.
        planes (int): the bottleneck's width; the output has ``4 * planes`` channels.
        temporal_kernel (int): temporal size of the first convolution, 1 or 3. Default: 3.
        spatial_stride (int): stride of the ``3 x 3`` convolution (and the shortcut).
            Default: 1.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, temporal_kernel: int = 3,
                 spatial_stride: int = 1) -> None:
        super().__init__()
        if temporal_kernel not in (1, 3):
            raise ValueError(f'OmniBottleneck: temporal_kernel must be 1 or 3, '
                             f'got {temporal_kernel!r}')
        out = planes * self.expansion
        self.conv1 = nn.Conv3d(inplanes, planes, (temporal_kernel, 1, 1),
                               padding=(temporal_kernel // 2, 0, 0), bias=False)
        self.conv2 = nn.Conv3d(planes, planes, (1, 3, 3), stride=(1, spatial_stride,
                                                                  spatial_stride),
                               padding=(0, 1, 1), bias=False)
        self.conv3 = nn.Conv3d(planes, out, 1, bias=False)
        self.bn1, self.bn2, self.bn3 = _bn(planes), _bn(planes), _bn(out)
        if inplanes != out or spatial_stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv3d(inplanes, out, 1, stride=(1, spatial_stride, spatial_stride),
                          bias=False), _bn(out))
        self.stride = spatial_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` (video) or ``[N, C, H, W]`` (image) in, same layout out."""
        if x.dim() == 4:
            return self.forward_2d(x)
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out)).relu()
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if hasattr(self, 'downsample') else x
        return (out + shortcut).relu()

    def forward_2d(self, x: torch.Tensor) -> torch.Tensor:
        """The same block on an image feature map, with the 3D kernels as 2D ones."""
        out = bn_as_2d(F.conv2d(x, _spatial(self.conv1)), self.bn1).relu()
        out = bn_as_2d(F.conv2d(out, _spatial(self.conv2), stride=self.stride, padding=1),
                       self.bn2).relu()
        out = bn_as_2d(F.conv2d(out, _spatial(self.conv3)), self.bn3)
        if hasattr(self, 'downsample'):
            x = bn_as_2d(F.conv2d(x, _spatial(self.downsample[0]), stride=self.stride),
                         self.downsample[1])
        return (out + x).relu()


def inflate_2d_state_dict(own: dict[str, torch.Tensor], state_2d: dict[str, torch.Tensor]
                          ) -> dict[str, torch.Tensor]:
    """``own`` with the entries of a 2D ResNet's state dict of the same names put in: a 4D
    kernel is repeated over the 3D kernel's ``T`` frames and divided by ``T``."""
    merged = dict(own)
    for key, target in own.items():
        if key not in state_2d:
            continue
        value = state_2d[key]
        if value.dim() == 4:
            frames = target.shape[2]
            value = value.unsqueeze(2).expand(-1, -1, frames, -1, -1) / frames
        merged[key] = value
    return merged


@BACKBONES.register_module()
class OmniResNet(nn.Module):
    """OmniSource's ResNet for images ``[N, 3, H, W]`` and videos ``[N, 3, T, H, W]``.

    Args:
        layers (sequence of int): bottlenecks per stage. Default: ``[3, 4, 6, 3]``
            (ResNet-50).
        pretrain_2d (str | None): a 2D ResNet checkpoint (torchvision key names) whose
            kernels are inflated into the 3D ones at construction (see
            :func:`inflate_2d_state_dict`). Default: None.
        init_cfg (dict | list | None): 1.x's ``init_cfg``; a ``Pretrained`` entry's checkpoint
            (its ``backbone.`` entries) is loaded by ``init_weights``; the layers otherwise
            keep PyTorch's default initialisation, as in 1.x's config. Default: None.

    The output is the last stage's map: ``[N, 2048, T, H / 32, W / 32]`` for a video,
    ``[N, 2048, H / 32, W / 32]`` for an image.
    """

    def __init__(self, layers: Sequence[int] = (3, 4, 6, 3), pretrain_2d: str | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        layers = list(layers)
        if len(layers) != 4 or not all(isinstance(n, int) and n > 0 for n in layers):
            raise ValueError(f'OmniResNet: layers must be 4 positive ints, got {layers!r}')
        self.layers = layers
        self.pretrain_2d = pretrain_2d
        self.init_cfg = init_cfg
        self._pretrained = pretrained_init_cfg('OmniResNet', init_cfg)
        self.inplanes = 64
        self.conv1 = nn.Conv3d(3, 64, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3),
                               bias=False)
        self.bn1 = _bn(64)
        self.pool3d = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        self.pool2d = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0], stride=1, temporal_kernel=1)
        self.layer2 = self._make_layer(128, layers[1], stride=2, temporal_kernel=1)
        self.layer3 = self._make_layer(256, layers[2], stride=2, temporal_kernel=3)
        self.layer4 = self._make_layer(512, layers[3], stride=2, temporal_kernel=3)
        if pretrain_2d is not None:
            self.init_from_2d(pretrain_2d)

    def _make_layer(self, planes: int, blocks: int, stride: int,
                    temporal_kernel: int) -> nn.Sequential:
        stage = []
        for i in range(blocks):
            stage.append(OmniBottleneck(self.inplanes, planes, temporal_kernel,
                                        stride if i == 0 else 1))
            self.inplanes = planes * OmniBottleneck.expansion
        return nn.Sequential(*stage)

    def init_from_2d(self, pretrain: str) -> None:
        """Load a 2D ResNet checkpoint, inflating its kernels (1.x's ``init_from_2d``)."""
        checkpoint = read_checkpoint(pretrain, map_location='cpu')
        state_2d = checkpoint.get('state_dict', checkpoint)
        self.load_state_dict(inflate_2d_state_dict(self.state_dict(), state_2d))

    def init_weights(self) -> None:
        """Load ``init_cfg``'s ``Pretrained`` checkpoint if any; otherwise the modules keep
        PyTorch's initialisation (or the inflated 2D weights of ``pretrain_2d``)."""
        if self._pretrained is not None:
            load_init_cfg_checkpoint(self, self._pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, 3, T, H, W]`` (video) or ``[N, 3, H, W]`` (image) -> the last stage's map."""
        if x.dim() == 4:
            x = bn_as_2d(F.conv2d(x, self.conv1.weight.squeeze(2), stride=2, padding=3),
                         self.bn1).relu()
            x = self.pool2d(x)
        elif x.dim() == 5:
            x = self.pool3d(self.bn1(self.conv1(x)).relu())
        else:
            raise ValueError('OmniResNet takes images [N, C, H, W] or videos [N, C, T, H, W]; '
                             f'got {tuple(x.shape)}')
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return x
