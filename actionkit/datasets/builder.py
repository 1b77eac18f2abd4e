"""Dataset and pipeline registries, and the functions that build datasets and data loaders.

Example:
    >>> dataset = build_dataset(cfg.data.train)
    >>> loader = build_dataloader(dataset, videos_per_gpu=8, workers_per_gpu=4, seed=0)
    >>> for batch in loader:  # {'imgs': Tensor[8, ...], 'label': Tensor[8, 1]}
    ...     ...
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import torch
import torch.distributed as torch_dist
from torch.utils.data import DataLoader, Dataset, IterableDataset

from ..errors import AnnotationError
from ..registry import Registry
from ..utils.checks import check_positive_int
from .loader import (ClassSpecificDistributedSampler, DistributedSampler, ReportingDataLoader,
                     WorkerSampleLog, collate, start_worker, worker_init_fn)

__all__ = ['DATASETS', 'PIPELINES', 'REFUSED_DATASETS', 'build_dataset', 'build_dataloader',
           'dataloader_args', 'check_label_range']

logger = logging.getLogger(__name__)

DATASETS = Registry('dataset')
PIPELINES = Registry('pipeline')

DEFAULT_BATCH_TIMEOUT = 300.0  # seconds a batch may take with workers (data.batch_timeout)
# MMAction2 1.x dataset types actionkit refuses, and why (raised by ``build_dataset``)
REFUSED_DATASETS = {
    'CharadesSTADataset': 'MMAction2 1.x\'s CharadesSTADataset (DRN, video grounding) tokenises '
                          'its text queries with nltk, which actionkit does not ship; the '
                          'DRN configs are not supported',
}
_OPEN_FILES_WANTED = 4096  # tensors from workers travel as file descriptors


def check_label_range(dataset: Dataset, num_classes: int | None, strict: bool = True) -> None:
    """Check every label of ``dataset`` (and of the datasets it wraps) against ``num_classes``.

    Called when the model's number of classes is known, before any sample is loaded: a label
    out of range would otherwise fail mid-epoch (a raw ``IndexError`` in the loss) or only
    after all inference. Datasets without ``check_label_range`` (localization) are skipped.

    Args:
        dataset: the dataset to check.
        num_classes: the model's number of classes (``None`` skips the check).
        strict: raise (training: the loss cannot take such a label); ``False`` logs the same
            message as a warning instead (testing: MMAction2 scores such a sample as a miss).

    Raises:
        AnnotationError: naming the annotation file and line (or record), when ``strict``.
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        return
    children = getattr(dataset, 'datasets', None) or [getattr(dataset, 'dataset', None)]
    for child in children:
        if child is not None and child is not dataset:
            check_label_range(child, num_classes, strict)
    check = getattr(dataset, 'check_label_range', None)
    if not callable(check):
        return
    try:
        check(num_classes)
    except AnnotationError as err:
        if strict:
            raise
        logger.warning('%s; such a sample counts as a miss in the accuracy metrics, as in '
                       'MMAction2', err)


def build_dataset(cfg: Mapping | Sequence[Mapping] | Dataset,
                  default_args: Mapping[str, Any] | None = None) -> Dataset:
    """Build a dataset from its config.

    Args:
        cfg: a config dict with a ``type`` (``RepeatDataset``/``ConcatDataset`` configs
            build their children), a list of config dicts (concatenated), or a built dataset.
        default_args: values for keys the config(s) lack, e.g. ``dict(test_mode=True)``.

    Returns:
        Dataset: the dataset.
    """
    if isinstance(cfg, Sequence) and not isinstance(cfg, (str, Mapping)):
        from .dataset_wrappers import ConcatDataset  # the wrappers import this module

        defaults = dict(default_args or {})
        children = [{**defaults, **child} if isinstance(child, Mapping) else child
                    for child in cfg]
        return ConcatDataset(children, test_mode=bool(defaults.get('test_mode', False)))
    kind = cfg.get('type') if isinstance(cfg, Mapping) else None
    if isinstance(kind, str) and kind in REFUSED_DATASETS and kind not in DATASETS:
        raise ValueError(f'build_dataset: {kind!r}: {REFUSED_DATASETS[kind]}')
    return DATASETS.build(cfg, **dict(default_args or {}))


def _dist_info() -> tuple[int, int]:
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_rank(), torch_dist.get_world_size()
    return 0, 1


def _raise_open_file_limit() -> None:
    if sys.platform == 'win32':
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(_OPEN_FILES_WANTED,
                                                                           hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        logger.debug('raised the open-file limit from %d to %d for DataLoader workers', soft,
                     wanted)


def build_dataloader(dataset: Dataset, videos_per_gpu: int, workers_per_gpu: int,
                     num_gpus: int = 1, dist: bool = False, shuffle: bool = True,
                     seed: int | None = None, drop_last: bool = False, pin_memory: bool = True,
                     persistent_workers: bool = False,
                     batch_timeout: float = DEFAULT_BATCH_TIMEOUT, **kwargs: Any) -> DataLoader:
    """Build the DataLoader of one process, as MMAction2 0.x does.

    Distributed (``dist=True``): one loader a process, ``videos_per_gpu`` samples a batch, a
    :class:`~actionkit.datasets.loader.DistributedSampler` (or the class-balanced one when
    the dataset has ``sample_by_class``) over the ranks of ``torch.distributed``. Otherwise
    one loader for all ``num_gpus`` GPUs: ``num_gpus * videos_per_gpu`` samples a batch and
    ``num_gpus * workers_per_gpu`` workers.

    With a ``seed``, worker ``w`` of rank ``r`` seeds ``random``, ``torch`` and numpy's global
    RNG (which the 0.x sampling transforms draw from) with
    ``seed + r * num_workers + w``, and the non-distributed shuffle order comes from a
    generator seeded with ``seed``.

    Args:
        dataset: the dataset.
        videos_per_gpu: samples a batch on each GPU.
        workers_per_gpu: loader worker processes for each GPU (0: load in this process).
        num_gpus: GPUs this (non-distributed) process feeds.
        dist: distributed training or test.
        shuffle: shuffle every epoch (``DistributedSampler.set_epoch`` in distributed runs).
        seed: the seed; None leaves seeding to PyTorch.
        drop_last: drop the last incomplete batch.
        pin_memory: pin batches in page-locked memory (only when CUDA is available).
        persistent_workers: keep the workers between epochs (when there are workers).
        batch_timeout: with workers, the seconds a worker may spend on one sample: past it
            the sample raises a ``DataError`` in the worker (so training skips it as a bad
            sample, and testing stops naming it). For a decoder stuck in native code, which
            that cannot interrupt, the main process waits at most (batch size + 1) times this
            for a batch, then fails naming the samples in flight. 0: no limits. The config key
            is ``data.batch_timeout``. (An actionkit argument; PyTorch's ``timeout`` given in
            ``kwargs`` sets the main process's limit instead.)
        **kwargs: more ``torch.utils.data.DataLoader`` arguments. ``short_cycle`` (multigrid
            training) is not supported.

    Returns:
        DataLoader: batches made by :func:`~actionkit.datasets.loader.collate`. With workers,
        a :class:`~actionkit.datasets.loader.ReportingDataLoader`: a worker that dies is
        reported (a ``DataError``) with the index and path of the sample it was loading.
    """
    check_positive_int(None, 'videos_per_gpu', videos_per_gpu, 1)
    check_positive_int(None, 'workers_per_gpu', workers_per_gpu, 0)
    check_positive_int(None, 'num_gpus', num_gpus, 1)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f'seed must be an int or None, got {seed!r}')
    if kwargs.pop('short_cycle', False):
        raise ValueError('short_cycle=True (multigrid training) is not supported by actionkit')
    kwargs.pop('multigrid_cfg', None)
    kwargs.pop('crop_size', None)
    rank, world_size = _dist_info()
    sampler = None
    if isinstance(dataset, IterableDataset):  # a streaming dataset splits and shuffles itself
        batch_size = videos_per_gpu if dist else num_gpus * videos_per_gpu
        num_workers = workers_per_gpu if dist else num_gpus * workers_per_gpu
        configure = getattr(dataset, 'configure_loader', None)
        if callable(configure):
            configure(rank if dist else 0, world_size if dist else 1, num_workers, batch_size,
                      shuffle, seed, drop_last)
        if persistent_workers:
            logger.info('persistent_workers is off for %s: each epoch starts fresh workers '
                        'that stream that epoch\'s order', type(dataset).__name__)
        shuffle, persistent_workers = False, False
    elif dist:
        if getattr(dataset, 'sample_by_class', False):
            sampler = ClassSpecificDistributedSampler(
                dataset, world_size, rank, dynamic_length=getattr(dataset, 'dynamic_length', True),
                shuffle=shuffle, seed=seed)
        else:
            sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed)
        shuffle = False
        batch_size, num_workers = videos_per_gpu, workers_per_gpu
    else:
        batch_size, num_workers = num_gpus * videos_per_gpu, num_gpus * workers_per_gpu
        if shuffle and seed is not None and 'generator' not in kwargs:
            kwargs['generator'] = torch.Generator().manual_seed(seed)
    init_fn = None
    if seed is not None:
        init_fn = partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed)
    if not isinstance(batch_timeout, (int, float)) or isinstance(batch_timeout, bool) or \
            batch_timeout < 0:
        raise ValueError(f'batch_timeout (data.batch_timeout) must be a number of seconds >= 0 '
                         f'(0: no limit), got {batch_timeout!r}')
    if num_workers > 0:
        _raise_open_file_limit()
        kwargs['persistent_workers'] = persistent_workers
        kwargs.setdefault('timeout', float(batch_timeout) * (batch_size + 1))
        sample_log = WorkerSampleLog(num_workers, sample_timeout=batch_timeout)
        return ReportingDataLoader(
            dataset, sample_log=sample_log, batch_size=batch_size, sampler=sampler,
            num_workers=num_workers, collate_fn=collate,
            pin_memory=pin_memory and torch.cuda.is_available(), shuffle=shuffle,
            worker_init_fn=partial(start_worker, sample_log=sample_log, init_fn=init_fn),
            drop_last=drop_last, **kwargs)
    # a ReportingDataLoader without workers is a DataLoader that asks a streaming dataset its
    # length per process
    loader_class = ReportingDataLoader if isinstance(dataset, IterableDataset) else DataLoader
    return loader_class(dataset, batch_size=batch_size, sampler=sampler,
                        num_workers=num_workers, collate_fn=collate,
                        pin_memory=pin_memory and torch.cuda.is_available(), shuffle=shuffle,
                        worker_init_fn=init_fn, drop_last=drop_last, **kwargs)


def dataloader_args(cfg: Mapping[str, Any], kind: str, distributed: bool = False
                    ) -> dict[str, Any]:
    """The :func:`build_dataloader` arguments a config gives the ``train``/``val``/``test`` loader.

    MMAction2 0.x's rule: ``data.videos_per_gpu``, ``data.workers_per_gpu`` and
    ``data.persistent_workers`` (and actionkit's ``data.batch_timeout``), one process feeding
    ``len(cfg.gpu_ids)`` GPUs (1 without
    ``gpu_ids``) or a distributed sampler, the train loader seeded with ``cfg.seed`` and the
    others unshuffled, then ``data.{kind}_dataloader`` overriding any of these.

    Args:
        cfg: the whole config (``data``, and ``gpu_ids`` / ``seed`` when present).
        kind: ``'train'``, ``'val'`` or ``'test'``.
        distributed: one loader per process with a distributed sampler.
    """
    if kind not in ('train', 'val', 'test'):
        raise ValueError(f"kind must be 'train', 'val' or 'test', got {kind!r}")
    data = cfg['data']
    args = dict(videos_per_gpu=data.get('videos_per_gpu', 1),
                workers_per_gpu=data.get('workers_per_gpu', 1),
                persistent_workers=data.get('persistent_workers', False),
                batch_timeout=data.get('batch_timeout', DEFAULT_BATCH_TIMEOUT),
                num_gpus=1 if distributed else len(cfg.get('gpu_ids') or [0]),
                dist=distributed)
    if kind == 'train':
        args['seed'] = cfg.get('seed')
    else:
        args['shuffle'] = False
    args.update(data.get(f'{kind}_dataloader', {}) or {})
    return args


def __getattr__(name: str) -> Any:
    # ``from mmaction.datasets.builder import BLENDINGS`` (MMAction2 0.x): the registry is the
    # models' (actionkit.models.builder), loaded only when asked for
    if name == 'BLENDINGS':
        from ..models.builder import BLENDINGS
        return BLENDINGS
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
