"""The TRN head: relations between the frames of a clip, scored by small MLPs.

Temporal Relational Reasoning in Videos, https://arxiv.org/abs/1711.08496.

Each frame's pooled feature is projected to ``hidden_dim`` (``fc_cls``), then a relation module
scores the clip from ordered tuples of frames instead of averaging per-frame scores:

* ``'TRN'`` (:class:`RelationModule`): one MLP over all ``num_segments`` frames;
* ``'TRNMultiScale'`` (:class:`RelationModuleMultiScale`): one MLP per tuple size
  ``num_segments, num_segments - 1, ..., 2``; the full tuple is always scored, and for each
  smaller size up to 3 of its ordered tuples (``itertools.combinations``) are drawn at random
  on every forward, train and test alike, as in MMAction2 0.x. The draw uses torch's random
  generator, so ``torch.manual_seed`` makes it reproducible.

The module names are MMAction2 0.x's (``fc_cls``, ``consensus.classifier.1``,
``consensus.fc_fusion_scales.0.1``), so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import HEADS
from ..layers import normal_init
from .base import BaseHead
from .tsn_head import _check_head_args

__all__ = ['RelationModule', 'RelationModuleMultiScale', 'TRNHead']

_RELATION_TYPES = ('TRN', 'TRNMultiScale')


class RelationModule(nn.Module):
    """Scores the tuple of all ``num_segments`` frames: ReLU, Linear(T * hidden, 512), ReLU,
    Linear(512, num_classes).

    Args:
        hidden_dim (int): per-frame feature size.
        num_segments (int): frames per clip.
        num_classes (int): number of classes.
    """

    bottleneck_dim = 512

    def __init__(self, hidden_dim: int, num_segments: int, num_classes: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        self.classifier = nn.Sequential(
            nn.ReLU(), nn.Linear(num_segments * hidden_dim, self.bottleneck_dim),
            nn.ReLU(), nn.Linear(self.bottleneck_dim, num_classes))

    def init_weights(self) -> None:
        """Nothing to do: the linear layers keep PyTorch's default init, as in MMAction2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, num_segments, hidden_dim]`` -> ``[N, num_classes]``."""
        return self.classifier(x.reshape(x.shape[0], -1))


class RelationModuleMultiScale(nn.Module):
    """Sums the scores of frame tuples of every size from ``num_segments`` down to 2.

    ``scales`` lists the tuple sizes, ``relations_scales[i]`` the ordered tuples of size
    ``scales[i]`` and ``subsample_scales[i]`` how many of them each forward scores
    (``min(3, len(relations_scales[i]))``; the full tuple, ``i = 0``, is the only one of its
    size). Each size has its own MLP, ``fc_fusion_scales[i]``: ReLU,
    Linear(size * hidden, 256), ReLU, Linear(256, num_classes).

    Args:
        hidden_dim (int): per-frame feature size.
        num_segments (int): frames per clip, at least 2.
        num_classes (int): number of classes.
    """

    bottleneck_dim = 256
    max_subsample = 3

    def __init__(self, hidden_dim: int, num_segments: int, num_classes: int) -> None:
        super().__init__()
        if num_segments < 2:
            raise ValueError(f"TRNHead: relation_type='TRNMultiScale' relates at least 2 frames, "
                             f'got num_segments={num_segments}')
        self.hidden_dim = hidden_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        self.scales = list(range(num_segments, 1, -1))
        self.relations_scales = [list(itertools.combinations(range(num_segments), scale))
                                 for scale in self.scales]
        self.subsample_scales = [min(self.max_subsample, len(rel))
                                 for rel in self.relations_scales]
        self.fc_fusion_scales = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(scale * hidden_dim, self.bottleneck_dim),
                          nn.ReLU(), nn.Linear(self.bottleneck_dim, num_classes))
            for scale in self.scales)
        # when set (e.g. by the ONNX export), every forward scores these tuples, not a new draw
        self.fixed_relations: list[list[int]] | None = None

    def init_weights(self) -> None:
        """Nothing to do: the linear layers keep PyTorch's default init, as in MMAction2."""

    def sample_relations(self, generator: torch.Generator | None = None) -> list[list[int]]:
        """For each scale, the indices into ``relations_scales[scale]`` that a forward scores:
        ``[0]`` for the full tuple, then ``subsample_scales[i]`` distinct random indices
        (from torch's global generator, or ``generator``)."""
        chosen = [[0]]
        for count, relations in zip(self.subsample_scales[1:], self.relations_scales[1:]):
            chosen.append(torch.randperm(len(relations), device='cpu',
                                         generator=generator)[:count].tolist())
        return chosen

    def forward(self, x: torch.Tensor,
                relation_ids: list[list[int]] | None = None) -> torch.Tensor:
        """Args:
            x: ``[N, num_segments, hidden_dim]``.
            relation_ids: the tuples to score per scale (see :meth:`sample_relations`);
                when None, ``fixed_relations`` if set, else a new random draw.

        Returns:
            ``[N, num_classes]``.
        """
        if relation_ids is None:
            relation_ids = self.fixed_relations or self.sample_relations()
        score = None
        for scale_id, ids in enumerate(relation_ids):
            fusion = self.fc_fusion_scales[scale_id]
            for idx in ids:
                frames = list(self.relations_scales[scale_id][idx])
                out = fusion(x[:, frames].reshape(x.shape[0], -1))  # [N, num_classes]
                score = out if score is None else score + out
        if score is None:
            raise ValueError(f'RelationModuleMultiScale: relation_ids must select at least one '
                             f'relation, got {relation_ids!r}')
        return score


@HEADS.register_module()
class TRNHead(BaseHead):
    """TRN head: ``[N * num_segments, C, H, W]`` features to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        num_segments (int): frames per clip. Default: 8.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        spatial_type (str | None): 'avg' pools each frame's feature map; None expects pooled
            ``[N * num_segments, C]`` features. Default: 'avg'.
        relation_type (str): 'TRN' or 'TRNMultiScale'. Default: 'TRNMultiScale'.
        hidden_dim (int): per-frame feature size fed to the relations. Default: 256.
        dropout_ratio (float): dropout before ``fc_cls``. Default: 0.8.
        init_std (float): std of ``fc_cls``'s normal init. Default: 0.001.
        multi_class, label_smooth_eps, topk: see :class:`BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, num_segments: int = 8,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 spatial_type: str | None = 'avg', relation_type: str = 'TRNMultiScale',
                 hidden_dim: int = 256, dropout_ratio: float = 0.8, init_std: float = 0.001,
                 multi_class: bool = False, label_smooth_eps: float = 0.0,
                 topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, multi_class=multi_class,
                         label_smooth_eps=label_smooth_eps, topk=topk)
        _check_head_args('TRNHead', spatial_type, dropout_ratio)
        for name, value in (('num_segments', num_segments), ('hidden_dim', hidden_dim)):
            check_positive_int('TRNHead', name, value)
        if relation_type not in _RELATION_TYPES:
            raise ValueError(f"TRNHead: relation_type must be 'TRN' or 'TRNMultiScale', "
                             f'got {relation_type!r}')
        self.num_segments = num_segments
        self.spatial_type = spatial_type
        self.relation_type = relation_type
        self.hidden_dim = hidden_dim
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        relation = RelationModule if relation_type == 'TRN' else RelationModuleMultiScale
        self.consensus = relation(hidden_dim, num_segments, num_classes)
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, hidden_dim)
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == 'avg' else None

    def init_weights(self) -> None:
        """Normal init of ``fc_cls`` with ``init_std``, zero bias; the relation MLPs keep
        PyTorch's default init."""
        normal_init(self.fc_cls, std=self.init_std)
        self.consensus.init_weights()

    def forward(self, x: torch.Tensor, num_segs: int | None = None) -> torch.Tensor:
        """Args:
            x: ``[N * num_segments, in_channels, H, W]`` (``[N * num_segments, in_channels]``
                with ``spatial_type=None``).
            num_segs: unused (the recognizer passes the frames per sample); the grouping
                comes from ``num_segments``.

        Returns:
            ``[N, num_classes]``.
        """
        if x.shape[0] % self.num_segments != 0:
            raise ValueError(f'TRNHead(num_segments={self.num_segments}) needs a multiple of '
                             f'{self.num_segments} feature maps, got {tuple(x.shape)}; set '
                             'num_segments to the frames per clip (num_clips of SampleFrames)')
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = torch.flatten(x, 1)  # [N * T, C]
        if self.dropout is not None:
            x = self.dropout(x)
        frames = self.fc_cls(x)  # [N * T, hidden_dim]
        frames = frames.view((-1, self.num_segments) + frames.shape[1:])  # [N, T, hidden]
        return self.consensus(frames)
