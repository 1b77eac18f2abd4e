"""Negative log-likelihood loss on log-probabilities (MMAction2 0.x ``NLLLoss``)."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..builder import LOSSES
from .base import BaseWeightedLoss

__all__ = ['NLLLoss']


@LOSSES.register_module()
class NLLLoss(BaseWeightedLoss):
    """``F.nll_loss`` of log-probabilities and class indices, times ``loss_weight``.

    Args:
        loss_weight (float): factor the loss is multiplied by. Default: 1.0.
    """

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                 **kwargs: Any) -> torch.Tensor:
        """Args:
            cls_score: log-probabilities ``[N, num_classes]``.
            label: class indices ``[N]``.
            **kwargs: passed to ``F.nll_loss`` (``weight``, ``ignore_index``, ``reduction``).
        """
        return F.nll_loss(cls_score, label, **kwargs)
