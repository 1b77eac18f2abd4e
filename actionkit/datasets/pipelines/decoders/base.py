"""The one interface every video decoder backend implements, and the checks they share.

A reader is opened on a path, knows how many frames the video really has (``len(reader)``) and
its average frame rate (``reader.avg_fps``), and returns the frames at given indices as a list
of ``H x W x 3`` ``uint8`` RGB arrays (``reader.get_frames(indices)``). Frame ``i`` is always
the ``i``-th frame a plain sequential decode of the file would produce, whatever the backend.
"""
from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from ...errors import DataError

__all__ = ['VideoReader', 'DECODE_MODES', 'check_decode_mode', 'check_video_file',
           'normalize_indices', 'gather']

logger = logging.getLogger(__name__)

DECODE_MODES = ('accurate', 'efficient')


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

    Raises:
        DataError: the file does not exist, is a folder, is empty or cannot be read.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f'a video path must be a str or os.PathLike, got {type(path).__name__}')
    if not os.path.exists(path):
        raise DataError(f'video file not found: {path}', path)
    if not os.path.isfile(path):
        raise DataError(f'expected a video file, got a folder or special file: {path}', path)
    if os.path.getsize(path) == 0:
        raise DataError(f'video file is empty (0 bytes): {path}', path)
    if not os.access(path, os.R_OK):
        raise DataError(f'video file is not readable (permission denied): {path}', path)
    return path


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
