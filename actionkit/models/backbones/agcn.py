"""2s-AGCN: adaptive graph convolutions (one stream; the joint and bone streams are two
models whose scores are fused).

Shi, Zhang, Cheng and Lu, "Two-Stream Adaptive Graph Convolutional Networks for
Skeleton-Based Action Recognition", CVPR 2019, https://arxiv.org/abs/1805.07694. Module names
follow MMAction2 0.x (``agcn_networks.{i}.gcn.{PA, conv_a, conv_b, conv_d, down, bn}``,
``.tcn.{0,1}``, ``.residual.{0,1}``, ``data_bn``, the buffer ``A``).

Initialisation: MMAction2 0.24.1's AGCN calls mmcv's init helpers on weight tensors instead of
modules, where they do nothing, so its layers keep PyTorch's default init (and ``PA`` 1e-6);
this port does the same, so that training from scratch behaves the same.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..skeleton_graph import Graph
from ..weights import load_checkpoint
from .stgcn import _STAGES, TEMPORAL_KERNEL, GCNBlock, _residual, gcn_input_to_frames

__all__ = ['AGCN', 'AGCNBlock', 'AdaptiveGraphConv']

_NUM_SUBSETS = 3


class AdaptiveGraphConv(nn.Module):
    """Graph convolution over ``A + PA + softmax(attention)`` for each of the 3 subsets.

    Args:
        in_channels, out_channels (int): channels.
        kernel_size (int): adjacency partitions (3).
        adj_len (int): joints ``V``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 adj_len: int = 17) -> None:
        super().__init__()
        if kernel_size != _NUM_SUBSETS:
            raise ValueError(f"AGCN needs a graph with 3 partitions (strategy='agcn'), got "
                             f'{kernel_size}')
        self.kernel_size = kernel_size
        self.num_subset = _NUM_SUBSETS
        self.PA = nn.Parameter(torch.full((_NUM_SUBSETS, adj_len, adj_len), 1e-6))
        self.inter_c = out_channels // 4
        self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1)
                                    for _ in range(_NUM_SUBSETS))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1)
                                    for _ in range(_NUM_SUBSETS))
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1)
                                    for _ in range(_NUM_SUBSETS))
        self.down = _residual(in_channels, out_channels, 1, True, nn.Identity())
        self.bn = nn.BatchNorm2d(out_channels)
        self.soft = nn.Softmax(-2)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor, adj_mat: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``[N, C, T, V]`` -> ``[N, C_out, T, V]``."""
        n, c, t, v = x.shape
        adj = adj_mat + self.PA
        y = None
        for i in range(self.num_subset):
            a1 = self.conv_a[i](x).permute(0, 3, 1, 2).reshape(n, v, self.inter_c * t)
            a2 = self.conv_b[i](x).view(n, self.inter_c * t, v)
            attention = self.soft(torch.matmul(a1, a2) / a1.size(-1)) + adj[i]  # [N, V, V]
            z = self.conv_d[i](torch.matmul(x.view(n, c * t, v), attention).view(n, c, t, v))
            y = z if y is None else z + y
        y = self.bn(y) + self.down(x)
        return self.relu(y), adj_mat


class AGCNBlock(GCNBlock):
    """Adaptive graph convolution, then temporal conv-BN-dropout, plus a residual, then ReLU.

    Args:
        in_channels, out_channels (int): channels.
        kernel_size (tuple[int, int]): (temporal kernel, odd; 3 partitions).
        stride (int): temporal stride.
        adj_len (int): joints ``V``.
        dropout (float): dropout rate.
        residual (bool): add the (projected) input.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int],
                 stride: int = 1, adj_len: int = 17, dropout: float = 0,
                 residual: bool = True) -> None:
        padding = self._temporal_padding(kernel_size, 'AGCNBlock')
        super().__init__(in_channels, out_channels, stride, residual)
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, kernel_size[1], adj_len)
        self.tcn = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, (kernel_size[0], 1), (stride, 1), padding),
            nn.BatchNorm2d(out_channels), nn.Dropout(dropout, inplace=True))


@BACKBONES.register_module()
class AGCN(nn.Module):
    """2s-AGCN backbone: ``[N, C, T, V, M]`` skeletons to ``[N M, 256, T / 4, V]`` features.

    Args:
        in_channels (int): channels per joint.
        graph_cfg (dict): :class:`~actionkit.models.skeleton_graph.Graph` arguments
            (``strategy='agcn'``).
        data_bn (bool): batch-normalize the input per joint and channel.
        pretrained (str | None): a checkpoint loaded by ``init_weights``.
        dropout (float): dropout in every block but the first.
    """

    def __init__(self, in_channels: int, graph_cfg: Mapping[str, Any], data_bn: bool = True,
                 pretrained: str | None = None, dropout: float = 0) -> None:
        super().__init__()
        self.graph = Graph(**graph_cfg)
        self.register_buffer('A', torch.tensor(self.graph.A, dtype=torch.float32))
        kernel_size = (TEMPORAL_KERNEL, self.A.size(0))
        num_node = self.A.size(1)
        self.data_bn = nn.BatchNorm1d(in_channels * num_node) if data_bn else nn.Identity()
        blocks, channels = [], in_channels
        for i, (out_channels, stride) in enumerate(_STAGES):
            blocks.append(AGCNBlock(channels, out_channels, kernel_size, stride,
                                    adj_len=num_node, dropout=dropout if i else 0,
                                    residual=i > 0))
            channels = out_channels
        self.agcn_networks = nn.ModuleList(blocks)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """Load ``pretrained``; otherwise keep the construction-time init (see above)."""
        if isinstance(self.pretrained, str):
            load_checkpoint(self, self.pretrained, strict=False)
        elif self.pretrained is not None:
            raise TypeError(f'AGCN: pretrained must be a str or None, got {self.pretrained!r}')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, C, T, V, M]`` -> ``[N M, 256, T', V]``."""
        x = gcn_input_to_frames(x, self.data_bn, self.A.size(1), 'AGCN')
        for block in self.agcn_networks:
            x, _ = block(x, self.A)
        return x
