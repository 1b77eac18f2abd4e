"""Loss of SSN (Structured Segment Networks, https://arxiv.org/abs/1704.06228).

``SSNLoss`` sums an activity loss (cross-entropy over ``num_classes + 1`` classes, background
included, on positive and background proposals), a class-wise completeness loss (hinge loss
with online hard example mining on positive and incomplete proposals) and a class-wise
location/duration regression loss (smooth L1 on positive proposals).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..builder import LOSSES

__all__ = ['ohem_hinge_loss', 'OHEMHingeLoss', 'SSNLoss', 'get_cfg_value']


def get_cfg_value(cfg: Any, path: str) -> Any:
    """``cfg['a']['b']`` for ``path='a.b'``, for dicts and attribute-style configs alike.

    Raises:
        KeyError: naming the missing dotted key.
    """
    value = cfg
    for key in path.split('.'):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif not isinstance(value, Mapping) and hasattr(value, key):
            value = getattr(value, key)
        else:
            raise KeyError(f'the SSN config needs the key {path!r} (missing {key!r}); '
                           f'see configs/localization/ssn/ssn_r50_450e_thumos14_rgb_train.py')
    return value


def ohem_hinge_loss(pred: torch.Tensor, labels: torch.Tensor, is_positive: int,
                    ohem_ratio: float, group_size: int) -> torch.Tensor:
    """Class-wise hinge loss summed over the hardest ``ohem_ratio`` share of each group.

    For row ``i`` the loss is ``max(0, 1 - is_positive * pred[i, labels[i] - 1])``; rows come in
    groups of ``group_size`` (one group per video) and in each group only the
    ``int(group_size * ohem_ratio)`` largest losses are summed.

    Args:
        pred (torch.Tensor): ``[num_samples, num_classes]`` completeness scores.
        labels (torch.Tensor): ``[num_samples]`` labels in ``1..num_classes``.
        is_positive (int): 1 for complete (positive) proposals, -1 for incomplete ones.
        ohem_ratio (float): share of hard examples kept per group.
        group_size (int): proposals per group.

    Returns:
        torch.Tensor: the summed loss, shape ``[1]`` as MMAction2's (so its callers'
        ``loss.backward(torch.ones([1]))`` works).
    """
    num_samples = pred.size(0)
    if num_samples != len(labels):
        raise ValueError(f'ohem_hinge_loss: got {num_samples} predictions but {len(labels)} '
                         'labels; they must match')
    if group_size <= 0 or num_samples % group_size:
        raise ValueError(f'ohem_hinge_loss: {num_samples} samples cannot be split into groups '
                         f'of group_size={group_size}')
    picked = pred.gather(1, (labels.long() - 1).view(-1, 1)).view(-1)
    losses = torch.clamp(1 - is_positive * picked, min=0).view(-1, group_size)
    keep_length = int(group_size * ohem_ratio)
    sorted_losses, _ = torch.sort(losses, dim=1, descending=True)
    return sorted_losses[:, :keep_length].sum().reshape(1)


class OHEMHingeLoss:
    """Namespace kept for MMAction2 0.x code calling ``OHEMHingeLoss.apply(...)``."""

    apply = staticmethod(ohem_hinge_loss)


@LOSSES.register_module()
class SSNLoss(nn.Module):
    """SSN loss; the sampler and loss weights are read from ``train_cfg.ssn``."""

    @staticmethod
    def activity_loss(activity_score: torch.Tensor, labels: torch.Tensor,
                      activity_indexer: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the activity scores of the indexed (positive and background)
        proposals."""
        return F.cross_entropy(activity_score[activity_indexer, :], labels[activity_indexer])

    @staticmethod
    def completeness_loss(completeness_score: torch.Tensor, labels: torch.Tensor,
                          completeness_indexer: torch.Tensor, positive_per_video: int,
                          incomplete_per_video: int, ohem_ratio: float = 0.17) -> torch.Tensor:
        """Completeness hinge loss: all positives count, only the hardest ``ohem_ratio`` of the
        incomplete proposals do; normalised by the number of terms kept."""
        pred = completeness_score[completeness_indexer, :]
        gt = labels[completeness_indexer]
        pred_dim = pred.size(1)
        group = positive_per_video + incomplete_per_video
        pred = pred.view(-1, group, pred_dim)
        gt = gt.view(-1, group)
        positive_pred = pred[:, :positive_per_video, :].reshape(-1, pred_dim)
        incomplete_pred = pred[:, positive_per_video:, :].reshape(-1, pred_dim)
        positive_loss = ohem_hinge_loss(positive_pred, gt[:, :positive_per_video].reshape(-1),
                                        1, 1.0, positive_per_video)
        incomplete_loss = ohem_hinge_loss(incomplete_pred,
                                          gt[:, positive_per_video:].reshape(-1), -1,
                                          ohem_ratio, incomplete_per_video)
        num_positives = positive_pred.size(0)
        num_incompletes = int(incomplete_pred.size(0) * ohem_ratio)
        return (positive_loss + incomplete_loss) / float(num_positives + num_incompletes)

    @staticmethod
    def classwise_regression_loss(bbox_pred: torch.Tensor, labels: torch.Tensor,
                                  bbox_targets: torch.Tensor,
                                  regression_indexer: torch.Tensor) -> torch.Tensor:
        """Smooth-L1 (times 2) between each positive proposal's prediction for its own class
        and its ``[center shift, log duration ratio]`` target."""
        pred = bbox_pred[regression_indexer, :, :]  # [P, num_classes, 2]
        class_idx = (labels[regression_indexer] - 1).long()
        classwise = pred[torch.arange(pred.size(0), device=pred.device), class_idx]  # [P, 2]
        reg_target = bbox_targets[regression_indexer, :]
        return F.smooth_l1_loss(classwise.reshape(-1), reg_target.reshape(-1)) * 2

    def forward(self, activity_score: torch.Tensor, completeness_score: torch.Tensor,
                bbox_pred: torch.Tensor | None, proposal_type: torch.Tensor,
                labels: torch.Tensor, bbox_targets: torch.Tensor,
                train_cfg: Any) -> dict[str, torch.Tensor]:
        """Compute the SSN losses.

        Args:
            activity_score (torch.Tensor): ``[P, num_classes + 1]``.
            completeness_score (torch.Tensor): ``[P, num_classes]``.
            bbox_pred (torch.Tensor | None): ``[P, num_classes, 2]``, or None without regression.
            proposal_type (torch.Tensor): 0 positive, 1 incomplete, 2 background, ``P`` values.
            labels (torch.Tensor): ``P`` class labels (0 = background).
            bbox_targets (torch.Tensor): ``[P, 2]`` normalised regression targets.
            train_cfg (dict): with ``ssn.sampler.{num_per_video, positive_ratio,
                background_ratio, incomplete_ratio}`` and
                ``ssn.loss_weight.{comp_loss_weight, reg_loss_weight}``.

        Returns:
            dict[str, torch.Tensor]: ``loss_activity``, ``loss_completeness`` and, with
            regression, ``loss_reg``.
        """
        num_per_video = int(get_cfg_value(train_cfg, 'ssn.sampler.num_per_video'))
        ratios = [float(get_cfg_value(train_cfg, f'ssn.sampler.{name}'))
                  for name in ('positive_ratio', 'background_ratio', 'incomplete_ratio')]
        total_ratio = sum(ratios)
        positive_per_video = int(num_per_video * (ratios[0] / total_ratio))
        background_per_video = int(num_per_video * (ratios[1] / total_ratio))
        incomplete_per_video = num_per_video - positive_per_video - background_per_video
        if positive_per_video <= 0 or incomplete_per_video <= 0:
            raise ValueError(f'SSNLoss: ssn.sampler gives {positive_per_video} positive and '
                             f'{incomplete_per_video} incomplete proposals per video; both '
                             'must be at least 1')

        proposal_type = proposal_type.view(-1)
        labels = labels.view(-1).long()
        activity_indexer = ((proposal_type == 0) | (proposal_type == 2)).nonzero().squeeze(1)
        completeness_indexer = ((proposal_type == 0) | (proposal_type == 1)).nonzero().squeeze(1)
        losses = {'loss_activity': self.activity_loss(activity_score, labels, activity_indexer)}
        losses['loss_completeness'] = self.completeness_loss(
            completeness_score, labels, completeness_indexer, positive_per_video,
            incomplete_per_video, ohem_ratio=positive_per_video / incomplete_per_video
        ) * get_cfg_value(train_cfg, 'ssn.loss_weight.comp_loss_weight')
        if bbox_pred is not None:
            regression_indexer = (proposal_type == 0).nonzero().squeeze(1)
            losses['loss_reg'] = self.classwise_regression_loss(
                bbox_pred, labels, bbox_targets.view(-1, 2), regression_indexer
            ) * get_cfg_value(train_cfg, 'ssn.loss_weight.reg_loss_weight')
        return losses
