"""Tests of tools/data/build_videos.py and actionkit/datasets/prep/build_videos.py."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from actionkit.datasets.prep.build_videos import (build_video, build_videos_batch,
                                                 find_frame_sequence)
from actionkit.datasets.prep.video_io import read_video, video_info

REPO = Path(__file__).resolve().parents[2]
SHARED_IMGS = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'tests' / 'data' / 'imgs'
HEIGHT, WIDTH = 32, 48


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        '_build_videos', REPO / 'tools' / 'data' / 'build_videos.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _frames(num: int, seed: int) -> np.ndarray:
    """Smooth RGB gradients whose brightness steps by 30 per frame (codec-friendly)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    colour = rng.integers(20, 80, size=3)
    base = (xs[..., None] * 1.5 + ys[..., None] + colour).astype(float)
    clip = base[None] + 30 * np.arange(num)[:, None, None, None]
    return np.clip(clip, 0, 255).astype(np.uint8)


def _write_frames(folder: Path, clip: np.ndarray, first: int = 1, tmpl: str = 'img_{:05d}',
                  ext: str = 'jpg') -> None:
    folder.mkdir(parents=True)
    for i, frame in enumerate(clip):
        cv2.imwrite(str(folder / f'{tmpl.format(first + i)}.{ext}'),
                    cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def _read_back(folder: Path, ext: str = 'jpg') -> np.ndarray:
    paths = sorted(folder.glob(f'*.{ext}'))
    return np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths])


@pytest.fixture
def frame_tree(tmp_path: Path) -> Path:
    """``rawframes/{jump,run}/<video>/img_0000N.jpg`` (6 and 4 frames) and an empty folder."""
    root = tmp_path / 'rawframes'
    _write_frames(root / 'jump' / 'v0', _frames(6, 0))
    _write_frames(root / 'run' / 'v1', _frames(4, 1))
    (root / 'run' / 'empty').mkdir()
    return root


def test_videos_decode_back_to_the_frames(frame_tree, tmp_path, capsys):
    out = tmp_path / 'videos'
    status = load_tool().main([str(frame_tree), str(out), '--fps', '25', '--num-worker', '1'])
    assert status == 1, 'the empty folder is a failure'
    printed = capsys.readouterr().out
    assert '2 done' in printed and 'FAILED run/empty' in printed and 'no frames' in printed
    for rel, num in (('jump/v0', 6), ('run/v1', 4)):
        video = out / f'{rel}.mp4'
        decoded = read_video(video).astype(int)
        source = _read_back(frame_tree / rel).astype(int)
        assert decoded.shape == source.shape == (num, HEIGHT, WIDTH, 3)
        assert np.abs(decoded - source).mean() < 4, rel   # mpeg4 at 4 Mbit/s
        assert video_info(video)['fps'] == 25
    assert not (out / 'run' / 'empty.mp4').exists()


def test_resume_skips_existing_and_h264_avi(frame_tree, tmp_path):
    out = tmp_path / 'videos'
    kwargs = dict(level=2, vcodec='libx264', ext='avi', num_workers=1)
    first = build_videos_batch(frame_tree, out, **kwargs)
    assert first.done == ['jump/v0', 'run/v1'] and [f for f, _ in first.failed] == ['run/empty']
    stamp = (out / 'jump' / 'v0.avi').stat().st_mtime_ns
    again = build_videos_batch(frame_tree, out, resume=True, **kwargs)
    assert again.skipped == ['jump/v0', 'run/v1'] and not again.done
    assert (out / 'jump' / 'v0.avi').stat().st_mtime_ns == stamp
    decoded = read_video(out / 'run' / 'v1.avi').astype(int)
    assert np.abs(decoded - _read_back(frame_tree / 'run' / 'v1').astype(int)).mean() < 4


def test_frame_sequence_follows_ffmpeg_start_rule(tmp_path):
    clip = _frames(5, 2)
    folder = tmp_path / 'v'
    _write_frames(folder, clip, first=3, tmpl='frame{:03d}', ext='png')
    (folder / 'frame009.png').write_bytes((folder / 'frame003.png').read_bytes())  # after a gap
    names = [p.name for p in find_frame_sequence(folder, 'frame%03d', 'png', start_idx=0)]
    assert names == ['frame003.png', 'frame004.png', 'frame005.png', 'frame006.png',
                     'frame007.png']
    assert find_frame_sequence(folder, 'frame%03d', 'png', start_idx=5)[0].name == 'frame005.png'
    assert find_frame_sequence(folder, 'img_%05d', 'png') == []
    # PNG is lossless: only the codec's error remains
    assert build_video(folder, tmp_path / 'v.mp4', in_format='png', start_idx=0,
                       filename_tmpl='frame%03d', vcodec='libx264') == 5
    assert np.abs(read_video(tmp_path / 'v.mp4').astype(int) - clip.astype(int)).mean() < 3


def test_level_one_and_bad_arguments(tmp_path):
    src = tmp_path / 'frames'
    _write_frames(src / 'a', _frames(3, 3))
    report = build_videos_batch(src, tmp_path / 'out', level=1)
    assert report.done == ['a'] and read_video(tmp_path / 'out' / 'a.mp4').shape[0] == 3
    with pytest.raises(ValueError, match='filename_tmpl'):
        build_videos_batch(src, tmp_path / 'out', level=1, filename_tmpl='img_{:05d}')
    with pytest.raises(ValueError, match='ext must be one of'):
        build_videos_batch(src, tmp_path / 'out', ext='mkv')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        build_videos_batch(tmp_path / 'nowhere', tmp_path / 'out')


@pytest.mark.skipif(not SHARED_IMGS.is_dir(), reason=f'shared test data not found: {SHARED_IMGS}')
def test_real_rawframes(tmp_path):
    """MMAction2's 10-frame rawframe folder (340x256 JPEGs) with the default options."""
    target = tmp_path / 'imgs.mp4'
    assert build_video(SHARED_IMGS, target) == 10
    decoded = read_video(target).astype(int)
    source = np.stack([cv2.cvtColor(cv2.imread(str(SHARED_IMGS / f'img_{i:05d}.jpg')),
                                    cv2.COLOR_BGR2RGB) for i in range(1, 11)]).astype(int)
    assert decoded.shape == source.shape
    assert np.abs(decoded - source).mean() < 2
    # frames of a real clip look alike (this folder even holds pairs of near-duplicates):
    # check that each decoded frame is (one of) the closest to its source frame
    errors = np.abs(decoded[:, None] - source[None]).mean(axis=(2, 3, 4))
    assert (np.diag(errors) <= errors.min(axis=1) + 0.1).all(), errors.round(2)
