"""Fixtures for the dataset tests: the shared MMAction2 annotation lists."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data'
ANNOTATIONS = SHARED_DATA / 'mmaction2' / 'tests' / 'data' / 'annotations'


@pytest.fixture
def annotations_dir() -> Path:
    """The MMAction2 test annotation lists; skips when ../shared/data is absent."""
    if not ANNOTATIONS.is_dir():
        pytest.skip(f'shared test data not found at {ANNOTATIONS} (only present in CI and '
                    'the dev checkout)')
    return ANNOTATIONS
