"""Tests of tools/analysis/*.py, the package logic behind them (actionkit/analysis/) and the
FLOPs counter (actionkit/analysis/flops.py)."""
from __future__ import annotations

import importlib.util
import json
import pickle
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from torch import nn

from actionkit.analysis.fusion import fuse_scores, fusion_accuracy, read_list_labels
from actionkit.analysis.logs import curve_panels, load_json_log, train_time_stats
from actionkit.analysis.results import load_results, score_matrix
from actionkit.analysis.videos import ProbeFrames, check_dataset, write_clean_list
from actionkit.config import Config
from actionkit.analysis.flops import (count_complexity, flops_to_string, get_model_complexity_info,
                                   params_to_string)
from actionkit.datasets.prep.video_io import write_video

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def load_tool(name: str) -> ModuleType:
    """Import ``tools/analysis/<name>.py`` as a module (to call its ``main(argv)``)."""
    spec = importlib.util.spec_from_file_location(f'_analysis_{name}',
                                                  REPO / 'tools' / 'analysis' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_png(path: Path) -> None:
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f'{path} is not a PNG'
    width, height = int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')
    assert width >= 300 and height >= 200 and len(data) > 5000, (width, height, len(data))


TINY_MODEL = """
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, pretrained=None),
    cls_head=dict(type='TSNHead', num_classes={num_classes}, in_channels=512,
                  dropout_ratio=0.0),
    test_cfg=dict(average_clips='prob'))
"""
VIDEO_DATA = """
pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='Normalize', mean=[128, 128, 128], std=[64, 64, 64], to_bgr=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
data = dict(
    videos_per_gpu=1, workers_per_gpu=0,
    train=dict(type='VideoDataset', ann_file={ann!r}, data_prefix={prefix!r},
               pipeline=pipeline),
    test=dict(type='VideoDataset', ann_file={ann!r}, data_prefix={prefix!r},
              pipeline=pipeline))
evaluation = dict(interval=1, metrics=['top_k_accuracy'])
"""


def write_config(path: Path, ann: str, prefix: str | None, num_classes: int = 10) -> str:
    path.write_text(TINY_MODEL.format(num_classes=num_classes)
                    + VIDEO_DATA.format(ann=str(ann), prefix=prefix))
    return str(path)


# ----------------------------------------------------------------------------- training logs

# epoch e: five training records (iter 20..100) whose first 'time' is a 5 s outlier, then a
# validation record; epoch 2 is the slowest, epoch 1 the fastest
EPOCH_TIMES = {1: 1.0, 2: 2.0, 3: 1.5}


@pytest.fixture
def json_log(tmp_path: Path) -> Path:
    lines = [json.dumps(dict(env_info='CPU', seed=0, config_name='tsn_tiny'))]
    for epoch, time in EPOCH_TIMES.items():
        for i, it in enumerate(range(20, 101, 20)):
            lines.append(json.dumps(dict(
                mode='train', epoch=epoch, iter=it, lr=0.01, memory=100, data_time=0.1,
                loss_cls=3.0 - epoch - it / 100, top1_acc=0.1 * epoch, loss=3.0 - epoch,
                time=5.0 if i == 0 else time)))
        lines.append(json.dumps(dict(mode='val', epoch=epoch, iter=10, lr=0.01,
                                     top1_acc=0.3 * epoch, mean_class_accuracy=0.25 * epoch)))
    path = tmp_path / '20240101_000000.log.json'
    path.write_text('\n'.join(lines) + '\n\n')
    return path


def test_load_json_log_and_curves(json_log):
    log = load_json_log(json_log)
    assert log.meta['config_name'] == 'tsn_tiny' and len(log.records) == 18
    assert log.iters_per_epoch() == 100
    xs, ys = log.curve('loss_cls')
    assert xs.tolist() == [20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240, 260, 280, 300]
    assert ys[0] == pytest.approx(1.8) and ys[-1] == pytest.approx(-1.0)
    xs, ys = log.curve('top1_acc', 'val')
    assert xs.tolist() == [100, 200, 300] and ys == pytest.approx([0.3, 0.6, 0.9])
    assert log.modes_of('top1_acc') == ['train', 'val']
    assert 'mean_class_accuracy' in log.keys('val') and 'mean_class_accuracy' not in log.keys(
        'train')
    with pytest.raises(KeyError, match="no 'train' records with 'mean_class_accuracy'"):
        log.curve('mean_class_accuracy', 'train')


def test_curve_panels(json_log, tmp_path):
    other = tmp_path / 'b' / json_log.name
    other.parent.mkdir()
    other.write_text(json_log.read_text())
    logs = [load_json_log(json_log), load_json_log(other)]
    panels = curve_panels(logs, ['top1_acc', 'val/mean_class_accuracy'])
    labels = [label for label, _, _ in panels['top1_acc']]
    assert len(labels) == 4 and labels[0].endswith('(train)') and labels[1].endswith('(val)')
    assert labels[0] != labels[2], 'logs with the same file name must get different labels'
    assert [label for label, _, _ in panels['val/mean_class_accuracy']][0].endswith('(val)')
    named = curve_panels(logs, ['loss_cls'], legend=['run1', 'run2'])
    assert [label for label, _, _ in named['loss_cls']] == ['run1', 'run2']
    with pytest.raises(ValueError, match='2 log'):
        curve_panels(logs, ['loss_cls'], legend=['only one'])
    with pytest.raises(KeyError, match="no records with 'top9_acc'.*loss_cls"):
        curve_panels(logs, ['top9_acc'])


def test_train_time_stats(json_log):
    log = load_json_log(json_log)
    stats = train_time_stats(log)
    means = list(EPOCH_TIMES.values())
    assert (stats.slowest_epoch, stats.fastest_epoch) == (2, 1)
    assert stats.slowest_time == pytest.approx(2.0) and stats.fastest_time == pytest.approx(1.0)
    assert stats.std_over_epochs == pytest.approx(np.std(means))
    assert stats.mean_iter_time == pytest.approx(np.mean(means))
    with_outliers = train_time_stats(log, include_outliers=True)
    assert with_outliers.mean_iter_time == pytest.approx(np.mean([(5 + 4 * t) / 5
                                                                  for t in means]))


def test_malformed_log_names_file_and_line(tmp_path):
    path = tmp_path / 'bad.log.json'
    path.write_text('{"mode": "train", "epoch": 1, "iter": 1}\n{not json\n')
    with pytest.raises(ValueError, match=r'bad\.log\.json:2: not a JSON object'):
        load_json_log(path)
    with pytest.raises(FileNotFoundError, match='missing.log.json'):
        load_json_log(tmp_path / 'missing.log.json')


def test_analyze_logs_cli(json_log, tmp_path, capsys):
    tool = load_tool('analyze_logs')
    out = tmp_path / 'curves.png'
    assert tool.main(['plot_curve', str(json_log), '--keys', 'loss_cls', 'top1_acc',
                      '--title', 'tiny run', '--out', str(out)]) == 0
    assert_png(out)
    assert tool.main(['cal_train_time', str(json_log)]) == 0
    printed = capsys.readouterr().out
    assert 'slowest epoch 2, average time is 2.0000' in printed
    assert 'fastest epoch 1, average time is 1.0000' in printed
    assert 'average iter time: 1.5000 s/iter' in printed
    assert tool.main(['plot_curve', str(json_log), '--keys', 'nope', '--out', str(out)]) == 1
    assert "no records with 'nope'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- results files


def test_load_results_formats(tmp_path):
    scores = [np.array([0.1, 0.7, 0.2], np.float32), np.array([0.5, 0.25, 0.25], np.float32)]
    for protocol in (2, 4, 5):
        path = tmp_path / f'r{protocol}.pkl'
        path.write_bytes(pickle.dumps(scores, protocol=protocol))
        assert score_matrix(load_results(path)) == pytest.approx(np.stack(scores))
    (tmp_path / 'r.json').write_text(json.dumps([s.tolist() for s in scores]))
    (tmp_path / 'r.yaml').write_text('- [0.1, 0.7, 0.2]\n- [0.5, 0.25, 0.25]\n')
    for name in ('r.json', 'r.yaml'):
        assert score_matrix(load_results(tmp_path / name)) == pytest.approx(np.stack(scores))
    with pytest.raises(ValueError, match='suffix'):
        load_results(tmp_path / 'r.txt')
    with pytest.raises(ValueError, match='different lengths'):
        score_matrix([[1, 2], [1, 2, 3]], 'mixed.json')


class _Exploit:
    def __reduce__(self):
        return (print, ('this must not run',))


def test_load_results_refuses_code_in_pickles(tmp_path, capsys):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([np.zeros(3), _Exploit()]))
    with pytest.raises(pickle.UnpicklingError, match='builtins.print.*allow_pickle'):
        load_results(path)
    assert 'this must not run' not in capsys.readouterr().out
    load_results(path, allow_pickle=True)
    assert 'this must not run' in capsys.readouterr().out


# ----------------------------------------------------------------------------- score fusion


def test_fusion(tmp_path):
    rgb = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 0.5], [0.0, 0.2, 0.1]])
    flow = np.array([[0.0, 5.0, 0.0], [0.0, 0.0, 1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 4.0]])
    labels = [0, 1, 0, 2]
    fused = fuse_scores([rgb, flow], [1.0, 0.5])
    assert fused == pytest.approx(rgb + 0.5 * flow)
    soft = fuse_scores([list(rgb), list(flow)], [1, 1], apply_softmax=True)
    expected = sum(np.exp(s) / np.exp(s).sum(1, keepdims=True) for s in (rgb, flow))
    assert soft == pytest.approx(expected)
    metrics = fusion_accuracy([rgb, flow], labels, [1.0, 0.5], topk=(1, 2))
    top1 = np.mean((rgb + 0.5 * flow).argmax(1) == labels)
    assert metrics['top1_acc'] == pytest.approx(top1) and list(metrics)[0] == \
        'mean_class_accuracy'
    with pytest.raises(ValueError, match='one coefficient per score file'):
        fuse_scores([rgb, flow], [1.0])
    with pytest.raises(ValueError, match=r'b\.pkl has 3 samples'):
        fuse_scores([rgb, flow[:3]], names=['a.pkl', 'b.pkl'])


def test_report_accuracy_cli(tmp_path, capsys):
    rgb = np.eye(4)[[0, 1, 3, 3]] * 0.9 + 0.025  # right on samples 0, 1, 3
    flow = np.eye(4)[[0, 2, 2, 3]] * 0.9 + 0.025  # right on samples 0, 2, 3
    for name, scores in (('rgb.pkl', rgb), ('flow.pkl', flow)):
        (tmp_path / name).write_bytes(pickle.dumps(list(scores)))
    (tmp_path / 'list.txt').write_text('a 10 0\nb 12 1\n\nc 9 2\nd 11 3\n')
    assert read_list_labels(tmp_path / 'list.txt') == [0, 1, 2, 3]
    tool = load_tool('report_accuracy')
    argv = ['--scores', str(tmp_path / 'rgb.pkl'), str(tmp_path / 'flow.pkl'),
            '--datalist', str(tmp_path / 'list.txt'), '--coefficients', '1', '2']
    assert tool.main(argv) == 0
    printed = capsys.readouterr().out
    # fused: rgb + 2 flow is right wherever flow is (3 of 4)
    assert 'Top 1 Accuracy: 0.7500' in printed
    assert re.search(r'\[1\] .*rgb\.pkl\s+0\.7500', printed)
    (tmp_path / 'bad.txt').write_text('a 10 zero\n')
    assert tool.main(['--scores', str(tmp_path / 'rgb.pkl'), '--datalist',
                      str(tmp_path / 'bad.txt')]) == 1
    assert "bad.txt:1: expected the label" in capsys.readouterr().err


# ----------------------------------------------------------------------------- re-scoring


@pytest.fixture
def scored_config(tmp_path: Path) -> tuple[str, Path]:
    """A config whose test list has labels 0, 1, 2, 1, 2 and a results file scoring it: the top-1
    predictions are 0, 1, 1, 1, 2 (one error), sample 2's second choice is its label."""
    (tmp_path / 'test.txt').write_text('a.mp4 0\nb.mp4 1\nc.mp4 2\nd.mp4 1\ne.mp4 2\n')
    cfg = write_config(tmp_path / 'cfg.py', tmp_path / 'test.txt', str(tmp_path), num_classes=3)
    results = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.6, 0.3], [0.2, 0.7, 0.1],
               [0.1, 0.1, 0.8]]
    (tmp_path / 'results.json').write_text(json.dumps(results))
    return cfg, tmp_path / 'results.json'


def test_eval_metric_cli(scored_config, capsys):
    cfg, results = scored_config
    tool = load_tool('eval_metric')
    assert tool.main([cfg, str(results), '--eval', 'top_k_accuracy', 'mean_class_accuracy',
                      '--eval-options', 'metric_options.top_k_accuracy.topk=(1,2)']) == 0
    printed = capsys.readouterr().out
    assert re.search(r'top1_acc\s+0\.8000', printed)
    assert re.search(r'top2_acc\s+1\.0000', printed)
    assert re.search(r'mean_class_accuracy\s+0\.8333', printed)  # (1 + 1 + 1/2) / 3
    assert tool.main([cfg, str(results)]) == 0  # the config's evaluation.metrics
    assert 'top5_acc' in capsys.readouterr().out
    Path(results).write_text(json.dumps([[1, 0, 0]] * 4))
    assert tool.main([cfg, str(results)]) == 1
    assert '4 entries but data.test' in capsys.readouterr().err


def test_confusion_matrix_cli(scored_config, tmp_path, capsys):
    cfg, results = scored_config
    (tmp_path / 'labels.txt').write_text('walk\nrun\njump\n')
    tool = load_tool('confusion_matrix')
    out, csv = tmp_path / 'cm.png', tmp_path / 'cm.csv'
    assert tool.main([cfg, str(results), '--label-map', str(tmp_path / 'labels.txt'),
                      '--out', str(out), '--save-matrix', str(csv)]) == 0
    assert_png(out)
    rows = [line.split(',') for line in csv.read_text().splitlines()]
    assert rows[0] == ['true\\pred', '"walk"', '"run"', '"jump"']
    assert [[int(v) for v in row[1:]] for row in rows[1:]] == [[1, 0, 0], [0, 2, 0], [0, 1, 1]]
    assert 'accuracy (trace / total): 0.8000' in capsys.readouterr().out
    assert tool.main([cfg, str(results), '--normalize', 'true', '--out', str(out),
                      '--save-matrix', str(csv)]) == 0
    last = csv.read_text().splitlines()[-1].split(',')
    assert [float(v) for v in last[1:]] == [0, 0.5, 0.5] and last[0] == '"2"'


# ----------------------------------------------------------------------------- check videos


@pytest.fixture
def video_list(tmp_path: Path) -> tuple[str, Path]:
    """Videos: three good ones, an empty file, a truncated one and a missing one."""
    root = tmp_path / 'videos'
    frames = np.random.default_rng(0).integers(0, 255, (12, 32, 32, 3), dtype=np.uint8)
    for name in ('good0.mp4', 'good1.mp4', 'good2.mp4'):
        write_video(root / name, frames, fps=25, gop=4)
    (root / 'empty.mp4').write_bytes(b'')
    data = (root / 'good0.mp4').read_bytes()
    (root / 'truncated.mp4').write_bytes(data[:len(data) // 3])
    names = ['good0.mp4', 'empty.mp4', 'good1.mp4', 'truncated.mp4', 'gone.mp4', 'good2.mp4']
    (tmp_path / 'train.txt').write_text('\n'.join(f'{n} {i % 3}' for i, n in enumerate(names))
                                        + '\n\n')
    return write_config(tmp_path / 'cfg.py', tmp_path / 'train.txt', str(root)), tmp_path


def test_probe_frames():
    results = ProbeFrames(5)(dict(total_frames=101, start_index=1))
    assert results['frame_inds'].tolist() == [1, 26, 51, 76, 101]
    assert ProbeFrames(5)(dict(total_frames=2))['frame_inds'].tolist() == [0, 1]
    with pytest.raises(ValueError, match='num_frames'):
        ProbeFrames(1)


def test_check_dataset_finds_bad_videos(video_list):
    cfg_file, root = video_list
    report = check_dataset(Config.fromfile(cfg_file), 'train')
    assert report.total == 6 and report.decoder == 'PyAV'
    assert [bad.index for bad in report.bad] == [1, 3, 4]
    assert [Path(bad.path).name for bad in report.bad] == ['empty.mp4', 'truncated.mp4',
                                                           'gone.mp4']
    assert all(bad.reason for bad in report.bad)
    assert write_clean_list(report, root / 'clean.txt') == 3
    assert (root / 'clean.txt').read_text() == 'good0.mp4 0\ngood1.mp4 2\ngood2.mp4 2\n'


def test_check_videos_cli_in_parallel(video_list, capsys):
    cfg_file, root = video_list
    tool = load_tool('check_videos')
    clean, invalid = root / 'out' / 'clean.txt', root / 'out' / 'invalid.txt'
    status = tool.main([cfg_file, '--decoder', 'opencv', '--num-processes', '2',
                        '--output-file', str(clean), '--invalid-file', str(invalid)])
    assert status == tool.EXIT_BAD_SAMPLES
    assert clean.read_text().split() == ['good0.mp4', '0', 'good1.mp4', '2', 'good2.mp4', '2']
    bad = [line.split('\t') for line in invalid.read_text().splitlines()]
    assert [Path(path).name for path, _ in bad] == ['empty.mp4', 'truncated.mp4', 'gone.mp4']
    printed = capsys.readouterr().out
    assert 'Checked 6 samples' in printed and '3 unreadable' in printed and 'OpenCV' in printed
    assert tool.main([cfg_file, '--split', 'val']) == 1
    assert 'no data.val section' in capsys.readouterr().err


def test_check_dataset_rawframes(tmp_path):
    import cv2

    for name, count in (('ok', 4), ('short', 2)):
        (tmp_path / name).mkdir()
        for i in range(1, count + 1):
            image = np.full((8, 8, 3), 9 * i, np.uint8)
            cv2.imwrite(str(tmp_path / name / f'img_{i:05d}.jpg'), image)
    (tmp_path / 'list.txt').write_text('ok 4 0\nshort 4 1\n')
    cfg = Config(dict(data=dict(train=dict(
        type='RawframeDataset', ann_file=str(tmp_path / 'list.txt'), data_prefix=str(tmp_path),
        pipeline=[dict(type='SampleFrames', clip_len=1, num_clips=1),
                  dict(type='RawFrameDecode')]))))
    report = check_dataset(cfg, 'train')
    assert report.decoder == 'RawFrame' and [bad.index for bad in report.bad] == [1]
    assert 'short/img_00003.jpg' in report.bad[0].reason  # the first frame past the end
    with pytest.raises(ValueError, match='rawframe folders'):
        check_dataset(cfg, 'train', decoder='pyav')


# ----------------------------------------------------------------------------- FLOPs


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = self.pool(self.relu(self.bn(self.conv(x))))
        return self.fc(self.gap(x).flatten(1))


def test_flops_rules_by_hand():
    result = count_complexity(_Tiny().eval(), torch.zeros(1, 3, 8, 8))
    conv = 4 * 8 * 8 * (3 * 3 * 3) + 4 * 8 * 8  # outputs x (in x k x k) + bias
    expected = {'Conv2d': conv, 'BatchNorm2d': 2 * 256, 'ReLU': 256, 'MaxPool2d': 256,
                'AdaptiveAvgPool2d': 64, 'Linear': 4 * 5}
    assert result.flops_by_op == expected
    assert result.flops == sum(expected.values())
    assert result.params == (3 * 9 * 4 + 4) + 2 * 4 + (4 * 5 + 5)
    assert result.flops_by_module['conv'] == conv
    rows = {name: (flops, params) for name, flops, params in result.grouped(1)}
    assert rows['fc'] == (20, 25)
    assert 'conv' in result.table() and 'total' in result.table()


def test_flops_grouped_convs_deconvs_attention_and_matmuls():
    conv3d = nn.Conv3d(4, 8, (3, 1, 1), groups=2, bias=False)
    # output [1, 8, 2, 5, 5]; each output reads in_channels / groups x kernel = 2 x 3 inputs
    assert count_complexity(conv3d, torch.zeros(1, 4, 4, 5, 5)).flops == 8 * 2 * 25 * 2 * 3
    deconv = nn.ConvTranspose2d(2, 3, 2, stride=2, bias=False)
    assert count_complexity(deconv, torch.zeros(1, 2, 4, 4)).flops == 32 * 3 * 4
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q = torch.zeros(2, 5, 8)
    # q, k, v and out projections: 4 x tokens x 8 x 8; q k^T and attn v: 2 x tokens x 5 x 8
    assert count_complexity(mha, (q, q, q)).flops == 4 * 10 * 64 + 2 * 10 * 5 * 8

    class Attention(nn.Module):
        def forward(self, a, b):
            x = a @ b + torch.matmul(a, b) + torch.einsum('bij,bjk->bik', a, b)
            return x, nn.functional.scaled_dot_product_attention(a, a, a)

    a, b = torch.zeros(2, 3, 4), torch.zeros(2, 4, 5)
    result = count_complexity(Attention(), (a, b))
    assert result.flops_by_op == {'matmul': 2 * 2 * 3 * 4 * 5, 'einsum': 2 * 3 * 4 * 5,
                                  'scaled_dot_product_attention': 2 * 3 * 3 * (4 + 4)}
    assert count_complexity(Attention(), (a, b), count_functional=False).flops == 0


# (config, input of one sample, FLOPs and parameters in MMAction2 0.24.1's metafile.yml)
ZOO = [
    ('i3d/i3d_r50_32x2x1_100e_kinetics400_rgb.py', (1, 3, 32, 256, 256), 43564040192, 28043472),
    ('i3d/i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb.py', (1, 3, 32, 256, 256),
     54334488576, 35397840),
    ('r2plus1d/r2plus1d_r34_8x8x1_180e_kinetics400_rgb.py', (1, 3, 8, 256, 256), 53175572992,
     63759281),
    ('slowfast/slowfast_r50_4x16x1_256e_kinetics400_rgb.py', (1, 3, 32, 256, 256), 36441296896,
     34479288),
]


@pytest.mark.slow
def test_flops_match_the_mmaction2_model_zoo():
    """Module-only counting reproduces MMAction2's published FLOPs and parameters exactly. On
    the meta device nothing is computed, so the big inputs cost nothing."""
    from actionkit.models import build_model

    for config, shape, flops, params in ZOO:
        cfg = Config.fromfile(REPO / 'configs' / 'recognition' / config)
        for part in (cfg.model.backbone, *(cfg.model.backbone.get(k) or {} for k in
                                           ('slow_pathway', 'fast_pathway'))):
            if 'pretrained' in part:
                part['pretrained'] = None
        with torch.device('meta'):
            model = build_model(cfg.model).eval()
        result = count_complexity(model, torch.zeros((1, *shape), device='meta'),
                                  count_functional=False)
        assert (result.flops, result.params) == (flops, params), config
        if 'nl_' in config:  # the non-local blocks' attention products come on top
            assert count_complexity(model, torch.zeros((1, *shape), device='meta')).flops > \
                flops * 1.05
    # tsn/metafile.yml: 32959827968 for TSN R-50 on 8 frames of 224x224 with 400 classes
    with torch.device('meta'):
        tsn = build_model(dict(
            type='Recognizer2D', backbone=dict(type='ResNet', depth=50, pretrained=None),
            cls_head=dict(type='TSNHead', num_classes=400, in_channels=2048))).eval()
    assert get_model_complexity_info(tsn, (8, 3, 224, 224), as_strings=False,
                                     input_constructor=lambda shape: torch.zeros(
                                         (1, *shape), device='meta'))[0] == 32959827968


def test_flops_strings():
    assert flops_to_string(4119775744) == '4.12 G'
    assert params_to_string(25557032) == '25.56 M'
    assert params_to_string(128) == '128'
    assert flops_to_string(1.5e6, unit='K', precision=0) == '1500 K'
    with pytest.raises(ValueError, match='unit'):
        flops_to_string(1, unit='X')


def test_get_flops_cli(tmp_path, capsys):
    (tmp_path / 'list.txt').write_text('a.mp4 0\n')
    cfg = write_config(tmp_path / 'cfg.py', tmp_path / 'list.txt', None)
    tool = load_tool('get_flops')
    assert tool.main([cfg, '--shape', '32', '32']) == 0
    printed = capsys.readouterr().out
    assert 'Input shape: (1, 3, 32, 32)' in printed
    from actionkit.models import build_model

    model = build_model(Config.fromfile(cfg).model).eval()
    expected = count_complexity(model, torch.zeros(1, 1, 3, 32, 32))
    assert f'Flops: {flops_to_string(expected.flops)}FLOPs' in printed
    assert re.search(r'^backbone\s', printed, re.M) and re.search(r'^cls_head\s', printed, re.M)
    assert tool.input_shape([224], is_3d=True) == (1, 3, 32, 224, 224)
    assert tool.input_shape([3, 3, 8, 64, 64], is_3d=True) == (3, 3, 8, 64, 64)
    assert tool.main([cfg, '--shape', '1', '2', '3']) == 1
    assert '1, 2, 4 or 5 numbers' in capsys.readouterr().err


# ----------------------------------------------------------------------------- benchmark


def test_benchmark_cli(synthetic_data, tmp_path, capsys):
    cfg = write_config(tmp_path / 'cfg.py', synthetic_data['val_list_videos'],
                       synthetic_data['videos_root'])
    tool = load_tool('benchmark')
    # 12 timed videos cycle through the 10 of the list
    assert tool.main([cfg, '--num-iters', '12', '--num-warmup', '1', '--log-interval', '4',
                      '--device', 'cpu', '--workers', '0', '--threads', '1']) == 0
    printed = capsys.readouterr().out
    assert len(re.findall(r'Done video \[\s*\d+/12\]', printed)) == 3
    assert 'input per video: [1, 3, 3, 32, 32], torch threads: 1' in printed
    rate, forward_rate = map(float, re.search(r'^\s+12\s+([\d.]+)\s+([\d.]+)', printed,
                                              re.M).groups())
    assert 0 < rate <= forward_rate
