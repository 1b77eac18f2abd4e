"""Checkpoints that are never half-written, and the state needed to resume a run exactly.

The layout is mmcv's, so MMAction2 0.x tools read our files and we read theirs::

    {'meta': {'epoch', 'iter', 'actionkit_version', 'time', 'config', 'CLASSES', ...},
     'state_dict': {...},            # the model's, without a DDP 'module.' prefix, on CPU
     'optimizer': {...},             # optional
     'resume_state': {...}}          # ours: RNG states, AMP scaler; ignored by other tools

Every file is written to a temporary file in the same directory, flushed, fsync'ed and moved
over the target with ``os.replace``, which is atomic: a reader (or a process killed at any
moment) sees the old file or the new one, never a mix. ``latest.pth`` is updated the same way
(as a hard link to the new checkpoint, or a copy where links are not supported). Temporary
files left by a killed process are removed by :func:`remove_stale_temp_files` on the next start.
Everything stored is a tensor or a plain Python value, so the files load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import shutil
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

import actionkit

from ..models.weights import unwrap_model
from ..utils.atomic import TEMP_NAME_RE, write_atomic

__all__ = [
    'save_checkpoint', 'atomic_save', 'update_latest', 'remove_stale_temp_files',
    'find_latest_checkpoint', 'is_complete_checkpoint', 'load_resume_checkpoint',
    'prune_checkpoints', 'checkpoint_candidates', 'checkpoints_to_prune',
    'newest_best_checkpoint', 'get_rng_state',
    'set_rng_state', 'unwrap_model', 'weights_to_cpu', 'publish_checkpoint',
]

logger = logging.getLogger(__name__)


def weights_to_cpu(state_dict: Mapping[str, Any]) -> OrderedDict[str, Any]:
    """A copy of ``state_dict`` with every tensor moved to the CPU."""
    return OrderedDict((k, v.detach().cpu() if isinstance(v, torch.Tensor) else v)
                       for k, v in state_dict.items())


def _write_checkpoint(filename: str, write: Callable[[str], None]) -> None:
    """:func:`write_atomic` with fsync, a failed write turned into one line naming the file."""
    try:
        write_atomic(filename, write, sync=True)
    except (OSError, RuntimeError) as err:  # torch reports a failed write as either
        raise _write_error(filename, err) from err


def _write_error(filename: str, err: BaseException) -> OSError:
    """One line for a checkpoint that could not be written (a full disk, a size limit ...)."""
    reason = err.strerror if isinstance(err, OSError) and err.strerror else 'the write failed'
    try:
        free = f'{shutil.disk_usage(os.path.dirname(os.path.abspath(filename))).free >> 20} MiB'
    except OSError:
        free = 'unknown space'
    error = OSError(f'could not write the checkpoint {filename}: {reason} ({free} free on '
                    'its disk: is it full?); the partial file was removed and any previous '
                    f'{os.path.basename(filename)} is left as it was')
    error.errno = err.errno if isinstance(err, OSError) else None
    return error


def atomic_save(obj: Any, filename: str) -> None:
    """``torch.save(obj, filename)`` through a temporary file, fsync and ``os.replace``."""
    def write(tmp: str) -> None:
        with open(tmp, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())

    _write_checkpoint(filename, write)


def update_latest(src: str, dst: str) -> None:
    """Make ``dst`` (e.g. ``latest.pth``) hold the same bytes as ``src``, atomically.

    A hard link is used where the filesystem allows it (no extra space; removing ``src``
    later keeps ``dst`` intact), a copy otherwise.
    """
    def write(tmp: str) -> None:
        try:
            os.link(src, tmp)
        except OSError:
            with open(src, 'rb') as fin, open(tmp, 'wb') as fout:
                shutil.copyfileobj(fin, fout, length=16 << 20)
                fout.flush()
                os.fsync(fout.fileno())

    _write_checkpoint(dst, write)


def remove_stale_temp_files(folder: str) -> list[str]:
    """Delete the temporary files that a killed writer left in ``folder``.

    Files of a process that is still running are kept. Returns the removed paths.
    """
    removed: list[str] = []
    if not os.path.isdir(folder):
        return removed
    for entry in os.listdir(folder):
        match = TEMP_NAME_RE.match(entry)
        if match is None:
            continue
        pid = int(match['pid'])
        if pid != os.getpid() and _pid_alive(pid):
            continue
        path = os.path.join(folder, entry)
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    if removed:
        logger.info('removed %d unfinished checkpoint file(s) of an earlier run: %s',
                    len(removed), ', '.join(map(os.path.basename, removed)))
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def save_checkpoint(model: nn.Module, filename: str, optimizer: torch.optim.Optimizer | None = None,
                    meta: Mapping[str, Any] | None = None,
                    extra: Mapping[str, Any] | None = None) -> None:
    """Write ``model``'s weights (and ``optimizer``'s state) to ``filename`` atomically.

    Args:
        model: the model; a DDP wrapper is removed so keys carry no ``module.`` prefix.
        filename: where to write.
        optimizer: saved under ``'optimizer'`` when given.
        meta: saved under ``'meta'``, with ``actionkit_version``, ``time`` and the model's
            ``CLASSES`` (when it has them) added.
        extra: more top-level entries (e.g. ``'resume_state'``); must not clash with the above.
    """
    if meta is not None and not isinstance(meta, Mapping):
        raise TypeError(f'meta must be a dict or None, got {type(meta).__name__}')
    meta = dict(meta or {})
    meta.update(actionkit_version=actionkit.__version__, time=time.asctime())
    model = unwrap_model(model)
    classes = getattr(model, 'CLASSES', None)
    if classes is not None:
        meta['CLASSES'] = list(classes) if isinstance(classes, tuple) else classes
    checkpoint: dict[str, Any] = {'meta': meta, 'state_dict': weights_to_cpu(model.state_dict())}
    if optimizer is not None:
        checkpoint['optimizer'] = optimizer.state_dict()
    for key, value in (extra or {}).items():
        if key in checkpoint:
            raise KeyError(f'extra entry {key!r} clashes with a standard checkpoint entry')
        checkpoint[key] = value
    atomic_save(checkpoint, filename)


def load_resume_checkpoint(filename: str, map_location: str | torch.device = 'cpu') -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``)."""
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'resume_from: checkpoint {filename!r} does not exist')
    try:
        checkpoint = torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:
        raise RuntimeError(f'cannot load checkpoint {filename!r} with weights_only=True: {err}') \
            from err
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        keys = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise KeyError(f'{filename!r} is not a training checkpoint: expected the keys '
                       f"'meta' and 'state_dict', got {keys}")
    return checkpoint


def is_complete_checkpoint(filename: str) -> bool:
    """Whether ``filename`` is a whole ``torch.save`` file, judged cheaply (no unpickling).

    A zip checkpoint (what ``torch.save`` writes) must open and list its ``data.pkl``: a
    file cut short has lost the zip directory at its end. A file of the legacy (non-zip)
    format cannot be checked this way and counts as complete when it is not empty.
    """
    try:
        with open(filename, 'rb') as f:
            magic = f.read(4)
        if magic != b'PK\x03\x04':
            return len(magic) > 0
        with zipfile.ZipFile(filename) as archive:
            return any(name.endswith('data.pkl') for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def checkpoint_candidates(names: Iterable[str]) -> list[str]:
    """The names among ``names`` (a folder's or a prefix's listing) that ``resume_from='auto'``
    tries, best first: ``latest.pth``, then ``epoch_N.pth`` / ``iter_N.pth`` by decreasing N."""
    names = set(names)
    numbered = sorted(((int(m[2]), name) for name in names
                       if (m := re.fullmatch(r'(epoch|iter)_(\d+)\.pth', name))), reverse=True)
    return ['latest.pth'] * ('latest.pth' in names) + [name for _, name in numbered]


def find_latest_checkpoint(work_dir: str) -> str | None:
    """The newest complete checkpoint of ``work_dir`` (what ``resume_from='auto'`` resumes).

    ``latest.pth`` if it is complete (:func:`is_complete_checkpoint`), else the
    ``epoch_N.pth`` / ``iter_N.pth`` with the highest N that is, else ``None``
    (:func:`checkpoint_candidates` orders them). A file passed over is logged with a warning.
    """
    if not os.path.isdir(work_dir):
        return None
    files = [e for e in os.listdir(work_dir) if os.path.isfile(os.path.join(work_dir, e))]
    for entry in checkpoint_candidates(files):
        path = os.path.join(work_dir, entry)
        if is_complete_checkpoint(path):
            return path
        logger.warning('resume_from=auto: %s is not a complete checkpoint (cut short?); '
                       'trying an older one', path)
    return None


def newest_best_checkpoint(names: Iterable[str]) -> str | None:
    """The ``best_*_N.pth`` name among ``names`` (a folder's or a prefix's listing) with the
    highest N (``--test-best`` tests it; a remote resume fetches it), or None."""
    found = []
    for name in names:
        if name.startswith('best_') and name.endswith('.pth'):
            try:
                found.append((int(name.rsplit('_', 1)[-1][:-4]), name))
            except ValueError:
                continue
    return max(found)[1] if found else None


def checkpoints_to_prune(names: Iterable[str], keep: int, prefix: str = 'epoch_') -> list[str]:
    """The ``{prefix}N.pth`` names among ``names`` that ``max_keep_ckpts=keep`` removes: all
    but the ``keep`` highest N (none when ``keep <= 0``); other names are never chosen."""
    if keep <= 0:
        return []
    found = sorted((int(m[1]), name) for name in set(names)
                   if (m := re.fullmatch(re.escape(prefix) + r'(\d+)\.pth', name)))
    return [name for _, name in found[:-keep]]


def prune_checkpoints(folder: str, keep: int, prefix: str = 'epoch_') -> list[str]:
    """Keep only the ``keep`` newest ``{prefix}N.pth`` files in ``folder``; returns removed paths.

    ``keep <= 0`` keeps everything. ``latest.pth`` and ``best_*.pth`` are never touched.
    """
    if keep <= 0 or not os.path.isdir(folder):
        return []
    removed = []
    for entry in checkpoints_to_prune(os.listdir(folder), keep, prefix):
        path = os.path.join(folder, entry)
        os.unlink(path)
        removed.append(path)
    return removed


def get_rng_state() -> dict[str, Any]:
    """The Python, NumPy (global), torch and CUDA random states as tensors and plain values."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        'python': [version, list(internal), gauss],
        'numpy': [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = state['cuda']
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            logger.warning('the checkpoint has CUDA random states for %d devices but %d are '
                           'visible; CUDA random states are not restored', len(cuda_states),
                           torch.cuda.device_count())


def publish_checkpoint(in_file: str, out_file: str, allow_pickle: bool = False) -> str:
    """Prepare a training checkpoint for release (``tools/deployment/publish_model.py``).

    Keeps the weights (as CPU tensors) and ``meta``; drops the optimizer state and everything
    else kept for resuming. The file is written atomically and then renamed to
    ``{out_file without .pth}-{first 8 hex digits of its SHA-256}.pth``, as MMAction2 does.

    Args:
        in_file: the checkpoint (anything :func:`~actionkit.models.weights.load_checkpoint`
            reads).
        out_file: the path to publish to; the hash is added to its name.
        allow_pickle: allow a legacy checkpoint that needs full unpickling (trusted files only).

    Returns:
        The path of the published file.
    """
    from ..models.weights import read_checkpoint

    if os.path.isdir(out_file):
        raise IsADirectoryError(f'publish: {out_file} is a folder; give the file name to '
                                'publish to (the hash is added to it)')
    if os.path.exists(in_file) and os.path.abspath(out_file) == os.path.abspath(in_file):
        raise ValueError(f'publish: {out_file} is the input checkpoint; publishing renames the '
                         'output, so the training checkpoint would be lost: choose another name')
    checkpoint = read_checkpoint(in_file, map_location='cpu', allow_pickle=allow_pickle)
    state_dict = checkpoint.get('state_dict', checkpoint)
    dropped = sorted(k for k in checkpoint if k not in ('meta', 'state_dict')) \
        if 'state_dict' in checkpoint else []
    published: dict[str, Any] = {'state_dict': weights_to_cpu(state_dict)}
    if 'meta' in checkpoint:
        published['meta'] = checkpoint['meta']
    atomic_save(published, out_file)
    digest = hashlib.sha256()
    with open(out_file, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    final = f'{stem}-{digest.hexdigest()[:8]}.pth'
    os.replace(out_file, final)
    logger.info('published %s as %s (dropped: %s)', in_file, final, ', '.join(dropped) or 'none')
    return final

