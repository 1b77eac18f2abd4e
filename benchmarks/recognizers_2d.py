"""Benchmark: 2D recognizers' inference and training-step speed, and checkpoint loading (CPU).

Builds TSN-R50 and TSM-R50 (configs/_base_/models/tsn_r50.py, tsm_r50.py) and, with
``--models``, the other 2D recognizers from their shipped configs (TSM-MobileNetV2, TRN, TANet,
TIN, TPN-TSM; all of 8 segments), with random weights (nothing downloaded), and times, on one
clip of ``--frames`` frames of ``--size`` pixels:

* test: ``model(imgs, return_loss=False)`` under ``torch.no_grad`` (clips/s, ms per frame);
* train: ``train_step`` + backward on ``--train-size`` frames (clips/s);
* load: ``load_checkpoint(strict=True, weights_only)`` of a TSN-R50 checkpoint in mmcv's
  layout, next to a bare ``torch.load`` + ``load_state_dict``.

Run:
    python benchmarks/recognizers_2d.py                       # about a minute on 2 CPU cores
    python benchmarks/recognizers_2d.py --size 112 --repeats 1   # a quick smoke run
    python benchmarks/recognizers_2d.py --models all --threads 1  # every 2D recognizer
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from pathlib import Path

import torch

from actionkit.config import Config
from actionkit.models import build_model, turn_off_pretrained
from actionkit.models.weights import load_checkpoint

CONFIGS = Path(__file__).resolve().parents[1] / 'configs' / 'recognition'
# recognizers built from their shipped configs (8 segments each)
FROM_CONFIGS = {
    'tsm_mobilenetv2': 'tsm/tsm_mobilenetv2_dense_1x1x8_100e_kinetics400_rgb.py',
    'trn_r50': 'trn/trn_r50_1x1x8_50e_sthv1_rgb.py',
    'tanet_r50': 'tanet/tanet_r50_1x1x8_50e_sthv1_rgb.py',
    'tin_r50': 'tin/tin_r50_1x1x8_40e_sthv1_rgb.py',
    'tpn_tsm_r50': 'tpn/tpn_tsm_r50_1x1x8_150e_sthv1_rgb.py',
}
MODELS = ('tsn_r50', 'tsm_r50', *FROM_CONFIGS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=8, help='frames per clip (TSM segments)')
    parser.add_argument('--size', type=int, default=224, help='frame size for the test runs')
    parser.add_argument('--train-size', type=int, default=112,
                        help='frame size for the training steps (smaller: backward is slow)')
    parser.add_argument('--repeats', type=int, default=2, help='timed runs (after 1 warm-up)')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--models', nargs='+', default=['tsn_r50', 'tsm_r50'],
                        choices=[*MODELS, 'all'], help='which recognizers (default: TSN, TSM)')
    args = parser.parse_args(argv)
    if 'all' in args.models:
        args.models = list(MODELS)
    if args.frames != 8 and set(args.models) & set(FROM_CONFIGS):
        parser.error(f'{sorted(set(args.models) & set(FROM_CONFIGS))} are built from their '
                     'configs, which have 8 segments: use --frames 8')
    return args


def model_config(name: str, frames: int) -> dict:
    """The 0.x base model configs (without the torchvision weights)."""
    if name == 'tsn_r50':
        backbone = dict(type='ResNet', depth=50, norm_eval=False)
        head = dict(type='TSNHead', num_classes=400, in_channels=2048, dropout_ratio=0.4)
        test_cfg = dict(average_clips=None)
    else:
        backbone = dict(type='ResNetTSM', depth=50, norm_eval=False, shift_div=8,
                        num_segments=frames)
        head = dict(type='TSMHead', num_classes=400, in_channels=2048, num_segments=frames,
                    dropout_ratio=0.5, init_std=0.001, is_shift=True)
        test_cfg = dict(average_clips='prob')
    return dict(type='Recognizer2D', backbone=backbone, cls_head=head, test_cfg=test_cfg)


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(name: str, frames: int) -> torch.nn.Module:
    if name not in FROM_CONFIGS:
        return build_model(model_config(name, frames))
    cfg = Config.fromfile(str(CONFIGS / FROM_CONFIGS[name]))
    turn_off_pretrained(cfg.model)
    return build_model(cfg.model)


def bench_model(name: str, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    model = build(name, args.frames)
    imgs = torch.randn(1, args.frames, 3, args.size, args.size)
    # TPN's auxiliary head normalizes over the batch: it cannot train on a single clip
    batch = 2 if name == 'tpn_tsm_r50' else 1
    train_imgs = torch.randn(batch, args.frames, 3, args.train_size, args.train_size)
    label = torch.full((batch, 1), 3)

    def test() -> None:
        with torch.no_grad():
            model(imgs, return_loss=False)

    def train() -> None:
        out = model.train_step(dict(imgs=train_imgs, label=label), None)
        out['loss'].backward()

    model.eval()
    test_s = timed(test, args.repeats)
    model.train()
    train_s = timed(train, args.repeats)
    per_frame_ms = 1000 * test_s / args.frames
    return [(name, 'test', f'{1 / test_s:.2f} clips/s ({per_frame_ms:.0f} ms/frame)'),
            (name, f'train step ({args.train_size}px, {batch} clip{"s" if batch > 1 else ""})',
             f'{batch / train_s:.2f} clips/s ({train_s / batch:.2f} s/clip)')]


def bench_loading(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    model = build_model(model_config('tsn_r50', args.frames))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'tsn_r50.pth')
        torch.save({'meta': {'epoch': 100}, 'state_dict': {f'module.{k}': v for k, v in
                                                          model.state_dict().items()}}, path)
        ours = timed(lambda: load_checkpoint(model, path, strict=True), args.repeats)

        def bare() -> None:
            state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
            model.load_state_dict({k[len('module.'):]: v for k, v in state.items()})

        plain = timed(bare, args.repeats)
        size_mb = os.path.getsize(path) / 2**20
    return [('tsn_r50', 'load_checkpoint', f'{ours * 1000:.0f} ms ({size_mb:.0f} MB, strict)'),
            ('tsn_r50', 'torch.load+load_state_dict', f'{plain * 1000:.0f} ms (unsafe pickle)')]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = [row for name in args.models for row in bench_model(name, args)]
    rows += bench_loading(args)
    print(f'# 1 clip x {args.frames} frames x {args.size}px (train {args.train_size}px), '
          f'{args.threads} threads, '
          f'torch {torch.__version__}, median of {args.repeats}')
    widths = [max(len(r[i]) for r in rows + [('model', 'what', 'result')]) for i in range(3)]
    for row in [('model', 'what', 'result')] + rows:
        print(' | '.join(cell.ljust(width) for cell, width in zip(row, widths)))


if __name__ == '__main__':
    main()
