"""Writing outputs to object storage: whole-object uploads to ``s3://`` and ``gs://``.

>>> from actionkit.utils.remote_write import upload_file, output_file
>>> upload_file('work_dirs/tsn/epoch_1.pth', 's3://bucket/run/epoch_1.pth')  # doctest: +SKIP
>>> with output_file('s3://bucket/run/results.pkl') as local:  # doctest: +SKIP
...     write_results(local)          # uploaded when the block ends without an error

* An object is written in one ``PutObject`` (or a multipart upload, which the store shows
  only once it is complete) from a local file that is already whole: a reader, or a process
  killed at any moment, sees the old object or the new one, never part of one.
* The same settings as reads (:class:`~actionkit.utils.fileio.IOSettings`): transient errors
  retried with backoff, botocore's connect / read timeouts, errors naming the URL without
  credentials. ``http(s)://`` is read-only here: :func:`check_writable_url` says so.
* :func:`put_bytes` with ``exclusive=True`` is a conditional write (S3's ``PutObject`` with
  ``If-None-Match: *``, GCS's ``ifGenerationMatch=0``): it fails if the object exists, which
  makes a lock.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator

from .atomic import write_atomic
from .fileio import (FsspecBackend, IOSettings, display_path, is_remote, join_path, retrying,
                     url_scheme)

__all__ = ['WRITABLE_SCHEMES', 'check_writable_url', 'upload_file', 'download_file',
           'copy_file', 'copy_object', 'put_bytes', 'object_age', 'remove_object',
           'list_sizes', 'probe_writable', 'output_file']

WRITABLE_SCHEMES = ('s3', 'gs', 'gcs')


def check_writable_url(url: str, what: str = 'output') -> None:
    """Refuse a URL that outputs cannot be written to (``http(s)://``), naming it."""
    if not is_remote(url):
        raise ValueError(f'{what} {url!r} is not a URL')
    if url_scheme(url) not in WRITABLE_SCHEMES:
        raise ValueError(f'{what} {display_path(url)}: http(s):// URLs are read-only here; '
                         'write outputs to a local folder, s3:// or gs://')


def _fs(url: str, settings: IOSettings) -> tuple[object, str]:
    """The fsspec file system of ``url`` (one per process) and ``url`` as it takes it."""
    check_writable_url(url)
    return FsspecBackend(url_scheme(url), settings).fs, url


def upload_file(local: str | os.PathLike, url: str,
                settings: IOSettings | None = None) -> None:
    """Upload the whole local file ``local`` as the object ``url`` (replacing it)."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(url, settings)
    source = os.fspath(local)
    retrying(lambda: fs.put_file(source, path), url, settings)  # type: ignore[attr-defined]


def copy_file(source: str | os.PathLike, dest: str) -> None:
    """Copy the local file ``source`` to ``dest``: uploaded to a URL, else copied to a local
    path through a temporary file and a rename (folders made as needed)."""
    if is_remote(dest):
        upload_file(source, dest)
        return
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    write_atomic(dest, lambda temp: shutil.copyfile(source, temp), sync=True)


def list_sizes(prefix: str, settings: IOSettings | None = None) -> dict[str, int]:
    """The objects under ``prefix`` (recursively) as ``{name relative to prefix: size}``."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(prefix, settings)
    root = path.split('://', 1)[1].rstrip('/') + '/'

    def find() -> dict[str, int]:
        found = fs.find(root, detail=True)  # type: ignore[attr-defined]
        return {key[len(root):]: int(info.get('size') or 0) for key, info in found.items()
                if key.startswith(root) and info.get('type') != 'directory'}

    return retrying(find, prefix, settings)


def download_file(url: str, local: str | os.PathLike,
                  settings: IOSettings | None = None) -> None:
    """Download the object ``url`` to ``local`` through a temporary file beside it, renamed
    once complete."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(url, settings)
    target = os.fspath(local)
    fd, temp = tempfile.mkstemp(prefix=f'.{os.path.basename(target)}.part-',
                                dir=os.path.dirname(os.path.abspath(target)))
    os.close(fd)
    try:
        retrying(lambda: fs.get_file(path, temp), url, settings)  # type: ignore[attr-defined]
        os.replace(temp, target)
    finally:
        with contextlib.suppress(OSError):
            os.remove(temp)


def put_bytes(url: str, data: bytes, exclusive: bool = False,
              settings: IOSettings | None = None) -> bool:
    """Write ``data`` as the object ``url``. With ``exclusive`` the object is written only if
    none exists (S3: ``If-None-Match: *``; GCS: ``ifGenerationMatch=0``): returns False when
    one does."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(url, settings)

    def put() -> bool:
        try:
            options = {'mode': 'create'} if exclusive else {}
            fs.pipe_file(path, data, **options)  # type: ignore[attr-defined]
        except FileExistsError:
            if exclusive:
                return False
            raise
        return True

    return retrying(put, url, settings)


def copy_object(source: str, dest: str, settings: IOSettings | None = None) -> None:
    """Copy the object ``source`` to ``dest`` on the server (same store; S3 ``CopyObject``,
    atomic like a put)."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(dest, settings)
    _fs(source, settings)
    retrying(lambda: fs.copy(source, path), dest, settings)  # type: ignore[attr-defined]


def object_age(url: str, settings: IOSettings | None = None) -> float:
    """Seconds since the object ``url`` was last written (its ``LastModified`` / ``updated``
    time against this machine's clock)."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(url, settings)
    fs.invalidate_cache(path)  # type: ignore[attr-defined]  # a listing's entry may be old
    info = retrying(lambda: fs.info(path), url, settings)  # type: ignore[attr-defined]
    stamp = info.get('LastModified') or info.get('updated') or info.get('mtime')
    if isinstance(stamp, str):
        stamp = datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00'))
    if not isinstance(stamp, datetime.datetime):
        raise OSError(f'{display_path(url)}: the store gives no modification time')
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return (datetime.datetime.now(datetime.timezone.utc) - stamp).total_seconds()


def remove_object(url: str, settings: IOSettings | None = None) -> None:
    """Delete the object ``url`` (an absent one is fine)."""
    settings = settings or IOSettings.from_env()
    fs, path = _fs(url, settings)

    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)  # type: ignore[attr-defined]

    retrying(remove, url, settings)


def probe_writable(prefix: str, what: str = 'output', settings: IOSettings | None = None) -> None:
    """Check that objects can be written under ``prefix`` by writing and deleting a small
    object of our own (``.actionkit-write-check-<host>-<pid>-<random>``).

    Raises:
        OSError (FileNotFoundError, PermissionError, TimeoutError): one line naming ``what``
        and the URL without credentials, with the reason (no bucket, access denied, no
        answer ...).
    """
    settings = settings or IOSettings.from_env()
    check_writable_url(prefix, what)
    name = f'.actionkit-write-check-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}'
    url = join_path(prefix, name)
    try:
        put_bytes(url, b'actionkit write check\n', settings=settings)
        remove_object(url, settings)
    except OSError as err:
        kind = type(err) if isinstance(err, (FileNotFoundError, PermissionError,
                                             TimeoutError)) else OSError
        reason = str(err).removeprefix(f'{display_path(url)}: ')
        raise kind(f'{what} {display_path(prefix)} is not writable: {reason}') from None


@contextlib.contextmanager
def output_file(path: str | os.PathLike, settings: IOSettings | None = None) -> Iterator[str]:
    """A local path to write an output to: ``path`` itself when local, else a temporary file
    uploaded to the URL when the block ends without an error (deleted either way)."""
    if not is_remote(path):
        yield os.fspath(path)
        return
    url = str(path)
    check_writable_url(url)
    folder = tempfile.mkdtemp(prefix='actionkit-out-')
    local = os.path.join(folder, os.path.basename(url.rstrip('/')) or 'output')
    try:
        yield local
        upload_file(local, url, settings)
    finally:
        with contextlib.suppress(OSError):
            os.remove(local)
        with contextlib.suppress(OSError):
            os.rmdir(folder)
