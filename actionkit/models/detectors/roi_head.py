"""``AVARoIHead``: RoI features -> action scores per person box (MMAction2 0.x, without mmdet).

Training assigns each image's proposals to its ground-truth boxes
(:class:`~.assigners.MaxIoUAssignerAVA`), samples them (:class:`~.assigners.RandomSampler`),
pools the sampled RoIs (:class:`~actionkit.models.roi_extractors.SingleRoIExtractor3D`) and
scores them (:class:`~actionkit.models.heads.bbox_head.BBoxHeadAVA`). Testing scores the
proposals of one clip and returns MMAction2's per-class result arrays (:func:`bbox2result`).
Keys: ``roi_head.bbox_head.fc_cls.*`` (the extractor has no parameters).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..builder import HEADS
from ..roi_extractors import SingleRoIExtractor3D
from .assigners import MaxIoUAssignerAVA, RandomSampler

__all__ = ['AVARoIHead', 'bbox2roi', 'bbox2result']

_ASSIGNERS = {'MaxIoUAssignerAVA': MaxIoUAssignerAVA}
_SAMPLERS = {'RandomSampler': RandomSampler}


def bbox2roi(bbox_list: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-image boxes -> rois ``[K, 5]`` (image index, ``x1, y1, x2, y2``)."""
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        bboxes = bboxes.reshape(-1, bboxes.shape[-1])[:, :4]
        rois.append(torch.cat([bboxes.new_full((len(bboxes), 1), img_id), bboxes], dim=-1))
    return torch.cat(rois, 0) if rois else torch.zeros(0, 5)


def bbox2result(bboxes: torch.Tensor, scores: torch.Tensor, num_classes: int,
                thr: float | Sequence[float] = 0.01) -> list[np.ndarray]:
    """MMAction2's detection result: for each class 1.., an array ``[m, 5]`` (box, score).

    A box enters class ``c`` when its score is above ``thr`` (or ``thr[c]``); a single
    negative ``thr`` means single-label: each box enters its best class only.
    """
    if bboxes.shape[0] == 0:
        return list(np.zeros((num_classes - 1, 0, 5), dtype=np.float32))
    bboxes, scores = bboxes.detach().cpu().numpy(), scores.detach().cpu().numpy()
    if scores.shape[1] != num_classes:
        raise ValueError(f'bbox2result: scores have {scores.shape[1]} classes, expected '
                         f'{num_classes}')
    multilabel = True
    if not hasattr(thr, '__len__'):
        multilabel = thr >= 0
        thr = (thr,) * num_classes
    if len(thr) != num_classes:
        raise ValueError(f'bbox2result: {len(thr)} thresholds for {num_classes} classes')
    best = scores[:, 1:].argmax(axis=1)
    result = []
    for i in range(num_classes - 1):
        where = scores[:, i + 1] > thr[i + 1] if multilabel else best == i
        result.append(np.concatenate((bboxes[where, :4], scores[where, i + 1:i + 2]), axis=1))
    return result


def _build(table: dict, cfg: Mapping | None, what: str) -> Any:
    if cfg is None:
        return None
    cfg = dict(cfg)
    kind = cfg.pop('type', None)
    if kind not in table:
        raise KeyError(f'AVARoIHead: {what} type {kind!r} is not supported; known: '
                       f'{sorted(table)}')
    return table[kind](**cfg)


@HEADS.register_module()
class AVARoIHead(nn.Module):
    """RoI head of the ``FastRCNN`` action detector.

    Args:
        bbox_roi_extractor (dict | nn.Module): a ``SingleRoIExtractor3D`` config.
        bbox_head (dict | nn.Module): a ``BBoxHeadAVA`` config.
        shared_head (dict | None): ``ACRNHead``, or LFB's ``FBOHead`` / ``LFBInferHead``.
        train_cfg (dict | None): ``assigner``, ``sampler``, ``pos_weight`` (the detector's
            ``train_cfg.rcnn``).
        test_cfg (dict | None): ``action_thr`` (``test_cfg.rcnn``).
    """

    def __init__(self, bbox_roi_extractor: Mapping | nn.Module, bbox_head: Mapping | nn.Module,
                 shared_head: Mapping | None = None, train_cfg: Mapping | None = None,
                 test_cfg: Mapping | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.shared_head = None if shared_head is None else HEADS.build(shared_head)
        unknown = set(kwargs) - {'pretrained', 'init_cfg', 'mask_roi_extractor', 'mask_head'}
        if unknown or kwargs.get('mask_head') is not None:
            raise TypeError(f'AVARoIHead: unexpected arguments {sorted(unknown or kwargs)}')
        if isinstance(bbox_roi_extractor, Mapping):
            cfg = dict(bbox_roi_extractor)
            if cfg.pop('type', 'SingleRoIExtractor3D') != 'SingleRoIExtractor3D':
                raise KeyError(f'AVARoIHead: bbox_roi_extractor must be SingleRoIExtractor3D, '
                               f'got {bbox_roi_extractor.get("type")!r}')
            bbox_roi_extractor = SingleRoIExtractor3D(**cfg)
        self.bbox_roi_extractor = bbox_roi_extractor
        self.bbox_head = HEADS.build(bbox_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.bbox_assigner = self.bbox_sampler = None
        if train_cfg is not None:
            self.bbox_assigner = _build(_ASSIGNERS, train_cfg.get('assigner'), 'assigner')
            self.bbox_sampler = _build(_SAMPLERS, train_cfg.get('sampler'), 'sampler')

    @property
    def with_bbox(self) -> bool:
        """Always True (MMAction2's attribute)."""
        return True

    @property
    def with_shared_head(self) -> bool:
        """Whether a shared head (``ACRNHead``) mixes RoI and context features."""
        return self.shared_head is not None

    def init_weights(self) -> None:
        """Initialise the shared head and the box head."""
        if self.with_shared_head:
            self.shared_head.init_weights()
        self.bbox_head.init_weights()

    def _bbox_forward(self, x: Any, rois: torch.Tensor,
                      img_metas: Sequence[Mapping] | None = None) -> dict[str, Any]:
        bbox_feat, global_feat = self.bbox_roi_extractor(x, rois)  # [K, C, T, oh, ow]
        if self.with_shared_head:
            bbox_feat = self.shared_head(bbox_feat, feat=global_feat, rois=rois,
                                         img_metas=img_metas)
        cls_score, bbox_pred = self.bbox_head(bbox_feat)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feat)

    def forward_train(self, x: Any, img_metas: Sequence[Mapping], proposal_list: Sequence[
                      torch.Tensor], gt_bboxes: Sequence[torch.Tensor],
                      gt_labels: Sequence[torch.Tensor], gt_bboxes_ignore: Any = None,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """Assign, sample, pool and score; return the losses (and logged accuracies)."""
        if self.bbox_assigner is None or self.bbox_sampler is None:
            raise ValueError('AVARoIHead: training needs train_cfg.rcnn with an assigner and a '
                             'sampler')
        if not len(proposal_list) == len(gt_bboxes) == len(gt_labels):
            raise ValueError(f'AVARoIHead: {len(proposal_list)} proposal lists for '
                             f'{len(gt_bboxes)} gt box lists and {len(gt_labels)} label lists')
        results = []
        for proposals, boxes, labels in zip(proposal_list, gt_bboxes, gt_labels):
            assign = self.bbox_assigner.assign(proposals, boxes, None, labels)
            results.append(self.bbox_sampler.sample(assign, proposals, boxes, labels))
        rois = bbox2roi([res.bboxes for res in results])
        bbox_results = self._bbox_forward(x, rois, img_metas)
        targets = self.bbox_head.get_targets(results, gt_bboxes, gt_labels, self.train_cfg)
        return self.bbox_head.loss(bbox_results['cls_score'], bbox_results['bbox_pred'], rois,
                                   *targets)

    def simple_test(self, x: Any, proposal_list: Sequence[torch.Tensor],
                    img_metas: Sequence[Mapping], proposals: Any = None,
                    rescale: bool = False) -> list[list[np.ndarray]]:
        """Score the proposals of one clip: ``[bbox2result(...)]``."""
        batch = (x[0] if isinstance(x, (tuple, list)) else x).shape[0]
        if not batch == 1 == len(img_metas) == len(proposal_list):
            raise ValueError(f'AVARoIHead tests one clip at a time; got a batch of {batch}, '
                             f'{len(img_metas)} img_metas and {len(proposal_list)} proposal '
                             f'lists')
        rois = bbox2roi(proposal_list)
        cls_score = self._bbox_forward(x, rois, img_metas)['cls_score']
        meta = img_metas[0]
        bboxes, scores = self.bbox_head.get_det_bboxes(
            rois, cls_score, meta['img_shape'], flip=meta.get('flip', False),
            crop_quadruple=meta.get('crop_quadruple', np.array([0, 0, 1, 1])),
            cfg=self.test_cfg)
        thr = (self.test_cfg or {}).get('action_thr', 0.002)
        return [bbox2result(bboxes, scores, self.bbox_head.num_classes, thr=thr)]
