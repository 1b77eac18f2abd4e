"""Temporal sampling: which frame indices of a video make up the clips of one sample.

The formulas and the calls to numpy's global random generator (``np.random.randint``,
``np.random.uniform``, in the same order) are those of MMAction2 0.x, so a run seeded the same
way samples the same frames. Test mode is deterministic.

Subclasses may override ``_get_train_clips(num_frames)`` / ``_get_test_clips(num_frames)``
(returning clip start offsets), as MMAction2 code does.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..builder import PIPELINES
from ...utils.checks import check_positive_int
from ..errors import DataError

__all__ = ['SampleFrames', 'DenseSampleFrames', 'UntrimmedSampleFrames', 'UniformSampleFrames',
           'write_sampled']

logger = logging.getLogger(__name__)

_OUT_OF_BOUND_OPTS = ('loop', 'repeat_last')


def _warn_start_index(start_index: Any, owner: str) -> None:
    if start_index is not None:  # a UserWarning, as MMAction2 0.24.1 gives
        warnings.warn(f'{owner}: "start_index" is no longer an argument of the sampler and is '
                      'ignored; set it in the dataset config instead (see '
                      'https://github.com/open-mmlab/mmaction2/pull/89)', UserWarning,
                      stacklevel=3)


def write_sampled(results: dict[str, Any], frame_inds: np.ndarray, clip_len: Any,
                  frame_interval: Any, num_clips: int) -> dict[str, Any]:
    """Write a sampler's keys: ``frame_inds`` (int64), ``clip_len``, ``frame_interval``,
    ``num_clips``; return ``results``."""
    results['frame_inds'] = np.asarray(frame_inds).astype(np.int64)
    results['clip_len'] = clip_len
    results['frame_interval'] = frame_interval
    results['num_clips'] = num_clips
    return results


def _total_frames(results: Mapping[str, Any], owner: str) -> int:
    for key in ('total_frames', 'start_index'):
        if key not in results:
            raise KeyError(f'{owner} needs results[{key!r}]; got keys {sorted(results)}')
    total = int(results['total_frames'])
    if total < 1:
        where = results.get('filename', results.get('frame_dir', '<unknown>'))
        raise DataError(f'{owner}: no frames to sample from {where} (total_frames={total})',
                        str(where))
    return total


@PIPELINES.register_module()
class SampleFrames:
    """Sample ``num_clips`` clips of ``clip_len`` frames, ``frame_interval`` apart.

    Train mode splits the video into ``num_clips`` equal segments and draws each clip's start
    at random inside its segment (TSN sampling); test mode takes the middle of each segment.
    Indices past the end wrap around (``out_of_bound_opt='loop'``) or repeat the last valid
    index of the clip (``'repeat_last'``); ``results['start_index']`` is added at the end.

    Required keys: ``total_frames``, ``start_index``.
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval``, ``num_clips``.

    Args:
        clip_len (int): frames per clip.
        frame_interval (int): step between consecutive frames of a clip.
        num_clips (int): clips per sample.
        temporal_jitter (bool): add a random offset in ``[0, frame_interval)`` to each frame.
        twice_sample (bool): in test mode, also add the unshifted segment starts (TSM testing).
        out_of_bound_opt (str): ``'loop'`` or ``'repeat_last'``.
        test_mode (bool): deterministic sampling for validation and testing.
        start_index (None): deprecated and ignored; the dataset sets it.
        keep_tail_frames (bool): in train mode, spread the clips so the last frames can be
            sampled too (float segment length instead of floor division).
    """

    def __init__(self, clip_len: int, frame_interval: int = 1, num_clips: int = 1,
                 temporal_jitter: bool = False, twice_sample: bool = False,
                 out_of_bound_opt: str = 'loop', test_mode: bool = False,
                 start_index: None = None, keep_tail_frames: bool = False) -> None:
        name = type(self).__name__
        self.clip_len = check_positive_int(name, 'clip_len', clip_len)
        self.frame_interval = check_positive_int(name, 'frame_interval', frame_interval)
        self.num_clips = check_positive_int(name, 'num_clips', num_clips)
        if out_of_bound_opt not in _OUT_OF_BOUND_OPTS:
            raise ValueError(f'{name}: out_of_bound_opt must be one of {_OUT_OF_BOUND_OPTS}, '
                             f'got {out_of_bound_opt!r}')
        self.temporal_jitter = bool(temporal_jitter)
        self.twice_sample = bool(twice_sample)
        self.out_of_bound_opt = out_of_bound_opt
        self.test_mode = bool(test_mode)
        self.keep_tail_frames = bool(keep_tail_frames)
        _warn_start_index(start_index, name)

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        """Random clip start offsets, one per segment (uses numpy's global generator)."""
        span = self.clip_len * self.frame_interval
        if self.keep_tail_frames:
            seg_len = (num_frames - span + 1) / float(self.num_clips)
            if num_frames > span - 1:
                starts = np.arange(self.num_clips) * seg_len
                jitter = np.random.uniform(0, seg_len, self.num_clips)
                return (starts + jitter).astype(np.int64)
            return np.zeros((self.num_clips, ), dtype=np.int64)
        seg_len = (num_frames - span + 1) // self.num_clips
        if seg_len > 0:
            starts = np.arange(self.num_clips) * seg_len
            return starts + np.random.randint(seg_len, size=self.num_clips)
        if num_frames > max(self.num_clips, span):
            return np.sort(np.random.randint(num_frames - span + 1, size=self.num_clips))
        if seg_len == 0:
            ratio = (num_frames - span + 1.0) / self.num_clips
            return np.around(np.arange(self.num_clips) * ratio)
        return np.zeros((self.num_clips, ), dtype=np.int64)

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        """Clip start offsets at the middle of each segment (deterministic)."""
        span = self.clip_len * self.frame_interval
        seg_len = (num_frames - span + 1) / float(self.num_clips)
        if num_frames > span - 1:
            starts = np.arange(self.num_clips) * seg_len
            offsets = (starts + seg_len / 2.0).astype(np.int64)
            if self.twice_sample:
                offsets = np.concatenate([offsets, starts])
            return offsets
        return np.zeros((self.num_clips, ), dtype=np.int64)

    def _sample_clips(self, num_frames: int) -> np.ndarray:
        if self.test_mode:
            return self._get_test_clips(num_frames)
        return self._get_train_clips(num_frames)

    def _frame_inds(self, clip_offsets: np.ndarray, total_frames: int) -> np.ndarray:
        """Expand clip offsets to frame indices, jitter them and bring them into range."""
        frame_inds = clip_offsets[:, None] + np.arange(self.clip_len)[None, :] * self.frame_interval
        frame_inds = np.concatenate(frame_inds)
        if self.temporal_jitter:
            frame_inds = frame_inds + np.random.randint(self.frame_interval, size=len(frame_inds))
        frame_inds = frame_inds.reshape((-1, self.clip_len))
        if self.out_of_bound_opt == 'loop':
            return np.mod(frame_inds, total_frames)
        inside = frame_inds < total_frames
        last_inside = np.max(inside * frame_inds, axis=1)
        return inside * frame_inds + ((1 - inside).T * last_inside).T

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total_frames = _total_frames(results, type(self).__name__)
        clip_offsets = self._sample_clips(total_frames)
        frame_inds = self._frame_inds(clip_offsets, total_frames)
        frame_inds = np.concatenate(frame_inds) + results['start_index']
        results['frame_inds'] = frame_inds.astype(np.int64)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, num_clips={self.num_clips}, '
                f'temporal_jitter={self.temporal_jitter}, twice_sample={self.twice_sample}, '
                f'out_of_bound_opt={self.out_of_bound_opt}, test_mode={self.test_mode})')


@PIPELINES.register_module()
class DenseSampleFrames(SampleFrames):
    """Dense sampling: ``num_clips`` clips evenly spaced inside a window of ``sample_range``.

    Train mode draws the window start at random; test mode takes ``num_sample_positions``
    evenly spaced windows (so a sample has ``num_sample_positions * num_clips`` clips while
    ``results['num_clips']`` stays ``num_clips``, as in MMAction2 0.x).

    Required keys: ``total_frames``, ``start_index``.
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval``, ``num_clips``.

    Args:
        clip_len, frame_interval, num_clips, temporal_jitter, twice_sample,
            out_of_bound_opt, test_mode, start_index, keep_tail_frames: as in
            :class:`SampleFrames`.
        sample_range (int): the window, in frames, the clips are spread over.
        num_sample_positions (int): windows in test mode.
    """

    def __init__(self, clip_len: int, frame_interval: int = 1, num_clips: int = 1,
                 sample_range: int = 64, num_sample_positions: int = 10,
                 temporal_jitter: bool = False, twice_sample: bool = False,
                 out_of_bound_opt: str = 'loop', test_mode: bool = False,
                 start_index: None = None, keep_tail_frames: bool = False) -> None:
        super().__init__(clip_len, frame_interval=frame_interval, num_clips=num_clips,
                         temporal_jitter=temporal_jitter, twice_sample=twice_sample,
                         out_of_bound_opt=out_of_bound_opt, test_mode=test_mode,
                         start_index=start_index, keep_tail_frames=keep_tail_frames)
        name = type(self).__name__
        self.sample_range = check_positive_int(name, 'sample_range', sample_range)
        self.num_sample_positions = check_positive_int(name, 'num_sample_positions',
                                                        num_sample_positions)

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        positions = max(1, 1 + num_frames - self.sample_range)
        step = self.sample_range // self.num_clips
        start = 0 if positions == 1 else np.random.randint(0, positions - 1)
        return (np.arange(self.num_clips) * step + start) % num_frames

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        positions = max(1, 1 + num_frames - self.sample_range)
        step = self.sample_range // self.num_clips
        starts = np.linspace(0, positions - 1, num=self.num_sample_positions, dtype=int)
        base = np.arange(self.num_clips) * step
        return np.concatenate([(base + start) % num_frames for start in starts])

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, num_clips={self.num_clips}, '
                f'sample_range={self.sample_range}, '
                f'num_sample_positions={self.num_sample_positions}, '
                f'temporal_jitter={self.temporal_jitter}, '
                f'out_of_bound_opt={self.out_of_bound_opt}, test_mode={self.test_mode})')


@PIPELINES.register_module()
class UntrimmedSampleFrames:
    """Clips of ``clip_len`` frames centred every ``frame_interval`` frames over the video.

    Used to extract features from untrimmed videos; the number of clips depends on the
    video's length.

    Required keys: ``total_frames``, ``start_index``.
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval``, ``num_clips``.

    Args:
        clip_len (int): frames per clip.
        frame_interval (int): distance between clip centres.
        start_index (None): deprecated and ignored; the dataset sets it.
    """

    def __init__(self, clip_len: int = 1, frame_interval: int = 16,
                 start_index: None = None) -> None:
        name = type(self).__name__
        self.clip_len = check_positive_int(name, 'clip_len', clip_len)
        self.frame_interval = check_positive_int(name, 'frame_interval', frame_interval)
        _warn_start_index(start_index, name)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total_frames = _total_frames(results, type(self).__name__)
        centres = np.arange(self.frame_interval // 2, total_frames, self.frame_interval)
        half = self.clip_len // 2
        frame_inds = centres[:, None] + np.arange(-half, self.clip_len - half)[None, :]
        frame_inds = np.clip(frame_inds, 0, total_frames - 1)
        results['frame_inds'] = (frame_inds.reshape(-1) + results['start_index']).astype(np.int64)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = int(centres.shape[0])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval})')


@PIPELINES.register_module()
class UniformSampleFrames:
    """``clip_len`` frames spread evenly over the whole video, one drawn from each of
    ``clip_len`` equal segments (PoseC3D's sampler in MMAction2, usable with any video).

    Videos shorter than ``2 * clip_len`` frames take consecutive frames with gaps inserted at
    random places (or, shorter than ``clip_len``, a run of ``clip_len`` frames from a random
    start that wraps around). Train mode draws from numpy's global generator in MMAction2's
    order and supports one clip; test mode draws ``num_clips`` clips from a generator seeded
    with ``seed`` on every call, so it is deterministic (and, unlike MMAction2, leaves the
    global generator alone while drawing the same indices).

    Required keys: ``total_frames``, ``start_index``.
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval`` (None), ``num_clips``.

    Args:
        clip_len (int): frames per clip.
        num_clips (int): clips per sample (test mode; train mode needs 1).
        test_mode (bool): deterministic sampling with ``seed``.
        seed (int): the seed of test mode.
    """

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False,
                 seed: int = 255) -> None:
        name = type(self).__name__
        self.clip_len = check_positive_int(name, 'clip_len', clip_len)
        self.num_clips = check_positive_int(name, 'num_clips', num_clips)
        if not test_mode and num_clips != 1:
            raise ValueError(f'{name}: train mode samples one clip (num_clips=1), got '
                             f'num_clips={num_clips}; set test_mode=True for several')
        self.test_mode = bool(test_mode)
        self.seed = int(seed)

    def _one_clip(self, num_frames: int, rng: Any) -> np.ndarray:
        clip_len = self.clip_len
        if num_frames < 2 * clip_len:  # every frame or nearly: insert the spare ones as gaps
            gaps = np.zeros(clip_len + 1, dtype=np.int64)
            gaps[rng.choice(clip_len + 1, num_frames - clip_len, replace=False)] = 1
            return np.arange(clip_len) + np.cumsum(gaps)[:-1]
        bounds = np.arange(clip_len + 1) * num_frames // clip_len
        return bounds[:-1] + rng.randint(np.diff(bounds))

    def _short_video(self, num_frames: int, rng: Any) -> np.ndarray:
        if not self.test_mode:
            starts = [rng.randint(0, num_frames)]
        elif num_frames < self.num_clips:
            starts = list(range(self.num_clips))
        else:
            starts = [i * num_frames // self.num_clips for i in range(self.num_clips)]
        return np.concatenate([np.arange(s, s + self.clip_len) for s in starts])

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        num_frames = _total_frames(results, type(self).__name__)
        rng = np.random.RandomState(self.seed) if self.test_mode else np.random
        if num_frames < self.clip_len:
            inds = self._short_video(num_frames, rng)
        else:
            inds = np.concatenate([self._one_clip(num_frames, rng)
                                   for _ in range(self.num_clips)])
        inds = np.mod(inds, num_frames) + results['start_index']
        return write_sampled(results, inds, self.clip_len, None, self.num_clips)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips}, '
                f'test_mode={self.test_mode}, seed={self.seed})')

