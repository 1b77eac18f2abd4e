"""The OpenCV reader: sequential ``grab()`` with a seek only across long gaps.

``cv2.VideoCapture`` seeks with ``CAP_PROP_POS_FRAMES`` by re-decoding from the previous
keyframe, which is slow (and inaccurate for variable frame rate files) when done per frame.
This reader walks forward with ``grab()`` (decode without colour conversion), calls
``retrieve()`` only for requested frames, and seeks only when the next frame is further away
than any GOP is likely to be. OpenCV's frame count is an estimate from duration and frame
rate; when the stream ends earlier the reader corrects ``len(reader)`` and answers the
indices past the end with the last frame.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import DecodeError
from .base import VideoReader, check_complete_mp4, check_video_file, gather, normalize_indices

__all__ = ['OpenCVReader']

logger = logging.getLogger(__name__)

# Seek (instead of grabbing forward) only across gaps longer than this many frames.
_SEEK_GAP = 300


class OpenCVReader(VideoReader):
    """Video reader on ``cv2.VideoCapture`` (FFmpeg backend).

    Args:
        path: the video file.
        num_threads: decoder threads (``CAP_PROP_N_THREADS``); ``None`` keeps OpenCV's default.

    Raises:
        DataError: the file is missing or empty.
        DecodeError: OpenCV cannot open the file or it has no frames.
    """

    backend = 'opencv'

    def __init__(self, path: str, num_threads: int | None = None) -> None:
        import cv2

        self._cv2 = cv2
        self.path = check_video_file(path)
        check_complete_mp4(self.path)  # else frames before the cut decode, and score
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 0):
            raise ValueError(f'num_threads must be None or an int >= 0, got {num_threads!r}')
        self.num_threads = num_threads
        self._cap: Any = None
        self._open()
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self._num_frames = count if count > 0 else self._count_frames()
        if self._num_frames <= 0:
            self.close()
            raise DecodeError(f'no video frames in {self.path} (OpenCV)', self.path)

    def _open(self) -> None:
        cv2 = self._cv2
        params = [] if self.num_threads is None else [cv2.CAP_PROP_N_THREADS, self.num_threads]
        self.close()
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            raise DecodeError(f'OpenCV cannot open video {self.path} (not a video, corrupt, or '
                              f'no video stream)', self.path)
        self._cap, self._pos = cap, 0

    def _count_frames(self) -> int:
        count = 0
        while self._cap.grab():
            count += 1
        self._open()
        return count

    def __len__(self) -> int:
        return self._num_frames

    @property
    def avg_fps(self) -> float:
        return self._fps if self._fps > 0 else 30.0

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        if self._cap is None:
            raise RuntimeError(f'{self!r} is closed')
        inds = np.minimum(normalize_indices(indices, self.path), self._num_frames - 1)
        frames: dict[int, np.ndarray] = {}
        targets = sorted(set(inds.tolist()))
        for idx in targets:
            frame = self._read(idx)
            if frame is None:  # the stream ended before idx: the count was an estimate
                last = self._end_of_stream()
                frames[self._num_frames - 1] = last
                break
            frames[idx] = frame
        return gather(frames, np.minimum(inds, self._num_frames - 1))

    def _read(self, idx: int) -> np.ndarray | None:
        """Move to frame ``idx`` and return it as RGB, or None past the end of the stream."""
        cv2 = self._cv2
        if idx < self._pos:
            self._open()
        if idx - self._pos > _SEEK_GAP:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
            self._pos = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))
            if self._pos > idx:
                self._open()
        while self._pos < idx:
            if not self._cap.grab():
                return None
            self._pos += 1
        ok = self._cap.grab()
        if ok:
            ok, bgr = self._cap.retrieve()
        if not ok:
            return None
        self._pos += 1
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _end_of_stream(self) -> np.ndarray:
        """Correct the frame count to where the stream ended and return the last frame."""
        real = self._pos
        if real == 0:
            raise DecodeError(f'OpenCV cannot decode any frame of {self.path}', self.path)
        if _is_iso_media(self.path):  # an MP4/MOV sample table is exact: the file was cut
            raise DecodeError(f'{self.path} is truncated: its index lists {self._num_frames} '
                              f'frames but the stream ends after {real}', self.path)
        logger.warning('%s: OpenCV estimated %d frames but the stream ends after %d; frames '
                       'past the end are replaced by the last one', self.path,
                       self._num_frames, real)
        self._num_frames = real
        self._open()
        last = self._read(real - 1)
        if last is None:
            raise DecodeError(f'OpenCV cannot decode frame {real - 1} of {self.path}', self.path)
        return last

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _is_iso_media(path: str) -> bool:
    """Whether ``path`` is an ISO base media file (MP4, MOV, M4V: an ``ftyp`` box first)."""
    with open(path, 'rb') as file:
        return file.read(8)[4:8] == b'ftyp'

