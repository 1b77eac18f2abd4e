"""Streaming datasets over tar shards: ``ShardedVideoDataset`` and ``ShardedRawframeDataset``.

Config (the index written by ``actionkit data shard``, and the usual pipeline)::

    train=dict(type='ShardedVideoDataset', ann_file='data/k400/shards_train/index.json',
               pipeline=train_pipeline, shuffle_buffer=100)

- **Split.** Each epoch's sample sequence is cut over ranks and loader workers without
  overlap (:mod:`~actionkit.datasets.shard_layout`); every rank gets the same number of
  samples (one padding sample at most), so distributed steps stay in step.
- **Shuffle** (training): the shard order is shuffled with ``(seed, epoch)``, then each worker
  passes its samples through a buffer of ``shuffle_buffer`` samples (memory: that many encoded
  samples a worker). The order is a function of the seed, the epoch, the world size, the
  workers and the batch size. Random transforms are seeded per sample from ``(seed, epoch,
  sample position)``, so a sample is augmented the same way whatever worker loads it.
- **Test mode**: no shuffling; every sample is seen once, and :meth:`restore_order` puts the
  gathered results back in the index's order (``predict`` calls it).
- **Resume**: :meth:`loader_state` / :meth:`resume_at` let a run restarted from a mid-epoch
  checkpoint skip the batches already done without decoding them (the trainer calls them).
- **Bad samples**: a sample that cannot be decoded becomes a ``BadSample`` in training
  (counted by the trainer like the map-style datasets'), and raises in test mode.

Videos are decoded from the tar member's bytes through the existing ``*Init``/``*Decode``
steps: the bytes are put in an anonymous in-memory file (``memfd``, freed with the process
even after ``kill -9``) whose ``/proc/self/fd`` path is the ``filename`` the steps open, so
every backend (PyAV, decord, OpenCV, torchcodec) works unchanged. Frame folders give
``RawFrameDecode`` their files' bytes in ``results['frame_bytes']``.
"""
from __future__ import annotations

import bisect
import contextlib
import logging
import os
import random
import tempfile
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..errors import AnnotationError, BadSample, DataError
from ..utils.plain_data import load_json
from . import shard_layout as layout
from .base import BaseDataset
from .builder import DATASETS
from .loader import note_sample
from .pipelines import compose as _compose
from .shard_format import load_index, read_shard, sample_key, shard_location

__all__ = ['ShardedDataset', 'ShardedVideoDataset', 'ShardedRawframeDataset']

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _memory_file(data: bytes, name: str) -> Iterator[str]:
    """A path that reads as ``data``: an anonymous memory file (a temp file off Linux)."""
    if hasattr(os, 'memfd_create'):
        fd = os.memfd_create(name[:200], os.MFD_CLOEXEC)
        with os.fdopen(fd, 'w+b') as handle:
            handle.write(data)
            handle.flush()
            yield f'/proc/self/fd/{fd}'
        return
    with tempfile.NamedTemporaryFile(suffix=os.path.splitext(name)[1]) as handle:
        handle.write(data)
        handle.flush()
        yield handle.name


@contextlib.contextmanager
def _seeded(seed: int, epoch: int, position: int) -> Iterator[None]:
    """Seed ``random``, numpy's and torch's global RNGs for one sample; in the main process
    (no loader workers) the previous states come back afterwards."""
    in_main = get_worker_info() is None
    saved = (random.getstate(), np.random.get_state(), torch.get_rng_state()) if in_main \
        else None
    state = np.random.SeedSequence([seed % 2**32, epoch, position]).generate_state(2)
    np.random.seed(int(state[0]))
    random.seed(int(state[0]))
    torch.manual_seed((int(state[0]) << 32) | int(state[1]))
    try:
        yield
    finally:
        if saved is not None:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])


def _buffered(items: Iterator[Any], size: int, rng: random.Random) -> Iterator[Any]:
    """Shuffle a stream with a buffer of ``size`` items."""
    buffer: list[Any] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        pick = rng.randrange(size)
        yield buffer[pick]
        buffer[pick] = item
    rng.shuffle(buffer)
    yield from buffer


class ShardedDataset(IterableDataset):
    """The streaming part shared by the sharded video and rawframe datasets.

    Args:
        ann_file (str): the shard index (``index.json``); ``shards`` is accepted as its alias.
        pipeline (list[dict | callable]): the transforms, as for the map-style datasets.
        data_prefix (str | None): the folder (or URL prefix) holding the shards; default the
            index's folder.
        test_mode (bool): no shuffling, every sample once, bad samples raise.
        shuffle_buffer (int): samples each worker holds to shuffle (training); 1: none.
        multi_class (bool): multi-label samples (needs ``num_classes``).
        num_classes (int | None): number of classes.
        start_index (int): index of the first frame.
        modality (str): ``'RGB'`` or ``'Flow'``.
        shards (str | None): alias of ``ann_file``.
    """

    kind: ClassVar[str] = ''

    def __init__(self, ann_file: str | os.PathLike | None = None, pipeline: Sequence[Any] = (),
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 shuffle_buffer: int = 100, multi_class: bool = False,
                 num_classes: int | None = None, start_index: int = 0, modality: str = 'RGB',
                 shards: str | os.PathLike | None = None) -> None:
        if (ann_file is None) == (shards is None):
            raise ValueError(f'{type(self).__name__} takes the shard index as ann_file (or '
                             f'shards), exactly one of them; got {ann_file!r} and {shards!r}')
        self.ann_file = os.fspath(ann_file if ann_file is not None else shards)
        if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) or \
                shuffle_buffer < 1:
            raise ValueError(f'shuffle_buffer must be an int >= 1, got {shuffle_buffer!r}')
        if multi_class and num_classes is None:
            raise ValueError('multi_class=True needs num_classes')
        self.index = load_index(self.ann_file)
        if self.index['kind'] != self.kind:
            raise ValueError(f'{self.ann_file} indexes {self.index["kind"]} shards; '
                             f'{type(self).__name__} reads {self.kind}')
        prefix = os.path.dirname(self.ann_file) if data_prefix is None else data_prefix
        self.data_prefix = os.fspath(prefix)
        self.pipeline = _compose.Compose(pipeline)
        self.test_mode, self.shuffle_buffer = bool(test_mode), shuffle_buffer
        self.multi_class, self.num_classes = bool(multi_class), num_classes
        self.start_index, self.modality = start_index, modality
        self._sizes = [shard['num_samples'] for shard in self.index['shards']]
        self._starts = [0, *accumulate(self._sizes)][:-1]  # first record of each shard
        self.epoch, self.seed = 0, 0
        self.rank, self.world_size, self.num_workers, self.batch_size = 0, 1, 0, 1
        self.shuffle, self.drop_last = not self.test_mode, False
        self._resume: tuple[int, list[int]] | None = None

    # ------------------------------------------------------------------ loader set-up
    def configure_loader(self, rank: int, world_size: int, num_workers: int, batch_size: int,
                         shuffle: bool, seed: int | None, drop_last: bool = False) -> None:
        """Called by ``build_dataloader``: the split and the shuffling of this process."""
        self.rank, self.world_size = rank, world_size
        self.num_workers, self.batch_size = num_workers, batch_size
        self.shuffle = bool(shuffle) and not self.test_mode
        self.seed, self.drop_last = int(seed or 0), bool(drop_last)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration streams (the trainer sets it)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.index['num_samples'])

    def _block(self) -> tuple[int, int, int]:
        return layout.rank_block(len(self), self.world_size, self.rank)

    def loader_length(self) -> int:
        """Batches this process's DataLoader yields in an epoch."""
        length = self._block()[2]
        return sum(len(spans) for spans in layout.worker_batches(
            length, self.batch_size, self.num_workers, self.drop_last))

    def loader_state(self, batches_done: int) -> dict[str, Any]:
        """The loader position after ``batches_done`` batches of the current epoch."""
        length = self._block()[2]
        return dict(epoch=self.epoch, batches_done=int(batches_done),
                    world_size=self.world_size, num_workers=self.num_workers,
                    batch_size=self.batch_size, seed=self.seed,
                    shuffle_buffer=self.shuffle_buffer, num_samples=len(self),
                    samples_consumed=layout.consumed(length, self.batch_size, self.num_workers,
                                                     batches_done, self.drop_last))

    def resume_at(self, state: dict[str, Any]) -> None:
        """Make the next iteration of ``state['epoch']`` skip the batches it lists as done.

        Raises:
            ValueError: the state was saved with another split (world size, workers, batch
                size, seed, buffer or data): that position cannot be found again.
        """
        now = self.loader_state(state.get('batches_done', 0))
        keys = ('world_size', 'num_workers', 'batch_size', 'seed', 'shuffle_buffer',
                'num_samples')
        differ = [f'{key} {state.get(key)!r} -> {now[key]!r}' for key in keys
                  if state.get(key) != now[key]]
        if differ:
            raise ValueError(f'the checkpoint\'s loader position of {self.ann_file} was saved '
                             f'with another set-up ({", ".join(differ)}): resume with the same '
                             'one, or from an epoch-end checkpoint')
        self._resume = (int(state['epoch']), list(state['samples_consumed']))

    # ------------------------------------------------------------------ streaming
    def _shard_order(self) -> list[int]:
        order = list(range(len(self._sizes)))
        if self.shuffle:
            random.Random(f'shards:{self.seed}:{self.epoch}').shuffle(order)
        return order

    def _read(self, order: list[int], first: int, count: int) -> Iterator[tuple]:
        """``count`` samples of the epoch sequence from position ``first`` (wrapping round):
        ``(unwrapped position, position, shard name, key, files)``.

        In training, the samples a broken shard (missing, cut short, fewer samples than the
        index says) cannot give come as ``files`` = the ``DataError``, to be counted as bad
        samples: every rank still gets its number of samples. In test mode it raises.
        """
        sizes = [self._sizes[s] for s in order]
        ends = list(accumulate(sizes))
        total = ends[-1]
        position, left = first % total, count
        while left > 0:
            slot = bisect.bisect_right(ends, position)
            local = position - (ends[slot] - sizes[slot])
            name = self.index['shards'][order[slot]]['name']
            path = shard_location(self.data_prefix, name)
            try:
                for key, files in read_shard(path, skip=local):
                    if position == ends[slot]:
                        break  # more samples than the index lists: the rest is not ours
                    yield first + count - left, position, name, key, files
                    position, left = position + 1, left - 1
                    if left == 0:
                        return
                if position != ends[slot]:
                    raise DataError(f'shard {path} holds {position - ends[slot] + sizes[slot]}'
                                    f' samples, fewer than the {sizes[slot]} the index lists',
                                    path)
            except DataError as err:
                if self.test_mode:
                    raise
                shard_start = self._starts[order[slot]] - (ends[slot] - sizes[slot])
                while position != ends[slot] and left > 0:
                    yield (first + count - left, position, name,
                           sample_key(shard_start + position), err)
                    position, left = position + 1, left - 1
            position %= total

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker = info.id if info is not None else 0
        workers = info.num_workers if info is not None else 0
        if info is not None and workers != self.num_workers:
            raise RuntimeError(f'{type(self).__name__} was set up for {self.num_workers} '
                               f'loader workers but runs in {workers}')
        start, real, length = self._block()
        begin, end = layout.worker_span(length, self.batch_size, workers, worker)
        skip = 0
        if self._resume is not None and self._resume[0] == self.epoch:
            skip = self._resume[1][worker]
        return self._samples(start + begin, end - begin, start + real, worker, skip)

    def _samples(self, first: int, count: int, pad_from: int, worker: int,
                 skip: int) -> Iterator[Any]:
        order = self._shard_order()
        total = len(self)
        shuffled = self.shuffle and self.shuffle_buffer > 1
        # without a buffer the skipped samples' bytes are not even kept
        stream = self._read(order, first + (0 if shuffled else skip),
                            count - (0 if shuffled else skip))
        if shuffled:
            rng = random.Random(f'buffer:{self.seed}:{self.epoch}:{self.rank}:{worker}')
            stream = _buffered(stream, self.shuffle_buffer, rng)
        for number, (unwrapped, position, name, key, files) in enumerate(stream):
            if shuffled and number < skip:
                continue
            # the padding repeats a sample: seed it apart from the original
            seed_position = position if unwrapped < pad_from else position + total
            yield self._load(position, name, key, files, seed_position)

    def _load(self, position: int, shard: str, key: str, files: dict[str, bytes] | DataError,
              seed_position: int) -> Any:
        where = f'{shard}:{key}'
        if isinstance(files, DataError):  # a sample a broken shard could not give
            logger.warning('skipping sample %s of %s: %s', key, shard, files)
            return BadSample(int(key), shard, str(files))
        try:
            meta = load_json(files.pop('json').decode('utf-8'), where)
        except (KeyError, ValueError, UnicodeDecodeError) as err:
            raise DataError(f'{where}: the sample has no readable .json record ({err})',
                            where) from err
        files.pop('cls', None)
        name = f'{shard}:{meta.get("filename", meta.get("frame_dir", key))}'
        index = int(key) if key.isdigit() else position
        note_sample(index, name)
        try:
            with _seeded(self.seed, self.epoch, seed_position):
                sample = self._run_pipeline(meta, files, name)
        except DataError as err:
            if self.test_mode:
                raise
            logger.warning('skipping sample %d (%s): %s', index, name, err)
            return BadSample(index, name, str(err))
        finally:
            note_sample(-1, None)
        if sample is None:
            if self.test_mode:
                raise DataError(f'{name}: a pipeline step returned None', name)
            return BadSample(index, name, 'a pipeline step returned None')
        return sample

    def _results(self, meta: dict[str, Any]) -> dict[str, Any]:
        results = {'label': meta['label'], 'modality': self.modality,
                   'start_index': self.start_index}
        if self.multi_class:
            onehot = torch.zeros(self.num_classes)
            onehot[meta['label'] if isinstance(meta['label'], list) else [meta['label']]] = 1.
            results['label'], results['num_classes'] = onehot, self.num_classes
        return results

    def _run_pipeline(self, meta: dict[str, Any], files: dict[str, bytes], name: str) -> Any:
        raise NotImplementedError(f'{type(self).__name__} must define _run_pipeline')

    # ------------------------------------------------------------------ evaluation
    def restore_order(self, results: list[Any]) -> list[Any]:
        """Results gathered in loader order (ranks interleaved, padding cut) -> index order."""
        total = len(self)
        if len(results) != total or self.shuffle:
            return results
        orders = []
        for rank in range(self.world_size):
            start, _, length = layout.rank_block(total, self.world_size, rank)
            orders.append([start + pos for pos in layout.yield_order(
                length, self.batch_size, self.num_workers, self.drop_last)])
        out: list[Any] = [None] * total
        for gathered, result in enumerate(results):
            out[orders[gathered % self.world_size][gathered // self.world_size]] = result
        return out

    def gt_labels(self) -> list:
        """Every sample's label, in index order."""
        return list(self.index['labels'])

    def check_label_range(self, num_classes: int) -> None:
        """Refuse a label outside ``[0, num_classes)`` now, naming the index and sample."""
        for position, label in enumerate(self.index['labels']):
            for value in (label if isinstance(label, list) else [label]):
                if not isinstance(value, int) or not 0 <= value < num_classes:
                    raise AnnotationError(f'{self.ann_file}: sample {position}: label {value!r} '
                                          f'is out of range for num_classes={num_classes}')

    label2array = staticmethod(BaseDataset.label2array)
    evaluate = BaseDataset.evaluate
    dump_results = staticmethod(BaseDataset.dump_results)


@DATASETS.register_module()
class ShardedVideoDataset(ShardedDataset):
    """Video shards (``actionkit data shard LIST PREFIX OUT``). See :class:`ShardedDataset`
    for the arguments; ``start_index`` defaults to 0 as for ``VideoDataset``."""

    kind = 'videos'

    def _run_pipeline(self, meta: dict[str, Any], files: dict[str, bytes], name: str) -> Any:
        if len(files) != 1:
            raise DataError(f'{name}: expected one video member, got {sorted(files)}', name)
        (ext, data), = files.items()
        with _memory_file(data, f'{os.path.basename(name)}') as path:
            results = self._results(meta)
            results['filename'] = path
            try:
                return self.pipeline(results)
            except DataError as err:
                raise DataError(str(err).replace(path, name), name) from err


@DATASETS.register_module()
class ShardedRawframeDataset(ShardedDataset):
    """Frame-folder shards (``actionkit data shard --rawframes ...``). See
    :class:`ShardedDataset`; ``filename_tmpl`` names the frames as for ``RawframeDataset``
    and ``start_index`` defaults to 1."""

    kind = 'rawframes'

    def __init__(self, ann_file: str | os.PathLike | None = None, pipeline: Sequence[Any] = (),
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 filename_tmpl: str = 'img_{:05}.jpg', shuffle_buffer: int = 100,
                 multi_class: bool = False, num_classes: int | None = None,
                 start_index: int = 1, modality: str = 'RGB',
                 shards: str | os.PathLike | None = None) -> None:
        if not isinstance(filename_tmpl, str):
            raise TypeError(f'filename_tmpl must be a str, got {filename_tmpl!r}')
        self.filename_tmpl = filename_tmpl
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         shuffle_buffer=shuffle_buffer, multi_class=multi_class,
                         num_classes=num_classes, start_index=start_index, modality=modality,
                         shards=shards)

    def _run_pipeline(self, meta: dict[str, Any], files: dict[str, bytes], name: str) -> Any:
        results = self._results(meta)
        results.update(frame_dir=name, total_frames=int(meta['total_frames']),
                       filename_tmpl=self.filename_tmpl, frame_bytes=files)
        if 'offset' in meta:
            results['offset'] = int(meta['offset'])
        return self.pipeline(results)
