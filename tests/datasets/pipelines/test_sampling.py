"""SampleFrames and friends: MMAction2 0.x's formulas and global-RNG draws, derived by hand."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from actionkit.datasets import PIPELINES
from actionkit.datasets.errors import DataError
from actionkit.datasets.pipelines import (DenseSampleFrames, SampleFrames, UniformSampleFrames,
                                          UntrimmedSampleFrames)


def _sample(sampler, total_frames, start_index=0):
    return sampler(dict(total_frames=total_frames, start_index=start_index))


def _expand(offsets, clip_len, interval):
    return (np.asarray(offsets)[:, None] + np.arange(clip_len)[None] * interval).reshape(-1)


@pytest.mark.parametrize('seed', [0, 1, 123])
def test_train_mode_draws_one_offset_per_segment_from_global_rng(seed):
    # 100 frames, 8 clips of 1: segments of (100 - 1 + 1) // 8 = 12 frames
    np.random.seed(seed)
    expected = np.arange(8) * 12 + np.random.randint(12, size=8)
    np.random.seed(seed)
    out = _sample(SampleFrames(clip_len=1, num_clips=8), 100)
    assert out['frame_inds'].tolist() == expected.tolist()
    assert out['frame_inds'].dtype == np.int64
    assert (out['clip_len'], out['frame_interval'], out['num_clips']) == (1, 1, 8)


def test_train_mode_clips_with_interval_and_start_index():
    # 3 clips of 4 frames, 2 apart: span 8, segments of (50 - 8 + 1) // 3 = 14
    np.random.seed(7)
    offsets = np.arange(3) * 14 + np.random.randint(14, size=3)
    np.random.seed(7)
    out = _sample(SampleFrames(clip_len=4, frame_interval=2, num_clips=3), 50, start_index=1)
    assert out['frame_inds'].tolist() == (_expand(offsets, 4, 2) + 1).tolist()


def test_train_mode_short_video_draws_sorted_offsets():
    # 12 frames, 10 clips of 4: no room for segments, but 12 > max(10, 4)
    np.random.seed(3)
    offsets = np.sort(np.random.randint(12 - 4 + 1, size=10))
    np.random.seed(3)
    out = _sample(SampleFrames(clip_len=4, num_clips=10), 12)
    assert out['frame_inds'].tolist() == np.mod(_expand(offsets, 4, 1), 12).tolist()


def test_train_mode_very_short_video_spreads_clips_evenly_without_rng():
    # 5 frames, 8 clips of 1: ratio 5 / 8, offsets rounded; the RNG is not touched
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    out = _sample(SampleFrames(clip_len=1, num_clips=8), 5)
    assert out['frame_inds'].tolist() == [0, 1, 1, 2, 2, 3, 4, 4]
    assert np.array_equal(np.random.get_state()[1], state)


def test_train_mode_clip_longer_than_video_loops_or_repeats_last():
    out = _sample(SampleFrames(clip_len=6, num_clips=1), 4)
    assert out['frame_inds'].tolist() == [0, 1, 2, 3, 0, 1]
    out = _sample(SampleFrames(clip_len=6, num_clips=1, out_of_bound_opt='repeat_last'), 4)
    assert out['frame_inds'].tolist() == [0, 1, 2, 3, 3, 3]


def test_keep_tail_frames_uses_uniform_draws():
    np.random.seed(5)
    seg = (30 - 2 + 1) / 4.0
    expected = (np.arange(4) * seg + np.random.uniform(0, seg, 4)).astype(int)
    np.random.seed(5)
    out = _sample(SampleFrames(clip_len=2, num_clips=4, keep_tail_frames=True), 30)
    assert out['frame_inds'].tolist() == _expand(expected, 2, 1).tolist()


def test_temporal_jitter_draws_after_the_offsets():
    np.random.seed(11)
    offsets = np.arange(2) * ((40 - 6 + 1) // 2) + np.random.randint((40 - 6 + 1) // 2, size=2)
    inds = _expand(offsets, 3, 2) + np.random.randint(2, size=6)
    np.random.seed(11)
    out = _sample(SampleFrames(clip_len=3, frame_interval=2, num_clips=2,
                               temporal_jitter=True), 40)
    assert out['frame_inds'].tolist() == np.mod(inds, 40).tolist()


def test_test_mode_takes_segment_middles_deterministically():
    sampler = SampleFrames(clip_len=1, num_clips=8, test_mode=True)
    # 300 frames: segments of 37.5, middles at 37.5 * i + 18.75
    expected = [int(37.5 * i + 18.75) for i in range(8)]
    assert _sample(sampler, 300)['frame_inds'].tolist() == expected
    assert _sample(sampler, 300)['frame_inds'].tolist() == expected


def test_test_mode_i3d_clip_is_centred():
    out = _sample(SampleFrames(clip_len=32, frame_interval=2, num_clips=1, test_mode=True), 280)
    start = int((280 - 64 + 1) / 2)  # 108
    assert out['frame_inds'].tolist() == list(range(start, start + 64, 2))


def test_twice_sample_adds_unshifted_starts():
    out = _sample(SampleFrames(clip_len=1, num_clips=2, twice_sample=True, test_mode=True), 10)
    assert out['frame_inds'].tolist() == [2, 7, 0, 5]


def test_repeat_last_replaces_out_of_range_indices_by_the_last_valid_one():
    sampler = SampleFrames(clip_len=4, frame_interval=3, num_clips=1, test_mode=True,
                           out_of_bound_opt='repeat_last')
    # 8 frames, span 12 > 8: offset 0, inds 0 3 6 9 -> 9 is out of range
    assert _sample(sampler, 8)['frame_inds'].tolist() == [0, 3, 6, 6]
    looped = SampleFrames(clip_len=4, frame_interval=3, num_clips=1, test_mode=True)
    assert _sample(looped, 8)['frame_inds'].tolist() == [0, 3, 6, 1]


def test_dense_sample_frames_train_and_test():
    np.random.seed(2)
    start = np.random.randint(0, (1 + 200 - 64) - 1)
    np.random.seed(2)
    out = _sample(DenseSampleFrames(clip_len=2, num_clips=4), 200)
    offsets = (np.arange(4) * 16 + start) % 200
    assert out['frame_inds'].tolist() == _expand(offsets, 2, 1).tolist()
    out = _sample(DenseSampleFrames(clip_len=1, num_clips=2, num_sample_positions=3,
                                    test_mode=True), 100)
    # positions 0, 18, 36 (linspace over 0..36), clips 32 apart
    assert out['frame_inds'].tolist() == [0, 32, 18, 50, 36, 68]
    assert out['num_clips'] == 2


def test_untrimmed_sample_frames_centres_clips_every_interval():
    # 36 frames: centres 5, 15, 25, 35; the last clip (34, 35, 36) is clipped to frame 35
    out = _sample(UntrimmedSampleFrames(clip_len=3, frame_interval=10), 36, start_index=1)
    assert out['frame_inds'].tolist() == [5, 6, 7, 15, 16, 17, 25, 26, 27, 35, 36, 36]
    assert out['num_clips'] == 4


def test_built_from_config_and_repr():
    sampler = PIPELINES.build(dict(type='SampleFrames', clip_len=32, frame_interval=2,
                                   num_clips=1, test_mode=True))
    assert isinstance(sampler, SampleFrames)
    assert 'clip_len=32' in repr(sampler) and 'test_mode=True' in repr(sampler)


@pytest.mark.parametrize('kwargs, match', [
    (dict(clip_len=0), 'clip_len'),
    (dict(clip_len=1, frame_interval=0), 'frame_interval'),
    (dict(clip_len=1, num_clips=1.5), 'num_clips'),
    (dict(clip_len=1, out_of_bound_opt='clamp'), "'loop', 'repeat_last'"),
])
def test_invalid_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SampleFrames(**kwargs)


def test_deprecated_start_index_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match='start_index'):
        sampler = SampleFrames(clip_len=1, num_clips=2, test_mode=True, start_index=5)
    assert _sample(sampler, 10)['frame_inds'].tolist() == [2, 7]


def test_missing_keys_and_empty_videos_are_reported():
    with pytest.raises(KeyError, match='start_index'):
        SampleFrames(clip_len=1)(dict(total_frames=10))
    with pytest.raises(DataError, match='clip.mp4'):
        SampleFrames(clip_len=1)(dict(total_frames=0, start_index=0, filename='clip.mp4'))


# ------------------------------------------------------------------ UniformSampleFrames
def test_uniform_sampling_train_draws_one_frame_per_segment():
    # 100 frames, 8 segments: bounds i * 100 // 8 = 0, 12, 25, 37, 50, 62, 75, 87, 100
    bounds = np.arange(9) * 100 // 8
    np.random.seed(3)
    expected = bounds[:-1] + np.random.randint(np.diff(bounds))
    np.random.seed(3)
    out = _sample(UniformSampleFrames(clip_len=8), 100, start_index=1)
    assert out['frame_inds'].tolist() == (expected + 1).tolist()
    assert (out['clip_len'], out['frame_interval'], out['num_clips']) == (8, None, 1)


def test_uniform_sampling_between_one_and_two_clip_lengths_inserts_gaps():
    # 12 frames for 8: all but 4 frames are consecutive; 4 gaps of one frame, no repeats
    out = _sample(UniformSampleFrames(clip_len=8), 12)
    inds = out['frame_inds']
    assert len(inds) == 8 and len(set(inds.tolist())) == 8
    assert inds.min() >= 0 and inds.max() <= 11 and np.all(np.diff(inds) >= 1)
    assert np.diff(inds).sum() <= 11


def test_uniform_sampling_short_video_wraps_around():
    out = _sample(UniformSampleFrames(clip_len=8, num_clips=2, test_mode=True), 5)
    # starts 0 and 5 // 2 = 2, each a run of 8 frames taken modulo 5
    assert out['frame_inds'].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 2, 3, 4, 0, 1, 2, 3, 4]


def test_uniform_sampling_test_mode_is_seeded_and_leaves_the_global_rng_alone():
    sampler = UniformSampleFrames(clip_len=4, num_clips=3, test_mode=True, seed=7)
    np.random.seed(0)
    first = _sample(sampler, 40)['frame_inds']
    after = np.random.rand()
    np.random.seed(0)
    assert after == np.random.rand()  # our draws came from the sampler's own generator
    assert _sample(sampler, 40)['frame_inds'].tolist() == first.tolist()
    rng = np.random.RandomState(7)
    bounds = np.arange(5) * 40 // 4
    expected = np.concatenate([bounds[:-1] + rng.randint(np.diff(bounds)) for _ in range(3)])
    assert first.tolist() == expected.tolist()
    assert UniformSampleFrames(4, 3, True, seed=8)(dict(total_frames=40, start_index=0))[
        'frame_inds'].tolist() != first.tolist()


def test_uniform_sampling_train_mode_takes_one_clip():
    with pytest.raises(ValueError, match='num_clips=1'):
        UniformSampleFrames(clip_len=8, num_clips=2)


@pytest.mark.parametrize('sampler', [SampleFrames, DenseSampleFrames, UntrimmedSampleFrames])
def test_start_index_argument_gives_mmaction2_deprecation_warning(sampler):
    kwargs = dict(clip_len=2) if sampler is not UntrimmedSampleFrames else {}
    with pytest.warns(UserWarning, match=r'"start_index".*dataset.*mmaction2/pull/89'):
        step = sampler(**kwargs, start_index=5)
    np.random.seed(0)
    out = _sample(step, 40, start_index=0)
    np.random.seed(0)
    plain = _sample(sampler(**kwargs), 40, start_index=0)
    # the argument is ignored: results['start_index'] alone shifts the indices
    np.testing.assert_array_equal(out['frame_inds'], plain['frame_inds'])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        sampler(**kwargs)  # no warning without it
