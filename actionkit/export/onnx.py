"""Export recognizers and localizers to ONNX, and check the file against PyTorch.

What is exported is the model's ``forward_dummy``, its pure tensor path:

* 2D recognizers (TSN, TSM …): ``imgs [N, S, C, H, W]`` -> ``cls_score [N, num_classes]``,
  ``S`` being the frames of one sample (segments x crops); the head's consensus averages them.
* 3D recognizers (I3D, SlowFast, X3D …): ``imgs [N, V, C, T, H, W]`` ->
  ``cls_score [N * V, num_classes]``, one row per view (no clip averaging).
* localizers: BMN ``raw_feature [N, feat_dim, temporal_dim]`` -> ``confidence_map
  [N, 2, D, T]``, ``start [N, T]``, ``end [N, T]``; TEM the same input -> ``[N, 3, T]``;
  PEM ``bsp_feature [N, pem_feat_dim]`` -> ``[N, 1]``.

torch's default exporter (``torch.onnx.export(..., dynamo=True)``) is tried first; when it
fails, or cannot give the asked opset, the TorchScript exporter (``dynamo=False``) is used with
a warning, and :class:`ExportResult` says which one ran. The weights stay inside the ``.onnx``
file unless the model is over 2 GB (then they go to ``<output>.data`` beside it).

``verify`` compares onnxruntime with PyTorch (``actionkit.export.runtime.verify_onnx``).
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch
from torch import nn

from ..models.layers import revert_sync_batchnorm
from .runtime import (META_EXPORTER, META_INPUT_SHAPE, META_KIND, META_SOFTMAX, VERIFY_ATOL,
                      VERIFY_RTOL, VerifyResult, describe_test_pipeline, verify_onnx)

__all__ = [
    'DEFAULT_SHAPE', 'EXPORTERS', 'KIND_WORDS', 'SHAPE_HELP', 'VERIFY_ATOL', 'VERIFY_RTOL',
    'ExportResult', 'ExportWrapper', 'ModelKind', 'VerifyResult', 'check_input_shape',
    'graph_text', 'model_kind', 'pytorch2onnx', 'suggest_input_shape',
    'verify_onnx',
]

logger = logging.getLogger(__name__)

DEFAULT_SHAPE = (1, 1, 3, 224, 224)  # MMAction2 0.x's documented default
_EXTERNAL_DATA_BYTES = 1_900_000_000  # protobuf files stop at 2 GB
EXPORTERS = ('auto', 'dynamo', 'torchscript')
_OUTPUT_NAMES = {'BMN': ('confidence_map', 'start', 'end'), 'TEM': ('tem_output',),
                 'PEM': ('pem_score',)}

SHAPE_HELP = (
    'the input shape to export for. 2D recognizers (TSN, TSM, TIN ...): N S C H W, where N is '
    'the batch size and S the frames of one sample = num_segments (the test pipeline\'s '
    'num_clips x clip_len) x num_crops, e.g. "1 8 3 224 224" for TSM-R50 1x1x8 or '
    '"1 3 3 224 224" for TSN with 3 segments. 3D recognizers (I3D, SlowFast, X3D ...): '
    'N V C T H W, where V = num_clips x num_crops and T = clip_len, e.g. "1 1 3 32 224 224". '
    'Localizers: BMN/TEM N feat_dim temporal_dim (e.g. "1 400 100"), PEM N pem_feat_dim. '
    'Default: 1 1 3 224 224 for recognizers (MMAction2\'s), the model\'s own sizes for '
    'localizers')


class ModelKind(str, Enum):
    """What ``forward_dummy`` takes: the input layouts of the exported models."""

    RECOGNIZER_2D = 'recognizer2d'
    RECOGNIZER_3D = 'recognizer3d'
    LOCALIZER = 'localizer'


_LAYOUTS = {ModelKind.RECOGNIZER_2D: 'N S C H W', ModelKind.RECOGNIZER_3D: 'N V C T H W'}
KIND_WORDS = {ModelKind.RECOGNIZER_2D: '2D recognizer', ModelKind.RECOGNIZER_3D: '3D recognizer',
               ModelKind.LOCALIZER: 'localizer'}


def model_kind(model: nn.Module) -> ModelKind:
    """Tell 2D recognizers, 3D recognizers and localizers apart (by class)."""
    from ..models.localizers.base import BaseTAGClassifier, BaseTAPGenerator
    from ..models.recognizers.recognizer2d import Recognizer2D
    from ..models.recognizers.recognizer3d import Recognizer3D

    if isinstance(model, Recognizer2D):
        return ModelKind.RECOGNIZER_2D
    if isinstance(model, Recognizer3D):
        return ModelKind.RECOGNIZER_3D
    if isinstance(model, (BaseTAPGenerator, BaseTAGClassifier)):
        return ModelKind.LOCALIZER
    raise TypeError(f'cannot export {type(model).__name__}: ONNX export supports Recognizer2D, '
                    'Recognizer3D and localizers with a forward_dummy (BMN, TEM, PEM)')


class ExportWrapper(nn.Module):
    """``forward(x)`` is ``model.forward_dummy(x)``, its outputs always a tuple.

    Args:
        model: the recognizer or localizer (put in eval mode by the caller).
        kind: its :class:`ModelKind`.
        softmax: recognizers only: return probabilities instead of scores.
    """

    def __init__(self, model: nn.Module, kind: ModelKind, softmax: bool = False) -> None:
        super().__init__()
        if softmax and kind is ModelKind.LOCALIZER:
            raise ValueError('softmax=True (--softmax) is for recognizers; localizers already '
                             'return probabilities')
        self.model = model
        self.kind = kind
        self.softmax = softmax

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.kind is ModelKind.LOCALIZER:
            outs = self.model.forward_dummy(x)
        else:
            outs = self.model.forward_dummy(x, softmax=self.softmax)
        return tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)


# ---- shapes -----------------------------------------------------------------------------------
def _shape_str(shape: Sequence[int]) -> str:
    return ' '.join(str(d) for d in shape)


def _num_segments(model: nn.Module) -> int | None:
    """TSM-style models shift over a fixed number of segments: S must be a multiple of it."""
    value = getattr(getattr(model, 'backbone', None), 'num_segments', None)
    if value is None:
        value = getattr(getattr(model, 'cls_head', None), 'num_segments', None)
    return value if isinstance(value, int) and value > 0 else None


def _localizer_shape(model: nn.Module) -> tuple[int, ...] | None:
    feat_dim = getattr(model, 'feat_dim', None)
    temporal = getattr(model, 'tscale', None) or getattr(model, 'temporal_dim', None)
    if isinstance(feat_dim, int) and isinstance(temporal, int):
        return (1, feat_dim, temporal)
    if isinstance(feat_dim, int):
        return (1, feat_dim)
    return None


def suggest_input_shape(model: nn.Module, cfg: Mapping[str, Any] | None = None,
                        single_view: bool = True) -> tuple[int, ...] | None:
    """The ``--shape`` that fits ``model`` (and the config's test pipeline), batch size 1.

    Args:
        model: the recognizer or localizer.
        cfg: its config; recognizers read the sizes from the test pipeline.
        single_view: leave out multi-view test-time augmentation (crops, twice_sample,
            several clips of a 3D model).

    Returns:
        The shape, or ``None`` when nothing tells it.
    """
    kind = model_kind(model)
    if kind is ModelKind.LOCALIZER:
        return _localizer_shape(model)
    views = describe_test_pipeline(cfg) if cfg is not None else None
    if views is not None and views.is_3d == (kind is ModelKind.RECOGNIZER_3D):
        return (1,) + views.sample_shape(single_view=single_view)
    if kind is ModelKind.RECOGNIZER_2D:
        return (1, _num_segments(model) or 1, 3, 224, 224)
    return None


def _model_name(model: nn.Module) -> str:
    parts = [f'{role} {type(getattr(model, role)).__name__}' for role in ('backbone', 'cls_head')
             if getattr(model, role, None) is not None]
    return type(model).__name__ + (f' ({", ".join(parts)})' if parts else '')


def _shape_problems(model: nn.Module, kind: ModelKind, shape: tuple[int, ...]) -> list[str]:
    if kind is ModelKind.LOCALIZER:
        expected = _localizer_shape(model)
        if expected is not None and shape[1:] != expected[1:]:
            return [f'{type(model).__name__} takes [N, {", ".join(map(str, expected[1:]))}]']
        return []
    rank = 5 if kind is ModelKind.RECOGNIZER_2D else 6
    if len(shape) != rank:
        return [f'{len(shape)} numbers given; a {KIND_WORDS[kind]} takes {rank}: '
                f'{_LAYOUTS[kind]}']
    problems = []
    channels = getattr(getattr(model, 'backbone', None), 'in_channels', None)
    if isinstance(channels, int) and shape[2] != channels:
        problems.append(f'C (the 3rd number) is {shape[2]}; the backbone takes {channels} '
                        'channels')
    segments = _num_segments(model)
    if kind is ModelKind.RECOGNIZER_2D and segments and shape[1] % segments:
        problems.append(f'S (the 2nd number) is {shape[1]}; this model shifts features over '
                        f'num_segments={segments} frames, so S must be a multiple of '
                        f'{segments} (num_segments x num_crops)')
    return problems


def check_input_shape(model: nn.Module, shape: Sequence[int],
                      cfg: Mapping[str, Any] | None = None) -> tuple[int, ...]:
    """Check that ``model.forward_dummy`` runs on a tensor of ``shape``; return it as a tuple.

    The model is run once on zeros. A bad shape raises a ``ValueError`` that explains
    ``--shape`` for the model's kind and gives one that fits, computed from ``cfg``'s test
    pipeline when there is one.
    """
    shape = tuple(shape)
    if not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                            for d in shape):
        raise ValueError(f'--shape must be positive integers, got {list(shape)}')
    kind = model_kind(model)
    problems = _shape_problems(model, kind, shape)
    if not problems:
        try:
            with torch.no_grad():
                ExportWrapper(model, kind)(torch.zeros(shape))
        except Exception as err:  # the model's own message says what it wanted
            problems.append(f'the model fails on it: {type(err).__name__}: {err}')
    if problems:
        raise ValueError(_shape_error(model, kind, shape, problems, cfg))
    return shape


def _shape_error(model: nn.Module, kind: ModelKind, shape: tuple[int, ...],
                 problems: list[str], cfg: Mapping[str, Any] | None) -> str:
    lines = [f'--shape {_shape_str(shape)} does not fit {_model_name(model)}:']
    lines += [f'  - {problem}' for problem in problems]
    if kind is ModelKind.RECOGNIZER_2D:
        lines.append('For a 2D recognizer --shape is N S C H W: N = batch size, S = frames per '
                     'sample = num_segments (the test pipeline\'s num_clips x clip_len) x '
                     'num_crops, C = channels (3 for RGB), H W = the crop size.')
    elif kind is ModelKind.RECOGNIZER_3D:
        lines.append('For a 3D recognizer --shape is N V C T H W: N = batch size, V = views '
                     'per sample = num_clips x num_crops, C = channels (3 for RGB), '
                     'T = clip_len, H W = the crop size.')
    else:
        lines.append('For a localizer --shape is the feature input of forward_dummy: '
                     'N feat_dim temporal_dim (BMN, TEM) or N pem_feat_dim (PEM).')
    suggested = suggest_input_shape(model, cfg)
    views = describe_test_pipeline(cfg) if cfg is not None else None
    if suggested is not None:
        source = f' (test pipeline: {views.describe()})' if views is not None and \
            kind is not ModelKind.LOCALIZER else ''
        lines.append(f'Try: --shape {_shape_str(suggested)}{source}')
        full = suggest_input_shape(model, cfg, single_view=False)
        if views is not None and views.tta and full != suggested:
            lines.append(f'(with its multi-view test-time augmentation, {"; ".join(views.tta)}: '
                         f'--shape {_shape_str(full)})')
    return '\n'.join(lines)


# ---- export -----------------------------------------------------------------------------------
@dataclass
class ExportResult:
    """What :func:`pytorch2onnx` wrote.

    Attributes:
        output_file: the ``.onnx`` file.
        exporter: ``'dynamo'`` (torch's default exporter) or ``'torchscript'`` (the fallback).
        opset_version: the opset of the file.
        input_shape: the shape exported for (axis 0 dynamic with ``dynamic_export``).
        input_names, output_names: the graph's input and output names.
        external_data: the external weight file, or ``None`` when the weights are inside.
        fallback_reason: why the TorchScript exporter was used, if it was.
        verification: the :class:`VerifyResult` when ``verify`` was asked for.
    """

    output_file: str
    exporter: str
    opset_version: int
    input_shape: tuple[int, ...]
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    external_data: str | None = None
    fallback_reason: str | None = None
    verification: VerifyResult | None = None


class _OpsetNotMet(RuntimeError):
    pass


@contextlib.contextmanager
def _quiet_exporters() -> Iterator[None]:
    """Hide the exporters' chatter (tracer and deprecation warnings, optional-op notices)."""
    noisy = [logging.getLogger(name) for name in
             ('torch.onnx._internal.exporter._registration', 'onnxscript', 'onnx_ir')]
    levels = [log.level for log in noisy]
    for log in noisy:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
            warnings.filterwarnings('ignore', category=DeprecationWarning)
            warnings.filterwarnings('ignore', category=FutureWarning)
            warnings.filterwarnings('ignore', message='.*training mode.*')
            yield
    finally:
        for log, level in zip(noisy, levels):
            log.setLevel(level)


def _io_names(model: nn.Module, kind: ModelKind, num_outputs: int) -> tuple[list, list]:
    if kind is ModelKind.LOCALIZER:
        params = list(inspect.signature(model.forward_dummy).parameters)
        input_name = params[0] if params else 'input'
    else:
        input_name = 'imgs'
    names = _OUTPUT_NAMES.get(type(model).__name__)
    if kind is not ModelKind.LOCALIZER:
        names = ('cls_score',)
    if names is None or len(names) != num_outputs:
        names = tuple(f'output_{i}' for i in range(num_outputs)) if num_outputs > 1 \
            else ('output',)
    return [input_name], list(names)


def _export_dynamo(wrapper: ExportWrapper, example: torch.Tensor, opset: int | None,
                   dynamic: bool, names: tuple[list, list]) -> Any:
    dynamic_shapes = ({0: torch.export.Dim('batch')},) if dynamic else None
    with _quiet_exporters():
        program = torch.onnx.export(wrapper, (example,), None, dynamo=True, verbose=False,
                                    opset_version=opset, dynamic_shapes=dynamic_shapes,
                                    input_names=names[0], output_names=names[1])
    got = program.model.opset_imports.get('')
    if opset is not None and got != opset:
        raise _OpsetNotMet(f'the dynamo exporter gave opset {got}, not the requested {opset}')
    return program


def _export_torchscript(wrapper: ExportWrapper, example: torch.Tensor, path: str,
                        opset: int | None, dynamic: bool, names: tuple[list, list]) -> None:
    dynamic_axes = {names[0][0]: {0: 'batch'}} if dynamic else None
    with _quiet_exporters():
        torch.onnx.export(wrapper, (example,), path, dynamo=False, opset_version=opset,
                          input_names=names[0], output_names=names[1],
                          dynamic_axes=dynamic_axes, do_constant_folding=True)


def _finish_file(path: str, metadata: Mapping[str, str], external: bool) -> str | None:
    """Write the metadata into the file; keep the weights inside unless ``external``."""
    import onnx

    proto = onnx.load(path)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    data_file = path + '.data'
    if os.path.exists(data_file):
        os.remove(data_file)
    if external:
        onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(data_file), size_threshold=1024)
        return data_file
    onnx.save_model(proto, path)
    return None


def _run_exporter(wrapper: ExportWrapper, example: torch.Tensor, path: str, opset: int | None,
                  dynamic: bool, exporter: str, names: tuple[list, list],
                  external: bool) -> tuple[str, str | None]:
    """Export with ``exporter``; return the exporter used and why it fell back, if it did."""
    reason = None
    if exporter != 'torchscript':
        try:
            program = _export_dynamo(wrapper, example, opset, dynamic, names)
            program.save(path, external_data=external)
            return 'dynamo', None
        except Exception as err:  # any exporter failure: fall back, saying why
            if exporter == 'dynamo':
                raise RuntimeError(f'the dynamo ONNX exporter failed: {type(err).__name__}: '
                                   f'{err}') from err
            reason = f'{type(err).__name__}: {str(err).strip().splitlines()[0][:300]}'
            message = ('torch.onnx.export(dynamo=True) failed or could not give the asked '
                       f'opset ({reason}); using the TorchScript exporter (dynamo=False)')
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            logger.warning(message)
    _export_torchscript(wrapper, example, path, opset, dynamic, names)
    return 'torchscript', reason


def pytorch2onnx(model: nn.Module, input_shape: Sequence[int], opset_version: int | None = None,
                 show: bool = False, output_file: str = 'tmp.onnx', verify: bool = False, *,
                 softmax: bool = False, dynamic_export: bool = False, exporter: str = 'auto',
                 cfg: Mapping[str, Any] | None = None, atol: float = VERIFY_ATOL,
                 rtol: float = VERIFY_RTOL) -> ExportResult:
    """Export ``model.forward_dummy`` to an ONNX file.

    Args:
        model: a recognizer or a localizer with its weights loaded. It is put in eval mode;
            SyncBatchNorm layers are exported as plain BatchNorm (on a copy of the model).
        input_shape: the input shape (see :data:`SHAPE_HELP`); checked by running the model.
        opset_version: the ONNX opset; ``None`` is the exporter's default (20 for torch
            2.13's dynamo exporter). An opset the dynamo exporter cannot give (e.g. 11) makes
            it fall back to the TorchScript exporter.
        show: log the exported graph (the command line prints it).
        output_file: where to write.
        verify: compare onnxruntime with PyTorch on a random input (see :func:`verify_onnx`).
        softmax: recognizers: append a softmax, so the file returns probabilities.
        dynamic_export: make the batch axis dynamic (any N at run time).
        exporter: ``'auto'`` (dynamo, falling back to TorchScript), ``'dynamo'`` or
            ``'torchscript'``.
        cfg: the model's config, for the ``--shape`` suggestion in errors.
        atol, rtol: the tolerances of ``verify``.

    Returns:
        An :class:`ExportResult`.

    Example:
        >>> result = pytorch2onnx(model, (1, 8, 3, 224, 224), output_file='tsm.onnx',
        ...                       verify=True)
        >>> result.exporter, result.verification.passed
        ('dynamo', True)
    """
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    if opset_version is not None and (not isinstance(opset_version, int) or opset_version < 7):
        raise ValueError(f'opset_version must be an int >= 7 or None, got {opset_version!r}')
    model.eval()
    if any(isinstance(m, nn.SyncBatchNorm) for m in model.modules()):
        model = revert_sync_batchnorm(copy.deepcopy(model))
    kind = model_kind(model)
    with _fixed_random_choices(model):
        return _export(model, kind, input_shape, opset_version, show, output_file, verify,
                       softmax, dynamic_export, exporter, cfg, atol, rtol)


@contextlib.contextmanager
def _fixed_random_choices(model: nn.Module) -> Iterator[None]:
    """Make modules that draw at random on every forward (TRN's multi-scale relations, as in
    MMAction2) use one seeded draw while the model is traced and verified: an ONNX graph can
    only hold one."""
    fixed = [m for m in model.modules()
             if hasattr(m, 'fixed_relations') and hasattr(m, 'sample_relations')
             and m.fixed_relations is None]
    generator = torch.Generator().manual_seed(0)
    for module in fixed:
        module.fixed_relations = module.sample_relations(generator)
        logger.warning('%s draws its frame tuples at random on every forward; the ONNX file '
                       'scores this fixed draw (seed 0): %s', type(module).__name__,
                       module.fixed_relations)
    try:
        yield
    finally:
        for module in fixed:
            module.fixed_relations = None


def _export(model: nn.Module, kind: ModelKind, input_shape: Sequence[int],
            opset_version: int | None, show: bool, output_file: str, verify: bool,
            softmax: bool, dynamic_export: bool, exporter: str, cfg: Mapping[str, Any] | None,
            atol: float, rtol: float) -> ExportResult:
    """The body of :func:`pytorch2onnx`, after the arguments are checked."""
    shape = check_input_shape(model, input_shape, cfg)
    wrapper = ExportWrapper(model, kind, softmax=softmax).eval()
    example = torch.randn(shape)
    with torch.no_grad():
        num_outputs = len(wrapper(example))
    names = _io_names(model, kind, num_outputs)
    external = sum(t.numel() * t.element_size()
                   for t in list(model.parameters()) + list(model.buffers())) \
        > _EXTERNAL_DATA_BYTES
    folder = os.path.dirname(os.path.abspath(output_file))
    os.makedirs(folder, exist_ok=True)
    used, fallback = _run_exporter(wrapper, example, output_file, opset_version, dynamic_export,
                                   exporter, names, external)
    metadata = {META_KIND: kind.value, META_SOFTMAX: str(bool(softmax)).lower(),
                META_EXPORTER: used, META_INPUT_SHAPE: _shape_str(shape)}
    external_file = _finish_file(output_file, metadata, external)
    result = ExportResult(output_file=output_file, exporter=used,
                          opset_version=_opset_of(output_file), input_shape=shape,
                          input_names=names[0], output_names=names[1],
                          external_data=external_file, fallback_reason=fallback)
    logger.info('exported %s to %s with the %s exporter (opset %d)%s', type(model).__name__,
                output_file, used, result.opset_version,
                f'; weights in {external_file}' if external_file else '')
    if show:
        logger.info('ONNX graph of %s:\n%s', output_file, graph_text(output_file))
    if verify:
        result.verification = verify_onnx(wrapper, output_file, shape,
                                          dynamic_export=dynamic_export, atol=atol, rtol=rtol)
    return result


def _opset_of(path: str) -> int:
    import onnx

    proto = onnx.load(path, load_external_data=False)
    return next((o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')), -1)


def graph_text(path: str) -> str:
    """The graph of an ONNX file as readable text (``--show``)."""
    import onnx

    graph = onnx.load(path, load_external_data=False).graph
    with warnings.catch_warnings():  # onnx.printer.to_text would print every weight
        warnings.simplefilter('ignore', DeprecationWarning)
        return onnx.helper.printable_graph(graph)
