"""Reading, writing, re-encoding and frame extraction of single video files with PyAV.

These are the file-level operations behind the synthetic dataset and the data-preparation
tools (``tools/data/extract_frames.py``, ``tools/data/resize_videos.py``). Frames are always
``uint8`` RGB arrays of shape ``[H, W, 3]``; a clip is ``[T, H, W, 3]``.

Outputs are written atomically: to a hidden temporary file or folder next to the target, then
renamed, so an interrupted run never leaves a half-written video or frame folder behind under
the final name (which is what makes the batch tools resumable).

Example:
    >>> clip = np.zeros((8, 32, 32, 3), dtype=np.uint8)
    >>> write_video('/tmp/black.mp4', clip, fps=25, gop=4)  # doctest: +SKIP
    >>> read_video('/tmp/black.mp4').shape  # doctest: +SKIP
    (8, 32, 32, 3)
"""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ...utils.checks import check_positive_int
from ...errors import DecodeError
from ...utils.atomic import temp_path

__all__ = ['VideoWriter', 'write_video', 'read_video', 'iter_video_frames', 'video_info',
           'resize_short_side', 'scaled_size', 'extract_frames', 'resize_video']

logger = logging.getLogger(__name__)

_IMAGE_FORMATS = ('jpg', 'png')


def _as_fraction(fps: float | Fraction, name: str = 'fps') -> Fraction:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)):
        raise TypeError(f'{name} must be a positive number, got {fps!r} ({type(fps).__name__})')
    rate = Fraction(fps).limit_denominator(1001) if isinstance(fps, float) else Fraction(fps)
    if rate <= 0:
        raise ValueError(f'{name} must be positive, got {fps!r}')
    return rate


def _check_frame(frame: Any, width: int, height: int, where: str) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise TypeError(f'{where}: expected a numpy array [H, W, 3], got {type(frame).__name__}')
    if frame.dtype != np.uint8:
        raise TypeError(f'{where}: expected dtype uint8, got {frame.dtype}')
    if frame.shape != (height, width, 3):
        raise ValueError(f'{where}: expected shape {(height, width, 3)} (H, W, RGB), '
                         f'got {frame.shape}')
    return frame


class VideoWriter:
    """Encode RGB frames one at a time into a video file with PyAV.

    Args:
        path: output file; its extension chooses the container (``.mp4``, ``.mkv``, ``.avi``).
        width, height: frame size in pixels; both must be even for ``yuv420p``.
        fps: frame rate (int, float or ``Fraction``).
        gop: distance between key frames. A short GOP (8-16) makes seeking, hence sparse frame
            sampling, cheap; the x264 default is 250.
        codec: an FFmpeg encoder name, ``'libx264'`` (H.264) by default.
        crf: x264 constant rate factor (0 = lossless, 18 = visually lossless, 23 = default).
        preset: x264 speed preset (``'ultrafast'`` … ``'veryslow'``).
        pix_fmt: pixel format of the encoded stream.
        threads: encoder threads; 1 keeps parallel workers from oversubscribing the cores.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int,
                 fps: float | Fraction = 30, gop: int = 12, codec: str = 'libx264', crf: int = 18,
                 preset: str = 'veryfast', pix_fmt: str = 'yuv420p', threads: int = 1) -> None:
        import av

        for name, value in (('width', width), ('height', height), ('gop', gop),
                            ('threads', threads)):
            check_positive_int(None, name, value)
        if pix_fmt == 'yuv420p' and codec in ('libx264', 'libx265') and (width % 2 or height % 2):
            raise ValueError(f'{codec} yuv420p video needs an even width and height, got '
                             f'{width}x{height} for {path}; crop or pad the frames by one pixel '
                             "(or use codec='mpeg4')")
        if not isinstance(crf, int) or not 0 <= crf <= 51:
            raise ValueError(f'crf must be an int in [0, 51], got {crf!r}')
        self.path = str(path)
        self.width, self.height = int(width), int(height)
        self.rate = _as_fraction(fps)
        self._count = 0
        self._container = av.open(self.path, mode='w')
        try:
            stream = self._container.add_stream(codec, rate=self.rate)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, pix_fmt
            stream.codec_context.gop_size = int(gop)
            if codec in ('libx264', 'libx265'):
                params = f'keyint={gop}:min-keyint={gop}:scenecut=0'
                stream.options = {'crf': str(crf), 'preset': preset, 'threads': str(threads),
                                  f'{codec[3:]}-params': params}
            else:
                stream.bit_rate = 4_000_000
            self._stream = stream
        except Exception:
            self._container.close()
            raise

    @property
    def num_frames(self) -> int:
        """How many frames were written so far."""
        return self._count

    def write(self, frame: np.ndarray) -> None:
        """Encode one ``[H, W, 3]`` uint8 RGB frame."""
        import av

        _check_frame(frame, self.width, self.height, f'frame {self._count} for {self.path}')
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')
        video_frame.pts = self._count
        video_frame.time_base = 1 / self.rate
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self._count += 1

    def close(self) -> None:
        """Flush the encoder and close the file (idempotent)."""
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def write_video(path: str | os.PathLike, frames: np.ndarray | Iterable[np.ndarray],
                fps: float | Fraction = 30, gop: int = 12, codec: str = 'libx264', crf: int = 18,
                preset: str = 'veryfast') -> int:
    """Write a clip to a video file atomically (temporary file, then rename).

    Args:
        path: output file (``.mp4`` for H.264).
        frames: a ``[T, H, W, 3]`` uint8 RGB array, or an iterable of ``[H, W, 3]`` frames.
        fps, gop, codec, crf, preset: see :class:`VideoWriter`.

    Returns:
        int: the number of frames written.
    """
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
            raise ValueError(f'frames must have shape [T, H, W, 3] with T >= 1, got {frames.shape}')
        if frames.dtype != np.uint8:
            raise TypeError(f'frames must be uint8, got {frames.dtype}')
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError(f'cannot write {path}: no frames given')
    if not isinstance(first, np.ndarray) or first.ndim != 3:
        shape = getattr(first, 'shape', first)
        raise ValueError(f'each frame must be an [H, W, 3] array, got {shape}')
    target = Path(path)
    temp = temp_path(target, directory=False)
    try:
        with VideoWriter(temp, first.shape[1], first.shape[0], fps=fps, gop=gop, codec=codec,
                         crf=crf, preset=preset) as writer:
            writer.write(first)
            for frame in iterator:
                writer.write(frame)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return writer.num_frames


def _open_input(path: str | os.PathLike) -> Any:
    import av

    if not os.path.isfile(path):
        raise DecodeError(f'video file not found: {path}', path=str(path))
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as err:
        raise DecodeError(f'cannot open video {path}: {err}', path=str(path)) from err
    if not container.streams.video:
        container.close()
        raise DecodeError(f'{path} has no video stream', path=str(path))
    return container


def iter_video_frames(path: str | os.PathLike) -> Iterator[tuple[np.ndarray, float | None]]:
    """Decode a video lazily.

    Yields:
        tuple: ``(frame, time)``: an ``[H, W, 3]`` uint8 RGB frame and its presentation time in
        seconds (``None`` when the file has no timestamps).

    Raises:
        DecodeError: the file is missing, is not a video, or is corrupt (names the file).
    """
    import av

    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format='rgb24'), frame.time
        except av.error.FFmpegError as err:
            raise DecodeError(f'cannot decode {path}: {err}', path=str(path)) from err
    finally:
        container.close()


def read_video(path: str | os.PathLike) -> np.ndarray:
    """Decode every frame of a video into a ``[T, H, W, 3]`` uint8 RGB array.

    Raises:
        DecodeError: unreadable file, or a video without a single decodable frame.
    """
    frames = [frame for frame, _ in iter_video_frames(path)]
    if not frames:
        raise DecodeError(f'{path} contains no decodable video frame', path=str(path))
    return np.stack(frames)


def video_info(path: str | os.PathLike) -> dict[str, Any]:
    """Read a video's header: ``width``, ``height``, ``fps`` (Fraction or None) and
    ``num_frames`` (as the container declares it; 0 when unknown)."""
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return dict(width=stream.codec_context.width, height=stream.codec_context.height,
                    fps=Fraction(rate) if rate else None, num_frames=int(stream.frames or 0))
    finally:
        container.close()


def scaled_size(width: int, height: int, new_short: int, even: bool = False) -> tuple[int, int]:
    """The ``(width, height)`` whose shorter side is ``new_short``, keeping the aspect ratio.

    Args:
        even: round both sides to even numbers (needed for yuv420p video).
    """
    if new_short <= 0:
        raise ValueError(f'new_short must be a positive int, got {new_short!r}')
    scale = new_short / min(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if even:
        new_w, new_h = max(2, 2 * round(new_w / 2)), max(2, 2 * round(new_h / 2))
    return new_w, new_h


def resize_short_side(image: np.ndarray, new_short: int, even: bool = False) -> np.ndarray:
    """Resize an ``[H, W, C]`` image so that its shorter side is ``new_short`` pixels
    (area interpolation when shrinking, bilinear when enlarging)."""
    import cv2

    height, width = image.shape[:2]
    new_w, new_h = scaled_size(width, height, new_short, even=even)
    if (new_w, new_h) == (width, height):
        return image
    shrink = new_w * new_h < width * height
    return cv2.resize(image, (new_w, new_h),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def extract_frames(video_path: str | os.PathLike, frame_dir: str | os.PathLike,
                   new_short: int = 0, out_format: str = 'jpg', filename_tmpl: str = 'img_{:05d}',
                   jpeg_quality: int = 95) -> int:
    """Decode a video into a rawframe folder ``frame_dir/img_00001.jpg`` … (1-based).

    The frames are written to a hidden temporary folder beside ``frame_dir`` that is renamed
    to ``frame_dir`` once every frame is on disk; an existing ``frame_dir`` is replaced.

    Args:
        video_path: the video to decode.
        frame_dir: the folder to create.
        new_short: resize so the shorter side has this many pixels (0 keeps the size).
        out_format: ``'jpg'`` or ``'png'``.
        filename_tmpl: file name pattern without extension, formatted with the 1-based index.
        jpeg_quality: JPEG quality (0-100).

    Returns:
        int: the number of frames written.

    Raises:
        DecodeError: the video cannot be read or has no frames (nothing is left on disk).
    """
    import cv2

    if out_format not in _IMAGE_FORMATS:
        raise ValueError(f'out_format must be one of {_IMAGE_FORMATS}, got {out_format!r}')
    target = Path(frame_dir)
    temp = temp_path(target, directory=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if out_format == 'jpg' else []
    count = 0
    try:
        for frame, _ in iter_video_frames(video_path):
            if new_short:
                frame = resize_short_side(frame, new_short)
            count += 1
            name = temp / f'{filename_tmpl.format(count)}.{out_format}'
            if not cv2.imwrite(str(name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params):
                raise OSError(f'cannot write {name}')
        if count == 0:
            raise DecodeError(f'{video_path} contains no decodable video frame',
                              path=str(video_path))
        if target.exists():
            shutil.rmtree(target)
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return count


def _retimed(frames: Iterator[tuple[np.ndarray, float | None]], src_fps: Fraction,
             out_fps: Fraction) -> Iterator[np.ndarray]:
    """Resample a stream of timed frames to a constant ``out_fps``: output frame k shows the
    last input frame whose time is at most k / out_fps."""
    step_in, step_out = 1 / float(src_fps), 1 / float(out_fps)
    previous, start, last_time, k = None, None, 0.0, 0
    for index, (frame, time) in enumerate(frames):
        time = index * step_in if time is None else time
        start = time if start is None else start
        last_time = time - start
        while previous is not None and k * step_out < last_time - 1e-6:
            yield previous
            k += 1
        previous = frame
    if previous is not None:
        while k * step_out < last_time + step_in - 1e-6:
            yield previous
            k += 1


def resize_video(src: str | os.PathLike, dst: str | os.PathLike, new_short: int = 0,
                 gop: int = 16, fps: float | None = None, crf: int = 23,
                 preset: str = 'veryfast') -> int:
    """Re-encode a video as H.264 (no audio), optionally resized and re-timed.

    Args:
        src: the input video.
        dst: the output file, written atomically.
        new_short: resize so the shorter side has this many pixels, both sides rounded to even
            numbers (0 keeps the size, rounded down to even).
        gop: key frame interval of the output; 16 makes sparse sampling cheap to decode.
        fps: output frame rate (frames are repeated or dropped); ``None`` keeps the input's.
        crf, preset: x264 quality and speed, see :class:`VideoWriter`.

    Returns:
        int: the number of frames written.

    Raises:
        DecodeError: the input cannot be read or has no frames (no output is left on disk).
    """
    info = video_info(src)
    src_fps = info['fps'] or Fraction(30)
    out_fps = _as_fraction(fps) if fps is not None else src_fps
    frames: Iterator[Any] = iter_video_frames(src)
    frames = _retimed(frames, src_fps, out_fps) if fps is not None else (f for f, _ in frames)
    if new_short:
        frames = (resize_short_side(f, new_short, even=True) for f in frames)
    else:
        frames = (f[:f.shape[0] // 2 * 2, :f.shape[1] // 2 * 2] for f in frames)
    try:
        return write_video(dst, frames, fps=out_fps, gop=gop, crf=crf, preset=preset)
    except ValueError as err:
        if 'no frames given' in str(err):
            raise DecodeError(f'{src} contains no decodable video frame', path=str(src)) from err
        raise
