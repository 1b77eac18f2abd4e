"""Writing outputs atomically: a temporary file or folder beside the target, then a rename.

A reader (or a run killed half-way) sees the old output or the whole new one, never a part;
``os.replace`` is atomic on one file system.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ['temp_path', 'write_text_atomic']


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


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    target = Path(path)
    temp = temp_path(target, directory=False)
    try:
        temp.write_text(text, encoding='utf-8')
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
