"""Skeleton (pose) pipeline steps of MMAction2 0.x, for ST-GCN, 2s-AGCN and PoseC3D.

Keypoints are ``[M, T, V, C]`` arrays (persons, frames, joints, ``x, y[, z or score]``);
``keypoint_score`` is ``[M, T, V]``. A zero coordinate marks a missing joint, as in MMAction2.
In pipeline order:

* ``PaddingWithLoop`` (sampling for ST-GCN: the first ``clip_len`` frames, looped);
  ``UniformSampleFrames`` is in :mod:`.sampling`;
* ``PoseDecode``: take the sampled frames;
* ``PoseCompact``: crop the image plane to the box around all joints;
  ``Resize``/``RandomResizedCrop``/``CenterCrop``/``Flip`` move keypoints too;
* ``GeneratePoseTarget`` (:mod:`.pose_heatmap`): keypoints to heatmap volumes (PoseC3D);
* ``JointToBone``, ``FormatGCNInput``, ``PoseNormalize``: the GCN input ``[C, T, V, M]``.

Every step checks the keys it needs and names the clip (``frame_dir``) in its errors. Arrays
are never changed in place: a step writes new arrays into the results.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..builder import PIPELINES
from ..errors import DataError
from ...utils.checks import check_positive_int
from .sampling import _total_frames

__all__ = ['PoseDecode', 'PoseCompact', 'PaddingWithLoop', 'PoseNormalize', 'JointToBone',
           'FormatGCNInput', 'clip_name', 'check_keypoint']


def clip_name(results: Mapping[str, Any]) -> str:
    """The clip's name for errors: ``frame_dir`` (or ``filename``)."""
    return str(results.get('frame_dir', results.get('filename', '<unnamed clip>')))


def check_keypoint(results: Mapping[str, Any], owner: str, rank: int = 4) -> np.ndarray:
    """``results['keypoint']``, after checking that it is there and has ``rank`` axes."""
    if 'keypoint' not in results:
        raise KeyError(f"{owner}: results of {clip_name(results)} has no 'keypoint' key; got "
                       f'keys {sorted(results)}')
    kp = results['keypoint']
    layout = '[M, T, V, C]' if rank == 4 else '[C, T, V, M]'
    if not isinstance(kp, np.ndarray) or kp.ndim != rank:
        shape = kp.shape if isinstance(kp, np.ndarray) else type(kp).__name__
        raise DataError(f"{owner}: 'keypoint' of {clip_name(results)} must be an array "
                        f'{layout}, got {shape}', clip_name(results))
    return kp


@PIPELINES.register_module()
class PoseDecode:
    """Take the frames ``frame_inds`` (+ ``offset``) of the keypoints, as ``float32``.

    Without ``frame_inds`` every frame is taken.

    Required keys: ``keypoint`` (and/or ``keypoint_score``), ``total_frames`` (without
        ``frame_inds``).
    Optional keys: ``frame_inds``, ``offset``.
    Added keys: ``frame_inds`` (when absent).
    Modified keys: ``keypoint``, ``keypoint_score``, ``frame_inds`` (flattened).
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'frame_inds' not in results:
            results['frame_inds'] = np.arange(_total_frames(
                dict(results, start_index=0), type(self).__name__))
        inds = np.asarray(results['frame_inds'])
        if inds.ndim != 1:
            inds = np.squeeze(inds)
        results['frame_inds'] = inds
        inds = inds + results.get('offset', 0)
        for key in ('keypoint_score', 'keypoint'):
            if key not in results:
                continue
            data = results[key]
            if data.ndim < 2 or (inds.size and not -data.shape[1] <= inds.min() <= inds.max()
                                 < data.shape[1]):
                raise DataError(f'PoseDecode: frames {inds.min()}..{inds.max()} asked of '
                                f'{key!r} of shape {data.shape} (frames on axis 1) in '
                                f'{clip_name(results)}', clip_name(results))
            results[key] = data[:, inds].astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


def _combine_quadruple(a: Sequence[float], b: Sequence[float]) -> tuple[float, ...]:
    """The crop ``b`` (x, y, w, h as fractions) of the crop ``a``, as fractions of the image."""
    return (a[0] + a[2] * b[0], a[1] + a[3] * b[1], a[2] * b[2], a[3] * b[3])


@PIPELINES.register_module()
class PoseCompact:
    """Shrink the image plane to the box around every joint of the clip, plus padding.

    The tight box around all non-zero joints (NaN coordinates become 0, i.e. missing) is grown
    by ``padding`` about its centre and, with ``hw_ratio``, widened or heightened to that
    height/width ratio; keypoints are moved into it and ``img_shape`` becomes its size. A box
    narrower or lower than ``threshold`` leaves everything unchanged.

    Required keys: ``img_shape``, ``keypoint``.
    Added keys: ``crop_quadruple``.
    Modified keys: ``img_shape``, ``keypoint``, ``crop_quadruple``.

    Args:
        padding (float): the box grows by ``padding`` times its size (0.25: 1.25x).
        threshold (int): smallest box side that is compacted.
        hw_ratio (float | tuple[float] | None): height/width ratio (a range as a pair).
        allow_imgpad (bool): let the box leave the image to meet ``hw_ratio``.
    """

    def __init__(self, padding: float = 0.25, threshold: int = 10,
                 hw_ratio: float | tuple[float, float] | None = None,
                 allow_imgpad: bool = True) -> None:
        if not isinstance(padding, (int, float)) or padding < 0:
            raise ValueError(f'PoseCompact: padding must be a number >= 0, got {padding!r}')
        if hw_ratio is not None:
            hw_ratio = (hw_ratio, hw_ratio) if isinstance(hw_ratio, (int, float)) \
                else tuple(hw_ratio)
            if len(hw_ratio) != 2 or min(hw_ratio) <= 0:
                raise ValueError(f'PoseCompact: hw_ratio must be a positive number or pair, '
                                 f'got {hw_ratio!r}')
        self.padding = padding
        self.threshold = threshold
        self.hw_ratio = hw_ratio
        self.allow_imgpad = bool(allow_imgpad)

    def _box(self, kp: np.ndarray, img_shape: tuple[int, int]) -> tuple[int, ...] | None:
        """``(min_x, min_y, max_x, max_y)`` of the new image plane, or None to skip."""
        h, w = img_shape
        xs, ys = kp[..., 0], kp[..., 1]
        # the float32 sums and halves, then float64 products, are the order MMAction2's
        # numpy-1 scalar arithmetic takes; the box edges must come out identical
        min_x, max_x = np.min(xs[xs != 0], initial=np.inf), np.max(xs[xs != 0], initial=-np.inf)
        min_y, max_y = np.min(ys[ys != 0], initial=np.inf), np.max(ys[ys != 0], initial=-np.inf)
        if max_x - min_x < self.threshold or max_y - min_y < self.threshold:
            return None
        cx, cy = float((max_x + min_x) / 2), float((max_y + min_y) / 2)
        half_w = float((max_x - min_x) / 2) * (1 + self.padding)
        half_h = float((max_y - min_y) / 2) * (1 + self.padding)
        if self.hw_ratio is not None:
            half_h = max(self.hw_ratio[0] * half_w, half_h)
            half_w = max(1 / self.hw_ratio[1] * half_h, half_w)
        box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        if not self.allow_imgpad:
            box = (max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]))
        return tuple(int(v) for v in box)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'img_shape' not in results:
            raise KeyError(f"PoseCompact: results of {clip_name(results)} has no 'img_shape' "
                           f'key; got keys {sorted(results)}')
        h, w = results['img_shape']
        kp = check_keypoint(results, 'PoseCompact').copy()
        kp[np.isnan(kp)] = 0.
        results['keypoint'] = kp
        box = self._box(kp, (h, w))
        if box is None:
            return results
        min_x, min_y, max_x, max_y = box
        xs, ys = kp[..., 0], kp[..., 1]  # views: the moves below change kp
        xs[xs != 0] -= min_x
        ys[ys != 0] -= min_y
        results['img_shape'] = (max_y - min_y, max_x - min_x)
        results['crop_quadruple'] = _combine_quadruple(
            results.get('crop_quadruple', (0., 0., 1., 1.)),
            (min_x / w, min_y / h, (max_x - min_x) / w, (max_y - min_y) / h))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(padding={self.padding}, threshold={self.threshold}, '
                f'hw_ratio={self.hw_ratio}, allow_imgpad={self.allow_imgpad})')


@PIPELINES.register_module()
class PaddingWithLoop:
    """The first ``clip_len`` frame indices, looping over a shorter clip (ST-GCN's sampler).

    Required keys: ``total_frames``.
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval`` (None), ``num_clips``.

    Args:
        clip_len (int): frames per clip.
        num_clips (int): recorded as ``num_clips``.
    """

    def __init__(self, clip_len: int, num_clips: int = 1) -> None:
        self.clip_len = check_positive_int(type(self).__name__, 'clip_len', clip_len)
        self.num_clips = check_positive_int(type(self).__name__, 'num_clips', num_clips)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total = _total_frames(dict(results, start_index=0), type(self).__name__)
        results['frame_inds'] = np.arange(self.clip_len, dtype=np.int64) % total
        results['clip_len'] = self.clip_len
        results['frame_interval'] = None
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips})'


@PIPELINES.register_module()
class PoseNormalize:
    """``(keypoint - mean) / (max_value - min_value)`` per channel of a ``[C, T, V, M]`` input.

    Place it after ``FormatGCNInput``.

    Required keys: ``keypoint``.
    Added keys: ``keypoint_norm_cfg``.
    Modified keys: ``keypoint``.

    Args:
        mean, min_value, max_value (Sequence[float]): one value per channel (default: a
            1920 x 1080 image with scores in [0, 1]).
    """

    def __init__(self, mean: Sequence[float] = (960., 540., 0.5),
                 min_value: Sequence[float] = (0., 0., 0.),
                 max_value: Sequence[float] = (1920, 1080, 1.)) -> None:
        arrays = [np.array(v, dtype=np.float32).reshape(-1, 1, 1, 1)
                  for v in (mean, min_value, max_value)]
        if len({a.shape[0] for a in arrays}) != 1:
            raise ValueError(f'PoseNormalize: mean, min_value and max_value need one value per '
                             f'channel each, got {mean}, {min_value}, {max_value}')
        self.mean, self.min_value, self.max_value = arrays

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = check_keypoint(results, 'PoseNormalize')
        if kp.shape[0] != self.mean.shape[0]:
            raise DataError(f"PoseNormalize: 'keypoint' of {clip_name(results)} has "
                            f'{kp.shape[0]} channels on axis 0 ([C, T, V, M]; put '
                            f'FormatGCNInput first), the statistics {self.mean.shape[0]}',
                            clip_name(results))
        results['keypoint'] = (kp - self.mean) / (self.max_value - self.min_value)
        results['keypoint_norm_cfg'] = dict(mean=self.mean, min_value=self.min_value,
                                            max_value=self.max_value)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mean={self.mean.ravel().tolist()}, '
                f'min_value={self.min_value.ravel().tolist()}, '
                f'max_value={self.max_value.ravel().tolist()})')


# joint -> the joint its bone starts from, for each layout JointToBone knows
_BONE_PARENTS = {
    'nturgb+d': ((0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20),
                 (9, 8), (10, 9), (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0),
                 (17, 16), (18, 17), (19, 18), (21, 22), (20, 20), (22, 7), (23, 24),
                 (24, 11)),
    'openpose-18': ((0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2),
                    (9, 8), (10, 9), (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14),
                    (17, 15)),
    'coco': ((0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7),
             (10, 8), (11, 0), (12, 0), (13, 11), (14, 12), (15, 13), (16, 14)),
}


@PIPELINES.register_module()
class JointToBone:
    """Replace each joint by its bone: the joint minus the joint it hangs from.

    With 3 channels on a 2D layout (``openpose-18``, ``coco``) the third channel is a score,
    which becomes the mean of the two joints' scores.

    Required keys: ``keypoint`` ``[M, T, V, C]``, C = 2 or 3.
    Modified keys: ``keypoint`` (``float32``).

    Args:
        dataset (str): ``'nturgb+d'`` (25 joints), ``'openpose-18'`` or ``'coco'`` (17).
    """

    def __init__(self, dataset: str = 'nturgb+d') -> None:
        if dataset not in _BONE_PARENTS:
            raise ValueError(f'JointToBone: dataset must be one of {sorted(_BONE_PARENTS)}, '
                             f'got {dataset!r}')
        self.dataset = dataset
        self.pairs = _BONE_PARENTS[dataset]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = check_keypoint(results, 'JointToBone')
        num_joints = len(self.pairs)
        if kp.shape[2] != num_joints or kp.shape[3] not in (2, 3):
            raise DataError(f"JointToBone({self.dataset!r}): 'keypoint' of "
                            f'{clip_name(results)} must be [M, T, {num_joints}, 2 or 3], got '
                            f'{kp.shape}', clip_name(results))
        child, parent = (list(v) for v in zip(*self.pairs))
        bone = np.zeros(kp.shape, dtype=np.float32)
        bone[..., child, :] = kp[..., child, :] - kp[..., parent, :]
        if kp.shape[3] == 3 and self.dataset != 'nturgb+d':
            bone[..., child, 2] = (kp[..., child, 2] + kp[..., parent, 2]) / 2
        results['keypoint'] = bone
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dataset_type='{self.dataset}')"


@PIPELINES.register_module()
class FormatGCNInput:
    """Arrange keypoints (and scores as an extra channel) as ``[C, T, V, M]`` for a GCN.

    Persons beyond ``num_person`` are dropped; missing ones are zero-padded. NaN coordinates
    raise a :class:`~actionkit.datasets.errors.DataError` naming the clip (MMAction2 passes
    them to the network, where they turn the loss into NaN).

    Required keys: ``keypoint``.
    Optional keys: ``keypoint_score``.
    Added keys: ``input_shape``.
    Modified keys: ``keypoint``.

    Args:
        input_format (str): ``'NCTVM'``.
        num_person (int): persons kept.
    """

    def __init__(self, input_format: str, num_person: int = 2) -> None:
        if input_format != 'NCTVM':
            raise ValueError(f"FormatGCNInput: input_format must be 'NCTVM', got "
                             f'{input_format!r}')
        self.input_format = input_format
        self.num_person = check_positive_int(type(self).__name__, 'num_person', num_person)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = check_keypoint(results, 'FormatGCNInput')
        if np.isnan(kp).any():
            raise DataError(f"FormatGCNInput: 'keypoint' of {clip_name(results)} holds NaN "
                            f'coordinates', clip_name(results))
        if 'keypoint_score' in results:
            kp = np.concatenate((kp, results['keypoint_score'][..., None]), axis=-1)
        kp = kp.transpose(3, 1, 2, 0)  # [M, T, V, C] -> [C, T, V, M]
        if kp.shape[-1] < self.num_person:
            pad = np.zeros(kp.shape[:-1] + (self.num_person - kp.shape[-1], ), kp.dtype)
            kp = np.concatenate((kp, pad), axis=-1)
        results['keypoint'] = kp[..., :self.num_person]
        results['input_shape'] = results['keypoint'].shape
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_format='{self.input_format}', "
                f'num_person={self.num_person})')
