"""Dataset and pipeline registries, and the functions that build datasets from config dicts."""
from __future__ import annotations

from ..registry import Registry

__all__ = ['DATASETS', 'PIPELINES']

DATASETS = Registry('dataset')
PIPELINES = Registry('pipeline')
