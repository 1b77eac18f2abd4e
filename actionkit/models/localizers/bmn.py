"""BMN: Boundary-Matching Network for temporal action proposal generation.

Paper: https://arxiv.org/abs/1907.09702. The network reads a feature sequence ``[N, C, T]``
and predicts per-position start and end probabilities and a boundary-matching confidence
map ``[N, 2, D, T]`` (duration x start) that scores every proposal ``[t, t + d + 1)`` at once.
The map comes from a fixed sampling matrix (``sample_mask``) that interpolates
``num_samples`` points inside and around each proposal.

Module names equal MMAction2 0.x's, so its checkpoints load with ``strict=True``
(``x_1d_b.0.weight``, ``x_1d_s.2.weight``, ``x_3d_p.0.weight``, ``x_2d_p.6.bias``,
``sample_mask`` …).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ...evaluation.localization import temporal_iop, temporal_iou
from ..builder import LOCALIZERS, LOSSES
from ..layers import check_positive_int
from .base import BaseTAPGenerator, meta_list
from .utils import post_processing

__all__ = ['BMN', 'bm_sample_mask', 'gt_bbox_list']


def _check_unit_interval(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f'{owner}: {name} must be a number in [0, 1], got {value!r}')


def bm_sample_mask(temporal_dim: int, boundary_ratio: float, num_samples: int,
                   num_samples_per_bin: int) -> np.ndarray:
    """BMN's boundary-matching sampling matrix, ``[T, num_samples * T * T]`` float32.

    For the proposal starting at ``s`` and lasting ``d + 1`` steps (``s + d < T``) the region
    ``[s - r (d + 1), s + d + r (d + 1)]`` (``r = boundary_ratio``) is split into ``num_samples``
    bins of ``num_samples_per_bin`` evenly spaced points; each point spreads a weight
    ``1 / num_samples_per_bin`` over its two neighbouring positions by linear interpolation
    (``math.modf`` semantics, so points in (-1, 0) land on position 0). Column
    ``(n * T + d) * T + s`` holds bin ``n`` of proposal ``(d, s)``; proposals running past the
    end are all zero.
    """
    total = num_samples * num_samples_per_bin
    mask = np.zeros((temporal_dim, num_samples, temporal_dim, temporal_dim), dtype=np.float32)
    durations = np.arange(temporal_dim)
    for start in range(temporal_dim):
        dur = durations[:temporal_dim - start]  # proposals that end inside the video
        center_len = dur.astype(float) + 1
        seg_tmin = start - center_len * boundary_ratio
        seg_tmax = start + dur + center_len * boundary_ratio
        step = (seg_tmax - seg_tmin) / (total - 1.0)
        points = seg_tmin[:, None] + step[:, None] * np.arange(total)[None, :]  # [D', total]
        down = np.trunc(points)
        frac = points - down
        up = np.ceil(points)
        # interleave (down, 1 - frac) and (up, frac) per point, as the sequential sum does
        index = np.stack((down, up), axis=-1).astype(np.int64)
        weight = np.stack((1 - frac, frac), axis=-1)
        bins = np.broadcast_to((np.arange(total) // num_samples_per_bin)[None, :, None],
                               index.shape)
        rows = np.broadcast_to(np.arange(len(dur))[:, None, None], index.shape)
        valid = (index >= 0) & (index <= temporal_dim - 1)
        acc = np.zeros((len(dur), num_samples, temporal_dim))
        np.add.at(acc, (rows[valid], bins[valid], index[valid]), weight[valid])
        acc *= 1.0 / num_samples_per_bin
        mask[:, :, :len(dur), start] = acc.transpose(2, 1, 0)
    return mask.reshape(temporal_dim, -1)


def gt_bbox_list(gt_bbox: Any) -> list[np.ndarray]:
    """Per-video ``[K, 2]`` float arrays from a list of arrays/tensors or a batched tensor."""
    if gt_bbox is None:
        raise ValueError('training needs gt_bbox: per video a [K, 2] array of normalised '
                         '[start, end] (add GenerateLocalizationLabels to the pipeline)')
    boxes = []
    for item in gt_bbox:
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().numpy()
        item = np.asarray(item, dtype=float)
        if item.ndim != 2 or item.shape[1] != 2 or item.shape[0] == 0:
            raise ValueError(f'each gt_bbox must be a non-empty [K, 2] array of [start, end], '
                             f'got shape {item.shape}')
        boxes.append(item)
    return boxes


def _peaks(scores: np.ndarray, keep_first: bool) -> np.ndarray:
    """Boundary candidates: local maxima, values above half the max, and one end."""
    bins = np.zeros(len(scores), dtype=bool)
    bins[0 if keep_first else -1] = True
    inner = scores[1:-1]
    local_max = (inner > scores[2:]) & (inner > scores[:-2])
    bins[1:-1] |= local_max | (inner > 0.5 * scores.max())
    return bins


@LOCALIZERS.register_module()
class BMN(BaseTAPGenerator):
    """Boundary Matching Network.

    Args:
        temporal_dim (int): T, length of the input feature sequence.
        boundary_ratio (float): share of a proposal's length sampled before and after it.
        num_samples (int): sampling bins per proposal.
        num_samples_per_bin (int): interpolated points per bin.
        feat_dim (int): C, feature channels (divisible by 4).
        soft_nms_alpha (float): soft-NMS Gaussian width.
        soft_nms_low_threshold (float): soft-NMS IoU threshold for short proposals.
        soft_nms_high_threshold (float): soft-NMS IoU threshold for video-long proposals.
        post_process_top_k (int): proposals returned per video.
        feature_extraction_interval (int): frames per feature step. Default: 16.
        loss_cls (dict): the loss config (``LOSSES``). Default: ``dict(type='BMNLoss')``.
        hidden_dim_1d (int): channels of the 1-D convolutions (divisible by 4). Default: 256.
        hidden_dim_2d (int): channels of the 2-D convolutions. Default: 128.
        hidden_dim_3d (int): channels of the 3-D convolution. Default: 512.

    Example:
        >>> model = BMN(8, 0.5, 4, 2, 16, 0.4, 0.5, 0.9, 10, hidden_dim_1d=8,
        ...             hidden_dim_2d=8, hidden_dim_3d=8)
        >>> confidence_map, start, end = model.forward_dummy(torch.rand(1, 16, 8))
        >>> confidence_map.shape
        torch.Size([1, 2, 8, 8])
    """

    def __init__(self, temporal_dim: int, boundary_ratio: float, num_samples: int,
                 num_samples_per_bin: int, feat_dim: int, soft_nms_alpha: float,
                 soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                 post_process_top_k: int, feature_extraction_interval: int = 16,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='BMNLoss'),
                 hidden_dim_1d: int = 256, hidden_dim_2d: int = 128,
                 hidden_dim_3d: int = 512) -> None:
        super().__init__()
        for name, value in (('temporal_dim', temporal_dim), ('num_samples', num_samples),
                            ('num_samples_per_bin', num_samples_per_bin),
                            ('feat_dim', feat_dim), ('post_process_top_k', post_process_top_k),
                            ('feature_extraction_interval', feature_extraction_interval),
                            ('hidden_dim_1d', hidden_dim_1d), ('hidden_dim_2d', hidden_dim_2d),
                            ('hidden_dim_3d', hidden_dim_3d)):
            check_positive_int('BMN', name, value)
        for name, value in (('feat_dim', feat_dim), ('hidden_dim_1d', hidden_dim_1d)):
            if value % 4:
                raise ValueError(f'BMN: {name} must be divisible by 4 (grouped convolutions, '
                                 f'groups=4), got {value}')
        if num_samples * num_samples_per_bin < 2:
            raise ValueError('BMN: num_samples * num_samples_per_bin must be at least 2, got '
                             f'{num_samples} * {num_samples_per_bin}')
        if isinstance(boundary_ratio, bool) or not isinstance(boundary_ratio, (int, float)) \
                or boundary_ratio < 0:
            raise ValueError(f'BMN: boundary_ratio must be a number >= 0, got {boundary_ratio!r}')
        if not isinstance(soft_nms_alpha, (int, float)) or soft_nms_alpha <= 0:
            raise ValueError(f'BMN: soft_nms_alpha must be > 0, got {soft_nms_alpha!r}')
        _check_unit_interval('BMN', 'soft_nms_low_threshold', soft_nms_low_threshold)
        _check_unit_interval('BMN', 'soft_nms_high_threshold', soft_nms_high_threshold)

        self.tscale = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.num_samples = num_samples
        self.num_samples_per_bin = num_samples_per_bin
        self.feat_dim = feat_dim
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.loss_cls = LOSSES.build(loss_cls)
        self.hidden_dim_1d = hidden_dim_1d
        self.hidden_dim_2d = hidden_dim_2d
        self.hidden_dim_3d = hidden_dim_3d

        # a persistent buffer: the key is in 0.x checkpoints (there a frozen Parameter)
        self.register_buffer('sample_mask', torch.from_numpy(bm_sample_mask(
            temporal_dim, boundary_ratio, num_samples, num_samples_per_bin)))
        # [D, T] 1 where the proposal (duration d + 1, start t) ends inside the video
        bm_mask = (torch.arange(temporal_dim)[:, None] + torch.arange(temporal_dim)[None, :]
                   < temporal_dim).float()
        self.register_buffer('bm_mask', bm_mask, persistent=False)

        h1 = hidden_dim_1d
        # base module
        self.x_1d_b = nn.Sequential(
            nn.Conv1d(feat_dim, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True))
        # temporal evaluation module: start and end probabilities
        self.x_1d_s = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, 1, kernel_size=1), nn.Sigmoid())
        self.x_1d_e = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, 1, kernel_size=1), nn.Sigmoid())
        # proposal evaluation module: the boundary-matching confidence map
        self.x_1d_p = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1), nn.ReLU(inplace=True))
        self.x_3d_p = nn.Sequential(
            nn.Conv3d(h1, hidden_dim_3d, kernel_size=(num_samples, 1, 1)), nn.ReLU(inplace=True))
        self.x_2d_p = nn.Sequential(
            nn.Conv2d(hidden_dim_3d, hidden_dim_2d, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, hidden_dim_2d, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, hidden_dim_2d, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, 2, kernel_size=1), nn.Sigmoid())

        gap = 1. / temporal_dim
        self.anchors_tmins = gap * (np.arange(temporal_dim) - 0.5)
        self.anchors_tmaxs = gap * (np.arange(temporal_dim) + 1.5)
        # [D * T, 2] normalised [tmin, tmax] of every (duration, start) proposal
        starts = np.arange(temporal_dim)[None, :] * gap
        match_tmin = np.broadcast_to(starts, (temporal_dim, temporal_dim))
        match_tmax = starts + gap * np.arange(1, temporal_dim + 1)[:, None]
        self.match_map = np.stack((match_tmin, match_tmax), axis=-1).reshape(-1, 2)

    # ---- tensor path -------------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        """MMAction2 1.x saves ``bm_mask`` (a function of ``temporal_dim``); it is checked
        against this model's and dropped, so 1.x checkpoints load with ``strict=True``."""
        saved = state_dict.pop(prefix + 'bm_mask', None)
        if saved is not None and (saved.shape != self.bm_mask.shape
                                  or not torch.equal(saved.float().cpu(), self.bm_mask.cpu())):
            raise ValueError(f'BMN: the checkpoint\'s bm_mask has shape {tuple(saved.shape)} '
                             f'(1.x BMN); this model has temporal_dim={self.tscale}, whose '
                             f'mask is {tuple(self.bm_mask.shape)}: set temporal_dim to match')
        super()._load_from_state_dict(state_dict, prefix, *args)

    def _check_input(self, raw_feature: torch.Tensor, video_meta: Any = None) -> None:
        expected = (self.feat_dim, self.tscale)
        if raw_feature.dim() != 3 or tuple(raw_feature.shape[1:]) != expected:
            names = [m.get('video_name') for m in meta_list(video_meta)] if video_meta else []
            where = f' (videos {names})' if names else ''
            raise ValueError(f'BMN takes raw_feature of shape [N, feat_dim={self.feat_dim}, '
                             f'temporal_dim={self.tscale}], got {tuple(raw_feature.shape)}{where}')

    def _boundary_matching_layer(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T]`` -> ``[N, C, num_samples, D, T]`` by the sampling matrix."""
        n, c = x.shape[:2]
        return torch.matmul(x, self.sample_mask).reshape(n, c, self.num_samples, self.tscale,
                                                         self.tscale)

    def forward_dummy(self, raw_feature: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The pure tensor path (ONNX export).

        Args:
            raw_feature (torch.Tensor): ``[N, feat_dim, temporal_dim]``.

        Returns:
            tuple: ``confidence_map [N, 2, D, T]`` (regression, classification),
            ``start [N, T]`` and ``end [N, T]`` probabilities.
        """
        base_feature = self.x_1d_b(raw_feature)  # [N, h1, T]
        start = self.x_1d_s(base_feature).squeeze(1)  # [N, T]
        end = self.x_1d_e(base_feature).squeeze(1)  # [N, T]
        confidence_map = self.x_1d_p(base_feature)  # [N, h1, T]
        confidence_map = self._boundary_matching_layer(confidence_map)  # [N, h1, S, D, T]
        confidence_map = self.x_3d_p(confidence_map).squeeze(2)  # [N, h3, D, T]
        confidence_map = self.x_2d_p(confidence_map)  # [N, 2, D, T]
        return confidence_map, start, end

    _forward = forward_dummy  # MMAction2 0.x name, used by its ONNX export script

    # ---- training ----------------------------------------------------------------------------
    def generate_labels(self, gt_bbox: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training targets from normalised ground-truth segments.

        Args:
            gt_bbox: per video a ``[K, 2]`` array/tensor of ``[start, end]`` in [0, 1].

        Returns:
            tuple: ``gt_iou_map [N, D, T]`` (best IoU of each proposal with a gt segment),
            ``gt_start [N, T]`` and ``gt_end [N, T]`` (best overlap of each position's anchor
            with a ``3 / T``-wide region around a gt start / end, as a share of the anchor).
        """
        iou_maps, starts, ends = [], [], []
        pad = 3 * (1. / self.tscale)
        for boxes in gt_bbox_list(gt_bbox):
            gt_min, gt_max = boxes[:, 0][:, None], boxes[:, 1][:, None]  # [K, 1]
            iou = temporal_iou(self.match_map[None, :, 0], self.match_map[None, :, 1],
                               gt_min, gt_max)  # [K, D * T]
            iou_maps.append(iou.max(axis=0).reshape(self.tscale, self.tscale))
            anchors = (self.anchors_tmins[None, :], self.anchors_tmaxs[None, :])
            starts.append(temporal_iop(*anchors, gt_min - pad / 2, gt_min + pad / 2).max(0))
            ends.append(temporal_iop(*anchors, gt_max - pad / 2, gt_max + pad / 2).max(0))
        as_tensor = lambda arrays: torch.from_numpy(np.stack(arrays).astype(np.float32))  # noqa
        return as_tensor(iou_maps), as_tensor(starts), as_tensor(ends)

    def forward_train(self, raw_feature: torch.Tensor, label_confidence: torch.Tensor,
                      label_start: torch.Tensor, label_end: torch.Tensor
                      ) -> dict[str, torch.Tensor]:
        """``dict(loss=...)``, the weighted BMN loss."""
        confidence_map, start, end = self.forward_dummy(raw_feature)
        loss = self.loss_cls(confidence_map, start, end, label_confidence, label_start,
                             label_end, self.bm_mask.to(raw_feature.device))
        return dict(loss=loss[0])

    # ---- testing -----------------------------------------------------------------------------
    def _proposals(self, start: np.ndarray, end: np.ndarray, reg: np.ndarray,
                   cls: np.ndarray) -> np.ndarray:
        """Candidate proposals ``[P, 7]``: ``[tmin, tmax, start, end, cls, reg, score]``."""
        start_bins, end_bins = _peaks(start, keep_first=True), _peaks(end, keep_first=False)
        dur, first = np.meshgrid(np.arange(self.tscale), np.arange(self.tscale), indexing='ij')
        last = first + dur + 1
        valid = last < self.tscale
        valid &= start_bins[first] & end_bins[np.minimum(last, self.tscale - 1)]
        dur, first, last = dur[valid], first[valid], last[valid]
        tmin_score, tmax_score = start[first], end[last]
        cls_score, reg_score = cls[dur, first], reg[dur, first]
        score = tmin_score * tmax_score * cls_score * reg_score
        return np.stack((first / self.tscale, last / self.tscale, tmin_score, tmax_score,
                         cls_score, reg_score, score), axis=1).astype(float)

    def forward_test(self, raw_feature: torch.Tensor, video_meta: Any) -> list[dict[str, Any]]:
        """Proposals of every video in the batch.

        Returns:
            list[dict]: ``{'video_name': str, 'proposal_list': [{'segment': [t0, t1],
            'score': s}, ...]}`` per video, segments in seconds, best first.
        """
        metas = meta_list(video_meta)
        if len(metas) != raw_feature.shape[0]:
            raise ValueError(f'BMN.forward_test: got {raw_feature.shape[0]} feature sequences '
                             f'but {len(metas)} video_meta entries')
        confidence_map, start, end = (t.detach().cpu().numpy()
                                      for t in self.forward_dummy(raw_feature))
        outputs = []
        for i, meta in enumerate(metas):
            proposals = self._proposals(start[i], end[i], confidence_map[i, 0],
                                        confidence_map[i, 1])
            proposal_list = post_processing(
                proposals, meta, self.soft_nms_alpha, self.soft_nms_low_threshold,
                self.soft_nms_high_threshold, self.post_process_top_k,
                self.feature_extraction_interval) if len(proposals) else []
            outputs.append(dict(video_name=meta['video_name'], proposal_list=proposal_list))
        return outputs

    def forward(self, raw_feature: torch.Tensor, gt_bbox: Sequence[Any] | None = None,
                video_meta: Any = None, return_loss: bool = True) -> Any:
        """Losses (``return_loss=True``, needs ``gt_bbox``) or per-video proposals (needs
        ``video_meta`` with ``video_name``, ``duration_frame``, ``duration_second``)."""
        self._check_input(raw_feature, video_meta)
        if return_loss:
            label_confidence, label_start, label_end = (
                t.to(raw_feature.device) for t in self.generate_labels(gt_bbox))
            return self.forward_train(raw_feature, label_confidence, label_start, label_end)
        return self.forward_test(raw_feature, video_meta)
