"""Benchmark: TSM-R50 1x1x8 training throughput on CPU, and how much of it waits for data.

Trains TSM-R50 (8 segments x 1 frame, batch ``--batch``, TSM's SGD groups, gradient clipping)
with :class:`actionkit.engine.Trainer` on the synthetic action dataset, from videos (PyAV) and
from rawframes (JPEG), with 0 and 2 data-loader workers, and reports per configuration:

* ``clips/s``: training clips per second of wall-clock time (after ``--warmup`` iterations);
* ``s/iter``: seconds per iteration (``time`` in the training log);
* ``data share``: ``data_time / time``, the part of an iteration spent waiting for the batch;
* ``CPU s/iter``: CPU seconds of the training process per iteration (all its threads; loader
  workers not included), which other jobs on a shared machine do not inflate.

The training pipeline is TSM's (MultiScaleCrop, Resize, Flip, Normalize), at ``--size``
pixels instead of 224 so a CPU run stays short. The dataset is generated once under
``--data-dir`` (kept there for later runs with the same settings).

A TSM-R50 step on 8 clips x 8 frames costs about 8 s of CPU time even at 64 px, so the default
run does 3 iterations per configuration (12 in all).

Run:
    python benchmarks/train_throughput.py             # ~2 min on an idle 2-core machine, ~5 busy
    python benchmarks/train_throughput.py --sources rawframes --workers 0 --iters 1  # smoke run
    python benchmarks/train_throughput.py --size 224 --iters 5 --threads 8   # a real machine
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from actionkit.datasets import RawframeDataset, VideoDataset, build_dataloader
from actionkit.datasets.synthetic import make_synthetic_dataset
from actionkit.engine import HookBase, Trainer, build_optimizer
from actionkit.models import build_model

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8, help='clips per iteration')
    parser.add_argument('--iters', type=int, default=2, help='timed iterations per run')
    parser.add_argument('--warmup', type=int, default=1, help='untimed first iterations')
    parser.add_argument('--size', type=int, default=64, help='training crop size (TSM: 224)')
    parser.add_argument('--frame-size', type=int, default=128, help='synthetic frame size')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2])
    parser.add_argument('--sources', nargs='+', default=['videos', 'rawframes'],
                        choices=['videos', 'rawframes'])
    parser.add_argument('--depth', type=int, default=50, help='ResNet depth of the TSM backbone')
    parser.add_argument('--threads', type=int, default=2, help='torch threads of the trainer')
    parser.add_argument('--data-dir', default=os.path.join(tempfile.gettempdir(),
                                                           'actionkit_bench_synthetic'))
    return parser.parse_args(argv)


def tsm_model(depth: int) -> torch.nn.Module:
    """configs/_base_/models/tsm_r50.py with random weights (nothing downloaded), 10 classes."""
    in_channels = 2048 if depth >= 50 else 512
    return build_model(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTSM', depth=depth, pretrained=None, norm_eval=False,
                      shift_div=8, num_segments=8),
        cls_head=dict(type='TSMHead', num_classes=10, in_channels=in_channels, num_segments=8,
                      spatial_type='avg', consensus=dict(type='AvgConsensus', dim=1),
                      dropout_ratio=0.5, init_std=0.001, is_shift=True),
        test_cfg=dict(average_clips='prob')))


def train_pipeline(source: str, size: int, frame_size: int) -> list[dict]:
    """TSM's training pipeline (configs/recognition/tsm), scaled to ``size``."""
    decode = [dict(type='PyAVInit'), dict(type='SampleFrames', clip_len=1, frame_interval=1,
                                          num_clips=8), dict(type='PyAVDecode')]
    if source == 'rawframes':
        decode = [dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
                  dict(type='RawFrameDecode')]
    return decode + [
        dict(type='Resize', scale=(-1, frame_size)),
        dict(type='MultiScaleCrop', input_size=size, scales=(1, 0.875, 0.75, 0.66),
             random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
        dict(type='Resize', scale=(size, size), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='Normalize', **NORM),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
        dict(type='ToTensor', keys=['imgs', 'label']),
    ]


class IterationTimes(HookBase):
    """Keeps each iteration's ``time`` and ``data_time`` as the trainer measured them, and the
    CPU time of this process (all its threads; not the loader workers) per iteration."""

    def __init__(self) -> None:
        self.time: list[float] = []
        self.data_time: list[float] = []
        self.cpu: list[float] = []
        self._cpu_mark = 0.0

    def before_epoch(self, trainer: Trainer) -> None:
        self._cpu_mark = time.process_time()

    def after_step(self, trainer: Trainer) -> None:
        self.time.append(trainer.log_buffer.val_history['time'][-1])
        self.data_time.append(trainer.log_buffer.val_history['data_time'][-1])
        now = time.process_time()
        self.cpu.append(now - self._cpu_mark)
        self._cpu_mark = now


def run(paths: dict[str, str], source: str, workers: int, args: argparse.Namespace) -> dict:
    dataset_cls = VideoDataset if source == 'videos' else RawframeDataset
    dataset = dataset_cls(ann_file=paths[f'train_list_{source}'],
                          pipeline=train_pipeline(source, args.size, args.frame_size),
                          data_prefix=paths[f'{source}_root'])
    loader = build_dataloader(dataset, videos_per_gpu=args.batch, workers_per_gpu=workers,
                              seed=0, drop_last=True)
    torch.manual_seed(0)
    model = tsm_model(args.depth)
    optimizer = build_optimizer(model, dict(
        type='SGD', constructor='TSMOptimizerConstructor', paramwise_cfg=dict(fc_lr5=True),
        lr=0.01, momentum=0.9, weight_decay=1e-4))
    timer = IterationTimes()
    with tempfile.TemporaryDirectory() as work_dir:
        trainer = Trainer(model, optimizer, [loader], max_epochs=1, work_dir=work_dir,
                          hooks=[timer], grad_clip=dict(max_norm=20, norm_type=2))
        start = time.perf_counter()
        trainer.run()
        wall = time.perf_counter() - start
    times, data_times = timer.time[args.warmup:], timer.data_time[args.warmup:]
    return dict(source=source, workers=workers, clips_s=args.batch / statistics.mean(times),
                s_iter=statistics.mean(times), data_share=sum(data_times) / sum(times),
                cpu_iter=statistics.mean(timer.cpu[args.warmup:]), wall=wall)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    clips = args.batch * (args.iters + args.warmup)
    start = time.perf_counter()
    # one folder per set of parameters, so runs with other settings do not clash
    root = Path(args.data_dir) / f'{clips}clips_{args.frame_size}px_{"_".join(args.sources)}'
    paths = make_synthetic_dataset(root, num_train=clips, num_val=0, num_frames=32,
                                   size=args.frame_size, layouts=args.sources, workers=2)
    print(f'synthetic data: {clips} clips of 32 frames at {args.frame_size}px in {root} '
          f'({time.perf_counter() - start:.1f} s)')
    print(f'TSM-R{args.depth} 1x1x8, batch {args.batch}, crop {args.size}px, '
          f'{args.threads} torch threads, {args.iters} timed iterations after {args.warmup}\n')
    header = (f'{"source":<10} {"workers":>7} {"clips/s":>8} {"s/iter":>7} {"data share":>10} '
              f'{"CPU s/iter":>10}')
    print(header)
    print('-' * len(header))
    for source in args.sources:
        for workers in args.workers:
            row = run(paths, source, workers, args)
            print(f'{row["source"]:<10} {row["workers"]:>7} {row["clips_s"]:>8.2f} '
                  f'{row["s_iter"]:>7.2f} {row["data_share"]:>10.1%} {row["cpu_iter"]:>10.2f}',
                  flush=True)


if __name__ == '__main__':
    main()
