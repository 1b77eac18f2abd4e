"""Readers of the AVA annotation files (MMAction2 0.x / official AVA formats).

- the label map (``ava_action_list_v2.1.pbtxt``, ``action_list.txt``): ``item { name: "..."
  id: 12 }`` blocks (``label_id:`` is read as ``id:``);
- the box CSV (``ava_train_v2.1.csv``): one line a box and action, 8 columns ``video_id,
  timestamp, x1, y1, x2, y2, action_id, person_id`` with box corners normalised to [0, 1];
- the excluded-timestamps CSV: ``video_id,timestamp`` a line.

Every reader names the file and line of a malformed row (:class:`~actionkit.errors.
AnnotationError`). Used by :class:`~actionkit.datasets.AVADataset` and by the AVA evaluation.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..errors import AnnotationError

__all__ = ['AVARow', 'read_labelmap', 'read_ava_csv', 'read_exclusions']


class AVARow(NamedTuple):
    """One line of an AVA box CSV."""

    video_id: str
    timestamp: int
    box: np.ndarray  # [4] float64: x1, y1, x2, y2 (normalised)
    label: int
    entity_id: int
    line: int  # 1-based line number in the file


def read_labelmap(path: str | os.PathLike) -> tuple[list[dict], set[int]]:
    """Read a pbtxt-like label map.

    Returns:
        tuple: ``[{'id': int, 'name': str}, ...]`` in file order, and the set of ids.

    Raises:
        AnnotationError: an ``id:`` line whose value is not an int.
    """
    labelmap: list[dict] = []
    name = ''
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if text.startswith('name:'):
                parts = text.split('"')
                name = parts[1] if len(parts) >= 3 else text[len('name:'):].strip()
            elif text.startswith(('id:', 'label_id:')):
                value = text.split(':', 1)[1].strip()
                try:
                    class_id = int(value)
                except ValueError:
                    raise AnnotationError(f'{os.fspath(path)}:{lineno}: the class id {value!r} '
                                          'is not an integer') from None
                labelmap.append({'id': class_id, 'name': name})
    return labelmap, {item['id'] for item in labelmap}


def _fail(path: str | os.PathLike, lineno: int, text: str, why: str) -> AnnotationError:
    return AnnotationError(f'{os.fspath(path)}:{lineno}: {why} (line: {text!r})')


def _csv_rows(path: str | os.PathLike) -> Iterator[tuple[int, str, list[str]]]:
    """``(line number, stripped line, comma-separated columns)`` of each non-blank line."""
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if text:
                yield lineno, text, text.split(',')


def read_ava_csv(path: str | os.PathLike) -> list[AVARow]:
    """Read an AVA box CSV (8 columns; blank lines are skipped).

    Args:
        path: the CSV file.

    Raises:
        AnnotationError: wrong column count, a value that is not a number, a box with
            ``x2 < x1`` or ``y2 < y1``; the message names the file and line. (Action ids
            outside the label map are kept: AVA's training CSV has 80 actions while the
            ActivityNet-2019 label map the configs name lists 60; evaluation skips the rest.)
    """
    rows = []
    for lineno, text, cols in _csv_rows(path):
        if len(cols) != 8:
            raise _fail(path, lineno, text, f'expected 8 comma-separated columns (video_id, '
                        f'timestamp, x1, y1, x2, y2, action_id, person_id), got '
                        f'{len(cols)}')
        try:
            timestamp = int(cols[1])
            box = np.array([float(v) for v in cols[2:6]])
            label, entity_id = int(cols[6]), int(cols[7])
        except ValueError as err:
            raise _fail(path, lineno, text, f'not a number: {err}') from None
        if not np.isfinite(box).all() or box[2] < box[0] or box[3] < box[1]:
            raise _fail(path, lineno, text, 'the box must have finite x1 <= x2 and y1 <= y2')
        rows.append(AVARow(cols[0], timestamp, box, label, entity_id, lineno))
    return rows


def read_exclusions(path: str | os.PathLike) -> set[tuple[str, int]]:
    """Read an excluded-timestamps CSV: the set of ``(video_id, timestamp)``.

    Raises:
        AnnotationError: a line without exactly 2 columns or with a non-integer timestamp.
    """
    excluded = set()
    for lineno, text, cols in _csv_rows(path):
        if len(cols) != 2:
            raise _fail(path, lineno, text, f'expected 2 columns (video_id, timestamp), '
                        f'got {len(cols)}')
        try:
            excluded.add((cols[0], int(cols[1])))
        except ValueError:
            raise _fail(path, lineno, text, 'the timestamp is not an integer') from None
    return excluded
