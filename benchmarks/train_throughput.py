"""Benchmark: TSM-R50 1x1x8 training throughput (CPU or GPU), and how much of it waits for data.

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

On a GPU (``--device cuda``) each source/worker cell runs once per ``--modes`` entry: ``fp32``,
``amp`` (float16 autocast with a dynamic loss scale, the trainer's ``fp16`` setting) and
``amp+cl`` (AMP with channels-last convolutions, the ``channels_last=True`` config key), and the
table adds the GPU utilisation (NVML, sampled every 50 ms over the timed iterations) and the
peak memory. ``--mmaction-python PY`` also trains MMAction2 0.x's own TSM-R50 config
(``tsm_r50_1x1x8_50e_kinetics400_rgb.py``, same pipeline, batch, workers and data) in that
Python, in fp32 and with its ``fp16`` setting, and reads its times from its JSON log.

Run:
    python benchmarks/train_throughput.py             # ~2 min on an idle 2-core machine, ~5 busy
    python benchmarks/train_throughput.py --sources rawframes --workers 0 --iters 1  # smoke run
    python benchmarks/train_throughput.py --size 224 --iters 5 --threads 8   # a real machine
    python benchmarks/train_throughput.py --device cuda --size 224 --frame-size 256 \
        --iters 40 --warmup 8 --workers 12 --modes fp32 amp amp+cl \
        --mmaction-python /path/to/mmaction-venv/bin/python           # a GPU
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from actionkit.datasets import RawframeDataset, VideoDataset, build_dataloader
from actionkit.datasets.synthetic import make_synthetic_dataset
from actionkit.engine import HookBase, Trainer, build_optimizer
from actionkit.models import build_model
from actionkit.models.memory_format import to_channels_last

REPO = Path(__file__).resolve().parents[1]
MMACTION_SOURCE = REPO / '.cache' / 'mmaction2-0.24.1'
MMACTION_CONFIG = 'recognition/tsm/tsm_r50_1x1x8_50e_kinetics400_rgb.py'
MODES = ('fp32', 'amp', 'amp+cl', 'amp+cl+compile')

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
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' (cudnn.benchmark on)")
    parser.add_argument('--modes', nargs='+', default=['fp32'], choices=MODES,
                        help='precision / memory-format variants to time (amp: CUDA only)')
    parser.add_argument('--gen-workers', type=int, default=2,
                        help='processes that render the synthetic data')
    parser.add_argument('--mmaction-python', default=None,
                        help='a Python with mmcv 1.x (and mmaction, or see --mmaction-source): '
                             'also time MMAction2 0.x on the same data')
    parser.add_argument('--mmaction-source', default=str(MMACTION_SOURCE),
                        help='an unpacked MMAction2 0.x source tree put on its PYTHONPATH')
    args = parser.parse_args(argv)
    if args.device == 'cpu' and set(args.modes) - {'fp32'}:
        parser.error('--modes amp / amp+cl need --device cuda')
    return args


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
    """Keeps each iteration's ``time`` and ``data_time`` as the trainer measured them, the CPU
    time of this process per iteration (all its threads; not the loader workers), and, on a
    GPU, the utilisation sampled over the timed iterations."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.time: list[float] = []
        self.data_time: list[float] = []
        self.cpu: list[float] = []
        self.gpu = GpuSampler()
        self._cpu_mark = 0.0

    def before_epoch(self, trainer: Trainer) -> None:
        self._cpu_mark = time.process_time()

    def after_step(self, trainer: Trainer) -> None:
        self.time.append(trainer.log_buffer.val_history['time'][-1])
        self.data_time.append(trainer.log_buffer.val_history['data_time'][-1])
        now = time.process_time()
        self.cpu.append(now - self._cpu_mark)
        self._cpu_mark = now
        if len(self.time) == self.warmup and trainer.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(trainer.device)
            self.gpu.start()

    def after_epoch(self, trainer: Trainer) -> None:
        self.gpu.stop()


class GpuSampler:
    """GPU utilisation (%) read from NVML every ``period`` seconds in a thread; ``mean`` is NaN
    when NVML (the ``nvidia-ml-py`` package) is not there."""

    def __init__(self, period: float = 0.05) -> None:
        self.period = period
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            import pynvml
            pynvml.nvmlInit()
            index = torch.cuda.current_device()
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception:  # no NVML: leave the column empty
            return

        def sample() -> None:
            while not self._stop.wait(self.period):
                self.samples.append(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def mean(self) -> float:
        return statistics.mean(self.samples) if self.samples else float('nan')


def run(paths: dict[str, str], source: str, workers: int, mode: str,
        args: argparse.Namespace) -> dict:
    dataset_cls = VideoDataset if source == 'videos' else RawframeDataset
    dataset = dataset_cls(ann_file=paths[f'train_list_{source}'],
                          pipeline=train_pipeline(source, args.size, args.frame_size),
                          data_prefix=paths[f'{source}_root'])
    loader = build_dataloader(dataset, videos_per_gpu=args.batch, workers_per_gpu=workers,
                              seed=0, drop_last=True)
    torch.manual_seed(0)
    model = tsm_model(args.depth)
    if mode.startswith('amp+cl'):
        to_channels_last(model)
    model.to(args.device)
    if mode.endswith('+compile'):
        model.compile()  # in place: parameter names (and checkpoints) stay the same
    optimizer = build_optimizer(model, dict(
        type='SGD', constructor='TSMOptimizerConstructor', paramwise_cfg=dict(fc_lr5=True),
        lr=0.01, momentum=0.9, weight_decay=1e-4))
    timer = IterationTimes(args.warmup)
    fp16 = dict(loss_scale='dynamic') if mode != 'fp32' else None
    with tempfile.TemporaryDirectory() as work_dir:
        trainer = Trainer(model, optimizer, [loader], max_epochs=1, work_dir=work_dir,
                          hooks=[timer], grad_clip=dict(max_norm=20, norm_type=2), fp16=fp16)
        start = time.perf_counter()
        trainer.run()
        wall = time.perf_counter() - start
    times, data_times = timer.time[args.warmup:], timer.data_time[args.warmup:]
    memory = torch.cuda.max_memory_allocated() / 2**20 if args.device == 'cuda' else float('nan')
    return dict(impl='actionkit', source=source, workers=workers, mode=mode,
                clips_s=args.batch / statistics.mean(times), s_iter=statistics.mean(times),
                data_share=sum(data_times) / sum(times),
                cpu_iter=statistics.mean(timer.cpu[args.warmup:]), gpu_util=timer.gpu.mean,
                memory=memory, wall=wall)


# numpy aliases and a torchvision stand-in, sent ahead of the MMAction2 script
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

MMACTION_SCRIPT = MMACTION_COMPAT + r'''
import ast, json, os, sys, types
import numpy as np
import torch
import mmcv.parallel._functions as mmcv_functions
import mmaction
from mmcv import Config

_streams = {}


def _get_stream(device):  # mmcv 1.7.0 passes an int; torch >= 2.0 wants a torch.device
    index = device if isinstance(device, int) else device.index
    if index not in _streams:
        _streams[index] = torch.cuda.Stream(index)
    return _streams[index]


mmcv_functions._get_stream = _get_stream  # its scatter to the GPU fails on newer torch otherwise
from mmaction.apis import train_model
from mmaction.datasets import build_dataset
from mmaction.models import build_model

spec = json.loads(sys.argv[1])
torch.set_num_threads(spec['threads'])
torch.backends.cudnn.benchmark = True
root = os.path.join(os.path.dirname(mmaction.__file__), '.mim', 'configs')
cfg = Config.fromfile(os.path.join(root, spec['config']))
cfg.model.backbone.pretrained = None  # random weights: nothing downloaded
cfg.model.cls_head.num_classes = 10
cfg.model.backbone.depth = spec['depth']
cfg.model.cls_head.in_channels = 2048 if spec['depth'] >= 50 else 512
cfg.data.videos_per_gpu = spec['batch']
cfg.data.workers_per_gpu = spec['workers']
cfg.data.train = dict(type=spec['dataset'], ann_file=spec['ann_file'],
                      data_prefix=spec['data_prefix'],
                      pipeline=ast.literal_eval(spec['pipeline']))  # keeps tuples
cfg.total_epochs, cfg.workflow = 1, [('train', 1)]
cfg.log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
cfg.checkpoint_config = dict(interval=1000)
cfg.work_dir, cfg.gpu_ids, cfg.seed = spec['work_dir'], [0], 0
cfg.setdefault('omnisource', False)  # what its tools/train.py sets
cfg.setdefault('module_hooks', [])
if spec['fp16']:
    cfg.fp16 = dict(loss_scale=512.)
torch.manual_seed(0)
model = build_model(cfg.model)
train_model(model, [build_dataset(cfg.data.train)], cfg, validate=False, timestamp='bench',
            meta=dict())
rows = [json.loads(line) for line in open(os.path.join(cfg.work_dir, 'bench.log.json'))]
rows = [row for row in rows if row.get('mode') == 'train']
print('@@' + json.dumps(dict(time=[r['time'] for r in rows],
                             data_time=[r['data_time'] for r in rows],
                             memory=max([r.get('memory', 0) for r in rows] or [0]))))
'''


def run_mmaction(paths: dict[str, str], source: str, workers: int, mode: str,
                 args: argparse.Namespace) -> dict:
    """The same training in MMAction2 0.x (another Python), timed from its own JSON log;
    ``mode`` is ``'fp32'`` or ``'fp16'`` (its ``fp16 = dict(loss_scale=512.)``)."""
    pipeline = train_pipeline(source, args.size, args.frame_size)
    env = dict(os.environ)
    if Path(args.mmaction_source).is_dir():
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [args.mmaction_source,
                                                          env.get('PYTHONPATH')]))
    with tempfile.TemporaryDirectory() as work_dir:
        spec = dict(config=MMACTION_CONFIG, batch=args.batch, workers=workers,
                    dataset='VideoDataset' if source == 'videos' else 'RawframeDataset',
                    ann_file=paths[f'train_list_{source}'], data_prefix=paths[f'{source}_root'],
                    pipeline=repr(pipeline), work_dir=work_dir, fp16=mode == 'fp16',
                    threads=args.threads, depth=args.depth)
        start = time.perf_counter()
        proc = subprocess.run([args.mmaction_python, '-c', MMACTION_SCRIPT, json.dumps(spec)],
                              env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    found = [line[2:] for line in proc.stdout.splitlines() if line.startswith('@@')]
    if proc.returncode or not found:
        raise RuntimeError(f'MMAction2 run failed ({proc.returncode}):\n{proc.stderr[-3000:]}')
    result = json.loads(found[-1])
    times, data_times = result['time'][args.warmup:], result['data_time'][args.warmup:]
    return dict(impl='mmaction2', source=source, workers=workers, mode=mode,
                clips_s=args.batch / statistics.mean(times), s_iter=statistics.mean(times),
                data_share=sum(data_times) / sum(times), cpu_iter=float('nan'),
                gpu_util=float('nan'), memory=float(result['memory'] or 'nan'), wall=wall)


def _print_row(row: dict) -> None:
    print(f'{row["impl"]:<10} {row["source"]:<10} {row["workers"]:>7} {row["mode"]:<7} '
          f'{row["clips_s"]:>8.2f} {row["s_iter"]:>7.3f} {row["data_share"]:>10.1%} '
          f'{row["cpu_iter"]:>10.2f} {row["gpu_util"]:>8.0f} {row["memory"]:>9.0f}', flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: torch sees no GPU')
        torch.backends.cudnn.benchmark = True
    clips = args.batch * (args.iters + args.warmup)
    start = time.perf_counter()
    # one folder per set of parameters, so runs with other settings do not clash
    root = Path(args.data_dir) / f'{clips}clips_{args.frame_size}px_{"_".join(args.sources)}'
    paths = make_synthetic_dataset(root, num_train=clips, num_val=0, num_frames=32,
                                   size=args.frame_size, layouts=args.sources,
                                   workers=args.gen_workers, overwrite=True)  # its own folder
    print(f'synthetic data: {clips} clips of 32 frames at {args.frame_size}px in {root} '
          f'({time.perf_counter() - start:.1f} s)')
    where = torch.cuda.get_device_name() if args.device == 'cuda' else \
        f'CPU, {args.threads} torch threads'
    print(f'TSM-R{args.depth} 1x1x8, batch {args.batch}, crop {args.size}px, {where}, '
          f'{args.iters} timed iterations after {args.warmup}\n')
    header = (f'{"impl":<10} {"source":<10} {"workers":>7} {"mode":<7} {"clips/s":>8} '
              f'{"s/iter":>7} {"data share":>10} {"CPU s/iter":>10} {"GPU %":>8} '
              f'{"peak MiB":>9}')
    print(header)
    print('-' * len(header))
    for source in args.sources:
        for workers in args.workers:
            for mode in args.modes:
                try:
                    _print_row(run(paths, source, workers, mode, args))
                except Exception as exc:  # one failed variant should not hide the others
                    print(f'actionkit  {source:<10} {workers:>7} {mode:<7} failed: {exc!r}'[:300],
                          flush=True)
            if args.mmaction_python:
                for mode in sorted({'fp32' if m == 'fp32' else 'fp16' for m in args.modes}):
                    try:
                        _print_row(run_mmaction(paths, source, workers, mode, args))
                    except RuntimeError as exc:
                        print(f'mmaction2   {source:<10} {workers:>7} {mode:<7} failed: '
                              f'{str(exc).splitlines()[-1]}', flush=True)
                        print(exc, file=sys.stderr)


if __name__ == '__main__':
    main()
