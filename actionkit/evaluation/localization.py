"""Temporal action localization metrics: temporal IoU, AR@AN and detection mAP@tIoU.

The definitions are MMAction2 0.x's (and ActivityNet's official evaluation code):

* ``pairwise_temporal_iou`` — IoU of 1-D segments, an ``[n_targets, n_candidates]`` float32 table.
* ``average_recall_at_avg_proposals`` — recall averaged over tIoU thresholds, as a function of
  the average number of proposals retrieved per video (``AR@AN``), and the area under that curve.
* ``average_precision_at_temporal_iou`` / ``ActivityNetLocalization`` — detection AP per tIoU
  threshold with VOC-style interpolated precision, and its mean over classes (mAP).

Example:
    >>> gt = {'a': np.array([[0.0, 10.0]])}
    >>> proposals = {'a': np.array([[0.0, 10.0, 0.9], [20.0, 30.0, 0.1]])}
    >>> recall, avg_recall, per_video, auc = average_recall_at_avg_proposals(
    ...     gt, proposals, total_num_proposals=2, max_avg_proposals=2)
    >>> float(avg_recall[-1])
    1.0
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    'temporal_iou', 'temporal_iop', 'pairwise_temporal_iou', 'average_recall_at_avg_proposals',
    'interpolated_precision_recall', 'average_precision_at_temporal_iou',
    'compute_average_precision_detection', 'ActivityNetLocalization', 'eval_ap',
]

logger = logging.getLogger(__name__)

_DEFAULT_TIOU = np.linspace(0.5, 0.95, 10)


def temporal_iou(proposal_min: Any, proposal_max: Any, gt_min: Any, gt_max: Any) -> np.ndarray:
    """IoU between segments ``[proposal_min, proposal_max]`` and ``[gt_min, gt_max]``.

    The arguments broadcast against each other (scalars or arrays).

    Returns:
        np.ndarray: intersection length / union length.
    """
    proposal_min, proposal_max = np.asarray(proposal_min), np.asarray(proposal_max)
    gt_min, gt_max = np.asarray(gt_min), np.asarray(gt_max)
    inter = np.maximum(np.minimum(proposal_max, gt_max) - np.maximum(proposal_min, gt_min), 0.)
    union = (proposal_max - proposal_min) - inter + (gt_max - gt_min)
    return np.divide(inter, union)


def temporal_iop(proposal_min: Any, proposal_max: Any, gt_min: Any, gt_max: Any) -> np.ndarray:
    """Intersection over proposal: the share of ``[proposal_min, proposal_max]`` inside the gt.

    The arguments broadcast against each other (scalars or arrays).

    Returns:
        np.ndarray: intersection length / proposal length.
    """
    proposal_min, proposal_max = np.asarray(proposal_min), np.asarray(proposal_max)
    inter = np.maximum(np.minimum(proposal_max, gt_max) - np.maximum(proposal_min, gt_min), 0.)
    return np.divide(inter, proposal_max - proposal_min)


def pairwise_temporal_iou(candidate_segments: np.ndarray, target_segments: np.ndarray,
                          calculate_overlap_self: bool = False
                          ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """IoU between every candidate segment and every target segment.

    Args:
        candidate_segments (np.ndarray): ``[2]`` (one segment) or ``[m, 2]`` of ``[start, end]``.
        target_segments (np.ndarray): ``[n, 2]`` of ``[start, end]``.
        calculate_overlap_self (bool): also return intersection / candidate length.

    Returns:
        np.ndarray: float32 ``[n, m]`` (``[n]`` for a single candidate) IoU table, and the
        overlap-self table of the same shape when ``calculate_overlap_self`` is True.
    """
    candidate_segments = np.asarray(candidate_segments)
    target_segments = np.asarray(target_segments)
    single = candidate_segments.ndim == 1
    if target_segments.ndim != 2 or candidate_segments.ndim not in (1, 2):
        raise ValueError('pairwise_temporal_iou expects candidate_segments of shape [2] or [m, 2] '
                         'and target_segments of shape [n, 2], got '
                         f'{candidate_segments.shape} and {target_segments.shape}')
    if single:
        candidate_segments = candidate_segments[np.newaxis, :]
    cand = candidate_segments[np.newaxis, :, :]  # [1, m, 2]
    tgt = target_segments[:, np.newaxis, :]  # [n, 1, 2]
    inter = (np.minimum(cand[..., 1], tgt[..., 1]) - np.maximum(cand[..., 0], tgt[..., 0])).clip(0)
    cand_len = cand[..., 1] - cand[..., 0]
    union = (tgt[..., 1] - tgt[..., 0]) + cand_len - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        t_iou = (inter.astype(float) / union).astype(np.float32)
        overlap_self = (inter.astype(float) / cand_len).astype(np.float32)
    if single:
        t_iou, overlap_self = t_iou[:, 0], overlap_self[:, 0]
    if calculate_overlap_self:
        return t_iou, overlap_self
    return t_iou


def _video_ious(proposals: np.ndarray, ground_truth: np.ndarray, ratio: float
                ) -> tuple[np.ndarray, int]:
    """IoU table ``[num_gt, num_kept]`` of one video's best-scored proposals, and num_kept."""
    ground_truth = np.asarray(ground_truth)[:, :2].astype(np.float32).reshape(-1, 2)
    proposals = np.asarray(proposals)
    if proposals.size == 0:
        return np.zeros((ground_truth.shape[0], 1)), 0
    proposals = proposals.reshape(-1, proposals.shape[-1])
    order = proposals[:, 2].argsort()[::-1]
    segments = proposals[order, :2].astype(np.float32)
    num_kept = min(int(segments.shape[0] * ratio), segments.shape[0])
    return pairwise_temporal_iou(segments[:num_kept], ground_truth), num_kept


def average_recall_at_avg_proposals(ground_truth: Mapping[str, np.ndarray],
                                    proposals: Mapping[str, np.ndarray],
                                    total_num_proposals: int,
                                    max_avg_proposals: float | None = None,
                                    temporal_iou_thresholds: np.ndarray = _DEFAULT_TIOU
                                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Average recall as a function of the average number of proposals per video (AR@AN).

    Every video keeps its ``ratio`` best-scored proposals, ``ratio = max_avg_proposals *
    num_videos / total_num_proposals``; recall is then measured after retrieving 1%, 2%, …,
    100% of those per video.

    Args:
        ground_truth (dict[str, np.ndarray]): video id -> ``[num_gt, >=2]`` ``[start, end, ...]``.
        proposals (dict[str, np.ndarray]): video id -> ``[num_proposals, 3]``
            ``[start, end, score]``. A video missing here counts as having no proposals.
        total_num_proposals (int): the number of proposals over all videos.
        max_avg_proposals (float | None): the average number of proposals per video at the
            right end of the curve; ``None`` means all of them.
        temporal_iou_thresholds (np.ndarray): 1-D tIoU thresholds recall is averaged over.

    Returns:
        tuple: ``recall`` ``[num_thresholds, 100]``, ``avg_recall`` ``[100]`` (the mean over
        thresholds), ``proposals_per_video`` ``[100]`` and ``auc`` (area under the AR@AN
        curve, in percent). ``recall[:, k - 1]`` is AR@k when ``max_avg_proposals`` is 100.
    """
    temporal_iou_thresholds = np.asarray(temporal_iou_thresholds, dtype=float).reshape(-1)
    total_num_videos = len(ground_truth)
    if total_num_videos == 0:
        raise ValueError('average_recall_at_avg_proposals got an empty ground_truth dict')
    if total_num_proposals <= 0:
        raise ValueError(f'total_num_proposals must be positive, got {total_num_proposals}')
    if not max_avg_proposals:
        max_avg_proposals = float(total_num_proposals) / total_num_videos
    ratio = max_avg_proposals * float(total_num_videos) / total_num_proposals

    missing = [video_id for video_id in ground_truth if video_id not in proposals]
    if missing:
        logger.warning('%d of %d videos have no proposals (e.g. %r); they count as missed',
                       len(missing), total_num_videos, missing[0])
    score_list = []
    total_num_retrieved = 0
    for video_id, video_gt in ground_truth.items():
        t_iou, num_kept = _video_ious(proposals.get(video_id, np.zeros((0, 3))), video_gt, ratio)
        score_list.append(t_iou)
        total_num_retrieved += num_kept
    if total_num_retrieved == 0:
        raise ValueError('no proposal was retrieved for any video: the proposals are empty or '
                         f'max_avg_proposals={max_avg_proposals} is too small')

    pcn_list = np.arange(1, 101) / 100.0 * (
        max_avg_proposals * float(total_num_videos) / total_num_retrieved)
    positives = np.array([score.shape[0] for score in score_list], dtype=float)
    recall = np.empty((temporal_iou_thresholds.shape[0], pcn_list.shape[0]))
    for ridx, threshold in enumerate(temporal_iou_thresholds):
        matches = np.empty((total_num_videos, pcn_list.shape[0]))
        for i, score in enumerate(score_list):
            if score.shape[1] == 0:  # the video's share of the budget rounded down to 0
                matches[i] = 0
                continue
            hits = score >= threshold  # [num_gt, num_kept]
            # A gt is found by the first k proposals if any of them reaches the threshold.
            found_by = np.logical_or.accumulate(hits, axis=1).sum(axis=0)  # [num_kept]
            counts = np.minimum((score.shape[1] * pcn_list).astype(int), score.shape[1])
            matches[i] = np.where(counts > 0, found_by[np.maximum(counts - 1, 0)], 0)
        recall[ridx] = matches.sum(axis=0) / positives.sum()

    avg_recall = recall.mean(axis=0)
    proposals_per_video = pcn_list * (float(total_num_retrieved) / total_num_videos)
    trapezoid = getattr(np, 'trapezoid', None) or np.trapz  # numpy 1.x has only trapz
    area = trapezoid(avg_recall, proposals_per_video)
    auc = 100. * float(area) / proposals_per_video[-1]
    return recall, avg_recall, proposals_per_video, auc


def interpolated_precision_recall(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC 2011-style AP: area under the precision envelope over the recall steps.

    Args:
        precision (np.ndarray): precision after each ranked detection.
        recall (np.ndarray): recall after each ranked detection.

    Returns:
        float: the average precision.
    """
    mprecision = np.hstack([[0], precision, [0]])
    mrecall = np.hstack([[0], recall, [1]])
    mprecision = np.maximum.accumulate(mprecision[::-1])[::-1]
    idx = np.where(mrecall[1:] != mrecall[:-1])[0] + 1
    return float(np.sum((mrecall[idx] - mrecall[idx - 1]) * mprecision[idx]))


def _match_detections(pred_video: Sequence[Any], pred_segments: np.ndarray,
                      gt_segments: Mapping[Any, np.ndarray],
                      thresholds: np.ndarray) -> np.ndarray:
    """Greedy matching of detections (already sorted by score) to ground truth.

    Returns a ``[num_thresholds, num_preds]`` 0/1 true-positive table: a detection is a true
    positive at a threshold when its best still-unmatched gt in the same video reaches it.
    """
    tp = np.zeros((len(thresholds), len(pred_video)), dtype=np.int32)
    taken = {key: np.zeros((len(thresholds), len(gts)), dtype=bool)
             for key, gts in gt_segments.items()}
    for idx, video in enumerate(pred_video):
        if video not in gt_segments:
            continue
        t_iou = pairwise_temporal_iou(pred_segments[idx], gt_segments[video])
        order = t_iou.argsort()[::-1]
        for t_idx, threshold in enumerate(thresholds):
            for j in order:
                if t_iou[j] < threshold:
                    break
                if taken[video][t_idx, j]:
                    continue
                tp[t_idx, idx] = 1
                taken[video][t_idx, j] = True
                break
    return tp


def _ap_from_tp(tp: np.ndarray, num_gts: float) -> np.ndarray:
    tp_cumsum = np.cumsum(tp, axis=1).astype(np.float32)
    fp_cumsum = np.cumsum(1 - tp, axis=1).astype(np.float32)
    recall = tp_cumsum / num_gts
    precision = tp_cumsum / (tp_cumsum + fp_cumsum)
    return np.array([interpolated_precision_recall(precision[t], recall[t])
                     for t in range(tp.shape[0])], dtype=np.float32)


def average_precision_at_temporal_iou(ground_truth: Mapping[Any, Sequence],
                                      prediction: Sequence[Sequence],
                                      temporal_iou_thresholds: Sequence[float] = _DEFAULT_TIOU
                                      ) -> np.ndarray:
    """Detection AP of one class at each tIoU threshold.

    Detections are ranked by score; each is a true positive when its best-overlapping,
    not-yet-matched ground-truth segment of the same video reaches the threshold.

    Args:
        ground_truth (dict): video id -> list of ``[t_start, t_end]``.
        prediction (list): rows ``[video_id, class_id, t_start, t_end, score]``.
        temporal_iou_thresholds (Sequence[float]): tIoU thresholds.

    Returns:
        np.ndarray: float32 AP per threshold (zeros when there is no prediction or no
        ground truth).
    """
    thresholds = np.asarray(temporal_iou_thresholds, dtype=float).reshape(-1)
    gt_segments = {key: np.asarray(value, dtype=float).reshape(-1, 2)
                   for key, value in ground_truth.items()}
    num_gts = float(sum(len(value) for value in gt_segments.values()))
    if len(prediction) < 1 or num_gts == 0:
        return np.zeros(len(thresholds), dtype=np.float32)
    prediction = np.array(prediction, dtype=object)
    order = np.argsort(prediction[:, 4].astype(float))[::-1]
    prediction = prediction[order]
    tp = _match_detections(list(prediction[:, 0]), prediction[:, 2:4].astype(float),
                           gt_segments, thresholds)
    return _ap_from_tp(tp, num_gts)


def compute_average_precision_detection(ground_truth: Sequence[Mapping[str, Any]],
                                        prediction: Sequence[Mapping[str, Any]],
                                        tiou_thresholds: np.ndarray = _DEFAULT_TIOU
                                        ) -> np.ndarray:
    """Detection AP of one class from ActivityNet-style instance dicts.

    Args:
        ground_truth (list[dict]): instances with ``'video-id'``, ``'t-start'``, ``'t-end'``.
        prediction (list[dict]): instances with ``'video-id'``, ``'t-start'``, ``'t-end'``,
            ``'score'``. Ties in score keep their input order.
        tiou_thresholds (np.ndarray): tIoU thresholds.

    Returns:
        np.ndarray: AP per threshold.
    """
    thresholds = np.asarray(tiou_thresholds, dtype=float).reshape(-1)
    if len(prediction) == 0:
        return np.zeros(len(thresholds))
    gt_segments: dict[Any, list] = {}
    for item in ground_truth:
        gt_segments.setdefault(item['video-id'], []).append([item['t-start'], item['t-end']])
    gt_arrays = {key: np.asarray(value, dtype=float) for key, value in gt_segments.items()}
    ranked = sorted(prediction, key=lambda item: -item['score'])
    segments = np.array([[item['t-start'], item['t-end']] for item in ranked], dtype=float)
    tp = _match_detections([item['video-id'] for item in ranked], segments, gt_arrays,
                           thresholds)
    return _ap_from_tp(tp, float(len(ground_truth))).astype(float)


def eval_ap(detections: Mapping[int, Sequence], gt_by_cls: Mapping[int, Mapping],
            iou_range: Sequence[float]) -> np.ndarray:
    """AP of every class at every tIoU in ``iou_range`` (used by the SSN evaluation).

    Args:
        detections (dict[int, list]): class index -> rows
            ``[video_id, class_id, t_start, t_end, score]``.
        gt_by_cls (dict[int, dict]): class index -> {video id: list of ``[t_start, t_end]``}.
        iou_range (Sequence[float]): tIoU thresholds.

    Returns:
        np.ndarray: ``[num_classes, len(iou_range)]`` AP values; NaN for a class without
        ground truth (leave it out of the mean with ``np.nanmean``).
    """
    ap_values = np.zeros((len(detections), len(iou_range)))
    for class_idx in range(len(detections)):
        gts = gt_by_cls.get(class_idx, {})
        if not any(len(v) for v in gts.values()):
            ap_values[class_idx] = np.nan
            continue
        ap_values[class_idx] = average_precision_at_temporal_iou(
            gts, detections[class_idx], list(iou_range))
    return ap_values


class ActivityNetLocalization:
    """Detection mAP at several tIoU thresholds for ActivityNet-style JSON files.

    Args:
        ground_truth_filename (str): ActivityNet annotation JSON: ``{"v_<id>": {"annotations":
            [{"segment": [s, e], "label": name}, ...]}, ...}``; the ``v_`` prefix is dropped.
        prediction_filename (str): detections JSON: ``{"results": {"<id>": [{"label": name,
            "score": s, "segment": [s, e]}, ...]}}``.
        tiou_thresholds (np.ndarray): tIoU thresholds. Default: ``np.linspace(0.5, 0.95, 10)``.
        verbose (bool): log what was loaded.

    Example:
        >>> mAP, average_mAP = ActivityNetLocalization('gt.json', 'det.json').evaluate()
    """

    def __init__(self, ground_truth_filename: str | None = None,
                 prediction_filename: str | None = None,
                 tiou_thresholds: np.ndarray = _DEFAULT_TIOU, verbose: bool = False) -> None:
        if not ground_truth_filename:
            raise ValueError('ActivityNetLocalization needs ground_truth_filename, got '
                             f'{ground_truth_filename!r}')
        if not prediction_filename:
            raise ValueError('ActivityNetLocalization needs prediction_filename, got '
                             f'{prediction_filename!r}')
        self.ground_truth_filename = ground_truth_filename
        self.prediction_filename = prediction_filename
        self.tiou_thresholds = np.asarray(tiou_thresholds, dtype=float).reshape(-1)
        self.verbose = verbose
        self.ap: np.ndarray | None = None
        self.ground_truth, self.activity_index = self._import_ground_truth(ground_truth_filename)
        self.prediction = self._import_prediction(prediction_filename)
        if verbose:
            logger.info('Loaded %d ground-truth instances from %s and %d predictions from %s; '
                        'tIoU thresholds %s', len(self.ground_truth), ground_truth_filename,
                        len(self.prediction), prediction_filename, self.tiou_thresholds)

    @staticmethod
    def _load_json(filename: str) -> Any:
        try:
            with open(filename, encoding='utf-8') as f:
                return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{filename}: not valid JSON ({err})') from err

    @classmethod
    def _import_ground_truth(cls, filename: str) -> tuple[list[dict], dict[str, int]]:
        """Ground-truth instances and ``{label name: class index}`` (first-seen order)."""
        data = cls._load_json(filename)
        activity_index: dict[str, int] = {}
        ground_truth = []
        for video_id, video_info in data.items():
            for anno in video_info.get('annotations', []):
                try:
                    label, (t_start, t_end) = anno['label'], anno['segment']
                except (KeyError, TypeError, ValueError) as err:
                    raise ValueError(f'{filename}: video {video_id!r} has a malformed annotation '
                                     f'{anno!r}; expected {{"segment": [s, e], "label": ...}}'
                                     ) from err
                activity_index.setdefault(label, len(activity_index))
                ground_truth.append({'video-id': video_id[2:], 't-start': float(t_start),
                                     't-end': float(t_end), 'label': activity_index[label]})
        return ground_truth, activity_index

    def _import_prediction(self, filename: str) -> list[dict]:
        data = self._load_json(filename)
        if 'results' not in data:
            raise ValueError(f'{filename}: expected a top-level "results" key, got {sorted(data)}')
        prediction, unknown = [], set()
        for video_id, video_results in data['results'].items():
            for result in video_results:
                if result['label'] not in self.activity_index:
                    unknown.add(result['label'])
                    continue
                prediction.append({'video-id': video_id,
                                   'label': self.activity_index[result['label']],
                                   't-start': float(result['segment'][0]),
                                   't-end': float(result['segment'][1]),
                                   'score': float(result['score'])})
        if unknown:
            logger.warning('%s: ignoring predictions of labels absent from the ground truth: %s',
                           filename, sorted(unknown))
        return prediction

    def wrapper_compute_average_precision(self) -> np.ndarray:
        """AP table ``[num_thresholds, num_classes]``."""
        ap = np.zeros((len(self.tiou_thresholds), len(self.activity_index)))
        for class_idx in range(len(self.activity_index)):
            gts = [gt for gt in self.ground_truth if gt['label'] == class_idx]
            preds = [pred for pred in self.prediction if pred['label'] == class_idx]
            ap[:, class_idx] = compute_average_precision_detection(gts, preds,
                                                                   self.tiou_thresholds)
        return ap

    def evaluate(self) -> tuple[np.ndarray, float]:
        """Returns ``(mAP per tIoU threshold, mAP averaged over thresholds)``."""
        self.ap = self.wrapper_compute_average_precision()
        self.mAP = self.ap.mean(axis=1)
        self.average_mAP = float(self.mAP.mean())
        return self.mAP, self.average_mAP
