"""The one interface every video decoder backend implements, and the checks they share.

A reader is opened on a path, knows how many frames the video really has (``len(reader)``) and
its average frame rate (``reader.avg_fps``), and returns the frames at given indices as a list
of ``H x W x 3`` ``uint8`` RGB arrays (``reader.get_frames(indices)``). Frame ``i`` is always
the ``i``-th frame a plain sequential decode of the file would produce, whatever the backend.
"""
from __future__ import annotations

import logging
import math
import os
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ....utils.fileio import display_path, is_remote, open_file
from ...errors import DataError, DecodeError

__all__ = ['VideoReader', 'BackendCannotRead', 'DECODE_MODES', 'check_decode_mode',
           'check_video_file', 'open_remote_video',
           'normalize_indices', 'gather', 'mp4_display_rotation', 'check_complete_mp4']

logger = logging.getLogger(__name__)

DECODE_MODES = ('accurate', 'efficient')


class BackendCannotRead(DecodeError):
    """A backend known to return wrong frames from files like this one refuses it (e.g.
    torchcodec and an AVI file); PyAV reads it right. The ``*Init`` pipeline steps then decode
    the file with PyAV.

    Args:
        reason: why, e.g. ``'torchcodec can return wrong frames from AVI files with B-frames'``.
        path: the file.
    """

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(f'{reason}, so it does not read {path}: decode it with PyAV (the pyav '
                         'backend)', path)
        self.reason = reason


class VideoReader(ABC):
    """An open video file that returns RGB frames by index.

    Subclasses set ``self.path`` and implement :meth:`__len__`, :attr:`avg_fps`,
    :meth:`get_frames` and :meth:`close`; a backend with decoding options (``mode`` …)
    also overrides :meth:`set_decode_options`. ``len(reader)`` may shrink after a call to
    :meth:`get_frames` when decoding finds fewer frames than the container announced; indices
    past the real end are then answered with the last frame.
    """

    path: str
    backend: str = ''
    stands_in_for: str | None = None  # the backend this reader replaces (a URL for decord)

    @abstractmethod
    def __len__(self) -> int:
        """The number of frames (exact where the backend can count them)."""

    @property
    @abstractmethod
    def avg_fps(self) -> float:
        """The average frame rate in frames per second."""

    @abstractmethod
    def get_frames(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        """Decode the frames at ``indices`` (any order, repeats allowed).

        Args:
            indices: 0-based frame indices. Indices past the last frame are clamped to it.

        Returns:
            list[np.ndarray]: one ``H x W x 3`` ``uint8`` RGB array per index, in the order
            of ``indices``; repeated indices get separate copies.

        Raises:
            DecodeError: the frames could not be decoded; the message names the file.
        """

    def set_decode_options(self) -> None:
        """Change how the next :meth:`get_frames` decodes (the ``*Decode`` steps call it).

        Backends with options override this with keyword arguments that default to ``None``
        (``None``: keep the current value); this reader has none.
        """
        return None  # no options: nothing to change

    def close(self) -> None:
        """Release the file handle and decoder state (idempotent)."""
        return None  # readers that hold nothing open have nothing to release

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(path={self.path!r})'


def check_decode_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`DECODE_MODES`, else raise ValueError."""
    if mode not in DECODE_MODES:
        raise ValueError(f"mode must be 'accurate' or 'efficient', got {mode!r}")
    return mode


def check_video_file(path: str | os.PathLike) -> str:
    """Check that ``path`` is a readable, non-empty regular file and return it as a str.

    A URL (``s3://`` ...) is returned unchecked: :func:`open_remote_video` checks it when
    it opens it (one request instead of two).

    Raises:
        DataError: the file does not exist, is a folder, is empty or cannot be read.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f'a video path must be a str or os.PathLike, got {type(path).__name__}')
    if is_remote(path):
        return path
    if not os.path.exists(path):
        raise DataError(f'video file not found: {path}', path)
    if not os.path.isfile(path):
        raise DataError(f'expected a video file, got a folder or special file: {path}', path)
    if os.path.getsize(path) == 0:
        raise DataError(f'video file is empty (0 bytes): {path}', path)
    if not os.access(path, os.R_OK):
        raise DataError(f'video file is not readable (permission denied): {path}', path)
    return path


def open_remote_video(url: str) -> Any:
    """A seekable binary file over the remote video ``url`` (ranged reads, bounded cache:
    :class:`~actionkit.utils.fileio.RemoteFile`), for decoders that read file objects.

    Raises:
        DataError: the object is missing, empty or cannot be reached; the message names the
            URL (without credentials).
    """
    shown = display_path(url)
    try:
        fin = open_file(url)
    except FileNotFoundError:
        raise DataError(f'video file not found: {shown}', shown) from None
    except OSError as err:
        raise DataError(f'cannot read video {shown}: {err}', shown) from None
    if fin.size == 0:
        fin.close()
        raise DataError(f'video file is empty (0 bytes): {shown}', shown)
    return fin


def normalize_indices(indices: Sequence[int] | np.ndarray, path: str) -> np.ndarray:
    """Return ``indices`` as a flat ``int64`` array, checking they are not negative."""
    inds = np.asarray(indices)
    if inds.dtype.kind not in 'iu':
        if inds.size and not np.all(np.mod(inds, 1) == 0):
            raise ValueError(f'frame indices must be integers, got {inds.dtype} values '
                             f'{inds.ravel()[:8].tolist()} for {path}')
        inds = inds.astype(np.int64)
    inds = inds.reshape(-1).astype(np.int64, copy=False)
    if inds.size == 0:
        raise ValueError(f'no frame indices given for {path}; expected at least one')
    if inds.min() < 0:
        raise ValueError(f'frame indices must be >= 0, got {int(inds.min())} for {path}')
    return inds


def gather(frames: dict[int, np.ndarray], indices: np.ndarray) -> list[np.ndarray]:
    """Arrange decoded ``frames`` (by index) in the order of ``indices``, copying repeats."""
    out: list[np.ndarray] = []
    used: set[int] = set()
    for idx in indices.tolist():
        frame = frames[idx]
        out.append(frame.copy() if id(frame) in used else frame)
        used.add(id(frame))
    return out


def _boxes(fin: Any, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The ISO media boxes between ``start`` and ``end``: ``(type, body start, end)``; a box
    that claims to run past ``end`` is cut at ``end`` (see :func:`check_complete_mp4`)."""
    pos = start
    while pos + 8 <= end:
        fin.seek(pos)
        head = fin.read(8)
        if len(head) < 8:
            return
        size, kind = struct.unpack('>I4s', head)
        body = pos + 8
        if size == 1:
            large = fin.read(8)
            if len(large) < 8:
                return
            size, body = struct.unpack('>Q', large)[0], pos + 16
        elif size == 0:
            size = end - pos
        if size < body - pos:
            return
        yield kind, body, min(pos + size, end)
        pos += size


def _find(fin: Any, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((body, stop) for found, body, stop in _boxes(fin, start, end)
                 if found == kind), None)


def mp4_display_rotation(path: str) -> int:
    """The rotation (degrees counter-clockwise, 0/90/180/270) that the display matrix of the
    first video track of an MP4/MOV file asks players to apply; 0 for other files.

    Only box headers and the track headers are read (a few hundred bytes, wherever the
    index lies), so this is cheap enough to call on every open.
    """
    try:
        with open(path, 'rb') as fin:
            end = os.fstat(fin.fileno()).st_size
            moov = _find(fin, 0, end, b'moov')
            for kind, body, stop in _boxes(fin, *moov) if moov else ():
                if kind != b'trak':
                    continue
                mdia = _find(fin, body, stop, b'mdia')
                hdlr = _find(fin, *mdia, b'hdlr') if mdia else None
                if hdlr is None:
                    continue
                fin.seek(hdlr[0] + 8)
                if fin.read(4) != b'vide':
                    continue
                tkhd = _find(fin, body, stop, b'tkhd')
                if tkhd is None:
                    return 0
                fin.seek(tkhd[0])
                version = fin.read(1)
                fin.seek(tkhd[0] + (52 if version == b'\x01' else 40))
                matrix = fin.read(8)  # a and b of the 3x3 matrix, in 16.16 fixed point
                if len(matrix) < 8:
                    return 0
                a, b = struct.unpack('>2i', matrix)
                return round(math.degrees(math.atan2(-b, a)) / 90) % 4 * 90
    except OSError:
        return 0
    return 0


def check_complete_mp4(path: str) -> None:
    """Refuse an MP4/MOV file (an ``ftyp`` box first) whose top-level boxes claim more bytes
    than the file has: a download cut off after an index-first ("faststart") header, which
    lists every frame while the data stops early. Other files are left to the decoder.

    Raises:
        DecodeError: naming the file, the box, and where the file ends.
    """
    try:
        with open(path, 'rb') as fin:
            if fin.read(8)[4:8] != b'ftyp':
                return
            end = os.fstat(fin.fileno()).st_size
            pos = 0
            while pos + 8 <= end:
                fin.seek(pos)
                size, kind = struct.unpack('>I4s', fin.read(8))
                if size == 1:
                    large = fin.read(8)
                    size = struct.unpack('>Q', large)[0] if len(large) == 8 else end - pos
                elif size == 0:  # "to the end of the file"
                    return
                if size < 8:
                    return
                if pos + size > end:
                    name = kind.decode('latin-1')
                    raise DecodeError(f'{path} is truncated: its {name!r} box runs to byte '
                                      f'{pos + size} but the file ends at byte {end} (a cut-off '
                                      'copy or download?)', path)
                pos += size
    except OSError:
        return
