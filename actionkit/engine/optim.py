"""Optimizers and learning-rate schedules from config dicts."""
from __future__ import annotations

from ..registry import Registry

__all__ = ['OPTIMIZERS', 'OPTIMIZER_BUILDERS']

OPTIMIZERS = Registry('optimizer')
OPTIMIZER_BUILDERS = Registry('optimizer builder')
