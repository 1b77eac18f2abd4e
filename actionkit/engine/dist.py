"""Distributed training: launchers, rank helpers, result collection and a rank watchdog.

One process per device. A launcher (``torchrun``, slurm's ``srun``, ``mpirun``) starts the
processes and :func:`init_dist` turns its environment variables into a process group:

- ``'pytorch'``: ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``
  (what ``torchrun`` / ``python -m torch.distributed.run`` sets);
- ``'slurm'``: ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``, ``SLURM_NODELIST``; the
  first host of the node list (``scontrol show hostnames``) is the master;
- ``'mpi'``: ``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_SIZE``, ``OMPI_COMM_WORLD_LOCAL_RANK``
  plus ``MASTER_ADDR``.

Without CUDA the backend falls back to gloo, so everything here also runs on CPUs (that is how
the tests run it). :func:`launch` starts ``nprocs`` local processes without a launcher.

A rank that fails must not leave the others hanging. Every collective has the process group's
timeout, and :class:`Watchdog` adds two faster signals through the rendezvous store: a rank
that raises records why (:func:`report_failure`), and every rank beats a heartbeat. A rank whose
collective fails, or whose watchdog sees a failure record or a heartbeat that stopped, exits with
a message that names the failed rank (:func:`describe_peer_failure`).
"""
from __future__ import annotations

import datetime
import inspect
import logging
import contextlib
import os
import pickle
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..models.layers import revert_sync_batchnorm
from .rendezvous import DEFAULT_INIT_TIMEOUT_S, STORE_PREFIX, attempt_name, form_group

__all__ = [
    'init_dist', 'get_dist_info', 'get_rank', 'get_world_size', 'get_local_rank',
    'is_main_process', 'barrier', 'all_gather', 'broadcast_object', 'collect_results_cpu',
    'collect_results_gpu', 'wrap_model', 'revert_sync_batchnorm', 'launch', 'find_free_port',
    'report_failure', 'describe_peer_failure', 'Watchdog', 'form_group',
]

logger = logging.getLogger(__name__)

LAUNCHERS = ('pytorch', 'slurm', 'mpi')
DEFAULT_TIMEOUT_S = 1800
_STORE_PREFIX = STORE_PREFIX  # the watchdog's keys


# ----------------------------------------------------------------------------- rank helpers
def get_dist_info() -> tuple[int, int]:
    """Return ``(rank, world_size)``; ``(0, 1)`` when no process group is initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def get_rank() -> int:
    """The global rank of this process (0 without a process group)."""
    return get_dist_info()[0]


def get_world_size() -> int:
    """The number of processes (1 without a process group)."""
    return get_dist_info()[1]


def get_local_rank() -> int:
    """The rank of this process on its machine (``LOCAL_RANK``, 0 when unset)."""
    return int(os.environ.get('LOCAL_RANK', 0))


def is_main_process() -> bool:
    """True on rank 0 (and without a process group)."""
    return get_rank() == 0


def barrier() -> None:
    """Wait for every rank; a no-op without a process group."""
    if get_world_size() > 1:
        dist.barrier()


def _object_group() -> Any:
    """A gloo group for pickled objects (NCCL would need them on the GPU)."""
    if dist.get_backend() == 'gloo':
        return None
    global _GLOO_GROUP
    if _GLOO_GROUP is None:
        _GLOO_GROUP = dist.new_group(backend='gloo')
    return _GLOO_GROUP


_GLOO_GROUP: Any = None


def all_gather(data: Any) -> list[Any]:
    """Gather one picklable object from every rank; returns the list on every rank."""
    world_size = get_world_size()
    if world_size == 1:
        return [data]
    output: list[Any] = [None] * world_size
    dist.all_gather_object(output, data, group=_object_group())
    return output


def broadcast_object(data: Any, src: int = 0) -> Any:
    """Send a picklable object from rank ``src`` to every rank and return it."""
    if get_world_size() == 1:
        return data
    box = [data]
    dist.broadcast_object_list(box, src=src, group=_object_group())
    return box[0]


# ----------------------------------------------------------------------------- launchers
def _require_env(names: Sequence[str], launcher: str) -> dict[str, str]:
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise KeyError(f'the {launcher!r} launcher needs the environment variables {missing}, '
                       f'which are not set; start the job with '
                       f'{_LAUNCH_HINT.get(launcher, "its launcher")}')
    return {name: os.environ[name] for name in names}


_LAUNCH_HINT = {
    'pytorch': 'torchrun / tools/dist_train.sh', 'slurm': 'srun / tools/slurm_train.sh',
    'mpi': 'mpirun',
}


def _slurm_master_addr(node_list: str) -> str:
    try:
        out = subprocess.run(['scontrol', 'show', 'hostnames', node_list], check=True,
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise RuntimeError(f'could not expand SLURM_NODELIST={node_list!r} with '
                           f'"scontrol show hostnames": {err}; set MASTER_ADDR yourself') from err
    hosts = out.split()
    if not hosts:
        raise RuntimeError(f'"scontrol show hostnames {node_list}" printed no host name')
    return hosts[0]


def init_dist(launcher: str, backend: str = 'nccl', port: int | None = None,
              timeout: float = DEFAULT_TIMEOUT_S,
              init_timeout: float = DEFAULT_INIT_TIMEOUT_S) -> tuple[int, int]:
    """Initialise the default process group from a launcher's environment.

    Args:
        launcher: ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        backend: ``'nccl'``, ``'gloo'`` (or ``'mpi'``). Falls back to ``'gloo'`` without CUDA.
        port: the master port (``dist_params.port``). Slurm: overrides ``MASTER_PORT`` /
            ``PORT``; other launchers: used only when ``MASTER_PORT`` is unset.
        timeout: seconds a collective may wait for the other ranks before failing.
        init_timeout: seconds to wait for every rank to arrive (``dist_params.init_timeout``);
            then a ``TimeoutError`` names the ranks that did not (see :func:`form_group`).

    Returns:
        ``(rank, world_size)``.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if backend not in ('nccl', 'gloo', 'mpi'):
        raise ValueError(f"dist_params.backend must be 'nccl', 'gloo' or 'mpi', got {backend!r}")
    for name, value in (('timeout', timeout), ('init_timeout', init_timeout)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f'dist_params.{name} must be a positive number of seconds, got '
                             f'{value!r}')
    if launcher == 'pytorch':
        env = _require_env(['RANK', 'WORLD_SIZE', 'MASTER_ADDR'], launcher)
        rank, world_size = int(env['RANK']), int(env['WORLD_SIZE'])
        local_rank = int(os.environ.get('LOCAL_RANK', rank))
        if 'MASTER_PORT' not in os.environ:
            os.environ['MASTER_PORT'] = str(port or 29500)
    elif launcher == 'slurm':
        env = _require_env(['SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'], launcher)
        rank, world_size = int(env['SLURM_PROCID']), int(env['SLURM_NTASKS'])
        local_rank = int(os.environ.get('SLURM_LOCALID', rank % max(torch.cuda.device_count(), 1)))
        chosen = port or os.environ.get('MASTER_PORT') or os.environ.get('PORT') or 29500
        os.environ['MASTER_PORT'] = str(chosen)
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = _slurm_master_addr(env['SLURM_NODELIST'])
    else:
        env = _require_env(['OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'MASTER_ADDR'],
                           launcher)
        rank, world_size = int(env['OMPI_COMM_WORLD_RANK']), int(env['OMPI_COMM_WORLD_SIZE'])
        local_rank = int(os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', 0))
        os.environ.setdefault('MASTER_PORT', str(port or 29500))
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(local_rank))
    return _init_process_group(backend, rank, world_size, local_rank, timeout, init_timeout)


def _init_process_group(backend: str, rank: int, world_size: int, local_rank: int,
                        timeout: float, init_timeout: float = DEFAULT_INIT_TIMEOUT_S
                        ) -> tuple[int, int]:
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    elif backend == 'nccl':
        logger.warning('CUDA is not available: using the gloo backend instead of nccl')
        backend = 'gloo'
    store = form_group(rank, world_size, init_timeout)
    dist.init_process_group(backend=backend, store=store, rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=float(timeout)))
    logger.info('process group ready: rank %d of %d, backend %s, master %s:%s, attempt %s',
                rank, world_size, backend, os.environ.get('MASTER_ADDR'),
                os.environ.get('MASTER_PORT'), attempt_name())
    return rank, world_size


def find_free_port() -> int:
    """A TCP port that was free a moment ago on this machine (for local launches)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def _launch_worker(local_rank: int, fn: Callable[..., Any], nprocs: int, port: int,
                   backend: str, timeout: float, args: tuple) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(local_rank),
                      LOCAL_RANK=str(local_rank), WORLD_SIZE=str(nprocs))
    _init_process_group(backend, local_rank, nprocs, local_rank, timeout)
    try:
        fn(*args)
        # no rank closes its connections (or, rank 0, the store) while another still uses them
        barrier()
    finally:
        dist.destroy_process_group()


def launch(fn: Callable[..., Any], nprocs: int, args: tuple = (), backend: str = 'gloo',
           port: int | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Run ``fn(*args)`` in ``nprocs`` new local processes that form a process group.

    A launcher-free way to use several processes on one machine (CPU tests, notebooks).
    ``fn`` and ``args`` must be picklable (a module-level function). If a process raises,
    the others are stopped and the error is re-raised here.

    Example:
        >>> launch(train_one, nprocs=2, args=(cfg,))  # doctest: +SKIP
    """
    if not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f'nprocs must be a positive int, got {nprocs!r}')
    port = port or find_free_port()
    torch.multiprocessing.spawn(_launch_worker, args=(fn, nprocs, port, backend, timeout, args),
                                nprocs=nprocs, join=True)


# ----------------------------------------------------------------------------- model wrapping
def wrap_model(model: nn.Module, device: torch.device, distributed: bool,
               find_unused_parameters: bool = False) -> nn.Module:
    """Move ``model`` to ``device`` and, when ``distributed``, wrap it in DDP.

    ``SyncBatchNorm`` needs CUDA: on CPU (or without a process group) it is reverted to plain
    batch norm with a warning, so every rank normalises with its own batch statistics.
    Buffers are not broadcast at each forward (MMAction2 0.x's choice); the evaluation hook
    broadcasts the batch-norm statistics of rank 0 before evaluating.
    """
    has_sync_bn = any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    if has_sync_bn and (device.type != 'cuda' or not distributed):
        if distributed:
            logger.warning('SyncBN needs CUDA; on %s it falls back to per-process BN', device)
        model = revert_sync_batchnorm(model)
    model = model.to(device)
    if not distributed:
        return model
    device_ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == 'cuda' else None
    ddp = nn.parallel.DistributedDataParallel
    # torch >= 2.13 renamed broadcast_buffers (and syncs buffers once at wrapping either way)
    no_sync = {'forward_sync_buffers': False} if 'forward_sync_buffers' in \
        inspect.signature(ddp.__init__).parameters else {'broadcast_buffers': False}
    return ddp(model, device_ids=device_ids, find_unused_parameters=find_unused_parameters,
               **no_sync)


# ----------------------------------------------------------------------------- results
def _interleave(parts: Sequence[Sequence[Any]], size: int) -> list[Any]:
    """Undo the distributed sampler's split: rank r held dataset indices r, r+W, r+2W …"""
    ordered: list[Any] = []
    for group in zip(*parts):
        ordered.extend(group)
    longest = max((len(p) for p in parts), default=0)
    if len(ordered) < size and longest > len(parts[-1]):
        # uneven parts (no padding): the leftovers belong at the end, in rank order
        depth = min(len(p) for p in parts)
        ordered.extend(p[depth] for p in parts if len(p) > depth)
    return ordered[:size]


def collect_results_gpu(result_part: list[Any], size: int) -> list[Any] | None:
    """Gather every rank's results over the process group (``gpu_collect=True``).

    Args:
        result_part: this rank's results, in the order of its sampler's indices.
        size: the dataset length; the sampler's padding beyond it is dropped.

    Returns:
        On rank 0 the results in dataset order; ``None`` on the other ranks.
    """
    parts = all_gather(list(result_part))
    if get_rank() != 0:
        return None
    return _interleave(parts, size)


def collect_results_cpu(result_part: list[Any], size: int,
                        tmpdir: str | None = None) -> list[Any] | None:
    """Gather every rank's results through pickle files in a directory all ranks share.

    Args:
        result_part: this rank's results, in the order of its sampler's indices.
        size: the dataset length; the sampler's padding beyond it is dropped.
        tmpdir: a directory all ranks share (``./.dist_test`` when ``None``). Rank 0 makes a
            fresh folder inside it for the parts and sends its name to the others; only what
            was made is removed afterwards (a given ``tmpdir`` itself only if it was made here
            and is left empty), so files of the user's in ``tmpdir`` are never touched.

    Returns:
        On rank 0 the results in dataset order; ``None`` on the other ranks.
    """
    rank, world_size = get_dist_info()
    parent = '.dist_test' if tmpdir is None else os.fspath(tmpdir)
    made = parent_made = None
    if rank == 0:
        parent_made = tmpdir is not None and not os.path.isdir(parent)  # .dist_test stays
        os.makedirs(parent, exist_ok=True)
        made = tempfile.mkdtemp(prefix='actionkit-parts-', dir=parent)
    tmpdir = broadcast_object(made, src=0)
    assert tmpdir is not None, 'rank 0 did not provide a temporary directory'
    with open(os.path.join(tmpdir, f'part_{rank}.pkl'), 'wb') as f:
        pickle.dump(list(result_part), f, protocol=pickle.HIGHEST_PROTOCOL)
    barrier()
    if rank != 0:
        barrier()  # until rank 0 has read and removed the directory, which may be reused
        return None
    parts = []
    for other in range(world_size):
        with open(os.path.join(tmpdir, f'part_{other}.pkl'), 'rb') as f:
            parts.append(pickle.load(f))
    shutil.rmtree(tmpdir, ignore_errors=True)
    if parent_made:
        with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
            os.rmdir(parent)
    barrier()
    return _interleave(parts, size)


# ----------------------------------------------------------------------------- failures
def _store() -> Any:
    if not (dist.is_available() and dist.is_initialized()):
        return None
    try:
        return dist.distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError, ValueError):
        return None


def report_failure(exc: BaseException) -> None:
    """Record in the rendezvous store that this rank failed, and why (best effort)."""
    store = _store()
    if store is None:
        return
    rank = get_rank()
    text = f'{type(exc).__name__}: {exc}'.strip().splitlines()[0][:500]
    try:
        store.set(f'{_STORE_PREFIX}failed/{rank}', text)
    except Exception:  # noqa: BLE001 - the store may be gone already; nothing else to do
        logger.debug('could not record the failure of rank %d in the store', rank)


def _read_failures(store: Any, world_size: int, skip: int) -> list[str]:
    found = []
    for rank in range(world_size):
        key = f'{_STORE_PREFIX}failed/{rank}'
        if rank != skip and store.check([key]):
            found.append(f'rank {rank} failed ({store.get(key).decode(errors="replace")})')
    return found


def _heartbeats(store: Any, world_size: int) -> list[int]:
    return [int(store.add(f'{_STORE_PREFIX}beat/{rank}', 0)) for rank in range(world_size)]


def _done(store: Any, rank: int) -> bool:
    return bool(store.check([f'{_STORE_PREFIX}done/{rank}']))


def describe_peer_failure(wait_s: float = 0.0, poll_s: float = 0.5) -> str | None:
    """Name the other ranks that failed, or ``None`` if none is known to have failed.

    Looks for failure records and, for up to ``wait_s`` seconds, for ranks whose heartbeat
    (see :class:`Watchdog`) stopped. When the store itself is unreachable, rank 0 (which hosts
    it unless an agent does) is named.
    """
    store, (rank, world_size) = _store(), get_dist_info()
    if store is None or world_size == 1:
        return None
    try:
        failures = _read_failures(store, world_size, skip=rank)
        deadline = time.monotonic() + wait_s
        first = _heartbeats(store, world_size)
        while not failures and time.monotonic() < deadline:
            time.sleep(poll_s)
            failures = _read_failures(store, world_size, skip=rank)
        if failures:
            return '; '.join(failures)
        if wait_s > 0:
            last = _heartbeats(store, world_size)
            stopped = [r for r in range(world_size)
                       if r != rank and last[r] == first[r] and not _done(store, r)]
            if stopped:
                return '; '.join(f'rank {r} stopped responding (its heartbeat stopped: the '
                                 f'process died or hangs)' for r in stopped)
    except Exception as err:  # noqa: BLE001 - any store error means its host is gone
        return f'rank 0 is unreachable (the rendezvous store it hosts does not answer: {err})'
    return None


class _Stopping(Exception):
    """Raised instead of a store call once the watchdog is told to stop."""


class _StopAwareStore:
    """A store client of its own (calls give up after ``timeout_s``) that makes no new call
    once ``stop`` is set, so a stopping watchdog waits for one call at most."""

    def __init__(self, store: Any, timeout_s: float, stop: threading.Event) -> None:
        try:
            store = store.clone()
            store.set_timeout(datetime.timedelta(seconds=timeout_s))
        except (AttributeError, RuntimeError, NotImplementedError):
            logger.debug('the store cannot be cloned: the watchdog shares its timeout')
        self._store, self._stop = store, stop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        def call(*args: Any) -> Any:
            if self._stop.is_set():
                raise _Stopping(name)
            return method(*args)
        return call


class Watchdog:
    """A daemon thread that stops this rank when another rank has failed.

    It beats a heartbeat counter in the store every ``interval_s`` seconds and checks the
    others: if a rank recorded a failure (:func:`report_failure`) and this rank has not exited
    ``grace_s`` seconds later, or a rank's heartbeat has not moved for ``stale_s`` seconds, it
    logs an error naming that rank and ends the process (exit code 1), so nothing waits for the
    process-group timeout. Call :meth:`stop` when training ends normally.

    The thread talks to the store through its own client whose calls give up after
    ``interval_s`` (at least 1 s), so :meth:`stop` can wait until the thread has ended: a daemon
    thread still inside a store call when the interpreter shuts down is unwound by force, and
    the process aborts ("terminate called without an active exception").

    Args:
        interval_s: seconds between heartbeats.
        stale_s: a heartbeat older than this means that rank is gone.
        grace_s: how long to let this rank fail on its own after a peer's failure record.
    """

    def __init__(self, interval_s: float = 5.0, stale_s: float = 120.0,
                 grace_s: float = 30.0) -> None:
        for name, value in (('interval_s', interval_s), ('stale_s', stale_s),
                            ('grace_s', grace_s)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f'Watchdog: {name} must be a positive number, got {value!r}')
        if stale_s <= interval_s:
            raise ValueError(f'Watchdog: stale_s ({stale_s}) must exceed interval_s ({interval_s})')
        self.interval_s, self.stale_s, self.grace_s = interval_s, stale_s, grace_s
        self.call_timeout_s = max(float(interval_s), 1.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None

    def start(self) -> Watchdog:
        """Start beating (a no-op without a process group of two or more ranks)."""
        store = _store()
        if store is None or get_world_size() == 1 or self._thread is not None:
            return self
        self._client = _StopAwareStore(store, self.call_timeout_s, self._stop)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name='actionkit-watchdog', daemon=True)
        self._thread.start()
        return self

    def stop(self, finished: bool = True) -> None:
        """Stop the thread; ``finished`` marks this rank as done (not failed) for the others."""
        self._stop.set()
        store = _store()
        if store is not None and finished:
            try:
                store.set(f'{_STORE_PREFIX}done/{get_rank()}', '1')
            except Exception:  # noqa: BLE001 - the store may be gone at shutdown
                pass
        if self._thread is not None:
            # the thread makes no new store call now and the one under way gives up in time
            self._thread.join(timeout=2 * self.call_timeout_s + 1.0)
            if self._thread.is_alive():
                logger.warning('the watchdog thread of rank %d did not end; the process may '
                               'abort at exit', get_rank())
            self._thread = None
        self._client = None  # closes its connection to the store

    def _run(self) -> None:
        store, (rank, world_size) = self._client, get_dist_info()
        last_seen = [-1] * world_size
        moved_at = [time.monotonic()] * world_size
        failed_since: float | None = None
        unreachable_since: float | None = None
        while not self._stop.wait(self.interval_s):
            now = time.monotonic()
            try:
                store.add(f'{_STORE_PREFIX}beat/{rank}', 1)
                beats = _heartbeats(store, world_size)
                failures = _read_failures(store, world_size, skip=rank)
                done = [_done(store, r) for r in range(world_size)]
                unreachable_since = None
            except Exception as err:  # noqa: BLE001 - the store host is gone
                unreachable_since = unreachable_since or now
                if now - unreachable_since > self.stale_s:
                    self._abort(f'rank 0 is unreachable (the rendezvous store does not answer '
                                f'for {now - unreachable_since:.0f} s: {err})')
                continue
            for r, beat in enumerate(beats):
                if beat != last_seen[r] or done[r]:
                    last_seen[r], moved_at[r] = beat, now
            if failures:
                failed_since = failed_since or now
                if now - failed_since > self.grace_s:
                    self._abort('; '.join(failures))
            stale = [r for r in range(world_size) if r != rank and now - moved_at[r] > self.stale_s]
            if stale:
                self._abort('; '.join(f'rank {r} stopped responding (no heartbeat for '
                                      f'{now - moved_at[r]:.0f} s)' for r in stale))

    def _abort(self, reason: str) -> None:
        if self._stop.is_set():
            return
        logger.error('stopping rank %d because %s', get_rank(), reason)
        for handler in logging.getLogger().handlers + logging.getLogger('actionkit').handlers:
            handler.flush()
        os._exit(1)
