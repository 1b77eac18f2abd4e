"""Text annotation lists as MMAction2 0.x JSON lists: ``tools/data/anno_txt2json.py``.

A rawframe list (``frame_dir total_frames label [label ...]`` a line) becomes a JSON list of
``{"frame_dir": ..., "total_frames": ..., "label": [...]}`` and a video list (``path label
[label ...]``) one of ``{"filename": ..., "label": [...]}``. As in MMAction2, ``label`` is always
a list, for single-label lists too; :func:`actionkit.datasets.annotations.load_json_list` (hence
``RawframeDataset``/``VideoDataset`` with a ``.json`` ``ann_file``) reads it back to the same
records as the text list.

The text is parsed by the datasets' own loader, so the two agree on every line (paths with
spaces before a TAB included) and a malformed line raises
:class:`~actionkit.errors.AnnotationError` naming the file and line.

Example:
    >>> convert_annotation_list('data/ucf101/train_list.txt')  # doctest: +SKIP
    PosixPath('data/ucf101/train_list.json')
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..annotations import load_rawframe_list, load_video_list
from ...utils.atomic import write_text_atomic

__all__ = ['FORMATS', 'annotation_list_records', 'default_json_path', 'convert_annotation_list']

logger = logging.getLogger(__name__)

FORMATS = ('rawframes', 'videos')


def annotation_list_records(annofile: str | os.PathLike, format: str = 'rawframes'
                            ) -> list[dict]:
    """Read a text annotation list into MMAction2's JSON records (``label`` always a list).

    Args:
        annofile: the text list.
        format: ``'rawframes'`` (``frame_dir total_frames label ...``) or ``'videos'``
            (``path label ...``).

    Returns:
        list[dict]: ``{'frame_dir', 'total_frames', 'label'}`` or ``{'filename', 'label'}``
        per line, in file order.

    Raises:
        ValueError: an unknown ``format``.
        AnnotationError: a malformed line (file and line named).
        FileNotFoundError: ``annofile`` does not exist.
    """
    if format not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {format!r}')
    load = load_rawframe_list if format == 'rawframes' else load_video_list
    return list(load(annofile, multi_class=True))


def default_json_path(annofile: str | os.PathLike) -> Path:
    """MMAction2's default output name: ``.txt`` replaced by ``.json`` (``.json`` appended
    when the name holds no ``.txt``, so the input is never overwritten)."""
    name = os.fspath(annofile)
    out = name.replace('.txt', '.json')
    return Path(out if out != name else name + '.json')


def convert_annotation_list(annofile: str | os.PathLike, format: str = 'rawframes',
                            output: str | os.PathLike | None = None) -> Path:
    """Write the JSON list of a text annotation list.

    Args:
        annofile: the text list.
        format: ``'rawframes'`` or ``'videos'`` (see :func:`annotation_list_records`).
        output: the JSON file (default: :func:`default_json_path`).

    Returns:
        Path: the file written.
    """
    records = annotation_list_records(annofile, format)
    target = default_json_path(annofile) if output is None else Path(output)
    if target.resolve() == Path(annofile).resolve():
        raise ValueError(f'output {target} is the input file itself; pass another --output')
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, json.dumps(records))
    logger.info('wrote %d %s records of %s to %s', len(records), format, annofile, target)
    return target
