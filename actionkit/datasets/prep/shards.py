"""Convert an annotation list (videos or rawframe folders) to tar shards: ``actionkit data
shard``. The format is described in :mod:`actionkit.datasets.shard_format`.

Everything is checked before the first shard is written (the list parses, every video file or
frame folder exists), so bad input is refused naming ``ANN_FILE:LINE`` and leaves nothing
behind. Each shard is written to a temporary name and renamed; the index is written last, so a
folder with an ``index.json`` always holds complete shards. The output folder must not hold
shards or an index already: nothing that this command did not create is ever replaced or
removed (after a failure it removes only the shards it wrote itself).

Example:
    >>> write_shards('data/kinetics400/kinetics400_train_list_videos.txt',
    ...              'data/kinetics400/videos_train', 'data/kinetics400/shards_train',
    ...              max_bytes=256 << 20)  # doctest: +SKIP
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import AnnotationError
from ...utils.atomic import write_atomic, write_text_atomic
from ..annotations import load_rawframe_list, load_video_list
from ..shard_format import FORMAT, INDEX_NAME, VERSION, sample_key

__all__ = ['write_shards', 'parse_size']

logger = logging.getLogger(__name__)

_SHARD_NAME = 'shard-{:06d}.tar'
_SHARD_RE = re.compile(r'^shard-\d{6}\.tar$')
_UNITS = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}


def parse_size(text: str) -> int:
    """``'256M'`` -> 268435456: a byte count with an optional K/M/G (binary) suffix."""
    match = re.fullmatch(r'\s*(\d+)\s*([KMG]?)i?B?\s*', str(text), flags=re.IGNORECASE)
    if match is None or int(match[1]) < 1:
        raise ValueError(f'expected a positive size such as 268435456 or 256M, got {text!r}')
    return int(match[1]) * _UNITS[match[2].upper()]


def _record_lines(ann_file: str) -> list[int]:
    """The 1-based line number of each record (non-blank line) of a text list."""
    with open(ann_file, 'rb') as fin:
        lines = fin.read().split(b'\n')
    return [number for number, line in enumerate(lines, 1) if line.strip()]


def _sample_files(record: dict[str, Any], rawframes: bool, where: str) -> list[tuple[str, str]]:
    """``(member suffix, file path)`` of one record's files, or AnnotationError."""
    if not rawframes:
        path = record['filename']
        if not os.path.isfile(path):
            raise AnnotationError(f'{where}: video file not found: {path}')
        ext = os.path.splitext(path)[1].lstrip('.').lower() or 'video'
        return [(ext, path)]
    folder = record['frame_dir']
    if not os.path.isdir(folder):
        raise AnnotationError(f'{where}: frame folder not found: {folder}')
    names = sorted(entry.name for entry in os.scandir(folder)
                   if entry.is_file() and not entry.name.startswith('.'))
    if not names:
        raise AnnotationError(f'{where}: frame folder {folder} holds no files')
    return [(name, os.path.join(folder, name)) for name in names]


def _plan(ann_file: str, data_prefix: str | None, rawframes: bool, with_offset: bool,
          multi_class: bool) -> list[tuple[dict[str, Any], list[tuple[str, str]]]]:
    """Every record with its files, checked; errors name ``ann_file:line``."""
    if ann_file.endswith('.json'):
        raise ValueError(f'{ann_file}: shard a text list (a JSON list is not supported yet)')
    if rawframes:
        records = load_rawframe_list(ann_file, with_offset=with_offset, multi_class=multi_class,
                                     data_prefix=data_prefix)
    else:
        records = load_video_list(ann_file, multi_class=multi_class, data_prefix=data_prefix)
    if not len(records):
        raise ValueError(f'{ann_file}: the list holds no records')
    lines = _record_lines(ann_file)
    plan = []
    for index in range(len(records)):
        record = records.record(index)
        record['line'] = lines[index]
        plan.append((record, _sample_files(record, rawframes, f'{ann_file}:{lines[index]}')))
    return plan


def _meta(record: dict[str, Any], rawframes: bool, data_prefix: str | None) -> dict[str, Any]:
    key = 'frame_dir' if rawframes else 'filename'
    path = record[key]
    if data_prefix:
        path = os.path.relpath(path, data_prefix)
    meta = {key: path, 'label': record['label'], 'line': record['line']}
    for name in ('total_frames', 'offset'):
        if name in record:
            meta[name] = int(record[name])
    return meta


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)  # fixed owner, mode and time: the same input gives same bytes
    info.size, info.mode, info.mtime = len(data), 0o444, 0
    tar.addfile(info, io.BytesIO(data))


def _write_shard(path: Path, samples: list[tuple[int, dict, list[tuple[str, str]]]]) -> None:
    def write(temp: str) -> None:
        with tarfile.open(temp, 'w', format=tarfile.PAX_FORMAT) as tar:
            for index, meta, files in samples:
                key = sample_key(index)
                _add_member(tar, f'{key}.json', json.dumps(meta, sort_keys=True).encode())
                if isinstance(meta['label'], int):
                    _add_member(tar, f'{key}.cls', str(meta['label']).encode())
                for suffix, file_path in files:
                    with open(file_path, 'rb') as fin:
                        _add_member(tar, f'{key}.{suffix}', fin.read())
    write_atomic(path, write)


def _groups(plan: list, shard_size: int | None, max_bytes: int | None
            ) -> Iterator[list[tuple[int, dict, list[tuple[str, str]]]]]:
    """The samples of each shard: ``shard_size`` samples, or as many as fit ``max_bytes``
    (a sample larger than that alone)."""
    group: list = []
    size = 0
    for index, (record, files) in enumerate(plan):
        sample_bytes = sum(os.path.getsize(path) + 1536 for _, path in files) + 2048
        full = (shard_size is not None and len(group) == shard_size) or \
            (max_bytes is not None and group and size + sample_bytes > max_bytes)
        if full:
            yield group
            group, size = [], 0
        group.append((index, record, files))
        size += sample_bytes
    if group:
        yield group


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f'OUT_DIR {out_dir} exists and is not a folder')
    if out_dir.is_dir():
        found = [p.name for p in out_dir.iterdir() if p.name == INDEX_NAME or
                 _SHARD_RE.match(p.name)]
        if found:
            names = ', '.join(sorted(found)[:3]) + (' ...' if len(found) > 3 else '')
            raise ValueError(f'OUT_DIR {out_dir} already holds shards ({names}); shard into an '
                             'empty folder '
                             '(this command never replaces or removes files it did not write)')


def write_shards(ann_file: str | os.PathLike, data_prefix: str | os.PathLike | None,
                 out_dir: str | os.PathLike, rawframes: bool = False,
                 shard_size: int | None = None, max_bytes: int | None = None,
                 with_offset: bool = False, multi_class: bool = False) -> dict[str, Any]:
    """Write the samples of ``ann_file`` as tar shards and ``OUT_DIR/index.json``.

    Args:
        ann_file: an MMAction2 video list (``path label``) or, with ``rawframes``, a rawframe
            list (``frame_dir total_frames label``).
        data_prefix: the folder the list's paths are relative to (None: as written).
        out_dir: the output folder (created; must not hold shards already).
        rawframes: the list names frame folders; each folder's files become one sample.
        shard_size: samples a shard. Give this or ``max_bytes``; neither: 256 MiB shards.
        max_bytes: the largest shard size in bytes (a larger single sample gets a shard alone).
        with_offset: the rawframe list has an ``offset`` column.
        multi_class: lines may hold several labels.

    Returns:
        dict: the index written (see :mod:`~actionkit.datasets.shard_format`).

    Raises:
        AnnotationError: a malformed line or a missing file, naming ``ann_file:line``.
        ValueError: bad arguments, or ``out_dir`` already holds shards.
    """
    if shard_size is not None and max_bytes is not None:
        raise ValueError('give --shard-size or --max-bytes, not both')
    for name, value in (('shard_size', shard_size), ('max_bytes', max_bytes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    if shard_size is None and max_bytes is None:
        max_bytes = 256 << 20
    ann_file = os.fspath(ann_file)
    prefix = os.fspath(data_prefix) if data_prefix is not None else None
    out = Path(out_dir)
    _check_out_dir(out)
    plan = _plan(ann_file, prefix, rawframes, with_offset, multi_class)
    out.mkdir(parents=True, exist_ok=True)
    shards, written = [], []
    try:
        for number, group in enumerate(_groups(plan, shard_size, max_bytes)):
            path = out / _SHARD_NAME.format(number)
            samples = [(index, _meta(record, rawframes, prefix), files)
                       for index, record, files in group]
            _write_shard(path, samples)
            written.append(path)
            shards.append({'name': path.name, 'num_samples': len(group),
                           'num_bytes': path.stat().st_size})
            logger.info('wrote %s (%d samples)', path, len(group))
        index = {'format': FORMAT, 'version': VERSION,
                 'kind': 'rawframes' if rawframes else 'videos', 'num_samples': len(plan),
                 'multi_class': bool(multi_class), 'with_offset': bool(with_offset),
                 'shards': shards, 'labels': [record['label'] for record, _ in plan],
                 'source': {'ann_file': os.path.abspath(ann_file),
                            'data_prefix': os.path.abspath(prefix) if prefix else None}}
        write_text_atomic(out / INDEX_NAME, json.dumps(index) + '\n')
    except BaseException:
        for path in written:  # only what this call wrote
            path.unlink(missing_ok=True)
        raise
    return index
