"""``actionkit export``: the same options as ``tools/deployment/pytorch2onnx.py``."""
from ..export.onnx import add_arguments, run

__all__ = ['add_arguments', 'run']
