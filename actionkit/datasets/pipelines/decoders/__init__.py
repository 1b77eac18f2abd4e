"""Video decoders behind one small interface, each backend imported only when used.

>>> from actionkit.datasets.pipelines.decoders import open_video
>>> with open_video('demo.mp4', backend='pyav') as reader:  # doctest: +SKIP
...     frames = reader.get_frames([0, 10, 20])  # three H x W x 3 uint8 RGB arrays

Backends: ``'pyav'`` (the default; frame-accurate, decodes only what the frames need),
``'decord'`` (``pip install decord2``), ``'opencv'`` and ``'torchcodec'`` (needs a system
FFmpeg). All return the same RGB frames for the same indices.
"""
from __future__ import annotations

import importlib
from enum import Enum
from typing import Any

from .base import VideoReader, check_video_file

__all__ = ['VideoBackend', 'VideoReader', 'check_video_file', 'get_reader_class',
           'open_video']


class VideoBackend(str, Enum):
    """The video decoding backends."""

    PYAV = 'pyav'
    DECORD = 'decord'
    OPENCV = 'opencv'
    TORCHCODEC = 'torchcodec'


_READERS = {
    VideoBackend.PYAV: ('.pyav_reader', 'PyAVReader'),
    VideoBackend.DECORD: ('.decord_reader', 'DecordReader'),
    VideoBackend.OPENCV: ('.opencv_reader', 'OpenCVReader'),
    VideoBackend.TORCHCODEC: ('.torchcodec_reader', 'TorchCodecReader'),
}


def get_reader_class(backend: str | VideoBackend) -> type[VideoReader]:
    """Import and return the reader class of ``backend`` (``'pyav'``, ``'decord'`` …)."""
    try:
        key = VideoBackend(backend)
    except ValueError:
        raise ValueError(f'unknown video backend {backend!r}; expected one of '
                         f'{[b.value for b in VideoBackend]}') from None
    module_name, class_name = _READERS[key]
    module = importlib.import_module(module_name, __name__)
    return getattr(module, class_name)


def open_video(path: str, backend: str | VideoBackend = 'pyav', **options: Any) -> VideoReader:
    """Open ``path`` with ``backend``; ``options`` go to the reader (e.g. ``num_threads``).

    Raises:
        ImportError: the backend's package is missing (the message says how to install it).
        DataError / DecodeError: the file is missing, empty or cannot be decoded.
    """
    return get_reader_class(backend)(path, **options)
