"""Fixtures of the export tests: small TSN / TSM models made from the shipped configs.

This folder is put on ``sys.path`` (pytest runs in ``importlib`` mode, which does not), so the
tests import the helper module ``export_models.py`` beside them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from export_models import TSM_CONFIG, TSN_CONFIG, build_small  # noqa: E402


@pytest.fixture
def tsn():
    """``(model, cfg)``: TSN 1x1x3 at ResNet-18 size, 5 classes, eval mode."""
    return build_small(TSN_CONFIG)


@pytest.fixture
def tsm():
    """``(model, cfg)``: TSM 1x1x8 at ResNet-18 size, 5 classes, eval mode."""
    return build_small(TSM_CONFIG)
