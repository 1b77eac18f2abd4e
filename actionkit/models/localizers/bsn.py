"""BSN: Boundary Sensitive Network for temporal action proposal generation.

Paper: http://arxiv.org/abs/1806.02964. BSN runs in three stages:

1. ``TEM`` (temporal evaluation module) reads a feature sequence ``[N, C, T]`` and predicts
   actionness, start and end probabilities per position; its test results are written as
   CSVs (``action,start,end,tmin,tmax``).
2. PGM (proposal generation module, :mod:`actionkit.models.localizers.utils`, run by
   ``tools/misc/bsn_proposal_generation.py``) pairs start and end peaks into candidate proposals
   and samples a boundary-sensitive proposal (BSP) feature for each.
3. ``PEM`` (proposal evaluation module) scores each proposal from its BSP feature; the final
   score is ``pem_score * start_score * end_score``, followed by soft-NMS.

Module names equal MMAction2 0.x's (``conv1``..``conv3`` in TEM, ``fc1``/``fc2`` in PEM).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...evaluation.localization import temporal_iop
from ..builder import LOCALIZERS, LOSSES
from ..layers import check_positive_int
from .base import BaseTAPGenerator, meta_list
from .bmn import gt_bbox_list
from .utils import post_processing

__all__ = ['TEM', 'PEM']


def _number(owner: str, name: str, value: Any, low: float = float('-inf'),
            high: float = float('inf')) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f'{owner}: {name} must be a number in [{low}, {high}], got {value!r}')


@LOCALIZERS.register_module()
class TEM(BaseTAPGenerator):
    """Temporal Evaluation Module of BSN.

    Args:
        temporal_dim (int): T, length of the feature sequence.
        boundary_ratio (float): start/end regions are ``max(1 / T, ratio * gt length)`` wide.
        tem_feat_dim (int): C, feature channels.
        tem_hidden_dim (int): hidden channels.
        tem_match_threshold (float): positive threshold of the targets in the loss.
        loss_cls (dict): loss config (``LOSSES``).
            Default: ``dict(type='BinaryLogisticRegressionLoss')``.
        loss_weight (float): weight of the actionness loss. Default: 2.
        output_dim (int): output channels (actionness, start, end). Default: 3.
        conv1_ratio (float): scale of conv1's output. Default: 1.
        conv2_ratio (float): scale of conv2's output. Default: 1.
        conv3_ratio (float): scale of conv3's output before the sigmoid. Default: 0.01.
    """

    def __init__(self, temporal_dim: int, boundary_ratio: float, tem_feat_dim: int,
                 tem_hidden_dim: int, tem_match_threshold: float,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(
                     type='BinaryLogisticRegressionLoss'),
                 loss_weight: float = 2, output_dim: int = 3, conv1_ratio: float = 1,
                 conv2_ratio: float = 1, conv3_ratio: float = 0.01) -> None:
        super().__init__()
        for name, value in (('temporal_dim', temporal_dim), ('tem_feat_dim', tem_feat_dim),
                            ('tem_hidden_dim', tem_hidden_dim)):
            check_positive_int('TEM', name, value)
        if output_dim != 3:
            raise ValueError(f'TEM: output_dim must be 3 (actionness, start, end), got '
                             f'{output_dim!r}')
        _number('TEM', 'boundary_ratio', boundary_ratio, 0)
        _number('TEM', 'tem_match_threshold', tem_match_threshold, 0, 1)
        for name, value in (('loss_weight', loss_weight), ('conv1_ratio', conv1_ratio),
                            ('conv2_ratio', conv2_ratio), ('conv3_ratio', conv3_ratio)):
            _number('TEM', name, value)
        self.temporal_dim = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.feat_dim = tem_feat_dim
        self.c_hidden = tem_hidden_dim
        self.match_threshold = tem_match_threshold
        self.output_dim = output_dim
        self.loss_cls = LOSSES.build(loss_cls)
        self.loss_weight = loss_weight
        self.conv1_ratio = conv1_ratio
        self.conv2_ratio = conv2_ratio
        self.conv3_ratio = conv3_ratio

        self.conv1 = nn.Conv1d(tem_feat_dim, tem_hidden_dim, kernel_size=3, stride=1, padding=1)
        self.conv2 = nn.Conv1d(tem_hidden_dim, tem_hidden_dim, kernel_size=3, stride=1,
                               padding=1)
        self.conv3 = nn.Conv1d(tem_hidden_dim, output_dim, kernel_size=1, stride=1, padding=0)
        gap = 1. / temporal_dim
        self.anchors_tmins = gap * np.arange(temporal_dim, dtype=float)
        self.anchors_tmaxs = gap * (np.arange(temporal_dim) + 1.)

    def forward_dummy(self, raw_feature: torch.Tensor) -> torch.Tensor:
        """``[N, C, T]`` -> ``[N, 3, T]`` actionness, start and end probabilities."""
        x = F.relu(self.conv1_ratio * self.conv1(raw_feature))
        x = F.relu(self.conv2_ratio * self.conv2(x))
        return torch.sigmoid(self.conv3_ratio * self.conv3(x))

    _forward = forward_dummy  # MMAction2 0.x name

    def generate_labels(self, gt_bbox: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actionness, start and end targets ``[N, T]``: the best share of each position's
        anchor covered by a gt segment, start region or end region."""
        actions, starts, ends = [], [], []
        anchors = (self.anchors_tmins[None, :], self.anchors_tmaxs[None, :])
        for boxes in gt_bbox_list(gt_bbox):
            gt_min, gt_max = boxes[:, :1], boxes[:, 1:2]  # [K, 1]
            pad = np.maximum(1. / self.temporal_dim, self.boundary_ratio * (gt_max - gt_min))
            actions.append(temporal_iop(*anchors, gt_min, gt_max).max(0))
            starts.append(temporal_iop(*anchors, gt_min - pad / 2, gt_min + pad / 2).max(0))
            ends.append(temporal_iop(*anchors, gt_max - pad / 2, gt_max + pad / 2).max(0))
        as_tensor = lambda arrays: torch.from_numpy(np.stack(arrays).astype(np.float32))  # noqa
        return as_tensor(actions), as_tensor(starts), as_tensor(ends)

    def forward_train(self, raw_feature: torch.Tensor, label_action: torch.Tensor,
                      label_start: torch.Tensor, label_end: torch.Tensor
                      ) -> dict[str, torch.Tensor]:
        """``loss_action`` (times ``loss_weight``), ``loss_start`` and ``loss_end``."""
        tem_output = self.forward_dummy(raw_feature)
        loss_action = self.loss_cls(tem_output[:, 0, :], label_action, self.match_threshold)
        loss_start = self.loss_cls(tem_output[:, 1, :], label_start, self.match_threshold)
        loss_end = self.loss_cls(tem_output[:, 2, :], label_end, self.match_threshold)
        return {'loss_action': loss_action * self.loss_weight, 'loss_start': loss_start,
                'loss_end': loss_end}

    def forward_test(self, raw_feature: torch.Tensor,
                     video_meta: Any) -> list[tuple[str, np.ndarray]]:
        """``[(video_name, [T, 5] array of action, start, end, tmin, tmax), ...]``."""
        tem_output = self.forward_dummy(raw_feature).detach().cpu().numpy()
        metas = meta_list(video_meta)
        if len(metas) != len(tem_output):
            raise ValueError(f'TEM.forward_test: got {len(tem_output)} feature sequences but '
                             f'{len(metas)} video_meta entries')
        return [(meta['video_name'],
                 np.stack((out[0], out[1], out[2], self.anchors_tmins, self.anchors_tmaxs),
                          axis=1))
                for meta, out in zip(metas, tem_output)]

    def forward(self, raw_feature: torch.Tensor, gt_bbox: Any = None, video_meta: Any = None,
                return_loss: bool = True) -> Any:
        """Losses (``return_loss=True``, needs ``gt_bbox``) or per-video TEM results."""
        if raw_feature.dim() != 3 or tuple(raw_feature.shape[1:]) != (self.feat_dim,
                                                                        self.temporal_dim):
            raise ValueError(f'TEM takes raw_feature of shape [N, tem_feat_dim={self.feat_dim}, '
                             f'temporal_dim={self.temporal_dim}], got {tuple(raw_feature.shape)}')
        if return_loss:
            labels = (t.to(raw_feature.device) for t in self.generate_labels(gt_bbox))
            return self.forward_train(raw_feature, *labels)
        return self.forward_test(raw_feature, video_meta)


def _per_video(value: Any, name: str, item_dim: int) -> list[torch.Tensor]:
    """A batched tensor (``item_dim + 1`` dims) or a list of per-video tensors -> a list."""
    if value is None:
        raise ValueError(f'PEM needs {name}; add it to the pipeline (LoadProposals + Collect)')
    if isinstance(value, torch.Tensor):
        if value.dim() == item_dim + 1:
            return list(value)
        if value.dim() == item_dim:
            return [value]
        raise ValueError(f'PEM: {name} must have {item_dim} dims per video (plus the batch '
                         f'dim), got shape {tuple(value.shape)}')
    return [v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)) for v in value]


@LOCALIZERS.register_module()
class PEM(BaseTAPGenerator):
    """Proposal Evaluation Module of BSN: a two-layer MLP on BSP features.

    The training loss is the mean smooth-L1 between the predicted and the reference IoU of
    every proposal. (MMAction2 0.x also draws an IoU-balanced sample with ``pem_u_ratio_m`` /
    ``pem_u_ratio_l``, but multiplies it with an already averaged smooth-L1, so the sample
    cancels out; the arguments are kept for config compatibility.)

    Args:
        pem_feat_dim (int): BSP feature length.
        pem_hidden_dim (int): hidden units.
        pem_u_ratio_m (float): kept for compatibility (see above).
        pem_u_ratio_l (float): kept for compatibility (see above).
        pem_high_temporal_iou_threshold (float): kept for compatibility.
        pem_low_temporal_iou_threshold (float): kept for compatibility.
        soft_nms_alpha (float): soft-NMS Gaussian width.
        soft_nms_low_threshold (float): soft-NMS IoU threshold for short proposals.
        soft_nms_high_threshold (float): soft-NMS IoU threshold for video-long proposals.
        post_process_top_k (int): proposals returned per video.
        feature_extraction_interval (int): frames per feature step. Default: 16.
        fc1_ratio (float): scale of fc1's output. Default: 0.1.
        fc2_ratio (float): scale of fc2's output. Default: 0.1.
        output_dim (int): outputs per proposal. Default: 1.
    """

    def __init__(self, pem_feat_dim: int, pem_hidden_dim: int, pem_u_ratio_m: float,
                 pem_u_ratio_l: float, pem_high_temporal_iou_threshold: float,
                 pem_low_temporal_iou_threshold: float, soft_nms_alpha: float,
                 soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                 post_process_top_k: int, feature_extraction_interval: int = 16,
                 fc1_ratio: float = 0.1, fc2_ratio: float = 0.1, output_dim: int = 1) -> None:
        super().__init__()
        for name, value in (('pem_feat_dim', pem_feat_dim), ('pem_hidden_dim', pem_hidden_dim),
                            ('post_process_top_k', post_process_top_k),
                            ('feature_extraction_interval', feature_extraction_interval)):
            check_positive_int('PEM', name, value)
        if output_dim != 1:
            raise ValueError(f'PEM: output_dim must be 1 (one IoU per proposal), got '
                             f'{output_dim!r}')
        for name, value in (('pem_high_temporal_iou_threshold', pem_high_temporal_iou_threshold),
                            ('pem_low_temporal_iou_threshold', pem_low_temporal_iou_threshold),
                            ('soft_nms_low_threshold', soft_nms_low_threshold),
                            ('soft_nms_high_threshold', soft_nms_high_threshold)):
            _number('PEM', name, value, 0, 1)
        _number('PEM', 'soft_nms_alpha', soft_nms_alpha, 1e-12)
        self.feat_dim = pem_feat_dim
        self.hidden_dim = pem_hidden_dim
        self.u_ratio_m = pem_u_ratio_m
        self.u_ratio_l = pem_u_ratio_l
        self.pem_high_temporal_iou_threshold = pem_high_temporal_iou_threshold
        self.pem_low_temporal_iou_threshold = pem_low_temporal_iou_threshold
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.fc1_ratio = fc1_ratio
        self.fc2_ratio = fc2_ratio
        self.output_dim = output_dim
        self.fc1 = nn.Linear(pem_feat_dim, pem_hidden_dim, bias=True)
        self.fc2 = nn.Linear(pem_hidden_dim, output_dim, bias=True)

    def forward_dummy(self, bsp_feature: torch.Tensor) -> torch.Tensor:
        """``[..., pem_feat_dim]`` -> ``[..., 1]`` predicted IoU."""
        x = F.relu(self.fc1_ratio * self.fc1(bsp_feature))
        return torch.sigmoid(self.fc2_ratio * self.fc2(x))

    def _forward(self, bsp_feature: Any) -> torch.Tensor:
        """MMAction2 0.x helper: all videos' proposals concatenated, ``[sum K, 1]``."""
        return self.forward_dummy(torch.cat(_per_video(bsp_feature, 'bsp_feature', 2)))

    def forward_train(self, bsp_feature: Any, reference_temporal_iou: Any
                      ) -> dict[str, torch.Tensor]:
        """``dict(temporal_iou_loss=...)``: mean smooth-L1 of the predicted IoU."""
        pred = self._forward(bsp_feature).view(-1)
        reference = torch.cat(
            _per_video(reference_temporal_iou, 'reference_temporal_iou', 1))
        reference = reference.to(device=pred.device, dtype=pred.dtype).view(-1)
        if reference.numel() != pred.numel():
            raise ValueError(f'PEM: {pred.numel()} proposals in bsp_feature but '
                             f'{reference.numel()} reference_temporal_iou values')
        return dict(temporal_iou_loss=F.smooth_l1_loss(pred, reference))

    def forward_test(self, bsp_feature: Any, tmin: Any, tmax: Any, tmin_score: Any,
                     tmax_score: Any, video_meta: Any) -> list[dict[str, Any]]:
        """Scored, soft-NMSed proposals of every video (``{'video_name', 'proposal_list'}``)."""
        metas = meta_list(video_meta)
        features = _per_video(bsp_feature, 'bsp_feature', 2)
        columns = [_per_video(v, name, 1) for v, name in ((tmin, 'tmin'), (tmax, 'tmax'),
                                                      (tmin_score, 'tmin_score'),
                                                      (tmax_score, 'tmax_score'))]
        if not len(metas) == len(features) == len(columns[0]):
            raise ValueError(f'PEM.forward_test: {len(features)} bsp_feature entries, '
                             f'{len(columns[0])} tmin entries and {len(metas)} video_meta')
        outputs = []
        for i, meta in enumerate(metas):
            pem_score = self.forward_dummy(features[i]).detach().cpu().numpy().reshape(-1, 1)
            t0, t1, s0, s1 = (c[i].detach().cpu().numpy().reshape(-1, 1) for c in columns)
            score = pem_score * s0 * s1
            result = np.concatenate((t0, t1, s0, s1, pem_score, score), axis=1).astype(float)
            proposal_list = post_processing(
                result, meta, self.soft_nms_alpha, self.soft_nms_low_threshold,
                self.soft_nms_high_threshold, self.post_process_top_k,
                self.feature_extraction_interval) if len(result) else []
            outputs.append(dict(video_name=meta['video_name'], proposal_list=proposal_list))
        return outputs

    def forward(self, bsp_feature: Any, reference_temporal_iou: Any = None, tmin: Any = None,
                tmax: Any = None, tmin_score: Any = None, tmax_score: Any = None,
                video_meta: Any = None, return_loss: bool = True) -> Any:
        """Losses (``return_loss=True``) or per-video proposals."""
        if return_loss:
            return self.forward_train(bsp_feature, reference_temporal_iou)
        return self.forward_test(bsp_feature, tmin, tmax, tmin_score, tmax_score, video_meta)
