"""Reading a whole input file safely: regular files only, and never more than a size cap.

A FIFO given as a frame, annotation list or config blocks a plain ``open(...).read()``
forever, and a link to ``/dev/zero`` reads until memory runs out. :func:`read_file_bytes`
refuses anything but a regular file (checked with ``os.stat`` after resolving links, and
again on the open descriptor, so a file swapped in between is caught) and reads at most
``max_bytes``; every error names the file.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable

__all__ = ['MAX_CONFIG_BYTES', 'MAX_ANNOTATION_BYTES', 'MAX_FRAME_BYTES', 'read_file_bytes',
           'read_file_text']

MAX_CONFIG_BYTES = 16 << 20  # configs are a few kB
MAX_ANNOTATION_BYTES = 4 << 30  # the largest public lists are a few hundred MB
MAX_FRAME_BYTES = 256 << 20  # one image file

_KINDS = ((stat.S_ISFIFO, 'a FIFO (named pipe)'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'),
          (stat.S_ISDIR, 'a folder'))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), 'not a regular file')


def _check(path: str, mode: int, size: int, max_bytes: int, what: str,
           error: Callable[[str], Exception]) -> None:
    if not stat.S_ISREG(mode):
        raise error(f'{what} {path} is {_kind(mode)}, not a regular file: refusing to read it '
                    '(it could block forever or never end)')
    if size > max_bytes:
        raise error(f'{what} {path} is {size} bytes, more than the {max_bytes}-byte cap for '
                    f'a {what}')


def read_file_bytes(path: str | os.PathLike, max_bytes: int, what: str = 'file',
                    error: Callable[[str], Exception] = ValueError) -> bytes:
    """Return the bytes of the regular file ``path``, refusing anything else.

    Args:
        path: the file; links are followed, and their target must be a regular file.
        max_bytes: the cap; a larger file (or one that grows past it while read) is refused.
        what: what the file is, for messages (``'config file'``, ``'frame file'`` ...).
        error: builds the exception raised for a refused file from its message.

    Raises:
        FileNotFoundError: ``path`` does not exist (raised by ``os.stat``).
        Exception: ``error(message)`` for a non-regular file or one over the cap.
    """
    path = os.fspath(path)
    info = os.stat(path)
    _check(path, info.st_mode, info.st_size, max_bytes, what, error)
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_BINARY', 0))
    with os.fdopen(fd, 'rb') as fin:
        info = os.fstat(fd)  # the file actually opened, in case it was swapped meanwhile
        _check(path, info.st_mode, info.st_size, max_bytes, what, error)
        data = fin.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f'{what} {path} grew past the {max_bytes}-byte cap while being read')
    return data


def read_file_text(path: str | os.PathLike, max_bytes: int, what: str = 'file',
                   error: Callable[[str], Exception] = ValueError) -> str:
    """:func:`read_file_bytes` decoded as UTF-8 (a BOM is dropped); bad bytes name the line."""
    data = read_file_bytes(path, max_bytes, what, error)
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        line = data.count(b'\n', 0, err.start) + 1
        raise error(f'{os.fspath(path)}:{line}: {what} is not valid UTF-8 text ({err.reason} '
                    f'at byte {err.start})') from err
