"""Frame mAP on AVA with MMAction2 0.x's definitions (``ava_eval``), and its result CSV.

The result CSV has one line a box and action: ``video_id, timestamp, x1, y1, x2, y2,
action_id, score`` (floats written with 3 decimals). ``ava_eval`` reads it and the ground-truth
CSV, keeps the classes of the label map (or ``custom_classes``), drops the excluded key frames,
and computes the PASCAL VOC average precision of each class at IoU 0.5 (the AVA challenge's
frame mAP, as the official evaluation code does):

- within a key frame, detections are taken by descending score; each one is a true positive
  when its best-IoU ground-truth box of the class has IoU >= 0.5 and is not yet taken;
- over all key frames, detections are ranked by score; AP is the area under the
  precision-recall curve with precision made non-increasing (VOCdevkit);
- classes without ground truth are left out of the mean.
"""
from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ..errors import AnnotationError
from .ava_files import _csv_rows, read_exclusions, read_labelmap

__all__ = ['results2csv', 'read_ava_boxes', 'frame_average_precision', 'ava_eval']

logger = logging.getLogger(__name__)


def _img_key(video_id: str, timestamp: int) -> str:
    return f'{video_id},{int(timestamp):04d}'


def results2csv(frames: Sequence[tuple[str, int]], results: Sequence[Sequence[np.ndarray]],
                out_file: str | os.PathLike, custom_classes: Sequence[int] | None = None) -> None:
    """Write detection results as MMAction2's AVA result CSV.

    Args:
        frames: ``(video_id, timestamp)`` of each key frame, in the order of ``results``.
        results: per key frame, per class ``1..`` an array ``[m, 5]`` (box, score).
        out_file: the CSV to write.
        custom_classes: ``(0, id1, id2, ...)``: class ``i`` is written as action
            ``custom_classes[i]`` (else as ``i``).
    """
    if len(frames) != len(results):
        raise ValueError(f'results2csv: {len(results)} results for {len(frames)} key frames')
    with open(out_file, 'w', encoding='utf-8') as f:
        for (video_id, timestamp), result in zip(frames, results):
            for label, boxes in enumerate(result):
                action = label + 1 if custom_classes is None else custom_classes[label + 1]
                for box in np.asarray(boxes).reshape(-1, 5).tolist():
                    coords = ','.join(f'{v:.3f}' for v in box[:4])
                    f.write(f'{video_id},{timestamp},{coords},{action},{box[4]:.3f}\n')


def read_ava_boxes(path: str | os.PathLike, class_whitelist: set[int] | None = None,
                   with_scores: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]]:
    """Read a ground-truth or result CSV: ``{img_key: (boxes [n, 4], actions [n], scores
    [n])}``, boxes ``x1, y1, x2, y2``, each key frame's rows by descending score (stable).

    Ground truth has 7 or 8 columns (the 8th, the person id, is ignored: score 1); results
    have 8, the 8th the score. Actions outside ``class_whitelist`` are skipped.

    Raises:
        AnnotationError: a row with another column count or a value that is not a number,
            naming the file and line.
    """
    entries: dict[str, list] = defaultdict(list)
    allowed = (8,) if with_scores else (7, 8)
    for lineno, text, cols in _csv_rows(path):
        if len(cols) not in allowed:
            wanted = ' or '.join(map(str, allowed))
            raise AnnotationError(f'{os.fspath(path)}:{lineno}: expected {wanted} columns, got '
                                  f'{len(cols)} (line: {text!r})')
        try:
            key = _img_key(cols[0], int(cols[1]))
            box = [float(v) for v in cols[2:6]]
            action = int(cols[6])
            score = float(cols[7]) if with_scores else 1.
        except ValueError as err:
            raise AnnotationError(f'{os.fspath(path)}:{lineno}: not a number: {err} '
                                  f'(line: {text!r})') from None
        if class_whitelist and action not in class_whitelist:
            continue
        entries[key].append((score, action, box))
    out = {}
    for key, rows in entries.items():
        rows = sorted(rows, key=lambda row: -row[0])
        out[key] = (np.array([r[2] for r in rows], dtype=float).reshape(-1, 4),
                    np.array([r[1] for r in rows], dtype=int),
                    np.array([r[0] for r in rows], dtype=float))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) -
                 np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _match(det: np.ndarray, gt: np.ndarray, thr: float) -> np.ndarray:
    """True positives of one frame and class: detections in order, greedy on best IoU."""
    tp = np.zeros(len(det), dtype=bool)
    if not len(det) or not len(gt):
        return tp
    iou = _iou(det, gt)
    best = iou.argmax(axis=1)
    taken = np.zeros(len(gt), dtype=bool)
    for i, j in enumerate(best):
        if iou[i, j] >= thr and not taken[j]:
            tp[i] = taken[j] = True
    return tp


def _voc_ap(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    order = np.argsort(scores, kind='stable')[::-1]
    hits = tp[order].astype(int)
    cum_tp = np.cumsum(hits)
    if not len(cum_tp):
        return 0.
    precision = cum_tp / np.arange(1, len(cum_tp) + 1)
    recall = cum_tp / num_gt
    recall = np.concatenate([[0.], recall, [1.]])
    precision = np.concatenate([[0.], precision, [0.]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.where(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def frame_average_precision(gt: dict, det: dict, class_ids: Sequence[int],
                            excluded: set[str] = frozenset(),
                            iou_thr: float = 0.5) -> dict[int, float]:
    """AP of each class of ``class_ids`` (NaN without ground truth); inputs as from
    :func:`read_ava_boxes`, key frames in ``excluded`` left out."""
    scores: dict[int, list] = defaultdict(list)
    hits: dict[int, list] = defaultdict(list)
    num_gt: dict[int, int] = defaultdict(int)
    for key, (_, actions, _) in gt.items():
        if key not in excluded:
            for c in actions.tolist():
                num_gt[c] += 1
    empty = (np.zeros((0, 4)), np.zeros(0, dtype=int), np.zeros(0))
    for key, (boxes, actions, score) in det.items():
        if key in excluded:
            continue
        gt_boxes, gt_actions, _ = gt.get(key, empty)
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # as the AVA code
        for c in np.unique(actions[valid]).tolist():
            sel = valid & (actions == c)
            scores[c].append(score[sel])
            hits[c].append(_match(boxes[sel], gt_boxes[gt_actions == c], iou_thr))
    ap = {}
    for c in class_ids:
        if not num_gt[c]:
            ap[c] = float('nan')
            continue
        s = np.concatenate(scores[c]) if scores[c] else np.zeros(0)
        t = np.concatenate(hits[c]) if hits[c] else np.zeros(0, dtype=bool)
        ap[c] = _voc_ap(s, t, num_gt[c])
    return ap


def ava_eval(result_file: str | os.PathLike, result_type: str, label_file: str | os.PathLike,
             ann_file: str | os.PathLike, exclude_file: str | os.PathLike | None,
             verbose: bool = True, custom_classes: Sequence[int] | None = None) -> dict:
    """Frame mAP@0.5 of an AVA result CSV: ``{'mAP@0.5IOU': value}`` (MMAction2's key).

    Args:
        result_file: the result CSV (:func:`results2csv`).
        result_type: ``'mAP'``.
        label_file: the label map; its classes are scored.
        ann_file: the ground-truth CSV.
        exclude_file: excluded key frames (None: none).
        verbose: log the AP of each class.
        custom_classes: ``(0, id1, ...)`` as the dataset holds it: only those classes.
    """
    if result_type != 'mAP':
        raise ValueError(f"ava_eval: result_type must be 'mAP', got {result_type!r}")
    categories, class_ids = read_labelmap(label_file)
    if custom_classes is not None:
        custom = list(custom_classes)[1:]
        missing = sorted(set(custom) - class_ids)
        if missing:
            raise ValueError(f'ava_eval: custom_classes {missing} are not in {label_file}')
        class_ids = set(custom)
        categories = [cat for cat in categories if cat['id'] in class_ids]
    gt = read_ava_boxes(ann_file, class_ids)
    det = read_ava_boxes(result_file, class_ids, with_scores=True)
    excluded = set() if exclude_file is None else {
        _img_key(v, t) for v, t in read_exclusions(exclude_file)}
    ap = frame_average_precision(gt, det, sorted(class_ids), excluded)
    if verbose:
        for cat in categories:
            logger.info('AP@0.5IOU/%s: %.4f', cat['name'], ap.get(cat['id'], float('nan')))
    values = [v for v in ap.values() if not np.isnan(v)]
    return {'mAP@0.5IOU': float(np.mean(values)) if values else float('nan')}
