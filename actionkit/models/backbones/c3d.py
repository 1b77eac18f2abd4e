"""C3D: eight 3x3x3 convolutions and two fully connected layers.

Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks",
https://arxiv.org/abs/1412.0767. Module names (``conv1a.conv``, ``fc6``, ``fc7``) follow
MMAction2 0.x so the Sports-1M checkpoint loads as is.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import ConvModule, constant_init, kaiming_init, normal_init
from .weights3d import load_3d_state_dict

__all__ = ['C3D']

logger = logging.getLogger(__name__)


@BACKBONES.register_module()
class C3D(nn.Module):
    """C3D backbone; returns the 4096-d ``fc7`` features.

    Args:
        pretrained: a checkpoint (local path or hub-cache URL) loaded in ``init_weights``, or
            ``None``.
        style: ``'pytorch'`` or ``'caffe'`` (kept for config compatibility; unused).
        conv_cfg: conv config; ``None`` means ``dict(type='Conv3d')``.
        norm_cfg: norm config for the convs, or ``None`` (the original C3D has none).
        act_cfg: activation config; ``None`` means ``dict(type='ReLU')``.
        out_dim: length of the flattened ``pool5`` output, 8192 for 16x112x112 clips; set it
            for other input sizes (see :meth:`flat_dim`).
        dropout_ratio: dropout after ``fc6``.
        init_std: std of the normal init of ``fc6`` and ``fc7``.

    Example:
        >>> model = C3D(out_dim=C3D.flat_dim(16, 32, 32))
        >>> model(torch.rand(1, 3, 16, 32, 32)).shape
        torch.Size([1, 4096])
    """

    def __init__(self, pretrained: str | None = None, style: str = 'pytorch',
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] | None = None,
                 act_cfg: Mapping[str, Any] | None = None, out_dim: int = 8192,
                 dropout_ratio: float = 0.5, init_std: float = 0.005) -> None:
        super().__init__()
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'C3D: pretrained must be a str or None, got {pretrained!r}')
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"C3D: style must be 'pytorch' or 'caffe', got {style!r}")
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'C3D: dropout_ratio must be in [0, 1), got {dropout_ratio}')
        self.pretrained, self.style = pretrained, style
        self.conv_cfg = dict(type='Conv3d') if conv_cfg is None else conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = dict(type='ReLU') if act_cfg is None else act_cfg
        self.out_dim, self.dropout_ratio, self.init_std = out_dim, dropout_ratio, init_std

        def conv(cin: int, cout: int) -> ConvModule:
            return ConvModule(cin, cout, (3, 3, 3), padding=(1, 1, 1), conv_cfg=self.conv_cfg,
                              norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

        self.conv1a = conv(3, 64)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2a = conv(64, 128)
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv3a, self.conv3b = conv(128, 256), conv(256, 256)
        self.pool3 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv4a, self.conv4b = conv(256, 512), conv(512, 512)
        self.pool4 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv5a, self.conv5b = conv(512, 512), conv(512, 512)
        self.pool5 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 1, 1))
        self.fc6 = nn.Linear(out_dim, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout_ratio)

    @staticmethod
    def flat_dim(frames: int, height: int, width: int) -> int:
        """Length of the flattened ``pool5`` output for a ``frames x height x width`` clip."""
        t, h, w = frames, height, width
        for _ in range(4):  # pool2 .. pool5 halve T (floor)
            t //= 2
        for _ in range(4):  # pool1 .. pool4 halve H and W
            h, w = h // 2, w // 2
        return 512 * t * (h // 2 + 1) * (w // 2 + 1) if h and w else 0  # pool5 pads H, W by 1

    def init_weights(self) -> None:
        """Load ``pretrained``, or Kaiming convs, normal(``init_std``) fc layers, unit BN."""
        if isinstance(self.pretrained, str):
            logger.info('C3D: loading %s', self.pretrained)
            load_3d_state_dict(self, self.pretrained)
            return
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
            elif isinstance(m, nn.Linear):
                normal_init(m, std=self.init_std)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                constant_init(m, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, 3, T, H, W]``. Returns ``[N, 4096]``."""
        if x.dim() != 5 or x.shape[1] != 3 or self.flat_dim(*x.shape[2:]) != self.out_dim:
            got = self.flat_dim(*x.shape[2:]) if x.dim() == 5 else None
            raise ValueError(
                f'C3D takes (N, 3, T, H, W) whose pool5 output flattens to out_dim={self.out_dim} '
                f'(16x112x112 clips for 8192); got shape {tuple(x.shape)}'
                + (f', which flattens to {got}' if got is not None else ''))
        x = self.pool1(self.conv1a(x))
        x = self.pool2(self.conv2a(x))
        x = self.pool3(self.conv3b(self.conv3a(x)))
        x = self.pool4(self.conv4b(self.conv4a(x)))
        x = self.pool5(self.conv5b(self.conv5a(x)))  # [N, 512, T/16, H/32 + 1, W/32 + 1]
        x = x.flatten(start_dim=1)
        x = self.dropout(self.relu(self.fc6(x)))
        return self.relu(self.fc7(x))
