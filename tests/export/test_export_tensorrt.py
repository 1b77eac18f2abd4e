"""TensorRT: clean import and clear errors without it; the builder's calls, with a stand-in."""
from __future__ import annotations

import importlib
import sys
import types

import pytest

from actionkit.export import tensorrt as trt_export
from actionkit.export.runtime import run_exported


@pytest.fixture
def no_tensorrt(monkeypatch):
    """Make ``import tensorrt`` fail, whether or not it is installed."""
    monkeypatch.setitem(sys.modules, 'tensorrt', None)


def test_module_imports_without_tensorrt(no_tensorrt):
    module = importlib.reload(trt_export)
    assert callable(module.build_engine) and sys.modules['tensorrt'] is None


def test_missing_tensorrt_says_how_to_install_it(no_tensorrt, tmp_path):
    onnx_file = tmp_path / 'tmp.onnx'
    onnx_file.write_bytes(b'')
    with pytest.raises(ImportError) as err:
        trt_export.build_engine(str(onnx_file), str(tmp_path / 'tmp.engine'))
    assert 'pip install tensorrt' in str(err.value) and 'NVIDIA GPU' in str(err.value)
    assert 'trtexec --onnx=tmp.onnx --saveEngine=tmp.engine' in str(err.value)
    with pytest.raises(ImportError, match='pip install tensorrt'):
        run_exported('tensorrt', str(tmp_path / 'tmp.engine'), [], show=False)


def test_build_engine_checks_its_arguments_first(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.onnx'):
        trt_export.build_engine(str(tmp_path / 'nothing.onnx'), str(tmp_path / 'e.engine'))
    onnx_file = tmp_path / 'm.onnx'
    onnx_file.write_bytes(b'')
    with pytest.raises(ValueError, match='max_batch_size'):
        trt_export.build_engine(str(onnx_file), str(tmp_path / 'e.engine'), max_batch_size=0)


# ---- a stand-in for the tensorrt package: records what the builder is asked -------------------
class _Tensor:
    def __init__(self, name, shape):
        self.name, self.shape = name, shape


class _Network:
    def __init__(self, inputs):
        self.inputs = inputs
        self.num_inputs = len(inputs)

    def get_input(self, index):
        return self.inputs[index]


def _fake_trt(input_shape, parse_ok=True, version='10.3.0'):
    record = types.SimpleNamespace(flags=[], profiles=[], network_flags=None, pool=None)

    class Profile:
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, low, opt, high):
            self.shapes[name] = (low, opt, high)

    class Config:
        def set_memory_pool_limit(self, pool, size):
            record.pool = (pool, size)

        def set_flag(self, flag):
            record.flags.append(flag)

        def add_optimization_profile(self, profile):
            record.profiles.append(profile.shapes)

    class Builder:
        platform_has_fast_fp16 = True

        def __init__(self, logger):
            pass

        def create_network(self, flags):
            record.network_flags = flags
            return _Network([_Tensor('imgs', input_shape)])

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            return b'ENGINE'

    class OnnxParser:
        num_errors = 0 if parse_ok else 1

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            record.parsed = path
            return parse_ok

        def get_error(self, index):
            return 'Unsupported ONNX op: Frobnicate'

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    module = types.SimpleNamespace(
        __version__=version, Logger=Logger, Builder=Builder, OnnxParser=OnnxParser,
        MemoryPoolType=types.SimpleNamespace(WORKSPACE='workspace'),
        BuilderFlag=types.SimpleNamespace(FP16='fp16'),
        NetworkDefinitionCreationFlag=types.SimpleNamespace(EXPLICIT_BATCH=0))
    return module, record


def test_build_engine_with_a_dynamic_batch(monkeypatch, tmp_path):
    fake, record = _fake_trt((-1, 8, 3, 224, 224))
    monkeypatch.setitem(sys.modules, 'tensorrt', fake)
    onnx_file = tmp_path / 'tsm.onnx'
    onnx_file.write_bytes(b'')
    engine = tmp_path / 'out' / 'tsm.engine'
    assert trt_export.build_engine(str(onnx_file), str(engine), fp16=True,
                                   max_batch_size=4) == str(engine)
    assert engine.read_bytes() == b'ENGINE'
    assert record.flags == ['fp16'] and record.network_flags == 0
    rest = (8, 3, 224, 224)
    assert record.profiles == [{'imgs': ((1,) + rest, (4,) + rest, (4,) + rest)}]
    assert record.pool == ('workspace', 1 << 30)


def test_build_engine_with_a_static_shape_on_tensorrt_8(monkeypatch, tmp_path):
    fake, record = _fake_trt((1, 8, 3, 224, 224), version='8.6.1')
    monkeypatch.setitem(sys.modules, 'tensorrt', fake)
    onnx_file = tmp_path / 'tsm.onnx'
    onnx_file.write_bytes(b'')
    trt_export.build_engine(str(onnx_file), str(tmp_path / 'tsm.engine'))
    assert record.flags == [] and record.profiles == []
    assert record.network_flags == 1  # EXPLICIT_BATCH before TensorRT 10


def test_build_engine_reports_parser_errors_and_other_dynamic_axes(monkeypatch, tmp_path):
    onnx_file = tmp_path / 'm.onnx'
    onnx_file.write_bytes(b'')
    fake, _ = _fake_trt((1, 8, 3, 224, 224), parse_ok=False)
    monkeypatch.setitem(sys.modules, 'tensorrt', fake)
    with pytest.raises(ValueError, match='cannot parse .*Frobnicate'):
        trt_export.build_engine(str(onnx_file), str(tmp_path / 'm.engine'))
    fake, _ = _fake_trt((-1, -1, 3, 224, 224))
    monkeypatch.setitem(sys.modules, 'tensorrt', fake)
    with pytest.raises(ValueError, match='only a dynamic batch axis'):
        trt_export.build_engine(str(onnx_file), str(tmp_path / 'm.engine'))


def test_running_an_engine_needs_a_gpu(monkeypatch, tmp_path):
    fake, _ = _fake_trt((1, 8, 3, 224, 224))
    monkeypatch.setitem(sys.modules, 'tensorrt', fake)
    monkeypatch.setattr(trt_export.torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='NVIDIA GPU.*--onnx'):
        trt_export.TensorRTModel(str(tmp_path / 'm.engine'))
