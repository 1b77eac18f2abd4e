"""A synthetic temporal-localization dataset: feature sequences with known action segments.

Each "video" is a sequence of ``temporal_dim`` feature vectors (``feat_dim`` values), as if
extracted every 16 frames of a 30 fps video. The background is smooth noise (a random walk
pulled back towards zero); inside an action segment the features move towards the action's
class prototype, with a ramp of a few steps at each boundary, and stay noisy. Segment
boundaries fall between time steps, so they are only as precise as the features allow. Some
videos also contain short *distractors*: bumps towards a non-action direction that a model
should not report.

:func:`make_synthetic_localization` writes it in the ActivityNet layout MMAction2 0.x uses:
``activitynet_features/v_<name>.csv`` (a header ``f0,...``, then one row per time step) and
``anet_anno_{train,val,full}.json`` annotation files, so ``ActivityNetDataset`` with the BMN
or BSN pipelines reads it unchanged. Everything is a function of ``seed``.

Example:
    >>> paths = make_synthetic_localization('data/synthetic_localization', 40,
    ...                                     temporal_dim=32, feat_dim=16)  # doctest: +SKIP
    >>> paths['ann_file_train']  # doctest: +SKIP
    'data/synthetic_localization/anet_anno_train.json'
"""
from __future__ import annotations

import json
import logging
import os
import os.path as osp
from typing import Any

import numpy as np

from ..utils.checks import check_positive_int

__all__ = ['SYNTHETIC_LOCALIZATION_CLASSES', 'synthetic_video', 'make_synthetic_localization']

logger = logging.getLogger(__name__)

#: Action class names of the synthetic set.
SYNTHETIC_LOCALIZATION_CLASSES: tuple[str, ...] = ('jumping', 'waving', 'spinning', 'rolling')

_FPS = 30.0
_FRAMES_PER_STEP = 16


def _place_segments(rng: np.random.Generator, temporal_dim: int, num: int,
                    min_len: float, max_len: float) -> list[tuple[float, float]]:
    """Up to ``num`` non-overlapping segments (in time steps) with gaps of >= 1 step."""
    segments: list[tuple[float, float]] = []
    for _ in range(50 * num):
        if len(segments) == num:
            break
        length = rng.uniform(min_len, max_len)
        start = rng.uniform(0.0, temporal_dim - length)
        if all(start > e + 1 or start + length < s - 1 for s, e in segments):
            segments.append((start, start + length))
    return sorted(segments)


def _coverage(temporal_dim: int, start: float, end: float, ramp: float) -> np.ndarray:
    """How much each step [t, t + 1) is "inside" [start, end], with linear ramps at the ends."""
    centers = np.arange(temporal_dim) + 0.5
    rise = np.clip((centers - start) / ramp + 0.5, 0, 1)
    fall = np.clip((end - centers) / ramp + 0.5, 0, 1)
    return np.minimum(rise, fall)


def synthetic_video(rng: np.random.Generator, temporal_dim: int, feat_dim: int,
                    prototypes: np.ndarray, distractor: np.ndarray, noise: float = 0.6,
                    max_actions: int = 3) -> tuple[np.ndarray, list[tuple[float, float, int]]]:
    """Features ``[temporal_dim, feat_dim]`` and segments ``[(start, end, class)]`` in steps.

    Args:
        rng (np.random.Generator): the random source.
        temporal_dim (int): time steps.
        feat_dim (int): feature values per step.
        prototypes (np.ndarray): ``[num_classes, feat_dim]`` class directions.
        distractor (np.ndarray): ``[feat_dim]`` direction of the distractor bumps.
        noise (float): std of the per-step noise.
        max_actions (int): at most this many actions per video (at least one).
    """
    background = np.zeros((temporal_dim, feat_dim))
    state = rng.normal(0, 0.5, feat_dim)
    for t in range(temporal_dim):
        state = 0.8 * state + rng.normal(0, 0.3, feat_dim)
        background[t] = state
    features = background + rng.normal(0, noise, (temporal_dim, feat_dim))
    num = int(rng.integers(1, max_actions + 1))
    segments = _place_segments(rng, temporal_dim, num, 0.06 * temporal_dim,
                               0.5 * temporal_dim)
    labelled = []
    for start, end in segments:
        label = int(rng.integers(len(prototypes)))
        weight = _coverage(temporal_dim, start, end, ramp=rng.uniform(1.0, 3.0))
        features += weight[:, None] * prototypes[label] * rng.uniform(0.8, 1.2)
        labelled.append((start, end, label))
    for _ in range(int(rng.integers(0, 3))):  # short distractor bumps, not actions
        center = rng.uniform(0, temporal_dim)
        width = rng.uniform(1.0, 0.04 * temporal_dim + 1.0)
        weight = _coverage(temporal_dim, center - width / 2, center + width / 2, ramp=1.0)
        features += weight[:, None] * distractor
    return features.astype(np.float32), labelled


def _write_csv(path: str, features: np.ndarray) -> None:
    header = ','.join(f'f{i}' for i in range(features.shape[1]))
    np.savetxt(path, features, delimiter=',', header=header, comments='', fmt='%.5f')


def make_synthetic_localization(out_dir: str | os.PathLike, num_videos: int,
                                temporal_dim: int = 100, feat_dim: int = 16, seed: int = 0,
                                val_fraction: float = 0.25, noise: float = 0.6
                                ) -> dict[str, Any]:
    """Write the synthetic localization set in the ActivityNet layout.

    Args:
        out_dir (str): output folder (created).
        num_videos (int): number of videos (at least 2).
        temporal_dim (int): time steps per video (the localizers' ``temporal_dim``).
        feat_dim (int): feature values per step (BMN's ``feat_dim``: a multiple of 4).
        seed (int): everything is a function of it.
        val_fraction (float): share of the videos in the validation split (at least one).
        noise (float): std of the per-step feature noise; higher is harder.

    Returns:
        dict: ``data_root`` (the feature folder), ``ann_file_train``, ``ann_file_val``,
        ``ann_file_full`` (paths), ``num_train``, ``num_val``, ``temporal_dim``,
        ``feat_dim``, ``classes``.
    """
    check_positive_int(None, 'num_videos', num_videos, minimum=2)
    check_positive_int(None, 'temporal_dim', temporal_dim, minimum=8)
    check_positive_int(None, 'feat_dim', feat_dim, minimum=4)
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction!r}')
    out_dir = os.fspath(out_dir)
    feature_dir = osp.join(out_dir, 'activitynet_features')
    os.makedirs(feature_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    directions = rng.normal(0, 1, (len(SYNTHETIC_LOCALIZATION_CLASSES) + 1, feat_dim))
    directions *= 2.0 / np.linalg.norm(directions, axis=1, keepdims=True)
    prototypes, distractor = directions[:-1], directions[-1]

    database = {}
    for idx in range(num_videos):
        name = f'v_synth_{idx:05d}'
        features, segments = synthetic_video(rng, temporal_dim, feat_dim, prototypes,
                                             distractor, noise=noise)
        _write_csv(osp.join(feature_dir, name + '.csv'), features)
        feature_frame = temporal_dim * _FRAMES_PER_STEP
        duration_frame = feature_frame + int(rng.integers(0, _FRAMES_PER_STEP))
        seconds_per_step = _FRAMES_PER_STEP / _FPS
        database[name] = {
            'duration_second': round(duration_frame / _FPS, 6),
            'duration_frame': duration_frame,
            'feature_frame': feature_frame,
            'fps': _FPS,
            'rfps': _FPS,
            'annotations': [{'segment': [round(s * seconds_per_step, 6),
                                         round(e * seconds_per_step, 6)],
                             'label': SYNTHETIC_LOCALIZATION_CLASSES[label]}
                            for s, e, label in segments],
        }
    names = list(database)
    num_val = max(1, int(round(num_videos * val_fraction)))
    splits = {'train': names[:-num_val], 'val': names[-num_val:], 'full': names}
    paths: dict[str, Any] = {'data_root': feature_dir}
    for split, members in splits.items():
        path = osp.join(out_dir, f'anet_anno_{split}.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump({name: database[name] for name in members}, f, indent=1)
        paths[f'ann_file_{split}'] = path
    paths.update(num_train=num_videos - num_val, num_val=num_val, temporal_dim=temporal_dim,
                 feat_dim=feat_dim, classes=SYNTHETIC_LOCALIZATION_CLASSES)
    logger.info('wrote %d synthetic localization videos (%d train, %d val) to %s', num_videos,
                num_videos - num_val, num_val, out_dir)
    return paths
