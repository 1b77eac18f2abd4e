"""MMAction2 1.x's ``STGCN``: ST-GCN and, with ``gcn_adaptive='init'``, ``gcn_with_res=True``,
``tcn_type='mstcn'``, ST-GCN++.

Yan et al., "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
Recognition", https://arxiv.org/abs/1801.07455; Duan et al., "PYSKL: Towards Good Practices
for Skeleton Action Recognition" (ST-GCN++), https://arxiv.org/abs/2205.09443.

Registered as ``STGCN`` in :data:`~actionkit.models.backbones.gcn_units_v1.GCN_BACKBONES_V1`
(built by ``RecognizerGCN``); 0.x's ``STGCN`` (:mod:`.stgcn`) is a different network.
State-dict keys follow 1.x: ``data_bn``, ``gcn.{i}.gcn.*``, ``gcn.{i}.tcn.*``,
``gcn.{i}.residual.{conv,bn}``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .gcn_units_v1 import (GCN_BACKBONES_V1, MSTCN, UnitGCN, UnitTCN, block_residual,
                           build_graph_v1, skeleton_frames_v1, split_unit_kwargs,
                           stage_kwargs)

__all__ = ['STGCNV1', 'STGCNBlockV1', 'GraphBackboneV1', 'stage_channels', 'data_bn_layer']

_EPS = 1e-4
_DATA_BN_TYPES = ('VC', 'MVC', None)


class STGCNBlockV1(nn.Module):
    """``relu(tcn(gcn(x)) + residual(x))`` with a :class:`UnitGCN` and a
    :class:`UnitTCN` (``tcn_type='unit_tcn'``) or :class:`MSTCN` (``'mstcn'``).

    Args:
        in_channels, out_channels (int): channels.
        A (torch.Tensor): ``[K, V, V]`` adjacency.
        stride (int): temporal stride.
        residual (bool): add the (projected) input.
        **kwargs: ``gcn_*`` (:class:`UnitGCN`) and ``tcn_*`` (the temporal unit, incl.
            ``tcn_type``) arguments.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, stride: int = 1,
                 residual: bool = True, **kwargs: Any) -> None:
        super().__init__()
        gcn_kwargs, tcn_kwargs = split_unit_kwargs(kwargs, 'STGCN block')
        tcn_type = tcn_kwargs.pop('type', 'unit_tcn')
        if gcn_kwargs.pop('type', 'unit_gcn') != 'unit_gcn' or \
                tcn_type not in ('unit_tcn', 'mstcn'):
            raise ValueError(f"STGCN: gcn_type must be 'unit_gcn' and tcn_type 'unit_tcn' or "
                             f"'mstcn', got {kwargs.get('gcn_type')!r}, {tcn_type!r}")
        self.gcn = UnitGCN(in_channels, out_channels, A, **gcn_kwargs)
        if tcn_type == 'unit_tcn':
            self.tcn = UnitTCN(out_channels, out_channels, 9, stride=stride, **tcn_kwargs)
        else:
            self.tcn = MSTCN(out_channels, out_channels, stride=stride, **tcn_kwargs)
        self.relu = nn.ReLU()
        self.residual = block_residual(in_channels, out_channels, stride, residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.residual(x)
        return self.relu(self.tcn(self.gcn(x)) + res)


def stage_channels(in_channels: int, base_channels: int, num_stages: int,
                   inflate_stages: Sequence[int], down_stages: Sequence[int],
                   widen: Any) -> list[tuple[int, int, int, bool]]:
    """``(in, out, stride, residual)`` per block: an unstrided, residual-free stem block when
    ``in_channels != base_channels``, then stages 2..``num_stages`` (a stage in
    ``inflate_stages`` widens with ``widen(channels, times_inflated)``, one in
    ``down_stages`` halves the frames)."""
    plan = [] if in_channels == base_channels else [(in_channels, base_channels, 1, False)]
    channels, inflated = base_channels, 0
    for i in range(2, num_stages + 1):
        inflated += i in inflate_stages
        out = widen(channels, i in inflate_stages, inflated)
        plan.append((channels, out, 1 + (i in down_stages), True))
        channels = out
    return plan


def data_bn_layer(data_bn_type: str | None, num_person: int, in_channels: int,
                  num_node: int, owner: str) -> nn.Module:
    """The input BN over ``M V C`` (``'MVC'``), ``V C`` (``'VC'``) features, or none."""
    if data_bn_type not in _DATA_BN_TYPES:
        raise ValueError(f"{owner}: data_bn_type must be 'VC', 'MVC' or None, got "
                         f'{data_bn_type!r}')
    if data_bn_type == 'MVC':
        return nn.BatchNorm1d(num_person * in_channels * num_node)
    if data_bn_type == 'VC':
        return nn.BatchNorm1d(in_channels * num_node)
    return nn.Identity()


class GraphBackboneV1(nn.Module):
    """What 1.x's graph backbones share: the blocks from a stage plan, the init, the forward.

    Subclasses set ``graph``, ``data_bn``, ``data_bn_type``, ``pretrained``, call
    :meth:`_build_blocks`, and name the units that :meth:`init_weights` initialises in
    ``init_units``.
    """

    init_units: tuple[type, ...] = (UnitTCN,)
    v1_name = 'graph backbone'  # the registered name, for messages

    def _build_blocks(self, block: type, adj: torch.Tensor, plan: list,
                      per_stage: list[dict[str, Any]]) -> None:
        offset = len(per_stage) - len(plan)  # 1 when the stem block is skipped
        self.gcn = nn.ModuleList(
            block(cin, cout, adj.clone(), stride, residual, **per_stage[i + offset])
            for i, (cin, cout, stride, residual) in enumerate(plan))
        self.num_stages = len(plan)

    def init_weights(self) -> None:
        """Load ``pretrained``, or 1.x's init of ``init_units`` (others keep PyTorch's)."""
        if self.pretrained is not None:
            from ..weights import load_checkpoint
            load_checkpoint(self, self.pretrained, strict=False)
            return
        for module in self.modules():
            if isinstance(module, self.init_units):
                module.init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, M, T, V, C]`` -> ``[N, M, C', T', V]``."""
        n, m = x.shape[:2]
        x = skeleton_frames_v1(x, self.data_bn, self.data_bn_type, self.graph.num_node,
                               self.v1_name)
        for block in self.gcn:
            x = block(x)
        return x.reshape((n, m) + x.shape[1:])


@GCN_BACKBONES_V1.register_module('STGCN')
class STGCNV1(GraphBackboneV1):
    """1.x ST-GCN backbone: ``[N, M, T, V, C]`` skeletons to ``[N, M, C', T', V]`` features.

    Args:
        graph_cfg (dict): :class:`~actionkit.models.skeleton_graph.GraphV1` arguments
            (``layout``, ``mode``, ``max_hop``).
        in_channels (int): channels per joint. Default: 3.
        base_channels (int): channels of the first stage. Default: 64.
        data_bn_type (str | None): ``'VC'``, ``'MVC'`` or None. Default: ``'VC'``.
        ch_ratio (int): widening factor at each inflate stage. Default: 2.
        num_person (int): ``M`` (for ``'MVC'``). Default: 2.
        num_stages (int): stages. Default: 10.
        inflate_stages, down_stages (list[int]): stages that widen / halve time.
        **kwargs: block arguments ``gcn_*`` / ``tcn_*``; a list of ``num_stages`` values sets
            one per stage.

    Example:
        >>> net = STGCNV1(dict(layout='coco', mode='stgcn_spatial'))
        >>> net(torch.rand(2, 2, 8, 17, 3)).shape
        torch.Size([2, 2, 256, 2, 17])
    """

    v1_name = 'STGCN'

    def __init__(self, graph_cfg: Mapping[str, Any], in_channels: int = 3,
                 base_channels: int = 64, data_bn_type: str | None = 'VC', ch_ratio: int = 2,
                 num_person: int = 2, num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8), down_stages: Sequence[int] = (5, 8),
                 pretrained: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.graph = build_graph_v1(graph_cfg, 'STGCN')
        adj = torch.tensor(self.graph.A, dtype=torch.float32)
        self.data_bn_type = data_bn_type
        self.data_bn = data_bn_layer(data_bn_type, num_person, in_channels, adj.size(1),
                                     'STGCN')
        self.in_channels, self.base_channels, self.ch_ratio = in_channels, base_channels, ch_ratio
        self.inflate_stages, self.down_stages = list(inflate_stages), list(down_stages)
        plan = stage_channels(in_channels, base_channels, num_stages, inflate_stages,
                              down_stages,
                              lambda c, _, times: int(base_channels * ch_ratio ** times + _EPS))
        self._build_blocks(STGCNBlockV1, adj, plan, stage_kwargs(kwargs, num_stages))
        self.pretrained = pretrained
