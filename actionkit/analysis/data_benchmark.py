"""Data-loading throughput of a config's training pipeline: ``tools/analysis/bench_processing.py``.

The first ``num_videos`` records of the training annotation file (``data.train.ann_file``,
inside a ``RepeatDataset``'s ``dataset`` too) are copied to a temporary list, the training set
is built on it, and its data loader (``data.videos_per_gpu`` videos a batch, ``workers``
processes, the train pipeline with decoding and augmentation, no model) is run once through.
The first ``num_warmup`` batches are not timed. Text lists are cut by lines, JSON lists by
records (a JSON object by keys). Run it under ``python -m cProfile -o prof.out`` to see where
the time goes, as MMAction2's tool suggests.

Example:
    >>> result = benchmark_dataloading(Config.fromfile('configs/...py'), num_videos=64)
    ...     # doctest: +SKIP
    >>> f'{result.videos_per_s:.1f} videos/s'  # doctest: +SKIP
"""
from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import Config

__all__ = ['DataLoadingResult', 'subset_annotation_file', 'benchmark_dataloading']

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataLoadingResult:
    """Timings of :func:`benchmark_dataloading`.

    Attributes:
        num_videos: samples loaded in the timed batches.
        num_batches: timed batches.
        seconds: wall time of the timed batches.
        bad_samples: samples set aside as unreadable (all batches).
        batch_size: ``data.videos_per_gpu``.
        workers: loader worker processes.
    """

    num_videos: int
    num_batches: int
    seconds: float
    bad_samples: int
    batch_size: int
    workers: int

    @property
    def videos_per_s(self) -> float:
        """Throughput of the timed batches."""
        return self.num_videos / self.seconds if self.seconds > 0 else float('nan')


def subset_annotation_file(ann_file: str | os.PathLike, out_file: str | os.PathLike,
                           num_videos: int) -> int:
    """Copy the first ``num_videos`` records of an annotation file.

    Args:
        ann_file: a text list (one record a line) or a JSON list / object.
        out_file: the copy.
        num_videos: records kept.

    Returns:
        int: records written.
    """
    source = Path(ann_file)
    if not source.is_file():
        raise FileNotFoundError(f'training annotation file not found: {source} '
                                '(data.train.ann_file)')
    if source.suffix.lower() == '.json':
        try:
            data = json.loads(source.read_text(encoding='utf-8'))
        except json.JSONDecodeError as err:
            raise ValueError(f'{source}:{err.lineno}: not valid JSON ({err.msg})') from err
        data = data[:num_videos] if isinstance(data, list) else dict(
            list(data.items())[:num_videos])
        Path(out_file).write_text(json.dumps(data), encoding='utf-8')
        return len(data)
    with open(source, encoding='utf-8') as fin:
        lines = [line for line, _ in zip(fin, range(num_videos))]
    Path(out_file).write_text(''.join(lines), encoding='utf-8')
    return len(lines)


def _innermost(dataset_cfg: dict) -> dict:
    """The config holding ``ann_file`` (wrappers such as RepeatDataset nest a ``dataset``)."""
    while 'ann_file' not in dataset_cfg and isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']
    if 'ann_file' not in dataset_cfg:
        raise KeyError(f'data.train has no ann_file (type {dataset_cfg.get("type")!r})')
    return dataset_cfg


def benchmark_dataloading(cfg: Config, num_videos: int = 256, workers: int = 0,
                          num_warmup: int = 5, seed: int | None = 0,
                          callback: Callable[[int, int], None] | None = None
                          ) -> DataLoadingResult:
    """Load the first ``num_videos`` training records through the train pipeline and time it.

    Args:
        cfg: the config (``data.train``, ``data.videos_per_gpu``).
        num_videos: records of the training list to load.
        workers: loader worker processes (0: load in this process, as MMAction2's tool).
        num_warmup: batches loaded before the timing starts.
        seed: seed of the shuffle order and the workers' random state.
        callback: ``callback(batches_done, videos_done)`` after every timed batch.

    Returns:
        DataLoadingResult: the timings.
    """
    from ..datasets.builder import build_dataloader, build_dataset

    for name, value, low in (('num_videos', num_videos, 1), ('workers', workers, 0),
                             ('num_warmup', num_warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f'{name} must be an int >= {low}, got {value!r}')
    data = cfg.get('data') or {}
    if 'train' not in data:
        raise KeyError(f'{cfg.filename or "the config"} has no data.train section')
    batch_size = int(data.get('videos_per_gpu', 1))
    train_cfg = copy.deepcopy(data['train'])
    with tempfile.TemporaryDirectory(prefix='bench_processing_') as tmp:
        inner = _innermost(train_cfg)
        bench_list = Path(tmp, 'benchlist' + Path(inner['ann_file']).suffix)
        count = subset_annotation_file(inner['ann_file'], bench_list, num_videos)
        logger.info('benchmarking %d records of %s', count, inner['ann_file'])
        inner['ann_file'] = str(bench_list)
        dataset = build_dataset(train_cfg)
        loader = build_dataloader(dataset, videos_per_gpu=batch_size, workers_per_gpu=workers,
                                  num_gpus=1, dist=False, seed=seed, pin_memory=False,
                                  persistent_workers=False)
        videos = batches = bad = 0
        start = time.perf_counter()
        for i, batch in enumerate(loader):
            bad += len(batch.get('bad_samples', ()))
            if i < num_warmup:
                start = time.perf_counter()  # the timing starts after the last warm-up batch
                continue
            batches += 1
            videos += len(batch['imgs']) if 'imgs' in batch else 0
            if callback is not None:
                callback(batches, videos)
        seconds = time.perf_counter() - start
    if not batches:
        raise ValueError(f'{count} records make {len(loader)} batches of {batch_size}, all '
                         f'taken by the {num_warmup} warm-up batches; raise num_videos')
    return DataLoadingResult(videos, batches, seconds, bad, batch_size, workers)
