"""Clips/s of MMAction2's AVA SlowOnly-R50 detector (its config, random weights), CPU or GPU.

Inference: one 4x256x256 clip with ``--proposals`` person boxes through ``forward`` with
``return_loss=False`` (what tools/test.py runs). Training: ``train_step`` plus backward on a
batch of ``--batch`` clips, each with 2 ground-truth boxes as proposals (the sampler adds them).

Usage:
    python benchmarks/ava_detector.py [--device cpu] [--repeat 3] [--batch 2] [--proposals 5]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from actionkit.config import Config
from actionkit.models import build_model

CONFIG = (Path(__file__).resolve().parents[1] / '.cache' / 'mmaction2-0.24.1' / 'mmaction' /
          '.mim' / 'configs' / 'detection' / 'ava' /
          'slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb.py')


def _boxes(n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(n)
    xy = torch.rand(n, 2, generator=gen) * 150
    return torch.cat([xy, xy + 60 + torch.rand(n, 2, generator=gen) * 40], dim=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--proposals', type=int, default=5)
    args = parser.parse_args()
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.backbone.pretrained = None
    model = build_model(cfg.model).to(args.device)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    print(f'{CONFIG.name} on {args.device}, threads {torch.get_num_threads()}')

    model.eval()
    clip = torch.randn(1, 3, 4, 256, 256, device=device)
    meta = [[dict(img_shape=(256, 256))]]
    props = [[_boxes(args.proposals).to(device)]]
    with torch.no_grad():
        model(img=[clip], img_metas=meta, proposals=props, return_loss=False)  # warm up
        sync()
        start = time.perf_counter()
        for _ in range(args.repeat):
            model(img=[clip], img_metas=meta, proposals=props, return_loss=False)
        sync()
    seconds = (time.perf_counter() - start) / args.repeat
    print(f'inference: {seconds:.3f} s a clip ({1 / seconds:.2f} clips/s), '
          f'{args.proposals} proposals')

    model.train()
    labels = torch.zeros(2, 81)
    labels[0, 12] = labels[1, 17] = 1
    batch = dict(img=torch.randn(args.batch, 3, 4, 256, 256, device=device),
                 img_metas=[{} for _ in range(args.batch)],
                 proposals=[_boxes(args.proposals).to(device) for _ in range(args.batch)],
                 gt_bboxes=[_boxes(2).to(device) for _ in range(args.batch)],
                 gt_labels=[labels.to(device) for _ in range(args.batch)])
    model.train_step(batch)['loss'].backward()  # warm up
    sync()
    start = time.perf_counter()
    for _ in range(args.repeat):
        model.zero_grad()
        model.train_step(batch)['loss'].backward()
    sync()
    seconds = (time.perf_counter() - start) / args.repeat
    print(f'training: {seconds:.3f} s a step of {args.batch} clips '
          f'({args.batch / seconds:.2f} clips/s)')


if __name__ == '__main__':
    main()
