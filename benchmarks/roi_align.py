"""What actionkit's pure-PyTorch RoIAlign / RoIPool cost at AVA sizes (CPU).

The SlowOnly-R50 AVA detector pools RoIs from a ``[N, 2048, 1, 16, 16]`` feature map (a 256x256
clip, stride 16, time pooled) to 8x8; training samples up to 32 RoIs a clip, testing scores
the person proposals (about 5 a key frame on AVA). This times ``roi_align`` (adaptive grid,
``sampling_ratio=0``, avg and max), ``roi_pool``, and the backward pass of ``roi_align``.

With ``--torchvision-python PYTHON`` it also runs ``torchvision.ops.roi_align`` (aligned,
``sampling_ratio=0``) in that interpreter on the same features and RoIs, times it the same way,
and prints the max |difference| from actionkit's pure-PyTorch path (which this interpreter
uses: without torchvision here, ``roi_align`` never switches to it). ``mmaction_compat.py`` is
sent ahead, so a torchvision whose compiled ops cannot load (PyPI's CUDA wheel next to a CPU
torch, as in ``/tmp/mmenv``) still imports and runs its own pure-PyTorch ``roi_align``; the
line printed says which one ran. That fallback samples every RoI over the whole feature map,
so it runs a few channels at a time, and its time says nothing of the compiled op.

Usage:
    python benchmarks/roi_align.py [--batch 8] [--rois-per-clip 5] [--channels 2048] [--repeat 5]
        [--torchvision-python /tmp/mmenv/bin/python]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from actionkit.models.roi_extractors import roi_align, roi_pool


def _rois(batch: int, per_clip: int, size: int, stride: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(batch * per_clip, 2, generator=gen) * size * stride * .6
    wh = torch.rand(batch * per_clip, 2, generator=gen) * size * stride * .4 + 8
    index = torch.arange(batch).repeat_interleave(per_clip)[:, None].float()
    return torch.cat([index, xy, xy + wh], dim=1)


_TORCHVISION_SCRIPT = Path(__file__).with_name('mmaction_compat.py').read_text() + r'''
import time
import torch
from torchvision.extension import _has_ops
from torchvision.ops import roi_align
torch.set_num_threads(1)
data = torch.load(sys.argv[1])
feat, rois, repeat = data['feat'], data['rois'], data['repeat']
# the pure-PyTorch fallback samples every RoI on the whole map ([K, C, 8, 8, H, W] at once):
# run it a few channels at a time to bound its memory (the compiled op takes all at once)
step = feat.shape[1] if _has_ops() else max(1, int(1e8 // (len(rois) * 64 * feat[0, 0].numel()
                                                           * 4)))
run = lambda: torch.cat([roi_align(feat[:, c:c + step], rois, 8, 1 / 16, 0, True)
                         for c in range(0, feat.shape[1], step)], 1)
out = run()
start = time.perf_counter()
for _ in range(repeat):
    run()
seconds = (time.perf_counter() - start) / repeat
torch.save(dict(out=out, seconds=seconds, compiled=_has_ops(), step=step), sys.argv[1])
'''


def _torchvision(python: str, feat: torch.Tensor, rois: torch.Tensor, repeat: int) -> dict:
    """torchvision's roi_align run in ``python`` on the same inputs: output, seconds a call."""
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, 'io.pth')
        torch.save(dict(feat=feat, rois=rois, repeat=repeat), path)
        done = subprocess.run([python, '-c', _TORCHVISION_SCRIPT, path],
                              env=dict(os.environ, OMP_NUM_THREADS='1'))
        if done.returncode:
            sys.exit(f'torchvision side failed (exit {done.returncode}); see above')
        return torch.load(path)


def _time(fn, repeat: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--rois-per-clip', type=int, default=5)
    parser.add_argument('--channels', type=int, default=2048)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--torchvision-python', help='an interpreter with torchvision, to '
                        'compare and time torchvision.ops.roi_align against ours')
    args = parser.parse_args()
    torch.manual_seed(0)
    feat = torch.randn(args.batch, args.channels, 16, 16)
    rois = _rois(args.batch, args.rois_per_clip, 16, 16)
    print(f'feat {tuple(feat.shape)}, {len(rois)} RoIs, output 8x8, threads '
          f'{torch.get_num_threads()}')
    for name, fn in (
            ('roi_align avg', lambda: roi_align(feat, rois, 8, 1 / 16)),
            ('roi_align max', lambda: roi_align(feat, rois, 8, 1 / 16, pool_mode='max')),
            ('roi_pool', lambda: roi_pool(feat, rois, 8, 1 / 16))):
        seconds = _time(fn, args.repeat)
        print(f'{name:14s} {seconds * 1e3:8.1f} ms  ({seconds * 1e3 / len(rois):.2f} ms a RoI)')
    if args.torchvision_python:
        theirs = _torchvision(args.torchvision_python, feat, rois, args.repeat)
        diff = (theirs['out'] - roi_align(feat, rois, 8, 1 / 16)).abs().max().item()
        kind = 'compiled' if theirs['compiled'] else \
            f'its pure-PyTorch fallback, {theirs["step"]} channels a call'
        print(f'{"torchvision":14s} {theirs["seconds"] * 1e3:8.1f} ms  '
              f'({theirs["seconds"] * 1e3 / len(rois):.2f} ms a RoI; {kind}); max |diff| from '
              f'roi_align avg {diff:.3g} (max |value| {theirs["out"].abs().max().item():.3g})')
    grad_feat = feat.clone().requires_grad_()
    seconds = _time(lambda: roi_align(grad_feat, rois, 8, 1 / 16).sum().backward(), args.repeat)
    print(f'{"align fwd+bwd":14s} {seconds * 1e3:8.1f} ms')


if __name__ == '__main__':
    main()
