"""The sharded dataset format: tar shards in the WebDataset layout, plus one JSON index.

A shard is a plain (uncompressed) tar file. One sample is the run of consecutive members that
share a *key*, the part of the member's base name before its first dot (WebDataset's rule):

- a video sample: ``000000042.json`` (the record: ``filename``, ``label``, the annotation
  ``line``), ``000000042.cls`` (the label as text, single-label lists only) and
  ``000000042.mp4`` (the video file's bytes; the extension is the source's);
- a rawframe sample: ``000000042.json`` (``frame_dir``, ``total_frames``, ``label``, ``offset``
  when the list has one), ``000000042.cls`` and one member per frame file of the folder,
  ``000000042.img_00001.jpg`` ... (the file name follows the key's dot).

The key is the record's index in the annotation list (zero-padded to 9 digits), so shards
sort and stream in list order. ``index.json`` beside the shards says what they hold::

    {"format": "actionkit-shards", "version": 1, "kind": "videos" | "rawframes",
     "num_samples": 1234, "multi_class": false, "with_offset": false,
     "shards": [{"name": "shard-000000.tar", "num_samples": 100, "num_bytes": 73400320}, ...],
     "labels": [3, 0, ...],            # every sample's label (a list for multi-label lists)
     "source": {"ann_file": "...", "data_prefix": "..."}}

The labels are in the index so that evaluation knows the ground truth without reading the
shards. Shards are read front to back only (``tarfile`` stream mode), never seeked, so a
shard can come from a pipe or an object store's plain GET.
"""
from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from typing import IO, Any

from ..errors import DataError
from ..utils.bounded_read import read_file_text
from ..utils.fileio import IOSettings, is_remote, open_file
from ..utils.plain_data import load_json

__all__ = ['FORMAT', 'VERSION', 'INDEX_NAME', 'KINDS', 'sample_key', 'load_index',
           'read_shard', 'shard_location']

FORMAT = 'actionkit-shards'
VERSION = 1
INDEX_NAME = 'index.json'
KINDS = ('videos', 'rawframes')
MAX_INDEX_BYTES = 1 << 30
MAX_MEMBER_BYTES = 4 << 30  # one video or frame file


def sample_key(index: int) -> str:
    """The tar key of record ``index`` of the annotation list."""
    return f'{index:09d}'


def _open_shard(path: str) -> IO[bytes]:
    """Open a shard (or the index) for reading from the start; the one place shards are opened.

    Local paths and ``s3://`` / ``gs://`` / ``http(s)://`` URLs (:func:`utils.fileio.open_file`);
    a shard is read front to back, so a remote one is fetched in large sequential blocks.
    """
    if not is_remote(path):
        return open(path, 'rb')
    return open_file(path, settings=IOSettings.from_env(block_size=8 << 20, cache_blocks=2))


def shard_location(prefix: str, name: str) -> str:
    """``name`` (relative to the index) under ``prefix``, a folder or a URL prefix."""
    if '://' in prefix:
        return prefix.rstrip('/') + '/' + name
    return os.path.join(prefix, name)


def _index_problem(index: Any) -> str | None:
    if not isinstance(index, dict) or index.get('format') != FORMAT:
        return f'not an index of {FORMAT} (no "format": "{FORMAT}")'
    if index.get('version') != VERSION:
        return f'version {index.get("version")!r}; this actionkit reads version {VERSION}'
    if index.get('kind') not in KINDS:
        return f'"kind" must be one of {KINDS}, got {index.get("kind")!r}'
    shards = index.get('shards')
    if not isinstance(shards, list) or not shards:
        return '"shards" must be a non-empty list'
    for pos, shard in enumerate(shards):
        if not isinstance(shard, dict) or not isinstance(shard.get('name'), str) or \
                not isinstance(shard.get('num_samples'), int) or shard['num_samples'] < 1:
            return f'shards[{pos}] must be {{"name": str, "num_samples": int >= 1}}, got {shard!r}'
        if '/' in shard['name'] or shard['name'].startswith('.'):
            return f'shards[{pos}]: a shard name is a plain file name, got {shard["name"]!r}'
    total = sum(shard['num_samples'] for shard in shards)
    if index.get('num_samples') != total:
        return f'"num_samples" is {index.get("num_samples")!r} but the shards hold {total}'
    labels = index.get('labels')
    if not isinstance(labels, list) or len(labels) != total:
        return f'"labels" must list the {total} samples\' labels'
    return None


def load_index(path: str) -> dict[str, Any]:
    """Read and check a shard index (see the module docstring).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a valid index (the message names it and what is wrong).
    """
    if '://' in path:
        with _open_shard(path) as fin:
            text = fin.read(MAX_INDEX_BYTES + 1).decode('utf-8')
    else:
        text = read_file_text(path, MAX_INDEX_BYTES, 'shard index', FileNotFoundError)
    try:
        index = load_json(text, path)
    except ValueError as err:
        raise ValueError(f'{path}: not a JSON shard index: {err}') from None
    problem = _index_problem(index)
    if problem is not None:
        raise ValueError(f'{path}: {problem}. Write shards with `actionkit data shard`')
    return index


def _member_parts(name: str) -> tuple[str, str]:
    base = name.rsplit('/', 1)[-1]
    key, _, suffix = base.partition('.')
    return key, suffix


def read_shard(path: str, skip: int = 0) -> Iterator[tuple[str, dict[str, bytes]]]:
    """The samples of one shard, in order: ``(key, {suffix: bytes})``.

    Reads the tar front to back (stream mode). The first ``skip`` samples are passed over
    without keeping their bytes.

    Raises:
        DataError: the shard is missing, not a tar file, or cut short (naming the shard).
    """
    try:
        fin = _open_shard(path)
    except OSError as err:
        raise DataError(f'cannot open shard {path}: {err}', path) from err
    key: str | None = None
    files: dict[str, bytes] = {}
    seen = 0
    try:
        with fin, tarfile.open(fileobj=fin, mode='r|') as tar:
            for member in tar:
                if not member.isfile():
                    continue
                member_key, suffix = _member_parts(member.name)
                if member_key != key:
                    if key is not None:
                        seen += 1
                        if seen > skip:
                            yield key, files
                    key, files = member_key, {}
                if seen < skip:
                    continue  # stream mode skips the member's data itself
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(f'{path}: member {member.name} has {member.size} bytes, '
                                    f'more than {MAX_MEMBER_BYTES}', path)
                handle = tar.extractfile(member)
                assert handle is not None, 'a regular member has a file object'
                files[suffix] = handle.read()
        if key is not None and seen + 1 > skip:
            yield key, files
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f'shard {path} is not a readable tar file (cut short or corrupt?): '
                        f'{err}', path) from err
