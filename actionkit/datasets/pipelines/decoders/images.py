"""Decoding single image files (rawframes) with cv2, Pillow, simplejpeg or TurboJPEG.

Every function returns ``H x W x 3`` ``uint8`` RGB (``read_rgb``) or ``H x W`` ``uint8``
(``read_gray``) and raises :class:`DecodeError` naming the file when it is missing, empty,
truncated or not an image. A grayscale JPEG read as RGB is expanded to three channels.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ....utils.bounded_read import MAX_FRAME_BYTES
from ....utils.fileio import display_path
from ....utils.fileio import read_bytes as read_any_bytes
from ...errors import DataError, DecodeError

__all__ = ['IMAGE_BACKENDS', 'MAX_IMAGE_SIDE', 'MAX_IMAGE_PIXELS', 'read_bytes', 'image_size',
           'decode_rgb', 'decode_gray']

IMAGE_BACKENDS = ('cv2', 'pillow', 'simplejpeg', 'turbojpeg')

MAX_IMAGE_SIDE = 16384  # pixels; a decoded frame of the cap is 16384 x 4096 x 3 bytes at most
MAX_IMAGE_PIXELS = 1 << 26  # 64 Mpixel (192 MiB as RGB): above any video frame, 8K included

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers
_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'


def read_bytes(path: str) -> bytes:
    """Read a whole image file, raising :class:`DataError` naming it when that fails.

    A FIFO, a device (a link to ``/dev/zero``) or a file over ``MAX_FRAME_BYTES`` is refused
    before anything is read. ``path`` may be an ``s3://`` / ``gs://`` / ``http(s)://`` URL
    (one GET per frame).
    """
    source, path = path, display_path(path)
    try:
        data = read_any_bytes(source, MAX_FRAME_BYTES, 'frame file',
                              lambda message: DecodeError(message, path))
    except FileNotFoundError as err:
        raise DataError(f'frame file not found: {path}', path) from err
    except OSError as err:
        raise DataError(f'cannot read frame file {path}: {err.strerror or err}', path) from err
    if not data:
        raise DecodeError(f'frame file is empty (0 bytes): {path}', path)
    if data.startswith(_JPEG_SOI) and _JPEG_EOI not in data[-4096:]:
        # libjpeg decodes a cut-off JPEG with a warning and grey rows; reject it instead
        raise DecodeError(f'truncated JPEG (no end-of-image marker): {path}', path)
    size = image_size(data)
    if size is not None and (max(size) > MAX_IMAGE_SIDE or size[0] * size[1] > MAX_IMAGE_PIXELS):
        # a few MB of PNG can claim 30000 x 30000 pixels: decoding would take gigabytes
        raise DecodeError(f'image {path} claims {size[0]}x{size[1]} pixels in its header, more '
                          f'than the cap of {MAX_IMAGE_SIDE} a side and {MAX_IMAGE_PIXELS} '
                          'pixels: refusing to decode it', path)
    return data


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's IHDR or a JPEG's start-of-frame header, without
    decoding; None for other formats or a header that cannot be read."""
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b'IHDR':
        return int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')
    if not data.startswith(_JPEG_SOI):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan / end: no frame header met
            return None
        length = int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker in _JPEG_SOF:
            header = data[pos + 5:pos + 9]
            if len(header) < 4:
                return None
            return int.from_bytes(header[2:4], 'big'), int.from_bytes(header[0:2], 'big')
        pos += 2 + length
    return None


def decode_rgb(data: bytes, path: str, backend: str = 'cv2') -> np.ndarray:
    """Decode image bytes to ``H x W x 3`` ``uint8`` RGB with ``backend``."""
    img = _DECODERS[backend](data, path, gray=False)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        img = np.ascontiguousarray(img[:, :, :3])
    return img


def decode_gray(data: bytes, path: str, backend: str = 'cv2') -> np.ndarray:
    """Decode image bytes to ``H x W`` ``uint8`` (one channel, e.g. an optical-flow frame)."""
    return _DECODERS[backend](data, path, gray=True)


def _fail(path: str, backend: str, err: BaseException | None = None) -> DecodeError:
    why = f': {err}' if err is not None else ''
    return DecodeError(f'cannot decode image {path} with {backend} (corrupt or not an '
                       f'image){why}', path)


def _cv2(data: bytes, path: str, gray: bool) -> np.ndarray:
    import cv2

    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    if img is None:
        raise _fail(path, 'cv2')
    return img if gray else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _pillow(data: bytes, path: str, gray: bool) -> np.ndarray:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert('L' if gray else 'RGB'))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise _fail(path, 'pillow', err) from err


def _simplejpeg(data: bytes, path: str, gray: bool) -> np.ndarray:
    module = _optional('simplejpeg', 'pip install simplejpeg')
    try:
        img = module.decode_jpeg(data, colorspace='GRAY' if gray else 'RGB')
    except ValueError as err:
        raise _fail(path, 'simplejpeg', err) from err
    return img[:, :, 0] if gray and img.ndim == 3 else img


def _turbojpeg(data: bytes, path: str, gray: bool) -> np.ndarray:
    module = _optional('turbojpeg', 'pip install PyTurboJPEG (and the libturbojpeg library)')
    try:
        decoder = module.TurboJPEG()
        if gray:
            img = decoder.decode(data, pixel_format=module.TJPF_GRAY)
        else:
            img = decoder.decode(data, pixel_format=module.TJPF_RGB)
    except (OSError, RuntimeError, ValueError) as err:
        raise _fail(path, 'turbojpeg', err) from err
    return img[:, :, 0] if gray and img.ndim == 3 else img


def _optional(name: str, hint: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f'the {name} image decoding backend is not installed: {hint}') from err


_DECODERS = {'cv2': _cv2, 'pillow': _pillow, 'simplejpeg': _simplejpeg,
             'turbojpeg': _turbojpeg}
