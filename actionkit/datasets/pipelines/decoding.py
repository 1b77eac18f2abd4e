"""Decoding steps: open a video (``*Init``), decode the sampled frames (``*Decode``), read
rawframe images (``RawFrameDecode``), pick frames of an in-memory array (``ArrayDecode``) or
read one image (``ImageDecode``).

The ``*Init`` steps put a :class:`~.decoders.VideoReader` in ``results['video_reader']``; the
matching ``*Decode`` step asks it for ``results['frame_inds']``, closes it and sets the key to
``None`` (as MMAction2 does). All video
backends return the same ``H x W x 3`` ``uint8`` RGB frames for the same indices. Every
failure to read a file raises :class:`~actionkit.datasets.errors.DataError` (or its subclass
``DecodeError``) naming the file. Files are local paths or ``s3://`` / ``gs://`` /
``http(s)://`` URLs (:mod:`actionkit.utils.fileio`): PyAV reads a remote video through a
seekable file object in ranged requests; decord, OpenCV and TorchCodec read local files only,
so their ``*Init`` steps open a URL with PyAV instead (same frames; a warning says so once).
"""
from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from ...utils.checks import check_positive_int
from ...utils.fileio import display_path, is_remote
from ...utils.io_backends import resolve_io_backend
from ..builder import PIPELINES
from ..errors import DataError
from .decoders import VideoReader, get_reader_class
from .decoders.base import DECODE_MODES, BackendCannotRead
from .ava import boxes_to_pixels
from .decoders.images import IMAGE_BACKENDS, decode_gray, decode_rgb, read_bytes

__all__ = ['PyAVInit', 'PyAVDecode', 'DecordInit', 'DecordDecode', 'OpenCVInit',
           'OpenCVDecode', 'TorchCodecInit', 'TorchCodecDecode', 'RawFrameDecode',
           'ArrayDecode', 'ImageDecode']

logger = logging.getLogger(__name__)



def _check_io_backend(io_backend: str, owner: str) -> str:
    """MMAction2's ``io_backend``: ``'disk'`` / ``'http'`` (a path or URL says where each file
    is); the others are refused with the alternative (:func:`~.fileio.resolve_io_backend`)."""
    return resolve_io_backend(io_backend, owner)


def _check_mode(mode: str, owner: str) -> str:
    if mode not in DECODE_MODES:
        raise ValueError(f'{owner}: mode must be one of {DECODE_MODES}, got {mode!r}')
    return mode


def _check_threads(num_threads: Any, owner: str, allow_none: bool = False) -> Any:
    if num_threads is None and allow_none:
        return None
    check_positive_int(owner, 'num_threads', num_threads, minimum=0)
    return num_threads


def _check_decode_device(device: Any, owner: str) -> str:
    """``'cpu'``, ``'cuda'`` or ``'cuda:N'``; CUDA only when a GPU is visible."""
    if not isinstance(device, str) or not re.fullmatch(r'cpu|cuda(:\d+)?', device):
        raise ValueError(f"{owner}: device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device != 'cpu':
        import torch
        if not torch.cuda.is_available():
            raise ValueError(f'{owner}: device={device!r} decodes on a CUDA GPU, and none is '
                             f"visible here; use device='cpu'")
    return device


def _require(results: dict[str, Any], keys: tuple[str, ...], owner: str) -> None:
    for key in keys:
        if key not in results:
            raise KeyError(f'{owner} needs results[{key!r}]; got keys {sorted(results)}')


def _flat_inds(frame_inds: Any) -> np.ndarray:
    return np.asarray(frame_inds).reshape(-1)


class _VideoInit:
    """Open ``results['filename']`` with one backend: the shared part of the ``*Init`` steps.

    A subclass names its ``backend``, declares its arguments in its ``__init__`` and lists in
    ``reader_options`` the attributes that go to the reader (and to ``repr``, after
    ``io_backend``).
    """

    backend: ClassVar[str] = ''
    reader_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, io_backend: str = 'disk') -> None:
        self.io_backend = _check_io_backend(io_backend, type(self).__name__)
        self._warned: set[str] = set()

    def _reader_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.reader_options}

    def _open(self, filename: str) -> VideoReader:
        if self.backend == 'pyav':
            return get_reader_class(self.backend)(filename, **self._reader_kwargs())
        if is_remote(filename):  # decord / OpenCV / TorchCodec: local files only
            self._warn_once('remote', '%s reads local files only: %s and the other URLs are '
                            'decoded with PyAV (ranged reads, the same frames)',
                            display_path(filename))
        else:
            try:
                return get_reader_class(self.backend)(filename, **self._reader_kwargs())
            except BackendCannotRead as err:
                self._warn_once(err.reason, '%s: %s: %s and the other such files are decoded '
                                'with PyAV (the same frames)', err.reason, filename)
        reader = get_reader_class('pyav')(filename)
        reader.stands_in_for = self.backend
        return reader

    def _warn_once(self, kind: str, message: str, *args: Any) -> None:
        """Log ``message`` (with this step's name first) the first time of each ``kind``."""
        if kind not in self._warned:
            logger.warning(message, type(self).__name__, *args)
            self._warned.add(kind)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('filename', ), type(self).__name__)
        reader = self._open(results['filename'])
        results['video_reader'] = reader
        results['total_frames'] = len(reader)
        results['avg_fps'] = reader.avg_fps
        return results

    def __repr__(self) -> str:
        options = ''.join(f', {k}={v!r}' for k, v in self._reader_kwargs().items())
        return f'{type(self).__name__}(io_backend={self.io_backend!r}{options})'


class _VideoDecode:
    """Decode ``results['frame_inds']`` with the reader a ``*Init`` step opened: the shared
    part of the ``*Decode`` steps.

    A subclass names its ``backend``, declares its arguments in its ``__init__`` and lists in
    ``decode_options`` the attributes set on the reader before decoding (and shown by
    ``repr``).
    """

    backend: ClassVar[str] = ''
    decode_options: ClassVar[tuple[str, ...]] = ()

    def _decode_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.decode_options}

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        owner = type(self).__name__
        _require(results, ('video_reader', 'frame_inds'), owner)
        reader = results['video_reader']
        if not isinstance(reader, VideoReader) or self.backend not in (reader.backend,
                                                                        reader.stands_in_for):
            raise TypeError(f'{owner} needs the video_reader made by '
                            f'{owner.replace("Decode", "Init")}, got {type(reader).__name__}')
        results['video_reader'] = None  # as MMAction2: the key stays, the reader goes
        try:
            reader.set_decode_options(**self._decode_kwargs())
            imgs = reader.get_frames(_flat_inds(results['frame_inds']))
            real_total = len(reader)
        finally:
            reader.close()
        if results.get('total_frames', real_total) > real_total:
            results['total_frames'] = real_total
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        options = ', '.join(f'{k}={v!r}' for k, v in self._decode_kwargs().items())
        return f'{type(self).__name__}({options})'


@PIPELINES.register_module()
class PyAVInit(_VideoInit):
    """Open a video with PyAV (the default backend). ``total_frames`` is exact: it comes from
    the file's packets, not from the container header.

    Required keys: ``filename``.
    Added keys: ``video_reader``, ``total_frames``, ``avg_fps``.

    Args:
        io_backend (str): ``'disk'`` (or ``'http'``): each path or URL says where its file is.
    """

    backend = 'pyav'


@PIPELINES.register_module()
class PyAVDecode(_VideoDecode):
    """Decode the sampled frames with PyAV, seeking to the keyframe before each group of
    frames and decoding only what they need.

    Required keys: ``video_reader``, ``frame_inds``.
    Optional keys: ``total_frames``.
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.
    Modified keys: ``total_frames`` (lowered when decoding finds fewer frames than announced),
        ``video_reader`` (closed, and set to None as in MMAction2).

    Args:
        multi_thread (bool): let FFmpeg use several threads per video.
        mode (str): ``'accurate'`` (exact frames) or ``'efficient'`` (the keyframe at or
            before each frame; fast, approximate).
    """

    backend = 'pyav'
    decode_options = ('multi_thread', 'mode')

    def __init__(self, multi_thread: bool = False, mode: str = 'accurate') -> None:
        self.multi_thread = bool(multi_thread)
        self.mode = _check_mode(mode, type(self).__name__)


@PIPELINES.register_module()
class DecordInit(_VideoInit):
    """Open a video with decord (``pip install decord2``).

    Required keys: ``filename``.
    Added keys: ``video_reader``, ``total_frames``, ``avg_fps``.

    Args:
        io_backend (str): ``'disk'`` (or ``'http'``): each path or URL says where its file is.
        num_threads (int): decoder threads.
    """

    backend = 'decord'
    reader_options = ('num_threads', )

    def __init__(self, io_backend: str = 'disk', num_threads: int = 1) -> None:
        super().__init__(io_backend)
        self.num_threads = _check_threads(num_threads, type(self).__name__)


@PIPELINES.register_module()
class DecordDecode(_VideoDecode):
    """Decode the sampled frames with decord.

    Required keys: ``video_reader``, ``frame_inds``.
    Optional keys: ``total_frames``.
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.
    Modified keys: ``total_frames`` (lowered when decoding finds fewer frames than announced),
        ``video_reader`` (closed, and set to None as in MMAction2).

    Args:
        mode (str): ``'accurate'`` (exact frames) or ``'efficient'`` (the keyframe at or
            before each frame; fast, approximate).
    """

    backend = 'decord'
    decode_options = ('mode', )

    def __init__(self, mode: str = 'accurate') -> None:
        self.mode = _check_mode(mode, type(self).__name__)


@PIPELINES.register_module()
class OpenCVInit(_VideoInit):
    """Open a video with OpenCV. OpenCV's frame count is an estimate; ``OpenCVDecode``
    corrects ``total_frames`` when the stream ends earlier.

    Required keys: ``filename``.
    Added keys: ``video_reader``, ``total_frames``, ``avg_fps``.

    Args:
        io_backend (str): ``'disk'`` (or ``'http'``): each path or URL says where its file is.
        num_threads (int | None): decoder threads; ``None`` keeps OpenCV's default.
    """

    backend = 'opencv'
    reader_options = ('num_threads', )

    def __init__(self, io_backend: str = 'disk', num_threads: int | None = None) -> None:
        super().__init__(io_backend)
        self.num_threads = _check_threads(num_threads, type(self).__name__, allow_none=True)


@PIPELINES.register_module()
class OpenCVDecode(_VideoDecode):
    """Decode the sampled frames with OpenCV (sequential ``grab()``, no per-frame seeking).

    Required keys: ``video_reader``, ``frame_inds``.
    Optional keys: ``total_frames``.
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.
    Modified keys: ``total_frames`` (lowered when decoding finds fewer frames than announced),
        ``video_reader`` (closed, and set to None as in MMAction2).
    """

    backend = 'opencv'


@PIPELINES.register_module()
class TorchCodecInit(_VideoInit):
    """Open a video with TorchCodec (``pip install 'actionkit[torchcodec]'`` plus a system
    FFmpeg 4 to 7); raises ImportError with that hint when either is missing.

    Required keys: ``filename``.
    Added keys: ``video_reader``, ``total_frames``, ``avg_fps``.

    Args:
        io_backend (str): ``'disk'`` (or ``'http'``): each path or URL says where its file is.
        num_threads (int): FFmpeg decoder threads (0 lets FFmpeg choose).
        device (str): ``'cpu'`` (default), or ``'cuda'`` / ``'cuda:N'`` to decode on the GPU
            (NVDEC; a CUDA build of torchcodec). The frames come back to host memory, so the
            rest of the pipeline is unchanged. CUDA cannot start in forked loader workers: use
            ``workers_per_gpu=0`` or ``mp_start_method='spawn'`` with it.
    """

    backend = 'torchcodec'
    reader_options = ('num_threads', 'device')

    def __init__(self, io_backend: str = 'disk', num_threads: int = 1,
                 device: str = 'cpu') -> None:
        super().__init__(io_backend)
        self.num_threads = _check_threads(num_threads, type(self).__name__)
        self.device = _check_decode_device(device, type(self).__name__)


@PIPELINES.register_module()
class TorchCodecDecode(_VideoDecode):
    """Decode the sampled frames with TorchCodec (exact seek mode).

    Required keys: ``video_reader``, ``frame_inds``.
    Optional keys: ``total_frames``.
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.
    Modified keys: ``total_frames`` (lowered when decoding finds fewer frames than announced),
        ``video_reader`` (closed, and set to None as in MMAction2).
    """

    backend = 'torchcodec'


@PIPELINES.register_module()
class RawFrameDecode:
    """Read the sampled frames of a rawframe folder (one image file per frame).

    RGB frames are ``frame_dir/filename_tmpl.format(idx)``; optical flow (``modality='Flow'``)
    reads ``filename_tmpl.format('x', idx)`` and ``.format('y', idx)`` as two grayscale images
    per index, appended x then y. ``results['offset']`` (default 0) is added to each index.
    Repeated indices are read once and copied. A grayscale image in an RGB folder is expanded
    to three channels.

    Required keys: ``frame_dir``, ``filename_tmpl``, ``frame_inds``, ``modality``.
    Optional keys: ``offset``, ``gt_bboxes``, ``proposals``, ``frame_bytes`` (the frame
    files' bytes by file name, from a shard: read instead of ``frame_dir``).
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.
    Modified keys: ``gt_bboxes``, ``proposals`` (AVA's normalised boxes become float32 pixels).

    A ``frame_dir`` on object storage (``s3://`` ...) costs one GET per image; the GETs of a
    clip are sent together (up to 8 at a time).

    Args:
        io_backend (str): ``'disk'`` (or ``'http'``): each path or URL says where its file is.
        decoding_backend (str): ``'cv2'``, ``'pillow'``, ``'simplejpeg'`` or ``'turbojpeg'``
            (the last two need ``pip install simplejpeg`` / ``pip install PyTurboJPEG``).
    """

    def __init__(self, io_backend: str = 'disk', decoding_backend: str = 'cv2') -> None:
        self.io_backend = _check_io_backend(io_backend, type(self).__name__)
        if decoding_backend not in IMAGE_BACKENDS:
            raise ValueError(f'RawFrameDecode: decoding_backend must be one of '
                             f'{IMAGE_BACKENDS}, got {decoding_backend!r}')
        self.decoding_backend = decoding_backend

    def _read(self, path: str, gray: bool, frame_dir: str,
              fetched: dict[str, bytes], from_shard: bool = False) -> np.ndarray:
        try:
            if from_shard:  # a sharded sample's files, by name
                data = fetched[os.path.basename(path)]
            else:
                data = fetched[path] if path in fetched else read_bytes(path)
        except KeyError:
            raise DataError(f'frame {os.path.basename(path)} is not in {frame_dir}',
                            frame_dir) from None
        except DataError:
            if not is_remote(frame_dir) and not os.path.isdir(frame_dir):
                raise DataError(f'frame folder not found: {frame_dir}', frame_dir) from None
            raise
        if gray:
            return decode_gray(data, path, self.decoding_backend)
        return decode_rgb(data, path, self.decoding_backend)

    @staticmethod
    def _paths(frame_dir: str, tmpl: str, idx: int, modality: str) -> list[str]:
        """The image file(s) of frame ``idx``: one RGB image, or the x and y flow images."""
        if modality == 'RGB':
            return [os.path.join(frame_dir, tmpl.format(idx))]
        return [os.path.join(frame_dir, tmpl.format(axis, idx)) for axis in ('x', 'y')]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('frame_dir', 'filename_tmpl', 'frame_inds', 'modality'),
                 'RawFrameDecode')
        frame_dir, tmpl = results['frame_dir'], results['filename_tmpl']
        modality, offset = results['modality'], results.get('offset', 0)
        frame_bytes = results.get('frame_bytes')  # a sharded sample's files, by name
        if modality not in ('RGB', 'Flow'):
            raise ValueError(f"RawFrameDecode: modality must be 'RGB' or 'Flow', got "
                             f'{modality!r} for {frame_dir}')
        inds = _flat_inds(results['frame_inds']).tolist()
        fetched: dict[str, bytes] = frame_bytes if frame_bytes is not None else {}
        if frame_bytes is None and is_remote(frame_dir):  # one GET per image, sent together
            paths = [p for idx in dict.fromkeys(inds)
                     for p in self._paths(frame_dir, tmpl, idx + offset, modality)]
            with ThreadPoolExecutor(max_workers=min(8, len(paths) or 1)) as pool:
                fetched = dict(zip(paths, pool.map(read_bytes, paths)))
        imgs: list[np.ndarray] = []
        first_seen: dict[int, int] = {}
        per_index = 1 if modality == 'RGB' else 2
        for idx in inds:
            if idx in first_seen:
                start = first_seen[idx] * per_index
                imgs.extend(img.copy() for img in imgs[start:start + per_index])
                continue
            first_seen[idx] = len(imgs) // per_index
            for path in self._paths(frame_dir, tmpl, idx + offset, modality):
                imgs.append(self._read(path, modality == 'Flow', frame_dir, fetched,
                                       frame_bytes is not None))
        if not imgs:
            raise ValueError(f'RawFrameDecode: frame_inds is empty for {frame_dir}')
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        boxes_to_pixels(results)  # AVA: normalised boxes to pixels, as MMAction2 does here
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(io_backend={self.io_backend!r}, '
                f'decoding_backend={self.decoding_backend!r})')


@PIPELINES.register_module()
class ArrayDecode:
    """Take the sampled frames from an in-memory array (e.g. frames a webcam or another
    program already decoded).

    ``results['array']`` is ``T x H x W x 3`` (RGB) or ``T x H x W x 2`` (optical flow, x and
    y; each index then gives two grayscale frames, x then y). ``results['offset']`` (default
    0) is added to each index.

    Required keys: ``array``, ``frame_inds``, ``modality``.
    Optional keys: ``offset``.
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('array', 'frame_inds', 'modality'), 'ArrayDecode')
        array, modality = np.asarray(results['array']), results['modality']
        if modality not in ('RGB', 'Flow'):
            raise ValueError(f"ArrayDecode: modality must be 'RGB' or 'Flow', got {modality!r}")
        channels = 3 if modality == 'RGB' else 2
        if array.ndim != 4 or array.shape[-1] != channels:
            raise ValueError(f'ArrayDecode: a {modality} array must be T x H x W x {channels}, '
                             f'got shape {array.shape}')
        inds = _flat_inds(results['frame_inds']) + results.get('offset', 0)
        if inds.size == 0:
            raise ValueError('ArrayDecode: frame_inds is empty')
        bad = inds[(inds < 0) | (inds >= len(array))]
        if bad.size:
            raise IndexError(f'ArrayDecode: frame index {int(bad[0])} is outside the array of '
                             f'{len(array)} frames')
        if modality == 'RGB':
            imgs = [array[i].copy() for i in inds.tolist()]
        else:
            imgs = [array[i, ..., axis].copy() for i in inds.tolist() for axis in (0, 1)]
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@PIPELINES.register_module()
class ImageDecode:
    """Read one image (``results['filename']``) as a one-frame clip, RGB.

    Required keys: ``filename``.
    Added keys: ``imgs``, ``original_shape``, ``img_shape``.

    Args:
        io_backend (str): ``'disk'`` (or ``'http'``): each path or URL says where its file is.
        decoding_backend (str): as for :class:`RawFrameDecode`.
    """

    def __init__(self, io_backend: str = 'disk', decoding_backend: str = 'cv2') -> None:
        self.io_backend = _check_io_backend(io_backend, type(self).__name__)
        if decoding_backend not in IMAGE_BACKENDS:
            raise ValueError(f'ImageDecode: decoding_backend must be one of {IMAGE_BACKENDS}, '
                             f'got {decoding_backend!r}')
        self.decoding_backend = decoding_backend

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('filename', ), 'ImageDecode')
        path = results['filename']
        img = decode_rgb(read_bytes(path), path, self.decoding_backend)
        results['imgs'] = [img]
        results['original_shape'] = img.shape[:2]
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(io_backend={self.io_backend!r}, '
                f'decoding_backend={self.decoding_backend!r})')

