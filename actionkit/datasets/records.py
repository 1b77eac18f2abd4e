"""Packed annotation records: the numpy-backed list of records a dataset keeps.

:mod:`.annotations` parses annotation lists into these. A record dict is built only when one
is asked for, so DataLoader workers share the arrays' pages with the parent and never write to
them (see that module's docstring for why).
"""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ['PackedStrings', 'AnnotationRecords', 'PATH_KEYS']

PATH_KEYS = ('frame_dir', 'filename', 'audio_path')


class PackedStrings(Sequence[str]):
    """An immutable list of strings held in one UTF-8 byte buffer.

    String ``i`` is ``buffer[starts[i]:ends[i]]``. The strings need not lie back to back: the
    text-list parser keeps the file's own bytes and points at the paths inside them (copying
    the paths out costs more time than the numbers between them cost memory).

    Args:
        buffer (np.ndarray): 1-D ``uint8`` array of UTF-8 text.
        starts (np.ndarray): ``int64`` start of each string in ``buffer``.
        ends (np.ndarray): ``int64`` end (exclusive) of each string.
    """

    def __init__(self, buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        if buffer.dtype != np.uint8 or buffer.ndim != 1:
            raise TypeError(f'buffer must be a 1-D uint8 array, got {buffer.dtype} {buffer.shape}')
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        if starts.shape != ends.shape or starts.ndim != 1:
            raise ValueError(f'starts and ends must be 1-D and of one length, got shapes '
                             f'{starts.shape} and {ends.shape}')
        if len(starts) and (starts.min() < 0 or ends.max() > len(buffer)
                            or np.any(ends < starts)):
            raise ValueError(f'string spans must satisfy 0 <= start <= end <= len(buffer)='
                             f'{len(buffer)}')
        self.buffer = buffer
        self.starts = starts
        self.ends = ends

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> PackedStrings:
        """Pack an iterable of ``str`` back to back."""
        encoded = [s.encode('utf-8') for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        buffer = np.frombuffer(b''.join(encoded), dtype=np.uint8).copy()
        return cls(buffer, offsets[:-1], offsets[1:])

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, idx: int) -> str:  # type: ignore[override]
        num = len(self)
        if not -num <= idx < num:
            raise IndexError(f'string index {idx} is out of range for {num} strings')
        idx = int(idx) % num
        return self.buffer[self.starts[idx]:self.ends[idx]].tobytes().decode('utf-8')

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return int(self.buffer.nbytes + self.starts.nbytes + self.ends.nbytes)


class AnnotationRecords(Sequence[dict]):
    """Packed annotation records that read like a list of MMAction2 0.x ``video_infos`` dicts.

    ``records[i]`` is ``{path_key: path, ['offset': int,] ['total_frames': int,]
    'label': int | list[int], ...}`` with ``data_prefix`` joined to the path by
    ``os.path.join`` (so absolute paths stay), and the records compare equal to the list of
    dicts MMAction2 builds (``records == [dict(...), ...]``).

    As with a list, ``records[i]`` (and iteration) hands out the record's own dict: changes to
    it, and ``records[i] = {...}``, stick. Such a record is then kept as a dict beside the
    packed arrays, so touch only the records you change; the loaders read records with
    :meth:`record`, which keeps nothing. The number of records is fixed: ``append``, ``del``
    and the other length-changing list methods raise ``TypeError`` (assign a list to
    ``dataset.video_infos`` instead).

    Args:
        path_key (str): ``'frame_dir'``, ``'filename'`` or ``'audio_path'``.
        paths (PackedStrings): the paths as written in the file.
        labels (np.ndarray): ``int64`` labels of all records, back to back.
        label_offsets (np.ndarray | None): ``len + 1`` offsets into ``labels`` for
            multi-label records; None when every record has exactly one label.
        multi_label (bool): give ``label`` as a list of ints instead of an int.
        columns (dict[str, np.ndarray] | None): ``int64`` per-record columns such as
            ``'offset'`` and ``'total_frames'``, in the order they appear in the dict.
        extras (PackedStrings | None): per-record JSON objects with any further keys.
        data_prefix (str | None): joined in front of every path.
        source (str): the file the records came from, for messages.
    """

    def __init__(self, path_key: str, paths: PackedStrings, labels: np.ndarray,
                 label_offsets: np.ndarray | None = None, multi_label: bool = False,
                 columns: dict[str, np.ndarray] | None = None,
                 extras: PackedStrings | None = None, data_prefix: str | None = None,
                 source: str = '') -> None:
        num = len(paths)
        if path_key not in PATH_KEYS:
            raise ValueError(f'path_key must be one of {PATH_KEYS}, got {path_key!r}')
        if label_offsets is None and len(labels) != num:
            raise ValueError(f'{len(labels)} labels for {num} records and no label_offsets')
        if label_offsets is not None and len(label_offsets) != num + 1:
            raise ValueError(f'label_offsets has {len(label_offsets)} entries, expected {num + 1}')
        for key, column in (columns or {}).items():
            if len(column) != num:
                raise ValueError(f'column {key!r} has {len(column)} values for {num} records')
        if extras is not None and len(extras) != num:
            raise ValueError(f'extras has {len(extras)} entries for {num} records')
        self.path_key = path_key
        self.paths = paths
        self.labels = labels.astype(np.int64, copy=False)
        self.label_offsets = label_offsets
        self.multi_label = multi_label
        self.columns = dict(columns or {})
        self.extras = extras
        self.data_prefix = None if data_prefix is None else os.fspath(data_prefix)
        self.source = source
        self._kept: dict[int, dict] = {}  # records handed out by [] (their edits stick)

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return (f'AnnotationRecords({len(self)} records of {self.path_key!r} from '
                f'{self.source!r}, {self.nbytes / 2**20:.1f} MiB)')

    def _check_index(self, idx: Any) -> int:
        if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, (int, np.integer)):
            raise TypeError(f'record index must be an int, got {type(idx).__name__}')
        num = len(self)
        if not -num <= idx < num:
            raise IndexError(f'record index {idx} is out of range for {num} records')
        return int(idx) % num

    def path(self, idx: int) -> str:
        """The path of record ``idx`` with ``data_prefix`` joined."""
        idx = self._check_index(idx)
        if idx in self._kept:
            return self._kept[idx].get(self.path_key)
        return self._path(idx)

    def label(self, idx: int) -> int | list[int]:
        """The label of record ``idx``: an int, or a list of ints for multi-label records."""
        idx = self._check_index(idx)
        if idx in self._kept:
            return copy.deepcopy(self._kept[idx].get('label'))
        return self._label(idx)

    @property
    def edited(self) -> frozenset[int]:
        """Indices of the records kept as dicts (handed out by ``[]`` or assigned)."""
        return frozenset(self._kept)

    def _path(self, idx: int) -> str:
        paths = self.paths
        raw = paths.buffer[paths.starts[idx]:paths.ends[idx]].tobytes().decode('utf-8')
        return raw if self.data_prefix is None else os.path.join(self.data_prefix, raw)

    def _label(self, idx: int) -> int | list[int]:
        if self.label_offsets is None:
            value = int(self.labels[idx])
            return [value] if self.multi_label else value
        values = self.labels[self.label_offsets[idx]:self.label_offsets[idx + 1]].tolist()
        return values if self.multi_label else values[0]

    def _build(self, idx: int) -> dict:
        record: dict[str, Any] = {self.path_key: self._path(idx)}
        for key, column in self.columns.items():
            record[key] = int(column[idx])
        record['label'] = self._label(idx)
        if self.extras is not None:
            text = self.extras[idx]
            if text:
                record.update(json.loads(text))
        return record

    def record(self, idx: int) -> dict:
        """A new dict of record ``idx`` (with any edits), which the records do not keep."""
        idx = self._check_index(idx)
        kept = self._kept.get(idx)
        return copy.deepcopy(kept) if kept is not None else self._build(idx)

    def __getitem__(self, idx: int | slice) -> dict | list[dict]:  # type: ignore[override]
        if isinstance(idx, slice):
            return [self[i] for i in range(*idx.indices(len(self)))]
        idx = self._check_index(idx)
        if idx not in self._kept:
            self._kept[idx] = self._build(idx)
        return self._kept[idx]

    def __setitem__(self, idx: int, value: dict) -> None:
        if not isinstance(value, dict):
            raise TypeError(f'a record must be a dict, got {type(value).__name__}')
        self._kept[self._check_index(idx)] = value

    def __iter__(self) -> Iterator[dict]:
        return (self[i] for i in range(len(self)))

    def __contains__(self, value: object) -> bool:
        return any(self.record(i) == value for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, AnnotationRecords)):
            return NotImplemented
        if len(other) != len(self):
            return False
        read = other.record if isinstance(other, AnnotationRecords) else other.__getitem__
        return all(self.record(i) == read(i) for i in range(len(self)))

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def _fixed_length(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f'{type(self).__name__} has a fixed number of records ({len(self)}); '
                        'to add or remove records assign a list of dicts to '
                        'dataset.video_infos (e.g. [info for info in dataset.video_infos '
                        'if ...])')

    append = extend = insert = pop = remove = clear = sort = reverse = _fixed_length
    __delitem__ = __iadd__ = _fixed_length

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed arrays."""
        total = self.paths.nbytes + self.labels.nbytes
        total += sum(column.nbytes for column in self.columns.values())
        if self.label_offsets is not None:
            total += self.label_offsets.nbytes
        if self.extras is not None:
            total += self.extras.nbytes
        return int(total)
