"""Skeleton graphs for the GCN backbones (ST-GCN, 2s-AGCN): joints, bones and the partitioned
adjacency matrices ``A`` ``[K, V, V]`` of MMAction2 0.x's ``Graph``.

Layouts: ``openpose-18``, ``openpose-25``, ``ntu-rgb+d`` (25 joints), ``ntu_edge`` (24),
``coco`` (17). Strategies (Yan et al., "Spatial Temporal Graph Convolutional Networks",
https://arxiv.org/abs/1801.07455): ``uniform`` (one normalized adjacency), ``distance`` (one
per hop), ``spatial`` (root / closer to the centre / farther); ``agcn`` (Shi et al., 2s-AGCN,
https://arxiv.org/abs/1805.07694): self links, inward and outward edges.

MMAction2 1.x rewrote the graph (:class:`GraphV1`): its own layouts ``openpose`` (18),
``nturgb+d`` (25), ``coco`` (17, with different links than 0.x's ``coco``) or a dict
(``num_node``, ``inward``, ``center``), and the modes ``stgcn_spatial`` (ST-GCN's partition;
a joint as close to the centre as its neighbour counts as "close"), ``spatial`` (self links,
inward, outward) and ``binary_adj``.

Example:
    >>> Graph(layout='coco', strategy='spatial').A.shape
    (3, 17, 17)
    >>> GraphV1(layout='coco', mode='spatial').A.shape
    (3, 17, 17)
"""
from __future__ import annotations

import numpy as np

__all__ = ['Graph', 'GraphV1', 'LAYOUTS', 'LAYOUTS_V1', 'MODES_V1', 'STRATEGIES']

# layout -> (number of joints, edges (0-based), centre joint, has inward/outward links for agcn)
_NTU_1BASE = ((1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
              (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
              (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12))
_NTU_EDGE_1BASE = ((1, 2), (3, 2), (4, 3), (5, 2), (6, 5), (7, 6), (8, 7), (9, 2), (10, 9),
                   (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
                   (18, 17), (19, 18), (20, 19), (21, 22), (22, 8), (23, 24), (24, 12))
_COCO_1BASE = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7),
               (8, 6), (9, 7), (10, 8), (11, 9), (2, 3), (2, 1), (3, 1), (4, 2), (5, 3),
               (4, 6), (5, 7))


def _zero_based(pairs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    return tuple((i - 1, j - 1) for i, j in pairs)


LAYOUTS: dict[str, tuple[int, tuple[tuple[int, int], ...], int, bool]] = {
    'openpose-18': (18, ((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8),
                         (11, 5), (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15),
                         (16, 14)), 1, False),
    'openpose-25': (25, ((4, 3), (3, 2), (7, 6), (6, 5), (23, 22), (22, 11), (24, 11),
                         (11, 10), (10, 9), (9, 8), (20, 19), (19, 14), (21, 14), (14, 13),
                         (13, 12), (12, 8), (8, 1), (5, 1), (2, 1), (0, 1), (15, 0), (16, 0),
                         (17, 15), (18, 16)), 1, True),
    'ntu-rgb+d': (25, _zero_based(_NTU_1BASE), 20, True),
    'ntu_edge': (24, _zero_based(_NTU_EDGE_1BASE), 2, False),
    'coco': (17, _zero_based(_COCO_1BASE), 0, False),
}
STRATEGIES = ('uniform', 'distance', 'spatial', 'agcn')


def _hop_distance(num_node: int, edges: tuple[tuple[int, int], ...], max_hop: int
                  ) -> np.ndarray:
    """``[V, V]`` hops between joints (inf beyond ``max_hop``); self links included."""
    adj = np.eye(num_node)
    for i, j in edges:
        adj[i, j] = adj[j, i] = 1
    hops = np.full((num_node, num_node), np.inf)
    reach = np.eye(num_node)
    for d in range(max_hop + 1):
        hops[(reach > 0) & np.isinf(hops)] = d
        reach = reach @ adj
    return hops


def _normalize_columns(adj: np.ndarray) -> np.ndarray:
    """``adj`` with each column divided by its sum (columns summing to 0 stay 0)."""
    degree = adj.sum(axis=0)
    inv = np.divide(1., degree, out=np.zeros_like(degree), where=degree > 0)
    return adj * inv[None, :]


def _links(num_node: int, edges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """``A[j, i] = 1`` for each edge ``(i, j)``."""
    mat = np.zeros((num_node, num_node))
    for i, j in edges:
        mat[j, i] = 1
    return mat


class Graph:
    """A skeleton layout and its partitioned adjacency ``A`` (``[K, V, V]``, float64).

    Args:
        layout (str): one of :data:`LAYOUTS`.
        strategy (str): one of :data:`STRATEGIES` (``agcn`` needs ``ntu-rgb+d`` or
            ``openpose-25``).
        max_hop (int): the largest hop linked.
        dilation (int): the hops used are ``0, dilation, 2 dilation ... <= max_hop``.
    """

    def __init__(self, layout: str = 'openpose-18', strategy: str = 'uniform',
                 max_hop: int = 1, dilation: int = 1) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f'Graph: layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
        if strategy not in STRATEGIES:
            raise ValueError(f'Graph: strategy must be one of {STRATEGIES}, got {strategy!r}')
        num_node, edges, center, directed = LAYOUTS[layout]
        if strategy == 'agcn' and not directed:
            raise ValueError(f"Graph: strategy 'agcn' needs layout 'ntu-rgb+d' or "
                             f"'openpose-25', got {layout!r}")
        if not isinstance(max_hop, int) or max_hop < 0 or not isinstance(dilation, int) \
                or dilation < 1:
            raise ValueError(f'Graph: max_hop must be an int >= 0 and dilation an int >= 1, '
                             f'got {max_hop!r} and {dilation!r}')
        self.layout = layout
        self.strategy = strategy
        self.max_hop = max_hop
        self.dilation = dilation
        self.num_node = num_node
        self.center = center
        self.neighbor_link = list(edges)
        self.self_link = [(i, i) for i in range(num_node)]
        self.edge = self.self_link + self.neighbor_link
        self.hop_dis = _hop_distance(num_node, edges, max_hop)
        self.A = self._adjacency(strategy)

    def _adjacency(self, strategy: str) -> np.ndarray:
        v = self.num_node
        if strategy == 'agcn':
            inward = _normalize_columns(_links(v, self.neighbor_link))
            outward = _normalize_columns(_links(v, [(j, i) for i, j in self.neighbor_link]))
            return np.stack((_links(v, self.self_link), inward, outward))
        hops = list(range(0, self.max_hop + 1, self.dilation))
        normalized = _normalize_columns(np.isin(self.hop_dis, hops).astype(np.float64))
        if strategy == 'uniform':
            return normalized[None]
        if strategy == 'distance':
            return np.stack([np.where(self.hop_dis == hop, normalized, 0.) for hop in hops])
        # spatial: split each hop's links by the joints' distances to the centre
        to_center = self.hop_dis[:, self.center]
        # entry [j, i] compares joint j's distance with joint i's (inf == inf: equal)
        same = to_center[:, None] == to_center[None, :]
        farther = to_center[:, None] > to_center[None, :]
        parts = []
        for hop in hops:
            linked = self.hop_dis == hop
            root = np.where(linked & same, normalized, 0.)
            close = np.where(linked & farther, normalized, 0.)
            further = np.where(linked & ~same & ~farther, normalized, 0.)
            parts += [root] if hop == 0 else [root + close, further]
        return np.stack(parts)


# MMAction2 1.x: layout -> (number of joints, inward links (0-based), centre joint)
LAYOUTS_V1: dict[str, tuple[int, tuple[tuple[int, int], ...], int]] = {
    'openpose': (18, LAYOUTS['openpose-18'][1], 1),
    'nturgb+d': (25, _zero_based(_NTU_1BASE[:20] + ((22, 8), (23, 8), (24, 12), (25, 12))),
                 20),
    'coco': (17, ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5),
                  (10, 8), (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)), 0),
}
MODES_V1 = ('stgcn_spatial', 'spatial', 'binary_adj')


def _layout_v1(layout: str | dict) -> tuple[int, list[tuple[int, int]], int]:
    if isinstance(layout, dict):
        missing = [k for k in ('num_node', 'inward', 'center') if k not in layout]
        if missing:
            raise ValueError(f'graph_cfg.layout: a dict layout needs {missing}')
        return (int(layout['num_node']), [tuple(e) for e in layout['inward']],
                int(layout['center']))
    if layout not in LAYOUTS_V1:
        raise ValueError(f'graph_cfg.layout must be one of {sorted(LAYOUTS_V1)} or a dict '
                         f'(MMAction2 1.x graph), got {layout!r}')
    num_node, inward, center = LAYOUTS_V1[layout]
    return num_node, list(inward), center


class GraphV1:
    """MMAction2 1.x's skeleton graph: ``A`` ``[K, V, V]`` (float64) for a ``mode``.

    Args:
        layout (str | dict): one of :data:`LAYOUTS_V1`, or
            ``dict(num_node=..., inward=[(i, j), ...], center=...)``.
        mode (str): one of :data:`MODES_V1`.
        max_hop (int): the largest hop linked (``stgcn_spatial``).
    """

    def __init__(self, layout: str | dict = 'coco', mode: str = 'spatial',
                 max_hop: int = 1) -> None:
        if mode not in MODES_V1:
            raise ValueError(f'graph_cfg.mode must be one of {MODES_V1}, got {mode!r}')
        if isinstance(max_hop, bool) or not isinstance(max_hop, int) or max_hop < 0:
            raise ValueError(f'graph_cfg.max_hop must be an int >= 0, got {max_hop!r}')
        self.layout, self.mode, self.max_hop = layout, mode, max_hop
        self.num_node, self.inward, self.center = _layout_v1(layout)
        self.self_link = [(i, i) for i in range(self.num_node)]
        self.outward = [(j, i) for i, j in self.inward]
        self.neighbor = self.inward + self.outward
        self.hop_dis = _hop_distance(self.num_node, tuple(self.inward), max_hop)
        self.A = getattr(self, mode)()

    def stgcn_spatial(self) -> np.ndarray:
        """Per hop: links whose far end is no closer to the centre ("close"), and the rest."""
        normalized = _normalize_columns((self.hop_dis <= self.max_hop).astype(np.float64))
        to_center = self.hop_dis[:, self.center]
        # entry [j, i]: joint j at least as far from the centre as joint i
        close = to_center[:, None] >= to_center[None, :]
        parts = []
        for hop in range(self.max_hop + 1):
            linked = self.hop_dis == hop
            parts.append(np.where(linked & close, normalized, 0.))
            if hop > 0:
                parts.append(np.where(linked & ~close, normalized, 0.))
        return np.stack(parts)

    def spatial(self) -> np.ndarray:
        """Self links, column-normalized inward links, column-normalized outward links."""
        v = self.num_node
        return np.stack((_links(v, self.self_link), _normalize_columns(_links(v, self.inward)),
                         _normalize_columns(_links(v, self.outward))))

    def binary_adj(self) -> np.ndarray:
        """The undirected 0/1 adjacency, ``[1, V, V]``."""
        return _links(self.num_node, self.neighbor)[None]
