"""High-level inference: build a recognizer from a config and score one video.

Example:
    >>> model = init_recognizer('configs/recognition/tsn/'
    ...                         'tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py',
    ...                         'checkpoints/tsn.pth', device='cpu')       # doctest: +SKIP
    >>> results = inference_recognizer(model, 'demo/demo.mp4')             # doctest: +SKIP
    >>> results[0]                                                         # doctest: +SKIP
    (6, 0.97)
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
from ..datasets.pipelines.compose import Compose
from ..models.builder import build_model
from ..models.weights import load_checkpoint
from ..utils.download import fetch_url, is_url, redact_url

__all__ = ['init_recognizer', 'inference_recognizer', 'resolve_device', 'load_label_map']

logger = logging.getLogger(__name__)

_DEVICE_FORMS = "'cpu', 'cuda', 'cuda:N' or a torch.device"


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
    if isinstance(config, (str, os.PathLike)):
        return Config.fromfile(os.fspath(config))
    if isinstance(config, Config):
        return copy.deepcopy(config)
    raise TypeError(f'config must be a file name or a Config, got {type(config).__name__}')


def init_recognizer(config: str | os.PathLike | Config, checkpoint: str | None = None,
                    device: str | torch.device = 'cuda:0', use_frames: bool = False,
                    allow_pickle: bool = False) -> nn.Module:
    """Build a recognizer from ``config`` and load ``checkpoint`` into it, ready for inference.

    Args:
        config: a config file path or a loaded :class:`~actionkit.config.Config`. Its
            ``data.test.pipeline`` is what :func:`inference_recognizer` runs.
        checkpoint: a ``.pth``/``.safetensors`` file; ``None`` keeps random weights.
            Every weight of the model must be in it (``strict=True``).
        device: ``'cpu'``, ``'cuda:0'`` or a ``torch.device``.
        use_frames: kept for the MMAction2 0.x signature; frames vs video is decided per call.
        allow_pickle: load a legacy checkpoint that needs full unpickling (trusted files only).

    Returns:
        The model in eval mode on ``device``, with the config as ``model.cfg``.
    """
    del use_frames  # the input kind is detected per call; see inference_recognizer
    cfg = _as_config(config)
    test_cfg = cfg.get('data', {}).get('test', {})
    if not test_cfg.get('pipeline'):
        raise ValueError(f'{cfg.filename or "the config"} has no data.test.pipeline; '
                         'inference needs one (see configs/recognition/tsn/'
                         'tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py)')
    if 'model' not in cfg:
        raise KeyError(f'{cfg.filename or "the config"} has no "model" key')
    device = resolve_device(device)
    model_cfg = copy.deepcopy(cfg.model)
    if isinstance(model_cfg.get('backbone'), Mapping) and 'pretrained' in model_cfg['backbone']:
        model_cfg['backbone']['pretrained'] = None  # the checkpoint provides every weight
    model = build_model(model_cfg, test_cfg=cfg.get('test_cfg'))
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        allow_pickle=allow_pickle)
    model.cfg = cfg
    model.to(device)
    model.eval()
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
                         labels: str | os.PathLike | Sequence[str] | None = None,
                         use_frames: bool = False, outputs: str | Sequence[str] | None = None,
                         as_tensor: bool = True) -> Any:
    """Score one video with a model from :func:`init_recognizer`.

    Args:
        model: the recognizer (with ``model.cfg``).
        video: a video file, a rawframe folder, an ``http(s)://`` URL (fetched to a temporary
            file with a timeout and a size cap), a results dict (the pipeline's input) or a
            ``T x H x W x 3`` uint8 RGB array. Paths are joined to the config's
            ``data.test.data_prefix`` unless it is ``None``, as MMAction2 does.
        labels: optional label map (file or list); checked to name every class.
        use_frames: ``True`` requires ``video`` to be a rawframe folder.
        outputs: names of sub-modules (``'backbone'``, ``'cls_head'``) whose outputs are
            returned as well.
        as_tensor: return those outputs as tensors (else numpy arrays).

    Returns:
        The top-5 ``(class_index, score)`` pairs, best first; with ``outputs``, a tuple
        ``(top5, {name: output})``.
    """
    cfg = model.cfg
    device = next(model.parameters()).device
    results, pipeline, cleanup = _prepare_input(cfg, video, use_frames)
    try:
        data = Compose(pipeline)(results)
    finally:
        if cleanup:
            os.remove(cleanup)
    imgs = data['imgs'][None].to(device)
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs or ())
    captured: dict[str, Any] = {}
    handles = [_capture(model, name, captured, as_tensor) for name in names]
    try:
        with torch.inference_mode():
            scores = np.asarray(model(imgs, return_loss=False))[0]
    finally:
        for handle in handles:
            handle.remove()
    if labels is not None:
        load_label_map(labels, scores.shape[-1])
    order = np.argsort(-scores, kind='stable')[:5]
    top5 = [(int(k), float(scores[k])) for k in order]
    return (top5, captured) if names else top5


def _capture(model: nn.Module, name: str, store: dict, as_tensor: bool) -> Any:
    try:
        module = model.get_submodule(name)
    except AttributeError as err:
        top = [child for child, _ in model.named_children()]
        raise ValueError(f'the model has no sub-module {name!r}; top-level ones: {top}') from err

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            output = output.detach().clone() if as_tensor else output.detach().cpu().numpy()
        store[name] = output

    return module.register_forward_hook(hook)


def _prepare_input(cfg: Config, video: Any, use_frames: bool) -> tuple[dict, list, str | None]:
    """Return the pipeline's input dict, the pipeline to run and a temp file to delete."""
    test = cfg.data.test
    pipeline = [dict(step) for step in test.pipeline]
    if isinstance(video, Mapping):
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
        path = fetch_url(video)
        results = dict(filename=path, label=-1, start_index=0, modality='RGB')
        return results, _video_pipeline(pipeline), path
    prefix = test.get('data_prefix')
    path = os.path.join(prefix, video) if prefix is not None else video
    if os.path.isdir(path):
        return _frames_input(test, path), _with_decoder(pipeline, dict(type='RawFrameDecode')), None
    if use_frames:
        raise FileNotFoundError(f'use_frames=True but {path!r} is not a frame folder')
    if not os.path.isfile(path):
        hint = f' (data_prefix {prefix!r} joined to {video!r})' if prefix is not None else ''
        raise FileNotFoundError(f'video {path!r} does not exist{hint}')
    results = dict(filename=path, label=-1, start_index=0, modality='RGB')
    return results, _video_pipeline(pipeline), None


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


def _video_pipeline(pipeline: list[dict]) -> list[dict]:
    """Keep a video pipeline's decoder; give a rawframe pipeline PyAV's."""
    types = [step['type'] for step in pipeline if isinstance(step.get('type'), str)]
    if any(t.endswith('Init') for t in types):
        return pipeline
    steps = [dict(type='PyAVInit')] + pipeline
    return [dict(type='PyAVDecode') if str(s['type']).endswith('Decode') else s for s in steps]


def _with_decoder(pipeline: list[dict], decoder: Any) -> list[Any]:
    """Drop any ``*Init`` step and replace the ``*Decode`` step with ``decoder``."""
    out: list[Any] = []
    for step in pipeline:
        kind = str(step.get('type', ''))
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
