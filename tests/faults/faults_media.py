"""Hostile and unusual media for the fault suite, made on the fly with PyAV and OpenCV.

Every function writes one file (or folder) and returns its path. The clips are tiny, except
the 4K one, whose frames are written straight in YUV so that encoding stays cheap.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from actionkit.datasets.pipelines.decoders.synthetic import synthetic_frame, write_video

__all__ = ['write_clip', 'write_faststart_copy', 'write_truncated', 'write_random_bytes',
           'write_audio_only', 'write_lying_avi', 'write_4k_clip', 'write_frame_folder',
           'write_rotated_clip', 'write_size_change',
           'CLIP_FRAMES']

CLIP_FRAMES = 24  # frames of the ordinary test clip


def write_clip(path: str | os.PathLike, num_frames: int = CLIP_FRAMES, codec: str = 'libx264',
               bframes: int = 2) -> Path:
    """An ordinary 64x48 clip (H.264 in MP4 unless ``path``/``codec`` say otherwise)."""
    return Path(write_video(path, num_frames=num_frames, width=64, height=48, gop=8,
                            codec=codec, bframes=bframes))


def write_faststart_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Remux ``src`` into an MP4 whose index (``moov``) comes before the data (``mdat``).

    PyAV's muxer writes the index last, so cutting such a file anywhere loses the index. With
    the index first (as streaming sites serve MP4s), a cut file still opens and lists every
    frame: the decoder only finds out when the data runs out.
    """
    import av

    with av.open(os.fspath(src)) as source, \
            av.open(os.fspath(dst), 'w', options={'movflags': 'faststart'}) as out:
        in_stream = source.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        for packet in source.demux(in_stream):
            if packet.dts is None:  # the demuxer's final flush packet
                continue
            packet.stream = out_stream
            out.mux(packet)
    data = Path(dst).read_bytes()
    assert data.find(b'moov') < data.find(b'mdat'), 'faststart remux kept the index last'
    return Path(dst)


def write_truncated(src: str | os.PathLike, dst: str | os.PathLike, fraction: float) -> Path:
    """The first ``fraction`` of the bytes of ``src``, as a download cut off midway leaves."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[:int(len(data) * fraction)])
    return Path(dst)


def write_random_bytes(path: str | os.PathLike, size: int = 6000, seed: int = 0) -> Path:
    """``size`` random bytes under a video name."""
    Path(path).write_bytes(np.random.default_rng(seed).bytes(size))
    return Path(path)


def write_audio_only(path: str | os.PathLike) -> Path:
    """An MP4 with one AAC audio stream (a second of silence) and no video stream."""
    import av

    with av.open(os.fspath(path), 'w') as container:
        stream = container.add_stream('aac', rate=16000)
        for index in range(16):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format='fltp',
                                               layout='mono')
            frame.sample_rate, frame.pts = 16000, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return Path(path)


def write_lying_avi(path: str | os.PathLike, real_frames: int = 20,
                    claimed_frames: int = 60) -> Path:
    """An AVI of ``real_frames`` frames whose headers claim ``claimed_frames``.

    The frame count of the main header (``avih.dwTotalFrames``) and of the stream header
    (``strh.dwLength``) are patched; OpenCV believes them, PyAV and decord count packets.
    """
    write_video(path, num_frames=real_frames, width=64, height=48, gop=8, codec='mpeg4',
                bframes=0)
    data = bytearray(Path(path).read_bytes())
    # avih: 8-byte chunk header, then 4 dwords before dwTotalFrames; strh: 8 dwords before
    # dwLength (fccType, fccHandler, dwFlags, wPriority+wLanguage, dwInitialFrames, dwScale,
    # dwRate, dwStart)
    for tag, offset in ((b'avih', 8 + 16), (b'strh', 8 + 32)):
        pos = data.find(tag) + offset
        assert struct.unpack_from('<I', data, pos)[0] == real_frames, f'{tag!r} not found'
        struct.pack_into('<I', data, pos, claimed_frames)
    Path(path).write_bytes(bytes(data))
    return Path(path)


def write_4k_clip(path: str | os.PathLike, num_frames: int) -> Path:
    """A 3840x2160 MPEG-4 clip: a grey ramp with a white bar that moves every frame.

    Frames are handed to the encoder in YUV 4:2:0, which skips the costly RGB conversion.
    """
    import av

    width, height = 3840, 2160
    with av.open(os.fspath(path), 'w') as container:
        stream = container.add_stream('mpeg4', rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        stream.codec_context.gop_size = 6
        base = np.full((height * 3 // 2, width), 128, np.uint8)  # Y plane, then U and V
        base[:height] = (np.arange(width) % 200).astype(np.uint8)[None]
        for index in range(num_frames):
            planes = base.copy()
            left = (index * 97) % (width - 64)
            planes[:height, left:left + 64] = 255
            frame = av.VideoFrame.from_ndarray(planes, format='yuv420p')
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return Path(path)


def write_frame_folder(folder: str | os.PathLike, num_frames: int = 8,
                       tmpl: str = 'img_{:05}.jpg', start: int = 1) -> Path:
    """A rawframe folder of ``num_frames`` 64x48 JPEGs named ``tmpl.format(start + i)``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(num_frames):
        rgb = synthetic_frame(index, 64, 48)
        ok = cv2.imwrite(str(folder / tmpl.format(start + index)),
                         cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok, f'cv2.imwrite failed in {folder}'
    return folder


def _encode_rgb(container: object, stream: object, rgb_frames: list[np.ndarray],
                first_pts: int = 0) -> None:
    """Encode RGB frames into ``stream`` of ``container`` and flush the encoder."""
    import av

    for index, rgb in enumerate(rgb_frames):
        frame = av.VideoFrame.from_ndarray(rgb, format='rgb24')
        frame.pts = first_pts + index
        for packet in stream.encode(frame):  # type: ignore[attr-defined]
            container.mux(packet)  # type: ignore[attr-defined]
    for packet in stream.encode(None):  # type: ignore[attr-defined]
        container.mux(packet)  # type: ignore[attr-defined]


def write_rotated_clip(path: str | os.PathLike, degrees: int, num_frames: int = 8) -> Path:
    """A 64x48 H.264 MP4 whose display matrix asks players to turn it ``degrees``
    counter-clockwise (as phones record portrait video)."""
    import av

    with av.open(os.fspath(path), 'w') as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, 'yuv420p'
        if degrees:
            stream.set_display_rotation(degrees)
        _encode_rgb(container, stream, [synthetic_frame(i, 64, 48) for i in range(num_frames)])
    return Path(path)


def write_size_change(path: str | os.PathLike, frames_each: int = 8) -> Path:
    """An MPEG-TS H.264 stream that is 64x48 for ``frames_each`` frames, then 96x72 (two
    encodes joined, as a stream that switches quality does)."""
    import io
    from fractions import Fraction

    import av

    parts = []
    for part, (width, height) in enumerate([(64, 48), (96, 72)]):
        buffer = io.BytesIO()
        with av.open(buffer, 'w', format='mpegts') as container:
            stream = container.add_stream('libx264', rate=25)
            stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
            stream.options = {'g': '4', 'bf': '0'}
            stream.time_base = Fraction(1, 25)
            first = part * frames_each
            _encode_rgb(container, stream, [synthetic_frame(first + i, width, height)
                                            for i in range(frames_each)], first)
        parts.append(buffer.getvalue())
    Path(path).write_bytes(b''.join(parts))
    return Path(path)
