"""MMAction2 1.x's ``AAGCN``: adaptive graph convolutions with spatial, temporal and channel
attention (``gcn_attention=False`` gives 2s-AGCN, as the 1.x ``2s-agcn`` configs use it).

Shi et al., "Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph Convolutional
Networks", https://arxiv.org/abs/1912.06971. Registered as ``AAGCN`` in
:data:`~actionkit.models.backbones.gcn_units_v1.GCN_BACKBONES_V1`; state-dict keys follow
1.x (``A``, ``data_bn``, ``gcn.{i}.gcn.{A, alpha, conv_a, conv_b, conv_d, conv_ta, conv_sa,
fc1c, fc2c, down, bn}``, ``gcn.{i}.tcn.*``, ``gcn.{i}.residual.*``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..layers import constant_init, kaiming_init, xavier_init
from .gcn_units_v1 import (GCN_BACKBONES_V1, UnitTCN, block_residual, build_graph_v1,
                           split_unit_kwargs, stage_kwargs)
from .stgcn_v1 import GraphBackboneV1, data_bn_layer, stage_channels

__all__ = ['AAGCN', 'AAGCNBlock', 'UnitAAGCN']


class UnitAAGCN(nn.Module):
    """Adaptive graph convolution (``A + alpha * tanh(attention)`` per subset) with optional
    spatial / temporal / channel attention.

    Args:
        in_channels, out_channels (int): channels.
        A (torch.Tensor): ``[K, V, V]`` adjacency.
        coff_embedding (int): the attention embedding is ``out_channels // coff_embedding``.
        adaptive (bool): learn ``A`` and a data-dependent attention graph.
        attention (bool): the spatial-temporal-channel attention after the graph conv.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor,
                 coff_embedding: int = 4, adaptive: bool = True, attention: bool = True) -> None:
        super().__init__()
        self.inter_c = out_channels // coff_embedding
        self.num_subset = A.shape[0]
        self.adaptive, self.attention = adaptive, attention
        joints = A.shape[-1]
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1)
                                    for _ in range(self.num_subset))
        if adaptive:
            self.A = nn.Parameter(A)
            self.alpha = nn.Parameter(torch.zeros(1))
            self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1)
                                        for _ in range(self.num_subset))
            self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1)
                                        for _ in range(self.num_subset))
        else:
            self.register_buffer('A', A)
        if attention:
            self.conv_ta = nn.Conv1d(out_channels, 1, 9, padding=4)
            kernel = joints if joints % 2 else joints - 1
            self.conv_sa = nn.Conv1d(out_channels, 1, kernel, padding=(kernel - 1) // 2)
            self.fc1c = nn.Linear(out_channels, out_channels // 2)
            self.fc2c = nn.Linear(out_channels // 2, out_channels)
        self.down = nn.Identity() if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.bn = nn.BatchNorm2d(out_channels)
        self.tan, self.sigmoid, self.relu = nn.Tanh(), nn.Sigmoid(), nn.ReLU(inplace=True)

    def init_weights(self) -> None:
        """1.x's init: Kaiming convs, ``conv_d`` per-branch normal, BN 1 (``bn`` 1e-6); the
        attention: zero ``conv_ta``, Xavier ``conv_sa``, Kaiming ``fc1c``, zero ``fc2c``."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                kaiming_init(module, mode='fan_out')
            elif isinstance(module, nn.BatchNorm2d):
                constant_init(module, 1)
        constant_init(self.bn, 1e-6)
        for conv in self.conv_d:
            out_c, in_c, k1 = conv.weight.shape[:3]
            nn.init.normal_(conv.weight, 0, math.sqrt(2. / (out_c * in_c * k1 * self.num_subset)))
            nn.init.zeros_(conv.bias)
        if self.attention:
            constant_init(self.conv_ta, 0)
            xavier_init(self.conv_sa)
            kaiming_init(self.fc1c, mode='fan_in')
            constant_init(self.fc2c, 0)

    def _graph_conv(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        flat = x.view(n, c * t, v)
        y = 0
        for i in range(self.num_subset):
            adj = self.A[i]
            if self.adaptive:
                a1 = self.conv_a[i](x).permute(0, 3, 1, 2).reshape(n, v, self.inter_c * t)
                a2 = self.conv_b[i](x).view(n, self.inter_c * t, v)
                adj = adj + self.tan(torch.matmul(a1, a2) / a1.size(-1)) * self.alpha
            y = y + self.conv_d[i](torch.matmul(flat, adj).view(n, c, t, v))
        return self.relu(self.bn(y) + self.down(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, V]`` -> ``[N, C_out, T, V]``."""
        y = self._graph_conv(x)
        if not self.attention:
            return y
        spatial = self.sigmoid(self.conv_sa(y.mean(-2)))  # N 1 V
        y = y * spatial.unsqueeze(-2) + y
        temporal = self.sigmoid(self.conv_ta(y.mean(-1)))  # N 1 T
        y = y * temporal.unsqueeze(-1) + y
        channel = self.sigmoid(self.fc2c(self.relu(self.fc1c(y.mean(-1).mean(-1)))))  # N C
        return y * channel[..., None, None] + y


class AAGCNBlock(nn.Module):
    """``relu(tcn(gcn(x)) + residual(x))`` with a :class:`UnitAAGCN` and a :class:`UnitTCN`.

    Args:
        in_channels, out_channels (int): channels.
        A (torch.Tensor): ``[K, V, V]`` adjacency.
        stride (int): temporal stride.
        residual (bool): add the (projected) input.
        **kwargs: ``gcn_*`` (:class:`UnitAAGCN`) and ``tcn_*`` (:class:`UnitTCN`) arguments.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, stride: int = 1,
                 residual: bool = True, **kwargs: Any) -> None:
        super().__init__()
        gcn_kwargs, tcn_kwargs = split_unit_kwargs(kwargs, 'AAGCN block')
        if gcn_kwargs.pop('type', 'unit_aagcn') != 'unit_aagcn' or \
                tcn_kwargs.pop('type', 'unit_tcn') != 'unit_tcn':
            raise ValueError("AAGCN: gcn_type must be 'unit_aagcn' and tcn_type 'unit_tcn' (as "
                             'in MMAction2 1.x)')
        self.gcn = UnitAAGCN(in_channels, out_channels, A, **gcn_kwargs)
        self.tcn = UnitTCN(out_channels, out_channels, 9, stride=stride, **tcn_kwargs)
        self.relu = nn.ReLU()
        self.residual = block_residual(in_channels, out_channels, stride, residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.tcn(self.gcn(x)) + self.residual(x))


@GCN_BACKBONES_V1.register_module('AAGCN')
class AAGCN(GraphBackboneV1):
    """1.x AAGCN backbone: ``[N, M, T, V, C]`` skeletons to ``[N, M, C', T', V]`` features.

    Args:
        graph_cfg (dict): :class:`~actionkit.models.skeleton_graph.GraphV1` arguments.
        in_channels (int): channels per joint. Default: 3.
        base_channels (int): channels of the first stage. Default: 64.
        data_bn_type (str | None): ``'MVC'`` (default), ``'VC'`` or None.
        num_person (int): ``M`` (for ``'MVC'``). Default: 2.
        num_stages (int): stages. Default: 10.
        inflate_stages, down_stages (list[int]): stages that double the channels / halve time.
        **kwargs: block arguments ``gcn_*`` / ``tcn_*``; a tuple of ``num_stages`` values sets
            one per stage.
    """

    init_units = (UnitTCN, UnitAAGCN)
    v1_name = 'AAGCN'

    def __init__(self, graph_cfg: Mapping[str, Any], in_channels: int = 3,
                 base_channels: int = 64, data_bn_type: str | None = 'MVC',
                 num_person: int = 2, num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8), down_stages: Sequence[int] = (5, 8),
                 pretrained: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.graph = build_graph_v1(graph_cfg, 'AAGCN')
        self.register_buffer('A', torch.tensor(self.graph.A, dtype=torch.float32))
        self.data_bn_type = data_bn_type
        self.data_bn = data_bn_layer(data_bn_type, num_person, in_channels, self.A.size(1),
                                     'AAGCN')
        self.in_channels, self.base_channels = in_channels, base_channels
        self.num_person = num_person
        self.inflate_stages, self.down_stages = list(inflate_stages), list(down_stages)
        plan = stage_channels(in_channels, base_channels, num_stages, inflate_stages,
                              down_stages, lambda c, inflate, _: c * (1 + inflate))
        self._build_blocks(AAGCNBlock, self.A, plan,
                           stage_kwargs(kwargs, num_stages, per_stage=(tuple,)))
        self.pretrained = pretrained
