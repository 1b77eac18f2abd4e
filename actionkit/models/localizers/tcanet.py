"""TCANet (MMAction2 1.x): refine temporal action proposals with local-global temporal
encoders (LGTE) and three cascaded temporal boundary regressors (TBR).

Qing et al., "Temporal Context Aggregation Network for Temporal Action Proposal Refinement",
CVPR 2021, https://arxiv.org/abs/2103.13141. A 1.x-only model: it is called as 1.x calls it,
``model(inputs, data_samples, mode='tensor'|'loss'|'predict')``; each data sample carries
``proposals`` (``{'proposals': [P, 3]}``: start, end (0..1), score), for ``'loss'``
``gt_instances`` (``{'gt_bbox': [G, 2]}``) and for ``'predict'`` ``metainfo``
(``video_name``, ``duration_second``, ``duration_frame``, ``feature_frame``).
State-dict keys follow 1.x (``x_1d_b_f``, ``lgtes.{i}.{atten.attn, ffn.layers, norm1, norm2,
mask}``, ``tbr{1,2,3}.{reg1se, reg1xw}``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..builder import LOCALIZERS
from .utils import post_processing

__all__ = ['TCANet', 'LGTE', 'TBR', 'batch_iou']

_HIDDEN = 512


class _SelfAttention(nn.Module):
    """``x + dropout(attention(x))`` (keys ``attn.in_proj_*``, ``attn.out_proj``, as
    mmcv's ``MultiheadAttention`` wrapper)."""

    def __init__(self, dims: int, num_heads: int, attn_drop: float, proj_drop: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dims, num_heads, dropout=attn_drop)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        return x + self.proj_drop(self.attn(x, x, x, attn_mask=attn_mask)[0])


class _FFN(nn.Module):
    """``x + fc2(dropout(relu(fc1(x))))`` with dropout (keys ``layers.0.0``, ``layers.1``)."""

    def __init__(self, dims: int, hidden: int, drop: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(dims, hidden), nn.ReLU(inplace=True), nn.Dropout(drop)),
            nn.Linear(hidden, dims), nn.Dropout(drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class LGTE(nn.Module):
    """Local-global temporal encoder: half the heads attend within ``window_size``, the
    other half over the whole sequence; then a feed-forward layer.

    Args:
        input_dim (int): channels.
        dropout (float): dropout of the residual branches.
        temporal_dim (int): sequence length.
        window_size (int): the local heads' window.
        num_heads (int): attention heads.
    """

    def __init__(self, input_dim: int, dropout: float, temporal_dim: int = 100,
                 window_size: int = 9, num_heads: int = 8) -> None:
        super().__init__()
        self.atten = _SelfAttention(input_dim, num_heads, attn_drop=0.1, proj_drop=dropout)
        self.ffn = _FFN(input_dim, 256, dropout)
        self.norm1 = nn.LayerNorm(input_dim, eps=1e-6)
        self.norm2 = nn.LayerNorm(input_dim, eps=1e-6)
        index = torch.arange(temporal_dim)
        outside = (index[None, :] - index[:, None]).abs() > window_size / 2  # [L, L]
        mask = torch.zeros(num_heads, temporal_dim, temporal_dim, dtype=torch.bool)
        mask[:num_heads // 2] = outside
        self.register_buffer('mask', mask[None])  # True: not attended

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, L]`` -> ``[B, C, L]``."""
        x = x.permute(2, 0, 1)
        length = x.shape[0]
        mask = self.mask.repeat(x.shape[1], 1, 1, 1).reshape(-1, length, length)
        x = self.norm2(self.ffn(self.norm1(self.atten(x, mask))))
        return x.permute(1, 2, 0)


def _start_end_regressor(sample_num: int, feat_dim: int) -> nn.Sequential:
    hidden = 256
    return nn.Sequential(
        nn.Conv1d(feat_dim * 2, hidden, 3, stride=2, padding=1, groups=8), nn.ReLU(inplace=True),
        nn.Conv1d(hidden, hidden, 3, stride=2, padding=1, groups=8), nn.ReLU(inplace=True),
        nn.Conv1d(hidden, 2, kernel_size=sample_num // 4, groups=2), nn.Flatten())


def _center_width_regressor(temporal_len: int, feat_dim: int) -> nn.Sequential:
    hidden = 512
    return nn.Sequential(
        nn.Conv1d(feat_dim, hidden, 3, stride=2, padding=1, groups=4), nn.ReLU(inplace=True),
        nn.Conv1d(hidden, hidden, 3, stride=2, padding=1, groups=4), nn.ReLU(inplace=True),
        nn.Conv1d(hidden, hidden, kernel_size=temporal_len // 4, groups=4),
        nn.ReLU(inplace=True), nn.Conv1d(hidden, 3, kernel_size=1))


def batch_iou(proposals: torch.Tensor, gt_boxes: torch.Tensor) -> torch.Tensor:
    """Row-wise temporal IoU of ``[P, 2]`` proposals and ``[P, 2]`` boxes."""
    inter = (torch.min(proposals[:, 1], gt_boxes[:, 1])
             - torch.max(proposals[:, 0], gt_boxes[:, 0])).clamp(min=0.)
    union = proposals[:, 1] - proposals[:, 0] - inter + gt_boxes[:, 1] - gt_boxes[:, 0]
    return inter / (union + 1e-5)


def _apply_center_width(boxes: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Boxes moved by centre / log-width deltas (weights 0.1 and 0.2)."""
    widths = boxes[:, 1] - boxes[:, 0]
    centre = boxes[:, 0] + 0.5 * widths + deltas[:, 0] * 0.1 * widths
    half = 0.5 * torch.exp(deltas[:, 1] * 0.2) * widths
    return torch.stack((centre - half, centre + half), dim=1)


def _apply_start_end(boxes: torch.Tensor, deltas: torch.Tensor, weight: float) -> torch.Tensor:
    """Boxes whose ends move by ``deltas * width * weight``."""
    widths = (boxes[:, 1] - boxes[:, 0])[:, None]
    return boxes[:, :2] + deltas[:, :2] * widths * weight


def _targets(proposals: torch.Tensor, gt_boxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(start/end offsets, centre/log-width offsets) from proposals to boxes."""
    ex_w = (proposals[:, 1] - proposals[:, 0]).clamp(min=1e-5)
    gt_w = (gt_boxes[:, 1] - gt_boxes[:, 0]).clamp(min=1e-5)
    se = (gt_boxes[:, :2] - proposals[:, :2]) / ex_w[:, None]
    dx = (gt_boxes[:, 0] + 0.5 * gt_w - proposals[:, 0] - 0.5 * ex_w) / ex_w
    return se, torch.stack((dx, torch.log(gt_w / ex_w)), dim=1)


def _sample(segments: torch.Tensor, out_len: int, features: torch.Tensor) -> torch.Tensor:
    """``out_len`` features linearly interpolated over each ``[start, end]`` (0..1)."""
    segments = segments.clamp(0, 1) * 2 - 1
    theta = segments.new_zeros((features.shape[0], 2, 3))
    theta[:, 1, 1] = 1.0
    theta[:, 0, 0] = (segments[:, 1] - segments[:, 0]) / 2.0
    theta[:, 0, 2] = (segments[:, 1] + segments[:, 0]) / 2.0
    grid = F.affine_grid(theta, [*features.shape[:2], 1, out_len], align_corners=False)
    out = F.grid_sample(features.unsqueeze(2), grid, align_corners=False)
    return out.view(*features.shape[:2], out_len)


class TBR(nn.Module):
    """Temporal boundary regressor: start/end and centre/width refinements and an IoU
    estimate from features sampled around and inside each proposal.

    Args:
        se_sample_num, action_sample_num (int): samples at each boundary / inside.
        temporal_dim (int): the feature length (kept for 1.x's signature).
        prop_boundary_ratio (float): the boundary regions' share of the proposal length.
    """

    def __init__(self, se_sample_num: int, action_sample_num: int, temporal_dim: int,
                 prop_boundary_ratio: float = 0.5) -> None:
        super().__init__()
        self.se_sample_num, self.action_sample_num = se_sample_num, action_sample_num
        self.temporal_dim, self.prop_boundary_ratio = temporal_dim, prop_boundary_ratio
        self.reg1se = _start_end_regressor(se_sample_num, _HIDDEN)
        self.reg1xw = _center_width_regressor(se_sample_num * 2 + action_sample_num, _HIDDEN)

    def _features(self, segments: torch.Tensor, features: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        span = (segments[:, 1] - segments[:, 0]) * self.prop_boundary_ratio
        starts = torch.stack((segments[:, 0] - span, segments[:, 0]), dim=1)
        ends = torch.stack((segments[:, 1], segments[:, 1] + span), dim=1)
        return (_sample(starts, self.se_sample_num, features),
                _sample(segments, self.action_sample_num, features),
                _sample(ends, self.se_sample_num, features))

    def forward(self, proposals: torch.Tensor, features: torch.Tensor,
                gt_boxes: torch.Tensor | None, iou_thres: float, training: bool) -> tuple:
        """``(predicted IoU [P], refined proposals [P, 2], regression loss, IoU loss)``."""
        boxes = proposals[:, :2]
        start, action, end = self._features(boxes, features)
        reg_se = self.reg1se(torch.cat([start, end], dim=1))
        reg_xw = self.reg1xw(torch.cat([start, action, end], dim=2)).squeeze(2)
        pred_iou, reg_xw = reg_xw[:, 2].sigmoid(), reg_xw[:, :2]
        refined = (_apply_start_end(boxes, reg_se, 1.0 if training else 0.2)
                   + _apply_center_width(boxes, reg_xw)) / 2.0
        reg_loss = iou_loss = 0
        if training:
            iou = batch_iou(boxes, gt_boxes)
            target_se, target_xw = _targets(boxes, gt_boxes)
            reg_loss = (self.regress_loss(reg_se, target_se, iou, iou_thres)
                        + self.regress_loss(reg_xw, target_xw, iou, iou_thres))
            iou_loss = self.iou_loss(pred_iou, iou, iou_thres)
        return pred_iou, refined.clamp(min=0.), reg_loss, iou_loss

    @staticmethod
    def regress_loss(regression: torch.Tensor, targets: torch.Tensor, iou: torch.Tensor,
                     iou_thres: float) -> torch.Tensor:
        """Smooth-L1 over the proposals whose IoU with their box reaches ``iou_thres``."""
        weight = (iou >= iou_thres).float().unsqueeze(1)
        loss = (weight * F.smooth_l1_loss(regression, targets, reduction='none')).sum()
        return loss / weight.sum() if weight.sum() > 0 else loss

    @staticmethod
    def iou_loss(pred_iou: torch.Tensor, iou: torch.Tensor, iou_thres: float) -> torch.Tensor:
        """Smooth-L1 of the IoU estimate on all high-IoU proposals and random middle / low
        ones, at most as many of each as there are high ones."""
        high = (iou > iou_thres).float()
        middle = ((iou <= iou_thres) & (iou > 0.3)).float()
        low = (iou <= 0.3).float()
        weights = high
        for part in (middle, low):
            keep = torch.clamp(high.sum() / part.sum(), max=1.)
            weights = weights + ((torch.rand(iou.shape[0], device=iou.device) * part)
                                 > (1. - keep)).float()
        loss = (F.smooth_l1_loss(pred_iou.view(-1), iou, reduction='none') * weights).sum()
        return loss / weights.sum() if weights.sum() > 0 else loss


def _field(sample: Any, name: str, key: str, owner: str) -> torch.Tensor:
    value = getattr(sample, name, None)
    if value is None and isinstance(sample, dict):
        value = sample.get(name)
    if value is None:
        raise ValueError(f'{owner}: every data sample needs {name!r} (with {key!r})')
    value = value[key] if not isinstance(value, torch.Tensor) else value
    return torch.as_tensor(value, dtype=torch.float32)


@LOCALIZERS.register_module()
class TCANet(nn.Module):
    """Temporal Context Aggregation Network; see the module docstring for the calls.

    Args:
        feat_dim (int): input feature channels.
        se_sample_num, action_sample_num (int): TBR samples at the boundaries / inside.
        temporal_dim (int): the feature length ``L``.
        window_size (int): LGTE's local window.
        lgte_num (int): LGTE layers.
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold (float),
        post_process_top_k (int), feature_extraction_interval (int): post-processing.
    """

    def __init__(self, feat_dim: int = 2304, se_sample_num: int = 32,
                 action_sample_num: int = 64, temporal_dim: int = 100, window_size: int = 9,
                 lgte_num: int = 2, soft_nms_alpha: float = 0.4,
                 soft_nms_low_threshold: float = 0.0, soft_nms_high_threshold: float = 0.0,
                 post_process_top_k: int = 100, feature_extraction_interval: int = 16) -> None:
        super().__init__()
        if se_sample_num % 4 or action_sample_num % 4 or se_sample_num < 4:
            raise ValueError(f'TCANet: se_sample_num and action_sample_num must be multiples '
                             f'of 4, got {se_sample_num}, {action_sample_num}')
        self.soft_nms = (soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold,
                         post_process_top_k, feature_extraction_interval)
        self.x_1d_b_f = nn.Sequential(
            nn.Conv1d(feat_dim, _HIDDEN, 3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(_HIDDEN, _HIDDEN, 3, padding=1, groups=4), nn.ReLU(inplace=True))
        for i in (1, 2, 3):
            self.add_module(f'tbr{i}', TBR(se_sample_num, action_sample_num, temporal_dim))
        self.lgtes = nn.ModuleList(LGTE(_HIDDEN, 0.1, temporal_dim, window_size)
                                   for _ in range(lgte_num))

    def init_weights(self) -> None:
        """PyTorch's default init (1.x sets no init_cfg for TCANet)."""

    def forward(self, inputs: torch.Tensor | Sequence[torch.Tensor], data_samples: Any = None,
                mode: str = 'tensor', **kwargs: Any) -> Any:
        """``'tensor'``: encoded features ``[B, 512, L]``; ``'loss'``: ``rloss{1,2,3}``,
        ``iloss{1,2,3}``; ``'predict'``: ``[dict(video_name, proposal_list)]``."""
        if not isinstance(inputs, torch.Tensor):
            inputs = torch.stack(list(inputs))
        if mode == 'tensor':
            return self._forward(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"TCANet.forward: mode must be 'tensor', 'loss' or 'predict', "
                         f'got {mode!r}')

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.x_1d_b_f(x)
        for layer in self.lgtes:
            x = layer(x)
        return x

    def _gather(self, inputs: torch.Tensor, samples: Sequence[Any], with_gt: bool) -> tuple:
        """Features per proposal, the proposals ``[P, 3]`` (start, end, batch index), their
        scores and (``with_gt``) a box per proposal; all-zero (padding) rows are dropped."""
        if not samples:
            raise ValueError('TCANet: loss / predict need data_samples with proposals')
        features = self._forward(inputs)
        props = [_field(s, 'proposals', 'proposals', 'TCANet') for s in samples]
        count = max(p.shape[0] for p in props)
        padded = torch.zeros(len(props), count, 3, device=features.device)
        boxes = torch.zeros(len(props), count, 2, device=features.device)
        for i, prop in enumerate(props):
            padded[i, :prop.shape[0]] = prop.to(features.device)
            if with_gt:
                gt = _field(samples[i], 'gt_instances', 'gt_bbox', 'TCANet').to(features.device)
                boxes[i] = gt[torch.randperm(gt.shape[0])[:count]] if gt.shape[0] > count \
                    else F.pad(gt, (0, 0, 0, count - gt.shape[0]))
        scores = padded[:, :, 2].clone()
        padded[:, :, 2] = torch.arange(len(props), device=features.device)[:, None].float()
        padded, boxes, scores = padded.view(-1, 3), boxes.view(-1, 2), scores.view(-1)
        keep = padded[:, :2].sum(dim=1) > 0
        padded = padded[keep]
        return features[padded[:, 2].long()], padded, scores[keep], boxes[keep]

    def loss(self, inputs: torch.Tensor, data_samples: Sequence[Any]) -> dict[str, Any]:
        features, proposals, _, boxes = self._gather(inputs, data_samples, True)
        losses = {}
        for i, thres in ((1, 0.5), (2, 0.6), (3, 0.7)):
            _, proposals, losses[f'rloss{i}'], losses[f'iloss{i}'] = getattr(self, f'tbr{i}')(
                proposals, features, boxes, thres, True)
        return {key: losses[key] for key in ('rloss1', 'rloss2', 'rloss3', 'iloss1', 'iloss2',
                                             'iloss3')}

    def predict(self, inputs: torch.Tensor, data_samples: Sequence[Any]) -> list[dict]:
        features, proposals, scores, _ = self._gather(inputs, data_samples, False)
        stages = []
        for i, thres in ((1, 0.5), (2, 0.6), (3, 0.7)):
            pred_iou, proposals = getattr(self, f'tbr{i}')(proposals, features, None, thres,
                                                           False)[:2]
            stages.append(torch.cat([proposals, (scores * pred_iou).view(-1, 1)], dim=1))
        meta = getattr(data_samples[0], 'metainfo', None) or dict(data_samples[0])
        result = post_processing(torch.cat(stages).cpu().numpy(), meta, *self.soft_nms)
        return [dict(video_name=meta['video_name'], proposal_list=result)]
