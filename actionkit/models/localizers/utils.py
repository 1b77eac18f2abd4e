"""Proposal post-processing (soft-NMS) and BSN's proposal generation module (PGM).

All functions are NumPy-only. Temporal positions are normalised to [0, 1] of the feature
sequence unless a docstring says seconds.

* ``soft_nms`` / ``post_processing`` — Gaussian soft-NMS and conversion of normalised proposals
  to ``[{'segment': [t0, t1], 'score': s}]`` in seconds (BMN, BSN PEM).
* ``generate_candidate_proposals`` — BSN PGM step 1: pair start and end peaks of the TEM
  probabilities into candidate proposals, with their IoU/IoA to the ground truth.
* ``generate_bsp_feature`` — BSN PGM step 2: the boundary-sensitive proposal feature, the
  actionness curve sampled inside and around each candidate.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from ...evaluation.localization import temporal_iop, temporal_iou

__all__ = [
    'soft_nms', 'post_processing', 'load_tem_results', 'candidate_proposals',
    'generate_candidate_proposals', 'bsp_feature', 'generate_bsp_feature', 'PROPOSAL_HEADER',
    'TEM_HEADER', 'sliding_window_proposals',
]

#: Column names of a PGM proposal CSV (one row per candidate proposal).
PROPOSAL_HEADER = 'tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa'
#: Column names of a TEM result CSV (one row per temporal position).
TEM_HEADER = 'action,start,end,tmin,tmax'


def soft_nms(proposals: np.ndarray, alpha: float, low_threshold: float, high_threshold: float,
             top_k: int) -> np.ndarray:
    """Gaussian soft-NMS of temporal proposals.

    Repeatedly takes the best remaining proposal; every other proposal whose IoU with it exceeds
    ``low_threshold + (high_threshold - low_threshold) * width`` (``width`` of the taken one)
    has its score multiplied by ``exp(-iou^2 / alpha)``. Stops after ``top_k + 1`` proposals.

    Args:
        proposals (np.ndarray): ``[P, >=3]`` rows ``[tmin, tmax, ..., score]``.
        alpha (float): width of the Gaussian decay.
        low_threshold (float): IoU threshold for the narrowest proposals.
        high_threshold (float): IoU threshold for proposals spanning the whole video.
        top_k (int): how many proposals to keep (plus one).

    Returns:
        np.ndarray: ``[K, 3]`` rows ``[tmin, tmax, decayed score]`` in the order they were taken.
    """
    proposals = proposals[proposals[:, -1].argsort()[::-1]]
    tstart = proposals[:, 0].astype(float)
    tend = proposals[:, 1].astype(float)
    tscore = proposals[:, -1].astype(float).copy()
    alive = np.ones(len(tscore), dtype=bool)
    kept = []
    while alive.any() and len(kept) <= top_k:
        idx = np.flatnonzero(alive)
        best = idx[np.argmax(tscore[idx])]
        width = tend[best] - tstart[best]
        ious = temporal_iou(tstart[best], tend[best], tstart[idx], tend[idx])
        decay = (ious > low_threshold + (high_threshold - low_threshold) * width) & (idx != best)
        tscore[idx[decay]] *= np.exp(-np.square(ious[decay]) / alpha)
        kept.append((tstart[best], tend[best], tscore[best]))
        alive[best] = False
    return np.array(kept, dtype=float).reshape(-1, 3)


def post_processing(result: np.ndarray, video_info: Mapping[str, Any], soft_nms_alpha: float,
                    soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                    post_process_top_k: int,
                    feature_extraction_interval: int) -> list[dict[str, Any]]:
    """Soft-NMS the proposals of one video and convert them to seconds.

    Args:
        result (np.ndarray): ``[P, >=3]`` rows ``[tmin, tmax, ..., score]``, normalised times.
        video_info (dict): needs ``duration_frame`` and ``duration_second``.
        soft_nms_alpha (float): see :func:`soft_nms`.
        soft_nms_low_threshold (float): see :func:`soft_nms`.
        soft_nms_high_threshold (float): see :func:`soft_nms`.
        post_process_top_k (int): proposals returned at most.
        feature_extraction_interval (int): frames per feature step; the features cover the
            first ``duration_frame // interval * interval`` frames, which map to [0, 1].

    Returns:
        list[dict]: ``[{'score': s, 'segment': [t0, t1]}, ...]`` best first, in seconds.
    """
    if len(result) > 1:
        result = soft_nms(result, soft_nms_alpha, soft_nms_low_threshold,
                          soft_nms_high_threshold, post_process_top_k)
    result = result[result[:, -1].argsort()[::-1]]
    duration_frame = video_info['duration_frame']
    covered = duration_frame // feature_extraction_interval * feature_extraction_interval
    video_duration = float(covered) / duration_frame * video_info['duration_second']
    return [{'score': float(row[-1]),
             'segment': [float(max(0, row[0]) * video_duration),
                         float(min(1, row[1]) * video_duration)]}
            for row in result[:min(post_process_top_k, len(result))]]


def load_tem_results(path: str, temporal_scale: int | None = None) -> np.ndarray:
    """Read a TEM result CSV (header ``action,start,end,tmin,tmax``) as ``[T, 5]`` float32.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when it has the wrong shape, naming the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'TEM result file {path} not found; run the TEM test with '
                                "output_config=dict(out=<tem_results_dir>, output_format='csv')")
    try:
        tem_results = np.loadtxt(path, dtype=np.float32, delimiter=',', skiprows=1, ndmin=2)
    except ValueError as err:
        raise ValueError(f'{path}: cannot parse the TEM result CSV ({err})') from err
    if tem_results.shape[1] != 5:
        raise ValueError(f'{path}: a TEM result CSV has 5 columns ({TEM_HEADER}), '
                         f'got {tem_results.shape[1]}')
    if temporal_scale is not None and tem_results.shape[0] != temporal_scale:
        raise ValueError(f'{path}: expected {temporal_scale} rows (temporal_scale), '
                         f'got {tem_results.shape[0]}')
    return tem_results


def _peak_bins(scores: np.ndarray, peak_threshold: float, tscale: int) -> np.ndarray:
    """Which of the first ``tscale`` positions are candidates: position 0, local maxima and
    scores above ``peak_threshold * max`` among positions ``1 .. tscale - 2``, and the last row
    when it lies within ``tscale`` (MMAction2 0.24.1's rule, which reads ``tscale`` rows of a
    longer TEM result and takes the maximum over all of them)."""
    bins = np.zeros(len(scores), dtype=bool)
    bins[[0, -1]] = True
    inner = scores[1:tscale - 1]
    peaks = (inner > scores[2:tscale]) & (inner > scores[:max(tscale - 2, 0)])
    bins[1:tscale - 1] = peaks | (inner > peak_threshold * scores.max())
    return bins[:tscale]


def candidate_proposals(tem_results: np.ndarray, video_info: Mapping[str, Any],
                        peak_threshold: float, temporal_scale: int | None = None) -> np.ndarray:
    """Candidate proposals of one video from its TEM results.

    Args:
        tem_results (np.ndarray): ``[T, >=3]`` rows ``[action, start, end, ...]``.
        video_info (dict): ``duration_frame``, ``duration_second``, ``feature_frame`` and
            ``annotations`` (``[{'segment': [s, e]}]`` in seconds).
        peak_threshold (float): start/end positions above ``peak_threshold * max`` are kept
            even when they are not local maxima.
        temporal_scale (int | None): the number of temporal positions (``None``: one per
            row). As in MMAction2, a TEM result with more rows is read on its first
            ``temporal_scale`` rows, with bins ``1 / temporal_scale`` wide (the maxima are
            still taken over every row).

    Returns:
        np.ndarray: ``[P, 7]`` rows ``[tmin, tmax, tmin_score, tmax_score, score, match_iou,
        match_ioa]`` sorted by ``score = tmin_score * tmax_score``, best first.
    """
    tscale = len(tem_results) if temporal_scale is None else temporal_scale
    if not 1 <= tscale <= len(tem_results):
        raise ValueError(f'temporal_scale={tscale} needs 1 to {len(tem_results)} TEM result '
                         f'rows; the TEM result has {len(tem_results)}')
    tgap = 1. / tscale
    start_scores, end_scores = tem_results[:, 1], tem_results[:, 2]
    centers = tgap / 2 + tgap * np.arange(tscale)
    starts = np.flatnonzero(_peak_bins(start_scores, peak_threshold, tscale))
    ends = np.flatnonzero(_peak_bins(end_scores, peak_threshold, tscale))
    rows = [[centers[s], centers[e], start_scores[s], end_scores[e]]
            for e in ends for s in starts if centers[s] < centers[e]]
    if not rows:
        return np.zeros((0, 7))
    props = np.array(rows, dtype=float)
    props = np.concatenate((props, (props[:, 2] * props[:, 3])[:, None]), axis=1)
    props = props[props[:, -1].argsort()[::-1]]

    corrected_second = (float(video_info['feature_frame']) / video_info['duration_frame']
                        * video_info['duration_second'])
    gts = np.array([ann['segment'] for ann in video_info.get('annotations', [])],
                   dtype=float).reshape(-1, 2) / corrected_second
    if len(gts):
        ious = temporal_iou(props[:, :1], props[:, 1:2], gts[None, :, 0], gts[None, :, 1])
        ioas = temporal_iop(props[:, :1], props[:, 1:2], gts[None, :, 0], gts[None, :, 1])
        match_iou, match_ioa = ious.max(axis=1), ioas.max(axis=1)
    else:
        match_iou = match_ioa = np.zeros(len(props))
    return np.concatenate((props, match_iou[:, None], match_ioa[:, None]), axis=1)


def generate_candidate_proposals(video_list: Sequence[int], video_infos: Sequence[Mapping],
                                 tem_results_dir: str, temporal_scale: int,
                                 peak_threshold: float, tem_results_ext: str = '.csv',
                                 result_dict: MutableMapping | None = None
                                 ) -> dict[str, np.ndarray]:
    """:func:`candidate_proposals` for the videos ``video_infos[i]``, ``i in video_list``.

    As in MMAction2, a TEM result may have more rows than ``temporal_scale``: the first
    ``temporal_scale`` rows are read (see :func:`candidate_proposals`); fewer rows is an error.

    Reads ``<tem_results_dir>/<video_name><tem_results_ext>`` (only ``.csv``). Results are
    also written into ``result_dict`` when one is given.

    Returns:
        dict[str, np.ndarray]: video name -> ``[P, 7]`` proposals (columns ``PROPOSAL_HEADER``).
    """
    if tem_results_ext != '.csv':
        raise ValueError(f"tem_results_ext must be '.csv', got {tem_results_ext!r}")
    proposal_dict = {}
    for video_index in video_list:
        video_info = video_infos[video_index]
        name = video_info['video_name']
        path = osp.join(tem_results_dir, name + tem_results_ext)
        tem_results = load_tem_results(path)
        if len(tem_results) < temporal_scale:
            raise ValueError(f'{path}: expected at least {temporal_scale} rows '
                             f'(temporal_scale), got {len(tem_results)}')
        proposal_dict[name] = candidate_proposals(tem_results, video_info, peak_threshold,
                                                  temporal_scale)
        if result_dict is not None:
            result_dict[name] = proposal_dict[name]
    return proposal_dict


def _sample_actionness(t_points: np.ndarray, actionness: np.ndarray, left: np.ndarray,
                       right: np.ndarray, num_sample: int, num_sample_interp: int) -> np.ndarray:
    """Mean-interpolated actionness at ``num_sample`` points evenly spread on [left, right].

    Each point averages ``num_sample_interp + 1`` interpolated values around it.
    """
    step = (right - left) / (num_sample - 1)  # [P]
    sub_step = step / num_sample_interp
    offsets = np.arange(num_sample * num_sample_interp + 1).astype(step.dtype)
    t_new = left[:, None] - step[:, None] / 2 + sub_step[:, None] * offsets[None, :]
    values = np.interp(t_new.ravel(), t_points, actionness).reshape(t_new.shape)
    windows = (np.arange(num_sample)[:, None] * num_sample_interp
               + np.arange(num_sample_interp + 1)[None, :])  # [num_sample, interp + 1]
    return values[:, windows].mean(axis=2)


def bsp_feature(tem_results: np.ndarray, proposals: np.ndarray, bsp_boundary_ratio: float = 0.2,
                num_sample_start: int = 8, num_sample_end: int = 8,
                num_sample_action: int = 16, num_sample_interp: int = 3) -> np.ndarray:
    """Boundary-sensitive proposal features of one video.

    Args:
        tem_results (np.ndarray): ``[T, 5]`` TEM results ``[action, start, end, tmin, tmax]``.
        proposals (np.ndarray): ``[P, >=2]`` rows ``[tmin, tmax, ...]``.
        bsp_boundary_ratio (float): start/end regions span ``±ratio * length`` around the
            proposal's boundaries.
        num_sample_start (int): samples in the start region.
        num_sample_end (int): samples in the end region.
        num_sample_action (int): samples inside the proposal.
        num_sample_interp (int): interpolation steps per sample.

    Returns:
        np.ndarray: ``[P, num_sample_action + num_sample_start + num_sample_end]`` features
        (action samples, then start, then end).
    """
    actionness, seg_tmins, seg_tmaxs = tem_results[:, 0], tem_results[:, 3], tem_results[:, 4]
    video_scale = len(tem_results)
    video_gap = seg_tmaxs[0] - seg_tmins[0]
    video_extend = int(video_scale / 4 + 10)
    # positions in the dtype of the files (float32), as MMAction2 0.x computes them
    dtype = np.result_type(tem_results.dtype, np.float32)
    pad = np.arange(video_extend).astype(dtype)
    steps = np.arange(video_scale).astype(dtype)
    t_points = np.concatenate((-video_gap / 2 - (video_extend - 1 - pad) * video_gap,
                               video_gap / 2 + steps * video_gap,
                               video_gap / 2 + seg_tmaxs[-1] + pad * video_gap))
    padded = np.concatenate((np.zeros(video_extend), actionness, np.zeros(video_extend)))
    proposals = np.asarray(proposals).reshape(len(proposals), -1)
    if len(proposals) == 0:
        return np.zeros((0, num_sample_action + num_sample_start + num_sample_end))
    tmin, tmax = proposals[:, 0], proposals[:, 1]
    margin = (tmax - tmin) * bsp_boundary_ratio
    start = _sample_actionness(t_points, padded, tmin - margin, tmin + margin, num_sample_start,
                               num_sample_interp)
    end = _sample_actionness(t_points, padded, tmax - margin, tmax + margin, num_sample_end,
                             num_sample_interp)
    action = _sample_actionness(t_points, padded, tmin, tmax, num_sample_action,
                                num_sample_interp)
    return np.concatenate((action, start, end), axis=1)


def generate_bsp_feature(video_list: Sequence[int], video_infos: Sequence[Mapping],
                         tem_results_dir: str, pgm_proposals_dir: str, top_k: int = 1000,
                         bsp_boundary_ratio: float = 0.2, num_sample_start: int = 8,
                         num_sample_end: int = 8, num_sample_action: int = 16,
                         num_sample_interp: int = 3, tem_results_ext: str = '.csv',
                         pgm_proposal_ext: str = '.csv',
                         result_dict: MutableMapping | None = None) -> dict[str, np.ndarray]:
    """:func:`bsp_feature` of the ``top_k`` first PGM proposals of each listed video.

    Reads ``<tem_results_dir>/<name>.csv`` and ``<pgm_proposals_dir>/<name>.csv``. Results are
    also written into ``result_dict`` when one is given.

    Returns:
        dict[str, np.ndarray]: video name -> ``[min(P, top_k), 32]`` features (default sizes).
    """
    if tem_results_ext != '.csv' or pgm_proposal_ext != '.csv':
        raise ValueError('tem_results_ext and pgm_proposal_ext must be ".csv", got '
                         f'{tem_results_ext!r} and {pgm_proposal_ext!r}')
    features = {}
    for video_index in video_list:
        name = video_infos[video_index]['video_name']
        tem_results = load_tem_results(osp.join(tem_results_dir, name + tem_results_ext))
        proposal_path = osp.join(pgm_proposals_dir, name + pgm_proposal_ext)
        if not osp.isfile(proposal_path):
            raise FileNotFoundError(f'PGM proposal file {proposal_path} of video {name!r} not '
                                    'found; generate the proposals first')
        proposals = np.loadtxt(proposal_path, dtype=np.float32, delimiter=',', skiprows=1,
                               ndmin=2)[:top_k]
        features[name] = bsp_feature(tem_results, proposals, bsp_boundary_ratio,
                                     num_sample_start, num_sample_end, num_sample_action,
                                     num_sample_interp)
        if result_dict is not None:
            result_dict[name] = features[name]
    return features


def sliding_window_proposals(duration: float,
                             scales: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
                             overlap: float = 0.5) -> list[dict[str, Any]]:
    """Uniform multi-scale sliding windows: a content-blind proposal baseline.

    For each scale ``s`` (a share of the video) windows of length ``s * duration`` slide with a
    stride of ``(1 - overlap)`` of their length, the last one aligned to the video's end. The
    scores only fix an order: scales are interleaved (one window of each scale in turn, long
    scales first), so that every prefix of the list covers all scales.

    Args:
        duration (float): the video length (seconds, or 1 for normalised times).
        scales (Sequence[float]): window lengths as shares of ``duration``, in (0, 1].
        overlap (float): overlap of consecutive windows of a scale, in [0, 1).

    Returns:
        list[dict]: ``[{'segment': [t0, t1], 'score': s}, ...]`` best first.
    """
    if not 0 <= overlap < 1:
        raise ValueError(f'overlap must be in [0, 1), got {overlap!r}')
    if not scales or any(not 0 < s <= 1 for s in scales):
        raise ValueError(f'scales must be shares of the video in (0, 1], got {scales!r}')
    per_scale = []
    for scale in sorted(scales, reverse=True):
        length = scale * duration
        stride = length * (1 - overlap)
        starts = list(np.arange(0, duration - length + 1e-9, stride)) if stride > 0 else [0.]
        if starts[-1] + length < duration - 1e-9:
            starts.append(duration - length)
        per_scale.append([[float(t), float(t + length)] for t in starts])
    ordered = [windows[i] for i in range(max(map(len, per_scale)))
               for windows in per_scale if i < len(windows)]
    return [{'segment': segment, 'score': 1.0 - k / len(ordered)}
            for k, segment in enumerate(ordered)]
