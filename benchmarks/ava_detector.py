"""Clips/s of MMAction2's AVA SlowOnly-R50 detector (its config, random weights), CPU or GPU,
in actionkit and, interleaved, in MMAction2 0.24.1 itself.

Inference: one 4x256x256 clip with ``--proposals`` person boxes through ``forward`` with
``return_loss=False`` (what tools/test.py runs). Training: the forward with ``return_loss=True``
plus backward on a batch of ``--batch`` clips, each with 2 ground-truth boxes as proposals (the
sampler adds them).

``--sides ours,mmaction`` (with ``--mmaction-python``) times both: MMAction2 runs in its own
interpreter (``mmaction_compat.py`` sent ahead, which gives an mmcv without compiled ops a
pure-PyTorch RoIAlign), kept open for the whole run; each of ``--rounds`` rounds times
inference then training on one side and then the other (the order alternating between
rounds), so both see the same load. ``--sides mmaction`` or ``--sides ours`` runs one.

Usage:
    python benchmarks/ava_detector.py [--device cpu] [--repeat 3] [--batch 2] [--proposals 5]
        [--sides ours,mmaction --mmaction-python /tmp/mmenv/bin/python] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import torch

CONFIG = (Path(__file__).resolve().parents[1] / '.cache' / 'mmaction2-0.24.1' / 'mmaction' /
          '.mim' / 'configs' / 'detection' / 'ava' /
          'slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb.py')

_SHARED = r'''
import time

import torch


def _boxes(n, device):
    gen = torch.Generator().manual_seed(n)
    xy = torch.rand(n, 2, generator=gen) * 150
    return torch.cat([xy, xy + 60 + torch.rand(n, 2, generator=gen) * 40], dim=1).to(device)


def make_bench(model, device, batch, proposals):
    """``{'infer': fn, 'train': fn}`` for the model; each fn(repeat) -> seconds a call."""
    device = torch.device(device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    clip = torch.randn(1, 3, 4, 256, 256, device=device)
    test = dict(img=[clip], img_metas=[[dict(img_shape=(256, 256))]],
                proposals=[[_boxes(proposals, device)]], return_loss=False)
    labels = torch.zeros(2, 81, device=device)
    labels[0, 12] = labels[1, 17] = 1
    train = dict(img=torch.randn(batch, 3, 4, 256, 256, device=device),
                 img_metas=[{} for _ in range(batch)],
                 proposals=[_boxes(proposals, device) for _ in range(batch)],
                 gt_bboxes=[_boxes(2, device) for _ in range(batch)],
                 gt_labels=[labels for _ in range(batch)], return_loss=True)

    def infer_once():
        model.eval()
        with torch.no_grad():
            model(**test)

    def train_once():
        model.train()
        model.zero_grad()
        losses = model(**train)
        sum(v for k, v in losses.items() if 'loss' in k).backward()

    def timed(step):
        warm = []

        def run(repeat):
            if not warm:
                step()
                warm.append(True)
            sync()
            start = time.perf_counter()
            for _ in range(repeat):
                step()
            sync()
            return (time.perf_counter() - start) / repeat
        return run

    return dict(infer=timed(infer_once), train=timed(train_once))
'''

_MMACTION_SCRIPT = Path(__file__).with_name('mmaction_compat.py').read_text() + r'''
import warnings
warnings.filterwarnings('ignore')
import torch
from mmcv import Config
from mmaction.models import build_detector
config, device, batch, proposals = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
exec(sys.argv[5])
torch.set_num_threads(1)
cfg = Config.fromfile(config)
cfg.model.backbone.pretrained = None
bench = make_bench(build_detector(cfg.model).to(device), device, batch, proposals)
print('READY', flush=True)
for line in sys.stdin:
    mode, repeat = line.split()
    print('SECONDS', bench[mode](int(repeat)), flush=True)
'''


class _MMActionSide:
    """MMAction2's detector in its own interpreter, answering 'infer N' / 'train N'."""

    def __init__(self, python: str, args: argparse.Namespace) -> None:
        self.proc = subprocess.Popen(
            [python, '-c', _MMACTION_SCRIPT, str(CONFIG), args.device, str(args.batch),
             str(args.proposals), _SHARED], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
        self._expect('READY')

    def _expect(self, word: str) -> str:
        for line in self.proc.stdout:
            if line.startswith(word):
                return line[len(word):].strip()
        sys.exit(f'the MMAction2 side stopped (exit {self.proc.wait()}); see above')

    def __call__(self, mode: str, repeat: int) -> float:
        self.proc.stdin.write(f'{mode} {repeat}\n')
        self.proc.stdin.flush()
        return float(self._expect('SECONDS'))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def _ours(args: argparse.Namespace):
    from actionkit.config import Config
    from actionkit.models import build_model

    shared: dict = {}
    exec(_SHARED, shared)  # noqa: S102 - the same timing code runs on both sides
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.backbone.pretrained = None
    bench = shared['make_bench'](build_model(cfg.model).to(args.device), args.device,
                                 args.batch, args.proposals)
    return lambda mode, repeat: bench[mode](repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--proposals', type=int, default=5)
    parser.add_argument('--sides', default='ours', help='ours, mmaction, or both: ours,mmaction')
    parser.add_argument('--mmaction-python', help='the MMAction2 0.24.1 interpreter')
    parser.add_argument('--rounds', type=int, default=1)
    args = parser.parse_args()
    sides = args.sides.split(',')
    if not sides or set(sides) - {'ours', 'mmaction'}:
        parser.error(f'--sides takes ours and/or mmaction, got {args.sides!r}')
    if 'mmaction' in sides and not args.mmaction_python:
        parser.error('--sides mmaction needs --mmaction-python')
    torch.set_num_threads(1)
    print(f'{CONFIG.name} on {args.device}, threads 1, {args.proposals} proposals, '
          f'training batch {args.batch}; load {Path("/proc/loadavg").read_text().strip()}')
    runners = {'ours': _ours(args) if 'ours' in sides else None,
               'mmaction': _MMActionSide(args.mmaction_python, args)
               if 'mmaction' in sides else None}
    times: dict = {}
    for round_ in range(args.rounds):
        for side in (sides if round_ % 2 == 0 else sides[::-1]):
            for mode in ('infer', 'train'):
                seconds = runners[side](mode, args.repeat)
                times.setdefault((side, mode), []).append(seconds)
                print(f'round {round_ + 1} {side:8s} {mode}: {seconds:.3f} s a call')
    for (side, mode), values in times.items():
        seconds = sum(values) / len(values)
        clips = 1 if mode == 'infer' else args.batch
        print(f'{side:8s} {"inference" if mode == "infer" else "training"}: {seconds:.3f} s '
              f'a call of {clips} clip(s), {clips / seconds:.2f} clips/s '
              f'(mean of {len(values)} rounds x {args.repeat})')
    if runners['mmaction'] is not None:
        runners['mmaction'].close()
    print(f'load after: {Path("/proc/loadavg").read_text().strip()}')


if __name__ == '__main__':
    main()
