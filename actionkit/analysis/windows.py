"""Sliding-window recognition over a stream of frames (the long-video and webcam demos).

A window of ``clip_len x num_clips`` frames (the config's ``SampleFrames``) stands in for the
sampled clip: the test pipeline's sampling and decoding steps are dropped and the rest of it
(resize, crop, normalize, format) runs on the window's frames. :func:`sliding_windows` walks a
frame iterator keeping only the last window, so memory does not grow with the video's length.

Example:
    >>> scorer = WindowScorer(model, model.cfg.data.test.pipeline)       # doctest: +SKIP
    >>> for index, frame, inds, clip in sliding_windows(frames, scorer.window):
    ...     if clip is not None:
    ...         scores = scorer(clip)                                     # doctest: +SKIP
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

from ..utils.checks import check_positive_int
from ..datasets.pipelines.compose import Compose

__all__ = ['window_pipeline', 'WindowScorer', 'sliding_windows']

_DROPPED_SUFFIXES = ('Init', 'Decode', 'SampleFrames')


def window_pipeline(test_pipeline: Sequence[dict]) -> tuple[list[dict], int, int]:
    """Split a test pipeline: ``(the steps after decoding, clip_len, num_clips)``.

    The window replaces the sampling and decoding steps: its frames are the clip.
    """
    sample = [s for s in test_pipeline if str(s.get('type', '')).endswith('SampleFrames')]
    if not sample:
        raise ValueError('the test pipeline has no SampleFrames step; the window length is '
                         'its clip_len x num_clips')
    clip_len, num_clips = int(sample[0].get('clip_len', 1)), int(sample[0].get('num_clips', 1))
    rest = [dict(s) for s in test_pipeline
            if not str(s.get('type', '')).endswith(_DROPPED_SUFFIXES)]
    return rest, clip_len, num_clips


class WindowScorer:
    """Scores a window of frames with a recognizer and the tail of its test pipeline.

    Args:
        model: a recognizer in eval mode (``forward(imgs, return_loss=False)`` gives
            ``[1, num_classes]`` scores).
        test_pipeline: the config's ``data.test.pipeline``; its ``SampleFrames`` sets the
            window length ``clip_len x num_clips`` (attribute ``window``).
    """

    def __init__(self, model: torch.nn.Module, test_pipeline: Sequence[dict]) -> None:
        steps, self.clip_len, self.num_clips = window_pipeline(test_pipeline)
        self.window = self.clip_len * self.num_clips
        self.pipeline = Compose(steps)
        self.model = model
        self.device = next(model.parameters()).device

    def __call__(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """``[num_classes]`` scores of a window of ``[H, W, 3]`` uint8 RGB frames."""
        if len(frames) != self.window:
            raise ValueError(f'expected a window of {self.window} frames (clip_len '
                             f'{self.clip_len} x num_clips {self.num_clips}), got {len(frames)}')
        results = dict(imgs=list(frames), frame_inds=np.arange(len(frames)),
                       clip_len=self.clip_len, num_clips=self.num_clips, frame_interval=1,
                       total_frames=len(frames),
                       original_shape=frames[0].shape[:2], img_shape=frames[0].shape[:2],
                       modality='RGB', start_index=0, label=-1)
        data = self.pipeline(results)
        with torch.inference_mode():
            scores = self.model(data['imgs'][None].to(self.device), return_loss=False)
        return np.asarray(scores)[0]


def sliding_windows(frames: Iterable[np.ndarray], window: int, input_step: int = 1,
                    every: int = 1) -> Iterator[tuple[int, np.ndarray, list[int] | None,
                                                      list[np.ndarray] | None]]:
    """Walk a frame stream, keeping only the last ``window`` sampled frames.

    Yields:
        ``(index, frame, window_indices, window_frames)`` for each frame; the last two are
        set on the frames where the window is to be scored: when it is full, and then every
        ``every`` sampled frames; otherwise ``None``. The window's frames are the very
        arrays of the stream: draw on copies of them.
    """
    for name, value in (('window', window), ('input_step', input_step), ('every', every)):
        check_positive_int(None, name, value)
    buffer: deque[tuple[int, np.ndarray]] = deque(maxlen=window)
    sampled = 0
    for index, frame in enumerate(frames):
        ready = None
        if index % input_step == 0:
            buffer.append((index, frame))
            sampled += 1
            if len(buffer) == window and (sampled - window) % every == 0:
                ready = list(buffer)
        if ready is None:
            yield index, frame, None, None
        else:
            yield index, frame, [i for i, _ in ready], [f for _, f in ready]


