"""``PoseDataset``: skeleton sequences from MMAction2's pose annotation pickles.

The annotation file is a pickle holding a list of dicts, one per clip (or, for the UCF101 /
HMDB51 files, ``{'split': {name: [ids]}, 'annotations': [...]}``)::

    frame_dir       str, the clip's id          label          int
    total_frames    int, T                      img_shape      (h, w)
    original_shape  (h, w)                      keypoint       float [M, T, V, C] (C = 2 or 3)
    keypoint_score  float [M, T, V] (optional)

The pickle is read with :func:`actionkit.utils.safe_pickle.load_safe_pickle`: only numpy
arrays, numbers, strings and containers are rebuilt, so a hostile file cannot run code
(``allow_pickle=True`` lifts this for a file you trust). Every record is checked when the file
is read; a missing key, a keypoint array of the wrong rank or a ``keypoint_score`` that does
not match it raises an :class:`~actionkit.datasets.errors.AnnotationError` naming the file,
the record and the key.

Example:
    >>> dataset = PoseDataset('data/posec3d/ntu60_xsub_val.pkl', pipeline=[])  # doctest: +SKIP
    >>> dataset[0]['keypoint'].shape                                          # doctest: +SKIP
    (2, 103, 17, 2)
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..utils.safe_pickle import load_safe_pickle
from .base import BaseDataset, resolve_data_paths
from .builder import DATASETS
from .errors import AnnotationError

__all__ = ['PoseDataset', 'load_pose_annotations', 'check_pose_record']

logger = logging.getLogger(__name__)

_BOX_THRS = ('0.5', '0.6', '0.7', '0.8', '0.9')


def check_pose_record(item: Any, index: int, source: str) -> None:
    """Raise an AnnotationError naming ``source``, the record and the key if ``item`` is bad."""
    where = f'{source}: record {index}'
    if not isinstance(item, Mapping):
        raise AnnotationError(f'{where} is a {type(item).__name__}, expected a dict')
    name = item.get('frame_dir', item.get('filename'))
    if name is not None:
        where = f'{where} ({name!r})'
    for key in ('label', 'total_frames'):
        if key not in item:
            raise AnnotationError(f'{where} has no {key!r} key; keys: {sorted(item)}')
    if 'frame_dir' not in item and 'filename' not in item:
        raise AnnotationError(f"{where} has neither a 'frame_dir' nor a 'filename' key")
    total = item['total_frames']
    if not isinstance(total, (int, np.integer)) or total < 1:
        raise AnnotationError(f"{where}: 'total_frames' must be an int >= 1 (an empty clip "
                              f'cannot be sampled), got {total!r}')
    if 'keypoint' not in item:
        return
    kp = item['keypoint']
    if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.shape[-1] not in (2, 3):
        shape = kp.shape if isinstance(kp, np.ndarray) else type(kp).__name__
        raise AnnotationError(f"{where}: 'keypoint' must be an array [M, T, V, C] with C = 2 "
                              f'or 3, got {shape}')
    if kp.shape[1] < 1 or kp.shape[2] < 1:
        raise AnnotationError(f"{where}: 'keypoint' {kp.shape} holds no frame or no joint")
    score = item.get('keypoint_score')
    if score is not None and (not isinstance(score, np.ndarray)
                              or score.shape != kp.shape[:3]):
        shape = score.shape if isinstance(score, np.ndarray) else type(score).__name__
        raise AnnotationError(f"{where}: 'keypoint_score' must be an array of shape "
                              f"{kp.shape[:3]} (the [M, T, V] of 'keypoint'), got {shape}")


def load_pose_annotations(ann_file: str | os.PathLike, split: str | None = None,
                          data_prefix: str | None = None,
                          allow_pickle: bool = False) -> list[dict]:
    """Read and check a pose annotation pickle (see the module docstring).

    Args:
        ann_file: the ``.pkl`` file.
        split: keep the clips of this split (``'train1'`` ...); the file must then be a dict
            with ``split`` and ``annotations``.
        data_prefix: joined in front of ``frame_dir`` and ``filename``.
        allow_pickle: unpickle any object (files you trust only).

    Returns:
        list[dict]: the records.
    """
    source = os.fspath(ann_file)
    if not source.endswith('.pkl'):
        raise ValueError(f'PoseDataset reads .pkl annotation files, got {source!r}')
    data = load_safe_pickle(source, allow_pickle=allow_pickle,
                            expected='pose annotation files')
    if split:
        if not isinstance(data, Mapping) or 'split' not in data or 'annotations' not in data:
            raise AnnotationError(f"{source}: split={split!r} needs a dict with 'split' and "
                                  f"'annotations' keys, got a {type(data).__name__}")
        if split not in data['split']:
            raise AnnotationError(f'{source}: no split {split!r}; splits: '
                                  f'{sorted(data["split"])}')
        wanted = set(data['split'][split])
        data = [x for x in data['annotations']
                if isinstance(x, Mapping) and x.get('filename', x.get('frame_dir')) in wanted]
    if not isinstance(data, list):
        raise AnnotationError(f'{source}: expected a list of dicts, got a '
                              f'{type(data).__name__}' + (' (pass split=...)'
                                                          if isinstance(data, Mapping) else ''))
    for i, item in enumerate(data):
        check_pose_record(item, i, source)
        for key in ('filename', 'frame_dir'):
            if key in item and data_prefix is not None:
                item[key] = os.path.join(data_prefix, item[key])
    return data


@DATASETS.register_module()
class PoseDataset(BaseDataset):
    """Pose dataset for skeleton-based action recognition (MMAction2 0.x's ``PoseDataset``).

    Samples start with ``start_index=0`` and ``modality='Pose'``; the record's keys
    (``keypoint``, ``keypoint_score``, ``img_shape``, ``total_frames`` ...) go to the pipeline.

    Args:
        ann_file (str): the ``.pkl`` annotation file.
        pipeline (list[dict | callable]): the transforms.
        split (str | None): the split to keep (UCF101 / HMDB51 files: ``'train1'`` ...).
        valid_ratio (float | None): keep a clip only if at least this fraction of its frames
            has a pose (``valid_frames``, or ``valid@<box_thr>`` with ``box_thr``).
        box_thr (str | float | None): the box score threshold of Kinetics pose files, one
            of ``'0.5'`` ... ``'0.9'``; above ``'0.5'``, ``anno_inds`` lists the boxes kept.
            MMAction2 1.x writes a float (``0.5`` ... ``0.9``, its default 0.5): with
            ``valid_ratio`` the count is then ``valid[box_thr]`` and ``anno_inds`` is the
            boolean mask ``box_score >= box_thr``, as 1.x does.
        class_prob (dict | None): per-class sampling probabilities, replacing the computed
            ones.
        data_prefix (str | dict | None): joined in front of ``frame_dir`` / ``filename``
            (1.x: ``dict(video=...)``; 1.x's ``skeleton`` key names a folder of one pickle a
            clip, ``<frame_dir>.pkl``, whose keys are added to the sample).
        data_root (str | None): MMAction2 1.x; see :class:`BaseDataset`.
        test_mode, multi_class, num_classes, sample_by_class, power, dynamic_length: as in
            :class:`~actionkit.datasets.base.BaseDataset`.
        allow_pickle (bool): read a pickle that holds other objects (trusted files only).
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 split: str | None = None, valid_ratio: float | None = None,
                 box_thr: str | float | None = None, class_prob: Mapping[int, float] | None = None,
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 multi_class: bool = False, num_classes: int | None = None,
                 sample_by_class: bool = False, power: float = 0,
                 dynamic_length: bool = False, allow_pickle: bool = False,
                 data_root: str | os.PathLike | None = None) -> None:
        if box_thr is not None and box_thr not in _BOX_THRS and not (
                isinstance(box_thr, float) and str(box_thr) in _BOX_THRS):
            raise ValueError(f'PoseDataset: box_thr must be one of {_BOX_THRS} (a str; '
                             f'MMAction2 1.x: the same as a float), got {box_thr!r}')
        if valid_ratio is not None and (not isinstance(valid_ratio, float)
                                        or not 0 <= valid_ratio <= 1):
            raise ValueError(f'PoseDataset: valid_ratio must be a float in [0, 1], got '
                             f'{valid_ratio!r}')
        self.skeleton_dir = None
        if isinstance(data_prefix, Mapping) and 'skeleton' in data_prefix:
            # 1.x: one pickle a clip, <skeleton>/<frame_dir>.pkl, merged into each sample;
            # the paths are resolved here (the video prefix is optional then, as in 1.x)
            video = data_prefix.get('video')
            ann_file, self.skeleton_dir, _ = resolve_data_paths(
                'PoseDataset', ann_file, {'skeleton': data_prefix['skeleton']}, data_root,
                'skeleton')
            data_prefix = None if video is None else resolve_data_paths(
                'PoseDataset', '', {'video': video}, data_root, 'video')[1]
            data_root = None
        self.split = split
        self.box_thr = box_thr
        self.valid_ratio = valid_ratio
        self.allow_pickle = bool(allow_pickle)
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         multi_class=multi_class, num_classes=num_classes, start_index=0,
                         modality='Pose', sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length, data_root=data_root)
        if valid_ratio is not None:
            # as in MMAction2, class_prob (sample_by_class) stays that of the whole file
            self.video_infos = self._valid_clips(self.video_infos)
            logger.info('%d videos remain after valid thresholding', len(self))
        if class_prob is not None:
            self.class_prob = dict(class_prob)

    def load_annotations(self) -> list[dict]:
        """Read the annotation pickle (checked record by record)."""
        return load_pose_annotations(self.ann_file, self.split, self.data_prefix,
                                     self.allow_pickle)

    def _valid_clips(self, infos: Sequence[dict]) -> list[dict]:
        if isinstance(self.box_thr, float):
            return self._valid_clips_v1(infos)
        key = 'valid_frames' if self.box_thr is None else f'valid@{self.box_thr}'
        kept = []
        for i, item in enumerate(infos):
            if key not in item:
                raise AnnotationError(f'{self.ann_file}: record {i} has no {key!r} key, '
                                      f'which valid_ratio={self.valid_ratio} needs')
            if item[key] / item['total_frames'] >= self.valid_ratio:
                kept.append(item)
        if self.box_thr is not None and self.box_thr != '0.5':
            thr = float(self.box_thr)
            for item in kept:
                if 'box_score' not in item:
                    raise AnnotationError(f"{self.ann_file}: {item.get('frame_dir')!r} has "
                                          f"no 'box_score' key, which box_thr needs")
                # compared in float64, as MMAction2's per-score loop does (float16 scores)
                scores = np.asarray(item['box_score'], dtype=np.float64)
                item['anno_inds'] = np.flatnonzero(scores >= thr)
        return kept

    def _valid_clips_v1(self, infos: Sequence[dict]) -> list[dict]:
        """MMAction2 1.x's rule: ``valid[box_thr] / total_frames >= valid_ratio``, then the
        boolean ``anno_inds = box_score >= box_thr`` for every kept clip."""
        kept = []
        for i, item in enumerate(infos):
            valid = item.get('valid')
            if not isinstance(valid, Mapping) or self.box_thr not in valid:
                raise AnnotationError(f'{self.ann_file}: record {i} has no valid[{self.box_thr}] '
                                      f'entry, which valid_ratio={self.valid_ratio} needs')
            if valid[self.box_thr] / item['total_frames'] >= self.valid_ratio:
                if 'box_score' not in item:
                    raise AnnotationError(f"{self.ann_file}: record {i} has no 'box_score' "
                                          f'key, which valid_ratio with box_thr needs')
                item['anno_inds'] = np.asarray(item['box_score']) >= self.box_thr
                kept.append(item)
        return kept

    def _results(self, idx: int) -> dict:
        results = super()._results(idx)
        if self.skeleton_dir is not None:
            name = results.get('filename', results.get('frame_dir'))
            results.update(load_safe_pickle(os.path.join(self.skeleton_dir, f'{name}.pkl'),
                                            allow_pickle=self.allow_pickle,
                                            expected='per-clip skeleton files'))
        return results
