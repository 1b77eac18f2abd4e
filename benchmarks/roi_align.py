"""What actionkit's pure-PyTorch RoIAlign / RoIPool cost at AVA sizes (CPU).

The SlowOnly-R50 AVA detector pools RoIs from a ``[N, 2048, 1, 16, 16]`` feature map (a 256x256
clip, stride 16, time pooled) to 8x8; training samples up to 32 RoIs a clip, testing scores
the person proposals (about 5 a key frame on AVA). This times ``roi_align`` (adaptive grid,
``sampling_ratio=0``, avg and max), ``roi_pool``, and the backward pass of ``roi_align``.

Usage:
    python benchmarks/roi_align.py [--batch 8] [--rois-per-clip 5] [--channels 2048] [--repeat 5]
"""
from __future__ import annotations

import argparse
import time

import torch

from actionkit.models.roi_extractors import roi_align, roi_pool


def _rois(batch: int, per_clip: int, size: int, stride: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(batch * per_clip, 2, generator=gen) * size * stride * .6
    wh = torch.rand(batch * per_clip, 2, generator=gen) * size * stride * .4 + 8
    index = torch.arange(batch).repeat_interleave(per_clip)[:, None].float()
    return torch.cat([index, xy, xy + wh], dim=1)


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
    grad_feat = feat.clone().requires_grad_()
    seconds = _time(lambda: roi_align(grad_feat, rois, 8, 1 / 16).sum().backward(), args.repeat)
    print(f'{"align fwd+bwd":14s} {seconds * 1e3:8.1f} ms')


if __name__ == '__main__':
    main()
