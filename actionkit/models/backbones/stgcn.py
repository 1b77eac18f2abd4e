"""ST-GCN: spatial temporal graph convolutions over skeleton sequences.

Yan, Xiong and Lin, "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
Recognition", AAAI 2018, https://arxiv.org/abs/1801.07455. Module names follow MMAction2 0.x
(``st_gcn_networks.{i}.gcn.conv``, ``.tcn.{0,2,3}``, ``.residual.{0,1}``, ``edge_importance.{i}``,
``data_bn``, the buffer ``A``), so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import constant_init, kaiming_init, normal_init
from ..skeleton_graph import Graph
from ..weights import load_checkpoint

__all__ = ['STGCN', 'GCNBlock', 'STGCNBlock', 'ConvTemporalGraphical', 'gcn_input_to_frames']

_STAGES = ((64, 1), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2),
           (256, 1), (256, 1))  # (out_channels, temporal stride) of the ten blocks
TEMPORAL_KERNEL = 9


class _Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> Any:
        return 0


class ConvTemporalGraphical(nn.Module):
    """A 1 x 1 convolution into ``K`` channel groups, each mixed over joints by ``A[k]``.

    Args:
        in_channels, out_channels (int): channels.
        kernel_size (int): ``K``, the number of adjacency partitions.
        t_kernel_size, t_stride, t_padding, t_dilation (int): the temporal convolution.
        bias (bool): conv bias.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 t_kernel_size: int = 1, t_stride: int = 1, t_padding: int = 0,
                 t_dilation: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels * kernel_size,
                              kernel_size=(t_kernel_size, 1), padding=(t_padding, 0),
                              stride=(t_stride, 1), dilation=(t_dilation, 1), bias=bias)

    def forward(self, x: torch.Tensor, adj_mat: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``[N, C, T, V]``, ``adj_mat`` ``[K, V, V]`` -> ``[N, C_out, T, V]``."""
        if adj_mat.size(0) != self.kernel_size:
            raise ValueError(f'ConvTemporalGraphical: the adjacency has {adj_mat.size(0)} '
                             f'partitions, the layer {self.kernel_size}')
        x = self.conv(x)
        n, kc, t, v = x.shape
        x = x.view(n, self.kernel_size, kc // self.kernel_size, t, v)
        return torch.einsum('nkctv,kvw->nctw', x, adj_mat).contiguous(), adj_mat


class GCNBlock(nn.Module):
    """``relu(tcn(gcn(x, A)) + residual(x))``: the block shape of ST-GCN and 2s-AGCN.

    Subclasses build ``gcn`` (graph convolution), ``tcn`` (temporal convolution) and
    ``residual`` in ``__init__``, after :meth:`_temporal_padding` has checked the kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, residual: bool
                 ) -> None:
        super().__init__()
        self.residual = _residual(in_channels, out_channels, stride, residual, _Zero())
        self.relu = nn.ReLU(inplace=True)

    @staticmethod
    def _temporal_padding(kernel_size: tuple[int, int], owner: str) -> tuple[int, int]:
        if len(kernel_size) != 2 or kernel_size[0] % 2 != 1:
            raise ValueError(f'{owner}: kernel_size must be (odd temporal size, partitions), '
                             f'got {kernel_size!r}')
        return (kernel_size[0] - 1) // 2, 0

    def forward(self, x: torch.Tensor, adj_mat: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        res = self.residual(x)
        x, adj_mat = self.gcn(x, adj_mat)
        return self.relu(self.tcn(x) + res), adj_mat


class STGCNBlock(GCNBlock):
    """Graph convolution, then BN-ReLU-temporal conv-BN-dropout, plus a residual, then ReLU.

    Args:
        in_channels, out_channels (int): channels.
        kernel_size (tuple[int, int]): (temporal kernel, odd; adjacency partitions).
        stride (int): temporal stride.
        dropout (float): dropout rate.
        residual (bool): add the (projected) input.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int],
                 stride: int = 1, dropout: float = 0, residual: bool = True) -> None:
        padding = self._temporal_padding(kernel_size, 'STGCNBlock')
        super().__init__(in_channels, out_channels, stride, residual)
        self.gcn = ConvTemporalGraphical(in_channels, out_channels, kernel_size[1])
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (kernel_size[0], 1), (stride, 1), padding),
            nn.BatchNorm2d(out_channels), nn.Dropout(dropout, inplace=True))


def _residual(in_channels: int, out_channels: int, stride: int, residual: bool,
              none: nn.Module) -> nn.Module:
    """The residual branch: ``none``, identity, or a strided 1 x 1 conv + BN."""
    if not residual:
        return none
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                         nn.BatchNorm2d(out_channels))


def gcn_input_to_frames(x: torch.Tensor, data_bn: nn.Module, num_node: int,
                        owner: str) -> torch.Tensor:
    """``[N, C, T, V, M]`` -> data-BN per (joint, channel) -> ``[N M, C, T, V]``."""
    if x.dim() != 5 or x.shape[3] != num_node:
        raise ValueError(f'{owner} takes skeletons of shape (N, C, T, V={num_node}, M), got '
                         f'{tuple(x.shape)} (V must match the graph layout)')
    x = x.float()
    n, c, t, v, m = x.shape
    x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)  # N M V C T
    x = data_bn(x)
    x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2)
    return x.reshape(n * m, c, t, v)


@BACKBONES.register_module()
class STGCN(nn.Module):
    """ST-GCN backbone: ``[N, C, T, V, M]`` skeletons to ``[N M, 256, T / 4, V]`` features.

    Args:
        in_channels (int): channels per joint (3: x, y, score or x, y, z).
        graph_cfg (dict): :class:`~actionkit.models.skeleton_graph.Graph` arguments
            (``layout``, ``strategy``, ``max_hop``, ``dilation``).
        edge_importance_weighting (bool): learn a weight per adjacency entry for each block.
        data_bn (bool): batch-normalize the input per joint and channel.
        pretrained (str | None): a checkpoint loaded by ``init_weights``.
        dropout (float): dropout in every block but the first.

    Example:
        >>> net = STGCN(3, dict(layout='coco', strategy='spatial'))
        >>> net(torch.rand(2, 3, 8, 17, 1)).shape
        torch.Size([2, 256, 2, 17])
    """

    def __init__(self, in_channels: int, graph_cfg: Mapping[str, Any],
                 edge_importance_weighting: bool = True, data_bn: bool = True,
                 pretrained: str | None = None, dropout: float = 0) -> None:
        super().__init__()
        self.graph = Graph(**graph_cfg)
        self.register_buffer('A', torch.tensor(self.graph.A, dtype=torch.float32))
        kernel_size = (TEMPORAL_KERNEL, self.A.size(0))
        self.data_bn = nn.BatchNorm1d(in_channels * self.A.size(1)) if data_bn \
            else nn.Identity()
        blocks, channels = [], in_channels
        for i, (out_channels, stride) in enumerate(_STAGES):
            blocks.append(STGCNBlock(channels, out_channels, kernel_size, stride,
                                     dropout=dropout if i else 0, residual=i > 0))
            channels = out_channels
        self.st_gcn_networks = nn.ModuleList(blocks)
        self.edge_importance_weighting = bool(edge_importance_weighting)
        if self.edge_importance_weighting:
            self.edge_importance = nn.ParameterList(
                [nn.Parameter(torch.ones(self.A.size())) for _ in blocks])
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """Load ``pretrained``, or Kaiming-init the convs and set the BNs to 1 / 0."""
        if isinstance(self.pretrained, str):
            load_checkpoint(self, self.pretrained, strict=False)
            return
        if self.pretrained is not None:
            raise TypeError(f'STGCN: pretrained must be a str or None, got {self.pretrained!r}')
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m)
            elif isinstance(m, nn.Linear):
                normal_init(m)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                constant_init(m, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, C, T, V, M]`` -> ``[N M, 256, T', V]``."""
        x = gcn_input_to_frames(x, self.data_bn, self.A.size(1), 'STGCN')
        for i, block in enumerate(self.st_gcn_networks):
            adj = self.A * self.edge_importance[i] if self.edge_importance_weighting else self.A
            x, _ = block(x, adj)
        return x
