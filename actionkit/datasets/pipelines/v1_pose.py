"""MMAction2 1.x's skeleton steps: pose feature streams for ST-GCN++ / 2s-AGCN / CTR-GCN /
MS-G3D and their 1.x input layout.

New in 1.x: ``DecompressPose`` (Kinetics-style per-box poses to ``[M, T, V, 2]``),
``PreNormalize2D`` / ``PreNormalize3D``, ``ToMotion``, ``MergeSkeFeat``, ``GenSkeFeat``
(joint ``j``, bone ``b`` and their motions ``jm`` / ``bm``) and ``PadTo``. Changed in 1.x
(so, in a 1.x pipeline, built from the classes here): ``JointToBone`` gained ``target`` and
spells the OpenPose layout ``'openpose'``; ``FormatGCNInput`` takes ``num_person`` and
``mode`` and writes ``keypoint`` as ``[num_clips, M, T, V, C]`` (0.x: ``[C, T, V, M]``), the
input 1.x's ``RecognizerGCN`` takes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...utils.checks import check_positive_int
from ..builder import PIPELINES
from .compose import register_v1_variant
from .pose import JointToBone, check_keypoint, clip_name

__all__ = ['DecompressPose', 'PreNormalize2D', 'PreNormalize3D', 'V1JointToBone', 'ToMotion',
           'MergeSkeFeat', 'GenSkeFeat', 'PadTo', 'V1FormatGCNInput']

_V1_DATASETS = {'nturgb+d': 'nturgb+d', 'openpose': 'openpose-18', 'coco': 'coco'}


@PIPELINES.register_module()
class DecompressPose:
    """Turn per-box poses (``keypoint`` ``[K, V, 3]``, one row per detected person, with
    ``frame_inds`` saying the frame of each) into ``keypoint`` ``[M, T, V, 2]`` and
    ``keypoint_score`` ``[M, T, V]`` (float16), M the most persons in a frame.

    ``anno_inds`` (from ``PoseDataset``'s ``box_thr``) first keeps the boxes chosen;
    ``squeeze`` drops frames without a box. Beyond ``max_person`` persons, each frame's
    persons are sorted by total score and the first ``max_person`` kept.

    Required keys: ``total_frames``, ``frame_inds``, ``keypoint``.
    Optional keys: ``anno_inds``.
    Added keys: ``keypoint_score``, ``num_person`` (when capped).
    Modified keys: ``keypoint``, ``total_frames``; ``frame_inds`` is removed.
    """

    def __init__(self, squeeze: bool = True, max_person: int = 10) -> None:
        self.squeeze = bool(squeeze)
        self.max_person = check_positive_int('DecompressPose', 'max_person', max_person)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for key in ('total_frames', 'frame_inds', 'keypoint'):
            if key not in results:
                raise KeyError(f'DecompressPose: results of {clip_name(results)} has no '
                               f'{key!r} key')
        frame_inds = np.asarray(results.pop('frame_inds'))
        keypoint = np.asarray(results['keypoint'])
        if 'anno_inds' in results:
            frame_inds = frame_inds[results['anno_inds']]
            keypoint = keypoint[results['anno_inds']]
        if np.any(np.diff(frame_inds) < 0):
            raise ValueError(f'DecompressPose: frame_inds of {clip_name(results)} must not '
                             f'decrease')
        total_frames = results['total_frames']
        if self.squeeze:
            frame_inds = np.unique(frame_inds, return_inverse=True)[1].reshape(-1)
            total_frames = int(frame_inds.max()) + 1 if len(frame_inds) else 0
        results['total_frames'] = total_frames
        per_frame = np.bincount(frame_inds, minlength=total_frames)
        num_person = int(per_frame.max()) if len(frame_inds) else 0
        kp = np.zeros((num_person, total_frames, keypoint.shape[1], 2), dtype=np.float16)
        score = np.zeros((num_person, total_frames, keypoint.shape[1]), dtype=np.float16)
        slot = np.zeros(total_frames, dtype=np.int64)
        for frame, pose in zip(frame_inds, keypoint):
            kp[slot[frame], frame] = pose[:, :2]
            score[slot[frame], frame] = pose[:, 2]
            slot[frame] += 1
        if num_person > self.max_person:
            for t in range(total_frames):
                n = slot[t]
                order = sorted(range(n), key=lambda i: -score[i, t].sum())
                kp[:n, t], score[:n, t] = kp[order, t], score[order, t]
            num_person = self.max_person
            results['num_person'] = num_person
        results['keypoint'] = kp[:num_person]
        results['keypoint_score'] = score[:num_person]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(squeeze={self.squeeze}, max_person={self.max_person})'


@PIPELINES.register_module()
class PreNormalize2D:
    """Map pixel coordinates to [-1, 1]: ``(x - w / 2) / (w / 2)``, the same for y.

    Required keys: ``keypoint``. Optional keys: ``img_shape`` (else ``img_shape`` here).
    Modified keys: ``keypoint``.
    """

    def __init__(self, img_shape: Sequence[int] = (1080, 1920)) -> None:
        self.img_shape = tuple(img_shape)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = check_keypoint(results, 'PreNormalize2D')
        h, w = results.get('img_shape', self.img_shape)
        kp[..., 0] = (kp[..., 0] - w / 2) / (w / 2)
        kp[..., 1] = (kp[..., 1] - h / 2) / (h / 2)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(img_shape={self.img_shape})'


def _angle(v1: np.ndarray, v2: Sequence[float]) -> float:
    v2 = np.asarray(v2, dtype=np.float64)
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    cos = np.dot(v1 / np.linalg.norm(v1), v2 / np.linalg.norm(v2))
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def _rotation(axis: np.ndarray, theta: float) -> np.ndarray:
    """The matrix turning by ``theta`` about ``axis`` (Euler-Rodrigues, as 1.x writes it)."""
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.sqrt(np.dot(axis, axis))
    a = np.cos(theta / 2.0)
    b, c, d = -axis * np.sin(theta / 2.0)
    return np.array([[a * a + b * b - c * c - d * d, 2 * (b * c + a * d), 2 * (b * d - a * c)],
                     [2 * (b * c - a * d), a * a + c * c - b * b - d * d, 2 * (c * d + a * b)],
                     [2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - b * b - c * c]])


@PIPELINES.register_module()
class PreNormalize3D:
    """Align 3D skeletons (NTU RGB+D): drop frames where the main person is missing, centre on
    the first frame's spine joint (joint 1 of 25, else the last), turn the spine
    (``zaxis`` bottom to top) onto z and the shoulders (``xaxis``) onto x.

    Required keys: ``keypoint`` ``[M, T, V, 3]`` with M = 1 or 2.
    Added keys: ``body_center``. Modified keys: ``keypoint``, ``total_frames``.
    """

    def __init__(self, zaxis: Sequence[int] = (0, 1), xaxis: Sequence[int] = (8, 4),
                 align_spine: bool = True, align_shoulder: bool = True,
                 align_center: bool = True) -> None:
        self.zaxis, self.xaxis = list(zaxis), list(xaxis)
        self.align_spine, self.align_shoulder = bool(align_spine), bool(align_shoulder)
        self.align_center = bool(align_center)

    def _main_person_first(self, skeleton: np.ndarray) -> np.ndarray:
        present = [[t for t in range(skeleton.shape[1])
                    if not np.all(np.isclose(skeleton[m, t], 0))] for m in range(len(skeleton))]
        if len(skeleton) == 2 and len(present[0]) < len(present[1]):
            return skeleton[:, np.array(present[1])][[1, 0]]
        return skeleton[:, np.array(present[0])]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        skeleton = check_keypoint(results, 'PreNormalize3D')
        if skeleton.shape[1] != results.get('total_frames', skeleton.shape[1]):
            raise ValueError(f'PreNormalize3D: keypoint of {clip_name(results)} has '
                             f'{skeleton.shape[1]} frames, total_frames says '
                             f'{results["total_frames"]}')
        if skeleton.sum() == 0:
            return results
        if skeleton.shape[0] not in (1, 2):
            raise ValueError(f'PreNormalize3D: needs 1 or 2 persons, {clip_name(results)} has '
                             f'{skeleton.shape[0]}')
        skeleton = self._main_person_first(skeleton)
        center = skeleton[0, 0, 1 if skeleton.shape[2] == 25 else -1].copy()
        if self.align_center:
            mask = ((skeleton != 0).sum(-1) > 0)[..., None]
            skeleton = (skeleton - center) * mask
        for enabled, (i, j), target in ((self.align_spine, self.zaxis[::-1], [0, 0, 1]),
                                        (self.align_shoulder, self.xaxis, [1, 0, 0])):
            if enabled:
                bone = skeleton[0, 0, i] - skeleton[0, 0, j]
                matrix = _rotation(np.cross(bone, target), _angle(bone, target))
                skeleton = np.einsum('abcd,kd->abck', skeleton, matrix)
        results['keypoint'] = skeleton
        results['total_frames'] = skeleton.shape[1]
        results['body_center'] = center
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(zaxis={self.zaxis}, xaxis={self.xaxis}, '
                f'align_center={self.align_center}, align_spine={self.align_spine}, '
                f'align_shoulder={self.align_shoulder})')


@register_v1_variant('JointToBone')
class V1JointToBone(JointToBone):
    """1.x's ``JointToBone``: the bones of ``keypoint`` written to ``target``; ``dataset``
    is ``'nturgb+d'``, ``'openpose'`` or ``'coco'``."""

    def __init__(self, dataset: str = 'nturgb+d', target: str = 'keypoint') -> None:
        if dataset not in _V1_DATASETS:
            raise ValueError(f'JointToBone: dataset must be one of {sorted(_V1_DATASETS)}, '
                             f'got {dataset!r}')
        super().__init__(_V1_DATASETS[dataset])
        self.target = target

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        joints = results['keypoint'] if 'keypoint' in results else None
        results = super().__call__(results)
        if self.target != 'keypoint':
            results[self.target] = results['keypoint']
            results['keypoint'] = joints
        return results


@PIPELINES.register_module()
class ToMotion:
    """Frame-to-frame differences of ``source`` (the last frame 0), written to ``target``; on
    2D layouts with scores (``openpose``, ``coco``) the score channel is the two frames' mean.
    """

    def __init__(self, dataset: str = 'nturgb+d', source: str = 'keypoint',
                 target: str = 'motion') -> None:
        if dataset not in _V1_DATASETS:
            raise ValueError(f'ToMotion: dataset must be one of {sorted(_V1_DATASETS)}, got '
                             f'{dataset!r}')
        self.dataset, self.source, self.target = dataset, source, target

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        data = results[self.source]
        if data.ndim != 4 or data.shape[-1] not in (2, 3):
            raise ValueError(f'ToMotion: {self.source!r} of {clip_name(results)} must be '
                             f'[M, T, V, 2 or 3], got {data.shape}')
        motion = np.zeros_like(data)
        motion[:, :-1] = np.diff(data, axis=1)
        if data.shape[-1] == 3 and self.dataset != 'nturgb+d':
            motion[:, :-1, :, 2] = (data[:, :-1, :, 2] + data[:, 1:, :, 2]) / 2
        results[self.target] = motion
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset={self.dataset}, source={self.source}, '
                f'target={self.target})')


@PIPELINES.register_module()
class MergeSkeFeat:
    """Concatenate (and remove) the keys ``feat_list`` along ``axis`` into ``target``."""

    def __init__(self, feat_list: Sequence[str] = ('keypoint', ), target: str = 'keypoint',
                 axis: int = -1) -> None:
        self.feat_list, self.target, self.axis = list(feat_list), target, axis

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in self.feat_list if k not in results]
        if missing:
            raise KeyError(f'MergeSkeFeat: results of {clip_name(results)} lack {missing}')
        results[self.target] = np.concatenate([results.pop(k) for k in self.feat_list],
                                              axis=self.axis)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(feat_list={self.feat_list}, target={self.target}, '
                f'axis={self.axis})')


@PIPELINES.register_module()
class GenSkeFeat:
    """Build the streams ``feats`` (``'j'`` joints, ``'b'`` bones, ``'jm'`` / ``'bm'`` their
    motions) and concatenate them along ``axis`` into ``keypoint``. 2D keypoints with a
    ``keypoint_score`` first get the score as a third channel (not for ``'nturgb+d'``)."""

    _FEATS = ('j', 'b', 'jm', 'bm')

    def __init__(self, dataset: str = 'nturgb+d', feats: Sequence[str] = ('j', ),
                 axis: int = -1) -> None:
        bad = [f for f in feats if f not in self._FEATS]
        if bad or not feats:
            raise ValueError(f'GenSkeFeat: feats must be a non-empty list of {self._FEATS}, '
                             f'got {feats!r}')
        self.dataset, self.feats, self.axis = dataset, list(feats), axis
        self.bone = V1JointToBone(dataset, target='b')
        self.motions = [ToMotion(dataset, source=f[0], target=f) for f in ('jm', 'bm')
                        if f in feats]
        self.merge = MergeSkeFeat(self.feats, axis=axis)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'keypoint_score' in results and 'keypoint' in results:
            if self.dataset == 'nturgb+d' or results['keypoint'].shape[-1] != 2:
                raise ValueError(f'GenSkeFeat: {clip_name(results)} has keypoint_score, which '
                                 f'only 2D keypoints of openpose / coco layouts carry')
            results['keypoint'] = np.concatenate(
                [results['keypoint'], results.pop('keypoint_score')[..., None]], -1)
        if 'b' in self.feats or 'bm' in self.feats:
            results = self.bone(results)
        results['j'] = results.pop('keypoint')
        for motion in self.motions:
            results = motion(results)
        for unused in {'j', 'b'} - set(self.feats):
            results.pop(unused, None)
        return self.merge(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset={self.dataset}, feats={self.feats}, '
                f'axis={self.axis})')


@PIPELINES.register_module()
class PadTo:
    """Pad ``keypoint`` along time to ``length`` frames, looping it (``'loop'``) or with
    zeros (``'zero'``). Modified keys: ``keypoint``, ``total_frames``."""

    def __init__(self, length: int, mode: str = 'loop') -> None:
        self.length = check_positive_int('PadTo', 'length', length)
        if mode not in ('loop', 'zero'):
            raise ValueError(f"PadTo: mode must be 'loop' or 'zero', got {mode!r}")
        self.mode = mode

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total = results['total_frames']
        if total > self.length:
            raise ValueError(f'PadTo: {clip_name(results)} has {total} frames, more than '
                             f'length={self.length}')
        start = results.get('start_index', 0)
        inds = np.mod(np.arange(start, start + self.length), total)
        keypoint = results['keypoint'][:, inds].copy()
        if self.mode == 'zero':
            keypoint[:, total:] = 0
        results['keypoint'] = keypoint
        results['total_frames'] = self.length
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(length={self.length}, mode={self.mode})'


@register_v1_variant('FormatGCNInput')
class V1FormatGCNInput:
    """1.x's ``FormatGCNInput``: ``keypoint`` (plus ``keypoint_score`` as a channel) to
    ``[num_clips, M, T / num_clips, V, C]``, with exactly ``num_person`` persons (extra ones
    dropped; missing ones zeros, or, with ``mode='loop'`` and one person, copies of it).

    Required keys: ``keypoint``. Optional keys: ``keypoint_score``, ``num_clips``.
    Modified keys: ``keypoint``.
    """

    def __init__(self, num_person: int = 2, mode: str = 'zero') -> None:
        self.num_person = check_positive_int('FormatGCNInput', 'num_person', num_person)
        if mode not in ('zero', 'loop'):
            raise ValueError(f"FormatGCNInput: mode must be 'zero' or 'loop', got {mode!r}")
        self.mode = mode

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = check_keypoint(results, 'FormatGCNInput')
        if 'keypoint_score' in results:
            kp = np.concatenate((kp, results['keypoint_score'][..., None]), axis=-1)
        have = kp.shape[0]
        if have < self.num_person:
            pad = np.zeros((self.num_person - have, ) + kp.shape[1:], dtype=kp.dtype)
            kp = np.concatenate((kp, pad), axis=0)
            if self.mode == 'loop' and have == 1:
                kp[1:] = kp[0]
        kp = kp[:self.num_person]
        m, t, v, c = kp.shape
        clips = results.get('num_clips', 1)
        if t % clips:
            raise ValueError(f'FormatGCNInput: {clip_name(results)} has {t} frames, not a '
                             f'multiple of num_clips={clips}')
        kp = kp.reshape((m, clips, t // clips, v, c)).transpose(1, 0, 2, 3, 4)
        results['keypoint'] = np.ascontiguousarray(kp)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_person={self.num_person}, mode={self.mode})'
