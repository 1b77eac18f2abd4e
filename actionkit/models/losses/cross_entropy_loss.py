"""Cross-entropy losses for single-label and multi-label classification.

:class:`CrossEntropyLoss` takes either class indices (hard labels, ``[N]``) or a probability
distribution per sample (soft labels, the same shape as the scores, ``[N, num_classes]``);
which one is decided by the label's shape, as in MMAction2 0.x. Label smoothing is applied by
the head (``BaseHead.label_smooth_eps``), not here.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..builder import LOSSES
from .base import BaseWeightedLoss

__all__ = ['CrossEntropyLoss', 'BCELossWithLogits']


def _class_weight_tensor(owner: str, class_weight: Sequence[float] | None) -> torch.Tensor | None:
    if class_weight is None:
        return None
    try:
        weight = torch.as_tensor(class_weight, dtype=torch.float32)
    except (TypeError, ValueError) as err:
        raise TypeError(f'{owner}: class_weight must be a list of floats or None, '
                        f'got {class_weight!r}') from err
    if weight.dim() != 1:
        raise ValueError(f'{owner}: class_weight must be 1-D (one weight per class), '
                         f'got shape {tuple(weight.shape)}')
    return weight


@LOSSES.register_module()
class CrossEntropyLoss(BaseWeightedLoss):
    """Softmax cross-entropy with hard or soft labels.

    Args:
        loss_weight (float): factor the loss is multiplied by. Default: 1.0.
        class_weight (list[float] | None): a weight per class; ``None`` weighs all classes 1.
            With soft labels the weighted mean divides by ``sum(class_weight * label)``, as
            ``nn.CrossEntropyLoss`` does for hard labels. Default: None.
    """

    def __init__(self, loss_weight: float = 1.0,
                 class_weight: Sequence[float] | None = None) -> None:
        super().__init__(loss_weight=loss_weight)
        # not persistent: MMAction2 0.x checkpoints have no key for it
        self.register_buffer('class_weight', _class_weight_tensor('CrossEntropyLoss',
                                                                  class_weight),
                             persistent=False)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                 **kwargs: Any) -> torch.Tensor:
        """Args:
            cls_score: class scores (logits) ``[N, num_classes]``.
            label: class indices ``[N]`` (hard) or probabilities ``[N, num_classes]`` (soft).
            **kwargs: for hard labels, passed to ``F.cross_entropy``.
        """
        if cls_score.size() == label.size():
            return self._soft_label_loss(cls_score, label, kwargs)
        if self.class_weight is not None:
            if 'weight' in kwargs:
                raise ValueError('CrossEntropyLoss: a "weight" argument was passed but the loss '
                                 'already has class_weight; give only one of them')
            kwargs['weight'] = self.class_weight.to(cls_score.device, cls_score.dtype)
        return F.cross_entropy(cls_score, label, **kwargs)

    def _soft_label_loss(self, cls_score: torch.Tensor, label: torch.Tensor,
                         kwargs: dict[str, Any]) -> torch.Tensor:
        if cls_score.dim() != 2:
            raise ValueError('CrossEntropyLoss: soft labels need 2-D scores [N, num_classes], '
                             f'got shape {tuple(cls_score.shape)}')
        if kwargs:
            raise ValueError('CrossEntropyLoss: soft labels take no extra arguments, '
                             f'got {sorted(kwargs)}')
        log_prob = F.log_softmax(cls_score, dim=1)  # [N, num_classes]
        if self.class_weight is None:
            return -(label * log_prob).sum(dim=1).mean()
        weight = self.class_weight.to(cls_score.device, cls_score.dtype).unsqueeze(0)
        per_sample = -(label * log_prob * weight).sum(dim=1)
        return per_sample.sum() / (weight * label).sum()


@LOSSES.register_module()
class BCELossWithLogits(BaseWeightedLoss):
    """Sigmoid binary cross-entropy on logits, for multi-label classification.

    Args:
        loss_weight (float): factor the loss is multiplied by. Default: 1.0.
        class_weight (list[float] | None): a weight per class (passed to
            ``F.binary_cross_entropy_with_logits`` as ``weight``). Default: None.
    """

    def __init__(self, loss_weight: float = 1.0,
                 class_weight: Sequence[float] | None = None) -> None:
        super().__init__(loss_weight=loss_weight)
        self.register_buffer('class_weight', _class_weight_tensor('BCELossWithLogits',
                                                                  class_weight),
                             persistent=False)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                 **kwargs: Any) -> torch.Tensor:
        """Args:
            cls_score: logits ``[N, num_classes]``.
            label: multi-hot (or soft) targets of the same shape.
            **kwargs: passed to ``F.binary_cross_entropy_with_logits``.
        """
        if self.class_weight is not None:
            if 'weight' in kwargs:
                raise ValueError('BCELossWithLogits: a "weight" argument was passed but the loss '
                                 'already has class_weight; give only one of them')
            kwargs['weight'] = self.class_weight.to(cls_score.device, cls_score.dtype)
        return F.binary_cross_entropy_with_logits(cls_score, label.to(cls_score.dtype), **kwargs)
