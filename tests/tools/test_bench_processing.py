"""Tests of tools/analysis/bench_processing.py and actionkit/analysis/data_benchmark.py."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from actionkit.analysis.data_benchmark import benchmark_dataloading, subset_annotation_file
from actionkit.config import Config

REPO = Path(__file__).resolve().parents[2]

CONFIG = """
train_pipeline = [
    *{init!r},
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=2),
    *{decode!r},
    dict(type='Resize', scale=(-1, 24)),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
dataset = dict(type={dataset!r}, ann_file={ann!r}, data_prefix={prefix!r},
               pipeline=train_pipeline)
data = dict(videos_per_gpu=2, workers_per_gpu=2, train={train})
"""
VIDEO_DECODE = ([dict(type='PyAVInit')], [dict(type='PyAVDecode')])
FRAME_DECODE = ([], [dict(type='RawFrameDecode')])


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        '_bench_processing', REPO / 'tools' / 'analysis' / 'bench_processing.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(path: Path, decode: tuple[list, list], dataset: str, ann: str, prefix: str,
            repeat: bool = False) -> str:
    train = "dict(type='RepeatDataset', times=2, dataset=dataset)" if repeat else 'dataset'
    path.write_text(CONFIG.format(init=decode[0], decode=decode[1], dataset=dataset, ann=ann,
                                  prefix=prefix, train=train))
    return str(path)


def test_video_list(synthetic_data, tmp_path, capsys):
    config = _config(tmp_path / 'cfg.py', VIDEO_DECODE, 'VideoDataset',
                     synthetic_data['train_list_videos'], synthetic_data['videos_root'])
    # 14 videos = 7 batches of 2; the first 5 are warm-up
    assert load_tool().main([config, '--num-videos', '14']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ['batch', 'workers', 'batches', 'videos', 'seconds', 'videos/s',
                                'bad']
    batch, workers, batches, videos, seconds, rate, bad = lines[1].split()
    assert (batch, workers, batches, videos, bad) == ('2', '0', '2', '4', '0')
    assert float(rate) > 0 and float(seconds) >= 0


def test_json_rawframes_in_a_repeat_dataset(synthetic_data, tmp_path):
    records = [dict(frame_dir=d, total_frames=int(n), label=[int(lab)]) for d, n, lab in
               (line.split() for line in
                Path(synthetic_data['train_list_rawframes']).read_text().splitlines())]
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(records))
    cfg = Config.fromfile(_config(tmp_path / 'cfg.py', FRAME_DECODE, 'RawframeDataset',
                                  str(ann), synthetic_data['rawframes_root'], repeat=True))
    # 6 records, repeated twice: 6 batches of 2, one warm-up
    result = benchmark_dataloading(cfg, num_videos=6, num_warmup=1)
    assert (result.num_batches, result.num_videos, result.bad_samples) == (5, 10, 0)
    assert result.videos_per_s > 0
    assert cfg.data.train.dataset.ann_file == str(ann), 'the config is left unchanged'


def test_bad_samples_are_counted(synthetic_data, tmp_path):
    lines = Path(synthetic_data['train_list_videos']).read_text().splitlines()[:4]
    ann = tmp_path / 'list.txt'
    ann.write_text('\n'.join(lines + ['missing/none.mp4 0']) + '\n')
    cfg = Config.fromfile(_config(tmp_path / 'cfg.py', VIDEO_DECODE, 'VideoDataset', str(ann),
                                  synthetic_data['videos_root']))
    result = benchmark_dataloading(cfg, num_videos=100, num_warmup=0)
    assert (result.num_videos, result.bad_samples) == (4, 1)


def test_subset_and_errors(tmp_path, capsys):
    text = tmp_path / 'list.txt'
    text.write_text(''.join(f'v{i}.mp4 {i}\n' for i in range(10)))
    assert subset_annotation_file(text, tmp_path / 'a.txt', 3) == 3
    assert (tmp_path / 'a.txt').read_text() == 'v0.mp4 0\nv1.mp4 1\nv2.mp4 2\n'
    anet = tmp_path / 'anet.json'
    anet.write_text(json.dumps({f'v_{i}': {'duration_second': i} for i in range(5)}))
    assert subset_annotation_file(anet, tmp_path / 'b.json', 2) == 2
    assert list(json.loads((tmp_path / 'b.json').read_text())) == ['v_0', 'v_1']
    config = _config(tmp_path / 'cfg.py', VIDEO_DECODE, 'VideoDataset', str(text), '.')
    assert load_tool().main([config, '--num-videos', '4']) == 1
    assert 'warm-up' in capsys.readouterr().err
    missing = _config(tmp_path / 'cfg2.py', VIDEO_DECODE, 'VideoDataset',
                      str(tmp_path / 'nothing.txt'), '.')
    assert load_tool().main([missing]) == 1
    assert 'nothing.txt' in capsys.readouterr().err
