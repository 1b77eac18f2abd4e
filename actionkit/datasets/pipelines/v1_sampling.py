"""MMAction2 1.x's frame samplers: ``UniformSample`` (new in 1.x) and 1.x's ``SampleFrames``.

1.x changed ``SampleFrames`` in test mode for clips of several frames: the ``num_clips``
clips are spread from the first frame to the last start ``total_frames - span`` (where
``span = (clip_len - 1) * frame_interval + 1``), rounded, instead of 0.x's middle of each
segment; and it gained ``target_fps`` (resample a clip to a frame rate, with the video's
``avg_fps``). In a 1.x pipeline ``SampleFrames`` is therefore :class:`V1SampleFrames`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...utils.checks import check_positive_int
from ..builder import PIPELINES
from .compose import register_v1_variant
from .sampling import SampleFrames, _total_frames, write_sampled

__all__ = ['UniformSample', 'V1SampleFrames']


@PIPELINES.register_module()
class UniformSample:
    """Cut the video into ``clip_len`` equal segments and take one frame of each
    (MMAction2 1.x's sampler of the UniFormer / UniFormerV2 / MViT configs).

    The segments of ``total_frames - 1`` frames have rounded bounds. Train mode draws one
    frame of each at random (bounds included, numpy's global generator); test mode takes
    ``num_clips`` clips, clip ``k`` at ``int(seg_size * (k + 1) / (num_clips + 1))`` past each
    segment's rounded start.

    Required keys: ``total_frames``, ``start_index``.
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval`` (None), ``num_clips``.

    Args:
        clip_len (int): frames per clip.
        num_clips (int): clips per sample (test mode).
        test_mode (bool): deterministic sampling.
    """

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False) -> None:
        self.clip_len = check_positive_int('UniformSample', 'clip_len', clip_len)
        self.num_clips = check_positive_int('UniformSample', 'num_clips', num_clips)
        self.test_mode = bool(test_mode)

    def _indices(self, num_frames: int) -> np.ndarray:
        seg_size = float(num_frames - 1) / self.clip_len
        starts = np.round(seg_size * np.arange(self.clip_len + 1)).astype(np.int64)
        if not self.test_mode:
            return np.array([np.random.randint(starts[i], starts[i + 1] + 1)
                             for i in range(self.clip_len)], dtype=np.int64)
        duration = seg_size / (self.num_clips + 1)
        shifts = [int(duration * (k + 1)) for k in range(self.num_clips)]
        return np.concatenate([starts[:-1] + shift for shift in shifts])

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        num_frames = _total_frames(results, type(self).__name__)
        return write_sampled(results, self._indices(num_frames) + results['start_index'],
                             self.clip_len, None, self.num_clips)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips}, '
                f'test_mode={self.test_mode})')


@register_v1_variant('SampleFrames')
class V1SampleFrames(SampleFrames):
    """``SampleFrames`` as MMAction2 1.x defines it (in a 1.x pipeline); see the module text.

    Args:
        clip_len, frame_interval, num_clips, temporal_jitter, twice_sample,
        out_of_bound_opt, test_mode, keep_tail_frames: as in
            :class:`~.sampling.SampleFrames`.
        target_fps (int | None): sample as if the video ran at this frame rate: a clip spans
            ``clip_len * frame_interval * avg_fps / target_fps`` frames (at least 1), of which
            ``clip_len`` evenly spaced ones are taken. Needs ``avg_fps`` from the decoder's
            init step; without it the rate is left as it is.
    """

    def __init__(self, clip_len: int, frame_interval: int = 1, num_clips: int = 1,
                 temporal_jitter: bool = False, twice_sample: bool = False,
                 out_of_bound_opt: str = 'loop', test_mode: bool = False,
                 keep_tail_frames: bool = False, target_fps: int | None = None) -> None:
        super().__init__(clip_len, frame_interval, num_clips, temporal_jitter, twice_sample,
                         out_of_bound_opt, test_mode, keep_tail_frames=keep_tail_frames)
        if target_fps is not None:
            check_positive_int('SampleFrames', 'target_fps', target_fps)
        if test_mode and twice_sample and num_clips == 1 and clip_len > 1:
            raise ValueError('SampleFrames (MMAction2 1.x): twice_sample with num_clips=1 and '
                             'clip_len > 1 is undefined in 1.x (it divides by num_clips - 1)')
        self.target_fps = target_fps
        self._span = 0.0  # the clip's span in frames, set per call

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        if self.target_fps is None:
            return super()._get_train_clips(num_frames)
        saved = self.clip_len, self.frame_interval
        try:  # the 0.x rule, with the resampled span in place of clip_len * frame_interval
            self.clip_len, self.frame_interval = 1, self._span
            return np.asarray(super()._get_train_clips(num_frames)).astype(np.int64)
        finally:
            self.clip_len, self.frame_interval = saved

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        if self.clip_len == 1:  # the segments' middles (and starts), of all the frames
            seg_len = num_frames / float(self.num_clips)
            starts = np.arange(self.num_clips) * seg_len
            offsets = starts + seg_len / 2.0
            if self.twice_sample:
                offsets = np.concatenate([offsets, starts])
            return offsets.astype(np.int64)
        max_offset = max(num_frames - self._span, 0)
        num_clips = self.num_clips * (2 if self.twice_sample else 1)
        if num_clips == 1:
            return np.array([max_offset // 2])
        between = max_offset / float(self.num_clips - 1)
        if self.target_fps is not None:
            return np.arange(num_clips) * np.floor(between)
        return np.round(np.arange(num_clips) * between)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        fps = results.get('avg_fps')
        if self.target_fps is not None:
            ratio = fps / self.target_fps if fps else 1.0
            self._span = max(1.0, self.clip_len * self.frame_interval * ratio)
        elif self.test_mode:
            self._span = (self.clip_len - 1) * self.frame_interval + 1
        else:
            self._span = self.clip_len * self.frame_interval
        if self.target_fps is None:
            return super().__call__(results)
        total_frames = _total_frames(results, 'SampleFrames')
        offsets = np.asarray(self._sample_clips(total_frames))
        steps = np.linspace(0, self._span - 1, self.clip_len).astype(np.int64)
        frame_inds = (offsets[:, None] + steps[None, :]).astype(np.int64)
        if self.out_of_bound_opt == 'loop':
            frame_inds = np.mod(frame_inds, total_frames)
        else:
            inside = frame_inds < total_frames
            last = np.max(inside * frame_inds, axis=1)
            frame_inds = inside * frame_inds + ((1 - inside).T * last).T
        return write_sampled(results, frame_inds.reshape(-1) + results['start_index'],
                             self.clip_len, self.frame_interval, self.num_clips)
