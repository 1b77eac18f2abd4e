"""Rawframe folders encoded back into videos: ``tools/data/build_videos.py``.

Each folder of numbered frames (``img_00001.jpg`` …, the ``filename_tmpl`` printf template plus
``.in_format``) becomes one video, ``OUT_DIR/<folder>.<ext>``, encoded with PyAV (no ``ffmpeg``
executable needed). Frames are read as FFmpeg's image-sequence reader (which MMAction2's tool
runs) reads them: from the first index that exists in ``[start_idx, start_idx + 4]`` up to the
first missing index, so the default ``start_idx=0`` finds frames numbered from 1.

Folders follow MMAction2's layout: ``level=2`` means ``SRC_DIR/<class>/<video>/`` (videos go to
``OUT_DIR/<class>/<video>.<ext>``), ``level=1`` means ``SRC_DIR/<video>/``. Videos are written
to a temporary name and renamed; with ``resume`` the ones that exist are skipped. A folder that
cannot be encoded (no frames, unreadable or differently sized frames) is a failure recorded,
with the reason, in the returned :class:`~actionkit.datasets.prep.batches.BatchReport`; the others
still run.

Example:
    >>> report = build_videos_batch('data/rawframes', 'data/videos', level=1, fps=30)
    ...     # doctest: +SKIP
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...utils.checks import check_positive_int
from .batches import BatchReport, run_batch
from .video_io import write_video

__all__ = ['IN_FORMATS', 'VIDEO_EXTS', 'find_frame_sequence', 'build_video',
           'build_videos_batch']

logger = logging.getLogger(__name__)

IN_FORMATS = ('jpg', 'png')
VIDEO_EXTS = ('mp4', 'avi')
_START_RANGE = 5  # FFmpeg's image2 ``start_number_range`` default


def _frame_name(filename_tmpl: str, index: int, in_format: str) -> str:
    try:
        return f'{filename_tmpl % index}.{in_format}'
    except (TypeError, ValueError) as err:
        raise ValueError(f"filename_tmpl must hold one printf integer field such as 'img_%05d', "
                         f'got {filename_tmpl!r} ({err})') from None


def find_frame_sequence(frame_dir: str | os.PathLike, filename_tmpl: str = 'img_%05d',
                        in_format: str = 'jpg', start_idx: int = 0) -> list[Path]:
    """The frame files of one folder, in order.

    Args:
        frame_dir: the folder.
        filename_tmpl: printf template of a frame's name without extension.
        in_format: the frames' extension, ``'jpg'`` or ``'png'``.
        start_idx: the first index looked for; the sequence starts at the first index found
            in ``[start_idx, start_idx + 4]`` and ends before the first missing one.

    Returns:
        list[Path]: the frame files (empty when there is no frame in the start range).
    """
    if in_format not in IN_FORMATS:
        raise ValueError(f'in_format must be one of {IN_FORMATS}, got {in_format!r}')
    folder = Path(frame_dir)
    first = next((i for i in range(start_idx, start_idx + _START_RANGE)
                  if (folder / _frame_name(filename_tmpl, i, in_format)).is_file()), None)
    if first is None:
        return []
    frames = []
    index = first
    while (path := folder / _frame_name(filename_tmpl, index, in_format)).is_file():
        frames.append(path)
        index += 1
    return frames


def _read_frames(paths: list[Path]) -> Iterator[np.ndarray]:
    import cv2

    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot read frame {path} (not an image, or damaged)')
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def build_video(frame_dir: str | os.PathLike, out_path: str | os.PathLike, fps: float = 30,
                in_format: str = 'jpg', start_idx: int = 0, filename_tmpl: str = 'img_%05d',
                vcodec: str = 'mpeg4') -> int:
    """Encode one frame folder into a video, atomically.

    Args:
        frame_dir: the frame folder.
        out_path: the video file (its extension picks the container).
        fps: frame rate of the video.
        in_format, start_idx, filename_tmpl: see :func:`find_frame_sequence`.
        vcodec: an FFmpeg encoder name (``'mpeg4'`` as in MMAction2, ``'libx264'`` for H.264).

    Returns:
        int: the number of frames encoded.

    Raises:
        FileNotFoundError: no frame named like ``filename_tmpl`` in the folder.
        ValueError: a frame cannot be read or its size differs from the first frame's.
    """
    frames = find_frame_sequence(frame_dir, filename_tmpl, in_format, start_idx)
    if not frames:
        expected = _frame_name(filename_tmpl, start_idx, in_format)
        raise FileNotFoundError(f'{frame_dir}: no frames named like {expected} (indices '
                                f'{start_idx}..{start_idx + _START_RANGE - 1} tried); check '
                                '--filename-tmpl, --in-format and --start-idx')
    return write_video(out_path, _read_frames(frames), fps=fps, codec=vcodec)


def _frame_dirs(src_dir: Path, level: int) -> list[str]:
    if level not in (1, 2):
        raise ValueError(f'level must be 1 (flat folder) or 2 (a folder per class), got {level!r}')
    if not src_dir.is_dir():
        raise FileNotFoundError(f'rawframe folder not found: {src_dir}')
    found = []
    for folder in src_dir.glob('*' if level == 1 else '*/*'):
        rel = folder.relative_to(src_dir)
        if folder.is_dir() and not any(part.startswith('.') for part in rel.parts):
            found.append(rel.as_posix())
    return sorted(found)


def _build_one(rel: str, src: str, out: str, options: dict) -> tuple[str, str, str]:
    target = Path(out, f'{rel}.{options["ext"]}')
    if options['resume'] and target.is_file():
        return 'skipped', rel, ''
    try:
        build_video(Path(src, rel), target, fps=options['fps'], in_format=options['in_format'],
                    start_idx=options['start_idx'], filename_tmpl=options['filename_tmpl'],
                    vcodec=options['vcodec'])
    except Exception as err:  # any error is this folder's failure, reported with its path
        return 'failed', rel, f'{type(err).__name__}: {err}'
    return 'done', rel, ''


def build_videos_batch(src_dir: str | os.PathLike, out_dir: str | os.PathLike, fps: float = 30,
                       level: int = 2, num_workers: int = 1, in_format: str = 'jpg',
                       start_idx: int = 0, filename_tmpl: str = 'img_%05d',
                       vcodec: str = 'mpeg4', ext: str = 'mp4',
                       resume: bool = False) -> BatchReport:
    """Encode every frame folder under ``src_dir`` (at depth ``level``) into a video.

    Args:
        src_dir: the rawframe root.
        out_dir: the video root (created; the class folders too for ``level=2``).
        fps: frame rate of the videos.
        level: 1 (``src_dir/<video>/``) or 2 (``src_dir/<class>/<video>/``).
        num_workers: parallel processes.
        in_format, start_idx, filename_tmpl, vcodec: see :func:`build_video`.
        ext: the videos' extension, ``'mp4'`` or ``'avi'``.
        resume: skip the videos that already exist (otherwise they are overwritten).

    Returns:
        BatchReport: done, skipped and failed folders (relative to ``src_dir``).
    """
    if ext not in VIDEO_EXTS:
        raise ValueError(f'ext must be one of {VIDEO_EXTS}, got {ext!r}')
    if in_format not in IN_FORMATS:
        raise ValueError(f'in_format must be one of {IN_FORMATS}, got {in_format!r}')
    check_positive_int(None, 'num_workers', num_workers)
    _frame_name(filename_tmpl, start_idx, in_format)  # validate the template once, up front
    src, out = Path(src_dir), Path(out_dir)
    items = _frame_dirs(src, level)
    out.mkdir(parents=True, exist_ok=True)
    options = dict(fps=fps, in_format=in_format, start_idx=start_idx,
                   filename_tmpl=filename_tmpl, vcodec=vcodec, ext=ext, resume=resume)
    logger.info('encoding %d frame folders of %s into %s (%s, %s fps)', len(items), src, out,
                vcodec, fps)
    return run_batch(_build_one, [(rel, str(src), str(out), options) for rel in items],
                      num_workers)
