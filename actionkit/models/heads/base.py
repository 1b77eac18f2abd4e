"""The base class of classification heads, and the average consensus.

A head turns backbone features into class scores (``forward``) and scores plus labels into
a dict of losses and accuracies (``loss``), with MMAction2 0.x's keys: ``loss_cls`` and
``top{k}_acc``.
"""
from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import LOSSES

__all__ = ['AvgConsensus', 'BaseHead', 'build_consensus', 'top_k_accuracy_torch']

logger = logging.getLogger(__name__)


class AvgConsensus(nn.Module):
    """Mean over one dimension, keeping it (the segmental consensus of TSN).

    Args:
        dim (int): the dimension to average. Default: 1.
    """

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f'AvgConsensus: dim must be an int, got {dim!r}')
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim, keepdim=True)


def build_consensus(owner: str, consensus: Mapping[str, Any]) -> AvgConsensus:
    """Build the consensus module of a 2D head from ``dict(type='AvgConsensus', dim=1)``."""
    if not isinstance(consensus, Mapping) or 'type' not in consensus:
        raise TypeError(f'{owner}: consensus must be a dict with a "type" key, got {consensus!r}')
    args = dict(consensus)
    kind = args.pop('type')
    if kind != 'AvgConsensus' and kind is not AvgConsensus:
        raise ValueError(f"{owner}: consensus type must be 'AvgConsensus', got {kind!r}")
    return AvgConsensus(**args)


def top_k_accuracy_torch(scores: torch.Tensor, labels: torch.Tensor,
                         topk: tuple[int, ...]) -> list[torch.Tensor]:
    """Fraction of samples whose label is among the ``k`` highest scores, for each ``k``.

    The same numbers as ``actionkit.evaluation.top_k_accuracy`` (MMAction2's ``top_k_accuracy``)
    computed without leaving torch; a ``k`` larger than the number of classes counts every
    sample as a hit. Tied scores rank as in MMAction2's ``np.argsort(scores)[:, -k:][:, ::-1]``
    on rows of up to 16 classes: the higher class index first.

    Args:
        scores: ``[N, num_classes]``.
        labels: class indices ``[N]``.
        topk: the ``k`` values.

    Returns:
        One 0-d float tensor per ``k``, on ``scores.device``.
    """
    labels = labels.reshape(-1, 1).to(scores.device)
    num_classes = scores.shape[1]
    order = scores.argsort(dim=1, stable=True).flip(dims=(1, ))
    results = []
    for k in topk:
        hits = (order[:, :min(k, num_classes)] == labels).any(dim=1)
        results.append(hits.float().mean())
    return results


class BaseHead(nn.Module, metaclass=ABCMeta):
    """Base class of classification heads.

    Subclasses build their layers in ``__init__`` and implement ``init_weights`` and
    ``forward``.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss',
            loss_weight=1.0)``.
        multi_class (bool): multi-label classification (no top-k accuracy; labels are multi-hot).
            Default: False.
        label_smooth_eps (float): label smoothing for multi-label targets:
            ``(1 - eps) * labels + eps / num_classes``. As in MMAction2 0.x it has no effect when
            ``multi_class`` is False. Default: 0.0.
        topk (int | tuple[int]): the ``k`` of the top-k accuracies logged in training.
            Default: (1, 5).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss',
                                                                loss_weight=1.0),
                 multi_class: bool = False, label_smooth_eps: float = 0.0,
                 topk: int | tuple[int, ...] = (1, 5)) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (('num_classes', num_classes), ('in_channels', in_channels)):
            check_positive_int(name, arg, value)
        if isinstance(topk, int):
            topk = (topk,)
        if not isinstance(topk, tuple) or not all(isinstance(k, int) and k > 0 for k in topk):
            raise ValueError(f'{name}: topk must be a positive int or a tuple of positive ints, '
                             f'got {topk!r}')
        if not 0.0 <= label_smooth_eps < 1.0:
            raise ValueError(f'{name}: label_smooth_eps must be in [0, 1), '
                             f'got {label_smooth_eps!r}')
        if label_smooth_eps and not multi_class:
            logger.warning('%s: label_smooth_eps=%s has no effect when multi_class=False '
                           '(as in MMAction2 0.x)', name, label_smooth_eps)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_cls = LOSSES.build(loss_cls)
        self.multi_class = multi_class
        self.label_smooth_eps = label_smooth_eps
        self.topk = topk

    @abstractmethod
    def init_weights(self) -> None:
        """Initialise the head's parameters."""

    @abstractmethod
    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Return class scores ``[N, num_classes]``."""

    def loss(self, cls_score: torch.Tensor, labels: torch.Tensor,
             **kwargs: Any) -> dict[str, torch.Tensor]:
        """Compute the classification loss and the top-k accuracies.

        Args:
            cls_score: ``[N, num_classes]`` scores.
            labels: class indices ``[N]`` (or a 0-d tensor for N = 1), or multi-hot / soft
                targets ``[N, num_classes]``.
            **kwargs: passed to the loss module.

        Returns:
            ``loss_cls`` (or the loss module's own dict of losses), plus ``top{k}_acc`` for each
            ``k`` in ``topk`` when the labels are class indices and ``multi_class`` is False.
        """
        losses: dict[str, torch.Tensor] = {}
        if labels.dim() == 0:
            labels = labels.unsqueeze(0)
        elif (labels.dim() == 1 and labels.shape[0] == self.num_classes
              and cls_score.shape[0] == 1):
            # one soft / multi-hot label whose batch dimension was squeezed away
            labels = labels.unsqueeze(0)

        if not self.multi_class and cls_score.size() != labels.size():
            for k, acc in zip(self.topk, top_k_accuracy_torch(cls_score.detach(), labels,
                                                              self.topk)):
                losses[f'top{k}_acc'] = acc
        elif self.multi_class and self.label_smooth_eps != 0:
            labels = (1 - self.label_smooth_eps) * labels + self.label_smooth_eps / self.num_classes

        loss_cls = self.loss_cls(cls_score, labels, **kwargs)
        if isinstance(loss_cls, dict):
            losses.update(loss_cls)
        else:
            losses['loss_cls'] = loss_cls
        return losses
