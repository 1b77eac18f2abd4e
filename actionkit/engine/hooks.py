"""Training hooks."""
from __future__ import annotations

from ..registry import Registry

__all__ = ['HOOKS']

HOOKS = Registry('hook')
