"""The PyAV (FFmpeg) reader: decodes only what the requested frames need.

Opening the file demuxes its video packets once (no decoding) to build a frame table: the
presentation timestamp of every frame in display order and which frames are keyframes. That
gives the exact frame count (containers often announce a wrong one, or none) and lets
:meth:`PyAVReader.get_frames` plan the decode:

* frames are grouped into *runs*; a run starts with a seek to the keyframe at or before its
  first frame and decodes forward. A new run (a new seek) starts whenever the next requested
  frame lies past a keyframe that is beyond the frames already decoded, so sparse sampling
  (8 frames spread over a long video) decodes about one GOP per frame, never the whole file;
* packets of frames nobody asked for are decoded with ``skip_frame='NONREF'``: frames no
  other frame refers to (most B-frames) are then skipped by FFmpeg, which cannot change any
  other frame;
* once the packets of all requested frames of a run are sent, the decoder is drained rather
  than fed the further packets its reordering delay would wait for;
* only requested frames are converted to RGB, with one reused swscale context.

Decoded frames are matched to indices by their timestamp. If the timestamps turn out to be
unusable (AVI files with packed B-frames, duplicates, a seek that lands past its target) the
reader falls back to a plain sequential decode from the start and counts frames, which is
what every backend agrees frame ``i`` is.
"""
from __future__ import annotations

import bisect
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ...errors import DataError, DecodeError
from ....utils.fileio import display_path, is_remote
from .base import (VideoReader, check_decode_mode, check_video_file, gather, normalize_indices,
                   open_remote_video)
from .remote_index import mov_frame_table

__all__ = ['PyAVReader']

logger = logging.getLogger(__name__)

# Container formats whose packet timestamps do not follow display order reliably.
_SEQUENTIAL_FORMATS = ('avi',)
# Seek when it skips at least this many undecoded frames; otherwise keep decoding forward.
_MIN_FRAMES_SKIPPED_BY_SEEK = 2


class _IndexMismatch(Exception):
    """Internal: decoded timestamps do not match the frame table; decode sequentially."""


def _import_av() -> Any:
    try:
        import av
    except ImportError as err:  # pragma: no cover - av is a hard dependency
        raise ImportError('the PyAV backend needs the "av" package: pip install av') from err
    return av


class PyAVReader(VideoReader):
    """Frame-accurate video reader on PyAV.

    Args:
        path: the video file, or an ``s3://`` / ``gs://`` / ``http(s)://`` URL, read through a
            seekable file object in ranged requests (only what demuxing and the seeks touch).
        multi_thread: let FFmpeg decode with several threads (``thread_type='AUTO'``).
        mode: ``'accurate'`` returns exactly the requested frames; ``'efficient'`` returns,
            for each requested frame, the keyframe at or before it (fast, approximate; as in
            MMAction2 0.x).

    Raises:
        DataError: the file is missing or empty.
        DecodeError: the file cannot be opened, has no video stream or no decodable packet.
    """

    backend = 'pyav'

    def __init__(self, path: str, multi_thread: bool = False, mode: str = 'accurate') -> None:
        check_decode_mode(mode)
        self._av = _import_av()
        self._source = check_video_file(path)
        self.path = display_path(self._source)
        self.multi_thread = bool(multi_thread)
        self.mode = mode
        self.frames_decoded = 0  # frames the decoder produced so far (for tests and benchmarks)
        self._container: Any = None
        self._file: Any = None  # the RemoteFile of a URL
        self._bytes_fetched = 0  # by the RemoteFiles already closed
        # One reformatter per reader: frame.to_ndarray(format=...) builds a new swscale
        # context for every frame, which costs ten times the conversion itself.
        self._reformatter = self._av.video.reformatter.VideoReformatter()
        self._open()
        try:
            with self._remote_errors():
                self._build_index()
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def _remote_errors(self) -> Iterator[None]:
        """A remote read that fails mid-decode (after its retries; PyAV re-raises it) becomes
        the DataError every unreadable sample raises, naming the URL."""
        try:
            yield
        except OSError as err:
            if not is_remote(self._source):
                raise
            raise DataError(f'cannot read video {self.path}: {err}', self.path) from None

    # ------------------------------------------------------------------ opening and indexing
    def _open(self) -> None:
        av = self._av
        source = self._source
        if is_remote(source):
            self._file = source = open_remote_video(source)
        try:
            container = av.open(source, metadata_errors='ignore')
        except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as err:
            self._close_file()
            raise DecodeError(f'cannot open video {self.path}: {err}', self.path) from err
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ['none']
            container.close()
            self._close_file()
            raise DecodeError(f'no video stream in {self.path} (streams: {", ".join(kinds)})',
                              self.path)
        self._container = container
        self._stream = container.streams.video[0]
        codec = self._stream.codec_context
        # the size of the first frame; every frame is returned at this size
        self._size = (codec.width, codec.height) if codec.width and codec.height else None
        self._size_warned = False
        if self.multi_thread:
            self._stream.thread_type = 'AUTO'

    def _build_index(self) -> None:
        records = self._demux_all()
        self._num_frames = len(records)
        fmt = (self._container.format.name or '').split(',')
        self._sequential = any(name in fmt for name in _SEQUENTIAL_FORMATS)
        pts = [r[0] for r in records]
        if any(p is None for p in pts) or len(set(pts)) != len(pts):
            self._sequential = True
        self._keys: list[int] = []
        if self._sequential:
            return
        self._pts = sorted(pts)
        self._pts_index = {p: i for i, p in enumerate(self._pts)}
        self._keys = sorted(self._pts_index[p] for p, is_key in records if is_key)
        if not self._keys:
            self._sequential = True

    def _demux_all(self) -> list[tuple[Any, bool]]:
        """Read every video packet once (no decoding): ``(pts, is_keyframe)`` per frame.

        A remote MP4/MOV file gets its table from the sample tables alone, without fetching
        its media data (:func:`.remote_index.mov_frame_table`).
        """
        av = self._av
        if self._file is not None and 'mov' in (self._container.format.name or '').split(','):
            table = mov_frame_table(av, self._file, self._file.size)
            if table:
                return table
        records: list[tuple[Any, bool]] = []
        num_packets, last_size = 0, 0
        try:
            for packet in self._container.demux(self._stream):
                if packet.size:
                    num_packets, last_size = num_packets + 1, packet.size
                    if not packet.is_discard:
                        records.append((packet.pts, packet.is_keyframe))
        except av.FFmpegError as err:
            raise DecodeError(f'cannot read the video packets of {self.path} (truncated or '
                              f'corrupt after {num_packets} packets): {err}', self.path) from err
        if not records:
            raise DecodeError(f'no video frames in {self.path}', self.path)
        if 'mov' in (self._container.format.name or '').split(','):
            self._check_complete_mov(num_packets, last_size)
        return records

    def _check_complete_mov(self, num_packets: int, last_size: int) -> None:
        """An MP4/MOV sample table is exact: missing or short packets mean a cut-off file."""
        listed = self._stream.frames
        entries = self._stream.index_entries
        short = (len(entries) == listed == num_packets
                 and 0 < last_size < entries[num_packets - 1].size)
        if num_packets < listed or short:
            raise DecodeError(f'{self.path} is truncated: its index lists {listed} frames but '
                              f'the file stops at frame {num_packets}', self.path)

    # ------------------------------------------------------------------ interface
    def set_decode_options(self, multi_thread: bool | None = None,
                           mode: str | None = None) -> None:
        """Change ``multi_thread`` / ``mode`` (e.g. from ``PyAVDecode``) before decoding."""
        if mode is not None:
            self.mode = check_decode_mode(mode)
        if multi_thread is not None and bool(multi_thread) != self.multi_thread:
            self.multi_thread = bool(multi_thread)
            if self._stream.codec_context.is_open:  # FFmpeg fixes threading on open
                self.close()
                self._open()
            else:
                self._stream.thread_type = 'AUTO' if self.multi_thread else 'SLICE'

    def __len__(self) -> int:
        return self._num_frames

    @property
    def avg_fps(self) -> float:
        stream = self._stream
        for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
            if rate:
                return float(rate)
        if stream.duration and stream.time_base:
            return self._num_frames / float(stream.duration * stream.time_base)
        logger.warning('%s: frame rate unknown, assuming 30 fps', self.path)
        return 30.0

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        if self._container is None:
            raise RuntimeError(f'{self!r} is closed')
        with self._remote_errors():
            return self._get_frames(indices)

    def _get_frames(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        inds = np.minimum(normalize_indices(indices, self.path), self._num_frames - 1)
        targets = sorted(set(inds.tolist()))
        frames: dict[int, np.ndarray] = {}
        if not self._sequential:
            try:
                if self.mode == 'efficient':
                    self._decode_keyframes(targets, frames)
                else:
                    for key, run in self._plan_runs(targets):
                        self._decode_run(key, run, frames)
            except _IndexMismatch as why:
                logger.debug('%s: %s; decoding sequentially instead', self.path, why)
                self._sequential = True
                frames.clear()
        if self._sequential:
            self._decode_sequential(targets, frames)
            inds = np.minimum(inds, self._num_frames - 1)
        return gather(frames, inds)

    @property
    def bytes_fetched(self) -> int:
        """Bytes fetched from a remote object so far (0 for a local file)."""
        return self._bytes_fetched + (self._file.bytes_fetched if self._file else 0)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._bytes_fetched += self._file.bytes_fetched
            self._file.close()
            self._file = None

    # ------------------------------------------------------------------ decoding
    def _to_rgb(self, frame: Any) -> np.ndarray:
        """RGB at the stream's first size, turned upright as its display matrix says.

        A stream whose frame size changes midway is scaled back to the size of its first
        frame (what OpenCV and decord return too), with a warning. A rotation in the display
        matrix (phone videos) is applied, as players and OpenCV do.
        """
        if self._size is None:
            self._size = (frame.width, frame.height)
        width, height = self._size
        if (frame.width, frame.height) != self._size and not self._size_warned:
            logger.warning('%s: the frame size changes mid-stream from %dx%d to %dx%d; frames '
                           'are scaled to the first size', self.path, width, height,
                           frame.width, frame.height)
            self._size_warned = True
        rgb = self._reformatter.reformat(frame, format='rgb24', width=width,
                                         height=height).to_ndarray()
        turns = (int(round(getattr(frame, 'rotation', 0) or 0)) // 90) % 4
        return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb

    def _key_before(self, idx: int) -> int:
        """Display index of the last keyframe at or before frame ``idx`` (-1 if none)."""
        pos = bisect.bisect_right(self._keys, idx) - 1
        return self._keys[pos] if pos >= 0 else -1

    def _plan_runs(self, targets: list[int]) -> list[tuple[int, list[int]]]:
        """Group sorted ``targets`` into (keyframe, frames) runs, one seek per run."""
        runs: list[tuple[int, list[int]]] = []
        for idx in targets:
            key = self._key_before(idx)
            if key < 0:
                raise _IndexMismatch(f'frame {idx} precedes the first keyframe')
            if runs and key - runs[-1][1][-1] - 1 < _MIN_FRAMES_SKIPPED_BY_SEEK:
                runs[-1][1].append(idx)
            else:
                runs.append((key, [idx]))
        return runs

    def _seek(self, key: int) -> None:
        self._container.seek(self._pts[key], stream=self._stream, backward=True,
                             any_frame=False)
        self._stream.codec_context.flush_buffers()

    def _decode_run(self, key: int, run: list[int], out: dict[int, np.ndarray]) -> None:
        """Seek to keyframe ``key`` and decode forward up to the last frame of ``run``."""
        av = self._av
        self._seek(key)
        codec = self._stream.codec_context
        wanted_pts = {self._pts[i] for i in run}
        unsent = set(wanted_pts)
        remaining, prev, skipping = set(run), -1, False
        try:
            for packet in self._container.demux(self._stream):
                if packet.size:  # FFmpeg copies skip_frame per packet, also to frame threads
                    skip = packet.pts not in wanted_pts
                    if skip != skipping:
                        codec.skip_frame = 'NONREF' if skip else 'DEFAULT'
                        skipping = skip
                frames = packet.decode()
                unsent.discard(packet.pts)
                if not unsent:
                    # every requested packet has been sent, and with it everything those
                    # frames depend on: drain the decoder instead of feeding it the packets
                    # its reordering delay would ask for
                    frames += codec.decode(None)
                self.frames_decoded += len(frames)
                for frame in frames:
                    idx = self._pts_index.get(frame.pts)
                    if idx is None or idx <= prev:
                        raise _IndexMismatch(f'frame pts {frame.pts} out of order')
                    if prev < 0 and idx > run[0]:
                        raise _IndexMismatch(f'seek to keyframe {key} landed at frame {idx}')
                    prev = idx
                    if idx in remaining:
                        out[idx] = self._to_rgb(frame)
                        remaining.discard(idx)
                        if not remaining:
                            return
                if not unsent:
                    break
        except av.FFmpegError as err:
            raise DecodeError(f'cannot decode frames {run[0]}..{run[-1]} of {self.path}: {err}',
                              self.path) from err
        finally:
            if skipping:
                codec.skip_frame = 'DEFAULT'
        if remaining:
            raise _IndexMismatch(f'stream ended before frames {sorted(remaining)}')

    def _decode_keyframes(self, targets: list[int], out: dict[int, np.ndarray]) -> None:
        """'efficient' mode: each target gets the keyframe at or before it."""
        codec = self._stream.codec_context
        keys = {t: max(self._key_before(t), self._keys[0]) for t in targets}
        codec.skip_frame = 'NONKEY'
        try:
            for key in sorted(set(keys.values())):
                self._decode_run_nonkey(key, out)
        finally:
            codec.skip_frame = 'DEFAULT'
        for t, key in keys.items():
            out[t] = out[key]

    def _decode_run_nonkey(self, key: int, out: dict[int, np.ndarray]) -> None:
        av = self._av
        self._seek(key)
        try:
            for packet in self._container.demux(self._stream):
                for frame in packet.decode():
                    self.frames_decoded += 1
                    if self._pts_index.get(frame.pts, -1) >= key:  # skip an earlier keyframe
                        out[key] = self._to_rgb(frame)
                        return
        except av.FFmpegError as err:
            raise DecodeError(f'cannot decode keyframe {key} of {self.path}: {err}',
                              self.path) from err
        raise _IndexMismatch(f'keyframe {key} could not be decoded')

    def _decode_sequential(self, targets: list[int], out: dict[int, np.ndarray]) -> None:
        """Decode from the start, counting frames; the reference definition of frame ``i``."""
        av = self._av
        self.close()
        self._open()
        remaining, last = set(targets), targets[-1]
        count, last_frame = 0, None
        try:
            for frame in self._container.decode(self._stream):
                self.frames_decoded += 1
                if count in remaining:
                    out[count] = self._to_rgb(frame)
                    remaining.discard(count)
                last_frame = frame
                count += 1
                if count > last:
                    break
        except av.FFmpegError as err:
            raise DecodeError(f'cannot decode frame {count} of {self.path}: {err}',
                              self.path) from err
        if last_frame is None:
            raise DecodeError(f'no frame of {self.path} could be decoded', self.path)
        if remaining:
            logger.warning('%s: the container lists %d frames but only %d decode; frames past '
                           'the end are replaced by the last one', self.path, self._num_frames,
                           count)
            self._num_frames = count
            tail = out.get(count - 1)
            if tail is None:
                tail = self._to_rgb(last_frame)
                out[count - 1] = tail
            for idx in remaining:
                out[idx] = tail
