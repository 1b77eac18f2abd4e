"""Tests of the data-preparation tools: tools/data/*.py, ``actionkit data …`` and the package
functions behind them (actionkit/datasets/prep/batches.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from actionkit.cli import main
from actionkit.commands.data import build_rawframes_main
from actionkit.datasets.prep.batches import (build_file_list, extract_frames_batch, find_frame_dirs,
                                       find_videos, resize_videos_batch, split_train_val)
from actionkit.datasets.prep.video_io import read_video, write_video

REPO = Path(__file__).resolve().parents[2]
FRAMES, HEIGHT, WIDTH = 6, 32, 48


def _clip(seed: int) -> np.ndarray:
    """Frames whose brightness steps by 40 per frame, so re-timing can be checked."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 40, size=(1, HEIGHT, WIDTH, 3))
    steps = 40 * np.arange(FRAMES)[:, None, None, None]
    return (base + steps).astype(np.uint8)


@pytest.fixture
def video_tree(tmp_path: Path) -> Path:
    """``videos/{jump,run}/v{0,1,2}.mp4`` (6 frames, 48x32, 30 fps) and two broken files."""
    root = tmp_path / 'videos'
    for c, name in enumerate(('run', 'jump')):
        for i in range(3):
            write_video(root / name / f'v{c}{i}.mp4', _clip(10 * c + i), fps=30, gop=6)
    good = (root / 'run' / 'v00.mp4').read_bytes()
    (root / 'run' / 'broken.mp4').write_bytes(b'\x00\x00\x00\x18ftypisom' + b'junk' * 200)
    (root / 'jump' / 'truncated.mp4').write_bytes(good[:len(good) // 2])
    (root / 'jump' / 'notes.txt').write_text('not a video')
    return root


def _keyframes(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        flags = [p.is_keyframe for p in container.demux(container.streams.video[0]) if p.size]
    return len(flags), sum(flags)


def _lines(path: str | Path) -> list[list[str]]:
    return [line.split() for line in Path(path).read_text().splitlines()]


# ----------------------------------------------------------------------------- file lists


def test_find_videos(video_tree):
    found = find_videos(video_tree, level=2)
    assert found == ['jump/truncated.mp4', 'jump/v10.mp4', 'jump/v11.mp4', 'jump/v12.mp4',
                     'run/broken.mp4', 'run/v00.mp4', 'run/v01.mp4', 'run/v02.mp4']
    assert find_videos(video_tree, level=1) == []
    assert find_videos(video_tree / 'run', level=1, exts=['MP4'])[0] == 'broken.mp4'
    with pytest.raises(ValueError, match='level'):
        find_videos(video_tree, level=3)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        find_videos(video_tree / 'nowhere')


def test_split_train_val_is_stratified_and_seeded():
    labels = [0] * 10 + [1] * 5 + [2] * 1
    train, val = split_train_val(labels, 0.8, seed=0)
    assert sorted(train + val) == list(range(16))
    per_class = [sum(labels[i] == c for i in train) for c in range(3)]
    assert per_class == [8, 4, 1]
    assert split_train_val(labels, 0.8, seed=0) == (train, val)
    assert split_train_val(labels, 0.8, seed=1) != (train, val)
    assert split_train_val(labels, 1.0) == (list(range(16)), [])
    with pytest.raises(ValueError, match='split_ratio'):
        split_train_val(labels, 0.0)


def test_build_file_list_videos(video_tree, tmp_path):
    for broken in ('run/broken.mp4', 'jump/truncated.mp4'):
        (video_tree / broken).unlink()
    out = tmp_path / 'lists'
    result = build_file_list(video_tree, out, format='videos', split_ratio=0.67, seed=0,
                             name='toy')
    assert result['classes'] == ['jump', 'run']  # sorted class folders
    assert Path(result['label_map']).read_text() == 'jump\nrun\n'
    train, val = _lines(out / 'toy_train_list_videos.txt'), _lines(out / 'toy_val_list_videos.txt')
    assert (len(train), len(val)) == (4, 2)
    for path, label in train + val:
        assert (video_tree / path).is_file()
        assert path.split('/')[0] == result['classes'][int(label)]
    assert [p for p, _ in train] == sorted(p for p, _ in train)  # not shuffled
    # a label map file fixes the order; shuffling keeps the same lines
    (tmp_path / 'classes.txt').write_text('run\njump\n')
    again = build_file_list(video_tree, out, split_ratio=0.67, seed=0, shuffle=True,
                            label_map=tmp_path / 'classes.txt')
    assert Path(again['train_list']).name == 'train_list_videos.txt'
    relabelled = sorted((p, str(1 - int(label))) for p, label in _lines(again['train_list']))
    assert relabelled == sorted((p, label) for p, label in train)
    (tmp_path / 'partial.txt').write_text('run\n')
    with pytest.raises(ValueError, match="'jump'"):
        build_file_list(video_tree, out, label_map=tmp_path / 'partial.txt')
    with pytest.raises(ValueError, match='labels_from'):
        build_file_list(video_tree / 'run', out, level=1)


def test_build_file_list_flat_rawframes(synthetic_data, tmp_path):
    """The synthetic set's flat rawframe folders, labelled from its video lists."""
    labels = tmp_path / 'all_videos.txt'
    labels.write_text(Path(synthetic_data['train_list_videos']).read_text()
                      + Path(synthetic_data['val_list_videos']).read_text())
    result = build_file_list(synthetic_data['rawframes_root'], tmp_path, format='rawframes',
                             level=1, split_ratio=1.0, labels_from=labels)
    expected = sorted(_lines(synthetic_data['train_list_rawframes'])
                      + _lines(synthetic_data['val_list_rawframes']))
    assert sorted(_lines(result['train_list'])) == expected
    assert _lines(result['val_list']) == []
    assert result['label_map'] is None and not (tmp_path / 'label_map.txt').exists()
    with pytest.raises(ValueError, match='no label'):
        build_file_list(synthetic_data['rawframes_root'], tmp_path, format='rawframes', level=1,
                        labels_from=synthetic_data['train_list_videos'])


# ----------------------------------------------------------------------------- extraction


def test_extract_frames_batch(video_tree, tmp_path):
    out = tmp_path / 'rawframes'
    report = extract_frames_batch(video_tree, out, num_workers=2, new_short=16)
    assert sorted(p for p, _ in report.failed) == ['jump/truncated.mp4', 'run/broken.mp4']
    assert all(reason for _, reason in report.failed)
    assert len(report.done) == 6 and report.skipped == []
    frame_dir = out / 'run' / 'v01'
    names = sorted(p.name for p in frame_dir.iterdir())
    assert names == [f'img_{i:05d}.jpg' for i in range(1, FRAMES + 1)]
    first = cv2.cvtColor(cv2.imread(str(frame_dir / 'img_00001.jpg')), cv2.COLOR_BGR2RGB)
    assert first.shape == (16, 24, 3)
    expected = cv2.resize(_clip(1)[0], (24, 16), interpolation=cv2.INTER_AREA)
    assert np.abs(first.astype(int) - expected).mean() < 6
    assert not (out / 'run' / 'broken').exists()
    assert not [p for p in out.rglob('.*')]  # no temporary folders left behind
    counts = dict(find_frame_dirs(out))
    assert counts == {f'{c}/v{k}{j}': FRAMES for k, c in ((1, 'jump'), (0, 'run'))
                      for j in range(3)}
    # resuming skips the finished folders and retries the broken videos
    again = extract_frames_batch(video_tree, out, num_workers=1)
    assert len(again.skipped) == 6 and again.done == [] and len(again.failed) == 2


def test_extract_frames_cli_reports_failures(video_tree, tmp_path, capsys):
    out, report_file = tmp_path / 'frames', tmp_path / 'report.json'
    status = main(['data', 'extract-frames', str(video_tree), str(out), '--num-worker', '1',
                   '--out-format', 'png', '--report-file', str(report_file)])
    assert status == 1
    printed = capsys.readouterr().out
    assert 'run/broken.mp4' in printed and '6 done' in printed and '2 failed' in printed
    report = json.loads(report_file.read_text())
    assert report['done'] == 6 and report['failed'] == 2
    assert {f['path'] for f in report['failures']} == {'run/broken.mp4', 'jump/truncated.mp4'}
    assert (out / 'jump' / 'v10' / 'img_00006.png').is_file()


# ----------------------------------------------------------------------------- re-encoding


def test_resize_videos_batch(video_tree, tmp_path):
    out = tmp_path / 'resized'
    report = resize_videos_batch(video_tree, out, num_workers=2, new_short=16, gop=2)
    assert sorted(p for p, _ in report.failed) == ['jump/truncated.mp4', 'run/broken.mp4']
    assert len(report.done) == 6
    resized = out / 'jump' / 'v12.mp4'
    clip = read_video(resized)
    assert clip.shape == (FRAMES, 16, 24, 3)
    assert _keyframes(resized) == (FRAMES, FRAMES // 2)
    assert not (out / 'run' / 'broken.mp4').exists()
    assert not [p for p in out.rglob('.*')]
    again = resize_videos_batch(video_tree, out, num_workers=1, new_short=16)
    assert len(again.skipped) == 6 and len(again.failed) == 2


def test_resize_videos_changes_fps_and_container(video_tree, tmp_path):
    (video_tree / 'run' / 'v00.mp4').rename(video_tree / 'run' / 'v00.mkv')
    out = tmp_path / 'half'
    report = resize_videos_batch(video_tree, out, exts=['mkv'], new_short=0, fps=15, to_mp4=True)
    assert report.done == ['run/v00.mkv'] and report.failed == []
    clip = read_video(out / 'run' / 'v00.mp4')
    assert clip.shape == (FRAMES // 2, HEIGHT, WIDTH, 3)  # 30 -> 15 fps keeps every other frame
    brightness = clip.reshape(len(clip), -1).mean(1)
    expected = _clip(0)[::2].reshape(FRAMES // 2, -1).mean(1)
    np.testing.assert_allclose(brightness, expected, atol=4)
    with av.open(str(out / 'run' / 'v00.mp4')) as container:
        assert container.streams.video[0].average_rate == 15


def test_tools_scripts_run(video_tree, tmp_path):
    """The scripts in tools/data run as programs (thin wrappers over actionkit.cli)."""
    for broken in ('run/broken.mp4', 'jump/truncated.mp4'):
        (video_tree / broken).unlink()
    done = subprocess.run([sys.executable, str(REPO / 'tools/data/build_file_list.py'),
                           str(video_tree), '--out-dir', str(tmp_path), '--split-ratio', '0.5',
                           '--shuffle', '--seed', '3'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '2 classes, 4 train and 2 val videos' in done.stdout
    assert len(_lines(tmp_path / 'train_list_videos.txt')) == 4
    for script in ('extract_frames.py', 'resize_videos.py'):
        shown = subprocess.run([sys.executable, str(REPO / 'tools/data' / script), '--help'],
                               capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and '--num-worker' in shown.stdout
        if script == 'extract_frames.py':  # MMAction2 build_rawframes.py's flow options
            assert '--task {rgb,flow,both}' in shown.stdout and '--flow-type' in shown.stdout


def test_build_rawframes_is_extract_frames_with_mmaction_defaults(video_tree, tmp_path, capsys):
    # MMAction2's defaults: --task flow and --ext avi; this tree holds .mp4 files only
    status = build_rawframes_main([str(video_tree), str(tmp_path / 'none'), '--num-worker', '1',
                                   '--flow-type', 'farneback'])
    assert status == 1 and not list((tmp_path / 'none').rglob('*.jpg'))
    assert 'no videos with extension(s) avi' in capsys.readouterr().err
    out = tmp_path / 'frames'
    status = build_rawframes_main([str(video_tree), str(out), '--task', 'rgb', '--ext', 'mp4',
                                   '--level', '2', '--num-worker', '1', '--num-gpu', '2',
                                   '--new-short', '16'])
    assert status == 1  # the two broken videos of the tree, reported
    assert 'run/broken.mp4' in capsys.readouterr().out
    assert (out / 'build_rawframes_report.json').is_file()
    assert dict(find_frame_dirs(out)) == {f'{c}/v{k}{j}': FRAMES for k, c in ((1, 'jump'),
                                                                             (0, 'run'))
                                          for j in range(3)}
