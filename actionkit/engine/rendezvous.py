"""Forming a process group: the rendezvous store, one namespace per start of a job, and a
bounded wait for every rank.

torchrun's agent keeps one store for every restart of a job (static and c10d rendezvous
alike), and gloo publishes each rank's address there. :func:`form_group` puts every key of one
start of the job under ``actionkit/RUN_ID/RESTART_COUNT/``, so a restarted rank never reads a
peer address of the attempt that failed, and builds the group only when every rank has
announced itself, naming the ranks that did not within ``dist_params.init_timeout``.
"""
from __future__ import annotations

import datetime
import os
import socket
import time
from typing import Any

import torch.distributed as dist

__all__ = ['DEFAULT_INIT_TIMEOUT_S', 'STORE_PREFIX', 'attempt_name', 'form_group']

DEFAULT_INIT_TIMEOUT_S = 300
STORE_PREFIX = 'actionkit/'


def attempt_name() -> str:
    """This start of the job: torchrun's run id and restart count (``none/0`` without it)."""
    return (f"{os.environ.get('TORCHELASTIC_RUN_ID', 'none')}/"
            f"{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}")


def _connect_store(rank: int, world_size: int, timeout_s: float) -> Any:
    """A client of the rendezvous store at ``MASTER_ADDR:MASTER_PORT``; rank 0 hosts it unless
    a torchrun agent does (``TORCHELASTIC_USE_AGENT_STORE``)."""
    addr, port = os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT'])
    agent = os.environ.get('TORCHELASTIC_USE_AGENT_STORE') == 'True'
    host = 'the torchrun agent' if agent else 'rank 0'
    try:
        return dist.TCPStore(addr, port, world_size, is_master=rank == 0 and not agent,
                             timeout=datetime.timedelta(seconds=timeout_s),
                             wait_for_workers=False, multi_tenant=True)
    except (RuntimeError, OSError) as err:  # DistStoreError / DistNetworkError derive from these
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TimeoutError(
            f'rank {rank}: the rendezvous store at {addr}:{port}, hosted by {host}, cannot be '
            f'reached or started within {timeout_s:g} s (dist_params.init_timeout): {first}'
        ) from err


def form_group(rank: int, world_size: int, timeout_s: float = DEFAULT_INIT_TIMEOUT_S,
               poll_s: float = 0.05) -> Any:
    """Meet every rank in the rendezvous store; return the store to build the group on.

    Every key of this start of the job (the process group's own, gloo's peer addresses, the
    :class:`~actionkit.engine.dist.Watchdog`'s) lives under a prefix naming torchrun's run id
    and restart count. A torchrun agent keeps one store for all restarts of a job, so without
    the prefix a restarted rank could read a peer address of the previous attempt, which
    nobody listens on any more: gloo's ``connectFullMesh ... Connection refused`` that used up
    the restarts (or a hang, when a leftover process still held that port).

    Each rank then announces itself and waits for the others, for ``timeout_s`` at most: the
    group is built only when it is whole, and a rank that never comes is named.

    Raises:
        TimeoutError: the store cannot be reached, or a rank did not arrive in time; one line
            that names the missing rank(s).
    """
    deadline = time.monotonic() + timeout_s
    store = dist.PrefixStore(f'{STORE_PREFIX}{attempt_name()}/', _connect_store(rank, world_size,
                                                                             timeout_s))
    store.set(f'arrived/{rank}', f'{socket.gethostname()} pid {os.getpid()}')
    arrived = int(store.add('arrived', 1))
    while arrived < world_size:
        if time.monotonic() > deadline:
            missing = [r for r in range(world_size) if not store.check([f'arrived/{r}'])]
            raise TimeoutError(
                f'rank {rank}: the process group of {world_size} ranks did not form within '
                f'{timeout_s:g} s (dist_params.init_timeout): rank(s) '
                f'{", ".join(map(str, missing))} never arrived at the rendezvous store '
                f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']} (attempt "
                f'{attempt_name()}); see the log of the missing rank(s): they died or never '
                'started')
        time.sleep(poll_s)
        poll_s = min(poll_s * 1.5, 1.0)
        arrived = int(store.add('arrived', 0))
    return store
