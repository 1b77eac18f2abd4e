"""One training run per work dir: a lock file naming the holder's pid and host.

Two ``tools/train.py`` runs writing into one ``--work-dir`` would overwrite each other's
checkpoints and mix their logs. The first run creates ``WORK_DIR/.actionkit-train.lock``
(``O_EXCL``) holding ``pid host start-time``; a second run refuses to start, naming them. A
lock left by a run that was killed (its pid is no longer alive on this host) is taken over
with a warning. A lock of another host cannot be checked and is never taken over (remove it
by hand if that run is gone), with one exception: a job that torchrun restarts. Under torchrun
with a run id (``--rdzv-id``) the lock file has a second line ``run RUN_ID RESTART_COUNT``, and
a later restart of the same run takes the lock over wherever its holder ran: the agents start
a restart only after stopping every worker of the previous one, and with c10d rendezvous rank
0 may move to another host.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

from .checkpoint import _pid_alive

__all__ = ['LOCK_NAME', 'LockStore', 'hold_lock', 'work_dir_lock']

logger = logging.getLogger(__name__)

LOCK_NAME = '.actionkit-train.lock'


def _parse_holder(text: str | None) -> tuple[int, str, str, tuple[str, int] | None] | None:
    """``(pid, host, since, run)`` from a lock file's text (``run``: torchrun's run id and
    restart count, or None), or None if it is missing or malformed."""
    try:
        lines = (text or '').splitlines()
        fields = lines[0].split(None, 2)
        run = lines[1].split() if len(lines) > 1 else []
        return (int(fields[0]), fields[1], fields[2].strip() if len(fields) > 2 else '?',
                (run[1], int(run[2])) if len(run) == 3 and run[0] == 'run' else None)
    except (ValueError, IndexError):
        return None


def _this_run() -> tuple[str, int] | None:
    """torchrun's run id and restart count of this process (None outside torchrun, or with
    its default run id ``none``, which does not tell one job from another)."""
    run_id = os.environ.get('TORCHELASTIC_RUN_ID', 'none')
    if run_id == 'none':
        return None
    return run_id, int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'))


class LockStore:
    """Where a lock file lives: a local file by default (``O_EXCL``). A subclass (an object
    store's conditional write) overrides the operations; ``path`` names it in messages.

    A store with a ``ttl`` (seconds) is a lease: the holder rewrites the lock every
    ``ttl / 4`` s (:meth:`refresh`) and a lock older than ``ttl`` (:meth:`age`) is taken over
    from any host (its run stopped refreshing it: it is gone).
    """

    ttl: float | None = None

    def __init__(self, path: str) -> None:
        self.path = path

    def age(self) -> float | None:
        """Seconds since the lock was last written (None: unknown, not a lease)."""
        return None

    def refresh(self, text: str) -> None:
        """Rewrite the lock if it still holds ``text`` (a lease's heartbeat)."""

    def create(self, text: str) -> bool:
        """Write ``text`` if no lock exists; False if one does."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, 'w', encoding='utf-8') as fout:
            fout.write(text)
        return True

    def read(self) -> str | None:
        """The lock's text (None when unreadable)."""
        try:
            with open(self.path, encoding='utf-8', errors='replace') as fin:
                return fin.read(4096)
        except OSError:
            return None

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _take_over_if_stale(store: LockStore, host: str, where: str) -> None:
    """Remove a lock of a dead process of this host; raise if its holder may be running."""
    path = store.path
    holder = _parse_holder(store.read())
    if holder is None:
        raise FileExistsError(f'{path} exists but does not name a run (pid host time): another '
                              'tools/train.py may be writing into this work dir; remove the '
                              'file if none is')
    pid, holder_host, since, run = holder
    ours = _this_run()
    age = store.age() if store.ttl else None
    if run is not None and ours is not None and run[0] == ours[0] and ours[1] > run[1]:
        logger.warning('taking over the lock %s of restart %d of this torchrun job (run id %s; '
                       'pid %d on host %s): torchrun restarted it', path, run[1], run[0], pid,
                       holder_host)
    elif age is not None and store.ttl is not None and age > store.ttl:
        logger.warning('taking over the lock %s of pid %d on host %s: not refreshed for %.0f s '
                       '(more than its %g s lease), so that run is gone', path, pid,
                       holder_host, age, store.ttl)
    elif holder_host != host or _pid_alive(pid):
        lease = f', or wait: a lock not refreshed for {store.ttl:g} s is taken over' \
            if store.ttl else ''
        raise FileExistsError(
            f'work dir {where} is in use by another training run (pid {pid} on '
            f'host {holder_host}, since {since}): two runs would overwrite each other\'s '
            f'checkpoints and logs. Wait for it, choose another --work-dir, or remove {path} '
            f'if that run is gone{lease}')
    else:
        logger.warning('taking over the lock %s of a run that is gone (pid %d on this host, '
                       'since %s)', path, pid, since)
    store.remove()


@contextlib.contextmanager
def hold_lock(store: LockStore, where: str) -> Iterator[str]:
    """Hold the lock ``store`` for the ``with`` block (``where``: the work dir, for messages);
    yield the lock's path.

    Raises:
        FileExistsError: another live run (or a run of another host) holds the lock.
    """
    host = socket.gethostname()
    text = f'{os.getpid()} {host} {time.strftime("%Y-%m-%d %H:%M:%S")}\n'
    run = _this_run()
    if run is not None:
        text += f'run {run[0]} {run[1]}\n'
    if not store.create(text):
        _take_over_if_stale(store, host, where)
        if not store.create(text):  # another run took it over at the same moment
            _take_over_if_stale(store, host, where)  # raises: that run is alive
    stop = threading.Event()
    heartbeat = None
    if store.ttl:
        heartbeat = threading.Thread(target=_heartbeat, args=(store, text, stop),
                                     name='actionkit-lock-lease', daemon=True)
        heartbeat.start()
    try:
        yield store.path
    finally:
        stop.set()
        if heartbeat is not None:
            heartbeat.join()
        holder = _parse_holder(store.read())
        if holder is not None and holder[:2] == (os.getpid(), host):
            store.remove()


def _heartbeat(store: LockStore, text: str, stop: threading.Event) -> None:
    """Refresh a lease every ``ttl / 4`` s until ``stop``; a failed refresh is a warning (the
    next one may succeed before the lease runs out)."""
    assert store.ttl is not None, 'only leases have a heartbeat'
    while not stop.wait(store.ttl / 4):
        try:
            store.refresh(text)
        except OSError as err:
            logger.warning('could not refresh the lock %s: %s', store.path, err)


def work_dir_lock(work_dir: str) -> contextlib.AbstractContextManager[str]:
    """Hold ``work_dir``'s training lock for the ``with`` block; yield the lock file's path.

    Raises:
        FileExistsError: another live run (or a run of another host) holds the lock.
    """
    return hold_lock(LockStore(os.path.join(work_dir, LOCK_NAME)), work_dir)
