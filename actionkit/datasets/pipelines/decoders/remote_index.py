"""The frame table of a remote MP4/MOV video without transferring its media data.

:class:`~.pyav_reader.PyAVReader` builds its frame table (the presentation timestamp of every
frame and which frames are keyframes) by demuxing every packet once. On a local file that
costs a read of the file from the page cache; on object storage it would transfer the whole
video to decode a few GOPs. In an MP4/MOV file everything the table needs is in the sample
tables of the ``moov`` box: FFmpeg's demuxer takes each packet's timestamps from ``stts`` /
``ctts`` / the edit list and its size and position from ``stsz`` / ``stco``; only the
keyframe flag may come from a parser reading the packet's bytes, and the sample table's own
sync-sample flags (``stss``, FFmpeg's index entries) agree with it.

So :func:`mov_frame_table` demuxes a second container over a view of the file in which the
``mdat`` boxes read as zeros without being fetched, and takes the keyframe flags from the
index entries. It answers ``None`` (the caller then demuxes for real) for anything else: not
MP4/MOV, no ``mdat``, fragmented files, or a packet count that disagrees with the sample
table (a truncated file). The decoding run itself still checks every timestamp it decodes
against the table and falls back to a sequential decode on a mismatch.
"""
from __future__ import annotations

from typing import Any

from ....utils.fileio import SeekableReader
from .base import _boxes

__all__ = ['mov_frame_table']


class _SkipMediaData(SeekableReader):
    """A read-only view of a seekable binary file whose ``holes`` (byte ranges) read as
    zeros without being read. It keeps its own position and puts the underlying file's back
    after every read, so another reader of that file (the decoding container) is undisturbed.
    """

    def __init__(self, base: Any, holes: list[tuple[int, int]], size: int) -> None:
        super().__init__()
        self._base, self._holes, self.size, self._pos = base, holes, size, 0
        self.name = getattr(base, 'name', '')

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast('B')
        count = max(0, min(len(view), self.size - self._pos))
        for start, end in self._holes:
            if start <= self._pos < end:  # inside media data: zeros, nothing fetched
                count = min(count, end - self._pos)
                view[:count] = bytes(count)
                self._pos += count
                return count
            if self._pos < start:
                count = min(count, start - self._pos)
        saved = self._base.tell()
        try:
            self._base.seek(self._pos)
            data = self._base.read(count)
        finally:
            self._base.seek(saved)
        view[:len(data)] = data
        self._pos += len(data)
        return len(data)


def mov_frame_table(av: Any, fileobj: Any, size: int) -> list[tuple[Any, bool]] | None:
    """``(pts, is_keyframe)`` per frame of the first video stream of the MP4/MOV file
    ``fileobj`` (``size`` bytes), in decode order, from its sample tables alone; ``None``
    when the file is not one this works for (see the module docstring).

    Args:
        av: the imported ``av`` module.
        fileobj: a seekable binary file (a :class:`~actionkit.utils.fileio.RemoteFile`).
        size: its size in bytes.
    """
    saved = fileobj.tell()  # the decoding container reads the same file: leave it in place
    try:
        fileobj.seek(0)
        if fileobj.read(8)[4:8] != b'ftyp':
            return None
        boxes = list(_boxes(fileobj, 0, size))
    finally:
        fileobj.seek(saved)
    kinds = {kind for kind, _, _ in boxes}
    if b'moov' not in kinds or b'mdat' not in kinds or b'moof' in kinds:
        return None
    holes = [(body, stop) for kind, body, stop in boxes if kind == b'mdat']
    try:
        container = av.open(_SkipMediaData(fileobj, holes, size), metadata_errors='ignore')
    except (av.FFmpegError, OSError, ValueError):
        return None
    try:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        packets = [(p.pts, p.is_discard) for p in container.demux(stream) if p.size]
        keys = [bool(entry.is_keyframe) for entry in stream.index_entries]
        listed = stream.frames
    except av.FFmpegError:
        return None
    finally:
        container.close()
    if not packets or len(packets) != len(keys) or len(packets) != listed:
        return None
    return [(pts, key) for (pts, discard), key in zip(packets, keys) if not discard]
