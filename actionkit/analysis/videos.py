"""Finding the unreadable videos (or frame folders) of a dataset before training on it.

Each sample of a config's dataset split is opened through the decoder its pipeline uses (or the
one asked for) and a few frames spread over the whole clip are decoded: the first, the last and
some in between. This finds missing, empty, truncated and undecodable files, and headers that
promise more frames than the file holds. Samples are checked in parallel processes.

:func:`write_clean_list` then writes the annotation list again without the bad samples (the
other lines are copied unchanged), ready to put in the config.

Example:
    >>> report = check_dataset(cfg, split='train', num_processes=4)      # doctest: +SKIP
    >>> [(bad.path, bad.reason) for bad in report.bad]                   # doctest: +SKIP
    [('data/kinetics/videos/abc.mp4', 'DecodeError: ... moov atom not found')]
    >>> write_clean_list(report, 'train_clean.txt')                       # doctest: +SKIP
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.checks import check_positive_int
from ..config import Config
from ..datasets.errors import DataError
from .evaluate import build_split_dataset

__all__ = ['DECODERS', 'ProbeFrames', 'BadVideo', 'VideoCheck', 'probe_pipeline',
           'check_dataset', 'write_clean_list', 'write_bad_list']

logger = logging.getLogger(__name__)

#: ``--decoder`` names and the prefix of their pipeline steps (``PyAVInit``/``PyAVDecode`` …).
DECODERS = {'pyav': 'PyAV', 'decord': 'Decord', 'opencv': 'OpenCV', 'torchcodec': 'TorchCodec'}


class ProbeFrames:
    """Pipeline step choosing the frames to check: the first, the last and evenly spaced ones.

    Deterministic, unlike training samplers, so two runs check the same frames.

    Required keys: ``total_frames``. Optional keys: ``start_index``.
    Added keys: ``frame_inds``.

    Args:
        num_frames: how many frames to check (at least 2).
    """

    def __init__(self, num_frames: int = 5) -> None:
        check_positive_int(None, 'num_frames', num_frames, minimum=2)
        self.num_frames = num_frames

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total = int(results['total_frames'])
        if total < 1:
            path = results.get('filename', results.get('frame_dir'))
            raise DataError(f'{path} has no frames (total_frames={total})', path)
        inds = np.unique(np.linspace(0, total - 1, self.num_frames).round().astype(np.int64))
        results['frame_inds'] = inds + int(results.get('start_index', 0))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_frames={self.num_frames})'


@dataclass(frozen=True)
class BadVideo:
    """One sample that could not be read: its index in the dataset, its path and why."""

    index: int
    path: str
    reason: str


@dataclass
class VideoCheck:
    """The outcome of :func:`check_dataset`.

    Attributes:
        ann_file: the annotation list checked.
        total: samples checked.
        bad: the unreadable ones, by index.
        decoder: the decoding step prefix used (``'PyAV'`` …) or ``'RawFrame'``.
    """

    ann_file: str
    total: int
    decoder: str
    bad: list[BadVideo] = field(default_factory=list)


def _pipeline_decoder(pipeline: Sequence[Any]) -> str | None:
    for step in pipeline:
        kind = step.get('type') if isinstance(step, dict) else type(step).__name__
        kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
        if kind.endswith('Init'):
            return kind[:-len('Init')]
        if kind == 'RawFrameDecode':
            return 'RawFrame'
    return None


def probe_pipeline(dataset_cfg: dict, decoder: str | None = None,
                   num_frames: int = 5) -> tuple[list[Any], str]:
    """The checking pipeline for a dataset config: ``[Init, ProbeFrames, Decode]``.

    Args:
        dataset_cfg: one ``data.<split>`` section.
        decoder: a key of :data:`DECODERS`; default: the decoder of the config's pipeline
            (PyAV when it has none).
        num_frames: frames to decode per sample.

    Returns:
        tuple: ``(pipeline, decoder prefix)``.
    """
    found = _pipeline_decoder(dataset_cfg.get('pipeline') or [])
    if found == 'RawFrame' or (found is None and 'Rawframe' in str(dataset_cfg.get('type'))):
        if decoder is not None:
            raise ValueError(f'decoder={decoder!r} applies to videos, but this dataset '
                             f'({dataset_cfg.get("type")}) holds rawframe folders')
        return [ProbeFrames(num_frames), dict(type='RawFrameDecode')], 'RawFrame'
    if decoder is None:
        prefix = found or 'PyAV'
    elif decoder in DECODERS:
        prefix = DECODERS[decoder]
    else:
        raise ValueError(f'decoder must be one of {sorted(DECODERS)}, got {decoder!r}')
    return [dict(type=f'{prefix}Init'), ProbeFrames(num_frames),
            dict(type=f'{prefix}Decode')], prefix


_WORKER_DATASET: Any = None


def _init_worker(cfg: Config, split: str, pipeline: list[Any]) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = build_split_dataset(cfg, split, test_mode=True, pipeline=pipeline)


def _release_worker() -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = None


def _path_of(dataset: Any, index: int) -> str:
    info = dataset.get_info(index)
    return str(info.get('filename', info.get('frame_dir', f'sample {index}')))


def _check_one(index: int) -> tuple[int, str | None, str]:
    """``(index, reason or None, path)`` for one sample of the worker's dataset."""
    dataset = _WORKER_DATASET
    try:
        dataset[index]
    except Exception as err:  # noqa: BLE001 - any failure makes the sample unusable
        reason = ' '.join(f'{type(err).__name__}: {err}'.split())
        return index, reason, _path_of(dataset, index)
    return index, None, ''


def check_dataset(cfg: Config, split: str = 'train', decoder: str | None = None,
                  num_processes: int = 1, num_frames: int = 5,
                  progress: Callable[[int, int], None] | None = None) -> VideoCheck:
    """Try to decode a few frames of every sample of ``cfg.data[split]``.

    Args:
        cfg: the config.
        split: ``'train'``, ``'val'`` or ``'test'``.
        decoder: a key of :data:`DECODERS` (default: the config pipeline's decoder).
        num_processes: worker processes (1 checks in this process).
        num_frames: frames decoded per sample.
        progress: called as ``progress(done, total)`` after each sample.

    Returns:
        VideoCheck: the bad samples with their reasons, in index order.
    """
    if isinstance(num_processes, bool) or not isinstance(num_processes, int) or \
            num_processes < 1:
        raise ValueError(f'num_processes must be an int >= 1, got {num_processes!r}')
    data = cfg.get('data') or {}
    if split not in data:
        raise KeyError(f'{cfg.filename or "the config"} has no data.{split} section')
    pipeline, prefix = probe_pipeline(data[split], decoder, num_frames)
    _init_worker(cfg, split, pipeline)  # also validates the config here, before forking
    total = len(_WORKER_DATASET)
    report = VideoCheck(str(getattr(_WORKER_DATASET, 'ann_file', '')), total, prefix)
    outcomes = []
    pool = None
    try:
        if num_processes == 1 or total <= 1:
            iterator: Any = map(_check_one, range(total))
        else:
            pool = multiprocessing.get_context().Pool(
                min(num_processes, total), initializer=_init_worker,
                initargs=(cfg, split, pipeline))
            chunk = max(1, min(16, total // (num_processes * 4)))
            iterator = pool.imap_unordered(_check_one, range(total), chunksize=chunk)
        for done, outcome in enumerate(iterator, start=1):
            outcomes.append(outcome)
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _release_worker()
    report.bad = [BadVideo(index, path, reason) for index, reason, path in sorted(outcomes)
                  if reason is not None]
    logger.info('checked %d samples of %s with %s: %d unreadable', total, report.ann_file,
                prefix, len(report.bad))
    return report


def write_clean_list(report: VideoCheck, out_file: str | os.PathLike,
                     ann_file: str | os.PathLike | None = None) -> int:
    """Copy the annotation list to ``out_file`` without the bad samples.

    Text lists: sample ``i`` is the ``i``-th non-blank line, copied as it is. JSON lists:
    the list without the bad entries.

    Returns:
        int: the number of samples written.
    """
    source = os.fspath(ann_file or report.ann_file)
    if not os.path.isfile(source):
        raise FileNotFoundError(f'annotation list {source!r} does not exist')
    bad = {item.index for item in report.bad}
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    if source.lower().endswith('.json'):
        with open(source, encoding='utf-8') as f:
            records = json.load(f)
        _check_count(len(records), report.total, source)
        kept = [record for i, record in enumerate(records) if i not in bad]
        with open(out_file, 'w', encoding='utf-8') as f:
            json.dump(kept, f, indent=1)
        return len(kept)
    with open(source, encoding='utf-8', newline='') as f:
        lines = [line for line in f if line.strip()]
    _check_count(len(lines), report.total, source)
    kept = [line if line.endswith('\n') else line + '\n'
            for i, line in enumerate(lines) if i not in bad]
    with open(out_file, 'w', encoding='utf-8', newline='') as f:
        f.writelines(kept)
    return len(kept)


def _check_count(found: int, expected: int, source: str) -> None:
    if found != expected:
        raise ValueError(f'{source} has {found} entries but the dataset checked had {expected} '
                         'samples; cannot tell which entry is which sample')


def write_bad_list(report: VideoCheck, out_file: str | os.PathLike) -> None:
    """Write ``path<TAB>reason`` for each bad sample, one a line."""
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    with open(out_file, 'w', encoding='utf-8') as f:
        f.writelines(f'{item.path}\t{item.reason}\n' for item in report.bad)
