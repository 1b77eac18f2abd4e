"""Run exported models: ``tools/test.py --onnx`` / ``--tensorrt``, and ``--verify``'s check.

An exported recognizer takes one fixed input shape (except, with ``--dynamic-export``, the
batch size), so the test pipeline must produce exactly the tensor the model was exported for.
:func:`run_exported` checks that on every batch and, when it does not hold, says both shapes
and the ``--shape`` to export with. Multi-view test-time augmentation (``ThreeCrop``,
``TenCrop``, ``twice_sample``, several clips of a 3D model) works only when the exported input
holds every view; otherwise the error names the augmentation steps and suggests removing them,
as MMAction2's guide recommends.

The scores are post-processed like the PyTorch path (``BaseRecognizer.average_clip`` with the
config's ``test_cfg.average_clips``), so ``--out`` files and metrics have the same format:
one ``[num_classes]`` array per video, in dataset order.

:func:`verify_onnx` (``pytorch2onnx.py --verify``) compares onnxruntime with PyTorch on a random
input: an output element passes when ``|onnx - torch| <= atol + rtol * |torch|`` with
``atol = rtol = 1e-4`` by default.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    'Backend', 'ExportedModel', 'META_EXPORTER', 'META_INPUT_SHAPE', 'META_KIND', 'META_SOFTMAX',
    'OnnxModel', 'PipelineViews', 'VERIFY_ATOL', 'VERIFY_RTOL', 'VerifyResult', 'average_views',
    'describe_test_pipeline', 'format_shape', 'load_exported', 'run_exported', 'verify_onnx',
]

logger = logging.getLogger(__name__)

# keys of the metadata pytorch2onnx writes into the ONNX file (``metadata_props``)
META_KIND = 'actionkit.kind'
META_SOFTMAX = 'actionkit.softmax'
META_EXPORTER = 'actionkit.exporter'
META_INPUT_SHAPE = 'actionkit.input_shape'

VERIFY_ATOL = 1e-4
VERIFY_RTOL = 1e-4
_AVERAGE_CLIPS = ('score', 'prob', None)
_SAMPLER_SUFFIX = 'SampleFrames'  # SampleFrames, DenseSampleFrames, UntrimmedSampleFrames ...
_MULTI_CROPS = {'ThreeCrop': 3, 'TenCrop': 10}
_SINGLE_CROPS = ('CenterCrop',)


class Backend(str, Enum):
    """The runtimes ``tools/test.py`` can score an exported model with."""

    ONNX = 'onnx'
    TENSORRT = 'tensorrt'


class ExportedModel(Protocol):
    """What :func:`run_exported` needs from a runtime."""

    path: str
    input_name: str
    input_shape: tuple[int | None, ...]  # None: a dynamic axis
    max_batch_size: int | None  # None: no limit
    metadata: Mapping[str, str]

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Run the model; return its first output."""


# ---- the shape the test pipeline produces -----------------------------------------------------
@dataclass(frozen=True)
class PipelineViews:
    """What a test pipeline makes of one video, read from its config.

    Attributes:
        input_format: ``FormatShape.input_format`` (``'NCHW'``, ``'NCTHW'``, ``'NCHW_Flow'``).
        clip_len, num_clips, twice_sample: the sampler's arguments.
        num_crops: 3 for ``ThreeCrop``, 10 for ``TenCrop``, else 1.
        height, width: the crop size (``None`` when the pipeline does not fix it).
        channels: 3 for RGB, 2 for optical flow.
        tta: the multi-view test-time augmentation steps, in words.
    """

    input_format: str = 'NCHW'
    clip_len: int = 1
    num_clips: int = 1
    twice_sample: bool = False
    num_crops: int = 1
    height: int | None = None
    width: int | None = None
    channels: int = 3
    tta: tuple[str, ...] = ()

    @property
    def is_3d(self) -> bool:
        """Whether the pipeline feeds a 3D recognizer (``NCTHW``)."""
        return self.input_format == 'NCTHW'

    def sample_shape(self, single_view: bool = False) -> tuple[int, ...]:
        """The shape of one video's ``imgs`` after the pipeline (no batch axis).

        Args:
            single_view: drop the multi-view test-time augmentation (crops, ``twice_sample``
                and, for 3D models, the extra clips).
        """
        crops = 1 if single_view else self.num_crops * (2 if self.twice_sample else 1)
        height, width = self.height or 224, self.width or 224
        if self.is_3d:
            views = crops * (1 if single_view else self.num_clips)
            return (views, self.channels, self.clip_len, height, width)
        if self.input_format == 'NCHW_Flow':
            return (self.num_clips * crops, self.channels * self.clip_len, height, width)
        return (self.num_clips * self.clip_len * crops, self.channels, height, width)

    def describe(self) -> str:
        """The steps that decide the shape, in words."""
        parts = [f'num_clips={self.num_clips} clip_len={self.clip_len}']
        if self.twice_sample:
            parts.append('twice_sample=True')
        if self.num_crops > 1:
            parts.append(f'{self.num_crops} crops')
        if self.height:
            parts.append(f'crop {self.height}x{self.width}')
        parts.append(f'FormatShape {self.input_format}')
        return ', '.join(parts)


def _step_type(step: Mapping[str, Any]) -> str:
    kind = step.get('type', '')
    return kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))


def _size(value: Any) -> tuple[int | None, int | None]:
    """``crop_size`` / ``scale`` as ``(height, width)``; MMAction2 writes tuples as (w, h)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, int) and v > 0 for v in value):
        return value[1], value[0]
    return None, None


def _test_pipeline(cfg: Mapping[str, Any]) -> tuple[list, str | None]:
    data = cfg.get('data') or {}
    for split in ('test', 'val'):
        section = data.get(split) or {}
        if section.get('pipeline'):
            return list(section['pipeline']), section.get('modality')
    return list(cfg.get('test_pipeline') or []), None


def describe_test_pipeline(cfg: Mapping[str, Any]) -> PipelineViews | None:
    """Read what the config's test pipeline makes of one video.

    Looks at ``data.test.pipeline`` (else ``data.val.pipeline``, else ``test_pipeline``).

    Returns:
        The :class:`PipelineViews`, or ``None`` when the config has no test pipeline.
    """
    pipeline, modality = _test_pipeline(cfg)
    if not pipeline:
        return None
    fields: dict[str, Any] = {}
    tta: list[str] = []
    for step in pipeline:
        kind = _step_type(step)
        if kind.endswith(_SAMPLER_SUFFIX):
            fields.update(clip_len=int(step.get('clip_len', 1)),
                          num_clips=int(step.get('num_clips', 1)),
                          twice_sample=bool(step.get('twice_sample', False)))
            if fields['twice_sample']:
                tta.append(f'{kind}(twice_sample=True)')
        elif kind in _MULTI_CROPS:
            fields['num_crops'] = _MULTI_CROPS[kind]
            fields['height'], fields['width'] = _size(step.get('crop_size'))
            tta.append(f'{kind} ({_MULTI_CROPS[kind]} crops)')
        elif kind in _SINGLE_CROPS:
            fields['height'], fields['width'] = _size(step.get('crop_size'))
        elif kind == 'Resize' and not step.get('keep_ratio', True):
            fields['height'], fields['width'] = _size(step.get('scale'))
        elif kind == 'FormatShape':
            fields['input_format'] = step.get('input_format', 'NCHW')
    if modality == 'Flow':
        fields['channels'] = 2
    num_clips = fields.get('num_clips', 1)
    if fields.get('input_format') == 'NCTHW' and num_clips > 1:
        tta.append(f'{num_clips} clips per video (num_clips={num_clips}) of a 3D model')
    return PipelineViews(**fields, tta=tuple(tta))


def format_shape(shape: Iterable[Any]) -> str:
    """``(1, None, 3)`` -> ``'[1, ?, 3]'``."""
    return '[' + ', '.join('?' if d is None else str(d) for d in shape) + ']'


# ---- post-processing like the PyTorch path ----------------------------------------------------
def average_views(scores: np.ndarray, num_samples: int, average_clips: str | None,
                  softmax_applied: bool = False) -> np.ndarray:
    """Combine the rows of ``num_samples`` videos as ``BaseRecognizer.average_clip`` does.

    Args:
        scores: ``[num_samples * views, num_classes]``, the exported model's output.
        num_samples: the number of videos in the batch.
        average_clips: ``'score'`` (mean of the scores), ``'prob'`` (mean of the softmax
            probabilities) or ``None`` (the rows unchanged).
        softmax_applied: the model was exported with ``--softmax``: its rows are already
            probabilities, so ``'prob'`` only averages them.

    Returns:
        ``[num_samples, num_classes]`` (or ``scores`` unchanged when ``average_clips`` is None).
    """
    if average_clips not in _AVERAGE_CLIPS:
        raise ValueError(f"average_clips must be 'score', 'prob' or None, got {average_clips!r}")
    if average_clips is None:
        return scores
    if scores.ndim != 2 or scores.shape[0] % num_samples:
        raise ValueError(f'the model returned scores of shape {tuple(scores.shape)} for '
                         f'{num_samples} videos; expected [{num_samples} * views, num_classes]')
    views = scores.reshape(num_samples, scores.shape[0] // num_samples, -1).astype(np.float32)
    if average_clips == 'prob' and not softmax_applied:
        views = np.exp(views - views.max(axis=2, keepdims=True))
        views /= views.sum(axis=2, keepdims=True)
    return views.mean(axis=1)


# ---- the ONNX runtime -------------------------------------------------------------------------
class OnnxModel:
    """An ONNX file in an onnxruntime session (CUDA when onnxruntime has it, CPU otherwise).

    Args:
        path: the ``.onnx`` file.
        providers: onnxruntime execution providers; default: CUDA if available, then CPU.
    """

    def __init__(self, path: str, providers: Sequence[str] | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ImportError('running an ONNX model needs onnxruntime: pip install '
                              'onnxruntime (or onnxruntime-gpu for CUDA)') from err
        if not os.path.isfile(path):
            raise FileNotFoundError(f'ONNX model {path!r} does not exist')
        if providers is None:
            available = ort.get_available_providers()
            providers = [p for p in ('CUDAExecutionProvider', 'CPUExecutionProvider')
                         if p in available]
        try:
            self.session = ort.InferenceSession(path, providers=list(providers))
        except Exception as err:  # onnxruntime raises its own exception types
            raise ValueError(f'{path!r} is not an ONNX model onnxruntime can load '
                             f'({type(err).__name__}: {err})') from err
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f'{path!r} has {len(inputs)} inputs '
                             f'({[i.name for i in inputs]}); a recognizer has one (imgs)')
        self.path = path
        self.input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) and d > 0 else None
                                 for d in inputs[0].shape)
        self.max_batch_size = None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        logger.info('onnxruntime runs %s on %s', path, self.session.get_providers()[0])

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Run the model on ``inputs`` (float32); return its first output."""
        feed = {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)}
        return self.session.run(None, feed)[0]


def load_exported(backend: str | Backend, path: str) -> ExportedModel:
    """Open an exported model: an ONNX file or a serialized TensorRT engine."""
    backend = _backend(backend)
    if backend is Backend.ONNX:
        return OnnxModel(path)
    from .tensorrt import TensorRTModel

    return TensorRTModel(path)


def _backend(backend: str | Backend) -> Backend:
    try:
        return Backend(backend)
    except ValueError:
        raise ValueError(f'backend must be one of {[b.value for b in Backend]}, '
                         f'got {backend!r}') from None


@dataclass
class VerifyResult:
    """The comparison of onnxruntime's outputs with PyTorch's.

    Attributes:
        max_abs_diff: the largest ``|onnx - torch|`` over all outputs and batch sizes.
        passed: every element within ``atol + rtol * |torch|`` (and the shapes equal).
        atol, rtol: the tolerances used.
        batch_sizes: the batch sizes tried (two with a dynamic batch axis).
        message: what failed, empty when passed.
    """

    max_abs_diff: float
    passed: bool
    atol: float
    rtol: float
    batch_sizes: tuple[int, ...]
    message: str = ''


# ---- verification against PyTorch ------------------------------------------------------------
def verify_onnx(module: nn.Module, onnx_file: str, input_shape: Sequence[int], *,
                dynamic_export: bool = False, atol: float = VERIFY_ATOL,
                rtol: float = VERIFY_RTOL, seed: int = 0) -> VerifyResult:
    """Check an ONNX file with ``onnx.checker`` and compare onnxruntime with ``module``.

    Args:
        module: what was exported (an :class:`ExportWrapper`, or any module returning a
            tensor or a tuple of tensors).
        onnx_file: the exported file.
        input_shape: the input shape exported for.
        dynamic_export: the batch axis is dynamic: also try batch size ``N + 1``.
        atol, rtol: an element passes when ``|onnx - torch| <= atol + rtol * |torch|``.
        seed: seed of the random input.

    Returns:
        A :class:`VerifyResult` (``passed`` False rather than an exception on a mismatch).
    """
    import onnx
    import torch

    onnx.checker.check_model(onnx_file)
    session = OnnxModel(onnx_file, providers=['CPUExecutionProvider']).session
    input_name = session.get_inputs()[0].name
    generator = torch.Generator().manual_seed(seed)
    shape = tuple(input_shape)
    batch_sizes = (shape[0], shape[0] + 1) if dynamic_export else (shape[0],)
    worst, problems = 0.0, []
    module.eval()
    for batch in batch_sizes:
        x = torch.randn((batch,) + shape[1:], generator=generator)
        with torch.no_grad():
            expected = module(x)
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        got = session.run(None, {input_name: x.numpy()})
        for index, (want, have) in enumerate(zip(expected, got)):
            want = want.detach().cpu().numpy()
            if want.shape != have.shape:
                problems.append(f'output {index} at batch {batch}: onnx shape {have.shape}, '
                                f'torch shape {want.shape}')
                continue
            diff = np.abs(have.astype(np.float64) - want)
            worst = max(worst, float(diff.max(initial=0.0)))
            if not np.all(diff <= atol + rtol * np.abs(want)):
                problems.append(f'output {index} at batch {batch}: max |onnx - torch| = '
                                f'{diff.max():.3g} > {atol:g} + {rtol:g} * |torch|')
        if len(got) != len(expected):
            problems.append(f'onnx has {len(got)} outputs, torch {len(expected)}')
    return VerifyResult(max_abs_diff=worst, passed=not problems, atol=atol, rtol=rtol,
                        batch_sizes=batch_sizes, message='; '.join(problems))


# ---- checks -----------------------------------------------------------------------------------
def _reject_localizer(cfg: Mapping[str, Any]) -> None:
    from ..models.builder import LOCALIZERS

    model_type = (cfg.get('model') or {}).get('type')
    if model_type in LOCALIZERS or model_type in LOCALIZERS.module_dict.values():
        name = getattr(model_type, '__name__', model_type)
        raise ValueError(f'tools/test.py --onnx/--tensorrt scores recognizers; the config\'s '
                         f'model is the localizer {name!r}. Test its PyTorch checkpoint '
                         'instead (the exported localizer returns raw maps, without the '
                         'proposal post-processing the evaluation needs)')


def _average_clips(cfg: Mapping[str, Any] | None) -> str | None:
    if cfg is None:
        return None
    test_cfg = (cfg.get('model') or {}).get('test_cfg') or cfg.get('test_cfg')
    if not test_cfg or 'average_clips' not in test_cfg:
        raise KeyError('the config must set model.test_cfg.average_clips (\'score\', \'prob\' '
                       'or None) to test, as for the PyTorch checkpoint; got test_cfg='
                       f'{test_cfg!r}')
    return test_cfg['average_clips']


def _shapes_match(batch: Sequence[int], model: Sequence[int | None]) -> bool:
    return len(batch) == len(model) and all(
        m is None or b == m for b, m in zip(batch[1:], model[1:]))


def _mismatch_message(backend: Backend, model: ExportedModel, batch_shape: tuple[int, ...],
                      views: PipelineViews | None) -> str:
    flag = f'--{backend.value}'
    suggested = ' '.join(str(d) for d in (1,) + tuple(batch_shape[1:]))
    lines = [f'tools/test.py {flag}: the data batch does not fit the exported model',
             f'  data batch imgs:         {format_shape(batch_shape)} (N = videos_per_gpu)',
             f'  model input {model.input_name!r}: {format_shape(model.input_shape)} '
             f'({model.path})',
             'An exported model takes one input shape; only N may differ (batches are split '
             'or padded to the exported N, or run whole with --dynamic-export).']
    if views is not None and views.tta:
        single = ' '.join(str(d) for d in (1,) + views.sample_shape(single_view=True))
        lines += [f'The test pipeline uses multi-view test-time augmentation: '
                  f'{"; ".join(views.tta)}.',
                  'As MMAction2\'s guide recommends, remove it from the test pipeline for '
                  'exported models (CenterCrop instead of ThreeCrop/TenCrop, '
                  'twice_sample=False, num_clips=1 for 3D models) and export with '
                  f'--shape {single};',
                  f'or export every view at once with --shape {suggested}.']
    else:
        lines.append(f'Export with tools/deployment/pytorch2onnx.py ... --shape {suggested} '
                     'to match this test pipeline, or change the pipeline to the exported '
                     'shape.')
    return '\n'.join(lines)


# ---- the loop ---------------------------------------------------------------------------------
def _run_padded(model: ExportedModel, imgs: np.ndarray) -> np.ndarray:
    """Run ``imgs`` in chunks the model accepts; pad a short last chunk, drop its outputs."""
    fixed = model.input_shape[0]
    step = fixed or model.max_batch_size or len(imgs)
    outputs = []
    for start in range(0, len(imgs), step):
        chunk = imgs[start:start + step]
        real = len(chunk)
        if fixed is not None and real < fixed:
            padding = np.zeros((fixed - real,) + chunk.shape[1:], dtype=chunk.dtype)
            chunk = np.concatenate([chunk, padding])
        out = model(chunk)
        rows = out.shape[0] // len(chunk)  # outputs per sample (views of a 3D model)
        outputs.append(out[:real * rows])
    return np.concatenate(outputs)


def run_exported(backend: str | Backend, path: str, loader: Any,
                 cfg: Mapping[str, Any] | None = None, show: bool = True) -> list[np.ndarray]:
    """Score every video of a test loader with an exported recognizer.

    Args:
        backend: ``'onnx'`` (onnxruntime) or ``'tensorrt'`` (a serialized engine).
        path: the ``.onnx`` file or the engine file.
        loader: the test data loader (batches with ``imgs``).
        cfg: the test config: its ``model.test_cfg.average_clips`` combines the views of a
            video like the PyTorch path, its test pipeline explains shape mismatches, and
            localizers are refused. Without it the model's rows are returned unchanged.
        show: draw a progress bar.

    Returns:
        One ``[num_classes]`` score array per video, in dataset order.

    Raises:
        ValueError: a batch does not have the exported input shape (the message has both
            shapes and the ``--shape`` to export with), or the config is a localizer's.
        ImportError: the runtime (onnxruntime / tensorrt) is not installed.
    """
    from ..utils.progress import ProgressBar

    backend = _backend(backend)
    views = None
    if cfg is not None:
        _reject_localizer(cfg)
        views = describe_test_pipeline(cfg)
    average_clips = _average_clips(cfg)
    model = load_exported(backend, path)
    softmax_applied = model.metadata.get(META_SOFTMAX) == 'true'
    if softmax_applied and average_clips == 'score':
        logger.warning('%s was exported with --softmax: averaging probabilities, not the '
                       "raw scores test_cfg.average_clips='score' asks for", path)
    results: list[np.ndarray] = []
    progress = ProgressBar(len(loader.dataset), desc=f'test ({backend.value}) ', enabled=show)
    for data in loader:
        if 'imgs' not in data:
            raise KeyError(f'a test batch has no imgs (keys: {sorted(data)}); the test '
                           "pipeline must Collect 'imgs'")
        imgs = data['imgs']
        imgs = imgs.cpu().numpy() if hasattr(imgs, 'cpu') else np.asarray(imgs)
        if not _shapes_match(imgs.shape, model.input_shape):
            raise ValueError(_mismatch_message(backend, model, tuple(imgs.shape), views))
        scores = _run_padded(model, imgs)
        results.extend(average_views(scores, len(imgs), average_clips, softmax_applied))
        progress.update(len(imgs))
    return results
