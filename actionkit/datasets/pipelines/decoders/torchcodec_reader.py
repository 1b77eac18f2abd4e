"""The TorchCodec reader (``pip install torchcodec``; needs a system FFmpeg 4 to 7)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import DecodeError
from .base import (BackendCannotRead, VideoReader, check_complete_mp4, check_video_file, gather,
                   normalize_indices)

__all__ = ['TorchCodecReader']

_INSTALL_HINT = ("the torchcodec backend needs torchcodec and the FFmpeg libraries it links "
                 "against: pip install 'actionkit[torchcodec]' and install FFmpeg 4 to 7 "
                 "(e.g. apt-get install ffmpeg or conda install ffmpeg)")


def _import_video_decoder() -> Any:
    try:
        from torchcodec.decoders import VideoDecoder
    except Exception as err:  # ImportError, or OSError/RuntimeError when FFmpeg is missing
        raise ImportError(f'{_INSTALL_HINT}; importing torchcodec failed with: '
                          f'{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}'
                          ) from err
    return VideoDecoder


_SOURCE_LOCATION = re.compile(r'^\w+, \S+\.cpp:\d+, ')  # "SingleStreamDecoder, /src/...cpp:41, "


def _said(err: BaseException) -> str:
    """torchcodec's message on one line, without the C++ source location it starts with."""
    return _SOURCE_LOCATION.sub('', ' '.join(str(err).split()))


def seeks_wrongly_in(path: str) -> str | None:
    """``'AVI'`` or ``'MPEG-TS'`` when ``path`` is such a file (by its first bytes), else None.

    torchcodec (checked with 0.17 on FFmpeg 5.1) seeks wrongly in these containers when the
    video has B-frames: an AVI keeps decode timestamps only, and a random access returns the
    frame before the one asked for, or fails with "no more frames left to decode"; an
    MPEG-TS stream gives frames of the wrong position or that error. Telling whether a file
    has B-frames takes a scan of its packets, so every such file is refused.
    """
    try:
        with open(path, 'rb') as file:
            head = file.read(400)
    except OSError:
        return None  # torchcodec's own open says what is wrong
    if head[:4] == b'RIFF' and head[8:12] in (b'AVI ', b'AVIX'):
        return 'AVI'
    for offset, stride in ((0, 188), (4, 192)):  # MPEG-TS packets; M2TS: a 4-byte prefix each
        if len(head) > offset + 2 * stride and \
                all(head[offset + k * stride] == 0x47 for k in range(3)):
            return 'MPEG-TS'
    return None


class TorchCodecReader(VideoReader):
    """Video reader on ``torchcodec.decoders.VideoDecoder`` (exact seek mode).

    Args:
        path: the video file.
        num_threads: FFmpeg decoder threads (0 lets FFmpeg choose).
        device: ``'cpu'``, or ``'cuda'`` / ``'cuda:N'`` to decode on the GPU (NVDEC, with a
            CUDA build of torchcodec); the frames come back to host memory as uint8 arrays.

    Raises:
        ImportError: torchcodec or FFmpeg is missing (the message says how to install them).
        DataError: the file is missing or empty.
        BackendCannotRead: an AVI or MPEG-TS file, where torchcodec's seeks can return wrong
            frames (:func:`seeks_wrongly_in`); ``TorchCodecInit`` decodes those with PyAV.
        DecodeError: the file cannot be opened or decoded.
    """

    backend = 'torchcodec'

    def __init__(self, path: str, num_threads: int = 1, device: str = 'cpu') -> None:
        self.path = check_video_file(path)
        container = seeks_wrongly_in(self.path)
        if container is not None:  # refused before the import: PyAV reads it in any case
            raise BackendCannotRead(f'torchcodec can return wrong frames from {container} files '
                                    'with B-frames', self.path)
        video_decoder = _import_video_decoder()
        check_complete_mp4(self.path)  # else the frames before the cut decode, and score
        options: dict[str, Any] = dict(seek_mode='exact', num_ffmpeg_threads=num_threads)
        if device != 'cpu':  # older torchcodec versions take no device argument
            options['device'] = device
        try:
            self._decoder: Any = video_decoder(self.path, **options)
        except (RuntimeError, ValueError) as err:
            if 'best video stream is unknown' in str(err):
                raise DecodeError(f'no video stream in {self.path} (torchcodec)',
                                  self.path) from err
            raise DecodeError(f'torchcodec cannot open video {self.path}: {_said(err)}',
                              self.path) from err
        self._num_frames = len(self._decoder)
        if self._num_frames == 0:
            raise DecodeError(f'no video frames in {self.path} (torchcodec)', self.path)

    def __len__(self) -> int:
        return self._num_frames

    @property
    def avg_fps(self) -> float:
        fps = self._decoder.metadata.average_fps
        return float(fps) if fps else 30.0

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        if self._decoder is None:
            raise RuntimeError(f'{self!r} is closed')
        inds = np.minimum(normalize_indices(indices, self.path), self._num_frames - 1)
        targets = sorted(set(inds.tolist()))
        try:
            batch = self._decoder.get_frames_at(indices=targets).data  # [N, C, H, W] uint8
        except (RuntimeError, IndexError) as err:
            raise DecodeError(f'torchcodec cannot decode frames of {self.path}: {_said(err)}',
                              self.path) from err
        images = batch.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        return gather(dict(zip(targets, images)), inds)

    def close(self) -> None:
        self._decoder = None
