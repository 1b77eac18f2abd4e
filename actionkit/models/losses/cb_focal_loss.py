"""``CBFocalLoss``: the class-balanced focal loss (Cui et al., CVPR 2019,
https://arxiv.org/abs/1901.05555), used by MMAction2's BABEL skeleton configs.

Each class weighs ``(1 - beta) / (1 - beta ** n_c)`` (``n_c`` its sample count), normalized to
sum to the number of classes; the loss is the sigmoid focal loss of the one-hot target,
weighted by the sample's class weight, summed and divided by the number of samples.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..builder import LOSSES
from .base import BaseWeightedLoss

__all__ = ['CBFocalLoss']


@LOSSES.register_module()
class CBFocalLoss(BaseWeightedLoss):
    """Class-balanced focal loss.

    Args:
        loss_weight (float): factor on the loss.
        samples_per_cls (Sequence[int]): training samples of each class.
        beta (float): the class-balancing hyper-parameter in [0, 1).
        gamma (float): the focusing parameter (0: no focusing).
    """

    def __init__(self, loss_weight: float = 1.0, samples_per_cls: Sequence[int] = (),
                 beta: float = 0.9999, gamma: float = 2.) -> None:
        super().__init__(loss_weight=loss_weight)
        counts = np.asarray(samples_per_cls, dtype=np.float64)
        if counts.ndim != 1 or counts.size == 0 or (counts <= 0).any():
            raise ValueError(f'CBFocalLoss: samples_per_cls must list a positive count per '
                             f'class, got {samples_per_cls!r}')
        if not 0 <= beta < 1:
            raise ValueError(f'CBFocalLoss: beta must be in [0, 1), got {beta!r}')
        self.samples_per_cls = list(samples_per_cls)
        self.beta = beta
        self.gamma = gamma
        weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
        self.weights = weights / weights.sum() * len(weights)
        self.num_classes = len(weights)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                 **kwargs: object) -> torch.Tensor:
        """``cls_score`` ``[N, num_classes]`` logits, ``label`` ``[N]`` class indices."""
        if cls_score.dim() != 2 or cls_score.shape[1] != self.num_classes:
            raise ValueError(f'CBFocalLoss: scores must be (N, {self.num_classes}) (one column '
                             f'per entry of samples_per_cls), got {tuple(cls_score.shape)}')
        one_hot = F.one_hot(label.long(), self.num_classes).float()
        weights = torch.as_tensor(self.weights, dtype=torch.float32, device=cls_score.device)
        weights = (one_hot * weights).sum(1, keepdim=True)  # the sample's class weight
        bce = F.binary_cross_entropy_with_logits(cls_score, one_hot, reduction='none')
        if self.gamma:  # log(1 + e^-x), not log1p: MMAction2's rounding (a 1-ulp loss change)
            bce = bce * torch.exp(-self.gamma * one_hot * cls_score
                                  - self.gamma * torch.log(1 + torch.exp(-cls_score)))
        return (weights * bce).sum() / one_hot.sum()
