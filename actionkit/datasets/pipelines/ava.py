"""Spatio-temporal detection (AVA) steps: key-frame clip sampling and box scaling.

The other steps an AVA pipeline names already handle boxes: ``Resize``/``RandomRescale``,
the crops and ``Flip`` move ``gt_bboxes`` and ``proposals``; ``ToDataContainer(fields=[dict(
key=[...], stack=False)])`` keeps each sample's box arrays apart in the batch (a list, since
key frames hold different numbers of boxes).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..builder import PIPELINES
from ...utils.checks import check_positive_int

__all__ = ['SampleAVAFrames', 'boxes_to_pixels']


@PIPELINES.register_module()
class SampleAVAFrames:
    """Sample one clip of ``clip_len`` frames, ``frame_interval`` apart, around a key frame.

    The key frame of second ``timestamp`` is frame ``fps * (timestamp - timestamp_start) + 1``
    of the video's annotated span; the clip takes ``clip_len // 2`` steps before it and
    ``(clip_len + 1) // 2`` from it on. In train mode each index moves by a random offset,
    ``np.random.randint(-frame_interval // 2, (frame_interval + 1) // 2)`` (drawn in
    test mode too, unused, so a seeded run matches MMAction2). Indices are clipped to
    ``[shot_info[0], shot_info[1] - 1]``, then ``start_index`` is added.

    Required keys: ``fps``, ``timestamp``, ``timestamp_start``, ``shot_info``.
    Optional keys: ``start_index`` (0).
    Added keys: ``frame_inds``, ``clip_len``, ``frame_interval``, ``num_clips``, ``crop_quadruple``.

    Args:
        clip_len (int): frames in the clip.
        frame_interval (int): step between frames.
        test_mode (bool): no random offsets.
    """

    def __init__(self, clip_len: int, frame_interval: int = 2, test_mode: bool = False) -> None:
        name = type(self).__name__
        self.clip_len = check_positive_int(name, 'clip_len', clip_len)
        self.frame_interval = check_positive_int(name, 'frame_interval', frame_interval)
        self.test_mode = bool(test_mode)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in ('fps', 'timestamp', 'timestamp_start', 'shot_info')
                   if k not in results]
        if missing:
            raise KeyError(f'SampleAVAFrames needs results{missing}; got keys {sorted(results)}')
        center = results['fps'] * (results['timestamp'] - results['timestamp_start']) + 1
        step = self.frame_interval
        offsets = np.random.randint(-step // 2, (step + 1) // 2, size=self.clip_len)
        inds = np.arange(center - (self.clip_len // 2) * step,
                         center + ((self.clip_len + 1) // 2) * step, step)
        if not self.test_mode:
            inds = inds + offsets
        first, end = results['shot_info']
        inds = np.clip(inds, first, end - 1).astype(np.int64)
        results['frame_inds'] = inds + results.get('start_index', 0)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = 1
        results['crop_quadruple'] = np.array([0, 0, 1, 1], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'frame_interval={self.frame_interval}, test_mode={self.test_mode})')


def boxes_to_pixels(results: dict[str, Any]) -> None:
    """Scale normalised ``gt_bboxes`` (and ``proposals``) by ``img_shape`` to float32 pixels.

    What MMAction2's ``RawFrameDecode`` does after reading an AVA clip; a no-op without
    ``gt_bboxes``.
    """
    if 'gt_bboxes' not in results:
        return
    h, w = results['img_shape']
    scale = np.array([w, h, w, h])
    results['gt_bboxes'] = (results['gt_bboxes'] * scale).astype(np.float32)
    if results.get('proposals') is not None:
        results['proposals'] = (results['proposals'] * scale).astype(np.float32)
