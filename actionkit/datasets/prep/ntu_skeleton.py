"""NTU RGB+D ``.skeleton`` files to ``PoseDataset`` pickles (MMAction2's ``gen_ntu_rgbd_raw.py``).

A ``.skeleton`` file (Kinect v2, 30 fps) is text: the number of frames, then per frame the
number of bodies and per body a line of 10 body values, the number of joints (25) and one line
of 12 values per joint (``x y z depthX depthY colorX colorY`` and orientation, tracking state).

Conversion, as MMAction2 0.24.1 does it:

* the first 4 bodies of each frame are read (x, y, z in metres) and the 2 that move most (the
  sum of the standard deviations of x, y and z over their non-empty frames) are kept, most
  first;
* with ``pre_norm`` (the default), in the 300-frame buffer: a body's empty leading frames are
  dropped and an empty tail is filled by looping its frames; every body is moved so that
  joint 1 (the spine's middle) of the first body is the origin, frame by frame; then all are
  rotated so that the first body's hip-to-spine bone (joints 0 -> 1) in the first frame points
  along z, and then its right-to-left shoulder line (joints 8 -> 4) along x;
* a record holds ``keypoint`` ``[2, T, 25, 3]`` (float32), ``total_frames``, ``frame_dir`` (the
  file name without ``.skeleton``), ``label`` (action number - 1) and ``img_shape``
  ``(1080, 1920)``.

Splits: cross-subject (``xsub``) and cross-view (``xview``) for NTU-60, cross-subject and
cross-setup (``xsetup``) for NTU-120. Files are taken in sorted order (MMAction2 lists the
folder in file-system order).
"""
from __future__ import annotations

import logging
import math
import os
import pickle
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...errors import AnnotationError
from ...utils.atomic import temp_path

__all__ = ['read_skeleton_file', 'select_bodies', 'pre_normalize', 'ntu_sample_info',
           'in_training_split', 'convert_ntu_skeletons', 'MAX_FRAMES', 'BENCHMARKS']

logger = logging.getLogger(__name__)

MAX_FRAMES = 300
NUM_JOINTS = 25
_KINECT_BODIES = 4
_KEPT_BODIES = 2
_TRAIN_SUBJECTS_60 = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
_TRAIN_SUBJECTS_120 = _TRAIN_SUBJECTS_60 | {
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86,
    89, 91, 92, 93, 94, 95, 97, 98, 100, 103}
_TRAIN_CAMERAS_60 = {2, 3}
_TRAIN_SETUPS_120 = set(range(2, 33, 2))
#: The benchmarks of each task.
BENCHMARKS = {'ntu60': ('xsub', 'xview'), 'ntu120': ('xsub', 'xsetup')}
_NAME = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')


def read_skeleton_file(path: str | os.PathLike, max_bodies: int = _KINECT_BODIES) -> np.ndarray:
    """The x, y, z of the first ``max_bodies`` bodies: ``[max_bodies, T, 25, 3]`` (float64).

    Raises:
        AnnotationError: the file is not a well-formed ``.skeleton`` file (file and line named).
    """
    lines = Path(path).read_text(encoding='ascii', errors='replace').split('\n')
    pos = 0

    def take(what: str) -> list[str]:
        nonlocal pos
        if pos >= len(lines):
            raise AnnotationError(f'{path}: the file ends where {what} was expected '
                                  f'(line {pos + 1})')
        pos += 1
        return lines[pos - 1].split()

    def count(what: str) -> int:
        fields = take(what)
        if len(fields) != 1 or not fields[0].isdigit():
            raise AnnotationError(f'{path}:{pos}: expected {what} (one integer), got '
                                  f'{" ".join(fields)!r}')
        return int(fields[0])

    num_frames = count('the number of frames')
    data = np.zeros((max_bodies, num_frames, NUM_JOINTS, 3))
    for t in range(num_frames):
        for body in range(count(f'the number of bodies of frame {t}')):
            take('a body line')
            for joint in range(count('the number of joints')):
                fields = take('a joint line')
                if len(fields) < 3:
                    raise AnnotationError(f'{path}:{pos}: a joint line needs x y z, got '
                                          f'{" ".join(fields)!r}')
                if body < max_bodies and joint < NUM_JOINTS:
                    try:
                        data[body, t, joint] = [float(v) for v in fields[:3]]
                    except ValueError:
                        raise AnnotationError(f'{path}:{pos}: x y z must be numbers, got '
                                              f'{" ".join(fields[:3])!r}') from None
    return data


def _motion(body: np.ndarray) -> float:
    """Sum over x, y, z of the standard deviation over the body's non-empty frames."""
    frames = body[body.sum(-1).sum(-1) != 0]
    return float(sum(frames[..., c].std() for c in range(3))) if len(frames) else 0.


def select_bodies(data: np.ndarray, keep: int = _KEPT_BODIES) -> np.ndarray:
    """The ``keep`` bodies of ``[M, T, V, 3]`` that move most, most first.

    Ties keep MMAction2's order: numpy's default argsort, reversed.
    """
    motion = np.array([_motion(body) for body in data])
    return data[motion.argsort()[::-1][:keep]]


def _angle(v1: np.ndarray, v2: np.ndarray) -> float:
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.
    u1, u2 = v1 / np.linalg.norm(v1), v2 / np.linalg.norm(v2)
    return float(np.arccos(np.clip(np.dot(u1, u2), -1.0, 1.0)))


def _rotation(axis: np.ndarray, theta: float) -> np.ndarray:
    """The matrix of the rotation by ``theta`` about ``axis`` (Euler-Rodrigues)."""
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    axis = np.asarray(axis) / math.sqrt(np.dot(axis, axis))
    a = math.cos(theta / 2.0)
    b, c, d = -axis * math.sin(theta / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array([[aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
                     [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
                     [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc]])


def _fill_empty_frames(person: np.ndarray) -> None:
    """In place: drop empty leading frames, then loop the frames over an empty tail."""
    if person[0].sum() == 0:
        kept = person[person.sum(-1).sum(-1) != 0].copy()
        person[:] = 0
        person[:len(kept)] = kept
    frame_sums = person.sum(-1).sum(-1)
    for t in range(1, len(person)):
        if frame_sums[t] == 0 and person[t:].sum() == 0:
            rest = len(person) - t
            person[t:] = np.concatenate([person[:t]] * int(np.ceil(rest / t)))[:rest]
            return


def _align(skeleton: np.ndarray, joints: tuple[int, int], target: list[float]) -> None:
    """In place: rotate every body so that first body's bone ``joints`` (first frame) is
    parallel to ``target``; empty frames stay empty."""
    bone = skeleton[0, 0, joints[1]] - skeleton[0, 0, joints[0]]
    matrix = _rotation(np.cross(bone, target), _angle(bone, target))
    for person in skeleton:
        if person.sum() == 0:
            continue
        frames = person.sum(-1).sum(-1) != 0
        person[frames] = np.einsum('ij,tvj->tvi', matrix, person[frames])


def pre_normalize(skeleton: np.ndarray) -> np.ndarray:
    """MMAction2's ``pre_normalization`` of one sample ``[M, T, V, 3]`` (float32, changed in
    place and returned); see the module docstring."""
    if skeleton.sum() == 0:
        return skeleton
    for person in skeleton:
        if person.sum() != 0:
            _fill_empty_frames(person)
    center = skeleton[0][:, 1:2, :].copy()
    for person in skeleton:
        if person.sum() != 0:
            person[:] = (person - center) * (person.sum(-1) != 0)[..., None]
    _align(skeleton, (0, 1), [0, 0, 1])
    _align(skeleton, (4, 8), [1, 0, 0])
    return skeleton


def ntu_sample_info(filename: str) -> dict[str, int]:
    """``setup``, ``camera``, ``subject``, ``replication`` and ``action`` of an NTU file name
    (``S001C002P003R002A013.skeleton``)."""
    match = _NAME.search(filename)
    if match is None:
        raise ValueError(f'{filename!r} is not an NTU RGB+D skeleton file name '
                         '(SsssCcccPpppRrrrAaaa.skeleton)')
    keys = ('setup', 'camera', 'subject', 'replication', 'action')
    return {key: int(value) for key, value in zip(keys, match.groups())}


def in_training_split(info: dict[str, int], task: str, benchmark: str) -> bool:
    """Whether a sample belongs to the training part of ``benchmark``."""
    if benchmark not in BENCHMARKS.get(task, ()):
        raise ValueError(f'benchmark {benchmark!r} is not one of {task!r}: '
                         f'{BENCHMARKS.get(task)} (tasks: {sorted(BENCHMARKS)})')
    if benchmark == 'xsub':
        subjects = _TRAIN_SUBJECTS_60 if task == 'ntu60' else _TRAIN_SUBJECTS_120
        return info['subject'] in subjects
    if benchmark == 'xview':
        return info['camera'] in _TRAIN_CAMERAS_60
    return info['setup'] in _TRAIN_SETUPS_120


def _record(path: Path, pre_norm: bool) -> dict:
    data = select_bodies(read_skeleton_file(path)).astype(np.float32)  # [2, T, 25, 3]
    total = data.shape[1]
    if not 0 < total <= MAX_FRAMES:
        raise AnnotationError(f'{path}: {total} frames; NTU RGB+D clips have 1 to '
                              f'{MAX_FRAMES}')
    buffer = np.zeros((_KEPT_BODIES, MAX_FRAMES, NUM_JOINTS, 3), np.float32)
    buffer[:, :total] = data
    if pre_norm:
        pre_normalize(buffer)
    return dict(total_frames=total, keypoint=np.ascontiguousarray(buffer[:, :total]),
                frame_dir=path.stem, img_shape=(1080, 1920), original_shape=(1080, 1920),
                label=ntu_sample_info(path.name)['action'] - 1)


def convert_ntu_skeletons(data_path: str | os.PathLike, out_folder: str | os.PathLike,
                          task: str = 'ntu60', ignored: Iterable[str] = (),
                          pre_norm: bool = True) -> list[Path]:
    """Write ``<out_folder>/<benchmark>/{train,val}.pkl`` for every benchmark of ``task``.

    Args:
        data_path: the folder of ``.skeleton`` files.
        out_folder: where the pickles go.
        task: ``'ntu60'`` or ``'ntu120'``.
        ignored: sample names to skip (NTU's list of samples with missing skeletons).
        pre_norm: centre and align the skeletons (see the module docstring).

    Returns:
        The pickles written.
    """
    if task not in BENCHMARKS:
        raise ValueError(f'task must be one of {sorted(BENCHMARKS)}, got {task!r}')
    folder = Path(data_path)
    if not folder.is_dir():
        raise FileNotFoundError(f'NTU skeleton folder {folder} does not exist')
    skip = {name.strip() for name in ignored if name.strip()}
    files = sorted(p for p in folder.iterdir()
                   if p.suffix == '.skeleton' and p.stem not in skip)
    if not files:
        raise FileNotFoundError(f'no .skeleton files in {folder}')
    records = {p.name: _record(p, pre_norm) for p in files}
    written = []
    for benchmark in BENCHMARKS[task]:
        for part in ('train', 'val'):
            chosen = [records[p.name] for p in files
                      if in_training_split(ntu_sample_info(p.name), task, benchmark)
                      == (part == 'train')]
            out = Path(out_folder) / benchmark / f'{part}.pkl'
            temp = temp_path(out, directory=False)
            temp.write_bytes(pickle.dumps(chosen, protocol=4))
            os.replace(temp, out)
            logger.info('%s: %d samples', out, len(chosen))
            written.append(out)
    return written
