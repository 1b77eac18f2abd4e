"""Which proposals train the action classifier: IoU assignment and random sampling.

MMAction2's ``MaxIoUAssignerAVA`` and mmdet 2.x's ``RandomSampler`` (the two
``train_cfg.rcnn`` names the AVA configs use), without mmdet. Boxes are ``[n, 4]``
``x1, y1, x2, y2`` (a 5th score column is ignored); ground-truth labels are multi-hot
``[k, num_classes]``.

Assignment of each proposal: ``-1`` don't care, ``0`` negative (max IoU below
``neg_iou_thr``), ``i > 0`` positive for ground truth ``i - 1`` (max IoU at least
``pos_iou_thr``; then every ground truth also takes the proposals of its highest IoU when that
is at least ``min_pos_iou``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ['bbox_overlaps', 'AssignResult', 'MaxIoUAssignerAVA', 'SamplingResult',
           'RandomSampler']


def bbox_overlaps(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """IoU ``[len(boxes1), len(boxes2)]`` (areas ``(x2 - x1) * (y2 - y1)``, as mmdet 2.x)."""
    boxes1, boxes2 = boxes1[:, :4], boxes2[:, :4]
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = (area1[:, None] + area2[None, :] - overlap).clamp(min=eps)
    return overlap / union


@dataclass
class AssignResult:
    """Per proposal: ``gt_inds`` (-1 / 0 / 1-based gt), ``max_overlaps``, ``labels``."""

    num_gts: int
    gt_inds: torch.Tensor
    max_overlaps: torch.Tensor
    labels: torch.Tensor | None = None

    def add_gt_(self, gt_labels: torch.Tensor) -> None:
        """Put the ground truths first, each assigned to itself with IoU 1."""
        n = len(gt_labels)
        self_inds = torch.arange(1, n + 1, dtype=torch.long, device=gt_labels.device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(n), self.max_overlaps])
        if self.labels is not None:
            self.labels = torch.cat([gt_labels.to(self.labels.dtype), self.labels])


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'MaxIoUAssignerAVA: {name} must be a number, got {value!r}')
    return float(value)


class MaxIoUAssignerAVA:
    """Assign proposals to ground-truth boxes by IoU (multi-hot labels).

    Args:
        pos_iou_thr (float): IoU for a positive.
        neg_iou_thr (float | tuple[float, float]): IoU below which (or the range in which) a
            proposal is negative.
        min_pos_iou (float): least IoU for a ground truth to take its best proposals.
        gt_max_assign_all (bool): a ground truth takes every proposal tied at its best IoU.
        ignore_iof_thr (float): only -1 (ignored boxes are not supported).
        match_low_quality (bool): do the per-ground-truth step.
        **kwargs: mmdet's ``ignore_wrt_candidates``, ``gpu_assign_thr``, ``iou_calculator``
            (2D IoU only), accepted and unused.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: float | tuple[float, float],
                 min_pos_iou: float = 0., gt_max_assign_all: bool = True,
                 ignore_iof_thr: float = -1, match_low_quality: bool = True,
                 **kwargs: object) -> None:
        self.pos_iou_thr = _number('pos_iou_thr', pos_iou_thr)
        if isinstance(neg_iou_thr, (tuple, list)):
            if len(neg_iou_thr) != 2:
                raise ValueError(f'MaxIoUAssignerAVA: neg_iou_thr must be a number or a '
                                 f'(low, high) pair, got {neg_iou_thr!r}')
            self.neg_iou_thr: float | tuple[float, float] = (
                _number('neg_iou_thr', neg_iou_thr[0]), _number('neg_iou_thr', neg_iou_thr[1]))
        else:
            self.neg_iou_thr = _number('neg_iou_thr', neg_iou_thr)
        self.min_pos_iou = _number('min_pos_iou', min_pos_iou)
        if ignore_iof_thr > 0:
            raise ValueError('MaxIoUAssignerAVA: ignore_iof_thr > 0 (ignored ground-truth '
                             'boxes) is not supported; AVA has none')
        calculator = kwargs.get('iou_calculator', {'type': 'BboxOverlaps2D'})
        if isinstance(calculator, dict) and calculator.get('type') != 'BboxOverlaps2D':
            raise ValueError(f'MaxIoUAssignerAVA: only iou_calculator BboxOverlaps2D is '
                             f'supported, got {calculator!r}')
        self.gt_max_assign_all = bool(gt_max_assign_all)
        self.ignore_iof_thr = ignore_iof_thr
        self.match_low_quality = bool(match_low_quality)

    def assign(self, bboxes: torch.Tensor, gt_bboxes: torch.Tensor,
               gt_bboxes_ignore: torch.Tensor | None = None,
               gt_labels: torch.Tensor | None = None) -> AssignResult:
        """Assign ``bboxes`` ``[n, 4(5)]`` to ``gt_bboxes`` ``[k, 4]``."""
        return self.assign_wrt_overlaps(bbox_overlaps(gt_bboxes, bboxes), gt_labels)

    def assign_wrt_overlaps(self, overlaps: torch.Tensor,
                            gt_labels: torch.Tensor | None = None) -> AssignResult:
        """Assign from IoUs ``[k, n]`` (ground truths x proposals)."""
        num_gts, num_bboxes = overlaps.shape
        assigned = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
        labels = None if gt_labels is None else overlaps.new_zeros(
            (num_bboxes, gt_labels.shape[-1]), dtype=torch.float32)
        if num_gts == 0 or num_bboxes == 0:
            if num_gts == 0:
                assigned[:] = 0
            return AssignResult(num_gts, assigned, overlaps.new_zeros((num_bboxes,)), labels)
        max_overlaps, argmax = overlaps.max(dim=0)
        gt_max, gt_argmax = overlaps.max(dim=1)
        if isinstance(self.neg_iou_thr, tuple):
            low, high = self.neg_iou_thr
            assigned[(max_overlaps >= low) & (max_overlaps < high)] = 0
        else:
            assigned[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0
        positive = max_overlaps >= self.pos_iou_thr
        assigned[positive] = argmax[positive] + 1
        if self.match_low_quality:
            for i in range(num_gts):
                if gt_max[i] >= self.min_pos_iou:
                    if self.gt_max_assign_all:
                        assigned[overlaps[i] == gt_max[i]] = i + 1
                    else:
                        assigned[gt_argmax[i]] = i + 1
        if labels is not None:
            pos = assigned > 0
            labels[pos] = gt_labels[assigned[pos] - 1].to(labels.dtype)
        return AssignResult(num_gts, assigned, max_overlaps, labels)


@dataclass
class SamplingResult:
    """The sampled positives and negatives of one image."""

    pos_inds: torch.Tensor
    neg_inds: torch.Tensor
    pos_bboxes: torch.Tensor
    neg_bboxes: torch.Tensor
    pos_is_gt: torch.Tensor
    pos_assigned_gt_inds: torch.Tensor
    pos_gt_bboxes: torch.Tensor
    pos_gt_labels: torch.Tensor | None

    @property
    def bboxes(self) -> torch.Tensor:
        """Positives then negatives ``[num_pos + num_neg, 4]``."""
        return torch.cat([self.pos_bboxes, self.neg_bboxes])


class RandomSampler:
    """Sample at most ``num`` proposals, ``num * pos_fraction`` of them positive, at random.

    Args:
        num (int): proposals per image.
        pos_fraction (float): the most positives, as a fraction of ``num``.
        neg_pos_ub (int): at most this many negatives per positive (-1: no bound).
        add_gt_as_proposals (bool): the ground-truth boxes join the proposals first.
        **kwargs: accepted and unused (mmdet's ``context``).
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True, **kwargs: object) -> None:
        if not isinstance(num, int) or num < 1:
            raise ValueError(f'RandomSampler: num must be an int >= 1, got {num!r}')
        if not 0 <= pos_fraction <= 1:
            raise ValueError(f'RandomSampler: pos_fraction must be in [0, 1], got '
                             f'{pos_fraction!r}')
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = bool(add_gt_as_proposals)

    @staticmethod
    def random_choice(gallery: torch.Tensor, num: int) -> torch.Tensor:
        """``num`` entries of ``gallery`` in random order (``torch.randperm``)."""
        perm = torch.randperm(gallery.numel())[:num].to(gallery.device)
        return gallery[perm]

    def _pick(self, candidates: torch.Tensor, num_expected: int) -> torch.Tensor:
        inds = torch.nonzero(candidates, as_tuple=False).flatten()
        if inds.numel() <= num_expected:
            return inds
        return self.random_choice(inds, num_expected)

    def sample(self, assign_result: AssignResult, bboxes: torch.Tensor,
               gt_bboxes: torch.Tensor, gt_labels: torch.Tensor | None = None,
               **kwargs: object) -> SamplingResult:
        """Sample one image's proposals (changes ``assign_result`` when adding the gts)."""
        bboxes = bboxes.reshape(-1, bboxes.shape[-1])[:, :4]
        gt_flags = bboxes.new_zeros((bboxes.shape[0],), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None:
                raise ValueError('RandomSampler: add_gt_as_proposals needs gt_labels')
            bboxes = torch.cat([gt_bboxes[:, :4].to(bboxes.dtype), bboxes])
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([gt_flags.new_ones(len(gt_bboxes)), gt_flags])
        gt_inds = assign_result.gt_inds
        pos_inds = self._pick(gt_inds > 0, int(self.num * self.pos_fraction)).unique()
        num_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            num_neg = min(num_neg, int(self.neg_pos_ub * max(1, pos_inds.numel())))
        neg_inds = self._pick(gt_inds == 0, num_neg).unique()
        assigned = gt_inds[pos_inds] - 1
        labels = assign_result.labels
        return SamplingResult(
            pos_inds=pos_inds, neg_inds=neg_inds, pos_bboxes=bboxes[pos_inds],
            neg_bboxes=bboxes[neg_inds], pos_is_gt=gt_flags[pos_inds],
            pos_assigned_gt_inds=assigned,
            pos_gt_bboxes=gt_bboxes[assigned, :4] if len(gt_bboxes) else gt_bboxes.new_zeros(0, 4),
            pos_gt_labels=None if labels is None else labels[pos_inds])
