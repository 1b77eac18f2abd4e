"""HVULoss: binary cross-entropy over the tags of HVU's categories (MMAction2 0.x)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..builder import LOSSES
from .base import BaseWeightedLoss

__all__ = ['HVULoss']

LOSS_TYPES = ('all', 'individual')
REDUCTIONS = ('mean', 'sum')


@LOSSES.register_module()
class HVULoss(BaseWeightedLoss):
    """BCE with logits over HVU's tags, for all tags at once or per category.

    The score columns hold the categories back to back, in the order of ``categories``.

    Args:
        categories (tuple[str]): the tag categories. Default: ``('action', 'attribute',
            'concept', 'event', 'object', 'scene')``.
        category_nums (tuple[int]): tags per category. Default:
            ``(739, 117, 291, 69, 1678, 248)``.
        category_loss_weights (tuple[float]): non-negative weights of the categories for
            ``loss_type='individual'``, normalised to sum to 1 over the categories that count.
            Default: all 1.
        loss_type (str): ``'all'``: one BCE over every tag; ``'individual'``: a BCE per
            category (logged as ``<category>_LOSS``, with ``<category>_LOSS_weight``), and
            ``loss_cls`` their weighted sum. Default: ``'all'``.
        with_mask (bool): leave out the categories a video has no tags in (``mask``,
            ``category_mask`` from ``LoadHVULabel``); otherwise their tags count as
            negatives. Default: False.
        reduction (str): ``'mean'`` or ``'sum'`` over the tags (of a category). Default:
            ``'mean'``.
        loss_weight (float): factor on ``loss_cls``. Default: 1.0.
    """

    def __init__(self, categories: Sequence[str] = ('action', 'attribute', 'concept', 'event',
                                                    'object', 'scene'),
                 category_nums: Sequence[int] = (739, 117, 291, 69, 1678, 248),
                 category_loss_weights: Sequence[float] = (1, 1, 1, 1, 1, 1),
                 loss_type: str = 'all', with_mask: bool = False, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if len(category_nums) != len(category_loss_weights) or \
                len(categories) != len(category_nums):
            raise ValueError(f'HVULoss: categories, category_nums and category_loss_weights '
                             f'need one entry per category, got {len(categories)}, '
                             f'{len(category_nums)} and {len(category_loss_weights)}')
        if any(w < 0 for w in category_loss_weights):
            raise ValueError(f'HVULoss: category_loss_weights must be >= 0, got '
                             f'{list(category_loss_weights)}')
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'HVULoss: loss_type must be one of {LOSS_TYPES}, got '
                             f'{loss_type!r}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'HVULoss: reduction must be one of {REDUCTIONS}, got '
                             f'{reduction!r}')
        self.categories, self.category_nums = list(categories), list(category_nums)
        self.category_loss_weights = list(category_loss_weights)
        self.loss_type, self.with_mask, self.reduction = loss_type, with_mask, reduction
        self.category_startidx = [sum(self.category_nums[:i]) for i in range(len(category_nums))]

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                 mask: torch.Tensor | None = None,
                 category_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Args: ``cls_score``, ``label`` and ``mask`` ``[N, num_tags]``; ``category_mask``
        ``[N, num_categories]`` (1 where the video has tags in the category)."""
        if self.with_mask and (mask is None if self.loss_type == 'all'
                               else category_mask is None):
            raise ValueError('HVULoss(with_mask=True) needs the mask and category_mask of '
                             'LoadHVULabel (Collect them with the label)')
        if self.loss_type == 'all':
            return self._all(cls_score, label, mask)
        return self._individual(cls_score, label, category_mask)

    def _all(self, cls_score: torch.Tensor, label: torch.Tensor,
             mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        loss = F.binary_cross_entropy_with_logits(cls_score, label, reduction='none')
        if self.with_mask:
            per_video = (mask * loss).sum(1)
            if self.reduction == 'mean':
                per_video = per_video / mask.sum(1)
            return dict(loss_cls=per_video.mean())
        if self.reduction == 'sum':
            loss = loss.sum(-1)
        return dict(loss_cls=loss.mean())

    def _individual(self, cls_score: torch.Tensor, label: torch.Tensor,
                    category_mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = {}
        weights: dict[str, float] = {}
        for idx, (name, num, start) in enumerate(zip(self.categories, self.category_nums,
                                                     self.category_startidx)):
            key = f'{name}_LOSS'  # logged only: parse_losses sums keys containing 'loss'
            loss = F.binary_cross_entropy_with_logits(
                cls_score[:, start:start + num], label[:, start:start + num], reduction='none')
            loss = loss.mean(1) if self.reduction == 'mean' else loss.sum(1)
            if self.with_mask:
                present = category_mask[:, idx].reshape(-1)
                if float(present.sum()) < 0.5:  # no video of the batch has this category
                    losses[key], weights[key] = cls_score.new_zeros(()), 0.0
                    continue
                loss = (loss * present).sum() / present.sum()
            else:
                loss = loss.mean()
            losses[key], weights[key] = loss, float(self.category_loss_weights[idx])
        total = sum(weights.values())
        weights = {k: v / total for k, v in weights.items()}
        losses['loss_cls'] = sum(losses[k] * weights[k] for k in weights)
        losses.update({f'{k}_weight': torch.tensor(v, device=cls_score.device)
                       for k, v in weights.items()})
        return losses
