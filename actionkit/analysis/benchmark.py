"""Inference speed of a recognizer on its config's test data: videos per second.

One video at a time goes through the test pipeline (data loader with the config's workers) and
the model, as ``tools/test.py`` runs it. Two rates are measured after a few warm-up videos:
end to end (waiting for the data included) and the model's forward pass alone. The test data
is cycled when it has fewer videos than asked for. Weights are random unless a checkpoint is
given (speed does not depend on them).

Example:
    >>> result = benchmark_inference(cfg, num_iters=50, device='cpu')   # doctest: +SKIP
    >>> f'{result.videos_per_s:.1f} videos/s'                           # doctest: +SKIP
    '3.2 videos/s'
"""
from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from ..config import Config
from .evaluate import build_split_dataset

__all__ = ['BenchmarkResult', 'benchmark_inference']

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchmarkResult:
    """Timings of :func:`benchmark_inference`.

    Attributes:
        num_videos: videos timed (after the warm-up).
        total_time: seconds for them, data loading included.
        forward_time: seconds in the model's forward passes.
        input_shape: shape of one batch's ``imgs`` (``[1, views, C, (T,) H, W]``).
    """

    num_videos: int
    total_time: float
    forward_time: float
    input_shape: tuple[int, ...]

    @property
    def videos_per_s(self) -> float:
        """End-to-end throughput."""
        return self.num_videos / self.total_time if self.total_time > 0 else float('inf')

    @property
    def forward_videos_per_s(self) -> float:
        """Throughput of the model alone."""
        return self.num_videos / self.forward_time if self.forward_time > 0 else float('inf')


def _cycle(loader: Any) -> Iterator[Any]:
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError('the test set is empty; nothing to benchmark')


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _build(cfg: Config, checkpoint: str | None, fuse_conv_bn: bool,
           device: torch.device) -> torch.nn.Module:
    from ..models.builder import build_model, turn_off_pretrained
    from ..models.fuse import fuse_conv_bn as fuse
    from ..models.weights import load_checkpoint

    model_cfg = copy.deepcopy(cfg.model)
    turn_off_pretrained(model_cfg)  # speed does not depend on the weights
    model = build_model(model_cfg, test_cfg=cfg.get('test_cfg'))
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.eval()
    if fuse_conv_bn:
        model = fuse(model)
    return model.to(device)


def benchmark_inference(cfg: Config, checkpoint: str | None = None, num_iters: int = 200,
                        num_warmup: int = 5, device: str | torch.device = 'cpu',
                        fuse_conv_bn: bool = False, workers: int | None = None,
                        log_interval: int = 0,
                        callback: Callable[[int, float, float], None] | None = None,
                        ) -> BenchmarkResult:
    """Time ``num_iters`` videos of ``cfg.data.test`` through the pipeline and the model.

    Args:
        cfg: the config (``model`` and ``data.test``).
        checkpoint: weights to load (strict); default: random weights.
        num_iters: videos to time, after ``num_warmup`` untimed ones.
        num_warmup: untimed videos first (lazy initialisation, caches).
        device: where the model runs.
        fuse_conv_bn: fold BatchNorm into the convolutions first.
        workers: data loader workers (default: ``cfg.data.workers_per_gpu``).
        log_interval: call ``callback`` every this many timed videos (0: never).
        callback: ``callback(done, videos_per_s, forward_videos_per_s)``.

    Returns:
        BenchmarkResult: the timings.
    """
    from ..apis.inference import resolve_device
    from ..datasets.builder import build_dataloader

    for name, value, low in (('num_iters', num_iters, 1), ('num_warmup', num_warmup, 0),
                             ('log_interval', log_interval, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
    device = resolve_device(device)
    dataset = build_split_dataset(cfg, 'test')
    workers = cfg.data.get('workers_per_gpu', 2) if workers is None else workers
    loader = build_dataloader(dataset, videos_per_gpu=1, workers_per_gpu=workers, dist=False,
                              shuffle=False, pin_memory=False,
                              persistent_workers=workers > 0)
    model = _build(cfg, checkpoint, fuse_conv_bn, device)
    total = forward = 0.0
    shape: tuple[int, ...] = ()
    batches = _cycle(loader)
    with torch.inference_mode():
        for i in range(num_warmup + num_iters):
            start = time.perf_counter()
            batch = next(batches)
            imgs = batch['imgs'].to(device)
            _sync(device)
            ready = time.perf_counter()
            model(imgs, return_loss=False)
            _sync(device)
            end = time.perf_counter()
            shape = tuple(imgs.shape)
            if i < num_warmup:
                continue
            total += end - start
            forward += end - ready
            done = i + 1 - num_warmup
            if callback is not None and log_interval and done % log_interval == 0:
                callback(done, done / total, done / forward)
    return BenchmarkResult(num_iters, total, forward, shape)
