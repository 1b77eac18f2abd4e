"""Tests of single-file video reading, writing and conversion
(actionkit/datasets/prep/video_io.py)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from actionkit.datasets.errors import DecodeError
from actionkit.datasets.prep.video_io import (VideoWriter, extract_frames, iter_video_frames,
                                      read_video, resize_short_side, resize_video, scaled_size,
                                      video_info, write_video)

SHARED = Path(__file__).resolve().parents[3] / '..' / 'shared' / 'data' / 'mmaction2'


def _ramp(frames: int = 5, height: int = 16, width: int = 24) -> np.ndarray:
    values = (np.arange(frames)[:, None, None, None] * 50
              + np.arange(width)[None, None, :, None] * 4)
    return np.broadcast_to(values, (frames, height, width, 3)).astype(np.uint8)


def test_write_read_roundtrip(tmp_path):
    clip = _ramp()
    assert write_video(tmp_path / 'a.mp4', iter(clip), fps=Fraction(30000, 1001), gop=2) == 5
    decoded = read_video(tmp_path / 'a.mp4')
    assert decoded.shape == clip.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - clip).mean() < 3
    info = video_info(tmp_path / 'a.mp4')
    assert (info['width'], info['height'], info['num_frames']) == (24, 16, 5)
    assert info['fps'] == Fraction(30000, 1001)
    times = [t for _, t in iter_video_frames(tmp_path / 'a.mp4')]
    np.testing.assert_allclose(times, np.arange(5) * 1001 / 30000, atol=1e-6)


def test_video_writer_validates(tmp_path):
    with pytest.raises(ValueError, match='even'):
        VideoWriter(tmp_path / 'x.mp4', 15, 16)
    with pytest.raises(ValueError, match='gop'):
        VideoWriter(tmp_path / 'x.mp4', 16, 16, gop=0)
    with pytest.raises(ValueError, match='fps'):
        VideoWriter(tmp_path / 'x.mp4', 16, 16, fps=0)
    with pytest.raises(ValueError, match='crf'):
        VideoWriter(tmp_path / 'x.mp4', 16, 16, crf=60)
    with VideoWriter(tmp_path / 'y.mp4', 16, 16) as writer:
        with pytest.raises(ValueError, match=r'frame 0 .*\(16, 16, 3\)'):
            writer.write(np.zeros((16, 18, 3), np.uint8))
        writer.write(np.zeros((16, 16, 3), np.uint8))
    assert writer.num_frames == 1 and read_video(tmp_path / 'y.mp4').shape == (1, 16, 16, 3)


def test_mpeg4_avi(tmp_path):
    write_video(tmp_path / 'a.avi', _ramp(), codec='mpeg4', gop=3)
    assert read_video(tmp_path / 'a.avi').shape == (5, 16, 24, 3)


def test_unreadable_inputs_raise_decode_error(tmp_path):
    with pytest.raises(DecodeError, match='not found') as info:
        read_video(tmp_path / 'missing.mp4')
    assert info.value.path.endswith('missing.mp4')
    (tmp_path / 'junk.mp4').write_bytes(b'not a video at all' * 20)
    with pytest.raises(DecodeError, match='junk.mp4'):
        read_video(tmp_path / 'junk.mp4')
    with pytest.raises(DecodeError, match='junk.mp4'):
        extract_frames(tmp_path / 'junk.mp4', tmp_path / 'frames')
    with pytest.raises(DecodeError, match='junk.mp4'):
        resize_video(tmp_path / 'junk.mp4', tmp_path / 'out.mp4')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['junk.mp4']  # nothing half-written


def test_scaled_size_and_resize():
    assert scaled_size(340, 256, 128) == (170, 128)
    assert scaled_size(256, 340, 128) == (128, 170)
    assert scaled_size(341, 257, 128, even=True) == (170, 128)
    with pytest.raises(ValueError, match='new_short'):
        scaled_size(10, 10, 0)
    image = np.zeros((20, 30, 3), np.uint8)
    assert resize_short_side(image, 10).shape == (10, 15, 3)
    assert resize_short_side(image, 40).shape == (40, 60, 3)
    assert resize_short_side(image, 20) is image


def test_extract_frames_replaces_atomically(tmp_path):
    write_video(tmp_path / 'a.mp4', _ramp(frames=3))
    target = tmp_path / 'frames'
    target.mkdir()
    (target / 'img_00009.jpg').write_bytes(b'stale')
    assert extract_frames(tmp_path / 'a.mp4', target, new_short=8) == 3
    assert sorted(p.name for p in target.iterdir()) == ['img_00001.jpg', 'img_00002.jpg',
                                                        'img_00003.jpg']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.mp4', 'frames']


@pytest.mark.skipif(not SHARED.is_dir(), reason=f'shared test media not found at {SHARED}')
def test_real_media():
    """Real files from MMAction2's tests: an MPEG-4 Part 2 AVI and an H.264 mp4."""
    avi = read_video(SHARED / 'tests' / 'data' / 'test.avi')
    assert avi.shape[0] == 164 and avi.shape[-1] == 3
    info = video_info(SHARED / 'tests' / 'data' / 'test.mp4')
    assert info['num_frames'] == 300 and info['fps'] and info['width'] > 0


def test_odd_sizes_need_only_x264_to_be_even_and_outputs_are_not_private(tmp_path):
    import os
    import stat

    clip = _ramp(height=15, width=23)  # e.g. 455x256-style sizes after a short-side resize
    write_video(tmp_path / 'odd.mp4', clip, codec='mpeg4')
    assert read_video(tmp_path / 'odd.mp4').shape == clip.shape
    umask = os.umask(0o022)
    try:
        write_video(tmp_path / 'shared.mp4', _ramp())
        extract_frames(tmp_path / 'shared.mp4', tmp_path / 'frames')
    finally:
        os.umask(umask)
    # temporary files are private (0600/0700); what they are renamed to must not stay so
    assert stat.S_IMODE((tmp_path / 'shared.mp4').stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / 'frames').stat().st_mode) == 0o755
