"""Fixtures of the engine tests.

Torch runs single-threaded: the toy models are tiny, and on a busy machine intra-op threads
only add waiting (and make float reductions order-dependent). The package logger's set-up is
restored after each test, since ``get_logger`` (called by ``train_model``) stops its
propagation to the root logger, where pytest's ``caplog`` listens.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# engine_toys.py and dist_failure_worker.py sit beside this file (importlib import mode does
# not put test folders on sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
