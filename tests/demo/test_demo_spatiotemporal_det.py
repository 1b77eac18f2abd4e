"""demo/demo_spatiotemporal_det.py end to end: a tiny random-weight AVA detector, a generated
video and a person-box file; the output video's frame count and drawn boxes; bad box files."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from actionkit.datasets.prep.video_io import read_video, write_video

# the tiny SlowOnly AVA config of the tools test (clip_len=4, frame_interval=2)
_spec = importlib.util.spec_from_file_location(
    '_ava_tools_test', Path(__file__).resolve().parents[1] / 'tools' / 'test_ava_tools.py')
_ava_tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ava_tools)


@pytest.fixture
def inputs(tmp_path):
    config = _ava_tools._ava_root(tmp_path)
    video = tmp_path / 'clip.mp4'
    write_video(video, np.full((16, 48, 64, 3), 100, np.uint8), fps=8)
    (tmp_path / 'labels.txt').write_text('12: a12\n17: a17\n')
    return config, video, tmp_path


def _argv(config, video, det, tmp_path, *extra):
    return ['--config', str(config), '--checkpoint', 'none', '--video', str(video),
            '--det-file', str(det), '--label-map', str(tmp_path / 'labels.txt'),
            '--out-filename', str(tmp_path / 'out.mp4'), '--predict-stepsize', '4',
            '--output-stepsize', '2', '--short-side', '64', '--device', 'cpu', *extra]


@pytest.mark.parametrize('kind', ['json', 'csv'])
def test_demo_draws_boxes_and_labels(inputs, load_demo, kind, capsys):
    config, video, tmp_path = inputs
    if kind == 'json':  # key frames 4 and 8 (frames 3 and 7); key frame 12 has nobody
        det = tmp_path / 'boxes.json'
        det.write_text(json.dumps({'3': [[10, 10, 40, 40, 0.99]], '7': [[10, 10, 40, 40]],
                                   '5': [[0, 0, 63, 47]]}))
    else:
        det = tmp_path / 'boxes.csv'
        det.write_text('3,10,10,40,40,0.99\n7,10,10,40,40\n7,0,0,63,47,0.5\n')
    demo = load_demo('demo_spatiotemporal_det')
    assert demo.main(_argv(config, video, det, tmp_path, '--action-score-thr', '0')) == 0
    assert '3 key frames' in capsys.readouterr().out
    out = read_video(tmp_path / 'out.mp4').astype(int)
    # timestamps 4, 8, 12 (window 8 in 16 frames), each shown as 4 / 2 = 2 frames
    assert len(out) == 6
    green = (out[..., 1] - out[..., 0] > 60) & (out[..., 1] - out[..., 2] > 60)
    # the box's left edge (x = 10) is green in the frames of key frames 4 and 8 only; the box
    # scored 0.5 is below --det-score-thr 0.9 and the frame-5 box is not a key frame's
    assert green[:4, 20:35, 9:12].any(axis=(1, 2)).all()
    assert not green[4:].any() and not green[:, :, 55:].any()
    # labels: every class scores above 0, so white text is drawn inside the box
    white = out[:, 14:36, 14:36].min(axis=-1) > 180
    assert white[:4].any(axis=(1, 2)).all() and not white[4:].any()
    # no score reaches 1: no text, the boxes alone
    assert demo.main(_argv(config, video, det, tmp_path, '--action-score-thr', '1')) == 0
    out = read_video(tmp_path / 'out.mp4').astype(int)
    assert not (out[:, 14:36, 14:36].min(axis=-1) > 180).any()
    assert ((out[:4, 20:35, 9:12, 1] - out[:4, 20:35, 9:12, 0]) > 60).any()


@pytest.mark.parametrize('name, text, message', [
    ('b.csv', '3,10,10,40\n', r'b\.csv: line 1: expected FRAME,x1,y1,x2,y2\[,score\]'),
    ('b.csv', '3,10,10,40,40\nx,1,1,2,2\n', r'b\.csv: line 2: the frame index must be an int'),
    ('b.csv', '3,10,10,4,40\n', r'b\.csv: line 1: x2 < x1'),
    ('b.json', '{"3": [[1, 2, "a", 4]]}', r"b\.json: frame '3': a box is 4 or 5 numbers"),
    ('b.json', '{"3": [[1, 2, 3]]}', r"b\.json: frame '3': a box is 4 or 5 finite"),
    ('b.json', '[1, 2]', r'b\.json: top level: expected an object'),
    ('b.json', '{"3": [7]}', r"b\.json: frame '3': a box is a list of 4 or 5 numbers, got 7"),
    ('b.json', '{"-1": []}', r"b\.json: frame '-1': the frame index must be >= 0"),
    ('b.json', '{"3": [', r'b\.json: line 1: not JSON'),
    ('b.txt', '', r"b\.txt': the suffix must be \.json or \.csv"),
])
def test_bad_box_files_are_refused_naming_file_and_row(inputs, load_demo, name, text, message):
    config, video, tmp_path = inputs
    (tmp_path / name).write_text(text)
    demo = load_demo('demo_spatiotemporal_det')
    with pytest.raises(ValueError, match=message):
        demo.main(_argv(config, video, tmp_path / name, tmp_path))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        demo.main(_argv(config, video, tmp_path / 'missing.json', tmp_path))
    assert not (tmp_path / 'out.mp4').exists()


def test_bad_label_map_and_step_sizes(inputs, load_demo):
    config, video, tmp_path = inputs
    (tmp_path / 'b.json').write_text('{}')
    (tmp_path / 'labels.txt').write_text('12: a12\nseventeen a17\n')
    demo = load_demo('demo_spatiotemporal_det')
    with pytest.raises(ValueError, match=r'labels\.txt: line 2: expected "ID: name"'):
        demo.main(_argv(config, video, tmp_path / 'b.json', tmp_path))
    with pytest.raises(SystemExit):
        demo.parse_args(_argv(config, video, tmp_path / 'b.json', tmp_path,
                              '--output-stepsize', '3'))


class _BrightBoxDetector:
    """A detector in torchvision's calling convention: the bounding box of the pixels above
    0.5 as a "person" (label 1) scored by their mean, and the whole image as a "car" (3)."""

    def __init__(self):
        self.seen = []

    def __call__(self, images):
        import torch
        out = []
        for image in images:
            assert image.dtype == torch.float32 and image.shape[0] == 3
            self.seen.append(float(image.max()))
            ys, xs = torch.nonzero(image.mean(0) > 0.5, as_tuple=True)
            person = torch.tensor([[xs.min(), ys.min(), xs.max(), ys.max()]], dtype=torch.float32)
            whole = torch.tensor([[0, 0, image.shape[2] - 1, image.shape[1] - 1]],
                                 dtype=torch.float32)
            out.append({'boxes': torch.cat([whole, person]), 'labels': torch.tensor([3, 1]),
                        'scores': torch.tensor([0.9, float(image.mean(0)[ys, xs].mean())])})
        return out


def test_detect_persons_keeps_the_person_class_per_key_frame(load_demo):
    demo = load_demo('demo_spatiotemporal_det')
    frames = np.zeros((6, 20, 30, 3), np.uint8)
    frames[2, 5:10, 7:21] = 204  # frame 2: a person at x 7..20, y 5..9, brightness 0.8
    frames[4, 0:3, 0:4] = 255
    detector = _BrightBoxDetector()
    boxes = demo.detect_persons(detector, frames, [2, 4], 'cpu')
    assert sorted(boxes) == [2, 4] and detector.seen == pytest.approx([0.8, 1.0])
    np.testing.assert_allclose(boxes[2], [[7, 5, 20, 9, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(boxes[4], [[0, 0, 3, 2, 1.0]])
    assert boxes[2].dtype == np.float32


def test_det_model_is_refused_clearly(inputs, load_demo):
    config, video, tmp_path = inputs
    demo = load_demo('demo_spatiotemporal_det')
    argv = _argv(config, video, 'unused', tmp_path)
    at = argv.index('--det-file')
    with pytest.raises(ValueError, match=r"--det-model 'yolo': expected torchvision:NAME"):
        demo.main(argv[:at] + ['--det-model', 'yolo'] + argv[at + 2:])
    if importlib.util.find_spec('torchvision') is None:
        with pytest.raises(ImportError, match='needs torchvision: pip install torchvision'):
            demo.main(argv[:at] + ['--det-model', 'torchvision:fasterrcnn_resnet50_fpn']
                      + argv[at + 2:])
    with pytest.raises(SystemExit):  # neither a box file nor a detector
        demo.parse_args(argv[:at] + argv[at + 2:])
    with pytest.raises(SystemExit):  # both
        demo.parse_args(argv + ['--det-model', 'torchvision:x'])
