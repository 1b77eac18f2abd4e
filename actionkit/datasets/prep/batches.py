"""Preparing a folder of videos for training: annotation lists, rawframes, re-encoded videos.

The logic behind ``tools/data/build_file_list.py SRC_FOLDER`` (a random split of a folder
with a sub-folder per class; the official splits of the usual datasets are in
:mod:`actionkit.datasets.prep.splits` and :mod:`actionkit.datasets.prep.file_lists`),
``tools/data/extract_frames.py`` (RGB frames and optical flow, per video in
:mod:`actionkit.datasets.prep.flow`) and ``tools/data/resize_videos.py`` (and ``actionkit data …``;
the command lines are in :mod:`actionkit.commands.data`). Folders follow MMAction2's layout:
``level=2`` means one sub-folder per class (``root/<class>/<video>.mp4``,
``root/<class>/<video>/img_00001.jpg``), ``level=1`` a flat folder (``root/<video>.mp4``).

The batch functions run in a process pool, skip outputs that already exist (outputs are written
to a temporary name and renamed, so an existing one is complete) and never stop on a bad video:
each failure is recorded, with the reason, in the returned :class:`BatchReport`.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ['VIDEO_EXTS', 'BatchReport', 'find_videos', 'find_frame_dirs', 'read_label_map',
           'split_train_val', 'build_file_list', 'extract_frames_batch', 'resize_videos_batch',
           'run_batch']

logger = logging.getLogger(__name__)

VIDEO_EXTS = ('mp4', 'avi', 'webm', 'mkv', 'mov')
_IMAGE_EXTS = ('.jpg', '.jpeg', '.png')


@dataclass
class BatchReport:
    """What a batch run did with each input (paths relative to the source folder)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def to_dict(self) -> dict[str, Any]:
        return dict(done=len(self.done), skipped=len(self.skipped), failed=len(self.failed),
                    failures=[dict(path=p, reason=r) for p, r in self.failed])

    def write(self, path: str | os.PathLike) -> None:
        """Save the summary and the failures as JSON."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + '\n')


def _check_level(level: int) -> None:
    if level not in (1, 2):
        raise ValueError(f'level must be 1 (flat folder) or 2 (a folder per class), got {level!r}')


def _normalise_exts(exts: str | Sequence[str]) -> tuple[str, ...]:
    items = [exts] if isinstance(exts, str) else list(exts)
    return tuple('.' + e.lower().lstrip('.') for e in items)


def find_videos(root: str | os.PathLike, level: int = 2,
                exts: str | Sequence[str] = VIDEO_EXTS) -> list[str]:
    """Video files under ``root`` at depth ``level``, as sorted ``/``-separated relative paths.

    Hidden files (temporary outputs of an interrupted run) are ignored.
    """
    _check_level(level)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'video folder not found: {root}')
    suffixes = _normalise_exts(exts)
    pattern = '*' if level == 1 else '*/*'
    return sorted(p.relative_to(root).as_posix() for p in root.glob(pattern)
                  if p.is_file() and p.suffix.lower() in suffixes
                  and not any(part.startswith('.') for part in p.relative_to(root).parts))


def find_frame_dirs(root: str | os.PathLike, level: int = 2,
                    rgb_prefix: str = 'img_') -> list[tuple[str, int]]:
    """Rawframe folders under ``root`` at depth ``level`` with their frame counts.

    Returns:
        list: sorted ``(relative folder, number of files named rgb_prefix* with an image
        extension)``; folders without such frames are left out (and logged).
    """
    _check_level(level)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f'rawframe folder not found: {root}')
    pattern = '*' if level == 1 else '*/*'
    found = []
    for folder in sorted(root.glob(pattern)):
        rel = folder.relative_to(root)
        if not folder.is_dir() or any(part.startswith('.') for part in rel.parts):
            continue
        count = sum(1 for name in os.listdir(folder)
                    if name.startswith(rgb_prefix) and name.lower().endswith(_IMAGE_EXTS))
        if count:
            found.append((rel.as_posix(), count))
        else:
            logger.warning('%s has no %s* frames; left out of the list', folder, rgb_prefix)
    return found


def read_label_map(path: str | os.PathLike) -> list[str]:
    """Class names from a label map file, one per line, in label order."""
    names = [line.strip() for line in Path(path).read_text().splitlines()]
    names = [n for n in names if n]
    if len(set(names)) != len(names):
        raise ValueError(f'{path}: class names must be unique, got duplicates '
                         f'{sorted({n for n in names if names.count(n) > 1})}')
    return names


def _stem(path: str) -> str:
    """The video id of a video path or a frame folder: the name without a video extension."""
    name = Path(path).name
    return name.rsplit('.', 1)[0] if name.lower().endswith(_normalise_exts(VIDEO_EXTS)) else name


def _labels_from_list(path: str | os.PathLike) -> dict[str, int]:
    """``{video stem: label}`` from an annotation list whose lines end with the label."""
    mapping = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or not parts[-1].lstrip('-').isdigit():
            raise ValueError(f'{path}:{number}: expected "<path> ... <label>", got {line!r}')
        mapping[_stem(parts[0])] = int(parts[-1])
    return mapping


def split_train_val(groups: Sequence[Any], split_ratio: float,
                    seed: int = 0) -> tuple[list[int], list[int]]:
    """Split item indices into train and val, per class (stratified), reproducibly.

    Each class puts ``round(split_ratio * n)`` of its ``n`` items (at least one) in train and
    the rest in val. A class's split depends only on the seed, the class and its items, so it
    does not change when labels are renumbered or other classes are added.

    Args:
        groups: the class of each item (labels or class names).
        split_ratio: fraction of each class that goes to train, in (0, 1].
        seed: random seed.

    Returns:
        tuple: sorted train indices, sorted val indices.
    """
    if not 0 < split_ratio <= 1:
        raise ValueError(f'split_ratio must be in (0, 1], got {split_ratio!r}')
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(str(group), []).append(index)
    train: list[int] = []
    for group, indices in members.items():
        rng = np.random.default_rng([seed, zlib.crc32(group.encode())])
        keep = max(1, round(split_ratio * len(indices)))
        train.extend(int(i) for i in rng.permutation(indices)[:keep])
    train_set = set(train)
    return sorted(train), [i for i in range(len(groups)) if i not in train_set]


def _item_labels(items: list[str], level: int, classes: list[str] | None,
                 labels_from: str | os.PathLike | None) -> tuple[list[int], list[str]]:
    if level == 2:
        folders = sorted({item.split('/')[0] for item in items})
        classes = classes or folders
        unknown = [f for f in folders if f not in classes]
        if unknown:
            raise ValueError(f'class folders {unknown[:5]} are not in the label map {classes[:10]}')
        index = {name: i for i, name in enumerate(classes)}
        return [index[item.split('/')[0]] for item in items], classes
    if labels_from is None:
        raise ValueError('a flat folder (level=1) has no class folders: pass labels_from, an '
                         'annotation list ("<path> ... <label>") that gives each video its label')
    mapping = _labels_from_list(labels_from)
    stems = [_stem(item) for item in items]
    missing = [s for s in stems if s not in mapping]
    if missing:
        raise ValueError(f'{len(missing)} item(s) have no label in {labels_from}, '
                         f'e.g. {missing[:5]}')
    labels = [mapping[s] for s in stems]
    return labels, classes or []


def build_file_list(src_folder: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                    format: str = 'videos', level: int = 2, split_ratio: float = 0.8,
                    seed: int = 0, shuffle: bool = False, rgb_prefix: str = 'img_',
                    exts: str | Sequence[str] = VIDEO_EXTS, name: str = '',
                    label_map: str | os.PathLike | None = None,
                    labels_from: str | os.PathLike | None = None) -> dict[str, Any]:
    """Write MMAction2 annotation lists (train and val) and a label map for a folder.

    Videos give lines ``<relative path> <label>``; rawframes ``<relative folder> <frames>
    <label>``. Paths are relative to ``src_folder``, so it serves as ``data_prefix``.

    Args:
        src_folder: the videos or rawframe folders.
        out_dir: where the lists go (default: ``src_folder``'s parent).
        format: ``'videos'`` or ``'rawframes'``.
        level: 2 for a folder per class (the label is the class folder), 1 for a flat folder.
        split_ratio: fraction of each class that goes to train; 1 puts everything in train.
        seed: seed of the split and of the shuffle.
        shuffle: shuffle the lines (otherwise they are sorted by path).
        rgb_prefix: file name prefix of rawframes.
        exts: video extensions to look for.
        name: prefix of the output names: ``{name}_train_list_{format}.txt`` (no prefix if empty).
        label_map: a file with one class name per line, fixing the label order (default:
            class folders sorted by name).
        labels_from: for ``level=1``, an annotation list giving each video stem its label.

    Returns:
        dict: ``train_list``, ``val_list``, ``label_map`` (paths; no label map is written, and
        ``label_map`` is ``None``, for a flat folder without one), ``num_train``, ``num_val``,
        ``classes``.
    """
    if format not in ('videos', 'rawframes'):
        raise ValueError(f"format must be 'videos' or 'rawframes', got {format!r}")
    src = Path(src_folder)
    if format == 'videos':
        entries = [(item, None) for item in find_videos(src, level, exts)]
    else:
        entries = list(find_frame_dirs(src, level, rgb_prefix))
    if not entries:
        raise ValueError(f'no {format} found in {src} at level {level}')
    items = [item for item, _ in entries]
    classes = read_label_map(label_map) if label_map is not None else None
    labels, classes = _item_labels(items, level, classes, labels_from)
    train, val = split_train_val([classes[label] if label < len(classes) else str(label)
                                  for label in labels], split_ratio, seed)

    def line(i: int) -> str:
        item, count = entries[i]
        return f'{item} {labels[i]}\n' if count is None else f'{item} {count} {labels[i]}\n'

    rng = np.random.default_rng(seed + 1)
    out = Path(out_dir) if out_dir is not None else src.resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    prefix = f'{name}_' if name else ''
    result: dict[str, Any] = dict(classes=classes)
    for split, indices in (('train', train), ('val', val)):
        lines = [line(i) for i in indices]
        if shuffle:
            lines = [lines[i] for i in rng.permutation(len(lines))]
        path = out / f'{prefix}{split}_list_{format}.txt'
        path.write_text(''.join(lines))
        result[f'{split}_list'], result[f'num_{split}'] = str(path), len(lines)
    result['label_map'] = None
    if classes:  # class names are known (not for a flat folder without a label map)
        label_path = out / f'{prefix}label_map.txt'
        label_path.write_text(''.join(f'{c}\n' for c in classes))
        result['label_map'] = str(label_path)
    return result


def _init_worker() -> None:
    """One OpenCV thread per worker process: the pool already uses every core."""
    import cv2

    cv2.setNumThreads(1)


def run_batch(task: Callable[..., tuple[str, str, str]], items: list[tuple[Any, ...]],
               num_workers: int) -> BatchReport:
    """Run ``task(*item) -> (status, path, reason)`` over items; a crash is a failure."""
    report = BatchReport()
    results: list[tuple[str, str, str]] = []
    if num_workers <= 1 or len(items) <= 1:
        results = [task(*item) for item in items]
    else:
        # Workers start from a fresh process, not a fork of this one: a fork taken after
        # OpenCV or FFmpeg ran threads here can deadlock in the child.
        method = 'forkserver' if 'forkserver' in multiprocessing.get_all_start_methods() \
            else 'spawn'
        with ProcessPoolExecutor(max_workers=min(num_workers, len(items)),
                                 mp_context=multiprocessing.get_context(method),
                                 initializer=_init_worker) as pool:
            futures = {pool.submit(task, *item): item for item in items}
            for future in as_completed(futures):
                try:
                    results.append(future.result())
                except Exception as err:  # a worker died (e.g. a crash inside FFmpeg)
                    results.append(('failed', str(futures[future][0]),
                                    f'worker failed: {type(err).__name__}: {err}'))
                if len(results) % 100 == 0:
                    logger.info('%d / %d videos processed', len(results), len(items))
    for status, path, reason in sorted(results, key=lambda r: r[1]):
        if status == 'failed':
            logger.warning('failed: %s: %s', path, reason)
            report.failed.append((path, reason))
        else:
            getattr(report, status).append(path)
    return report


def _extract_one(rel: str, src: str, out: str, options: dict[str, Any]) -> tuple[str, str, str]:
    from .flow import extract_rawframes, rawframes_complete

    target = Path(out, rel) if options['input_frames'] else Path(out, rel).with_suffix('')
    if rawframes_complete(target, options['task'], options['out_format'], options['rgb_prefix'],
                          options['flow_x_prefix'], options['flow_y_prefix']):
        return 'skipped', rel, ''
    try:
        extract_rawframes(Path(src, rel), target, **options)
    except Exception as err:  # any error is this video's failure, reported with its path
        return 'failed', rel, f'{type(err).__name__}: {err}'
    return 'done', rel, ''


def extract_frames_batch(src_dir: str | os.PathLike, out_dir: str | os.PathLike, level: int = 2,
                         exts: str | Sequence[str] = VIDEO_EXTS, num_workers: int = 1,
                         new_short: int = 0, out_format: str = 'jpg',
                         rgb_prefix: str = 'img_', task: str = 'rgb', flow_type: str = 'tvl1',
                         bound: float = 20.0, new_width: int = 0, new_height: int = 0,
                         flow_x_prefix: str = 'flow_x_', flow_y_prefix: str = 'flow_y_',
                         input_frames: bool = False) -> BatchReport:
    """Decode every video under ``src_dir`` into ``out_dir/<relative path without extension>/``:
    RGB frames, optical flow (see :mod:`actionkit.datasets.prep.flow`) or both.

    Resumable: a video whose folder already holds the complete output of ``task`` is skipped.

    Args:
        src_dir: the videos, ``level`` 1 (flat) or 2 (a folder per class); with
            ``input_frames``, folders of RGB frames instead.
        out_dir: root of the rawframe folders (same relative layout).
        exts: video extensions to look for.
        num_workers: processes (1 runs in this process).
        new_short: resize frames so the shorter side has this many pixels (0 keeps the size).
        out_format: ``'jpg'`` or ``'png'``.
        rgb_prefix: frame file name prefix (``img_`` gives ``img_00001.jpg``).
        task: ``'rgb'``, ``'flow'`` or ``'both'``.
        flow_type: ``'tvl1'`` (needs OpenCV's contrib modules) or ``'farneback'``.
        bound: flow magnitude in pixels mapped to 0 and 255.
        new_width, new_height: resize to exactly this size (when ``new_short`` is 0).
        flow_x_prefix, flow_y_prefix: flow file name prefixes.
        input_frames: compute flow from the RGB frame folders under ``src_dir``.

    Raises:
        ValueError: a bad option; ImportError: ``tvl1`` without OpenCV's contrib modules
            (raised before any video is read).
    """
    from .flow import TASKS, check_flow_type

    if new_short < 0 or new_width < 0 or new_height < 0:
        raise ValueError(f'new_short, new_width and new_height must be >= 0, got {new_short!r}, '
                         f'{new_width!r}, {new_height!r}')
    if out_format not in ('jpg', 'png'):
        raise ValueError(f"out_format must be 'jpg' or 'png', got {out_format!r}")
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    if input_frames and task != 'flow':
        raise ValueError(f"input_frames reads RGB frame folders to compute flow: task must be "
                         f"'flow', got {task!r}")
    if task != 'rgb':
        flow_type = check_flow_type(flow_type)
    if input_frames:
        sources = [rel for rel, _ in find_frame_dirs(src_dir, level, rgb_prefix)]
    else:
        sources = find_videos(src_dir, level, exts)
    logger.info('extracting %s frames of %d videos from %s to %s', task, len(sources), src_dir,
                out_dir)
    options = dict(task=task, flow_type=flow_type, bound=bound, new_short=new_short,
                   new_width=new_width, new_height=new_height, out_format=out_format,
                   rgb_prefix=rgb_prefix, flow_x_prefix=flow_x_prefix,
                   flow_y_prefix=flow_y_prefix, input_frames=input_frames)
    items = [(rel, str(src_dir), str(out_dir), options) for rel in sources]
    return run_batch(_extract_one, items, num_workers)


def _resize_one(rel: str, src: str, out: str, out_rel: str, new_short: int, gop: int,
                fps: float | None, crf: int) -> tuple[str, str, str]:
    from .video_io import resize_video

    target = Path(out, out_rel)
    if target.is_file():
        return 'skipped', rel, ''
    try:
        resize_video(Path(src, rel), target, new_short=new_short, gop=gop, fps=fps, crf=crf)
    except Exception as err:  # any error is this video's failure, reported with its path
        return 'failed', rel, f'{type(err).__name__}: {err}'
    return 'done', rel, ''


def resize_videos_batch(src_dir: str | os.PathLike, out_dir: str | os.PathLike, level: int = 2,
                        exts: str | Sequence[str] = VIDEO_EXTS, num_workers: int = 1,
                        new_short: int = 0, gop: int = 16, fps: float | None = None,
                        crf: int = 23, to_mp4: bool = False) -> BatchReport:
    """Re-encode every video under ``src_dir`` as H.264 into ``out_dir`` (same relative paths).

    Resumable: existing outputs are skipped (they are written under a temporary name first).

    Args:
        new_short: shorter side of the output in pixels (0 keeps the size).
        gop: key frame interval; 16 makes sparse frame sampling much cheaper to decode.
        fps: output frame rate (``None`` keeps the input's).
        crf: x264 quality (lower is better, 23 is x264's default).
        to_mp4: name every output ``.mp4`` (otherwise the input's extension is kept).
        src_dir, out_dir, level, exts, num_workers: as in :func:`extract_frames_batch`.
    """
    if new_short < 0:
        raise ValueError(f'new_short must be >= 0, got {new_short!r}')
    if gop < 1:
        raise ValueError(f'gop must be >= 1, got {gop!r}')
    if fps is not None and fps <= 0:
        raise ValueError(f'fps must be positive, got {fps!r}')
    videos = find_videos(src_dir, level, exts)
    logger.info('re-encoding %d videos from %s to %s', len(videos), src_dir, out_dir)
    items = []
    for rel in videos:
        out_rel = str(Path(rel).with_suffix('.mp4')) if to_mp4 else rel
        items.append((rel, str(src_dir), str(out_dir), out_rel, new_short, gop, fps, crf))
    return run_batch(_resize_one, items, num_workers)
