"""Tests of actionkit.visualization: colours, text on frames, video/GIF output, plots."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import pytest

from actionkit.visualization import (VideoOutput, draw_text_lines, format_predictions,
                                     output_size, parse_color, plot_confusion_matrix,
                                     plot_curves, plot_style, require_matplotlib, resize_frame)

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def assert_png(path: Path, min_width: int = 200, min_height: int = 150) -> None:
    """A real, non-trivial PNG: signature, IHDR size, and more than one colour."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f'{path} is not a PNG'
    width, height = int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')
    assert width >= min_width and height >= min_height, (width, height)
    from PIL import Image

    with Image.open(path) as image:
        colours = image.convert('RGB').getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 10, 'the image is (almost) blank'


def _ramp(n: int, height: int = 32, width: int = 48) -> list[np.ndarray]:
    """Frames of uniform brightness 20, 40, ... so the order can be checked after decoding."""
    return [np.full((height, width, 3), 20 * (i + 1), np.uint8) for i in range(n)]


# ----------------------------------------------------------------------------- colours, text


@pytest.mark.parametrize('value, expected', [
    ('white', (255, 255, 255)), ('Red', (255, 0, 0)), ('#10a0ff', (16, 160, 255)),
    ('1, 2, 3', (1, 2, 3)), ((4, 5, 6), (4, 5, 6)), ([0, 0, 255], (0, 0, 255)),
])
def test_parse_color(value, expected):
    assert parse_color(value) == expected


@pytest.mark.parametrize('value', ['chartreuse-ish', '#12345', '1,2', (1, 2, 300), 'a,b,c'])
def test_parse_color_rejects(value):
    with pytest.raises(ValueError, match='colour'):
        parse_color(value)


def test_format_predictions():
    names = ['run', 'jump', 'swim']
    assert format_predictions([(2, 0.9123), (0, 0.05)], names) == ['swim: 0.912', 'run: 0.050']
    assert format_predictions([(1, 0.5)], None, precision=1) == ['1: 0.5']
    assert format_predictions([('clap', 0.25)], names) == ['clap: 0.250']
    with pytest.raises(ValueError, match='outside the label map'):
        format_predictions([(3, 0.1)], names)


def test_draw_text_lines_draws_in_the_corner_only():
    frame = np.full((120, 160, 3), 100, np.uint8)
    out = draw_text_lines(frame, ['walking: 0.91', 'running: 0.05'], color='white')
    assert (frame == 100).all(), 'the input must not change'
    changed = (out != frame).any(axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.max() < 60 and cols.max() < 140 and rows.min() < 10
    assert (out[70:] == 100).all()
    assert out[changed].max() == 255, 'white letters'
    assert out[changed].min() < 100, 'the dark box behind the text'


def test_draw_text_lines_options():
    frame = np.full((60, 200, 3), 200, np.uint8)
    plain = draw_text_lines(frame, ['x'], color=(255, 0, 0), background=None)
    changed = (plain != frame).any(axis=2)
    assert changed.sum() > 5
    assert (plain[changed][:, 0] >= 200).all(), 'red text on a light frame: red stays high'
    assert draw_text_lines(frame, []).tolist() == frame.tolist()
    same = draw_text_lines(frame, ['abc'], inplace=True)
    assert same is frame and (frame != 200).any()
    below = draw_text_lines(np.zeros((60, 200, 3), np.uint8), ['abc'], origin=(5, 50),
                            background=None)
    assert not below[:30].any() and below[30:].any()


@pytest.mark.parametrize('frame', [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32),
                                   'frame'])
def test_draw_text_lines_rejects_bad_frames(frame):
    with pytest.raises(ValueError, match=r'uint8 \[H, W, 3\]'):
        draw_text_lines(frame, ['a'])


def test_output_size_and_resize():
    assert output_size(340, 256, None) == (340, 256)
    assert output_size(340, 256, (170, -1)) == (170, 128)
    assert output_size(340, 256, (-1, 128)) == (170, 128)
    assert output_size(340, 256, (100, 50)) == (100, 50)
    for bad in [(-1, -1), (0, 10), (10,), (-2, 5)]:
        with pytest.raises(ValueError, match='target_resolution'):
            output_size(340, 256, bad)
    frame = np.zeros((20, 30, 3), np.uint8)
    assert resize_frame(frame, (30, 20)) is frame
    assert resize_frame(frame, (60, 40)).shape == (40, 60, 3)
    assert resize_frame(frame, (15, 10)).shape == (10, 15, 3)


# ----------------------------------------------------------------------------- video output


def test_video_output_mp4_round_trip(tmp_path):
    from actionkit.datasets.prep.video_io import read_video, video_info

    path = tmp_path / 'sub' / 'out.mp4'
    with VideoOutput(path, fps=25) as out:
        for frame in _ramp(8):
            out.write(frame)
        assert not path.exists(), 'the file appears only when it is complete'
    video = read_video(path)
    assert video.shape == (8, 32, 48, 3)
    means = video.reshape(8, -1).mean(axis=1)
    assert np.allclose(means, 20 * np.arange(1, 9), atol=3)
    assert float(video_info(path)['fps']) == 25
    assert not list(tmp_path.glob('sub/.*partial*'))


def test_video_output_pads_odd_sizes(tmp_path):
    from actionkit.datasets.prep.video_io import read_video

    path = tmp_path / 'odd.mp4'
    with VideoOutput(path, fps=10) as out:
        for frame in _ramp(3, height=31, width=45):
            out.write(frame)
    assert read_video(path).shape == (3, 32, 46, 3)


def test_video_output_gif(tmp_path):
    from PIL import Image

    path = tmp_path / 'out.gif'
    with VideoOutput(path, fps=10) as out:
        for frame in _ramp(5):
            out.write(frame)
    assert path.read_bytes()[:6] == b'GIF89a'
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (48, 32)
        assert gif.info['duration'] == 100
        gif.seek(4)
        assert abs(np.asarray(gif.convert('RGB')).mean() - 100) < 3


def test_video_output_errors(tmp_path):
    with pytest.raises(ValueError, match='suffix'):
        VideoOutput(tmp_path / 'out.webm')
    with pytest.raises(ValueError, match='fps'):
        VideoOutput(tmp_path / 'out.mp4', fps=0)
    out = VideoOutput(tmp_path / 'out.mp4')
    out.write(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match='first frame was 32x32'):
        out.write(np.zeros((16, 32, 3), np.uint8))
    with pytest.raises(ValueError, match='uint8'):
        out.write(np.zeros((32, 32, 3), np.float32))
    out.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match='no frames'):
        VideoOutput(tmp_path / 'empty.gif').close()


def test_video_output_discards_the_file_on_error(tmp_path):
    with pytest.raises(RuntimeError, match='boom'):
        with VideoOutput(tmp_path / 'out.mp4') as out:
            out.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError('boom')
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- plots


def test_plot_curves_png(tmp_path):
    xs = np.arange(1, 101)
    panels = {'loss_cls': [('run A', xs, 2.3 * np.exp(-xs / 40)), ('run B', xs, 2.3 - xs / 60)],
              'top1_acc': [('run A (val)', [50, 100], [0.4, 0.6])]}
    out = tmp_path / 'plots' / 'curve.png'
    fig = plot_curves(panels, title='Two runs', out=out, style='dark')
    assert_png(out, 600, 500)
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ['loss_cls', 'top1_acc']
    assert axes[0].get_xlabel() == 'iteration'
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ['run A', 'run B']
    assert fig._suptitle.get_text() == 'Two runs'
    plot_curves(panels, out=tmp_path / 'curve.pdf')
    assert (tmp_path / 'curve.pdf').read_bytes()[:4] == b'%PDF'


def test_plot_style_names():
    assert plot_style(None) == 'default'
    assert plot_style('dark').startswith('seaborn')
    assert plot_style('ggplot') == 'ggplot'
    with pytest.raises(ValueError, match='unknown plot style'):
        plot_style('no-such-style')
    with pytest.raises(ValueError, match='at least one panel'):
        plot_curves({})


def test_plot_confusion_matrix_png(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 4]])
    fig = plot_confusion_matrix(matrix, ['walk', 'run', 'jump'], out=tmp_path / 'cm.png')
    assert_png(tmp_path / 'cm.png')
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ['walk', 'run', 'jump']
    assert ax.get_ylabel() == 'true class' and ax.get_xlabel() == 'predicted class'
    cells = {tuple(int(v) for v in t.get_position()): t.get_text() for t in ax.texts}
    assert cells[(0, 1)] == '2' and cells[(1, 0)] == '1' and cells[(2, 2)] == '4'  # (col, row)
    with pytest.raises(ValueError, match='3 class names for a 2x2'):
        plot_confusion_matrix(np.eye(2), ['a', 'b', 'c'], out=tmp_path / 'x.png')
    with pytest.raises(ValueError, match='square'):
        plot_confusion_matrix(np.zeros((2, 3)), ['a', 'b'], out=tmp_path / 'x.png')


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)
    with pytest.raises(ImportError, match=r"pip install 'actionkit\[plot\]'"):
        require_matplotlib()


# ------------------------------------------------------------ 1.x --show-dir
def test_show_dir_lines_name_ground_truth_and_prediction():
    from actionkit.commands.v1_show import _lines, sample_frames
    record = dict(gt_label=torch.tensor([3]), pred_score=torch.tensor([.01, .05, .03, .91]))
    assert _lines(record, ['run', 'jump', 'sit', 'swim']) == [
        'Ground truth: 3 (swim)', 'Prediction: 3, 0.91 (swim)']
    record = dict(gt_label=torch.tensor([0]), pred_score=torch.tensor([.2, .7, .1]))
    assert _lines(record, None) == ['Ground truth: 0', 'Prediction: 1, 0.70']
    # NCTHW [views, C, T, H, W]: the first view's frames; NCHW [frames, C, H, W]: all
    clip = torch.arange(2 * 3 * 4 * 5 * 6).reshape(2, 3, 4, 5, 6) % 256
    frames = sample_frames(dict(imgs=clip))
    assert frames.shape == (4, 5, 6, 3) and frames.dtype == np.uint8
    assert frames[2, 1, 3, 0] == clip[0, 0, 2, 1, 3]
    assert sample_frames(dict(imgs=clip[:, :, 0])).shape == (2, 5, 6, 3)
    assert sample_frames(dict(imgs=torch.zeros(1, 17, 4, 8, 8))) is None  # heatmaps
    assert sample_frames(dict(audios=torch.zeros(1, 1, 8, 8))) is None
