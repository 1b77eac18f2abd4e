"""Fixtures shared by the whole test suite.

``synthetic_data``: a small synthetic action dataset (see ``actionkit.datasets.synthetic``),
generated once per test session in both layouts. Its parameters are in
``SYNTHETIC_TEST_PARAMS``; the returned dict has the paths of
``make_synthetic_dataset`` (``root``, ``label_map``, ``videos_root``, ``rawframes_root``,
``train_list_videos``, ``val_list_videos``, ``train_list_rawframes``, ``val_list_rawframes``,
``manifest``).

Example:
    def test_loads(synthetic_data):
        ann_file = synthetic_data['train_list_videos']      # "<class>/<id>.mp4 <label>"
        data_prefix = synthetic_data['videos_root']
"""
from __future__ import annotations

import logging
import os

import pytest
import torch

# Tiny test convolutions run fastest on one thread, and one thread keeps parallel test
# processes (and a shared CI core) from fighting over the CPU.
torch.set_num_threads(1)
# no test reaches the internet: named / URL checkpoints that are not in the hub cache fail at
# once (download tests unset this and serve the files from 127.0.0.1)
os.environ.setdefault('ACTIONKIT_OFFLINE', '1')


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Every test starts on one torch thread, whatever an earlier test (or the demo) set."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# 10 classes x 3 train clips and 10 x 1 val clips of 16 frames at 32x32: about a second
SYNTHETIC_TEST_PARAMS = dict(num_train=30, num_val=10, num_frames=16, size=32, seed=0)


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Paths of a tiny synthetic dataset (videos and rawframes), made once per session."""
    from actionkit.datasets.synthetic import make_synthetic_dataset

    root = tmp_path_factory.mktemp('synthetic')
    return make_synthetic_dataset(root, workers=1, **SYNTHETIC_TEST_PARAMS)


@pytest.fixture(autouse=True)
def _actionkit_logs_reach_caplog():
    """``train_model`` stops the package logger propagating (as mmcv does, to avoid double
    printing); tests run after it still need its records in ``caplog``."""
    logger = logging.getLogger('actionkit')
    saved = logger.propagate
    logger.propagate = True
    yield
    logger.propagate = saved

