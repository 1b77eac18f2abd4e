"""What a DataLoader needs besides the dataset: ``collate``, the samplers, worker seeding,
and the report of a worker that dies.

``collate`` turns a list of pipeline outputs into one batch dict: tensors (and numpy arrays,
numbers) are stacked, dicts such as ``img_metas``/``video_meta`` stay a list of dicts, values
wrapped in :class:`NoStack` (``ToDataContainer(fields=[dict(key=..., stack=False)])``, e.g.
the per-video ``gt_bbox`` of localization) become a list, and the
:class:`~actionkit.datasets.errors.BadSample` placeholders a training dataset returned for
samples it had to skip go to ``batch['bad_samples']`` (present only when there are some; a
batch of bad samples only is ``{'bad_samples': [...]}``).

Distributed sampling pads the index list so every rank gets the same number of samples, as
``torch.utils.data.DistributedSampler`` does: the padded list is
``order + order[:total_size - len(dataset)]`` and rank ``r`` takes its entries
``r, r + world_size, r + 2 * world_size, ...``. So, for a test run (``shuffle=False``),
interleaving the ranks' results (first of rank 0, first of rank 1, ..., second of rank 0, ...)
gives the dataset order, and the entries from ``len(dataset)`` on are padding to drop.
:meth:`DistributedSampler.padding_mask` tells a rank which of its own samples are padding.

A worker process that dies abruptly (a crash inside a native decoder, the kernel's
out-of-memory killer) takes its traceback with it; PyTorch then reports only its pid. So each
worker notes in a :class:`WorkerSampleLog`, in memory shared with the main process, the index
and path of the sample it starts loading (:func:`note_sample`, called by ``BaseDataset``), and
the iterator of a :class:`ReportingDataLoader` turns PyTorch's "worker exited unexpectedly"
into a :class:`~actionkit.datasets.errors.DataError` that names that sample.

The iterator also waits for a batch in short steps, checking the workers after each, so a
death whose ``SIGCHLD`` report was lost is seen at once (:func:`_bound_the_wait`).
"""
from __future__ import annotations

import ctypes
import math
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data import DistributedSampler as _TorchDistributedSampler
from torch.utils.data import default_collate, get_worker_info

from .errors import BadSample, DataError

__all__ = ['collate', 'NoStack', 'RepeatedSamples', 'DistributedSampler',
           'ClassSpecificDistributedSampler', 'worker_init_fn', 'WorkerSampleLog',
           'note_sample', 'start_worker', 'explain_worker_failure', 'ReportingDataLoader']


class NoStack:
    """Marks a sample value that ``collate`` must keep per sample (a list) instead of stacking.

    Args:
        value: anything, e.g. an array whose first dimension differs between samples.
    """

    __slots__ = ('value',)

    def __init__(self, value: Any) -> None:
        self.value = value.value if isinstance(value, NoStack) else value

    def __repr__(self) -> str:
        return f'NoStack({self.value!r})'


class RepeatedSamples(list):
    """Several samples a dataset made from one index (``RepeatAugDataset``): ``collate``
    puts each into the batch on its own."""


def collate(batch: Sequence[Any]) -> Any:
    """Make one batch of samples (dicts from the pipeline), setting bad samples aside.

    Args:
        batch: the samples; :class:`BadSample` entries are taken out, and the samples of a
            :class:`RepeatedSamples` entry are added one by one.

    Returns:
        dict: every key of the samples collated (contiguous ``Tensor[N, ...]`` for tensors,
        arrays and numbers; a list for dicts such as ``img_metas``, :class:`NoStack` values,
        strings and other objects), plus
        ``'bad_samples'`` when some samples were bad. Samples that are not dicts go through
        ``torch.utils.data.default_collate``.

    Raises:
        ValueError: the samples have different keys, or tensors of one key differ in shape.
    """
    batch = [one for item in batch
             for one in (item if isinstance(item, RepeatedSamples) else [item])]
    bad = [sample for sample in batch if isinstance(sample, BadSample)]
    good = [sample for sample in batch if not isinstance(sample, BadSample)]
    if not good:
        return {'bad_samples': bad}
    if not isinstance(good[0], Mapping):
        if bad:
            raise TypeError('bad samples can only be reported in batches of dict samples, got '
                            f'{type(good[0]).__name__} samples')
        return default_collate(good)
    keys = list(good[0])
    for index, sample in enumerate(good):
        if not isinstance(sample, Mapping) or set(sample) != set(keys):
            got = sorted(sample) if isinstance(sample, Mapping) else type(sample).__name__
            raise ValueError(f'cannot collate: sample {index} of the batch has keys {got}, '
                             f'sample 0 has {sorted(keys)}')
    out = {key: _collate_key(key, [sample[key] for sample in good]) for key in keys}
    if bad:
        out['bad_samples'] = bad
    return out


def _collate_key(key: str, values: list) -> Any:
    first = values[0]
    if isinstance(first, NoStack):
        return [value.value if isinstance(value, NoStack) else value for value in values]
    if isinstance(first, Mapping):
        return list(values)
    if isinstance(first, (torch.Tensor, np.ndarray)):
        tensors = [torch.as_tensor(value) for value in values]
        shapes = {tuple(tensor.shape) for tensor in tensors}
        if len(shapes) > 1:
            raise ValueError(f'cannot stack {key!r}: the samples have shapes {sorted(shapes)}; '
                             'the pipeline must give every sample the same shape')
        return _stack_contiguous(tensors)
    if isinstance(first, (bool, int, float, np.number, np.bool_)):
        return torch.as_tensor(np.asarray(values))
    return values


def _stack_contiguous(tensors: list[torch.Tensor]) -> torch.Tensor:
    """``torch.stack`` into a contiguous (NCHW / NCTHW) batch, in the one copy stacking makes.

    ``FormatShape``'s transposes are channels-last views, and ``torch.stack`` keeps their
    layout; torch 2.13's oneDNN backward of a strided 1x1 convolution on channels-last input
    crashes on some CPUs (``double free or corruption``), and DDP warns that grad strides do
    not match its buckets. A model trained with ``channels_last=True`` converts its input in
    its first convolution.
    """
    first = tensors[0]
    if any(tensor.dtype != first.dtype for tensor in tensors):
        return torch.stack(tensors).contiguous()
    out = torch.empty((len(tensors), ) + tuple(first.shape), dtype=first.dtype)
    return torch.stack(tensors, out=out)


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Seed ``random``, ``torch`` and numpy's global RNG of a DataLoader worker.

    The seed is ``seed + rank * num_workers + worker_id``, as in MMAction2 0.x, so every
    worker of every rank draws different (and reproducible) clips.
    """
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2**32)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


class WorkerSampleLog:
    """The sample each DataLoader worker is loading, in memory shared with the main process.

    Args:
        num_workers (int): the loader's worker processes.
    """

    _PATH_BYTES = 1024  # longer paths are cut (at a character boundary when reported)

    def __init__(self, num_workers: int, sample_timeout: float = 0.0) -> None:
        # per worker: pid, sample index (-1: none), length of the path's UTF-8 bytes, and
        # when it started on that sample (time.time() in ms)
        self._ids = torch.full((num_workers, 4), -1, dtype=torch.int64).share_memory_()
        self.parent_pid = os.getpid()  # the process whose workers write here
        self.sample_timeout = float(sample_timeout)  # seconds a worker may spend on a sample
        self._paths = torch.zeros((num_workers, self._PATH_BYTES),
                                  dtype=torch.uint8).share_memory_()

    def note(self, worker_id: int, index: int, path: str | None) -> None:
        """Record that worker ``worker_id`` (this process) starts on sample ``index``."""
        ids, paths = self._ids.numpy(), self._paths.numpy()
        data = (path or '').encode('utf-8')[:self._PATH_BYTES]
        paths[worker_id, :len(data)] = np.frombuffer(data, dtype=np.uint8)
        ids[worker_id] = (os.getpid(), index, len(data), int(time.time() * 1000))

    def loading(self, pid: int) -> tuple[int, int, str | None] | None:
        """``(worker_id, index, path)`` of the sample worker process ``pid`` was loading."""
        ids = self._ids.numpy()
        for worker_id, (worker_pid, index, size, _) in enumerate(ids.tolist()):
            if worker_pid == pid and index >= 0:
                raw = self._paths.numpy()[worker_id, :size].tobytes()
                return worker_id, index, raw.decode('utf-8', errors='ignore') or None
        return None

    def in_flight(self) -> list[tuple[int, int, str | None, float]]:
        """``(worker_id, index, path, seconds)`` of every sample a worker is loading now."""
        now = time.time() * 1000
        found = []
        for worker_id, (pid, index, _, started) in enumerate(self._ids.numpy().tolist()):
            entry = self.loading(pid) if index >= 0 else None
            if entry is not None and entry[0] == worker_id:
                found.append((*entry, max(0.0, (now - started) / 1000)))
        return found


_DEAD_WORKER = re.compile(r'DataLoader worker \(pids?(?:\(s\))? ([\d, ]+)\)')
_TIMED_OUT = re.compile(r'DataLoader timed out after ([\d.]+) seconds')
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_LIVENESS_CHECK_S = 1.0  # how often a wait for a batch checks that the workers are alive
# what a DataLoader iterator raises when a worker dies or hangs
_WORKER_ERRORS = (RuntimeError, EOFError, ConnectionError, BrokenPipeError)
# set only inside a DataLoader worker process, by start_worker
_SAMPLE_LOG: WorkerSampleLog | None = None
_CURRENT: tuple[int, str | None] = (-1, None)  # the sample this worker loads now


def note_sample(index: int, path: str | None) -> None:
    """Inside a worker of a :class:`ReportingDataLoader`: record the sample it starts loading
    (``index`` -1: none). Elsewhere a no-op."""
    global _CURRENT
    if _SAMPLE_LOG is not None:
        info = get_worker_info()
        if info is not None:
            if os.getppid() != _SAMPLE_LOG.parent_pid:  # orphaned: the trainer is gone
                os._exit(1)
            _SAMPLE_LOG.note(info.id, index, path)
            if _SAMPLE_LOG.sample_timeout > 0 and hasattr(signal, 'setitimer'):
                _CURRENT = (index, path)
                signal.setitimer(signal.ITIMER_REAL,
                                 _SAMPLE_LOG.sample_timeout if index >= 0 else 0)


def _sample_took_too_long(signum: int, frame: Any) -> None:
    """SIGALRM in a worker: the sample it loads ran past ``data.batch_timeout``."""
    index, path = _CURRENT
    if index < 0 or _SAMPLE_LOG is None:
        return
    raise DataError(f'loading sample {index} ({path}) took more than '
                    f'{_SAMPLE_LOG.sample_timeout:g} s (data.batch_timeout): a decoder that '
                    'does not return?', path)


def _exit_with_parent(parent_pid: int) -> None:
    """Make this worker die when the process that started it dies, even by ``kill -9``.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    if the parent is already gone (it died while this worker started), exit now. Elsewhere,
    :func:`note_sample` checks the parent before each sample, and PyTorch's own watchdog
    between batches.
    """
    if sys.platform.startswith('linux'):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def start_worker(worker_id: int, sample_log: WorkerSampleLog,
                 init_fn: Callable[[int], None] | None = None) -> None:
    """``worker_init_fn`` of a :class:`ReportingDataLoader`: keep ``sample_log`` for
    :func:`note_sample`, then run ``init_fn`` (e.g. :func:`worker_init_fn`)."""
    global _SAMPLE_LOG
    _exit_with_parent(sample_log.parent_pid)
    _SAMPLE_LOG = sample_log
    if sample_log.sample_timeout > 0 and hasattr(signal, 'setitimer'):
        signal.signal(signal.SIGALRM, _sample_took_too_long)
    if init_fn is not None:
        init_fn(worker_id)


def _timed_out(error: BaseException, sample_log: WorkerSampleLog) -> DataError | None:
    match = _TIMED_OUT.search(str(error))
    if match is None:
        return None
    found = sample_log.in_flight()
    where = '; '.join(f'worker {worker_id} has been loading sample {index} ({path}) for '
                      f'{seconds:.0f} s' for worker_id, index, path, seconds in found)
    return DataError(f'no batch came from the DataLoader workers within {match[1]} s: '
                     f'{where or "no sample is in flight (a worker is stuck outside a sample)"}. '
                     'A decoder stuck in native code, where the per-sample limit cannot stop '
                     'it, is the usual cause; the limit is (batch size + 1) x '
                     'data.batch_timeout (0 turns it off).', found[0][2] if found else None)


def _dead_workers(error: BaseException, workers: Sequence[Any]) -> list[tuple[int, int | None]]:
    """``(pid, exit code)`` of the workers named dead in ``error`` or found dead."""
    codes = {worker.pid: worker.exitcode for worker in workers}
    match = _DEAD_WORKER.search(str(error))
    if match is not None:
        return [(int(pid), codes.get(int(pid))) for pid in re.findall(r'\d+', match[1])]
    return [(pid, code) for pid, code in codes.items() if code is not None and code != 0]


def _how(code: int | None) -> str:
    if code is None or code >= 0:
        return 'died'
    try:
        return f'was killed by {signal.Signals(-code).name}'
    except ValueError:
        return f'was killed by signal {-code}'


def explain_worker_failure(error: BaseException, sample_log: WorkerSampleLog,
                           workers: Sequence[Any] = ()) -> DataError | None:
    """A :class:`DataError` naming the sample(s) dead or stuck workers were loading.

    ``error`` is what the DataLoader raised: PyTorch's "worker exited unexpectedly" or
    "timed out" ``RuntimeError``, or the ``EOFError`` / ``ConnectionResetError`` its queues
    raise when a worker dies mid-transfer; ``workers`` are the iterator's worker processes,
    whose exit codes say which died (and by which signal). None when nothing is known, or
    when ``error`` is already such a report (the iterator's, seen again by the trainer).
    """
    if isinstance(error, DataError):
        return None
    timed_out = _timed_out(error, sample_log)
    if timed_out is not None:
        return timed_out
    dead = _dead_workers(error, workers)
    said = str(error).strip().rstrip('.')
    found = [(sample_log.loading(pid), code) for pid, code in dead]
    found = [(entry, code) for entry, code in found if entry is not None]
    if not found:  # it died between samples (or before its first): name the worker at least,
        # when PyTorch's error is about a dead worker (not any error while one had exited)
        if not (_DEAD_WORKER.search(str(error)) or isinstance(error, (EOFError,
                                                                       ConnectionError))):
            return None
        ids = {worker.pid: worker_id for worker_id, worker in enumerate(workers)}
        idle = [(ids[pid], code) for pid, code in dead if pid in ids]
        if not idle:
            return None
        where = '; '.join(f'worker {worker_id} {_how(code)} between samples'
                          for worker_id, code in idle)
        return DataError(f'{where} (PyTorch: "{said}"). No sample was loading: the '
                         'out-of-memory killer, a signal from outside or a worker_init_fn are '
                         'the usual causes.')
    where = '; '.join(f'worker {entry[0]} {_how(code)} while loading sample {entry[1]} '
                      f'({entry[2]})' for entry, code in found)
    found = [entry for entry, _ in found]
    return DataError(f'{where} (PyTorch: "{said}"). A crash inside a native library (a video '
                     'or image decoder) or the out-of-memory killer are the usual causes; load '
                     'that sample with workers_per_gpu=0 to see its error.', found[0][2])


class ReportingDataLoader(DataLoader):
    """A ``torch.utils.data.DataLoader`` whose iterator names the sample a dead worker was
    loading (see the module docstring). Built by ``build_dataloader``.

    PyTorch may raise the "worker exited" error from its ``SIGCHLD`` handler while the main
    process is busy elsewhere (in a training step) rather than waiting for a batch; code
    around the loop can then turn it into the same :class:`DataError` with
    :meth:`explain_failure`.

    Args:
        dataset (Dataset): the dataset.
        sample_log (WorkerSampleLog | None): the log its workers write (their
            ``worker_init_fn`` must be :func:`start_worker` with it); None: plain DataLoader.
        **kwargs: the arguments of ``torch.utils.data.DataLoader``.
    """

    def __init__(self, dataset: Dataset, sample_log: WorkerSampleLog | None = None,
                 **kwargs: Any) -> None:
        super().__init__(dataset, **kwargs)
        self.sample_log = sample_log

    def __iter__(self) -> Iterator[Any]:
        iterator = super().__iter__()
        if self.sample_log is None or self.num_workers == 0:
            return iterator
        self._workers = getattr(iterator, '_workers', [])
        return _ReportingIterator(iterator, self.sample_log)

    def __len__(self) -> int:
        # a streaming dataset knows this process's batches (its share of the ranks' split)
        loader_length = getattr(self.dataset, 'loader_length', None)
        if callable(loader_length):
            return int(loader_length())
        return super().__len__()

    def explain_failure(self, error: BaseException) -> DataError | None:
        """See :func:`explain_worker_failure`."""
        if self.sample_log is None:
            return None
        return explain_worker_failure(error, self.sample_log, getattr(self, '_workers', []))


class _ReportingIterator:
    """Wraps a DataLoader iterator; see :class:`ReportingDataLoader`."""

    def __init__(self, iterator: Iterator[Any], sample_log: WorkerSampleLog) -> None:
        self._iterator, self._sample_log = iterator, sample_log
        _bound_the_wait(iterator)

    def __iter__(self) -> _ReportingIterator:
        return self

    def __len__(self) -> int:
        return len(self._iterator)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:  # the wrapped iterator's other attributes
        iterator = self.__dict__.get('_iterator')
        if iterator is None:
            raise AttributeError(name)
        return getattr(iterator, name)

    def __next__(self) -> Any:
        try:
            return next(self._iterator)
        except _WORKER_ERRORS as err:
            if isinstance(err, RuntimeError) and isinstance(err, DataError):
                raise
            workers = getattr(self._iterator, '_workers', [])
            if isinstance(err, (EOFError, ConnectionError)):  # seen before the exit code is
                _wait_for_a_worker_exit(workers)
            explained = explain_worker_failure(err, self._sample_log, workers)
            if explained is None:
                raise
            # stop PyTorch's SIGCHLD handler from raising the same death again later, anywhere
            shutdown = getattr(self._iterator, '_shutdown_workers', None)
            if callable(shutdown):
                shutdown()
            raise explained from err


def _bound_the_wait(iterator: Any) -> None:
    """Make ``iterator`` (PyTorch's multi-process DataLoader iterator) wait for a batch in
    steps of at most ``_LIVENESS_CHECK_S``, checking after each that its workers live, and
    give up after its ``timeout`` with PyTorch's own "timed out" error.

    PyTorch reports a dead worker from its ``SIGCHLD`` handler, and checks the workers' exit
    codes only when a wait times out. The first is lost when the signal lands in code that
    swallows exceptions (torch 2.13's lazy import inside ``record_function`` does); given a
    ``timeout`` (``(batch size + 1) x data.batch_timeout``), PyTorch then waits all of it.
    Without a ``timeout`` it checks every few seconds; a PyTorch without the methods used
    here keeps its own wait.
    """
    timeout = getattr(iterator, '_timeout', 0)
    try_get = getattr(iterator, '_try_get_data', None)
    if not timeout or timeout <= 0 or not callable(try_get) or \
            not callable(getattr(iterator, '_get_data', None)):
        return

    def get_data() -> Any:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            # a dead worker raises PyTorch's "exited unexpectedly" here
            success, data = try_get(min(_LIVENESS_CHECK_S, max(remaining, 0.0)))
            if success:
                return data
            pin_thread = getattr(iterator, '_pin_memory_thread', None)
            if getattr(iterator, '_pin_memory', False) and pin_thread is not None and \
                    not pin_thread.is_alive():
                raise RuntimeError('Pin memory thread exited unexpectedly')
            if remaining <= _LIVENESS_CHECK_S:
                raise RuntimeError(f'DataLoader timed out after {timeout} seconds')

    iterator._get_data = get_data


def _wait_for_a_worker_exit(workers: Sequence[Any], seconds: float = 5.0) -> None:
    """Wait until one of ``workers`` has an exit code (a queue can report a worker's death
    before the process is reaped), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if any(worker.exitcode is not None for worker in workers):
                return
            time.sleep(0.02)
        except RuntimeError:  # PyTorch's SIGCHLD handler reporting the death waited for
            continue


def _check_seed(seed: Any) -> int:
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f'seed must be an int or None, got {seed!r}')
    return int(seed)


class DistributedSampler(_TorchDistributedSampler):
    """The share of one rank of a (shuffled) dataset, padded to equal shares.

    Every rank must pass the same ``seed``; the order is reshuffled for each epoch given to
    :meth:`set_epoch`. See the module docstring for how the padding is laid out.

    Args:
        dataset (Dataset): the dataset.
        num_replicas (int | None): the number of ranks (default: the process group's).
        rank (int | None): this rank (default: the process group's).
        shuffle (bool): shuffle the order (with ``seed + epoch``).
        seed (int | None): the shuffle seed; None means 0.
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int | None = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle,
                         seed=_check_seed(seed))

    def _global_order(self) -> list[int]:
        size = len(self.dataset)  # type: ignore[arg-type]
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            return torch.randperm(size, generator=generator).tolist()
        return list(range(size))

    def __iter__(self) -> Iterator[int]:
        indices = _pad(self._global_order(), self.total_size)
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    @property
    def num_padded(self) -> int:
        """How many padding entries the whole padded list holds (over all ranks)."""
        return self.total_size - len(self.dataset)  # type: ignore[arg-type]

    def padding_mask(self) -> list[bool]:
        """For each sample this rank yields, whether it is a padding repeat."""
        size = len(self.dataset)  # type: ignore[arg-type]
        return [self.rank + pos * self.num_replicas >= size for pos in range(self.num_samples)]


def _pad(indices: list[int], total_size: int) -> list[int]:
    """Repeat ``indices`` from the start until the list is ``total_size`` long."""
    if not indices:
        raise ValueError('cannot sample from an empty dataset')
    missing = total_size - len(indices)
    if missing > 0:
        indices = indices + (indices * math.ceil(missing / len(indices)))[:missing]
    return indices[:total_size]


class ClassSpecificDistributedSampler(_TorchDistributedSampler):
    """Class-balanced sampling with the dataset's ``class_prob`` (``sample_by_class=True``).

    With ``dynamic_length=True`` class ``c`` contributes ``class_prob[c] * times`` passes
    over its clips each epoch (whole passes, then a random part), so the epoch length may
    change; with ``dynamic_length=False`` the epoch keeps its length and clips are drawn with
    replacement, each with probability ``class_prob[label] / count[label]``. ``times`` is
    the repeat count when the dataset is a ``RepeatDataset``.

    Args:
        dataset (Dataset): a dataset with ``class_prob``, or a ``RepeatDataset`` of one.
        num_replicas (int | None): the number of ranks.
        rank (int | None): this rank.
        dynamic_length (bool): see above.
        shuffle (bool): shuffle the drawn indices.
        seed (int | None): the seed; None means 0.
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None,
                 rank: int | None = None, dynamic_length: bool = True, shuffle: bool = True,
                 seed: int | None = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle,
                         seed=_check_seed(seed))
        inner = getattr(dataset, 'dataset', dataset) if hasattr(dataset, 'times') else dataset
        if not hasattr(inner, 'class_prob'):
            raise ValueError(f'{type(inner).__name__} has no class_prob: build the dataset with '
                             'sample_by_class=True to sample by class')
        self.class_prob = inner.class_prob
        self.dynamic_length = dynamic_length
        self._times = int(getattr(dataset, 'times', 1))
        labels = inner.gt_labels() if hasattr(inner, 'gt_labels') else [
            info['label'] for info in inner.video_infos]
        self._labels = np.asarray(labels, dtype=np.int64)

    def _draw(self, generator: torch.Generator) -> list[int]:
        labels = self._labels
        if not self.dynamic_length:
            counts = np.bincount(labels)
            probs = np.array([self.class_prob.get(int(label), 0.0) for label in labels])
            weights = torch.as_tensor(probs / counts[labels], dtype=torch.float64)
            return torch.multinomial(weights, self.total_size, replacement=True,
                                     generator=generator).tolist()
        indices: list[int] = []
        for label, prob in self.class_prob.items():
            members = np.flatnonzero(labels == label)
            passes = prob * self._times
            indices.extend(members.tolist() * int(passes))
            part = int((passes % 1) * len(members))
            pick = torch.randperm(len(members), generator=generator)[:part].numpy()
            indices.extend(members[pick].tolist())
        if self.shuffle:
            order = torch.randperm(len(indices), generator=generator).tolist()
            indices = [indices[i] for i in order]
        self.num_samples = math.ceil(len(indices) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        return indices

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        indices = _pad(self._draw(generator), self.total_size)
        return iter(indices[self.rank:self.total_size:self.num_replicas])
