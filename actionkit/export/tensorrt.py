"""TensorRT: build an engine from an exported ONNX file, and run it (``tools/test.py --tensorrt``).

TensorRT runs only on NVIDIA GPUs and is an optional dependency (``pip install tensorrt``); it is
imported when an engine is built or loaded, never when this module is imported. The code uses
the tensor-name API of TensorRT 8.5 and later (``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``) with torch CUDA tensors as buffers.

Build an engine with NVIDIA's command line tool::

    trtexec --onnx=tmp.onnx --saveEngine=tmp.engine            # add --fp16 for half precision

(an ONNX file exported with ``--dynamic-export`` needs the batch range too, e.g.
``--minShapes=imgs:1x8x3x224x224 --optShapes=imgs:8x8x3x224x224
--maxShapes=imgs:8x8x3x224x224``), or from Python with :func:`build_engine`. An engine works
only with the TensorRT version and the GPU model it was built with.
"""
from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import Any

import numpy as np
import torch

__all__ = ['TRT_INSTALL_HINT', 'TensorRTModel', 'build_engine', 'import_tensorrt']

logger = logging.getLogger(__name__)

TRT_INSTALL_HINT = (
    'TensorRT is not installed: pip install tensorrt (it needs an NVIDIA GPU with a CUDA '
    'driver; it does not run on CPU). Build the engine from the exported ONNX file with '
    '`trtexec --onnx=tmp.onnx --saveEngine=tmp.engine` or '
    'actionkit.export.tensorrt.build_engine(); to test without a GPU use --onnx with the ONNX '
    'file instead')

# TensorRT data type names -> torch dtypes (names, so that no tensorrt import is needed here)
_TORCH_DTYPES = {'FLOAT': torch.float32, 'HALF': torch.float16, 'BF16': torch.bfloat16,
                 'INT8': torch.int8, 'INT32': torch.int32, 'INT64': torch.int64,
                 'BOOL': torch.bool, 'UINT8': torch.uint8}


def import_tensorrt() -> ModuleType:
    """Import the ``tensorrt`` package, or raise an ``ImportError`` that says how to get it."""
    try:
        import tensorrt
    except ImportError as err:
        raise ImportError(TRT_INSTALL_HINT) from err
    return tensorrt


def _major(trt: ModuleType) -> int:
    try:
        return int(str(trt.__version__).split('.')[0])
    except ValueError:
        return 10


def _network_flags(trt: ModuleType) -> int:
    """Explicit batch: a flag before TensorRT 10, the only mode (flag deprecated) after."""
    if _major(trt) < 10:
        return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    return 0


def _add_batch_profile(trt: ModuleType, builder: Any, network: Any, config: Any,
                       max_batch_size: int) -> None:
    """Give every input with a dynamic batch axis the range ``1 .. max_batch_size``."""
    profile = None
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        shape = tuple(tensor.shape)
        if all(d > 0 for d in shape):
            continue
        if any(d <= 0 for d in shape[1:]):
            raise ValueError(f'input {tensor.name!r} has the shape {shape}: only a dynamic '
                             'batch axis (--dynamic-export) is supported; export with a fixed '
                             '--shape for the other axes')
        profile = profile or builder.create_optimization_profile()
        rest = shape[1:]
        profile.set_shape(tensor.name, (1,) + rest, (max_batch_size,) + rest,
                          (max_batch_size,) + rest)
    if profile is not None:
        config.add_optimization_profile(profile)


def build_engine(onnx_path: str, engine_path: str, fp16: bool = False,
                 workspace_size: int = 1 << 30, max_batch_size: int = 8) -> str:
    """Build a serialized TensorRT engine from an ONNX file (what ``trtexec`` does).

    Args:
        onnx_path: the exported ``.onnx`` file.
        engine_path: where to write the engine.
        fp16: allow half-precision kernels (faster, slightly different scores).
        workspace_size: the builder's scratch memory limit, in bytes.
        max_batch_size: for an ONNX file with a dynamic batch axis: the largest batch the
            engine takes (it is also the batch size it is tuned for).

    Returns:
        ``engine_path``.

    Raises:
        ImportError: TensorRT is not installed.
        ValueError: the ONNX parser rejects the file (its errors are in the message).
        RuntimeError: the build fails.

    Example:
        >>> build_engine('tsn.onnx', 'tsn.engine', fp16=True)
        'tsn.engine'
    """
    if not os.path.isfile(onnx_path):
        raise FileNotFoundError(f'ONNX file {onnx_path!r} does not exist')
    if not isinstance(max_batch_size, int) or max_batch_size < 1:
        raise ValueError(f'max_batch_size must be a positive int, got {max_batch_size!r}')
    trt = import_tensorrt()
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(_network_flags(trt))
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(os.path.abspath(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise ValueError(f'TensorRT cannot parse {onnx_path!r}: {"; ".join(errors)}')
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_size)
    if fp16:
        if not getattr(builder, 'platform_has_fast_fp16', True):
            logger.warning('this GPU has no fast fp16; building with fp16 anyway')
        config.set_flag(trt.BuilderFlag.FP16)
    _add_batch_profile(trt, builder, network, config, max_batch_size)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f'TensorRT could not build an engine from {onnx_path!r} (see the '
                           'TensorRT log above)')
    folder = os.path.dirname(os.path.abspath(engine_path))
    os.makedirs(folder, exist_ok=True)
    temp = f'{engine_path}.tmp{os.getpid()}'
    with open(temp, 'wb') as f:
        f.write(memoryview(serialized))
    os.replace(temp, engine_path)
    logger.info('wrote TensorRT engine %s (fp16=%s)', engine_path, fp16)
    return engine_path


class TensorRTModel:
    """A serialized TensorRT engine, run with torch CUDA tensors as its buffers.

    Args:
        path: the engine file (``trtexec --saveEngine`` or :func:`build_engine`).
        device: the CUDA device. Default: the current one.

    Raises:
        ImportError: TensorRT is not installed (the message says how to install it).
        RuntimeError: torch sees no CUDA GPU.
        ValueError: the file is not an engine of this TensorRT version / GPU.
    """

    def __init__(self, path: str, device: int | str | torch.device | None = None) -> None:
        trt = import_tensorrt()
        if not torch.cuda.is_available():
            raise RuntimeError('TensorRT engines run on an NVIDIA GPU, and torch sees no CUDA '
                               'device here; use --onnx with the ONNX file on CPU')
        if not os.path.isfile(path):
            raise FileNotFoundError(f'TensorRT engine {path!r} does not exist')
        self.path = path
        self.device = torch.device(device) if device is not None else \
            torch.device('cuda', torch.cuda.current_device())
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        with open(path, 'rb') as f:
            self.engine = self._runtime.deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise ValueError(f'{path!r} is not a TensorRT engine this TensorRT '
                             f'({trt.__version__}) and GPU can load; rebuild it here from the '
                             'ONNX file')
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names
                  if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if len(inputs) != 1:
            raise ValueError(f'{path!r} has {len(inputs)} inputs ({inputs}); a recognizer '
                             'has one (imgs)')
        self.input_name = inputs[0]
        self.output_names = [n for n in names if n not in inputs]
        shape = tuple(self.engine.get_tensor_shape(self.input_name))
        self.input_shape = tuple(d if d > 0 else None for d in shape)
        self.max_batch_size = None
        if self.input_shape[0] is None:
            profile = self.engine.get_tensor_profile_shape(self.input_name, 0)
            self.max_batch_size = int(profile[2][0])
        self.metadata: dict[str, str] = {}
        self.context = self.engine.create_execution_context()

    def _dtype(self, name: str) -> torch.dtype:
        kind = self.engine.get_tensor_dtype(name)
        dtype = _TORCH_DTYPES.get(getattr(kind, 'name', str(kind)).upper())
        if dtype is None:
            raise ValueError(f'tensor {name!r} of {self.path!r} has the TensorRT type {kind}, '
                             'which actionkit does not map to torch')
        return dtype

    def run(self, inputs: np.ndarray | torch.Tensor) -> list[torch.Tensor]:
        """Run the engine on one batch; return every output as a CUDA tensor."""
        x = torch.as_tensor(inputs).to(self.device, self._dtype(self.input_name)).contiguous()
        if not self.context.set_input_shape(self.input_name, tuple(x.shape)):
            raise ValueError(f'{self.path!r} does not take an input of shape '
                             f'{tuple(x.shape)}; it takes {self.input_shape} (None: dynamic)')
        self.context.set_tensor_address(self.input_name, x.data_ptr())
        outputs = []
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            out = torch.empty(shape, dtype=self._dtype(name), device=self.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs.append(out)
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError(f'TensorRT failed to run {self.path!r}')
        stream.synchronize()
        return outputs

    def __call__(self, inputs: np.ndarray | torch.Tensor) -> np.ndarray:
        """Run the engine; return its first output as a float32 numpy array."""
        return self.run(inputs)[0].float().cpu().numpy()
