"""Building blocks of MMAction2 1.x's graph backbones (``STGCN`` / ST-GCN++, ``AAGCN``).

1.x reuses the name ``STGCN`` for a different network than 0.x's, so its graph backbones live
in their own registry, :data:`GCN_BACKBONES_V1`, which only ``RecognizerGCN`` (a 1.x-only
recognizer) builds from; ``STGCN`` in ``BACKBONES`` keeps its 0.x meaning for ``SkeletonGCN``.

Module names follow 1.x (``gcn``/``tcn``/``residual`` per block; ``conv``, ``bn``, ``A``,
``PA``, ``down`` in the graph unit; ``branches``/``transform`` in the multi-scale temporal
unit), so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...registry import Registry
from ..layers import constant_init, kaiming_init
from ..skeleton_graph import GraphV1
from .stgcn import gcn_input_to_frames

__all__ = ['GCN_BACKBONES_V1', 'UnitGCN', 'UnitTCN', 'MSTCN', 'ZeroResidual', 'block_residual',
           'split_unit_kwargs', 'stage_kwargs', 'skeleton_frames_v1', 'build_graph_v1']

#: 1.x graph backbones (``STGCN``, ``AAGCN``), built by ``RecognizerGCN``
GCN_BACKBONES_V1 = Registry('1.x graph backbone')

_ADAPTIVE = (None, 'init', 'offset', 'importance')
_MS_CFG = ((3, 1), (3, 2), (3, 3), (3, 4), ('max', 3), '1x1')


def build_graph_v1(graph_cfg: Mapping[str, Any], owner: str) -> GraphV1:
    """:class:`GraphV1` from a 1.x ``graph_cfg``; a 0.x one (``strategy``) says what to change."""
    if not isinstance(graph_cfg, Mapping):
        raise TypeError(f'{owner}: graph_cfg must be a dict, got {type(graph_cfg).__name__}')
    if 'strategy' in graph_cfg:
        raise ValueError(f"{owner}: graph_cfg has 'strategy', an MMAction2 0.x key: 1.x's "
                         f"{owner} (in RecognizerGCN) takes graph_cfg=dict(layout=..., mode=...)"
                         f"; a 0.x config uses SkeletonGCN, whose {owner} takes 'strategy'")
    return GraphV1(**graph_cfg)


class ZeroResidual(nn.Module):
    """The residual of a block without one: adds 0."""

    def forward(self, x: torch.Tensor) -> Any:
        return 0


class UnitTCN(nn.Module):
    """Temporal conv (``kernel_size`` x 1, dilated, strided), BN (or none), dropout.

    Args:
        in_channels, out_channels (int): channels.
        kernel_size, stride, dilation (int): the temporal convolution.
        norm (str | None): ``'BN'`` or None (no normalisation).
        dropout (float): dropout rate.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 9,
                 stride: int = 1, dilation: int = 1, norm: str | None = 'BN',
                 dropout: float = 0) -> None:
        super().__init__()
        if norm not in ('BN', None) and norm != dict(type='BN'):
            raise ValueError(f"UnitTCN: norm must be 'BN' or None, got {norm!r}")
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size, 1), (stride, 1),
                              (pad, 0), (dilation, 1))
        self.bn = nn.BatchNorm2d(out_channels) if norm is not None else nn.Identity()
        self.drop = nn.Dropout(dropout, inplace=True)

    def init_weights(self) -> None:
        """Kaiming (fan_out) conv, BN weight 1 (1.x's default for this unit)."""
        kaiming_init(self.conv, mode='fan_out')
        if isinstance(self.bn, nn.BatchNorm2d):
            constant_init(self.bn, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(self.conv(x)))


class UnitGCN(nn.Module):
    """Graph convolution ``act(bn(sum_k A_k-mix(conv(x))) + res)``.

    Args:
        in_channels, out_channels (int): channels.
        A (torch.Tensor): ``[K, V, V]`` adjacency.
        adaptive (str | None): None (fixed ``A``), ``'init'`` (``A`` learned),
            ``'offset'`` (``A + PA``) or ``'importance'`` (``A * PA``).
        conv_pos (str): the 1 x 1 conv before (``'pre'``) or after (``'post'``) the mixing.
        with_res (bool): add a (projected) input inside the unit.
    """

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor,
                 adaptive: str | None = 'importance', conv_pos: str = 'pre',
                 with_res: bool = False, norm: str = 'BN', act: str = 'ReLU') -> None:
        super().__init__()
        if adaptive not in _ADAPTIVE or conv_pos not in ('pre', 'post'):
            raise ValueError(f"UnitGCN: adaptive must be one of {_ADAPTIVE} and conv_pos 'pre' "
                             f"or 'post', got {adaptive!r}, {conv_pos!r}")
        if norm not in ('BN', dict(type='BN')) or act not in ('ReLU', dict(type='ReLU')):
            raise ValueError(f"UnitGCN: only norm='BN' and act='ReLU' are supported, got "
                             f'{norm!r}, {act!r}')
        self.num_subsets = A.size(0)
        self.adaptive, self.conv_pos, self.with_res = adaptive, conv_pos, with_res
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        if adaptive == 'init':
            self.A = nn.Parameter(A.clone())
        else:
            self.register_buffer('A', A)
        if adaptive == 'offset':
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        elif adaptive == 'importance':
            self.PA = nn.Parameter(torch.ones_like(A))
        k = self.num_subsets
        self.conv = nn.Conv2d(in_channels, out_channels * k, 1) if conv_pos == 'pre' \
            else nn.Conv2d(k * in_channels, out_channels, 1)
        if with_res:
            self.down = nn.Identity() if in_channels == out_channels else nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))

    def adjacency(self) -> torch.Tensor:
        """``A`` with the learned ``PA`` applied."""
        if self.adaptive == 'offset':
            return self.A + self.PA
        if self.adaptive == 'importance':
            return self.A * self.PA
        return self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, V]`` -> ``[N, C_out, T, V]``."""
        n, _, t, v = x.shape
        res = self.down(x) if self.with_res else 0
        adj = self.adjacency()
        if self.conv_pos == 'pre':
            x = self.conv(x).view(n, self.num_subsets, -1, t, v)
            x = torch.einsum('nkctv,kvw->nctw', x, adj).contiguous()
        else:
            x = torch.einsum('nctv,kvw->nkctw', x, adj).contiguous().view(n, -1, t, v)
            x = self.conv(x)
        return self.act(self.bn(x) + res)


def _mstcn_branch(spec: Any, in_channels: int, channels: int, stride: int) -> nn.Module:
    if spec == '1x1':
        return nn.Conv2d(in_channels, channels, kernel_size=1, stride=(stride, 1))
    if not isinstance(spec, (tuple, list)) or len(spec) != 2:
        raise ValueError(f"MSTCN: each ms_cfg entry is '1x1', ('max', k) or (kernel, "
                         f'dilation), got {spec!r}')
    head = [nn.Conv2d(in_channels, channels, kernel_size=1), nn.BatchNorm2d(channels),
            nn.ReLU()]
    if spec[0] == 'max':
        return nn.Sequential(*head, nn.MaxPool2d((spec[1], 1), (stride, 1), (1, 0)))
    return nn.Sequential(*head, UnitTCN(channels, channels, spec[0], stride, spec[1],
                                        norm=None))


class MSTCN(nn.Module):
    """ST-GCN++'s multi-scale temporal conv: parallel branches, concatenated, BN-ReLU-1x1
    conv, BN, dropout.

    Args:
        in_channels, out_channels (int): channels.
        mid_channels (float | None): a branch's share of ``out_channels`` (None: an equal
            split, the first branch taking the remainder).
        dropout (float): dropout rate.
        ms_cfg (sequence): the branches: ``(kernel, dilation)``, ``('max', kernel)``, ``'1x1'``.
        stride (int): temporal stride.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: float | None = None,
                 dropout: float = 0., ms_cfg: Sequence[Any] = _MS_CFG, stride: int = 1) -> None:
        super().__init__()
        num = len(ms_cfg)
        if mid_channels is None:
            mid = out_channels // num
            first = out_channels - mid * (num - 1)
        else:
            if not isinstance(mid_channels, float) or mid_channels <= 0:
                raise ValueError(f'MSTCN: mid_channels must be a float > 0, got {mid_channels!r}')
            mid = first = int(out_channels * mid_channels)
        self.branches = nn.ModuleList(
            _mstcn_branch(spec, in_channels, first if i == 0 else mid, stride)
            for i, spec in enumerate(ms_cfg))
        concat = mid * (num - 1) + first
        self.transform = nn.Sequential(nn.BatchNorm2d(concat), nn.ReLU(),
                                       nn.Conv2d(concat, out_channels, kernel_size=1))
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([branch(x) for branch in self.branches], dim=1)
        return self.drop(self.bn(self.transform(x)))


def split_unit_kwargs(kwargs: Mapping[str, Any], owner: str
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``gcn_*`` and ``tcn_*`` block arguments, prefixes removed; anything else is an error."""
    gcn = {k[4:]: v for k, v in kwargs.items() if k.startswith('gcn_')}
    tcn = {k[4:]: v for k, v in kwargs.items() if k.startswith('tcn_')}
    rest = sorted(k for k in kwargs if not k.startswith(('gcn_', 'tcn_')))
    if rest:
        raise TypeError(f'{owner}: unexpected arguments {rest} (block arguments start with '
                        "'gcn_' or 'tcn_')")
    return gcn, tcn


def stage_kwargs(kwargs: Mapping[str, Any], num_stages: int,
                 per_stage: tuple[type, ...] = (tuple, list)) -> list[dict[str, Any]]:
    """One argument dict per stage: a ``per_stage`` value of length ``num_stages`` is split
    over the stages; the first stage never gets ``tcn_dropout`` (as in 1.x)."""
    out = [copy.deepcopy(dict(kwargs)) for _ in range(num_stages)]
    for key, value in kwargs.items():
        if isinstance(value, per_stage) and len(value) == num_stages:
            for i in range(num_stages):
                out[i][key] = value[i]
    out[0].pop('tcn_dropout', None)
    return out


def block_residual(in_channels: int, out_channels: int, stride: int, residual: bool
                   ) -> nn.Module:
    """A block's residual: none, identity, or a strided 1 x 1 :class:`UnitTCN`."""
    if not residual:
        return ZeroResidual()
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return UnitTCN(in_channels, out_channels, kernel_size=1, stride=stride)


def skeleton_frames_v1(x: torch.Tensor, data_bn: nn.Module, data_bn_type: str | None,
                       num_node: int, owner: str) -> torch.Tensor:
    """1.x's input ``[N, M, T, V, C]`` -> data BN (per ``V C`` or per ``M V C``) ->
    ``[N M, C, T, V]``."""
    if x.dim() != 5 or x.shape[3] != num_node:
        raise ValueError(f'{owner} takes skeletons of shape (N, M, T, V={num_node}, C), got '
                         f'{tuple(x.shape)} (V must match the graph layout)')
    if data_bn_type != 'MVC':
        return gcn_input_to_frames(x.permute(0, 4, 2, 3, 1), data_bn, num_node, owner)
    n, m, t, v, c = x.shape
    x = data_bn(x.float().permute(0, 1, 3, 4, 2).reshape(n, m * v * c, t))
    return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
