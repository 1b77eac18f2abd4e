"""A synthetic skeleton dataset whose classes come in time-reversed pairs.

One stick figure with COCO's 17 joints acts in each clip. The six classes form three pairs:
raising / lowering the right arm, sitting down / standing up, stepping right / stepping left.
The second class of a pair is *defined* as the first one played backwards (the same random
draws, then reversed in time), so both classes of a pair have the same distribution of single
poses: only the order of the frames tells them apart. Body size, position, the start and speed
of the movement, joint jitter and scores are random per clip.

:func:`make_synthetic_pose_dataset` writes ``train.pkl`` and ``val.pkl`` in MMAction2's pose
annotation format (read by :class:`~actionkit.datasets.PoseDataset`).

Example:
    >>> paths = make_synthetic_pose_dataset('data/synthetic_pose')  # doctest: +SKIP
    >>> paths['train']  # doctest: +SKIP
    'data/synthetic_pose/train.pkl'
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ..utils.atomic import temp_path
from ..utils.checks import check_positive_int

__all__ = ['SYNTHETIC_POSE_CLASSES', 'render_pose_clip', 'make_synthetic_pose_dataset']

#: Class names; the label of a class is its index. Odd labels are their even twin reversed.
SYNTHETIC_POSE_CLASSES = ('raising the right arm', 'lowering the right arm', 'sitting down',
                          'standing up', 'stepping right', 'stepping left')
IMG_SHAPE = (240, 320)  # (h, w) of the frames the poses are drawn in

# the standing pose, in body units (y down, the figure faces the camera; its right is image left)
_REST = np.array([
    [0, -1.55], [-0.07, -1.62], [0.07, -1.62], [-0.15, -1.58], [0.15, -1.58],  # head
    [-0.3, -1.3], [0.3, -1.3],    # shoulders (5 left, 6 right: COCO's order, mirrored here)
    [-0.38, -0.95], [0.38, -0.95],  # elbows
    [-0.42, -0.6], [0.42, -0.6],    # wrists
    [-0.18, -0.55], [0.18, -0.55],  # hips
    [-0.2, 0.0], [0.2, 0.0],        # knees
    [-0.2, 0.55], [0.2, 0.55],      # ankles
])
_RIGHT_ARM = (6, 8, 10)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def _pose(pair: int, s: np.ndarray) -> np.ndarray:
    """``[T, 17, 2]`` body-unit poses at movement progress ``s`` ``[T]`` (0 rest, 1 done)."""
    pose = np.repeat(_REST[None], len(s), axis=0)
    if pair == 0:  # right arm swings out and up: its angle turns from down to up
        angle = np.pi / 2 - np.pi * s  # measured in image coordinates, towards image right
        direction = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
        shoulder = pose[:, _RIGHT_ARM[0]]
        pose[:, _RIGHT_ARM[1]] = shoulder + 0.36 * direction
        pose[:, _RIGHT_ARM[2]] = shoulder + 0.72 * direction
    elif pair == 1:  # sitting: the upper body drops, the knees come out and up
        drop = 0.45 * s[:, None]
        pose[:, :13, 1] += drop
        pose[:, 13:15, 0] *= 1 + 0.8 * s[:, None]
        pose[:, 13:15, 1] += 0.1 * s[:, None]
    else:  # a step to the image right: the body moves, the legs swing once
        pose[:, :, 0] += 0.8 * s[:, None]
        swing = 0.15 * np.sin(np.pi * s)[:, None]
        pose[:, [13, 15], 0] += swing
        pose[:, [14, 16], 0] -= swing
    return pose


def render_pose_clip(label: int, rng: np.random.Generator | int,
                     num_frames: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """One clip of class ``label``: keypoints ``[1, T, 17, 2]`` and scores ``[1, T, 17]``.

    Args:
        label: index into :data:`SYNTHETIC_POSE_CLASSES`.
        rng: a generator or a seed.
        num_frames: ``T``.
    """
    if not 0 <= label < len(SYNTHETIC_POSE_CLASSES):
        raise ValueError(f'label must be in [0, {len(SYNTHETIC_POSE_CLASSES)}), got {label!r}')
    rng = np.random.default_rng(rng)
    t = np.arange(num_frames) / max(num_frames - 1, 1)
    start = rng.uniform(0, 0.3)
    length = rng.uniform(0.4, 0.7)
    poses = _pose(label // 2, _smoothstep((t - start) / length))
    h, w = IMG_SHAPE
    scale = rng.uniform(0.25, 0.35) * h
    centre = np.array([rng.uniform(0.3, 0.5) * w, rng.uniform(0.55, 0.65) * h])
    kp = poses * scale + centre + rng.normal(0, 0.01 * scale, poses.shape)
    score = rng.uniform(0.6, 1.0, poses.shape[:2])
    if label % 2:  # the twin class is the same clip backwards
        kp, score = kp[::-1], score[::-1]
    return kp[None].astype(np.float32), score[None].astype(np.float32)


def make_synthetic_pose_dataset(out_dir: str | os.PathLike, num_train: int = 600,
                                num_val: int = 180, num_frames: tuple[int, int] = (40, 72),
                                seed: int = 0) -> dict[str, str]:
    """Write ``train.pkl`` and ``val.pkl`` (balanced classes) under ``out_dir``.

    Args:
        out_dir: the folder (created).
        num_train, num_val: clips per split.
        num_frames: the range of clip lengths ``[low, high)``.
        seed: the seed of everything random.

    Returns:
        ``{'train': path, 'val': path}``.
    """
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        check_positive_int(None, name, value)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split_code, (split, count) in enumerate((('train', num_train), ('val', num_val))):
        records = []
        for i in range(count):
            rng = np.random.default_rng([seed, split_code, i])
            label = i % len(SYNTHETIC_POSE_CLASSES)
            kp, score = render_pose_clip(label, rng, int(rng.integers(*num_frames)))
            records.append(dict(frame_dir=f'{split}_{i:05d}', label=label, img_shape=IMG_SHAPE,
                                original_shape=IMG_SHAPE, total_frames=kp.shape[1],
                                keypoint=kp, keypoint_score=score))
        path = root / f'{split}.pkl'
        temp = temp_path(path, directory=False)
        temp.write_bytes(pickle.dumps(records, protocol=4))
        os.replace(temp, path)
        paths[split] = str(path)
    return paths
