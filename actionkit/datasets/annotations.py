"""Annotation lists parsed into compact, packed records.

A dataset of a million clips described as a Python list of dicts costs hundreds of megabytes,
and worse, every DataLoader worker slowly copies it: reading a dict writes its reference count,
which dirties the page it lives on in the forked child. The loaders here therefore keep the
records packed in a few numpy arrays (the list's UTF-8 bytes with ``int64`` spans of the
paths in them, ``int64`` columns for ``total_frames``/``offset``, a flat label array with
offsets for multi-label lists) and build a record dict only when one is asked for. Workers
forked by a DataLoader share these pages with the parent and never write to them.

Text formats (one record a line, as in MMAction2 0.x):

* rawframes: ``frame_dir total_frames label [label ...]``
* rawframes with offset: ``frame_dir offset total_frames label [label ...]``
* videos: ``path label [label ...]``
* audio: ``audio_path total_frames label [label ...]``

Fields are separated by runs of blanks: space, TAB and the other ASCII control characters
(``str.split()`` also splits on a few Unicode spaces such as U+00A0; these stay part of a
path here). Numbers are written in decimal, optionally signed, with at most 18 digits. More
than one label is allowed only for multi-label lists (``multi_class=True``). Blank lines are
skipped; ``\\r\\n`` line ends and a UTF-8 byte-order mark are accepted; paths may hold any
UTF-8 text.

Paths with spaces: on a line that holds a TAB, everything before the first TAB (stripped of
surrounding blanks) is the path and the fields after it are split on whitespace as usual, e.g.
``my clips/jump 1.mp4<TAB>3``. Lines without a TAB split on every blank, exactly as MMAction2
does, so existing lists parse identically. (Taking the numbers from the right end instead
would turn a forgotten ``multi_class=True`` into silently wrong paths, so it is not done.)

JSON lists (as MMAction2 0.x's ``load_json_annotations``) are a list of dicts with a
``frame_dir`` or ``filename`` key and a ``label`` list; other keys are kept as they are.

Every problem raises :class:`~actionkit.datasets.errors.AnnotationError` naming the file and
the line (the record for JSON) and showing it.

Example:
    >>> records = load_rawframe_list('data/ucf101/train_list.txt', data_prefix='data/ucf101')
    >>> records[0]['frame_dir'], records[0]['total_frames'], records[0]['label']
    ('data/ucf101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01', 121, 0)
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np

from ..utils.bounded_read import MAX_ANNOTATION_BYTES
from ..utils.fileio import display_path, read_bytes, read_text
from ..utils.plain_data import load_json
from .errors import AnnotationError
from .records import AnnotationRecords, PackedStrings

__all__ = ['PackedStrings', 'AnnotationRecords', 'load_rawframe_list', 'load_video_list',
           'load_audio_list', 'load_json_list', 'load_delimited_video_list']

_MAX_DIGITS = 18  # every integer of up to 18 digits fits in int64
_POW10 = 10 ** np.arange(_MAX_DIGITS + 1, dtype=np.int64)
_INT_RE = re.compile(r'[+-]?[0-9]{1,%d}' % _MAX_DIGITS)
_BLANKS = ''.join(map(chr, range(33)))  # space and the ASCII control characters
_BLANKS_RE = re.compile('[\x00-\x20]+')


def load_rawframe_list(ann_file: str | os.PathLike, with_offset: bool = False,
                       multi_class: bool = False, num_classes: int | None = None,
                       data_prefix: str | None = None) -> AnnotationRecords:
    """Parse a rawframe list: ``frame_dir [offset] total_frames label [label ...]`` a line.

    Args:
        ann_file: the text file.
        with_offset: lines hold the start ``offset`` before ``total_frames``.
        multi_class: allow several labels a line and return them as lists.
        num_classes: when given, every label must lie in ``[0, num_classes)``.
        data_prefix: joined in front of every ``frame_dir`` (``os.path.join``).

    Returns:
        AnnotationRecords: records with keys ``frame_dir``, [``offset``], ``total_frames``,
        ``label``.

    Raises:
        AnnotationError: a malformed line, naming the file and line number.
        FileNotFoundError: ``ann_file`` does not exist.
    """
    names = ('offset', 'total_frames') if with_offset else ('total_frames',)
    return _load_text_list(ann_file, 'frame_dir', names, multi_class, num_classes, data_prefix)


def load_video_list(ann_file: str | os.PathLike, multi_class: bool = False,
                    num_classes: int | None = None,
                    data_prefix: str | None = None) -> AnnotationRecords:
    """Parse a video list: ``path label [label ...]`` a line.

    Args:
        ann_file: the text file.
        multi_class: allow several labels a line and return them as lists.
        num_classes: when given, every label must lie in ``[0, num_classes)``.
        data_prefix: joined in front of every path (``os.path.join``).

    Returns:
        AnnotationRecords: records with keys ``filename`` and ``label``.

    Raises:
        AnnotationError: a malformed line, naming the file and line number.
        FileNotFoundError: ``ann_file`` does not exist.
    """
    return _load_text_list(ann_file, 'filename', (), multi_class, num_classes, data_prefix)


def load_audio_list(ann_file: str | os.PathLike, multi_class: bool = False,
                    num_classes: int | None = None,
                    data_prefix: str | None = None) -> AnnotationRecords:
    """Parse an audio list: ``audio_path total_frames label [label ...]`` a line.

    Args: as :func:`load_video_list`.

    Returns:
        AnnotationRecords: records with keys ``audio_path``, ``total_frames`` and ``label``.

    Raises:
        AnnotationError: a malformed line, naming the file and line number.
        FileNotFoundError: ``ann_file`` does not exist.
    """
    return _load_text_list(ann_file, 'audio_path', ('total_frames',), multi_class, num_classes,
                           data_prefix)


def load_json_list(ann_file: str | os.PathLike, multi_class: bool = False,
                   num_classes: int | None = None,
                   data_prefix: str | None = None) -> AnnotationRecords:
    """Parse a JSON list of record dicts, as MMAction2 0.x's ``load_json_annotations``.

    The path key is ``frame_dir`` (or ``audio_path``) if the first record has one, else
    ``filename``. ``label`` is a list of ints (an int is accepted too); single-label datasets
    need exactly one.

    Args:
        ann_file: the ``.json`` file.
        multi_class: return labels as lists of ints.
        num_classes: when given, every label must lie in ``[0, num_classes)``.
        data_prefix: joined in front of every path (``os.path.join``).

    Returns:
        AnnotationRecords: records with the path key, ``label`` and the other keys as stored.

    Raises:
        AnnotationError: invalid JSON or a malformed record, naming the file and record.
    """
    source = display_path(ann_file)  # for messages: a URL without its credentials
    text = read_text(ann_file, MAX_ANNOTATION_BYTES, 'annotation file', AnnotationError)
    try:
        items = load_json(text, source)
    except json.JSONDecodeError as err:
        raise AnnotationError(f'{source}:{err.lineno}: invalid JSON: {err.msg}') from err
    except ValueError as err:  # nested too deep
        raise AnnotationError(str(err)) from None
    if not isinstance(items, list) or not items:
        raise AnnotationError(f'{source}: expected a non-empty JSON list of records, got '
                              f'{type(items).__name__} of length {_safe_len(items)}')
    first = items[0]
    path_key = next((key for key in ('frame_dir', 'audio_path')
                     if isinstance(first, dict) and key in first), 'filename')
    paths, extras, labels = [], [], []
    for index, item in enumerate(items):
        problem = _json_record_problem(item, path_key, multi_class, num_classes)
        if problem:
            shown = repr(item) if len(repr(item)) <= 200 else repr(item)[:200] + '...'
            raise AnnotationError(f'{source}: record {index} (counting from 0): {problem}\n'
                                  f'    {shown}')
        label = item['label']
        paths.append(item[path_key])
        labels.append(label if isinstance(label, list) else [label])
        extra = {k: v for k, v in item.items() if k not in (path_key, 'label')}
        extras.append(json.dumps(extra) if extra else '')
    return _pack(path_key, paths, labels, multi_class, extras, data_prefix, source)


def _pack(path_key: str, paths: list[str], labels: list[list[int]], multi_class: bool,
          extras: list[str] | None, data_prefix: str | None, source: str) -> AnnotationRecords:
    counts = [len(label_list) for label_list in labels]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = np.asarray([v for label_list in labels for v in label_list], dtype=np.int64)
    return AnnotationRecords(
        path_key, PackedStrings.from_strings(paths), flat,
        offsets if multi_class else None, multi_label=multi_class,
        extras=PackedStrings.from_strings(extras) if extras and any(extras) else None,
        data_prefix=data_prefix, source=source)


def load_delimited_video_list(ann_file: str | os.PathLike, delimiter: str,
                              multi_class: bool = False, num_classes: int | None = None,
                              data_prefix: str | None = None) -> AnnotationRecords:
    """Parse a video list whose fields are split by ``delimiter`` (MMAction2 1.x's
    ``VideoDataset(delimiter=...)``, e.g. ``','``): ``path<d>label[<d>label ...]``.

    A line with a path only gets the label -1, as in MMAction2 1.x.

    Raises:
        AnnotationError: a label that is not an int, several labels without ``multi_class``,
            or a label outside ``[0, num_classes)``, naming the file and line.
    """
    source = display_path(ann_file)  # for messages: a URL without its credentials
    text = read_text(ann_file, MAX_ANNOTATION_BYTES, 'annotation file', AnnotationError)
    paths, labels = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.strip().split(delimiter)
        try:
            label_list = [int(field) for field in fields[1:]] or [-1]
        except ValueError:
            raise AnnotationError(f'{source}:{number}: labels must be ints after the path '
                                  f'(delimiter {delimiter!r}), got {line!r}') from None
        if len(label_list) > 1 and not multi_class:
            raise AnnotationError(f'{source}:{number}: {len(label_list)} labels on a line; '
                                  f'pass multi_class=True for a multi-label list')
        bad = [v for v in label_list if _label_problem(v, num_classes)]
        if bad and len(fields) > 1:
            raise AnnotationError(f'{source}:{number}: {_label_problem(bad[0], num_classes)}')
        paths.append(fields[0])
        labels.append(label_list)
    if not paths:
        raise AnnotationError(f'{source}: the annotation list is empty')
    return _pack('filename', paths, labels, multi_class, None, data_prefix, source)


def _safe_len(obj: Any) -> int | str:
    try:
        return len(obj)
    except TypeError:
        return 'n/a'


def _json_record_problem(item: Any, path_key: str, multi_class: bool,
                        num_classes: int | None) -> str:
    """Return why a JSON record is malformed, or ``''``."""
    if not isinstance(item, dict):
        return f'expected a dict, got {type(item).__name__}'
    path = item.get(path_key)
    if not isinstance(path, str) or not path:
        return f'expected a non-empty string {path_key!r} (the key the first record uses)'
    label = item.get('label')
    label_list = [label] if isinstance(label, int) and not isinstance(label, bool) else label
    if not isinstance(label_list, list) or not label_list or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in label_list):
        return f"'label' must be an int or a non-empty list of ints, got {label!r}"
    if not multi_class and len(label_list) != 1:
        return (f'{len(label_list)} labels in a single-label list; pass multi_class=True '
                'for multi-label data')
    for value in label_list:
        if _label_problem(value, num_classes):
            return _label_problem(value, num_classes)
    return ''


def _label_problem(value: int, num_classes: int | None) -> str:
    if value < 0:
        return f'label {value} is negative (labels count from 0)'
    if num_classes is not None and value >= num_classes:
        return (f'label {value} is out of range for num_classes={num_classes} '
                f'(0 <= label < {num_classes})')
    return ''


# --- text lists -------------------------------------------------------------------------------

def _load_text_list(ann_file: str | os.PathLike, path_key: str, int_names: tuple[str, ...],
                    multi_class: bool, num_classes: int | None,
                    data_prefix: str | None) -> AnnotationRecords:
    source = display_path(ann_file)  # for messages: a URL without its credentials
    data = read_bytes(ann_file, MAX_ANNOTATION_BYTES, 'annotation file', AnnotationError)
    parsed = _parse_text(data, source, (path_key, *int_names), multi_class, num_classes)
    paths, ints, labels, label_offsets = parsed
    columns = {name: ints[:, i] for i, name in enumerate(int_names)}
    return AnnotationRecords(path_key, paths, labels, label_offsets if multi_class else None,
                             multi_label=multi_class, columns=columns,
                             data_prefix=data_prefix, source=source)


def _parse_text(data: bytes, source: str, fixed: tuple[str, ...], multi_class: bool,
                num_classes: int | None
                ) -> tuple[PackedStrings, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised parse of a whole list; a bad line is re-read by :func:`_diagnose`."""
    if not data.isascii():
        try:
            data.decode('utf-8')
        except UnicodeDecodeError as err:
            line = data.count(b'\n', 0, err.start) + 1
            raise AnnotationError(f'{source}:{line}: not valid UTF-8 text ({err.reason} at '
                                  f'byte {err.start})') from err
    skip = 3 if data.startswith(b'\xef\xbb\xbf') else 0
    lines = _Lines(data, skip)
    if lines.num_records == 0:
        raise AnnotationError(f'{source}: the annotation list holds no records (an empty file?)')
    bad = lines.check(len(fixed), multi_class, num_classes)
    if bad.any():
        _raise_first_bad(lines, bad, source, fixed, multi_class, num_classes)
    return lines.paths(), lines.fixed_values, lines.label_values, lines.label_offsets


class _Lines:
    """Token-level view of a whole text list, built with a handful of numpy passes.

    Tokens are the runs of bytes above 32; ``tok_line`` is each token's 0-based line.
    A record's path spans the tokens ``first_tok[line] .. path_last[line]``.
    """

    def __init__(self, data: bytes, skip: int) -> None:
        self.data = data
        self.arr = arr = np.frombuffer(data, dtype=np.uint8)
        blanks = np.flatnonzero(arr <= 32)  # space, TAB, CR, LF and other control bytes
        if skip:
            blanks = np.concatenate((np.arange(skip), blanks[blanks >= skip]))
        is_newline = arr[blanks] == 10
        self.newlines = blanks[is_newline]
        newlines_before = np.zeros(len(blanks) + 1, dtype=np.int64)
        np.cumsum(is_newline, out=newlines_before[1:])
        # a token is a run of non-blank bytes: between blanks ``runs - 1`` and ``runs``
        bounds = np.concatenate(([-1], blanks, [len(arr)]))
        runs = np.flatnonzero(np.diff(bounds) > 1)
        self.tok_starts = bounds[runs] + 1
        self.tok_ends = bounds[runs + 1]
        self.tok_line = newlines_before[runs]  # the LFs before a token give its line
        num_lines = int(self.tok_line[-1]) + 1 if len(self.tok_line) else 0
        self.tok_count = np.bincount(self.tok_line, minlength=num_lines)
        self.first_tok = np.cumsum(self.tok_count) - self.tok_count
        self.path_last = self.first_tok.copy()
        self.has_tabs = b'\t' in data
        if self.has_tabs:
            self._merge_tab_paths(np.flatnonzero(arr == 9))
        self.records = np.flatnonzero(self.tok_count > 0)
        self.num_records = len(self.records)

    def _merge_tab_paths(self, tabs: np.ndarray) -> None:
        """On lines with a TAB, every token before the first TAB belongs to the path."""
        tab_line = np.searchsorted(self.newlines, tabs)
        lines, first = np.unique(tab_line, return_index=True)
        keep = lines < len(self.tok_count)
        before_tab = np.searchsorted(self.tok_starts, tabs[first[keep]]) - 1
        self.path_last[lines[keep]] = before_tab  # < first_tok when the path is empty

    def line_text(self, line: int) -> str:
        """The text of 0-based ``line``, for messages."""
        newlines = self.newlines
        start = int(newlines[line - 1]) + 1 if line > 0 else 0
        end = int(newlines[line]) if line < len(newlines) else len(self.data)
        text = self.data[start:end].decode('utf-8', errors='replace')
        return text.lstrip('\ufeff').rstrip('\r')

    def check(self, num_fixed: int, multi_class: bool, num_classes: int | None) -> np.ndarray:
        """Parse every number; return a per-line mask of malformed lines."""
        fields = self.tok_count - (self.path_last - self.first_tok)
        used = self.tok_count > 0
        need = num_fixed + 1  # the path and fixed fields, then the labels
        wrong_count = (fields < need) if multi_class else (fields != need)
        bad = used & ((self.path_last < self.first_tok) | wrong_count)
        num_tok = len(self.tok_starts)
        first = self.first_tok[self.records]
        if self.has_tabs:  # paths of several tokens: mark each run (each index is unique)
            path_mark = np.zeros(num_tok + 1, dtype=np.int32)
            path_mark[first] += 1
            path_mark[np.maximum(self.path_last[self.records], first - 1) + 1] -= 1
            is_number = np.cumsum(path_mark[:-1]) == 0
        else:
            is_number = np.ones(num_tok, dtype=bool)
            is_number[first] = False
        values, valid = _parse_ints(self.arr, self.tok_starts, self.tok_ends, is_number)
        bad[self.tok_line[is_number & ~valid]] = True
        # rank of each number after the path: 0 .. fields - 2
        rank = np.arange(num_tok) - self.path_last[self.tok_line] - 1
        fixed_tok = is_number & (rank < num_fixed - 1)
        label_tok = is_number & (rank >= num_fixed - 1)
        if num_fixed > 1:  # offset >= 0, then total_frames > 0
            total_rank = num_fixed - 2
            wrong = fixed_tok & (values < np.where(rank == total_rank, 1, 0))
            bad[self.tok_line[wrong]] = True
        label_bad = label_tok & (values < 0)
        if num_classes is not None:
            label_bad |= label_tok & (values >= num_classes)
        bad[self.tok_line[label_bad]] = True
        if not bad.any():
            self.fixed_values = values[fixed_tok].reshape(self.num_records, num_fixed - 1)
            self.label_values = values[label_tok]
            counts = np.bincount(self.tok_line[label_tok], minlength=len(self.tok_count))
            self.label_offsets = np.zeros(self.num_records + 1, dtype=np.int64)
            np.cumsum(counts[self.records], out=self.label_offsets[1:])
        return bad

    def paths(self) -> PackedStrings:
        """Each record's path, as spans of the file's bytes."""
        return PackedStrings(self.arr, self.tok_starts[self.first_tok[self.records]],
                             self.tok_ends[self.path_last[self.records]])


def _parse_ints(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``[+-]digits`` tokens where ``mask``; return values and a validity mask."""
    values = np.zeros(len(starts), dtype=np.int64)
    valid = np.zeros(len(starts), dtype=bool)
    idx = np.flatnonzero(mask)
    if not len(idx):
        return values, valid
    first = arr[starts[idx]]
    negative = first == ord('-')
    digit_start = starts[idx] + (negative | (first == ord('+')))
    last = ends[idx] - 1
    length = last + 1 - digit_start
    ok = (length >= 1) & (length <= _MAX_DIGITS)
    width = int(min(length.max(), _MAX_DIGITS))
    number = np.zeros(len(idx), dtype=np.int32 if width <= 9 else np.int64)
    for k in range(width):  # the k-th digit from the right
        here = k < length
        digit = arr[last - k] - np.uint8(48)  # wraps below '0'; last - k < 0 only where not here
        ok &= (digit <= 9) | ~here
        digit[~here] = 0
        number += digit.astype(number.dtype) * number.dtype.type(_POW10[k])
    number = number.astype(np.int64)
    values[idx] = np.where(negative, -number, number)
    valid[idx] = ok
    return values, valid


def _raise_first_bad(lines: _Lines, bad: np.ndarray, source: str, fixed: tuple[str, ...],
                     multi_class: bool, num_classes: int | None) -> None:
    """Describe the first malformed line precisely (in plain Python) and raise."""
    bad_lines = np.flatnonzero(bad)
    line = int(bad_lines[0])
    text = lines.line_text(line)
    reason = _diagnose(text, fixed, multi_class, num_classes) or 'could not be parsed'
    more = f' ({len(bad_lines) - 1} more malformed lines follow)' if len(bad_lines) > 1 else ''
    raise AnnotationError(f'{source}:{line + 1}: {reason}{more}\n    {text!r}')


def _split_blanks(text: str) -> list[str]:
    """Split on bytes 0..32 only, as the vectorised parser does."""
    return [field for field in _BLANKS_RE.split(text) if field]


def _diagnose(text: str, fixed: tuple[str, ...], multi_class: bool,
              num_classes: int | None) -> str:
    """Return why one line is malformed, or ``''`` if it is fine."""
    if '\t' in text:
        path, rest = text.split('\t', 1)
        path = path.strip(_BLANKS)
        if not path:
            return 'the path before the TAB is empty'
        fields = [path] + _split_blanks(rest)
    else:
        fields = _split_blanks(text)
    need = len(fixed) + 1
    if multi_class and len(fields) < need:
        layout = ' '.join(fixed) + ' label [label ...]'
        return f'expected {need} or more fields `{layout}`, got {len(fields)}'
    if not multi_class and len(fields) != need:
        hint = ('; for a multi-label list pass multi_class=True, and put a TAB after a path '
                'that contains spaces') if len(fields) > need else ''
        return f"expected {need} fields `{' '.join(fixed)} label`, got {len(fields)}{hint}"
    names = list(fixed[1:]) + ['label'] * (len(fields) - len(fixed))
    for name, field in zip(names, fields[1:]):
        if not _INT_RE.fullmatch(field):
            return f'{name} {field!r} is not an integer (of at most {_MAX_DIGITS} digits)'
        value = int(field)
        if name == 'total_frames' and value <= 0:
            return f'total_frames must be > 0, got {value}'
        if name == 'offset' and value < 0:
            return f'offset must be >= 0, got {value}'
        if name == 'label' and _label_problem(value, num_classes):
            return _label_problem(value, num_classes)
    return ''
