"""The decord reader (``pip install decord2``), as MMAction2 0.x's ``DecordInit`` uses it.

decord maps indices to frames by timestamp, which goes wrong in AVI files with B-frames and
several keyframes (it returns neighbouring frames). For ``.avi`` files this reader therefore
decodes sequentially from the first frame, which is what frame ``i`` means everywhere else.
A video with a rotation in its display matrix is refused (decord cannot turn it upright as
the PyAV and OpenCV readers do).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import DecodeError
from .base import (VideoReader, check_complete_mp4, check_decode_mode, check_video_file, gather,
                   mp4_display_rotation, normalize_indices)

__all__ = ['DecordReader']


def _import_decord() -> Any:
    try:
        import decord
    except ImportError as err:
        raise ImportError("the decord backend needs decord: pip install decord2 "
                          "(or pip install 'actionkit[decord]')") from err
    return decord


class DecordReader(VideoReader):
    """Video reader on ``decord.VideoReader``.

    Args:
        path: the video file.
        num_threads: decoder threads.
        mode: ``'accurate'`` (``get_batch``) or ``'efficient'`` (seek to the keyframe before
            each index and return it; fast, approximate).

    Raises:
        ImportError: decord is not installed (the message says how to install it).
        DataError: the file is missing or empty.
        DecodeError: decord cannot open or decode the file.
    """

    backend = 'decord'

    def __init__(self, path: str, num_threads: int = 1, mode: str = 'accurate') -> None:
        check_decode_mode(mode)
        if not isinstance(num_threads, int) or num_threads < 0:
            raise ValueError(f'num_threads must be an int >= 0, got {num_threads!r}')
        self._decord = _import_decord()
        self.path = check_video_file(path)
        self.mode = mode
        check_complete_mp4(self.path)  # decord would decode up to the cut, or not, by chance
        rotation = mp4_display_rotation(self.path)
        if rotation:
            # decord turns the frame size but not the pixels, and then fails (or returns
            # scrambled frames): refuse, rather than disagree with the other backends
            raise DecodeError(f'{self.path} asks players to rotate it by {rotation} degrees '
                              '(its display matrix), which decord cannot do; decode it with '
                              'PyAV (PyAVInit/PyAVDecode, the default) or OpenCV, which turn '
                              'it upright', self.path)
        self._sequential = self.path.lower().endswith('.avi')
        try:
            self._vr: Any = self._decord.VideoReader(self.path, num_threads=num_threads)
        except (self._decord.DECORDError, RuntimeError) as err:
            raise DecodeError(f'decord cannot open video {self.path}: {_first_line(err)}',
                              self.path) from err
        if len(self._vr) == 0:
            raise DecodeError(f'no video frames in {self.path} (decord)', self.path)

    def set_decode_options(self, mode: str | None = None) -> None:
        """Change ``mode`` (e.g. from ``DecordDecode``) before decoding."""
        if mode is not None:
            self.mode = check_decode_mode(mode)

    def __len__(self) -> int:
        return len(self._vr)

    @property
    def avg_fps(self) -> float:
        return float(self._vr.get_avg_fps())

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        if self._vr is None:
            raise RuntimeError(f'{self!r} is closed')
        inds = np.minimum(normalize_indices(indices, self.path), len(self._vr) - 1)
        targets = sorted(set(inds.tolist()))
        try:
            if self._sequential:
                batch = self._vr.get_batch(list(range(targets[-1] + 1))).asnumpy()
                frames = {idx: batch[idx] for idx in targets}
            elif self.mode == 'accurate':
                batch = self._vr.get_batch(targets).asnumpy()
                frames = dict(zip(targets, batch))
            else:
                frames = {}
                for idx in targets:
                    self._vr.seek(idx)
                    frames[idx] = self._vr.next().asnumpy()
        except (self._decord.DECORDError, RuntimeError) as err:
            raise DecodeError(f'decord cannot decode frames of {self.path}: '
                              f'{_first_line(err)}', self.path) from err
        return gather(frames, inds)

    def close(self) -> None:
        self._vr = None


def _first_line(err: BaseException) -> str:
    """decord's messages carry a long C++ stack trace; keep the first line."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
