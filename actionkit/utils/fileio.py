"""One small reader layer for local paths and remote objects: ``s3://``, ``gs://``, ``http(s)://``.

>>> from actionkit.utils.fileio import open_file, read_bytes
>>> with open_file('s3://bucket/videos/a.mp4') as fin:  # doctest: +SKIP
...     fin.seek(1000)
...     head = fin.read(16)

* A local path opens with ``open(path, 'rb')``; a URL opens as a :class:`RemoteFile`: a
  read-only, seekable binary file that fetches what is read in ranged requests of
  ``block_size`` bytes and keeps the last ``cache_blocks`` blocks (a bounded cache, never a
  whole-file download), so a decoder seeking through a video reads only what it touches.
* ``s3://bucket/key`` goes through s3fs (``pip install 'actionkit[s3]'``): any S3-compatible
  store, with the endpoint, region and credentials botocore finds in the standard places
  (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
  ``~/.aws/config`` and ``~/.aws/credentials``, instance roles). ``gs://`` goes through gcsfs
  (``pip install 'actionkit[gcs]'``). ``http(s)://`` needs nothing more (urllib, ``Range``
  requests; a ``user:password@`` is sent as basic authentication).
* Every request has a timeout (``ACTIONKIT_IO_TIMEOUT`` seconds, 30 by default) and transient
  failures (timeouts, refused or reset connections, HTTP 5xx / 429, S3 ``SlowDown``) are
  retried ``ACTIONKIT_IO_RETRIES`` times (4 by default) with exponential backoff and jitter;
  the libraries' own retries are switched off so that the two do not multiply.
* Errors are ``FileNotFoundError`` / ``PermissionError`` / ``TimeoutError`` / ``OSError`` whose
  message names the URL (without user name, password or query string); credentials (the
  ``AWS_*`` secrets, signatures, URL passwords) never appear in messages or logs.
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import posixpath
import random
import re
import shutil
import tempfile
import time
import urllib.error
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from .bounded_read import read_file_bytes
from .download import check_http_url, http_opener, http_request, redact_url

__all__ = ['REMOTE_SCHEMES', 'IOSettings', 'SeekableReader', 'RemoteFile', 'is_remote',
           'open_file', 'exists', 'file_size', 'list_files', 'read_bytes', 'read_text',
           'join_path', 'local_copy', 'display_path', 'url_scheme', 'retrying', 'FsspecBackend']

logger = logging.getLogger(__name__)

REMOTE_SCHEMES = ('s3', 'gs', 'gcs', 'http', 'https')
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 4
DEFAULT_BLOCK_SIZE = 256 << 10
DEFAULT_CACHE_BLOCKS = 32
_EXTRAS = {'s3': ('s3fs', 's3'), 'gs': ('gcsfs', 'gcs'), 'gcs': ('gcsfs', 'gcs')}
_REMOTE = re.compile(r'^(s3|gs|gcs|https?)://', re.IGNORECASE)
_TRANSIENT_NAMES = {  # exception classes (anywhere in the MRO) worth another try
    'TimeoutError', 'ConnectionError', 'FSTimeoutError', 'HTTPClientError', 'ReadTimeoutError',
    'ConnectTimeoutError', 'EndpointConnectionError', 'ConnectionClosedError',
    'ResponseParserError', 'IncompleteRead', 'ClientPayloadError', 'ServerTimeoutError',
    'ClientConnectionError', 'RemoteDisconnected'}
_TRANSIENT_CODES = {'InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout',
                    'Throttling', 'ThrottlingException', 'RequestLimitExceeded'}
_SECRET_ENV = ('AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN',
               'AWS_SECURITY_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS')
_SECRET_PATTERNS = (
    (re.compile(r'(Credential=)[^,\s&"\']+'), r'\1***'),
    (re.compile(r'(Signature=)[0-9A-Za-z%+/=]+'), r'\1***'),
    (re.compile(r'(X-Amz-Security-Token=)[^&\s"\']+', re.IGNORECASE), r'\1***'),
    (re.compile(r'([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s"\']*@'), r'\1'),  # user:password@
)
T = TypeVar('T')


class _ServerBusy(ConnectionError):
    """Internal: an HTTP 5xx / 429 answer, worth another try."""


@dataclass(frozen=True)
class IOSettings:
    """How remote reads behave; defaults come from the environment.

    Attributes:
        timeout: seconds one request may take (``ACTIONKIT_IO_TIMEOUT``, default 30).
        retries: further tries after a transient failure (``ACTIONKIT_IO_RETRIES``, default 4);
            the waits between tries double from 0.5 s (at most 8 s), with jitter.
        block_size: bytes fetched per ranged request (``ACTIONKIT_IO_BLOCK_SIZE``, 256 KiB).
        cache_blocks: blocks a :class:`RemoteFile` keeps (its memory bound is
            ``block_size * cache_blocks``).
    """

    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    block_size: int = DEFAULT_BLOCK_SIZE
    cache_blocks: int = DEFAULT_CACHE_BLOCKS

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f'timeout must be > 0 seconds, got {self.timeout!r}')
        for name, minimum in (('retries', 0), ('block_size', 1), ('cache_blocks', 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')

    @classmethod
    def from_env(cls, **overrides: Any) -> IOSettings:
        """Settings from ``ACTIONKIT_IO_TIMEOUT`` / ``ACTIONKIT_IO_RETRIES`` /
        ``ACTIONKIT_IO_BLOCK_SIZE``, then ``overrides`` (``None`` values ignored)."""
        values: dict[str, Any] = {}
        for name, var, kind in (('timeout', 'ACTIONKIT_IO_TIMEOUT', float),
                                ('retries', 'ACTIONKIT_IO_RETRIES', int),
                                ('block_size', 'ACTIONKIT_IO_BLOCK_SIZE', int)):
            text = os.environ.get(var, '').strip()
            if text:
                try:
                    values[name] = kind(text)
                except ValueError:
                    raise ValueError(f'{var}={text!r} is not a {kind.__name__}') from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def is_remote(path: object) -> bool:
    """True for ``s3://``, ``gs://``, ``gcs://``, ``http://`` and ``https://`` strings."""
    return isinstance(path, str) and _REMOTE.match(path) is not None


def display_path(path: str | os.PathLike) -> str:
    """``path`` as it may be shown in messages and logs: a URL without its user name,
    password and query string; a local path unchanged."""
    return redact_url(str(path)) if is_remote(path) else os.fspath(path)


def url_scheme(url: str) -> str:
    return url.split('://', 1)[0].lower()


# ---------------------------------------------------------------------------- secrets, errors
def _scrub(text: str) -> str:
    """``text`` without credentials: the AWS secrets of the environment, signatures, tokens and
    the ``user:password@`` of URLs."""
    for var in _SECRET_ENV:
        value = os.environ.get(var, '')
        if len(value) >= 4:
            text = text.replace(value, '***')
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _describe(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    if type(err).__name__ not in text and not isinstance(err, (FileNotFoundError,
                                                               PermissionError)):
        text = f'{type(err).__name__}: {text}'
    return _scrub(text)


def _error_code(err: BaseException) -> tuple[str, int]:
    """The S3 error code and HTTP status of a botocore ClientError (or its s3fs translation)."""
    for item in (err, err.__cause__, err.__context__):
        response = getattr(item, 'response', None)
        if isinstance(response, Mapping):
            code = str(response.get('Error', {}).get('Code', ''))
            status = response.get('ResponseMetadata', {}).get('HTTPStatusCode') or 0
            return code, int(status)
    return '', 0


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    code, status = _error_code(err)
    if code in _TRANSIENT_CODES or status >= 500 or status == 429:
        return True
    names = {kind.__name__ for kind in type(err).__mro__}
    return bool(names & _TRANSIENT_NAMES)


def _final_error(err: BaseException, safe: str, attempts: int, timeout: float) -> OSError:
    """The exception a caller sees for ``err``: a builtin type, a message naming the URL."""
    code, status = _error_code(err)
    detail = _describe(err)
    if isinstance(err, FileNotFoundError) or code in ('NoSuchKey', 'NoSuchBucket', '404') \
            or status == 404:
        return FileNotFoundError(f'{safe}: no such file or object ({detail})')
    if isinstance(err, PermissionError) or status in (401, 403):
        return PermissionError(f'{safe}: access denied ({detail}); check the credentials and '
                               'the endpoint (AWS_ENDPOINT_URL, AWS_PROFILE ...)')
    tries = f' (gave up after {attempts} attempts)' if attempts > 1 else ''
    names = {kind.__name__ for kind in type(err).__mro__}
    if names & {'TimeoutError', 'FSTimeoutError', 'ReadTimeoutError', 'ConnectTimeoutError',
                'ServerTimeoutError'}:
        return TimeoutError(f'{safe}: no answer within the {timeout:g} s request timeout '
                            f'(ACTIONKIT_IO_TIMEOUT){tries}: {detail}')
    return OSError(f'{safe}: {detail}{tries}')


def retrying(action: Callable[[], T], url: str, settings: IOSettings) -> T:
    """``action()``, retried with backoff on transient errors; errors name the (safe) URL."""
    safe = redact_url(url)
    attempt = 0
    while True:
        attempt += 1
        try:
            return action()
        except (ImportError, ValueError):
            raise
        except Exception as err:  # noqa: BLE001 - classified, then re-raised as our own type
            if attempt > settings.retries or not _is_transient(err):
                raise _final_error(err, safe, attempt, settings.timeout) from None
            wait = min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            logger.warning('%s: %s; retrying in %.1f s (attempt %d of %d)', safe,
                           _describe(err), wait, attempt + 1, settings.retries + 1)
            time.sleep(wait)


# ---------------------------------------------------------------------------- backends
class _Backend:
    """What a scheme implements: ``size``, ``_get`` (bytes ``start:end``, fewer at the end),
    ``exists`` and ``list``; the two reads below are built on ``_get``."""

    def _get(self, url: str, start: int, end: int) -> bytes:
        raise NotImplementedError(f'{type(self).__name__} does not implement _get')

    def read(self, url: str, start: int, end: int) -> bytes:
        """Exactly the bytes ``start:end`` (a short answer is a transient error)."""
        data = self._get(url, start, end)
        if len(data) != end - start:
            raise ConnectionError(f'got {len(data)} of the {end - start} bytes asked for '
                                  f'(bytes {start}-{end - 1})')
        return data

    def read_upto(self, url: str, limit: int) -> bytes:
        """The first ``limit`` bytes (all of a shorter object) in one request."""
        try:
            return self._get(url, 0, limit)
        except OSError as err:
            if _error_code(err)[1] == 416 or 'InvalidRange' in str(err) or '416' in str(err):
                return b''  # Range Not Satisfiable: an empty object
            raise


class _HttpBackend(_Backend):
    """``http(s)://`` through urllib: ``Range`` GETs for the size and for the bytes."""

    def __init__(self, settings: IOSettings) -> None:
        self.timeout = settings.timeout

    def _open(self, url: str, headers: Mapping[str, str] = ()) -> Any:
        check_http_url(url)
        request = http_request(url)
        for key, value in dict(headers).items():
            request.add_header(key, value)
        try:
            return http_opener().open(request, timeout=self.timeout)  # noqa: S310 (checked)
        except urllib.error.HTTPError as err:
            err.close()
            message = f'HTTP {err.code} {err.reason}'
            if err.code == 404:
                raise FileNotFoundError(message) from None
            if err.code in (401, 403):
                raise PermissionError(message) from None
            if err.code >= 500 or err.code == 429:
                raise _ServerBusy(message) from None
            raise OSError(message) from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, BaseException):
                raise reason from None
            raise ConnectionError(str(reason)) from None

    def size(self, url: str) -> int:
        # a one-byte GET, not a HEAD: a presigned URL is signed for GET only
        with self._open(url, headers={'Range': 'bytes=0-0'}) as response:
            total = response.headers.get('Content-Range', '').rpartition('/')[2]
            length = total if response.status == 206 else \
                response.headers.get('Content-Length', '')
        if not length.isdigit():
            raise OSError('the server gives no size (Content-Range / Content-Length), so the '
                          'file cannot be read in ranges')
        return int(length)

    def _get(self, url: str, start: int, end: int) -> bytes:
        with self._open(url, headers={'Range': f'bytes={start}-{end - 1}'}) as response:
            if response.status == 206:
                return response.read(end - start)
            return response.read(end)[start:end]  # the server ignores Range: our slice

    def exists(self, url: str) -> bool:
        try:
            self.size(url)
        except FileNotFoundError:
            return False
        return True

    def list(self, url: str) -> list[str]:
        raise ValueError(f'{redact_url(url)}: http(s) has no listing; name the files '
                         '(an annotation list) or use s3:// / gs://')


def _env_key() -> int:
    """What of the environment a client depends on (endpoint, credentials, profile)."""
    return hash(tuple(sorted((k, v) for k, v in os.environ.items()
                             if k.startswith(('AWS_', 'GOOGLE_', 'GCSFS_')))))


@functools.lru_cache(maxsize=8)
def _filesystem(scheme: str, timeout: float, pid: int, env: int) -> Any:
    """An fsspec file system for ``scheme``, one per process (fork-safe), timeout and
    environment (``env``: :func:`_env_key`)."""
    package, extra = _EXTRAS[scheme]
    hint = (f'reading {scheme}:// URLs needs fsspec and {package}: '
            f"pip install 'actionkit[{extra}]'")
    try:
        import fsspec
        cls = fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as err:
        raise ImportError(hint) from err
    if scheme == 's3':
        # botocore's own retries are off: ours (with the URL in the log) do it once
        fs = cls(skip_instance_cache=True, config_kwargs=dict(
            connect_timeout=timeout, read_timeout=timeout, retries={'total_max_attempts': 1}))
        fs.retries = 1
        return fs
    return cls(skip_instance_cache=True)


class FsspecBackend(_Backend):
    """``s3://`` and ``gs://`` through fsspec (s3fs / gcsfs); every call under a deadline."""

    def __init__(self, scheme: str, settings: IOSettings) -> None:
        self.scheme = 'gs' if scheme == 'gcs' else scheme
        self.timeout = settings.timeout
        self.fs = _filesystem(self.scheme, settings.timeout, os.getpid(), _env_key())

    def size(self, url: str) -> int:
        info = self.fs.info(url, timeout=self.timeout)
        if info.get('type') == 'directory':
            raise IsADirectoryError(f'{redact_url(url)} is a prefix (a folder), not an object')
        return int(info['size'])

    def _get(self, url: str, start: int, end: int) -> bytes:
        return self.fs.cat_file(url, start=start, end=end, timeout=self.timeout)

    def exists(self, url: str) -> bool:
        return bool(self.fs.exists(url, timeout=self.timeout))

    def list(self, url: str) -> list[str]:
        found = self.fs.find(url.rstrip('/') + '/', timeout=self.timeout)
        return sorted(f'{self.scheme}://{key}' for key in found)


def _backend(url: str, settings: IOSettings) -> _Backend:
    scheme = url_scheme(url)
    if scheme in ('http', 'https'):
        return _HttpBackend(settings)
    return FsspecBackend(scheme, settings)


# ---------------------------------------------------------------------------- the file object
class SeekableReader(io.RawIOBase):
    """The positioning part of a read-only, seekable binary file of ``size`` bytes: a
    subclass sets ``name``, ``size`` and ``_pos`` and implements ``readinto``."""

    name: str = ''
    size: int = 0
    _pos: int = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f'{self.name}: invalid whence {whence!r}')
        if base + offset < 0:
            raise OSError(22, f'{self.name}: negative seek position {base + offset}')
        self._pos = base + offset
        return self._pos


class RemoteFile(SeekableReader):
    """A read-only, seekable binary file over a remote object, read in cached ranged requests.

    Attributes:
        name: the URL without credentials.
        size: the object's size in bytes.
        bytes_fetched: bytes received so far (the cost of what was read).
        requests: ranged requests made so far.
    """

    def __init__(self, url: str, settings: IOSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or IOSettings.from_env()
        self._url = url
        self.name = redact_url(url)
        self._backend = _backend(url, self.settings)
        self.size = retrying(lambda: self._backend.size(url), url, self.settings)
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self.bytes_fetched = 0
        self.requests = 0

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError(f'I/O operation on closed file {self.name}')
        view = memoryview(buffer).cast('B')
        count = max(0, min(len(view), self.size - self._pos))
        done = 0
        block_size = self.settings.block_size
        while done < count:
            index, offset = divmod(self._pos + done, block_size)
            block = self._block(index, (self._pos + count - 1) // block_size)
            part = min(count - done, len(block) - offset)
            view[done:done + part] = block[offset:offset + part]
            done += part
        self._pos += count
        return count

    def readall(self) -> bytes:
        """The rest of the object in one request (not cached)."""
        if self.closed:
            raise ValueError(f'I/O operation on closed file {self.name}')
        start, end = self._pos, self.size
        if start >= end:
            return b''
        data = retrying(lambda: self._backend.read(self._url, start, end), self._url,
                         self.settings)
        self.requests += 1
        self.bytes_fetched += len(data)
        self._pos = end
        return data

    def _block(self, index: int, last: int) -> bytes:
        """Block ``index`` from the cache, else fetched with the missing blocks after it up to
        ``last`` in one request (at most ``cache_blocks`` blocks)."""
        cached = self._blocks.get(index)
        if cached is not None:
            self._blocks.move_to_end(index)
            return cached
        stop = index + 1
        while stop <= last and stop not in self._blocks and stop - index < \
                self.settings.cache_blocks:
            stop += 1
        block_size = self.settings.block_size
        start, end = index * block_size, min(stop * block_size, self.size)
        data = retrying(lambda: self._backend.read(self._url, start, end), self._url,
                         self.settings)
        self.requests += 1
        self.bytes_fetched += len(data)
        for i in range(index, stop):
            self._blocks[i] = data[(i - index) * block_size:(i - index + 1) * block_size]
            self._blocks.move_to_end(i)
        while len(self._blocks) > self.settings.cache_blocks:
            self._blocks.popitem(last=False)
        return self._blocks[index]

    def close(self) -> None:
        self._blocks.clear()
        super().close()

    def __repr__(self) -> str:
        return f'RemoteFile({self.name!r}, size={self.size})'


# ---------------------------------------------------------------------------- the functions
def open_file(path: str | os.PathLike, mode: str = 'rb',
              settings: IOSettings | None = None) -> IO[bytes]:
    """Open a local path or a URL for reading, as a seekable binary file.

    Args:
        path: a local path, or an ``s3://``, ``gs://``, ``http(s)://`` URL.
        mode: ``'rb'`` only (remote objects are read-only here).
        settings: timeouts, retries and caching (default: :meth:`IOSettings.from_env`).

    Raises:
        FileNotFoundError / PermissionError / TimeoutError / OSError: naming the URL.
        ImportError: the extra a scheme needs is missing (the message names it).
    """
    if mode != 'rb':
        raise ValueError(f"open_file reads only (mode='rb'), got mode={mode!r}")
    if is_remote(path):
        return RemoteFile(str(path), settings)  # type: ignore[return-value]
    return open(os.fspath(path), 'rb')


def exists(path: str | os.PathLike, settings: IOSettings | None = None) -> bool:
    """Whether the file or object exists (for a URL: retried, then errors other than a 404
    raise)."""
    if not is_remote(path):
        return os.path.exists(path)
    url, settings = str(path), settings or IOSettings.from_env()
    return retrying(lambda: _backend(url, settings).exists(url), url, settings)


def file_size(path: str | os.PathLike, settings: IOSettings | None = None) -> int:
    """The size in bytes of a local file or a remote object."""
    if not is_remote(path):
        return os.path.getsize(path)
    url, settings = str(path), settings or IOSettings.from_env()
    return retrying(lambda: _backend(url, settings).size(url), url, settings)


def list_files(prefix: str | os.PathLike, settings: IOSettings | None = None) -> list[str]:
    """Every file under a local folder or an ``s3://`` / ``gs://`` prefix, recursively, sorted
    (full paths / URLs)."""
    if not is_remote(prefix):
        root = os.fspath(prefix)
        return sorted(os.path.join(folder, name) for folder, _, names in os.walk(root)
                      for name in names)
    url, settings = str(prefix), settings or IOSettings.from_env()
    return retrying(lambda: _backend(url, settings).list(url), url, settings)


def read_bytes(path: str | os.PathLike, max_bytes: int, what: str = 'file',
               error: Callable[[str], Exception] = ValueError,
               settings: IOSettings | None = None) -> bytes:
    """All the bytes of a local file (:func:`~.bounded_read.read_file_bytes`: regular files
    only) or a remote object (one ranged GET), refusing more than ``max_bytes``
    (``error(message)``)."""
    if not is_remote(path):
        return read_file_bytes(path, max_bytes, what, error)
    url, settings = str(path), settings or IOSettings.from_env()
    backend = _backend(url, settings)
    data = retrying(lambda: backend.read_upto(url, max_bytes + 1), url, settings)
    if len(data) > max_bytes:
        raise error(f'{what} {redact_url(url)} is more than the {max_bytes}-byte cap for a '
                    f'{what}')
    return data


def read_text(path: str | os.PathLike, max_bytes: int, what: str = 'file',
              error: Callable[[str], Exception] = ValueError,
              settings: IOSettings | None = None) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a BOM dropped); bad bytes name the line."""
    data = read_bytes(path, max_bytes, what, error, settings)
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        line = data.count(b'\n', 0, err.start) + 1
        shown = redact_url(str(path)) if is_remote(path) else os.fspath(path)
        raise error(f'{shown}:{line}: {what} is not valid UTF-8 text ({err.reason} at byte '
                    f'{err.start})') from err


def join_path(base: str | os.PathLike, *parts: str) -> str:
    """``os.path.join`` for local paths; for a URL, ``/``-joined after it (an absolute part or
    a URL replaces what precedes it, as ``os.path.join`` does)."""
    if not is_remote(base) and not any(is_remote(p) for p in parts):
        return os.path.join(base, *parts)
    out = os.fspath(base)
    for part in parts:
        out = part if is_remote(part) or (part.startswith('/') and not is_remote(out)) \
            else posixpath.join(out, part.lstrip('/') if is_remote(out) else part)
    return out


@contextlib.contextmanager
def local_copy(path: str | os.PathLike, settings: IOSettings | None = None) -> Iterator[str]:
    """A local path for ``path``: itself when local, else a temporary copy of the object
    (deleted on exit) for readers that need a real file (``torch.load`` of a checkpoint)."""
    if not is_remote(path):
        yield os.fspath(path)
        return
    url = str(path)
    suffix = os.path.splitext(url.split('?')[0])[1][:16]
    settings = (settings or IOSettings.from_env())
    settings = IOSettings(settings.timeout, settings.retries, 8 << 20, 1)
    fd, temp = tempfile.mkstemp(prefix='actionkit-', suffix=suffix)
    try:
        with os.fdopen(fd, 'wb') as out, RemoteFile(url, settings) as fin:
            shutil.copyfileobj(fin, out, 8 << 20)
        yield temp
    finally:
        with contextlib.suppress(OSError):
            os.remove(temp)
