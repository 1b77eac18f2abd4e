"""Annotation lists of the official splits: ``tools/data/build_file_list.py DATASET SRC_FOLDER``.

:func:`build_split_file_lists` matches the clips of each official split
(:mod:`actionkit.datasets.prep.splits`) with what is on disk under ``SRC_FOLDER`` and writes
the lists MMAction2 writes, under MMAction2's names:

* datasets with several splits (UCF101, HMDB51): ``{dataset}_train_split_{k}_{format}.txt``
  and ``{dataset}_val_split_{k}_{format}.txt`` for each split ``k`` (val is the official test
  list);
* the others: ``{dataset}_{subset}_list_{format}.txt`` for the chosen subset.

Lines are ``<video path> <label>`` (videos) or ``<frame folder> <frames> <label>`` (rawframes,
counting the files that start with the RGB prefix). When the frame folders also hold optical
flow (``flow_x_00001.jpg`` …) the same lists are written for it with ``flow_`` after the
dataset name (``ucf101_flow_train_split_1_rawframes.txt``), counting the x frames; use them
with ``modality='Flow'`` and ``filename_tmpl='flow_{}_{:05d}.jpg'``. ``output_format='json'``
writes MMAction2's JSON lists instead. A label map (``{dataset}_label_map.txt``, one class
name a line) is written beside them.

Clips of a split that are not under ``SRC_FOLDER`` are left out and reported (how many, and the
first few), so a partly downloaded dataset still gets its lists.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .batches import VIDEO_EXTS, find_videos
from .splits import SPLIT_DATASETS, parse_official_splits

__all__ = ['scan_rawframes', 'scan_videos', 'build_split_file_lists']

logger = logging.getLogger(__name__)

_IMAGE_EXTS = ('.jpg', '.jpeg', '.png')
_EXAMPLES = 5


def scan_rawframes(root: str | os.PathLike, level: int = 2, rgb_prefix: str = 'img_',
                   flow_x_prefix: str = 'flow_x_',
                   flow_y_prefix: str = 'flow_y_') -> dict[str, tuple[int, int]]:
    """Frame folders under ``root`` at depth ``level`` and what they hold.

    Returns:
        dict: ``{folder relative to root: (RGB frames, flow frames)}``; the flow count is the
        number of x frames, and 0 (with a warning naming the folder) when the x and y counts
        differ.
    """
    if level not in (1, 2):
        raise ValueError(f'level must be 1 (flat folder) or 2 (a folder per class), got {level!r}')
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'rawframe folder not found: {root}')
    found = {}
    for folder in sorted(root.glob('*' if level == 1 else '*/*')):
        rel = folder.relative_to(root)
        if not folder.is_dir() or any(part.startswith('.') for part in rel.parts):
            continue
        names = [n for n in os.listdir(folder) if n.lower().endswith(_IMAGE_EXTS)]
        rgb, flow_x, flow_y = (sum(1 for n in names if n.startswith(prefix))
                               for prefix in (rgb_prefix, flow_x_prefix, flow_y_prefix))
        if flow_x != flow_y:
            logger.warning('%s holds %d %s* but %d %s* frames; left out of the flow lists',
                           folder, flow_x, flow_x_prefix, flow_y, flow_y_prefix)
            flow_x = 0
        found[rel.as_posix()] = (rgb, flow_x)
    return found


def scan_videos(root: str | os.PathLike, level: int = 2,
                exts: str | Sequence[str] = VIDEO_EXTS) -> dict[str, str]:
    """Videos under ``root`` at depth ``level``: ``{path without extension: path}``."""
    found: dict[str, str] = {}
    for rel in find_videos(root, level, exts):
        key = os.path.splitext(rel)[0]
        if key in found:
            logger.warning('%s and %s have the same name; listing %s', found[key], rel, found[key])
            continue
        found[key] = rel
    return found


def _lines_for(items: list[tuple[str, int]], on_disk: dict[str, Any], format: str,
               flow: bool) -> tuple[list[str], list[str]]:
    """The list lines of the items found on disk, and the ids of those that are not."""
    lines, missing = [], []
    for video, label in items:
        entry = on_disk.get(video)
        if format == 'videos':
            if entry is None:
                missing.append(video)
            else:
                lines.append(f'{entry} {label}\n')
            continue
        count = entry[1 if flow else 0] if entry is not None else 0
        if count:
            lines.append(f'{video} {count} {label}\n')
        else:
            missing.append(video)
    return lines, missing


def _as_json(lines: list[str], format: str) -> str:
    """MMAction2's JSON list: ``frame_dir``/``total_frames``/``label`` or ``filename``/``label``,
    labels as lists."""
    records = []
    for line in lines:
        parts = line.split()
        if format == 'rawframes':
            records.append(dict(frame_dir=parts[0], total_frames=int(parts[1]),
                                label=[int(x) for x in parts[2:]]))
        else:
            records.append(dict(filename=parts[0], label=[int(x) for x in parts[1:]]))
    return json.dumps(records)


def _subsets(splits: list[dict[str, list[tuple[str, int]]]], dataset: str, subset: str,
             ann_dir: Path) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """``(name template with {kind}, subset, items)`` for each list to write."""
    if SPLIT_DATASETS[dataset] > 1:
        if subset != 'train':
            logger.info('%s: subset=%r is ignored; the train and val lists of each split are '
                        'written', dataset, subset)
        return [(f'{dataset}{{kind}}_{name}_split_{k}', name, split[name])
                for k, split in enumerate(splits, start=1) for name in ('train', 'val')]
    if subset not in splits[0]:
        raise FileNotFoundError(f'{dataset}: no {subset} annotation file in {ann_dir}')
    return [(f'{dataset}{{kind}}_{subset}_list', subset, splits[0][subset])]


def build_split_file_lists(dataset: str, src_folder: str | os.PathLike,
                           ann_dir: str | os.PathLike | None = None,
                           out_dir: str | os.PathLike | None = None, format: str = 'rawframes',
                           level: int = 2, num_split: int | None = None, subset: str = 'train',
                           shuffle: bool = False, seed: int | None = None,
                           rgb_prefix: str = 'img_', flow_x_prefix: str = 'flow_x_',
                           flow_y_prefix: str = 'flow_y_', output_format: str = 'txt',
                           exts: str | Sequence[str] = VIDEO_EXTS) -> dict[str, Any]:
    """Write the annotation lists of a dataset's official splits.

    Args:
        dataset: one of :data:`~actionkit.datasets.prep.splits.SPLIT_DATASETS`.
        src_folder: the videos or frame folders (paths in the lists are relative to it).
        ann_dir: the official annotation files (default ``data/{dataset}/annotations``).
        out_dir: where the lists go (default ``data/{dataset}``).
        format: ``'rawframes'`` or ``'videos'``.
        level: 2 for a folder per class, 1 for a flat folder.
        num_split: how many official splits to write (default: all).
        subset: ``'train'``, ``'val'`` or ``'test'``, for single-split datasets.
        shuffle: shuffle the lines (seeded by ``seed``); otherwise they keep the split's order.
        seed: seed of the shuffle (``None``: a different order each run).
        rgb_prefix, flow_x_prefix, flow_y_prefix: file name prefixes in frame folders.
        output_format: ``'txt'`` or ``'json'``.
        exts: video extensions to look for.

    Returns:
        dict: ``lists`` (``{path: number of lines}``), ``label_map`` (path), ``classes``, and
        ``missing`` (``{path: (clips left out, the first few ids)}``, lists with none left out
        are not in it).
    """
    if format not in ('rawframes', 'videos'):
        raise ValueError(f"format must be 'rawframes' or 'videos', got {format!r}")
    if output_format not in ('txt', 'json'):
        raise ValueError(f"output_format must be 'txt' or 'json', got {output_format!r}")
    if subset not in ('train', 'val', 'test'):
        raise ValueError(f"subset must be 'train', 'val' or 'test', got {subset!r}")
    ann_dir = Path(ann_dir) if ann_dir is not None else Path('data', dataset, 'annotations')
    out = Path(out_dir) if out_dir is not None else Path('data', dataset)
    parsed = parse_official_splits(dataset, ann_dir, level, num_split)
    if format == 'rawframes':
        on_disk: dict[str, Any] = scan_rawframes(src_folder, level, rgb_prefix, flow_x_prefix,
                                                 flow_y_prefix)
    else:
        on_disk = scan_videos(src_folder, level, exts)
    if not on_disk:
        raise ValueError(f'no {format} found in {src_folder} at level {level}')
    kinds = [('', False)]
    if format == 'rawframes' and any(flow for _, flow in on_disk.values()):
        kinds.append(('_flow', True))
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = dict(lists={}, missing={}, classes=parsed.classes)
    for template, name, items in _subsets(parsed.splits, dataset, subset, ann_dir):
        for kind, flow in kinds:
            lines, missing = _lines_for(items, on_disk, format, flow)
            if shuffle:
                lines = [lines[i] for i in rng.permutation(len(lines))]
            path = out / f'{template.format(kind=kind)}_{format}.{output_format}'
            path.write_text(''.join(lines) if output_format == 'txt' else _as_json(lines, format))
            result['lists'][str(path)] = len(lines)
            if missing:
                result['missing'][str(path)] = (len(missing), missing[:_EXAMPLES])
                logger.warning('%s: %d of the %d %s clips are not in %s (e.g. %s); left out',
                               path.name, len(missing), len(items), name, src_folder,
                               ', '.join(missing[:_EXAMPLES]))
    label_map = out / f'{dataset}_label_map.txt'
    label_map.write_text(''.join(f'{name}\n' for name in parsed.classes))
    result['label_map'] = str(label_map)
    return result
