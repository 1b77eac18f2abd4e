"""SampleFrames at the boundaries of its formulas.

The lengths are chosen so that every plausible off-by-one gives different indices: a segment
length of ``(N - span) // k`` or ``(N - span + 2) // k`` instead of ``(N - span + 1) // k``, a
span of ``(clip_len - 1) * frame_interval + 1`` instead of ``clip_len * frame_interval``,
``randint(seg + 1)``, ``>=`` for ``>`` in the branch conditions, ``<=`` for ``<`` in
``repeat_last``, ``start_index`` added before the wrap-around. Every expected value is worked out
by hand in the comments (MMAction2 0.24.1's ``SampleFrames``); random branches are checked by
the exact set of offsets each clip takes over many draws.
"""
from __future__ import annotations

import numpy as np
import pytest

from actionkit.datasets.pipelines import SampleFrames


def _inds(sampler, total_frames, start_index=0):
    return sampler(dict(total_frames=total_frames, start_index=start_index))['frame_inds']


def _offset_ranges(sampler, total_frames, draws=600):
    """(lowest, highest) start offset of each clip over ``draws`` seeded draws."""
    np.random.seed(0)
    starts = np.stack([_inds(sampler, total_frames).reshape(sampler.num_clips, -1)[:, 0]
                       for _ in range(draws)])
    return [(int(lo), int(hi)) for lo, hi in zip(starts.min(0), starts.max(0))], starts


@pytest.mark.parametrize('total, clip_len, interval, num_clips, expected', [
    # N=10, span 3: (10 - 3 + 1) // 4 = 2 -> clip i starts in [2i, 2i + 1]
    # ((10 - 3) // 4 = 1 would give [i, i]; randint(seg + 1) would reach 2i + 2)
    (10, 3, 1, 4, [(0, 1), (2, 3), (4, 5), (6, 7)]),
    # N=13: (13 - 3 + 1) // 4 = 2 as well ((13 - 3 + 2) // 4 = 3 would give [3i, 3i + 2])
    (13, 3, 1, 4, [(0, 1), (2, 3), (4, 5), (6, 7)]),
    # span 3 * 2 = 6: (20 - 6 + 1) // 4 = 3 (a span of 2 * 2 + 1 = 5 would give 16 // 4 = 4)
    (20, 3, 2, 4, [(0, 2), (3, 5), (6, 8), (9, 11)]),
])
def test_train_segments_cover_exactly_their_frames(total, clip_len, interval, num_clips,
                                                   expected):
    sampler = SampleFrames(clip_len=clip_len, frame_interval=interval, num_clips=num_clips)
    ranges, starts = _offset_ranges(sampler, total)
    assert ranges == expected
    np.random.seed(1)
    inds = _inds(sampler, total).reshape(num_clips, clip_len)
    assert (np.diff(inds, axis=1) == interval).all()  # no clip here reaches the end: no wrap


def test_train_segment_of_one_frame_is_deterministic():
    # N=6, span 3, 4 clips: (6 - 3 + 1) // 4 = 1 -> starts 0 1 2 3 for every seed
    # (a `seg_len > 1` condition would fall through to the random sorted branch)
    sampler = SampleFrames(clip_len=3, num_clips=4)
    for seed in range(20):
        np.random.seed(seed)
        assert _inds(sampler, 6).tolist() == [0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5]


def test_train_short_video_draws_sorted_starts_up_to_the_last_fitting_one():
    # N=12, span 4, 10 clips: 9 // 10 = 0 but 12 > max(10, 4): sorted randint(12 - 4 + 1)
    sampler = SampleFrames(clip_len=4, num_clips=10)
    ranges, starts = _offset_ranges(sampler, 12)
    assert set(starts.reshape(-1).tolist()) == set(range(9))  # 8 is reachable, 9 is not
    assert (np.diff(starts, axis=1) >= 0).all()


def test_train_video_as_long_as_the_clip_count_is_spread_without_rng():
    # N=10, span 2, 10 clips: 9 // 10 = 0 and 10 > max(10, 2) is false (equal): the evenly
    # spread branch, ratio (10 - 2 + 1) / 10 = 0.9 -> around(0, .9, 1.8, 2.7, 3.6, 4.5, 5.4,
    # 6.3, 7.2, 8.1) = 0 1 2 3 4 4 5 6 7 8 (4.5 rounds to even); `>=` would draw at random
    sampler = SampleFrames(clip_len=2, num_clips=10)
    for seed in range(5):
        np.random.seed(seed)
        inds = _inds(sampler, 10).reshape(10, 2)
        assert inds[:, 0].tolist() == [0, 1, 2, 3, 4, 4, 5, 6, 7, 8]
        assert inds[:, 1].tolist() == [1, 2, 3, 4, 5, 5, 6, 7, 8, 9]


def test_keep_tail_frames_segments_are_fractional():
    # N=11, span 2, 4 clips: seg (11 - 2 + 1) / 4 = 2.5: starts int(2.5 i + U[0, 2.5))
    # -> [0, 2], [2, 4], [5, 7], [7, 9] ((11 - 2) / 4 = 2.25 would end the last at 8)
    sampler = SampleFrames(clip_len=2, num_clips=4, keep_tail_frames=True)
    assert _offset_ranges(sampler, 11)[0] == [(0, 2), (2, 4), (5, 7), (7, 9)]


@pytest.mark.parametrize('total, clip_len, interval, num_clips, twice, expected', [
    # seg (10 - 1 + 1) / 4 = 2.5, middles 1.25 3.75 6.25 8.75 -> 1 3 6 8
    # ((10 - 1) / 4 = 2.25 gives 1 3 5 7; (10 - 1 + 2) / 4 = 2.75 gives 1 4 6 9)
    (10, 1, 1, 4, False, [1, 3, 6, 8]),
    # twice_sample adds the segment starts 0 2.5 5 7.5 -> 0 2 5 7
    (10, 1, 1, 4, True, [1, 3, 6, 8, 0, 2, 5, 7]),
    # span 3 * 2 = 6: seg (20 - 6 + 1) / 3 = 5, middles 2.5 7.5 12.5 -> 2 7 12, frames 2 apart
    # (a span of 5 gives seg 16 / 3 and starts 2 8 13)
    (20, 3, 2, 3, False, [2, 4, 6, 7, 9, 11, 12, 14, 16]),
    (20, 3, 2, 3, True, [2, 4, 6, 7, 9, 11, 12, 14, 16, 0, 2, 4, 5, 7, 9, 10, 12, 14]),
])
def test_test_mode_takes_the_middle_of_fractional_segments(total, clip_len, interval,
                                                           num_clips, twice, expected):
    sampler = SampleFrames(clip_len=clip_len, frame_interval=interval, num_clips=num_clips,
                           twice_sample=twice, test_mode=True)
    assert _inds(sampler, total).tolist() == expected


@pytest.mark.parametrize('total, start_index, opt, expected', [
    # span 12 > 9: one clip at 0, frames 0 3 6 9; frame 9 == N is already out of range
    (9, 0, 'repeat_last', [0, 3, 6, 6]),
    (9, 0, 'loop', [0, 3, 6, 0]),
    # N=5: 0 3 6 9 -> loop 0 3 1 4, then + start_index 1 -> 1 4 2 5 (adding the start index
    # before wrapping would give 1 4 2 0); repeat_last keeps 3 -> 1 4 4 4
    (5, 1, 'loop', [1, 4, 2, 5]),
    (5, 1, 'repeat_last', [1, 4, 4, 4]),
])
def test_out_of_bound_frames_at_the_exact_end(total, start_index, opt, expected):
    for test_mode in (True, False):
        sampler = SampleFrames(clip_len=4, frame_interval=3, num_clips=1, test_mode=test_mode,
                               out_of_bound_opt=opt)
        np.random.seed(0)
        assert _inds(sampler, total, start_index).tolist() == expected
