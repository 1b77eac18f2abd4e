"""Writing outputs atomically: a temporary file or folder beside the target, then a rename.

A reader (or a run killed half-way) sees the old output or the whole new one, never a part;
``os.replace`` is atomic on one file system. Every atomic write of the package goes through
:func:`write_atomic` (files: checkpoints, results, lists) or :func:`temp_path` (folders and
files another library writes, such as videos).
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ['TEMP_NAME_RE', 'fsync_dir', 'temp_name', 'temp_path', 'write_atomic',
           'write_text_atomic']

# the temporary names of write_atomic: .<target name>.tmp-<pid>-<8 hex digits>; the pid lets
# a later run tell a killed writer's leftovers from a live writer's file
TEMP_NAME_RE = re.compile(r'^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]+$')


def temp_path(target: Path, directory: bool) -> Path:
    """A fresh temporary file (or folder) beside ``target``, to be renamed onto it.

    ``tempfile`` makes them private (0600 / 0700); they get the permissions a plain ``open`` /
    ``mkdir`` would give, so a dataset written for others stays readable after the rename.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f'.{target.name}.partial-'
    umask = os.umask(0)
    os.umask(umask)
    if directory:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        os.chmod(path, 0o777 & ~umask)
        return path
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=target.suffix, dir=target.parent)
    os.close(handle)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


def temp_name(filename: str | os.PathLike) -> str:
    """A temporary name beside ``filename`` that no one uses (the file is not created)."""
    folder, base = os.path.split(os.path.abspath(filename))
    return os.path.join(folder, f'.{base}.tmp-{os.getpid()}-{os.urandom(4).hex()}')


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries to disk (best effort: some file systems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(filename: str | os.PathLike, write: Callable[[str], None],
                 sync: bool = False) -> None:
    """Call ``write(temp)`` on a :func:`temp_name` beside ``filename``, then rename it there.

    Any failure, ``KeyboardInterrupt`` included, removes the temporary file and leaves the old
    ``filename`` as it was.

    Args:
        filename: the target; its folder is created.
        write: writes the whole content to the path it is given.
        sync: also flush the folder entry after the rename (``write`` fsyncs its own file),
            so the new file survives a power cut (checkpoints).
    """
    folder = os.path.dirname(os.path.abspath(filename))
    os.makedirs(folder, exist_ok=True)
    temp = temp_name(filename)
    try:
        write(temp)
        os.replace(temp, filename)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    if sync:
        fsync_dir(folder)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    write_atomic(path, lambda temp: Path(temp).write_text(text, encoding='utf-8'))
