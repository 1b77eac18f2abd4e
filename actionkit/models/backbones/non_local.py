"""Non-local blocks (Non-local Neural Networks, https://arxiv.org/abs/1711.07971).

Sub-module names follow mmcv's ``NonLocal3d`` so MMAction2 0.x checkpoints load: ``g``,
``theta``, ``phi`` (1x1 ConvModules, ``g.0`` / ``phi.0`` when ``sub_sample`` adds a max pool),
``conv_out`` (1x1 ConvModule with the optional norm), and ``concat_project`` in
'concatenation' mode.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..layers import ConvModule, constant_init, normal_init

__all__ = ['NonLocal2d', 'NonLocal3d']

_MODES = ('gaussian', 'embedded_gaussian', 'dot_product', 'concatenation')


class _NonLocalNd(nn.Module):
    """``x + conv_out(attention(x) @ g(x))`` over all positions of a 2D or 3D feature map.

    Args:
        in_channels (int): channels of the input.
        reduction (int): ``inter_channels = in_channels // reduction``. Default: 2.
        use_scale (bool): divide the 'embedded_gaussian' affinities by
            ``sqrt(inter_channels)``. Default: True.
        conv_cfg (dict | None): the 1x1 convs' config.
        norm_cfg (dict | None): norm after ``conv_out`` (e.g. ``dict(type='BN3d')``).
        mode (str): 'gaussian', 'embedded_gaussian', 'dot_product' or 'concatenation'.
        sub_sample (bool): max-pool ``g`` and ``phi`` spatially by 2. Default: False.
        std (float): std of the normal init of the 1x1 convs. Default: 0.01.
        zeros_init (bool): zero-initialise ``conv_out`` (its norm when present) so the block
            starts as the identity. Default: True.
    """

    _pool_cls: type[nn.Module] = nn.MaxPool3d
    _pool_kernel: tuple[int, ...] = (1, 2, 2)

    def __init__(self, in_channels: int, reduction: int = 2, use_scale: bool = True,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] | None = None, mode: str = 'embedded_gaussian',
                 sub_sample: bool = False, std: float = 0.01, zeros_init: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in _MODES:
            raise ValueError(f'{name}: mode must be one of {_MODES}, got {mode!r}')
        check_positive_int(name, 'reduction', reduction)
        self.in_channels = in_channels
        self.reduction = reduction
        self.use_scale = use_scale
        self.inter_channels = max(in_channels // reduction, 1)
        self.mode = mode
        self.sub_sample = sub_sample

        def conv1x1(cin: int, cout: int) -> ConvModule:
            return ConvModule(cin, cout, kernel_size=1, conv_cfg=conv_cfg, act_cfg=None)

        self.g: nn.Module = conv1x1(in_channels, self.inter_channels)
        self.conv_out = ConvModule(self.inter_channels, in_channels, kernel_size=1,
                                   conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        if mode != 'gaussian':
            self.theta = conv1x1(in_channels, self.inter_channels)
            self.phi: nn.Module = conv1x1(in_channels, self.inter_channels)
        if mode == 'concatenation':
            self.concat_project = ConvModule(self.inter_channels * 2, 1, kernel_size=1,
                                             bias=False, act_cfg=dict(type='ReLU'))
        if sub_sample:
            pool = self._pool_cls(kernel_size=self._pool_kernel)
            self.g = nn.Sequential(self.g, pool)
            self.phi = nn.Sequential(self.phi, pool) if mode != 'gaussian' else pool
        self.init_weights(std=std, zeros_init=zeros_init)

    @staticmethod
    def _conv_of(module: nn.Module) -> nn.Module:
        return module[0].conv if isinstance(module, nn.Sequential) else module.conv

    def init_weights(self, std: float = 0.01, zeros_init: bool = True) -> None:
        """Normal-initialise the embeddings; zero (or normal) ``conv_out``."""
        embeddings = [self.g] if self.mode == 'gaussian' else [self.g, self.theta, self.phi]
        for module in embeddings:
            normal_init(self._conv_of(module), std=std)
        target = self.conv_out.norm if self.conv_out.norm is not None else self.conv_out.conv
        if zeros_init:
            constant_init(target, 0.0)
        else:
            normal_init(target, std=std)

    def _affinity(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        if self.mode == 'concatenation':
            rows, cols = theta_x.size(2), phi_x.size(3)
            pair = torch.cat([theta_x.repeat(1, 1, 1, cols), phi_x.repeat(1, 1, rows, 1)], dim=1)
            weight = self.concat_project(pair)  # [N, 1, rows, cols]
            weight = weight.view(weight.size(0), weight.size(2), weight.size(3))
            return weight / weight.shape[-1]
        weight = torch.matmul(theta_x, phi_x)  # [N, positions, positions']
        if self.mode == 'dot_product':
            return weight / weight.shape[-1]
        if self.mode == 'embedded_gaussian' and self.use_scale:
            weight = weight / theta_x.shape[-1]**0.5
        return weight.softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x: ``[N, C, T, H, W]`` (3D) or ``[N, C, H, W]`` (2D).
        """
        n = x.size(0)
        g_x = self.g(x).view(n, self.inter_channels, -1).permute(0, 2, 1)  # [N, P', C']
        if self.mode == 'gaussian':
            theta_x = x.view(n, self.in_channels, -1).permute(0, 2, 1)
            source = self.phi(x) if self.sub_sample else x
            phi_x = source.reshape(n, self.in_channels, -1)
        elif self.mode == 'concatenation':
            theta_x = self.theta(x).view(n, self.inter_channels, -1, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, 1, -1)
        else:
            theta_x = self.theta(x).view(n, self.inter_channels, -1).permute(0, 2, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, -1)
        y = torch.matmul(self._affinity(theta_x, phi_x), g_x)  # [N, P, C']
        y = y.permute(0, 2, 1).contiguous().reshape(n, self.inter_channels, *x.shape[2:])
        return x + self.conv_out(y)


class NonLocal3d(_NonLocalNd):
    """Non-local block on ``[N, C, T, H, W]`` features (mmcv's ``NonLocal3d`` key names).

    Args:
        in_channels (int): input channels.
        sub_sample (bool): spatial 1x2x2 max pool on ``g`` and ``phi``. Default: False.
        conv_cfg (dict): Default: ``dict(type='Conv3d')``.
        reduction, use_scale, norm_cfg, mode, std, zeros_init: see ``_NonLocalNd``.
    """

    def __init__(self, in_channels: int, sub_sample: bool = False,
                 conv_cfg: Mapping[str, Any] | None = dict(type='Conv3d'), reduction: int = 2,
                 use_scale: bool = True, norm_cfg: Mapping[str, Any] | None = None,
                 mode: str = 'embedded_gaussian', std: float = 0.01,
                 zeros_init: bool = True) -> None:
        super().__init__(in_channels, reduction=reduction, use_scale=use_scale,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, mode=mode, sub_sample=sub_sample,
                         std=std, zeros_init=zeros_init)


class NonLocal2d(_NonLocalNd):
    """Non-local block on ``[N, C, H, W]`` features (2x2 max pool when ``sub_sample``)."""

    _pool_cls = nn.MaxPool2d
    _pool_kernel = (2, 2)

    def __init__(self, in_channels: int, sub_sample: bool = False,
                 conv_cfg: Mapping[str, Any] | None = dict(type='Conv2d'), reduction: int = 2,
                 use_scale: bool = True, norm_cfg: Mapping[str, Any] | None = None,
                 mode: str = 'embedded_gaussian', std: float = 0.01,
                 zeros_init: bool = True) -> None:
        super().__init__(in_channels, reduction=reduction, use_scale=use_scale,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, mode=mode, sub_sample=sub_sample,
                         std=std, zeros_init=zeros_init)
