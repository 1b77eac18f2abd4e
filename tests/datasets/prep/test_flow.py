"""Tests of optical-flow extraction (actionkit/datasets/prep/flow.py) and its batch/CLI path."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from actionkit.datasets import build_dataset
from actionkit.errors import DecodeError
from actionkit.commands.data import extract_frames_main
from actionkit.datasets.prep.batches import extract_frames_batch
from actionkit.datasets.prep.flow import (FlowEstimator, check_flow_type, dequantize_flow,
                                  extract_rawframes, quantize_flow, rawframes_complete)
from actionkit.datasets.prep.video_io import write_video

FRAMES, SIZE, STEP, SIDE, TOP = 6, 32, 2, 12, 10
HAS_TVL1 = hasattr(getattr(cv2, 'optflow', None), 'DualTVL1OpticalFlow_create')


def _square_clip(step: int = STEP) -> np.ndarray:
    """A textured 12x12 square moving ``step`` pixels right per frame over a flat background."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    texture = (128 + 100 * np.sin(xx * 1.3) * np.cos(yy * 1.1)).astype(np.uint8)
    clip = np.full((FRAMES, SIZE, SIZE, 3), 40, dtype=np.uint8)
    for t in range(FRAMES):
        left = 4 + step * t if step >= 0 else SIZE - 4 - SIDE + step * t
        clip[t, TOP:TOP + SIDE, left:left + SIDE] = texture[..., None]
    return clip


def _inside(step: int, index: int) -> tuple[slice, slice]:
    """The inner part of the square in the first frame of flow pair ``index`` (1-based)."""
    left = 4 + step * (index - 1) if step >= 0 else SIZE - 4 - SIDE + step * (index - 1)
    return slice(TOP + 2, TOP + SIDE - 2), slice(left + 2, left + SIDE - 2)


@pytest.fixture
def square_video(tmp_path: Path) -> Path:
    path = tmp_path / 'videos' / 'moving' / 'square.mp4'
    write_video(path, _square_clip(), fps=25, gop=FRAMES)
    return path


def _gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.ndim == 2, path
    return image


def test_quantize_flow_is_denseflows_mapping():
    flow = np.array([-25.0, -20.0, -1.0, 0.0, 0.07, 1.0, 19.9, 20.0, 300.0], dtype=np.float32)
    # round(255 * (v + 20) / 40) after clipping to [-20, 20]
    expected = [0, 0, 121, 128, 128, 134, 254, 255, 255]
    assert quantize_flow(flow).tolist() == expected
    assert quantize_flow(flow).dtype == np.uint8
    assert quantize_flow(np.array([5.0]), bound=10).tolist() == [191]
    inside = np.linspace(-20, 20, 101, dtype=np.float32)
    np.testing.assert_allclose(dequantize_flow(quantize_flow(inside)), inside,
                               atol=1.01 * 20 / 255)  # half a quantisation step
    with pytest.raises(ValueError, match='bound'):
        quantize_flow(flow, bound=0)


def test_check_flow_type():
    assert check_flow_type('farneback') == 'farneback'
    assert check_flow_type('farn') == 'farneback'  # MMAction2's name
    with pytest.raises(ValueError, match="'brox'"):
        check_flow_type('brox')
    if HAS_TVL1:
        assert check_flow_type('tvl1') == 'tvl1'
    else:
        with pytest.raises(ImportError, match='--flow-type farneback'):
            check_flow_type('tvl1')
    with pytest.raises(ValueError, match='same shape'):
        FlowEstimator('farneback')(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8))


@pytest.mark.parametrize('step', [STEP, -STEP])
def test_flow_of_a_moving_square(tmp_path, step):
    video = tmp_path / 'square.mp4'
    write_video(video, _square_clip(step), fps=25, gop=FRAMES)
    counts = extract_rawframes(video, tmp_path / 'square', task='flow', flow_type='farneback')
    assert counts == dict(rgb=0, flow=FRAMES - 1)
    names = sorted(p.name for p in (tmp_path / 'square').iterdir())
    assert names == sorted([f'flow_{axis}_{i:05d}.jpg' for axis in 'xy'
                            for i in range(1, FRAMES)])  # N-1 flow frames for N frames
    for index in range(1, FRAMES):
        rows, cols = _inside(step, index)
        flow_x = _gray(tmp_path / 'square' / f'flow_x_{index:05d}.jpg')[rows, cols]
        flow_y = _gray(tmp_path / 'square' / f'flow_y_{index:05d}.jpg')[rows, cols]
        assert flow_x.shape == (SIDE - 4, SIDE - 4)
        if step > 0:
            assert flow_x.mean() > 128
        else:
            assert flow_x.mean() < 128
        assert abs(dequantize_flow(flow_x).mean() - step) < 0.75
        assert abs(flow_y.mean() - 128) < 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


@pytest.mark.skipif(not HAS_TVL1, reason='TV-L1 needs opencv-contrib (cv2.optflow)')
def test_tvl1_flow_of_a_moving_square(tmp_path, square_video):
    extract_rawframes(square_video, tmp_path / 'tvl1', task='flow', flow_type='tvl1')
    rows, cols = _inside(STEP, 1)
    assert _gray(tmp_path / 'tvl1' / 'flow_x_00001.jpg')[rows, cols].mean() > 128


def test_flow_folder_loads_as_a_flow_dataset(tmp_path, square_video):
    """The flow frames feed RawframeDataset(modality='Flow') and the flow pipeline."""
    extract_rawframes(square_video, tmp_path / 'frames' / 'square', task='both',
                      flow_type='farneback')
    ann_file = tmp_path / 'flow_list.txt'
    ann_file.write_text(f'square {FRAMES - 1} 0\n')
    clip_len = 2
    dataset = build_dataset(dict(
        type='RawframeDataset', ann_file=str(ann_file), data_prefix=str(tmp_path / 'frames'),
        modality='Flow', filename_tmpl='flow_{}_{:05d}.jpg', test_mode=True,
        pipeline=[dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=2,
                       test_mode=True),
                  dict(type='RawFrameDecode'),
                  dict(type='Normalize', mean=[128, 128], std=[128, 128]),
                  dict(type='FormatShape', input_format='NCHW_Flow'),
                  dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                  dict(type='ToTensor', keys=['imgs', 'label'])]))
    imgs = dataset[0]['imgs']
    assert tuple(imgs.shape) == (2, clip_len * 2, SIZE, SIZE)  # [clips, clip_len x (x, y), H, W]
    assert imgs[:, 0::2].mean() > 0  # x channels: moving right
    assert abs(float(imgs[:, 1::2].mean())) < 0.02


def test_tasks_share_a_folder_and_resume(tmp_path, square_video):
    target = tmp_path / 'square'
    assert extract_rawframes(square_video, target, task='rgb') == dict(rgb=FRAMES, flow=0)
    first = (target / 'img_00001.jpg').stat().st_mtime_ns
    assert rawframes_complete(target, 'rgb') and not rawframes_complete(target, 'flow')
    assert not rawframes_complete(target, 'both')
    extract_rawframes(square_video, target, task='flow', flow_type='farneback')
    assert rawframes_complete(target, 'both')
    assert (target / 'img_00001.jpg').stat().st_mtime_ns == first  # RGB frames kept
    assert len(list(target.glob('flow_y_*.jpg'))) == FRAMES - 1
    assert not rawframes_complete(target, 'rgb', out_format='png')
    with pytest.raises(ValueError, match='task'):
        rawframes_complete(target, 'depth')


def test_extract_rawframes_options_and_errors(tmp_path, square_video):
    counts = extract_rawframes(square_video, tmp_path / 'small', task='both',
                               flow_type='farneback', new_width=16, new_height=8,
                               out_format='png', rgb_prefix='rgb_')
    assert counts == dict(rgb=FRAMES, flow=FRAMES - 1)
    assert cv2.imread(str(tmp_path / 'small' / 'rgb_00001.png')).shape == (8, 16, 3)
    assert _gray(tmp_path / 'small' / 'flow_x_00005.png').shape == (8, 16)
    # flow from existing RGB frames (MMAction2's --input-frames)
    extract_rawframes(tmp_path / 'small', tmp_path / 'again', task='flow', flow_type='farn',
                      rgb_prefix='rgb_', out_format='png', input_frames=True)
    assert len(list((tmp_path / 'again').glob('flow_x_*.png'))) == FRAMES - 1
    one_frame = tmp_path / 'one.mp4'
    write_video(one_frame, _square_clip()[:1], fps=25)
    with pytest.raises(DecodeError, match='one.mp4 has a single frame'):
        extract_rawframes(one_frame, tmp_path / 'one', task='both', flow_type='farneback')
    assert not (tmp_path / 'one').exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]
    with pytest.raises(ValueError, match='new_width'):
        extract_rawframes(square_video, tmp_path / 'x', new_width=16)
    with pytest.raises(ValueError, match='input_frames'):
        extract_rawframes(tmp_path / 'small', tmp_path / 'x', task='both', input_frames=True)


def test_extract_flow_batch_in_parallel_and_resumably(tmp_path, square_video):
    src = square_video.parent.parent
    write_video(src / 'moving' / 'left.mp4', _square_clip(-STEP), fps=25, gop=FRAMES)
    (src / 'moving' / 'broken.mp4').write_bytes(b'not a video')
    out = tmp_path / 'rawframes'
    report = extract_frames_batch(src, out, task='both', flow_type='farneback', num_workers=2)
    assert report.done == ['moving/left.mp4', 'moving/square.mp4']
    assert [path for path, _ in report.failed] == ['moving/broken.mp4']
    for name in ('left', 'square'):
        assert len(list((out / 'moving' / name).glob('flow_x_*.jpg'))) == FRAMES - 1
        assert len(list((out / 'moving' / name).glob('img_*.jpg'))) == FRAMES
    again = extract_frames_batch(src, out, task='flow', flow_type='farneback')
    assert again.skipped == ['moving/left.mp4', 'moving/square.mp4'] and again.done == []
    with pytest.raises(ValueError, match='task'):
        extract_frames_batch(src, out, task='depth')


def test_extract_frames_cli_flow(tmp_path, square_video, capsys):
    src, out = square_video.parent.parent, tmp_path / 'frames'
    status = extract_frames_main([str(src), str(out), '--task', 'flow', '--flow-type', 'farn',
                                  '--num-worker', '1', '--ext', 'mp4', '--new-short', '16',
                                  '--resume', '--log-level', 'WARNING'])
    assert status == 0
    assert '1 done' in capsys.readouterr().out
    assert _gray(out / 'moving' / 'square' / 'flow_y_00001.jpg').shape == (16, 16)
    assert json.loads((out / 'extract_frames_report.json').read_text())['done'] == 1
    if not HAS_TVL1:  # the default TV-L1 needs opencv-contrib: a clear error, nothing written
        status = extract_frames_main([str(src), str(tmp_path / 'tvl1'), '--task', 'both'])
        assert status == 1
        assert '--flow-type farneback' in capsys.readouterr().err
        assert not (tmp_path / 'tvl1').exists()
