"""Run exported models (ONNX, TensorRT) over a test data loader."""
from __future__ import annotations

from typing import Any

__all__ = ['run_exported']


def run_exported(backend: str, path: str, loader: Any) -> list:
    raise NotImplementedError(
        f'tools/test.py --{backend} is not available yet in this version of actionkit '
        '(the export issue adds it); test the PyTorch checkpoint instead')
