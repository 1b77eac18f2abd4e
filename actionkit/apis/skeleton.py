"""Inference on poses: read a pose file (JSON or pickle, from any pose estimator) and score it
with a skeleton model (ST-GCN / 2s-AGCN ``SkeletonGCN``, or PoseC3D's ``Recognizer3D``).

A pose file holds one clip: ``keypoint`` ``[M, T, V, C]`` (persons, frames, joints, ``x, y``
in pixels of the video, optionally a third value), ``keypoint_score`` ``[M, T, V]`` (optional),
and optionally ``img_shape`` ``[h, w]``. JSON holds nested lists; a pickle holds a dict (or a
list with one dict, a ``PoseDataset`` annotation file of one clip) and is read with the
restricted unpickler (:mod:`actionkit.utils.safe_pickle`).

Example:
    >>> model = init_recognizer('configs/skeleton/stgcn/stgcn_80e_ntu60_xsub_keypoint.py',
    ...                         'stgcn.pth', device='cpu')          # doctest: +SKIP
    >>> pose = load_pose_file('clip_pose.json')                       # doctest: +SKIP
    >>> inference_skeleton(model, pose, img_shape=(1080, 1920))[0]    # doctest: +SKIP
    (42, 0.93)
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ..datasets.pipelines import Compose
from ..datasets.pose_dataset import check_pose_record
from ..utils.safe_pickle import load_safe_pickle

__all__ = ['load_pose_file', 'inference_skeleton']


def load_pose_file(path: str | os.PathLike, allow_pickle: bool = False) -> dict[str, Any]:
    """A pose record (``keypoint``, ``keypoint_score``, ``total_frames`` ...) from a file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON / a pickle, or not one clip's poses (the key is named).
    """
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f'pose file {source!r} does not exist')
    if source.endswith('.json'):
        with open(source, encoding='utf-8') as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{source}:{err.lineno}: not valid JSON ({err.msg})') from None
    elif source.endswith(('.pkl', '.pickle')):
        data = load_safe_pickle(source, allow_pickle=allow_pickle, expected='pose files')
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
    else:
        raise ValueError(f'pose file {source!r}: expected .json, .pkl or .pickle')
    if not isinstance(data, Mapping) or 'keypoint' not in data:
        raise ValueError(f"pose file {source!r} must hold a dict with a 'keypoint' key "
                         '([M, T, V, C])')
    record = dict(data)
    record['keypoint'] = np.asarray(record['keypoint'], dtype=np.float32)
    if record.get('keypoint_score') is not None:
        record['keypoint_score'] = np.asarray(record['keypoint_score'], dtype=np.float32)
    kp = record['keypoint']
    record.setdefault('frame_dir', os.path.splitext(os.path.basename(source))[0])
    record.setdefault('label', -1)
    record.setdefault('total_frames', int(kp.shape[1]) if kp.ndim >= 2 else 1)
    check_pose_record(record, 0, source)
    return record


def inference_skeleton(model: nn.Module, pose: Mapping[str, Any],
                       img_shape: tuple[int, int] | None = None) -> list[tuple[int, float]]:
    """The top-5 ``(class, score)`` of one clip's poses, through the config's test pipeline.

    Args:
        model: from :func:`~actionkit.apis.init_recognizer` (with ``model.cfg``).
        pose: from :func:`load_pose_file`.
        img_shape: ``(h, w)`` of the video the poses are in (default: the pose's own).
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise TypeError('inference_skeleton needs a model from init_recognizer (with the '
                        'config as model.cfg)')
    results = {key: (value.copy() if isinstance(value, np.ndarray) else value)
               for key, value in pose.items()}
    shape = img_shape or results.get('img_shape')
    if shape is None:
        raise ValueError('inference_skeleton: give img_shape=(h, w) (the pose has none)')
    results.update(img_shape=tuple(shape), original_shape=tuple(shape), start_index=0,
                   modality='Pose')
    data = Compose(cfg.data.test.pipeline)(results)
    inputs = data['imgs'] if 'imgs' in data else data['keypoint']
    device = next(model.parameters()).device
    with torch.no_grad():
        scores = np.asarray(model(torch.as_tensor(inputs)[None].to(device),
                                  return_loss=False))[0]
    order = np.argsort(-scores, kind='stable')[:5]
    return [(int(k), float(scores[k])) for k in order]
