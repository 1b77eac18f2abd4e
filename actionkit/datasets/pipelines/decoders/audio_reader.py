"""Read the audio track of a file (``.wav``, ``.m4a``, a video ...) with PyAV (FFmpeg).

>>> from actionkit.datasets.pipelines.decoders.audio_reader import read_audio
>>> samples = read_audio('test.wav', sample_rate=16000)  # doctest: +SKIP

The result is what ``librosa.load(path, sr=sample_rate)`` gives MMAction2 0.x: one
``float32`` channel (the mean of the file's channels) in ``[-1, 1]``. A file already at
``sample_rate`` is not resampled, so its samples are exactly librosa's; otherwise FFmpeg's
resampler (swresample) is used, where librosa uses soxr: the two agree closely but not bit for
bit.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...errors import DecodeError
from ....utils.fileio import display_path, is_remote
from .base import check_video_file, open_remote_video

__all__ = ['read_audio']


def read_audio(path: str | os.PathLike, sample_rate: int | None = 16000) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of ``path`` to mono ``float32`` samples.

    Args:
        path: the file.
        sample_rate: resample to this rate (Hz); None keeps the file's rate.

    Returns:
        ``(samples [n], sample_rate)``.

    Raises:
        DataError: the file is missing, empty or unreadable.
        DecodeError: the file cannot be decoded, has no audio stream, or its audio stream
            holds no samples; the message names the file.
    """
    import av

    source = check_video_file(path)
    path = display_path(source)
    fin = open_remote_video(source) if is_remote(source) else None
    try:
        with av.open(fin or source) as container:
            if not container.streams.audio:
                kinds = sorted({s.type for s in container.streams}) or ['none']
                raise DecodeError(f'{path}: no audio stream (streams: {", ".join(kinds)}); '
                                  'MMAction2 lists such clips without an audio file, which '
                                  'LoadAudioFeature / AudioDecodeInit then pad', path)
            stream = container.streams.audio[0]
            rate = int(sample_rate or stream.rate)
            chunks = _decode(container, stream, rate)
    except av.FFmpegError as err:
        raise DecodeError(f'{path}: cannot decode the audio ({err})', path) from err
    finally:
        if fin is not None:
            fin.close()
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0), np.float32)
    if samples.shape[1] == 0:
        raise DecodeError(f'{path}: the audio stream holds no samples', path)
    return samples.mean(axis=0, dtype=np.float64).astype(np.float32), rate


# integer sample formats and the divisor that maps them to [-1, 1) (libsndfile's, librosa's)
_INT_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


def _as_float(frame: Any) -> np.ndarray:
    """A decoded frame as ``float32 [channels, n]``, converted without FFmpeg's resampler."""
    data = frame.to_ndarray()
    if not frame.format.is_planar:  # interleaved: [1, n * channels]
        data = data.reshape(-1, len(frame.layout.channels)).T
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    if data.dtype in _INT_SCALE:
        return (data / _INT_SCALE[data.dtype]).astype(np.float32)
    return data.astype(np.float32, copy=False)


def _decode(container: Any, stream: Any, rate: int) -> list[np.ndarray]:
    """``[channels, n]`` float32 chunks; resampled only when the rate differs."""
    import av

    if stream.rate == rate:
        return [_as_float(frame) for frame in container.decode(stream)]
    resampler = av.AudioResampler(format='fltp', layout=stream.layout, rate=rate)
    chunks = []
    for frame in container.decode(stream):
        frame.pts = None  # let the resampler count samples itself
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray())
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray())
    return chunks
