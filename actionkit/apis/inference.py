"""High-level inference: build a recognizer from a config and score one video.

Example:
    >>> model = init_recognizer('configs/recognition/tsn/'
    ...                         'tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py',
    ...                         'checkpoints/tsn.pth', device='cpu')       # doctest: +SKIP
    >>> results = inference_recognizer(model, 'demo/demo.mp4')             # doctest: +SKIP
    >>> results[0]                                                         # doctest: +SKIP
    (6, 0.97)

Speed (none changes the scores beyond float rounding): ``init_recognizer`` folds every
BatchNorm into the conv before it by default (``fuse_conv_bn=False`` keeps them); opt-in,
``channels_last=True`` stores 2D conv weights channels-last (oneDNN's fast layout on CPU),
``max_testing_views=10`` runs the backbone on 10 views at a time, and
``inference_recognizer(..., decoder='pyav')`` decodes with PyAV instead of the decoder the
config names (the config itself is left as it is). The thread count is the process's:
``torch.set_num_threads``. ``benchmarks/inference.py`` measures these settings against
MMAction2 0.x.
"""
from __future__ import annotations

import copy
import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..config.v1 import config_version, engine_config
from ..datasets.pipelines.compose import Compose
from ..models.builder import build_model
from ..models.fuse import fuse_conv_bn as _fuse_conv_bn
from ..models.memory_format import to_channels_last
from ..models.recognizers.v1_api import write_predictions
from ..models.weights import load_checkpoint
from ..utils.download import fetch_url, is_url, redact_url
from ..utils.fileio import is_remote

__all__ = ['init_recognizer', 'inference_recognizer', 'resolve_device', 'load_label_map',
           'is_v1_config']

logger = logging.getLogger(__name__)

_DEVICE_FORMS = "'cpu', 'cuda', 'cuda:N' or a torch.device"
# decoder name -> (open step, decode step) of the video pipeline
_DECODERS = {'pyav': ('PyAVInit', 'PyAVDecode'), 'decord': ('DecordInit', 'DecordDecode'),
             'opencv': ('OpenCVInit', 'OpenCVDecode'),
             'torchcodec': ('TorchCodecInit', 'TorchCodecDecode')}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn ``device`` into a ``torch.device``; CUDA falls back to CPU (with a warning) if absent.

    ``CUDA_VISIBLE_DEVICES=-1`` hides every GPU, so ``'cuda:0'`` then means the CPU too.
    """
    if device is None:
        device = 'cuda:0'
    if isinstance(device, str):
        try:
            device = torch.device(device)
        except RuntimeError as err:
            raise ValueError(f'unknown device {device!r}; expected {_DEVICE_FORMS}') from err
    if not isinstance(device, torch.device):
        raise TypeError(f'device must be a str or torch.device, got {type(device).__name__}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        warnings.warn(f'{device} was asked for but CUDA is not available; using the CPU',
                      stacklevel=3)
        return torch.device('cpu')
    if device.type not in ('cpu', 'cuda', 'mps'):
        raise ValueError(f'unsupported device {str(device)!r}; expected {_DEVICE_FORMS}')
    return device


def _as_config(config: str | os.PathLike | Config) -> Config:
    """The config as the engine reads it (a 1.x one translated); for a 1.x config with a
    ``test_pipeline``, that pipeline is the test one, as 1.x's ``inference_recognizer`` runs
    it rather than ``test_dataloader.dataset.pipeline``."""
    if isinstance(config, (str, os.PathLike)):
        config = Config.fromfile(os.fspath(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file name or a Config, got {type(config).__name__}')
    v1_pipeline = config.get('test_pipeline') if is_v1_config(config) else None
    config = engine_config(config)
    if v1_pipeline and isinstance(config.get('data', {}).get('test'), Mapping):
        config.data.test.pipeline = v1_pipeline
    return config


def init_recognizer(config: str | os.PathLike | Config, checkpoint: str | None = None,
                    device: str | torch.device = 'cuda:0', use_frames: bool = False,
                    allow_pickle: bool = False, *, fuse_conv_bn: bool = True,
                    channels_last: bool = False,
                    max_testing_views: int | None = None,
                    cfg_options: Mapping[str, Any] | None = None) -> nn.Module:
    """Build a recognizer from ``config`` and load ``checkpoint`` into it, ready for inference.

    Args:
        config: a config file path or a loaded :class:`~actionkit.config.Config`. Its
            ``data.test.pipeline`` is what :func:`inference_recognizer` runs (an MMAction2 1.x
            config's ``test_pipeline``, or else ``test_dataloader.dataset.pipeline``).
        checkpoint: a ``.pth``/``.safetensors`` file; ``None`` keeps random weights.
            Every weight of the model must be in it (``strict=True``).
        device: ``'cpu'``, ``'cuda:0'`` or a ``torch.device``.
        use_frames: kept for the MMAction2 0.x signature; frames vs video is decided per call.
        allow_pickle: load a legacy checkpoint that needs full unpickling (trusted files only).
        fuse_conv_bn: fold each BatchNorm into the conv before it (default; faster, same
            scores to float rounding). The BatchNorms become ``nn.Identity``, so the state-dict
            keys change: pass ``False`` for a model to train or save.
        channels_last: store the 2D conv weights channels-last, which oneDNN runs fastest on
            CPU (2D models such as TSN and TSM; 3D convs are left as they are).
        max_testing_views: run the backbone on at most this many views (clips x crops) at a
            time, overriding the config's ``test_cfg.max_testing_views``. Same scores; smaller
            activations, which on CPU saves the page faults of huge fresh allocations (TSN's
            25 clips x TenCrop: about a quarter of the time with 10).
        cfg_options: overrides merged into the config first (MMAction2 1.x's argument).

    Returns:
        The model in eval mode on ``device``, with the config as ``model.cfg``.
    """
    del use_frames  # the input kind is detected per call; see inference_recognizer
    for name, value in (('fuse_conv_bn', fuse_conv_bn), ('channels_last', channels_last)):
        if not isinstance(value, bool):
            raise TypeError(f'init_recognizer: {name} must be True or False, got {value!r}')
    if max_testing_views is not None and (isinstance(max_testing_views, bool) or not isinstance(
            max_testing_views, int) or max_testing_views <= 0):
        raise ValueError(f'init_recognizer: max_testing_views must be a positive int or None, '
                         f'got {max_testing_views!r}')
    cfg = _as_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    _test_section(cfg)  # refuse a config without a test pipeline before building anything
    if 'model' not in cfg:
        raise KeyError(f'{cfg.filename or "the config"} has no "model" key')
    device = resolve_device(device)
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, Mapping) and 'pretrained' in backbone:
        # as MMAction2: nothing is loaded twice, and model.cfg says so (the caller's Config,
        # copied by _as_config, is left as it was)
        backbone['pretrained'] = None
    model_cfg = copy.deepcopy(cfg.model)
    outer_test_cfg = cfg.get('test_cfg')  # the deprecated place, outside the model dict
    if max_testing_views is not None:
        if outer_test_cfg is not None and 'test_cfg' not in model_cfg:
            outer_test_cfg = dict(outer_test_cfg, max_testing_views=max_testing_views)
        else:
            model_cfg['test_cfg'] = dict(model_cfg.get('test_cfg') or {},
                                         max_testing_views=max_testing_views)
    model = build_model(model_cfg, test_cfg=outer_test_cfg)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        allow_pickle=allow_pickle)
    model.cfg = cfg
    model.to(device)
    model.eval()
    if fuse_conv_bn:
        _fuse_conv_bn(model)
    if channels_last:
        to_channels_last(model, conv3d=False)  # 2D only: the case benchmarks/inference.py measured
    return model


def load_label_map(labels: str | os.PathLike | Sequence[str], num_classes: int) -> list[str]:
    """Read a label map (one class name per line) and check it covers ``num_classes``."""
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.is_file():
            raise FileNotFoundError(f'label file {str(path)!r} does not exist')
        names = [line.strip() for line in path.read_text(encoding='utf-8').splitlines()]
        while names and not names[-1]:
            names.pop()
        source = f'label file {str(path)!r}'
    else:
        names = [str(name) for name in labels]
        source = 'the label list'
    if len(names) < num_classes:
        raise ValueError(f'{source} has {len(names)} names but the model scores {num_classes} '
                         'classes; one name per line is expected')
    return names


def inference_recognizer(model: nn.Module, video: str | os.PathLike | dict | np.ndarray,
                         labels: Any = None,
                         use_frames: bool = False, outputs: str | Sequence[str] | None = None,
                         as_tensor: bool = True, *, decoder: str | None = None,
                         test_pipeline: Sequence[Any] | Compose | None = None) -> Any:
    """Score one video with a model from :func:`init_recognizer`.

    Args:
        model: the recognizer (with ``model.cfg``).
        video: a video file, a rawframe folder, an ``http(s)://`` URL (fetched to a temporary
            file with a timeout and a size cap), an ``s3://`` / ``gs://`` URL (decoded with
            PyAV in ranged reads), a results dict (the pipeline's input) or a
            ``T x H x W x 3`` uint8 RGB array. A path is used as given (relative to the
            working directory), as MMAction2 0.24.1 does: ``data.test.data_prefix`` is not
            joined to it.
        labels: optional label map (file or list); checked to name every class.
        use_frames: ``True`` requires ``video`` to be a rawframe folder.
        outputs: names of sub-modules (``'backbone'``, ``'cls_head'``) whose outputs are
            returned as well. A sub-module run on several batches in one forward (the backbone
            under ``max_testing_views``) gives them joined along the first dim.
        as_tensor: return those outputs as tensors (else numpy arrays).
        decoder: decode videos (files, URLs, results dicts of a video pipeline) with
            ``'pyav'``, ``'decord'``, ``'opencv'`` or ``'torchcodec'`` instead of the decoder
            the config's test pipeline names; ``None`` keeps the config's. PyAV is usually the
            fastest. ``model.cfg`` is not changed.
        test_pipeline: the steps (or a ``Compose``) to run instead of the config's, as MMAction2
            1.x's third argument (given there, a list of step dicts or a ``Compose`` is taken
            as this, not as ``labels``).

    Returns:
        For a 0.x config: the top-5 ``(class_index, score)`` pairs, best first. For an
        MMAction2 1.x config (see :func:`is_v1_config`): 1.x's result, an
        :class:`~actionkit.models.data_sample.ActionDataSample` with ``pred_score``
        ``[num_classes]`` and ``pred_label``. With ``outputs``, a tuple ``(result, {name:
        output})``.
    """
    if test_pipeline is None and _is_pipeline(labels):
        test_pipeline, labels = labels, None
    cfg = getattr(model, 'cfg', None)
    if not isinstance(cfg, (Config, Mapping)):
        raise TypeError(f'inference_recognizer needs a model from init_recognizer (with the '
                        f'config as model.cfg); got a {type(model).__name__} without one')
    if decoder is not None and decoder not in _DECODERS:
        raise ValueError(f'decoder must be one of {sorted(_DECODERS)} or None, got {decoder!r}')
    num_classes = getattr(getattr(model, 'cls_head', None), 'num_classes', None)
    labels_checked = labels is not None and isinstance(num_classes, int)
    if labels_checked:
        load_label_map(labels, num_classes)  # fail before the decoding and the forward
    device = next(model.parameters()).device
    if isinstance(test_pipeline, Compose):
        test_pipeline = test_pipeline.transforms
    results, pipeline, cleanup = _prepare_input(cfg, video, use_frames, decoder, test_pipeline)
    try:
        data = Compose(pipeline)(results)
    finally:
        if cleanup:
            os.remove(cleanup)
    imgs = data['imgs'][None].to(device)
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs or ())
    captured: dict[str, list] = {}
    handles = [_capture(model, name, captured, as_tensor) for name in names]
    try:
        # no_grad, not inference_mode: the captured outputs stay ordinary tensors
        with torch.no_grad():
            scores = np.asarray(model(imgs, return_loss=False))[0]
    finally:
        for handle in handles:
            handle.remove()
    if labels is not None and not labels_checked:
        load_label_map(labels, scores.shape[-1])
    if is_v1_config(cfg):
        result: Any = write_predictions(torch.from_numpy(scores)[None], None)[0]
    else:
        order = np.argsort(-scores, kind='stable')[:5]
        result = [(int(k), float(scores[k])) for k in order]
    if not names:
        return result
    return result, {name: _merged(captured[name]) for name in names if name in captured}


def is_v1_config(cfg: Mapping[str, Any]) -> bool:
    """Whether a config is MMAction2 1.x's: its top-level keys say so
    (:func:`actionkit.config.v1.config_version`), or its model has a ``data_preprocessor``."""
    model = cfg.get('model')
    return config_version(cfg, getattr(cfg, 'filename', None)) == '1.x' \
        or (isinstance(model, Mapping) and 'data_preprocessor' in model)


def _is_pipeline(value: Any) -> bool:
    return isinstance(value, Compose) or (
        isinstance(value, Sequence) and not isinstance(value, str) and bool(value)
        and all(isinstance(step, Mapping) or callable(step) for step in value))


def _test_section(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The test dataset's settings with its ``pipeline``: ``data.test`` (0.x), or for a
    1.x config ``test_dataloader.dataset`` with ``test_pipeline`` when the config has one
    (what 1.x's ``inference_recognizer`` runs)."""
    test = cfg.get('data', {}).get('test', {})
    if test.get('pipeline'):
        return test
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = cfg.get('test_pipeline') or dataset.get('pipeline')
    if not pipeline:
        name = getattr(cfg, 'filename', None) or 'the config'
        raise ValueError(f'{name} has no data.test.pipeline (MMAction2 0.x) nor test_pipeline / '
                         'test_dataloader.dataset.pipeline (1.x); inference needs one (see '
                         'configs/recognition/tsn/'
                         'tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py)')
    return dict(dataset, pipeline=pipeline)


def _capture(model: nn.Module, name: str, store: dict[str, list], as_tensor: bool) -> Any:
    """Hook sub-module ``name`` so that each of its outputs is appended to ``store[name]``."""
    try:
        module = model.get_submodule(name)
    except AttributeError as err:
        top = [child for child, _ in model.named_children()]
        raise ValueError(f'the model has no sub-module {name!r}; top-level ones: {top}') from err

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        store.setdefault(name, []).append(_detached(output, as_tensor))

    return module.register_forward_hook(hook)


def _detached(output: Any, as_tensor: bool) -> Any:
    """A copy of a module's output (tensors, or tuples of them) that later layers cannot alter."""
    if isinstance(output, torch.Tensor):
        return output.detach().clone() if as_tensor else output.detach().cpu().numpy()
    if isinstance(output, tuple):
        return tuple(_detached(item, as_tensor) for item in output)
    return output


def _merged(outputs: list[Any]) -> Any:
    """One output from the calls of one forward: the batches of a sub-module run several times
    (the backbone under ``max_testing_views``) joined along the first dim."""
    first = outputs[0]
    if len(outputs) == 1:
        return first
    if isinstance(first, torch.Tensor):
        return torch.cat(outputs)
    if isinstance(first, np.ndarray):
        return np.concatenate(outputs)
    if isinstance(first, tuple):
        return tuple(_merged([out[i] for out in outputs]) for i in range(len(first)))
    return outputs


def _prepare_input(cfg: Config, video: Any, use_frames: bool, decoder: str | None = None,
                   steps: Sequence[Any] | None = None) -> tuple[dict, list, str | None]:
    """Return the pipeline's input dict, the pipeline to run (``steps`` in place of the
    config's when given) and a temp file to delete."""
    test = _test_section(cfg)
    pipeline = [dict(step) if isinstance(step, Mapping) else step
                for step in (test['pipeline'] if steps is None else steps)]
    if isinstance(video, Mapping):
        if decoder is not None and any(_step_type(s).endswith('Init') for s in pipeline):
            pipeline = _video_pipeline(pipeline, decoder)
        return dict(video), pipeline, None
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] not in (2, 3):
            raise ValueError(f'an array input must be T x H x W x 3 (RGB) or x 2 (flow), got '
                             f'shape {video.shape}')
        results = dict(total_frames=video.shape[0], label=-1, start_index=0,
                       modality='RGB' if video.shape[-1] == 3 else 'Flow')
        return results, _with_decoder(pipeline, _ArrayDecode(video)), None
    if isinstance(video, os.PathLike):
        video = os.fspath(video)
    if not isinstance(video, str):
        raise TypeError('video must be a path, a URL, a results dict or a T x H x W x C array, '
                        f'got {type(video).__name__}')
    if is_url(video):
        if use_frames:
            raise ValueError(f'use_frames=True needs a local frame folder, got URL '
                             f'{redact_url(video)!r}')
        if is_remote(video) and not video.lower().startswith(('http://', 'https://')):
            # s3:// and gs://: decoded in ranged reads (actionkit.utils.fileio), no download
            results = dict(filename=video, label=-1, start_index=0, modality='RGB')
            return results, _video_pipeline(pipeline, decoder), None
        path = fetch_url(video)
        results = dict(filename=path, label=-1, start_index=0, modality='RGB')
        return results, _video_pipeline(pipeline, decoder), path
    path = video  # as given, relative to the working directory (never joined to data_prefix)
    if os.path.isdir(path):
        return _frames_input(test, path), _with_decoder(pipeline, dict(type='RawFrameDecode')), None
    if use_frames:
        raise FileNotFoundError(f'use_frames=True but {path!r} is not a frame folder')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'video {path!r} does not exist (relative to the working '
                                f'directory {os.getcwd()!r})')
    results = dict(filename=path, label=-1, start_index=0, modality='RGB')
    return results, _video_pipeline(pipeline, decoder), None


def _frames_input(test: Mapping, folder: str) -> dict:
    tmpl = test.get('filename_tmpl', 'img_{:05}.jpg')
    modality = test.get('modality', 'RGB')
    regex = _frame_regex(tmpl, modality)
    total = sum(1 for name in os.listdir(folder) if regex.match(name))
    if total == 0:
        raise FileNotFoundError(f'frame folder {folder!r} has no frames named like '
                                f'{tmpl!r}')
    return dict(frame_dir=folder, total_frames=total, label=-1,
                start_index=test.get('start_index', 1), filename_tmpl=tmpl, modality=modality)


def _frame_regex(tmpl: str, modality: str) -> re.Pattern:
    """A regex for the frame file names of ``tmpl``; for flow, only the x-direction frames."""
    parts = re.split(r'(\{[^}]*\})', tmpl)
    slots = [i for i, part in enumerate(parts) if part.startswith('{')]
    pieces = []
    for i, part in enumerate(parts):
        if i not in slots:
            pieces.append(re.escape(part))
        elif modality == 'Flow' and len(slots) > 1 and i == slots[0]:
            pieces.append('x')
        else:
            pieces.append(r'\d+')
    return re.compile('^' + ''.join(pieces) + '$')


def _step_type(step: Any) -> str:
    """A pipeline step's type name, whether the config gives it as a string or a class."""
    kind = step.get('type', '') if isinstance(step, Mapping) else type(step)
    return kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))


def _video_pipeline(pipeline: list[dict], decoder: str | None = None) -> list[dict]:
    """The pipeline for a video file: the config's decoder, or ``decoder``'s steps in its
    place; a rawframe pipeline (no ``*Init`` step) gets ``decoder`` or PyAV."""
    if decoder is None and any(_step_type(step).endswith('Init') for step in pipeline):
        return pipeline
    init, decode = _DECODERS[decoder or 'pyav']
    steps: list[dict] = [dict(type=init)]
    for step in pipeline:
        kind = _step_type(step)
        if not kind.endswith('Init'):
            steps.append(dict(type=decode) if kind.endswith('Decode') else step)
    return steps


def _with_decoder(pipeline: list[dict], decoder: Any) -> list[Any]:
    """Drop any ``*Init`` step and replace the ``*Decode`` step with ``decoder``."""
    out: list[Any] = []
    for step in pipeline:
        kind = _step_type(step)
        if kind.endswith('Init'):
            continue
        out.append(decoder if kind.endswith('Decode') else step)
    return out


class _ArrayDecode:
    """Take the sampled frames from an in-memory ``T x H x W x C`` array."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __call__(self, results: dict) -> dict:
        inds = np.asarray(results['frame_inds']).reshape(-1) - results.get('start_index', 0)
        inds = np.clip(inds, 0, len(self.array) - 1)
        results['imgs'] = list(self.array[inds])
        results['original_shape'] = self.array.shape[1:3]
        results['img_shape'] = self.array.shape[1:3]
        return results
