"""Finding and loading pretrained weights and checkpoints.

* :func:`resolve_pretrained` turns ``torchvision://resnet50``, ``open-mmlab://``,
  ``mmcls://`` names, a URL or a local path into a local file. Named and URL checkpoints are
  looked up in the torch hub cache (``$TORCH_HOME/hub/checkpoints/``, see
  ``torch.hub.get_dir()``) and downloaded there when missing (atomically, SHA-256 prefix in the
  file name checked); a failed download says which file to put where.
* ``s3://`` and ``gs://`` checkpoints (``load_from``, ``resume_from``, ``--checkpoint``) are
  copied to a temporary file (:func:`actionkit.utils.fileio.local_copy`), read, and deleted.
* :func:`load_checkpoint` loads MMAction2 / mmcv checkpoints (``{'meta', 'state_dict',
  'optimizer'}``), plain state dicts and ``.safetensors`` files into a model, reporting missing
  and unexpected keys and shape mismatches (each skipped key with both shapes).
* Files are read with ``torch.load(weights_only=True)``: tensors, containers, numbers, strings
  and numpy scalars / arrays only. A checkpoint whose pickle needs anything else (which could
  run code) is refused unless the caller passes ``allow_pickle=True`` (``--allow-pickle`` on
  the command line).
"""
from __future__ import annotations

import logging
import os
import pickle
import re
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import torch
from torch import nn
from torch.torch_version import TorchVersion

from ..utils.download import download_file, redact_url
from ..utils.fileio import local_copy
from .checkpoint_urls import (MMCLS_CHECKPOINTS, MMCLS_FOLDER, OPEN_MMLAB_CHECKPOINTS,
                              OPENMMLAB_BASE_URL, TORCHVISION_BASE_URL, TORCHVISION_CHECKPOINTS)

__all__ = [
    'CheckpointError', 'UnsafeCheckpointError', 'LoadReport', 'TORCHVISION_CHECKPOINTS',
    'MMCLS_CHECKPOINTS', 'OPEN_MMLAB_CHECKPOINTS', 'hub_checkpoint_dir', 'resolve_pretrained',
    'read_checkpoint', 'load_checkpoint', 'load_backbone_checkpoint', 'load_state_dict',
    'get_state_dict', 'unwrap_model', 'checkpoint_version', 'version_mismatch_hint',
    'MMEngineHistoryBuffer',
]

_LOG = logging.getLogger(__name__)

_HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,})\.')  # torch hub's "name-<sha256 prefix>.ext"
_OBJECT_STORES = ('s3://', 'gs://', 'gcs://')  # read from a temporary local copy
_ALLOW_PICKLE_HINT = ('pass allow_pickle=True to load_checkpoint (on the command line: '
                      '--allow-pickle), but only for a file from a source you trust')


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read (truncated, corrupt, or not a checkpoint)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint needs full unpickling, which can execute code, and it was not allowed."""


@dataclass
class LoadReport:
    """What :func:`load_state_dict` did not load.

    Attributes:
        missing_keys: model keys absent from the state dict.
        unexpected_keys: state-dict keys the model does not have.
        shape_mismatches: ``(key, checkpoint shape, model shape)`` of the skipped tensors.
    """

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    shape_mismatches: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=list)

    def describe(self, limit: int = 10) -> str:
        """A readable summary, listing at most ``limit`` keys of each kind."""

        def _few(items: Sequence[str]) -> str:
            more = f' ... and {len(items) - limit} more' if len(items) > limit else ''
            return ', '.join(items[:limit]) + more

        lines = []
        if self.shape_mismatches:
            shapes = [f'{key} (checkpoint {list(src)}, model {list(dst)})'
                      for key, src, dst in self.shape_mismatches]
            lines.append(f'size mismatch for {len(shapes)} keys: {_few(shapes)}')
        if self.missing_keys:
            lines.append(f'missing keys in the checkpoint ({len(self.missing_keys)}): '
                         f'{_few(self.missing_keys)}')
        if self.unexpected_keys:
            lines.append(f'unexpected keys in the checkpoint ({len(self.unexpected_keys)}): '
                         f'{_few(self.unexpected_keys)}')
        return '\n'.join(lines)

    def __bool__(self) -> bool:
        return bool(self.missing_keys or self.unexpected_keys or self.shape_mismatches)


# ---------------------------------------------------------------------------- finding files
def hub_checkpoint_dir() -> Path:
    """The torch hub checkpoint cache: ``torch.hub.get_dir()/checkpoints``."""
    return Path(torch.hub.get_dir()) / 'checkpoints'


def _named_url(name: str) -> str:
    """The URL behind a ``torchvision://``, ``open-mmlab://`` or ``mmcls://`` name."""
    scheme, _, model = name.partition('://')
    env = os.environ.get
    if scheme == 'torchvision':
        known = TORCHVISION_CHECKPOINTS.get(model)
        if not known:
            raise ValueError(f'{name}: unknown torchvision model {model!r}; known: '
                             f'{sorted(TORCHVISION_CHECKPOINTS)} (or pass a URL or a local path)')
        return env('ACTIONKIT_TORCHVISION_BASE_URL', TORCHVISION_BASE_URL) + known[0]
    table = OPEN_MMLAB_CHECKPOINTS if scheme == 'open-mmlab' else MMCLS_CHECKPOINTS
    if model not in table:
        raise ValueError(f'{name}: unknown {scheme} checkpoint {model!r}; known: '
                         f'{sorted(table)} (or pass a URL or a local path)')
    folder = MMCLS_FOLDER if scheme == 'mmcls' else ''
    return env('ACTIONKIT_OPENMMLAB_BASE_URL', OPENMMLAB_BASE_URL) + folder + table[model]


def _cached_or_downloaded(name: str, url: str) -> Path:
    """The hub-cache file of ``url``, downloaded there first when missing."""
    safe = redact_url(url)
    file_name = os.path.basename(urlsplit(url).path)
    if not file_name:
        raise ValueError(f'{safe}: the URL does not end in a file name')
    path = hub_checkpoint_dir() / file_name
    if path.is_file():
        return path
    where = (f'download {safe} yourself and put it at {path} (or set TORCH_HOME to the folder '
             'above hub/ that holds it, or pass a local path)')
    if os.environ.get('ACTIONKIT_OFFLINE', '') not in ('', '0'):
        raise FileNotFoundError(f'{name}: {path} is not there and ACTIONKIT_OFFLINE is set; '
                                f'{where}')
    digest = _HASH_IN_NAME.search(file_name)
    _LOG.info('downloading %s to %s', safe, path)
    try:
        download_file(url, path, progress=True, sha256_prefix=digest and digest.group(1))
    except OSError as err:
        raise OSError(f'{name}: {err}. Offline? {where}') from None
    return path


def resolve_pretrained(name: str) -> str:
    """Turn a ``pretrained`` / checkpoint name into a local file path, downloading if needed.

    Named and URL checkpoints are looked up in the torch hub cache
    (``$TORCH_HOME/hub/checkpoints/``, ``torch.hub.get_dir()``) and downloaded there when
    missing, as MMAction2 (mmcv) does: atomically, with a progress bar, and checked against the
    SHA-256 prefix in the file name (``name-<hex>.pth``) when there is one. With the
    environment variable ``ACTIONKIT_OFFLINE=1`` nothing is downloaded.

    Args:
        name: ``'torchvision://resnet50'``, ``'open-mmlab://<name>'``,
            ``'mmcls://mobilenet_v2'`` (the URLs torchvision and mmcv map them to, see
            :mod:`actionkit.models.checkpoint_urls`), an ``http(s)://`` URL, or a local path.

    Returns:
        The path of an existing file.

    Raises:
        FileNotFoundError: a local file is missing, or a cached one with ``ACTIONKIT_OFFLINE``.
        OSError: the download failed; the message names the URL and where to put the file.
        ValueError: an unsupported scheme or an unknown model name (``s3://`` and ``gs://``
            are read by :func:`read_checkpoint`, through a temporary copy).
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f'a checkpoint name must be a str or a path, got {name!r}')
    name = os.fspath(name)
    if name.startswith('torchvision://'):
        model = name[len('torchvision://'):]
        folder = hub_checkpoint_dir()
        cached = [folder / f for f in TORCHVISION_CHECKPOINTS.get(model, ())]
        if folder.is_dir() and model not in TORCHVISION_CHECKPOINTS:
            cached = sorted(folder.glob(f'{model}-*.pth'))
        for path in cached:
            if path.is_file():
                return str(path)
    if name.startswith(('torchvision://', 'open-mmlab://', 'mmcls://')):
        return str(_cached_or_downloaded(name, _named_url(name)))
    if name.startswith(('http://', 'https://')):
        return str(_cached_or_downloaded(name, name))
    if re.match(r'^[a-zA-Z][\w+.-]+://', name):
        raise ValueError(f'unsupported checkpoint location {name!r}: use a local path, '
                         "'torchvision://<model>', 'open-mmlab://<name>', 'mmcls://<model>' or "
                         'an http(s) URL')
    path = Path(name).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint file not found: {name}')
    return str(path)


# ---------------------------------------------------------------------------- reading files
def _numpy_safe_globals() -> list[Any]:
    """numpy scalars and plain arrays, as found in mmcv checkpoints' ``meta`` (``best_score``)."""
    core = getattr(np, '_core', None) or np.core
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes)
              if n.endswith('DType') and n != 'ObjectDType'] if hasattr(np, 'dtypes') else []
    scalar, reconstruct = core.multiarray.scalar, core.multiarray._reconstruct
    allowed: list[Any] = [scalar, reconstruct, np.ndarray, np.dtype, *dtypes]
    # numpy 1 pickles name these numpy.core.*; torch >= 2.6 accepts (object, name) pairs
    if TorchVersion(torch.__version__) >= '2.6':
        allowed += [(scalar, 'numpy.core.multiarray.scalar'),
                    (reconstruct, 'numpy.core.multiarray._reconstruct')]
    return allowed


class MMEngineHistoryBuffer:
    """An inert stand-in for mmengine's ``HistoryBuffer`` (the logged scalars a MMAction2 1.x
    checkpoint keeps in ``message_hub``): unpickling fills its ``__dict__`` and runs nothing."""


def _history_buffer_method(owner: Any, name: str) -> str:
    """Stands in for ``getattr`` in mmengine pickles, which store a ``HistoryBuffer``'s
    statistics methods as ``getattr(HistoryBuffer, 'mean')``: gives the method's name, and
    refuses any other object."""
    if owner is not MMEngineHistoryBuffer or not isinstance(name, str):
        raise pickle.UnpicklingError(f'the checkpoint asks for getattr({owner!r}, {name!r}); '
                                     'only mmengine HistoryBuffer methods are read')
    return name


def _mmengine_safe_globals() -> list[Any]:
    """What mmengine (MMAction2 1.x) checkpoints hold besides tensors and numpy values: the
    message hub's history buffers (read as :class:`MMEngineHistoryBuffer`) and
    ``collections.Counter`` (``MultiStepLR``'s milestones in ``param_schedulers``)."""
    if TorchVersion(torch.__version__) < '2.6':
        return [Counter]
    return [Counter, (MMEngineHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
            (_history_buffer_method, '__builtin__.getattr'),
            (_history_buffer_method, 'builtins.getattr')]


def _torch_load(path: str, map_location: Any, allow_pickle: bool) -> Any:
    if allow_pickle:
        _LOG.warning('loading %s with full unpickling (allow_pickle=True): this can run code '
                       'stored in the file', path)
        return torch.load(path, map_location=map_location, weights_only=False)
    safe_globals = getattr(torch.serialization, 'safe_globals', None)
    if safe_globals is None:  # torch < 2.5
        return torch.load(path, map_location=map_location, weights_only=True)
    with safe_globals(_numpy_safe_globals() + _mmengine_safe_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


def _load_safetensors(path: str, map_location: Any) -> dict[str, Any]:
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError as err:
        raise ImportError(f'{path} is a .safetensors file; reading it needs the safetensors '
                          'package: pip install safetensors') from err
    device = map_location if isinstance(map_location, (str, torch.device)) else 'cpu'
    try:
        state_dict = load_file(path, device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f'cannot read {path}: the .safetensors file is truncated or '
                              f'corrupt ({err})') from err
    return {'state_dict': state_dict}


def _check_checkpoint_format(path: str) -> None:
    """Refuse a file that is neither a PyTorch zip checkpoint nor a pickle (the legacy
    ``torch.save`` format), before any unpickling is tried or talked about."""
    try:
        with open(path, 'rb') as fin:
            head = fin.read(4)
    except OSError as err:
        raise CheckpointError(f'cannot read {path}: {err.strerror or err}') from err
    is_zip = head == b'PK\x03\x04'
    is_pickle = len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5
    if not (is_zip or is_pickle):
        shown = head.hex(' ') if head else 'nothing (an empty file)'
        raise CheckpointError(f'{path} is not a checkpoint: it starts with {shown}, not with '
                              'the bytes of a PyTorch checkpoint (a zip archive, or a pickle '
                              'for the legacy format), nor is it a .safetensors file')


def read_checkpoint(filename: str, map_location: Any = 'cpu',
                     allow_pickle: bool = False) -> dict[str, Any]:
    """Read a checkpoint file into a dict, without touching any model.

    Args:
        filename: anything :func:`resolve_pretrained` accepts, or an ``s3://`` / ``gs://``
            URL (read from a temporary copy).
        map_location: as for ``torch.load``.
        allow_pickle: allow full unpickling (can execute code stored in the file).

    Returns:
        The checkpoint dict: mmcv's ``{'meta', 'state_dict', 'optimizer'}`` or a plain state
        dict; ``.safetensors`` files give ``{'state_dict': ...}``.

    Raises:
        FileNotFoundError: see :func:`resolve_pretrained`.
        UnsafeCheckpointError: the file needs full unpickling and ``allow_pickle`` is False.
        CheckpointError: the file is truncated, corrupt or not a checkpoint.
    """
    if isinstance(filename, str) and filename.startswith(_OBJECT_STORES):
        with local_copy(filename) as path:
            return _read_checkpoint_file(path, map_location, allow_pickle)
    return _read_checkpoint_file(resolve_pretrained(filename), map_location, allow_pickle)


def _read_checkpoint_file(path: str, map_location: Any, allow_pickle: bool) -> dict[str, Any]:
    if path.endswith('.safetensors'):
        return _load_safetensors(path, map_location)
    _check_checkpoint_format(path)
    try:
        checkpoint = _torch_load(path, map_location, allow_pickle)
    except pickle.UnpicklingError as err:
        if 'weights only load failed' in str(err).lower():
            raise UnsafeCheckpointError(
                f'{path} needs full unpickling to load: its pickle refers to objects other than '
                f'tensors, containers and numbers, and unpickling those can execute arbitrary '
                f'code. It was not loaded. If you trust the file, {_ALLOW_PICKLE_HINT}. '
                f'(torch said: {str(err).splitlines()[-1].strip()})') from err
        raise CheckpointError(f'cannot read {path}: not a valid checkpoint ({err})') from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointError(f'cannot read {path}: the file is truncated or corrupt, or is not '
                              f'a PyTorch checkpoint ({type(err).__name__}: {err})') from err
    if isinstance(checkpoint, nn.Module):
        checkpoint = {'state_dict': checkpoint.state_dict()}
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{path} holds a {type(checkpoint).__name__}, expected a dict '
                              '(a state dict or {"state_dict": ..., "meta": ...})')
    return dict(checkpoint)


# ---------------------------------------------------------------------------- loading models
def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` / ``DataParallel`` wrappers."""
    while isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


def get_state_dict(model: nn.Module, keep_vars: bool = False) -> OrderedDict[str, Any]:
    """The state dict of ``model`` without DDP's ``module.`` prefixes."""
    return unwrap_model(model).state_dict(keep_vars=keep_vars)


def _check_values(loadable: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor],
                  source: str, allow_nonfinite: bool) -> None:
    """Refuse integer tensors where the model has floats (and back), and non-finite weights."""
    wrong = [key for key, value in loadable.items()
             if value.is_floating_point() != own[key].is_floating_point()
             or value.is_complex() != own[key].is_complex()]
    if wrong:
        key = wrong[0]
        more = f' ({len(wrong) - 1} more keys like it)' if len(wrong) > 1 else ''
        raise TypeError(f'{source}: {key!r} holds {loadable[key].dtype} values where the model '
                        f'has {own[key].dtype}{more}: refusing to cast them (float <-> float '
                        'casts are allowed, integer <-> float ones are not: such a file is not '
                        'a checkpoint of this model\'s trained weights)')
    if allow_nonfinite:
        return
    bad = [key for key, value in loadable.items()
           if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        key = bad[0]
        count = int((~torch.isfinite(loadable[key])).sum())
        raise ValueError(f'{source}: {len(bad)} of {len(loadable)} tensors hold NaN or inf '
                         f'values, the first {key!r} ({count} of {loadable[key].numel()}): a '
                         'diverged training run? Refusing to load it; pass '
                         'allow_nonfinite=True (--allow-nonfinite-weights) to load it anyway')


def load_state_dict(module: nn.Module, state_dict: Mapping[str, Any], strict: bool = False,
                    logger: logging.Logger | None = None, *, source: str = 'the state dict',
                    allow_nonfinite: bool = False) -> LoadReport:
    """Copy ``state_dict`` into ``module``, reporting what does not fit.

    Tensors whose shape differs from the model's are skipped (e.g. ``cls_head.fc_cls.*`` when
    fine-tuning with another ``num_classes``), each reported with both shapes. BatchNorm's
    ``num_batches_tracked`` is never reported missing.

    Args:
        module: the model (DDP wrappers are unwrapped).
        state_dict: key -> tensor.
        strict: raise when anything is missing, unexpected or mismatched; nothing is loaded.
        logger: where to warn (default: this module's logger).
        source: names the state dict in errors (load_checkpoint passes the file name).
        allow_nonfinite: load NaN / inf weights instead of refusing them.

    Returns:
        A :class:`LoadReport` of what was not loaded.

    Raises:
        RuntimeError: ``strict`` and the state dict does not match, listing the first
            mismatching keys with their shapes.
        TypeError: an integer tensor where the model has a float one (or back).
        ValueError: a tensor holds NaN or inf and ``allow_nonfinite`` is False.
    """
    log = logger or _LOG
    module = unwrap_model(module)
    own = module.state_dict()
    report = LoadReport()
    loadable = OrderedDict()
    # entries that MMAction2 wrote but that hold nothing this model needs (e.g. TPNHead's
    # lazily added copy of fc_cls, new_cls), declared by the submodules themselves
    ignored = {f'{name}.{key}' if name else key for name, sub in module.named_modules()
               for key in getattr(sub, 'ignored_checkpoint_keys', ())}
    for key, value in state_dict.items():
        if key in ignored:
            continue
        if key not in own:
            report.unexpected_keys.append(key)
        elif not isinstance(value, torch.Tensor):
            report.unexpected_keys.append(key)
        elif value.shape != own[key].shape:
            report.shape_mismatches.append((key, tuple(value.shape), tuple(own[key].shape)))
        else:
            loadable[key] = value
    report.missing_keys = [key for key in own if key not in state_dict
                           and not key.endswith('num_batches_tracked')]
    if strict and report:
        raise RuntimeError(f'the state dict does not match {type(module).__name__} '
                           f'(strict=True, nothing loaded):\n{report.describe()}')
    _check_values(loadable, own, source, allow_nonfinite)
    module.load_state_dict(loadable, strict=False)
    if report:
        log.warning('loaded %d of %d tensors into %s; not loaded:\n%s', len(loadable),
                    len(own), type(module).__name__, report.describe())
    return report


def load_checkpoint(model: nn.Module, filename: str, map_location: Any = 'cpu',
                    strict: bool = False, logger: logging.Logger | None = None,
                    revise_keys: Sequence[tuple[str, str]] = ((r'^module\.', ''),),
                    allow_pickle: bool = False, allow_nonfinite: bool = False) -> dict[str, Any]:
    """Load a checkpoint file into ``model``.

    Args:
        model: the model (a DDP wrapper is unwrapped).
        filename: a local path, ``torchvision://<model>``, ``mmcls://<model>`` (its
            ``backbone.`` entries, as mmcv reads them, when ``model`` has no ``backbone``), or
            an http(s) URL (downloaded into the torch hub cache); ``.pth`` (mmcv layout or a
            plain state dict) or ``.safetensors``.
        map_location: as for ``torch.load``. Default: 'cpu'.
        strict: raise on any missing / unexpected / mis-shaped key. Default: False.
        logger: where to report. Default: this module's logger.
        revise_keys: ``(pattern, replacement)`` regex substitutions applied to every key;
            the default strips DDP's ``module.`` prefix.
        allow_pickle: allow full unpickling; this can execute code stored in the file.
        allow_nonfinite: load NaN / inf weights (refused by default: they score everything
            NaN).

    Returns:
        The checkpoint dict (``meta``, ``state_dict`` ... as stored).

    Example:
        >>> checkpoint = load_checkpoint(model, 'tsn_r50_1x1x3_100e_kinetics400_rgb.pth')
        >>> checkpoint.get('meta', {}).get('epoch')
    """
    checkpoint = read_checkpoint(filename, map_location, allow_pickle)
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(f'{filename}: "state_dict" is a {type(state_dict).__name__}, '
                              'expected a dict of tensors')
    if str(filename).startswith('mmcls://') and \
            not any(k.startswith('backbone.') for k in unwrap_model(model).state_dict()):
        state_dict = OrderedDict((k[len('backbone.'):], v) for k, v in state_dict.items()
                                 if k.startswith('backbone.'))
    revised = OrderedDict()
    for key, value in state_dict.items():
        if key == '_metadata':
            continue
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    (logger or _LOG).info('loading checkpoint %s', filename)
    try:
        load_state_dict(model, revised, strict=strict, logger=logger,
                        source=f'checkpoint {filename}', allow_nonfinite=allow_nonfinite)
    except RuntimeError as err:
        hint = version_mismatch_hint(checkpoint, model)
        if not hint:
            raise
        raise RuntimeError(f'{filename}: {err}\n{hint}') from err
    return checkpoint


_BACKBONE_TYPE = re.compile(r"backbone\W+(?:dict\(\s*)?'?type'?\s*[=:]\s*'(\w+)'")


def checkpoint_version(checkpoint: Mapping[str, Any]) -> str | None:
    """``'1.x'`` for an mmengine (MMAction2 1.x) checkpoint (``message_hub``,
    ``param_schedulers`` or ``meta.mmengine_version``), ``'0.x'`` for an mmcv one
    (``meta.mmcv_version``), None when the file does not say (a plain state dict)."""
    meta = checkpoint.get('meta')
    meta = meta if isinstance(meta, Mapping) else {}
    if 'message_hub' in checkpoint or 'param_schedulers' in checkpoint \
            or 'mmengine_version' in meta:
        return '1.x'
    if 'mmcv_version' in meta:
        return '0.x'
    return None


def version_mismatch_hint(checkpoint: Mapping[str, Any], model: nn.Module) -> str:
    """What to change when a checkpoint of one MMAction2 version does not fit a model built
    from the other version's config ('' when the versions agree or are unknown)."""
    saved = checkpoint_version(checkpoint)
    built = '1.x' if getattr(unwrap_model(model), 'preprocess_in_forward', False) else '0.x'
    if saved is None or saved == built:
        return ''
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), Mapping) else {}
    found = _BACKBONE_TYPE.search(str(meta.get('cfg', '')))
    trained = f" (its backbone: {found.group(1)!r})" if found else ''
    layout = ('mmengine layout: message_hub / param_schedulers' if saved == '1.x'
              else 'mmcv layout, meta.mmcv_version')
    return (f'The checkpoint is an MMAction2 {saved} checkpoint ({layout}) and the model was '
            f'built from an MMAction2 {built} config. For the architectures both versions have '
            '(TSN, TSM, I3D, SlowFast, SlowOnly, X3D, R(2+1)D, CSN, C3D, TimeSformer, Swin, '
            'TANet, TIN, TPN, TRN, audio ResNet, PoseC3D) the keys are the same, so the '
            'mismatch above is in the architecture: build the model from the config the '
            f"checkpoint was trained with{trained} -- actionkit reads {saved} config files "
            "as they are (a 1.x checkpoint's meta['cfg'] holds its config).")


def load_backbone_checkpoint(backbone: nn.Module, filename: str,
                             canonical: Callable[[str], str] = lambda key: key) -> LoadReport:
    """Load a checkpoint into a backbone: a backbone's own state dict, or the ``backbone.``
    entries of a whole recognizer's (or classifier's), DDP's ``module.`` stripped.

    Args:
        backbone: the backbone.
        filename: anything :func:`read_checkpoint` reads.
        canonical: maps a key to its form without wrapper modules (e.g. TSM's ``.net``), so a
            checkpoint of the plain model loads into the wrapped one and the reverse.

    Returns:
        The :class:`LoadReport` (non-strict: what does not fit is logged, the rest loaded).
    """
    checkpoint = read_checkpoint(filename, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    if any(key.startswith('backbone.') for key in state_dict):
        state_dict = {key[len('backbone.'):]: value for key, value in state_dict.items()
                      if key.startswith('backbone.')}
    by_canonical = {canonical(key): key for key in backbone.state_dict()}
    own = set(by_canonical.values())
    renamed = {}
    for key, value in state_dict.items():
        if key not in own and canonical(key) in by_canonical:
            key = by_canonical[canonical(key)]
        renamed[key] = value
    _LOG.info('%s: loading %s', type(backbone).__name__, filename)
    return load_state_dict(backbone, renamed, strict=False)

