"""Detection mAP of class-agnostic proposals labelled by a video classifier:
``tools/analysis/report_map.py``.

BSN and BMN produce proposals without a class (the ``results`` JSON that ``tools/test.py
--out results.json`` writes for an ``ActivityNetDataset``: ``{"results": {"<video id>":
[{"segment": [s, e], "score": p}, ...]}}``). To score them as detections on ActivityNet, each
proposal takes the top-1 label of a video-level classifier for its video (``cuhk17_top1``: the
CUHK entry of the ActivityNet 2017 challenge, whose results file
``cuhk_anet17_pred.json`` reads ``{"results": {"<video id>": [{"label": name, "score": p},
...]}}``). A proposal that already holds a ``label`` keeps it. The labelled detections are
saved, then scored against the ground truth with
:class:`~actionkit.evaluation.localization.ActivityNetLocalization` at tIoU 0.5:0.05:0.95.

Example:
    >>> mAP, average_mAP = report_detection_map('results.json', 'anet_anno_val.json',
    ...                                         'cuhk_anet17_pred.json', 'det_result.json')
    ...     # doctest: +SKIP
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation.localization import ActivityNetLocalization
from ..utils.atomic import write_text_atomic

__all__ = ['CLS_FUNCS', 'CUHK17_URL', 'top1_label', 'assign_top1_labels',
           'report_detection_map']

logger = logging.getLogger(__name__)

CUHK17_URL = 'https://download.openmmlab.com/mmaction/localization/cuhk_anet17_pred.json'
CLS_FUNCS = ('cuhk17_top1',)
_DEFAULT_TIOU = np.linspace(0.5, 0.95, 10)


def _load_results(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """The ``results`` mapping of a JSON file, with errors naming the file."""
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f'{what} not found: {source}')
    with open(source, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{source}:{err.lineno}: not valid JSON ({err.msg})') from err
    if not isinstance(data, dict) or not isinstance(data.get('results'), dict):
        raise ValueError(f'{source}: expected a JSON object with a "results" object '
                         '({"<video id>": [...]}) as the ' + what)
    return data


def top1_label(predictions: list[Mapping[str, Any]], source: str, video_id: str) -> Any:
    """The label of the highest-scoring prediction (the last of equal top scores).

    Raises:
        ValueError: no predictions, or one without ``label``/``score`` (file and video named).
    """
    if not predictions:
        raise ValueError(f'{source}: video {video_id!r} has no class predictions')
    best, best_score = None, 0.0
    for item in predictions:
        if not isinstance(item, Mapping) or 'label' not in item or 'score' not in item:
            raise ValueError(f'{source}: video {video_id!r}: expected predictions '
                             f'{{"label": ..., "score": ...}}, got {item!r}')
        try:
            score = float(item['score'])
        except (TypeError, ValueError):
            raise ValueError(f'{source}: video {video_id!r}: the score of {item!r} is not a '
                             'number') from None
        if best is None or score >= best_score:
            best, best_score = item, score
    return best['label']


def assign_top1_labels(proposals: Mapping[str, Any], classifications: Mapping[str, Any],
                       cls_source: str = 'classifier results') -> dict[str, Any]:
    """Label every proposal of a video with its classifier's top-1 label.

    Args:
        proposals: the proposal file's content, ``{"results": {video id: [proposal, ...]}}``.
        classifications: ``{video id: [{"label", "score"}, ...]}``.
        cls_source: the classifier file's name, for messages.

    Returns:
        dict: a copy of ``proposals`` whose proposals hold ``label`` (their own, if they had
        one, else the video's top-1 class).

    Raises:
        KeyError: a video of the proposals has no classifier results.
    """
    labelled = {}
    for video_id, items in proposals['results'].items():
        if video_id not in classifications:
            raise KeyError(f'{cls_source}: no class predictions for video {video_id!r} of the '
                           'proposal file')
        label = top1_label(classifications[video_id], cls_source, video_id)
        bad = next((item for item in items if not isinstance(item, Mapping)), None)
        if bad is not None:
            raise ValueError(f'proposal file: video {video_id!r}: expected proposals '
                             f'{{"segment": [start, end], "score": ...}}, got {bad!r}')
        labelled[video_id] = [{'label': label, **item} for item in items]
    return {**proposals, 'results': labelled}


def report_detection_map(proposal_file: str | os.PathLike, gt_file: str | os.PathLike,
                         cls_file: str | os.PathLike, det_output: str | os.PathLike,
                         cls: str = 'cuhk17_top1',
                         tiou_thresholds: np.ndarray = _DEFAULT_TIOU
                         ) -> tuple[np.ndarray, float]:
    """Label the proposals, save them as detections and compute their mAP.

    Args:
        proposal_file: class-agnostic proposals (``{"results": {video id: [{"segment",
            "score"}, ...]}}``).
        gt_file: ActivityNet ground truth (``{"v_<id>": {"annotations": [...]}}``).
        cls_file: the classifier's results (``{"results": {video id: [{"label", "score"},
            ...]}}``).
        det_output: where the labelled detections are written (JSON).
        cls: how labels are assigned; only ``'cuhk17_top1'`` (top-1 class of ``cls_file``).
        tiou_thresholds: tIoU thresholds of the mAP.

    Returns:
        tuple: ``(mAP per threshold, mAP averaged over the thresholds)``.
    """
    if cls not in CLS_FUNCS:
        raise ValueError(f'cls must be one of {CLS_FUNCS}, got {cls!r}')
    if not os.path.isfile(cls_file):
        raise FileNotFoundError(f'classifier results not found: {cls_file}; for {cls} '
                                f'download {CUHK17_URL} (e.g. wget {CUHK17_URL})')
    proposals = _load_results(proposal_file, 'proposal file')
    classifications = _load_results(cls_file, 'classifier results')['results']
    detections = assign_top1_labels(proposals, classifications, os.fspath(cls_file))
    target = Path(det_output)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, json.dumps(detections))
    logger.info('wrote %d videos of labelled detections to %s',
                len(detections['results']), target)
    evaluator = ActivityNetLocalization(os.fspath(gt_file), os.fspath(target),
                                        tiou_thresholds=tiou_thresholds, verbose=True)
    return evaluator.evaluate()
