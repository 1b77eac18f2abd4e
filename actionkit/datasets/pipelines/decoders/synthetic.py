"""Write small synthetic videos with PyAV, for tests and benchmarks.

Each frame shows a smooth colour gradient that drifts over time and a bright bar whose
position encodes the frame index, so two different frames never look alike and a decoder
that returns the wrong frame is caught by comparing pixels.
"""
from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

__all__ = ['synthetic_frame', 'write_video']


def synthetic_frame(index: int, width: int, height: int) -> np.ndarray:
    """The ``index``-th synthetic frame, ``height x width x 3`` ``uint8`` RGB."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * 0.15
    red = 127 + 100 * np.sin(xs / max(width, 1) * 6.28 + phase)
    green = 127 + 100 * np.cos(ys / max(height, 1) * 6.28 - phase)
    blue = 127 + 100 * np.sin((xs + ys) / max(width + height, 1) * 12.56 + 2 * phase)
    frame = np.stack([red, green, blue], axis=-1).astype(np.uint8)
    bar = (index * 7) % max(width - 8, 1)
    frame[:, bar:bar + 8] = 255
    row = (index * 3) % max(height - 4, 1)
    frame[row:row + 4, :] = 0
    return frame


def write_video(path: str | os.PathLike, num_frames: int = 30, width: int = 64,
                height: int = 48, fps: int = 25, gop: int = 12, codec: str = 'libx264',
                bframes: int = 2, pts: list[int] | None = None) -> str:
    """Encode ``num_frames`` synthetic frames into ``path`` and return the path.

    Args:
        path: the output file; its extension picks the container (``.mp4``, ``.mkv``,
            ``.avi`` …).
        num_frames: how many frames to write.
        width, height: the frame size (even numbers for 4:2:0 codecs).
        fps: the nominal frame rate.
        gop: the keyframe interval (frames).
        codec: an FFmpeg encoder name available in PyAV (``'libx264'``, ``'mpeg4'`` …).
        bframes: the maximum number of consecutive B-frames.
        pts: optional presentation timestamps in units of ``1/fps`` (for variable frame
            rate videos); defaults to ``0, 1, 2, …``.
    """
    import av

    path = os.fspath(path)
    with av.open(path, mode='w') as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuv420p'
        stream.time_base = Fraction(1, fps)
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = bframes
        if codec == 'libx264':
            stream.options = {'g': str(gop), 'keyint_min': str(gop), 'sc_threshold': '0',
                              'bf': str(bframes), 'preset': 'veryfast', 'crf': '23'}
        for index in range(num_frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(index, width, height),
                                               format='rgb24')
            frame.pts = index if pts is None else pts[index]
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
