"""Fixtures of the fault suite.

* Torch runs on one thread (tiny models; a shared CI core).
* The ``actionkit`` logger's set-up is restored after each test: ``tools/train.py`` (run
  in-process by some tests) adds handlers and stops propagation to the root logger.
* This folder is put on ``sys.path`` (pytest runs in ``importlib`` mode, which does not), so
  the tests import the helper modules ``faults_*.py`` beside them.
* Every test runs under a hang guard: a test that blocks for longer than
  ``HANG_LIMIT_S`` fails with a ``TimeoutError`` instead of stalling the suite ("never a
  hang" is part of what the suite checks). The guard uses ``SIGALRM``, so it interrupts Python
  code (and blocking calls that return to Python on a signal), not a native call that never
  returns.
"""
from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HANG_LIMIT_S = 240

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def _restore_package_logger() -> Iterator[None]:
    logger = logging.getLogger('actionkit')
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


@pytest.fixture(autouse=True)
def _hang_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    if sys.platform == 'win32':
        yield
        return

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError(f'{request.node.nodeid} ran for more than {HANG_LIMIT_S} s: it hangs')

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
