"""The TorchCodec reader (``pip install torchcodec``; needs a system FFmpeg 4 to 7)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import DecodeError
from .base import VideoReader, check_video_file, gather, normalize_indices

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
        DecodeError: the file cannot be opened or decoded.
    """

    backend = 'torchcodec'

    def __init__(self, path: str, num_threads: int = 1, device: str = 'cpu') -> None:
        video_decoder = _import_video_decoder()
        self.path = check_video_file(path)
        options: dict[str, Any] = dict(seek_mode='exact', num_ffmpeg_threads=num_threads)
        if device != 'cpu':  # older torchcodec versions take no device argument
            options['device'] = device
        try:
            self._decoder: Any = video_decoder(self.path, **options)
        except (RuntimeError, ValueError) as err:
            raise DecodeError(f'torchcodec cannot open video {self.path}: {err}',
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
            raise DecodeError(f'torchcodec cannot decode frames of {self.path}: {err}',
                              self.path) from err
        images = batch.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        return gather(dict(zip(targets, images)), inds)

    def close(self) -> None:
        self._decoder = None
