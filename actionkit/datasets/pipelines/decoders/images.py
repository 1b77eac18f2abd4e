"""Decoding single image files (rawframes) with cv2, Pillow, simplejpeg or TurboJPEG.

Every function returns ``H x W x 3`` ``uint8`` RGB (``read_rgb``) or ``H x W`` ``uint8``
(``read_gray``) and raises :class:`DecodeError` naming the file when it is missing, empty,
truncated or not an image. A grayscale JPEG read as RGB is expanded to three channels.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ....utils.bounded_read import MAX_FRAME_BYTES, read_file_bytes
from ...errors import DataError, DecodeError

__all__ = ['IMAGE_BACKENDS', 'read_bytes', 'decode_rgb', 'decode_gray']

IMAGE_BACKENDS = ('cv2', 'pillow', 'simplejpeg', 'turbojpeg')

_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'


def read_bytes(path: str) -> bytes:
    """Read a whole image file, raising :class:`DataError` naming it when that fails.

    A FIFO, a device (a link to ``/dev/zero``) or a file over ``MAX_FRAME_BYTES`` is refused
    before anything is read.
    """
    try:
        data = read_file_bytes(path, MAX_FRAME_BYTES, 'frame file',
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
    return data


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
