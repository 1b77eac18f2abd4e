"""Fault injection for the fault suite, importable from a config's ``custom_imports``.

* ``FaultInjectionHook`` (a training hook): at a given iteration, on a given rank, raise an
  error or SIGKILL the process, as a crashing or OOM-killed rank would.
* ``DieInWorker`` (a pipeline step): end the DataLoader worker process that loads a given file
  with ``os._exit``, as a crash inside a native decoder would; outside a worker it does
  nothing.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

from torch.utils.data import get_worker_info

from actionkit.datasets.builder import PIPELINES
from actionkit.engine.hooks import HOOKS, HookBase

__all__ = ['FaultInjectionHook', 'DieInWorker']

_MODES = ('raise', 'kill', 'worker')


@HOOKS.register_module(force=True)
class FaultInjectionHook(HookBase):
    """Fail on ``rank`` before global iteration ``iteration`` (0-based).

    Args:
        rank (int): the rank that fails.
        iteration (int): the iteration before which it fails.
        mode (str): ``'raise'`` a ValueError, ``'kill'`` the process with SIGKILL, or
            ``'worker'``: SIGKILL its training loader's worker and wait for PyTorch's report.
    """

    def __init__(self, rank: int = 1, iteration: int = 2, mode: str = 'raise') -> None:
        if mode not in _MODES:
            raise ValueError(f'FaultInjectionHook: mode must be one of {_MODES}, got {mode!r}')
        self.rank, self.iteration, self.mode = rank, iteration, mode

    def before_step(self, trainer: Any) -> None:
        if trainer.rank != self.rank or trainer.iter != self.iteration:
            return
        if self.mode == 'kill':
            os.kill(os.getpid(), signal.SIGKILL)
        if self.mode == 'worker':
            os.kill(trainer.data_loader._workers[0].pid, signal.SIGKILL)
            time.sleep(5)  # PyTorch's SIGCHLD handler raises in here
        raise ValueError(f'injected failure on rank {self.rank} at iteration {self.iteration}')


@PIPELINES.register_module(force=True)
class DieInWorker:
    """End the DataLoader worker that loads a file whose name ends with ``name``.

    Required keys: ``filename``.

    Args:
        name (str): the end of the file name that kills the worker.
        exit_code (int): the worker's exit status.
    """

    def __init__(self, name: str = 'poison.mp4', exit_code: int = 3) -> None:
        self.name, self.exit_code = name, exit_code

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if get_worker_info() is not None and str(results['filename']).endswith(self.name):
            os._exit(self.exit_code)
        return results
