"""Fixtures of the engine tests.

Torch runs single-threaded: the toy models are tiny, and on a busy machine intra-op threads
only add waiting (and make float reductions order-dependent). The package logger's set-up is
restored after each test, since ``get_logger`` (called by ``train_model``) stops its
propagation to the root logger, where pytest's ``caplog`` listens.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
