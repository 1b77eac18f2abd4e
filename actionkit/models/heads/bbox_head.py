"""``BBoxHeadAVA``: per-person action scores from RoI features (MMAction2 0.x, AVA).

Keys: ``roi_head.bbox_head.fc_cls.weight`` / ``.bias`` inside a ``FastRCNN`` detector. Class 0
is reserved (a box is a person or not); the loss and the accuracies use classes 1.. of the
RoIs that hold at least one action.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..builder import HEADS

__all__ = ['BBoxHeadAVA', 'bbox_target']

_POOL_TYPES = ('avg', 'max')


def bbox_target(pos_bboxes_list: Sequence[torch.Tensor], neg_bboxes_list: Sequence[torch.Tensor],
                gt_labels: Sequence[torch.Tensor],
                pos_weight: float = 1.) -> tuple[torch.Tensor, torch.Tensor]:
    """Classification targets of the sampled RoIs of a batch (MMAction2's ``bbox_target``).

    Each sample's positives keep their ground-truth multi-hot labels, its negatives get
    all-zero rows; the weights are ``pos_weight`` (1 when <= 0) for positives and 1 for
    negatives (MMAction2 sets every weight to 1 when a sample has no negative).

    Returns:
        tuple: labels ``[sum(num_pos + num_neg), num_classes]`` and weights ``[same]``.
    """
    if not len(pos_bboxes_list) == len(neg_bboxes_list) == len(gt_labels):
        raise ValueError(f'bbox_target: got {len(pos_bboxes_list)} positive, '
                         f'{len(neg_bboxes_list)} negative and {len(gt_labels)} label lists')
    pos_weight = 1. if pos_weight <= 0 else pos_weight
    labels, weights = [], []
    for pos, neg, label in zip(pos_bboxes_list, neg_bboxes_list, gt_labels):
        num_pos, num_neg = pos.size(0), neg.size(0)
        labels.append(F.pad(label, (0, 0, 0, num_neg)))
        weight = pos.new_ones(num_pos + num_neg)
        if num_neg:
            weight[:num_pos] = pos_weight
        weights.append(weight)
    return torch.cat(labels, 0), torch.cat(weights, 0)


@HEADS.register_module()
class BBoxHeadAVA(nn.Module):
    """RoI features ``[K, C, T, H, W]`` -> action scores ``[K, num_classes]``.

    Dropout (before or after pooling), temporal then spatial pooling to 1, one linear layer.
    The loss is a focal loss on sigmoid (``multilabel``) or softmax scores:
    ``focal_alpha * (1 - p_t) ** focal_gamma * CE`` (plain BCE at ``alpha=1, gamma=0``).

    Args:
        temporal_pool_type (str): ``'avg'`` or ``'max'``.
        spatial_pool_type (str): ``'avg'`` or ``'max'``.
        in_channels (int): channels of the RoI features.
        focal_gamma (float): focal loss gamma.
        focal_alpha (float): focal loss alpha.
        num_classes (int): classes including the reserved class 0.
        dropout_ratio (float): in [0, 1); 0 for none.
        dropout_before_pool (bool): drop features before pooling (else after).
        topk (int | Sequence[int] | None): the k of the recall/precision@top-k logged in
            training, each < ``num_classes``.
        multilabel (bool): sigmoid scores (else softmax).
    """

    def __init__(self, temporal_pool_type: str = 'avg', spatial_pool_type: str = 'max',
                 in_channels: int = 2048, focal_gamma: float = 0., focal_alpha: float = 1.,
                 num_classes: int = 81, dropout_ratio: float = 0,
                 dropout_before_pool: bool = True,
                 topk: int | Sequence[int] | None = (3, 5), multilabel: bool = True) -> None:
        super().__init__()
        for name, value in (('temporal_pool_type', temporal_pool_type),
                            ('spatial_pool_type', spatial_pool_type)):
            if value not in _POOL_TYPES:
                raise ValueError(f'BBoxHeadAVA: {name} must be one of {_POOL_TYPES}, got '
                                 f'{value!r}')
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'BBoxHeadAVA: dropout_ratio must be in [0, 1), got {dropout_ratio!r}')
        self.topk = _check_topk(topk, num_classes)
        self.temporal_pool_type = temporal_pool_type
        self.spatial_pool_type = spatial_pool_type
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.dropout_ratio = dropout_ratio
        self.dropout_before_pool = bool(dropout_before_pool)
        self.multilabel = bool(multilabel)
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        pool = {'avg': nn.AdaptiveAvgPool3d, 'max': nn.AdaptiveMaxPool3d}
        self.temporal_pool = pool[temporal_pool_type]((1, None, None))
        self.spatial_pool = pool[spatial_pool_type]((None, 1, 1))
        if dropout_ratio > 0:
            self.dropout = nn.Dropout(dropout_ratio)
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.debug_imgs = None

    def init_weights(self) -> None:
        """Normal(0, 0.01) weights, zero bias."""
        nn.init.normal_(self.fc_cls.weight, 0, 0.01)
        nn.init.constant_(self.fc_cls.bias, 0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """``[K, C, T, H, W]`` -> (scores ``[K, num_classes]``, None: no box regression)."""
        if self.dropout_before_pool and self.dropout_ratio > 0:
            x = self.dropout(x)
        x = self.spatial_pool(self.temporal_pool(x))  # [K, C, 1, 1, 1]
        if not self.dropout_before_pool and self.dropout_ratio > 0:
            x = self.dropout(x)
        return self.fc_cls(x.flatten(1)), None  # flatten: 0 RoIs give [0, num_classes]

    @staticmethod
    def get_targets(sampling_results: Sequence[Any], gt_bboxes: Any, gt_labels: Any,
                    rcnn_train_cfg: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels and weights of the sampled RoIs (see :func:`bbox_target`)."""
        return bbox_target([res.pos_bboxes for res in sampling_results],
                           [res.neg_bboxes for res in sampling_results],
                           [res.pos_gt_labels for res in sampling_results],
                           rcnn_train_cfg['pos_weight'])

    @staticmethod
    def get_recall_prec(pred_vec: torch.Tensor,
                        target_vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean over rows of recall and precision of bool ``[K, C]`` predictions."""
        correct = pred_vec & target_vec
        recall = correct.sum(1) / target_vec.sum(1).float()
        prec = correct.sum(1) / (pred_vec.sum(1) + 1e-6)
        return recall.mean(), prec.mean()

    @staticmethod
    def topk_to_matrix(probs: torch.Tensor, k: int) -> torch.Tensor:
        """Bool ``[K, C]``: True at each row's ``k`` highest scores."""
        top = probs.topk(k, 1, True, True)[1]
        return torch.zeros_like(probs, dtype=torch.bool).scatter_(1, top, True)

    def topk_accuracy(self, pred: torch.Tensor, target: torch.Tensor,
                      thr: float = 0.5) -> tuple[Any, Any, list, list]:
        """Recall and precision at score > ``thr`` (top-1 for softmax) and at each top-k."""
        target_bool = target > 0.5
        pred = pred.sigmoid() if self.multilabel else pred.softmax(dim=1)
        pred_bool = pred > thr if self.multilabel else self.topk_to_matrix(pred, 1)
        recall_thr, prec_thr = self.get_recall_prec(pred_bool, target_bool)
        recalls_k, precs_k = [], []
        for k in self.topk:
            recall, prec = self.get_recall_prec(self.topk_to_matrix(pred, k), target_bool)
            recalls_k.append(recall)
            precs_k.append(prec)
        return recall_thr, prec_thr, recalls_k, precs_k

    def loss(self, cls_score: torch.Tensor | None, bbox_pred: Any, rois: Any,
             labels: torch.Tensor, label_weights: Any, bbox_targets: Any = None,
             bbox_weights: Any = None, reduce: bool = True) -> dict[str, torch.Tensor]:
        """Focal loss and accuracies over the RoIs that hold an action (classes 1..).

        With no such RoI the loss is a zero that keeps the graph and the accuracies are 0
        (MMAction2 returns NaN).
        """
        losses: dict[str, torch.Tensor] = {}
        if cls_score is None:
            return losses
        labels = labels[:, 1:]
        positive = labels.sum(dim=-1) > 0
        scores, labels = cls_score[positive, 1:], labels[positive]
        if not len(labels):
            zero = cls_score.sum() * 0
            losses['recall@thr=0.5'] = losses['prec@thr=0.5'] = zero.detach()
            for k in self.topk:
                losses[f'recall@top{k}'] = losses[f'prec@top{k}'] = zero.detach()
            losses['loss_action_cls'] = zero
            return losses
        recall_thr, prec_thr, recall_k, prec_k = self.topk_accuracy(scores, labels, thr=0.5)
        losses['recall@thr=0.5'] = recall_thr
        losses['prec@thr=0.5'] = prec_thr
        for i, k in enumerate(self.topk):
            losses[f'recall@top{k}'] = recall_k[i]
            losses[f'prec@top{k}'] = prec_k[i]
        if self.multilabel:
            loss = F.binary_cross_entropy_with_logits(scores, labels, reduction='none')
        else:
            loss = F.cross_entropy(scores, labels / labels.sum(dim=1, keepdim=True),
                                   reduction='none')
        focal = self.focal_alpha * (1 - torch.exp(-loss)) ** self.focal_gamma * loss
        losses['loss_action_cls'] = focal.mean()
        return losses

    def get_det_bboxes(self, rois: torch.Tensor, cls_score: torch.Tensor | list | None,
                       img_shape: Sequence[int], flip: bool = False,
                       crop_quadruple: Sequence[float] | None = None,
                       cfg: Any = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Boxes normalised to the original frame and their scores.

        Args:
            rois: ``[K, 5]`` in pixels of the network input.
            cls_score: ``[K, num_classes]`` logits (a list is averaged).
            img_shape: ``(h, w)`` of the network input.
            flip: the input was flipped horizontally (undo it).
            crop_quadruple: ``(x1, y1, w, h)`` of the crop in the original frame (normalised).

        Returns:
            tuple: boxes ``[K, 4]`` in [0, 1] of the original frame, scores ``[K, C]``.
        """
        if isinstance(cls_score, list):
            cls_score = sum(cls_score) / float(len(cls_score))
        scores = None
        if cls_score is not None:
            scores = cls_score.sigmoid() if self.multilabel else cls_score.softmax(dim=-1)
        if rois.dim() != 2 or rois.shape[-1] != 5:
            raise ValueError(f'rois must be [K, 5], got shape {tuple(rois.shape)}')
        bboxes = rois[:, 1:].clone()
        img_h, img_w = img_shape
        if flip:
            bboxes[:, 0], bboxes[:, 2] = img_w - 1 - rois[:, 3], img_w - 1 - rois[:, 1]
        bboxes[:, 0::2] /= img_w
        bboxes[:, 1::2] /= img_h
        if crop_quadruple is not None:
            x1, y1, tw, th = crop_quadruple
            bboxes[:, 0::2] = bboxes[:, 0::2] * tw + x1
            bboxes[:, 1::2] = bboxes[:, 1::2] * th + y1
        return bboxes, scores


def _check_topk(topk: int | Sequence[int] | None, num_classes: int) -> tuple[int, ...]:
    if topk is None:
        return ()
    if isinstance(topk, int) and not isinstance(topk, bool):
        topk = (topk,)
    if not isinstance(topk, (tuple, list)) or not all(
            isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in topk):
        raise TypeError(f'BBoxHeadAVA: topk must be an int or a tuple of positive ints, got '
                        f'{topk!r}')
    if any(k >= num_classes for k in topk):
        raise ValueError(f'BBoxHeadAVA: every topk must be < num_classes={num_classes}, got '
                         f'{tuple(topk)}')
    return tuple(topk)
