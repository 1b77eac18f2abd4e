"""Tests of the demo scripts (demo/*.py) and the demo notebook, on tiny synthetic videos and a
tiny random TSN."""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from actionkit.analysis.windows import sliding_windows, window_pipeline
from actionkit.datasets.prep.video_io import read_video, write_video
from actionkit.visualization import resize_frame

REPO = Path(__file__).resolve().parents[2]



@pytest.fixture(scope='module')
def clip(synthetic_data) -> tuple[str, str, str]:
    """``(video path, rawframe folder, class name)`` of the first validation clip."""
    root = Path(synthetic_data['root'])
    video, label = Path(synthetic_data['val_list_videos']).read_text().split('\n')[0].split()
    folder = Path(synthetic_data['val_list_rawframes']).read_text().split()[0]
    names = Path(synthetic_data['label_map']).read_text().splitlines()
    return (str(root / 'videos' / video), str(root / 'rawframes' / folder), names[int(label)])


def _top5(printed: str, names: list[str]) -> list[tuple[str, float]]:
    lines = printed.split('The top-5 labels with corresponding scores are:\n')[1].splitlines()
    pairs = [line.rsplit(': ', 1) for line in lines[:5]]
    assert all(name in names for name, _ in pairs), pairs
    return [(name, float(score)) for name, score in pairs]


# ----------------------------------------------------------------------------- demo.py


def test_demo_prints_top5_and_writes_an_annotated_mp4(load_demo, tiny_config, synthetic_data,
                                                      clip, tmp_path, capsys):
    demo = load_demo('demo')
    out = tmp_path / 'out.mp4'
    names = Path(synthetic_data['label_map']).read_text().splitlines()
    assert demo.main([tiny_config, 'none', clip[0], synthetic_data['label_map'], '--device',
                      'cpu', '--out-filename', str(out), '--target-resolution', '64', '-1',
                      '--top-k', '2', '--font-color', 'yellow']) == 0
    top5 = _top5(capsys.readouterr().out, names)
    scores = [score for _, score in top5]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-6
    source, annotated = read_video(clip[0]), read_video(out)
    assert annotated.shape == (len(source), 64, 64, 3)
    upscaled = np.stack([resize_frame(f, (64, 64)) for f in source]).astype(float)
    error = np.abs(annotated.astype(float) - upscaled).mean(axis=(0, 3))  # [H, W]
    # two lines of text on a dark box cover the top ~45 rows
    assert error[:30].mean() > 5 * error[52:].mean(), 'the labels sit in the top rows'
    assert error[52:].mean() < 4, 'elsewhere only the H.264 noise'


def test_demo_rawframes_to_gif(load_demo, tiny_config, synthetic_data, clip, tmp_path, capsys):
    from PIL import Image

    demo = load_demo('demo')
    out = tmp_path / 'out.gif'
    assert demo.main([tiny_config, 'none', clip[1], synthetic_data['label_map'], '--use-frames',
                      '--device', 'cpu', '--out-filename', str(out), '--fps', '10']) == 0
    assert 'wrote 16 frames' in capsys.readouterr().out
    with Image.open(out) as gif:
        assert gif.n_frames == 16 and gif.size == (32, 32) and gif.info['duration'] == 100


def test_demo_errors(load_demo, tiny_config, synthetic_data, clip, tmp_path, capsys):
    demo = load_demo('demo')
    labels = synthetic_data['label_map']
    assert demo.main([tiny_config, 'none', str(tmp_path / 'missing.mp4'), labels,
                      '--device', 'cpu']) == 1
    assert 'missing.mp4' in capsys.readouterr().err
    (tmp_path / 'short.txt').write_text('a\nb\nc\n')
    assert demo.main([tiny_config, 'none', clip[0], str(tmp_path / 'short.txt')]) == 1
    assert '3 names but the model scores 10' in capsys.readouterr().err
    assert demo.main([tiny_config, 'none', clip[0], labels, '--font-color', 'nope']) == 1
    assert "unknown colour 'nope'" in capsys.readouterr().err


def test_demo_uses_a_relative_video_path_as_given(load_demo, tiny_config, synthetic_data, clip,
                                                  tmp_path, monkeypatch, capsys):
    # MMAction2 0.24.1: the path is relative to the cwd; the config's data_prefix is not joined
    demo = load_demo('demo')
    video = Path(clip[0])
    monkeypatch.chdir(video.parent.parent)
    relative = f'{video.parent.name}/{video.name}'
    out = tmp_path / 'out.gif'
    assert demo.main([tiny_config, 'none', relative, synthetic_data['label_map'], '--device',
                      'cpu', '--cfg-options', f'data.test.data_prefix={tmp_path}',
                      '--out-filename', str(out)]) == 0, capsys.readouterr().err
    assert 'wrote ' in capsys.readouterr().out and out.is_file()


def test_demo_gradcam_writes_the_heat_map_frames(load_demo, tiny_config, clip, tmp_path,
                                                 capsys):
    pytest.importorskip('matplotlib')
    from PIL import Image

    demo = load_demo('demo_gradcam')
    out = tmp_path / 'cam.gif'
    args = demo.parse_args([tiny_config, 'none', clip[0], '--device', 'cpu',
                            '--out-filename', str(out), '--target-resolution', '64', '-1'])
    assert args.target_layer_name == 'backbone/layer4/1/relu' and args.fps == 5
    frames, preds = demo.run(args)
    assert 'wrote 4 frames' in capsys.readouterr().out
    # 4 segments x 1 frame, 32 x 32 crops, blended 50/50 with a viridis heat map
    assert frames.shape == (4, 32, 32, 3) and preds.shape == (1, 10)
    with Image.open(out) as gif:
        assert gif.n_frames == 4 and gif.size == (64, 64) and gif.info['duration'] == 200
    assert demo.main([tiny_config, 'none', clip[0], '--device', 'cpu',
                      '--target-layer-name', 'backbone/nope']) == 1
    assert "no layer 'backbone/nope'" in capsys.readouterr().err


def test_demo_frame_files_order(load_demo, tmp_path):
    demo = load_demo('demo')
    for name in ('img_00010.jpg', 'img_00002.jpg', 'x_00001.jpg', 'notes.txt', 'img_00001.png'):
        (tmp_path / name).write_bytes(b'')
    assert [p.name for p in demo.frame_files(tmp_path)] == ['img_00001.png', 'img_00002.jpg',
                                                            'img_00010.jpg']


# ----------------------------------------------------------------------------- long videos


def test_window_pipeline():
    pipeline = [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8, num_clips=2),
                dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 256))]
    steps, clip_len, num_clips = window_pipeline(pipeline)
    assert (clip_len, num_clips) == (8, 2) and steps == [dict(type='Resize', scale=(-1, 256))]
    with pytest.raises(ValueError, match='no SampleFrames'):
        window_pipeline(pipeline[2:])


def test_sliding_windows_keeps_only_the_window():
    frames = (np.full((2, 2, 3), i % 256, np.uint8) for i in range(1000))
    windows = [(index, inds) for index, _, inds, clip in
               sliding_windows(frames, window=4, input_step=3, every=2) if inds is not None]
    # sampled frames 0, 3, 6, ...; the first full window ends at frame 9, then every 2 samples
    assert windows[0] == (9, [0, 3, 6, 9]) and windows[1] == (15, [6, 9, 12, 15])
    assert all(index == inds[-1] and len(inds) == 4 and np.diff(inds).tolist() == [3, 3, 3]
               for index, inds in windows)
    assert len(windows) == (334 - 4) // 2 + 1  # 334 sampled frames
    with pytest.raises(ValueError, match='input_step'):
        next(sliding_windows([], window=4, input_step=0))


def _peak_memory(demo, video: str, tmp_path: Path) -> tuple[int, int]:
    """Peak traced memory of a JSON-only run over ``video`` with a constant scorer."""
    from actionkit.datasets.prep.video_io import iter_video_frames

    segments = demo.SegmentWriter(tmp_path / f'{Path(video).stem}.json', dict(video=video))
    scores = np.linspace(0, 1, 10)
    frames = (frame for frame, _ in iter_video_frames(video))
    tracemalloc.start()
    try:
        count = demo.run(frames, lambda window: scores, [f'c{i}' for i in range(10)], 8, 30.0,
                         None, segments)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        segments.close()
    return count, peak


def test_long_video_memory_stays_flat(load_demo, tmp_path):
    demo = load_demo('long_video_demo')
    rng = np.random.default_rng(0)
    for name, length in (('short', 30), ('long', 300)):
        write_video(tmp_path / f'{name}.mp4', rng.integers(0, 255, (length, 64, 64, 3), np.uint8),
                    fps=30, gop=10, preset='ultrafast')
    short_count, short_peak = _peak_memory(demo, str(tmp_path / 'short.mp4'), tmp_path)
    long_count, long_peak = _peak_memory(demo, str(tmp_path / 'long.mp4'), tmp_path)
    assert (short_count, long_count) == (30, 300)
    held = 270 * 64 * 64 * 3  # the extra frames of the long video, had they been kept
    assert long_peak - short_peak < held / 4, (short_peak, long_peak)
    segments = json.loads((tmp_path / 'long.json').read_text())['segments']
    assert len(segments) == 300 - 8 + 1 and segments[-1]['end_frame'] == 299


def test_long_video_demo_cli(load_demo, tiny_config, synthetic_data, clip, tmp_path, capsys):
    demo = load_demo('long_video_demo')
    out = tmp_path / 'long.mp4'
    assert demo.main([tiny_config, 'none', clip[0], synthetic_data['label_map'], str(out),
                      '--device', 'cpu', '--stride', '0.5', '--threshold', '0',
                      '--top-k', '3', '--label-color', 'yellow']) == 0
    assert '7 windows of 4 frames' in capsys.readouterr().out
    assert read_video(out).shape == (16, 32, 32, 3)
    result = json.loads(out.with_suffix('.json').read_text())
    assert result['window'] == 4 and result['fps'] == 30
    segments = result['segments']
    # windows of 4 frames, scored when full (frame 3) and then every 0.5 x 4 = 2 frames
    assert [(s['start_frame'], s['end_frame']) for s in segments] == [
        (i, i + 3) for i in range(0, 13, 2)]
    assert segments[0]['start_time'] == 0 and segments[0]['end_time'] == pytest.approx(4 / 30,
                                                                                        abs=1e-3)
    names = Path(synthetic_data['label_map']).read_text().splitlines()
    for segment in segments:
        assert len(segment['labels']) == 3
        assert all(names[item['index']] == item['label'] for item in segment['labels'])
        scores = [item['score'] for item in segment['labels']]
        assert scores == sorted(scores, reverse=True)
    only_json = tmp_path / 'only.json'
    assert demo.main([tiny_config, 'none', clip[0], synthetic_data['label_map'],
                      str(only_json), '--device', 'cpu', '--input-step', '2']) == 0
    assert len(json.loads(only_json.read_text())['segments']) == 8 - 4 + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ['long.json', 'long.mp4', 'only.json']


def test_long_video_colors(load_demo):
    demo = load_demo('long_video_demo')
    assert demo.cli_color(['255', '0', '0']) == (0, 0, 255), 'MMAction2 gives B G R'
    assert demo.cli_color(['red']) == (255, 0, 0)
    with pytest.raises(ValueError, match='B G R'):
        demo.cli_color(['1', '2'])


# ----------------------------------------------------------------------------- webcam


def test_webcam_without_camera(load_demo, tiny_config, synthetic_data, monkeypatch, capsys):
    demo = load_demo('webcam_demo')
    opened = []

    class NoCamera:
        def __init__(self, source):
            opened.append(source)

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    monkeypatch.setattr(demo.cv2, 'VideoCapture', NoCamera)
    assert demo.main([tiny_config, 'none', synthetic_data['label_map']]) == demo.EXIT_NO_CAMERA
    assert opened == [0]
    assert 'no camera or stream could be opened with cv2.VideoCapture(0)' in \
        capsys.readouterr().err


def test_webcam_on_a_video_stream(load_demo, tiny_config, synthetic_data, clip, tmp_path,
                                  capsys):
    demo = load_demo('webcam_demo')
    out = tmp_path / 'rec.mp4'
    assert demo.main([tiny_config, 'none', synthetic_data['label_map'], '--camera-id', clip[0],
                      '--device', 'cpu', '--no-show', '--max-frames', '12', '--drawing-fps',
                      '0', '--inference-fps', '100', '--out-filename', str(out)]) == 0
    printed = capsys.readouterr().out
    count = int(printed.split(' predictions')[0].rsplit(', ', 1)[1])
    assert '12 frames' in printed and count >= 1
    assert read_video(out).shape == (12, 32, 32, 3)


# ----------------------------------------------------------------------------- notebook


def test_notebook_is_clean_json():
    notebook = json.loads((REPO / 'demo' / 'demo.ipynb').read_text())
    assert notebook['nbformat'] == 4
    code = [cell for cell in notebook['cells'] if cell['cell_type'] == 'code']
    assert code and all(cell['outputs'] == [] and cell['execution_count'] is None
                        for cell in code), 'commit the notebook without outputs'


@pytest.mark.slow
def test_notebook_runs(monkeypatch, tmp_path):
    """Execute the notebook's code cells in order, in one namespace (no Jupyter needed)."""
    import matplotlib

    monkeypatch.setenv('MPLBACKEND', 'Agg')
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    matplotlib.use('Agg')
    notebook = json.loads((REPO / 'demo' / 'demo.ipynb').read_text())
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*non-interactive.*')  # plt.show() on Agg
        for i, cell in enumerate(notebook['cells']):
            if cell['cell_type'] == 'code':
                exec(compile(''.join(cell['source']), f'demo.ipynb cell {i}', 'exec'), namespace)
    lines = printed.getvalue().split('The top-5 labels with corresponding scores are:\n')[1]
    shown = [line.strip().rsplit(' ', 1) for line in lines.splitlines()[:5]]
    names = namespace['class_names']
    assert len(names) == 10 and all(name.strip() in names for name, _ in shown)
    scores = [float(score) for _, score in shown]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.001
    assert namespace['strip'].shape == (192, 4 * 192, 3)
    assert Path(namespace['work_dir']).parent == tmp_path
