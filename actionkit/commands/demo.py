"""``actionkit demo``: the whole workflow on the synthetic action dataset, on a CPU.

1. generate the synthetic dataset (skipped when it is already there),
2. train a small TSM with validation after every epoch (best checkpoint kept),
3. test the best checkpoint on the validation split (top-1, top-5, mean class accuracy),
4. run :func:`~actionkit.apis.inference_recognizer` on a freshly rendered, held-out video and
   print its top-5 labels.
"""
from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

__all__ = ['add_arguments', 'run', 'DEFAULT_CONFIG']

logger = logging.getLogger(__name__)

_REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = _REPO / 'configs' / 'synthetic' / 'tsm_r18_1x1x8_synthetic_video.py'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', default=str(DEFAULT_CONFIG),
                        help='training config (default: the small TSM of configs/synthetic/)')
    parser.add_argument('--data-root', default='data/synthetic',
                        help='where the synthetic dataset is (or is generated)')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='checkpoints, logs and the held-out video go here')
    parser.add_argument('--num-train', type=int, default=2500, help='training clips')
    parser.add_argument('--num-val', type=int, default=500, help='validation clips')
    parser.add_argument('--epochs', type=int, default=None, help='override total_epochs')
    parser.add_argument('--seed', type=int, default=0, help='seed for data and training')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (1 is fastest for the small demo model)')
    parser.add_argument('--workers', type=int, default=None,
                        help='data-loader workers per process (default: the config\'s)')


def _prepare_config(args: argparse.Namespace):  # -> Config
    from ..config import Config

    cfg = Config.fromfile(args.config)
    root = args.data_root
    for split, name in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        cfg.data[split]['ann_file'] = os.path.join(root, f'{name}_list_videos.txt')
        cfg.data[split]['data_prefix'] = os.path.join(root, 'videos')
    cfg.work_dir = args.work_dir
    cfg.seed = args.seed
    if args.epochs is not None:
        cfg.total_epochs = args.epochs
    if args.workers is not None:
        cfg.data.workers_per_gpu = args.workers
    return cfg


def _train(cfg, seed: int) -> str:
    from ..apis.train import set_random_seed, train_model
    from ..datasets.builder import build_dataset
    from ..models.builder import build_model

    set_random_seed(seed, deterministic=False)
    model = build_model(cfg.model)
    dataset = build_dataset(cfg.data.train)
    os.makedirs(cfg.work_dir, exist_ok=True)
    train_model(model, [dataset], cfg, validate=True, meta=dict(seed=seed))
    best = sorted(Path(cfg.work_dir).glob('best_*.pth'), key=os.path.getmtime)
    return str(best[-1] if best else Path(cfg.work_dir) / 'latest.pth')


def _test(cfg, checkpoint: str) -> dict:
    from ..apis.inference import init_recognizer
    from ..apis.test import single_gpu_test
    from ..datasets.builder import build_dataloader, build_dataset

    model = init_recognizer(cfg, checkpoint, device='cpu')
    dataset = build_dataset(cfg.data.test, dict(test_mode=True))
    loader = build_dataloader(dataset, videos_per_gpu=cfg.data.test_dataloader.videos_per_gpu,
                              workers_per_gpu=cfg.data.workers_per_gpu, shuffle=False)
    results = single_gpu_test(model, loader)
    return dataset.evaluate(results, metrics=['top_k_accuracy', 'mean_class_accuracy'])


def _held_out_video(work_dir: str, seed: int, num_frames: int, size: int) -> tuple[str, int]:
    from ..datasets.synthetic import (SYNTHETIC_CLASSES, make_synthetic_video,
                                      render_synthetic_clip)

    label = seed % len(SYNTHETIC_CLASSES)
    frames = render_synthetic_clip(label, rng=10_000_019 + seed, num_frames=num_frames, size=size)
    # absolute, so the printed path works from any directory
    path = os.path.abspath(os.path.join(work_dir, 'held_out.mp4'))
    make_synthetic_video(path, frames)
    return path, label


def run(args: argparse.Namespace) -> int:
    from ..apis.inference import inference_recognizer, init_recognizer, load_label_map
    from ..commands.test import format_metrics
    from ..datasets.synthetic import make_synthetic_dataset

    import torch

    # A small model on two cores: one intra-op thread plus one decoding worker was 3x faster
    # per step than two threads (measured in docs/benchmarks.md, "demo").
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    print(f'[1/4] synthetic dataset in {args.data_root}', flush=True)
    paths = make_synthetic_dataset(args.data_root, num_train=args.num_train,
                                   num_val=args.num_val, seed=args.seed, layouts=('videos',),
                                   overwrite=True)
    cfg = _prepare_config(args)

    print(f'[2/4] training {Path(args.config).name} for {cfg.total_epochs} epochs '
          f'(work dir {cfg.work_dir})', flush=True)
    checkpoint = _train(cfg, args.seed)

    print(f'[3/4] testing {checkpoint} on the validation split', flush=True)
    metrics = _test(cfg, checkpoint)
    print(format_metrics(metrics), flush=True)

    print('[4/4] inference on a held-out video', flush=True)
    video, true_label = _held_out_video(cfg.work_dir, args.seed, num_frames=32, size=64)
    labels = load_label_map(paths['label_map'], cfg.model.cls_head.num_classes)
    model = init_recognizer(cfg, checkpoint, device='cpu')
    results = inference_recognizer(model, video, labels=paths['label_map'])
    print(f'{video} (true class: {labels[true_label]})')
    for index, score in results:
        print(f'  {labels[index]:<32s} {score:.4f}')
    print(f'demo finished in {time.perf_counter() - start:.0f} s: val top-1 '
          f'{metrics.get("top1_acc", float("nan")):.4f}', flush=True)
    return 0
