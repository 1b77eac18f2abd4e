"""Export and deployment: ONNX export and verification, onnxruntime / TensorRT test runs.

* :func:`pytorch2onnx` (``tools/deployment/pytorch2onnx.py``) exports a model's
  ``forward_dummy`` and can verify the file against PyTorch.
* :func:`run_exported` (``tools/test.py --onnx`` / ``--tensorrt``) scores a test set with an
  exported recognizer.
* :func:`build_engine` builds a TensorRT engine from an ONNX file (needs ``tensorrt`` and an
  NVIDIA GPU; imported only when called).
"""
from .onnx import (DEFAULT_SHAPE, SHAPE_HELP, ExportResult, ModelKind, VerifyResult,
                   check_input_shape, pytorch2onnx, suggest_input_shape, verify_onnx)
from .runtime import OnnxModel, average_views, describe_test_pipeline, run_exported
from .tensorrt import TensorRTModel, build_engine

__all__ = [
    'DEFAULT_SHAPE', 'SHAPE_HELP', 'ExportResult', 'ModelKind', 'OnnxModel', 'TensorRTModel',
    'VerifyResult', 'average_views', 'build_engine', 'check_input_shape',
    'describe_test_pipeline', 'pytorch2onnx', 'run_exported', 'suggest_input_shape',
    'verify_onnx',
]
