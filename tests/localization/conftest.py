"""Fixtures of the temporal-localization tests.

``shared_data``: ``<repo root>/../shared/data/mmaction2/tests/data`` (real MMAction2 test files:
feature CSVs, proposal lists, TEM results, BSP features, ActivityNet JSONs); tests using it are
skipped with a message when the folder is absent (a fresh clone).

``synthetic_loc``: a small synthetic localization set (16 videos, 32 steps x 8 features).

Every test here runs with one torch thread: the tensors are tiny, and on a loaded machine
OpenMP's thread hand-offs cost far more than the work (40x on the shared CI VM).
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / 'shared' / 'data' / 'mmaction2' / 'tests' / 'data'


@pytest.fixture(scope='session')
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f'shared test data not found at {SHARED} (it ships beside the repository '
                    'in CI); skipping the tests on real MMAction2 files')
    return SHARED


@pytest.fixture(scope='session')
def synthetic_loc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from actionkit.datasets.synthetic_localization import make_synthetic_localization

    root = tmp_path_factory.mktemp('synthetic_localization')
    return make_synthetic_localization(root, 16, temporal_dim=32, feat_dim=8, seed=3)
