"""``AVADataset``: spatio-temporal action detection on AVA (MMAction2 0.x semantics).

Files: the box CSV (``ava_{train,val}_v2.x.csv``), the excluded-timestamps CSV, the label map
(``ava_action_list_v2.x.pbtxt``) and, optionally, a person-proposal pickle mapping
``'{video_id},{timestamp:04d}'`` to an ``[n, 4]`` or ``[n, 5]`` array (normalised ``x1, y1,
x2, y2`` and a detection score). The formats are read by :mod:`actionkit.evaluation.ava_files`.

One record per annotated key frame, with MMAction2's keys: ``frame_dir``, ``video_id``,
``timestamp``, ``img_key``, ``shot_info``, ``fps`` and ``ann`` (``gt_bboxes`` ``[k, 4]``,
``gt_labels`` ``[k, num_classes]`` multi-hot float32, ``entity_ids`` ``[k]``); rows with the
same key frame and the same box are merged into one box with several labels.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import AnnotationError
from ..evaluation.ava import ava_eval, results2csv
from ..evaluation.ava_files import read_ava_csv, read_exclusions, read_labelmap
from ..utils.safe_pickle import load_safe_pickle
from .base import BaseDataset
from .builder import DATASETS

__all__ = ['AVADataset']

logger = logging.getLogger(__name__)

# the box MMAction2 gives a key frame the proposal file lacks: the whole frame, score 1
_WHOLE_FRAME = np.array([[0., 0., 1., 1.]])


@DATASETS.register_module()
class AVADataset(BaseDataset):
    """AVA dataset for spatio-temporal action detection.

    Args:
        ann_file (str): the box CSV.
        exclude_file (str | None): the excluded-timestamps CSV; its key frames are dropped
            in train mode (as MMAction2 does; the test set keeps them).
        pipeline (list[dict | callable]): the transforms.
        label_file (str | None): the label map (checks ``custom_classes``; evaluation scores
            its classes only). Action ids of ``ann_file`` outside it are kept, as in
            MMAction2; ids outside ``[0, num_classes)`` are refused, naming the line.
        filename_tmpl (str): frame file names, formatted with the frame index.
        start_index (int): index of the first frame file.
        proposal_file (str | None): the person-proposal pickle (read with the safe
            unpickler: numpy arrays and containers only).
        person_det_score_thr (float): in [0, 1]; proposals scoring at least this are kept
            (if none does, those with the best score).
        num_classes (int): length of the multi-hot label (81: 80 AVA actions plus 0).
        custom_classes (list[int] | None): the action ids to keep (0 excluded, all in the
            label map); labels are renumbered 1..len(custom_classes) in this order, and
            ``num_classes`` must be ``len(custom_classes) + 1``.
        data_prefix (str | None): joined in front of every video id to give ``frame_dir``.
        test_mode (bool): build a test/validation set.
        modality (str): ``'RGB'`` or ``'Flow'``.
        num_max_proposals (int): keep at most this many proposals a key frame.
        timestamp_start (int): first annotated second of each video (MMAction2: 900).
        timestamp_end (int): end of the annotated span in seconds (MMAction2: 1800).
        fps (int): frames a second of the extracted frames.
        allow_pickle (bool): load a proposal file that holds other objects than arrays
            (only for a file you trust).
    """

    #: ``tools/test.py --out`` suffixes this dataset writes beyond BaseDataset's
    EXTRA_OUT_SUFFIXES = ('.csv',)

    def __init__(self, ann_file: str | os.PathLike, exclude_file: str | os.PathLike | None,
                 pipeline: Sequence[Any], label_file: str | os.PathLike | None = None,
                 filename_tmpl: str = 'img_{:05}.jpg', start_index: int = 0,
                 proposal_file: str | os.PathLike | None = None,
                 person_det_score_thr: float = 0.9, num_classes: int = 81,
                 custom_classes: Sequence[int] | None = None,
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 modality: str = 'RGB', num_max_proposals: int = 1000,
                 timestamp_start: int = 900, timestamp_end: int = 1800, fps: int = 30,
                 allow_pickle: bool = False) -> None:
        if not 0 <= person_det_score_thr <= 1:
            raise ValueError(f'person_det_score_thr must be in [0, 1], got '
                             f'{person_det_score_thr!r}')
        if not isinstance(num_max_proposals, int) or num_max_proposals < 1:
            raise ValueError(f'num_max_proposals must be an int >= 1, got {num_max_proposals!r}')
        if not isinstance(fps, (int, float)) or fps <= 0:
            raise ValueError(f'fps must be a positive number, got {fps!r}')
        if timestamp_end <= timestamp_start:
            raise ValueError(f'timestamp_end ({timestamp_end}) must be greater than '
                             f'timestamp_start ({timestamp_start})')
        self._FPS = fps
        self.exclude_file = exclude_file
        self.label_file = label_file
        self.label_ids = None if label_file is None else read_labelmap(label_file)[1]
        self.custom_classes = _check_custom_classes(custom_classes, num_classes, label_file,
                                                    self.label_ids)
        self.proposal_file = proposal_file
        self.person_det_score_thr = person_det_score_thr
        self.filename_tmpl = filename_tmpl
        self.num_max_proposals = num_max_proposals
        self.timestamp_start = timestamp_start
        self.timestamp_end = timestamp_end
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         num_classes=num_classes, start_index=start_index, modality=modality)
        self.proposals = None if proposal_file is None else _load_proposals(
            proposal_file, allow_pickle)
        if not test_mode and exclude_file is not None:
            excluded = read_exclusions(exclude_file)
            kept = [info for info in self.video_infos
                    if (info['video_id'], info['timestamp']) not in excluded]
            logger.info('%d out of %d frames are valid.', len(kept), len(self.video_infos))
            self.video_infos = kept
        if self.proposals is not None:
            self._log_missing_proposals()

    def _log_missing_proposals(self) -> None:
        """Say (at INFO, once) how many key frames get the whole-frame fallback box."""
        missing = [info['img_key'] for info in self.video_infos
                   if len(self.proposals.get(info['img_key'], ())) == 0]
        if missing:
            logger.info('%s: %d of %d key frames have no proposal (first: %s); each gets the '
                        'whole frame as its one box, score 1', self.proposal_file, len(missing),
                        len(self.video_infos), missing[0])

    def load_annotations(self) -> list[dict]:
        """Read the box CSV into one record per key frame (first-appearance order)."""
        by_frame: dict[str, list] = {}
        for row in read_ava_csv(self.ann_file):
            label = row.label
            if self.custom_classes is not None:
                if label not in self.custom_classes:
                    continue
                label = self.custom_classes.index(label)
            elif not 0 <= label < self.num_classes:
                raise AnnotationError(
                    f'{self.ann_file}:{row.line}: action id {label} is out of range for '
                    f'num_classes={self.num_classes} (0 <= id < {self.num_classes})')
            by_frame.setdefault(f'{row.video_id},{row.timestamp:04d}', []).append(
                (row, label))
        shot_info = (0, (self.timestamp_end - self.timestamp_start) * self._FPS)
        infos = []
        for img_key, rows in by_frame.items():
            video_id = rows[0][0].video_id
            frame_dir = video_id if self.data_prefix is None else os.path.join(
                self.data_prefix, video_id)
            infos.append(dict(frame_dir=frame_dir, video_id=video_id,
                              timestamp=rows[0][0].timestamp, img_key=img_key,
                              shot_info=shot_info, fps=self._FPS, ann=self._merge_boxes(rows)))
        return infos

    def _merge_boxes(self, rows: list) -> dict:
        """One box per distinct box of a key frame, with the labels of all its rows."""
        boxes: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        entity_ids: list[int] = []
        for row, label in rows:
            for i, box in enumerate(boxes):
                if np.array_equal(box, row.box):
                    labels[i][label] = 1.
                    break
            else:
                boxes.append(row.box)
                labels.append(np.zeros(self.num_classes, dtype=np.float32))
                labels[-1][label] = 1.
                entity_ids.append(row.entity_id)
        return dict(gt_bboxes=np.stack(boxes), gt_labels=np.stack(labels),
                    entity_ids=np.array(entity_ids))

    def _results(self, idx: int) -> dict:
        results = self.get_info(idx)
        results['filename_tmpl'] = self.filename_tmpl
        results['modality'] = self.modality
        results['start_index'] = self.start_index
        results['timestamp_start'] = self.timestamp_start
        results['timestamp_end'] = self.timestamp_end
        if self.proposals is not None:
            results.update(self._frame_proposals(results['img_key']))
        ann = results.pop('ann')
        results['gt_bboxes'] = ann['gt_bboxes']
        results['gt_labels'] = ann['gt_labels']
        results['entity_ids'] = ann['entity_ids']
        return results

    def _frame_proposals(self, img_key: str) -> dict:
        """``proposals`` (and ``scores``) of one key frame, thresholded and capped."""
        props = self.proposals.get(img_key)
        if props is None or len(props) == 0:
            logger.debug('%s: no proposal for %s; using the whole frame', self.proposal_file,
                         img_key)
            return dict(proposals=_WHOLE_FRAME.copy(), scores=np.array([1.]))
        if props.shape[1] == 4:
            return dict(proposals=props[:self.num_max_proposals])
        thr = min(self.person_det_score_thr, props[:, 4].max())
        props = props[props[:, 4] >= thr][:self.num_max_proposals]
        return dict(proposals=props[:, :4], scores=props[:, 4])

    def gt_labels(self) -> list:
        """Each key frame's action ids (union over its boxes), as lists of ints."""
        return [np.flatnonzero(info['ann']['gt_labels'].any(axis=0)).tolist()
                for info in self.video_infos]

    def check_label_range(self, num_classes: int) -> None:
        """Refuse an action id the model (``num_classes`` outputs) cannot score."""
        for info in self.video_infos:
            top = int(np.flatnonzero(info['ann']['gt_labels'].any(axis=0)).max())
            if top >= num_classes:
                raise AnnotationError(
                    f'{self.ann_file}: key frame {info["img_key"]} has action index {top}, '
                    f'out of range for the model\'s num_classes={num_classes}')

    def dump_results(self, results: list, out: str | os.PathLike) -> None:
        """Write ``results`` (per key frame, per class ``[m, 5]`` arrays): a ``.csv`` out as
        MMAction2's AVA result CSV, other suffixes as :class:`BaseDataset` writes them
        (MMAction2 accepts ``.csv`` only)."""
        if not os.fspath(out).lower().endswith('.csv'):
            super().dump_results(results, out)
            return
        frames = [(info['video_id'], info['timestamp']) for info in self.video_infos]
        results2csv(frames, results, out, self.custom_classes)

    def evaluate(self, results: list, metrics: Any = ('mAP',), metric_options: Any = None,
                 logger: Any = None, **deprecated: Any) -> dict:
        """Frame mAP@0.5 (``{'mAP@0.5IOU': value}``) of ``results`` against ``ann_file``."""
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if metrics != ['mAP']:
            raise ValueError(f'AVADataset evaluates the metric "mAP" only, got {metrics}')
        if self.label_file is None:
            raise ValueError('AVADataset.evaluate needs label_file (the classes to score)')
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, 'ava_results.csv')
            self.dump_results(results, out)
            return ava_eval(out, 'mAP', self.label_file, self.ann_file, self.exclude_file,
                            custom_classes=self.custom_classes)


def _check_custom_classes(custom_classes: Sequence[int] | None, num_classes: int,
                          label_file: Any, label_ids: set[int] | None) -> tuple | None:
    if custom_classes is None:
        return None
    custom = [int(c) for c in custom_classes]
    if num_classes != len(custom) + 1:
        raise ValueError(f'with custom_classes, num_classes must be len(custom_classes) + 1 = '
                         f'{len(custom) + 1}, got {num_classes}')
    if 0 in custom:
        raise ValueError('custom_classes must not contain 0 (the background slot)')
    if label_ids is None:
        raise ValueError('custom_classes needs label_file (to check the ids)')
    missing = sorted(set(custom) - label_ids)
    if missing:
        raise ValueError(f'custom_classes {missing} are not in the label map {label_file}')
    return tuple([0] + custom)


def _load_proposals(path: str | os.PathLike, allow_pickle: bool) -> dict:
    """The proposal pickle as ``{img_key: float array [n, 4|5]}``, checked."""
    data = load_safe_pickle(path, os.fspath(path), allow_pickle=allow_pickle,
                            expected='AVA proposal files')
    if not isinstance(data, dict):
        raise AnnotationError(f'{os.fspath(path)}: expected a dict of img_key -> array, got '
                              f'{type(data).__name__}')
    checked = {}
    for key, value in data.items():
        arr = np.asarray(value, dtype=np.float64)
        if arr.size == 0:
            arr = arr.reshape(0, 4)
        if arr.ndim != 2 or arr.shape[1] not in (4, 5):
            raise AnnotationError(f'{os.fspath(path)}: key {key!r}: proposals must be an '
                                  f'[n, 4] or [n, 5] array, got shape {arr.shape}')
        checked[key] = arr
    return checked
