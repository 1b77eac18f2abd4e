"""Fetch an http(s) URL to a temporary file, with a timeout and a size cap.

Only ``http`` and ``https`` are accepted (``file://``, ``ftp://`` … are refused), also as the
target of a redirect. A ``user:password@`` in the URL is sent as HTTP basic authentication
(not forwarded on redirects); credentials and query strings never appear in messages or logs.
A download larger than ``max_bytes``, or slower in total than ``total_timeout``, is cut off;
one shorter than its ``Content-Length`` is an error. :func:`download_file` writes atomically
(a temporary file beside the target, then a rename) and checks a SHA-256 prefix.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import math
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

from .atomic import temp_path
from .progress import ProgressBar

__all__ = ['is_url', 'redact_url', 'download', 'fetch_url', 'download_file', 'DEFAULT_MAX_BYTES',
           'DEFAULT_TIMEOUT', 'DEFAULT_TOTAL_TIMEOUT', 'check_http_url', 'http_opener',
           'http_request']

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_TOTAL_TIMEOUT = 3600.0
_MAX_NAME = 200  # bytes of a downloaded file's name (file systems allow 255, minus our temp prefix)
_SUFFIX = re.compile(r'\.[A-Za-z0-9]{1,10}')
_CHUNK = 1 << 20
_SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def is_url(path: object) -> bool:
    """True for strings that look like a URL with any scheme (``scheme://…``)."""
    return isinstance(path, str) and _SCHEME.match(path) is not None


def redact_url(url: str) -> str:
    """``url`` without user name, password and query string, safe to log."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition('@')[2]  # the port as written, even when out of range
    return urlunsplit((parts.scheme, host, parts.path, '', ''))


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only (urllib's own handler also follows ``ftp://``)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ('http', 'https'):
            raise urllib.error.HTTPError(
                req.full_url, code, f'refused a redirect to {redact_url(newurl)!r}: only '
                'http:// and https:// URLs are fetched', headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def http_request(url: str) -> urllib.request.Request:
    """A request for ``url`` without its ``user:password@``, sent as basic auth instead."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition('@')[2]
    request = urllib.request.Request(urlunsplit(parts._replace(netloc=host)))
    if parts.username is not None:
        pair = f'{unquote(parts.username)}:{unquote(parts.password or "")}'
        token = base64.b64encode(pair.encode('utf-8')).decode('ascii')
        request.add_unredirected_header('Authorization', f'Basic {token}')
    return request


def http_opener() -> urllib.request.OpenerDirector:
    """A urllib opener that follows redirects to http(s) URLs only."""
    return urllib.request.build_opener(_HttpOnlyRedirects)


class _DownloadError(OSError):
    """A download refused by our own checks (cap, time limit, short read, hash)."""


def check_http_url(url: str) -> tuple[Any, str]:
    """``urlsplit(url)`` and the redacted URL; ValueError for a scheme or port we cannot use."""
    parts = urlsplit(url)
    safe = redact_url(url)
    if parts.scheme not in ('http', 'https'):
        raise ValueError(f'only http:// and https:// URLs can be fetched, got {parts.scheme!r} '
                         f'in {safe!r}')
    try:
        parts.port  # noqa: B018 - raises for a port outside 0-65535
    except ValueError:
        raise ValueError(f'{safe!r}: the port is not a number in 0-65535') from None
    if not parts.hostname:
        raise ValueError(f'{safe!r}: the URL has no host name')
    return parts, safe


def download(url: str, out: BinaryIO, timeout: float = DEFAULT_TIMEOUT,
             max_bytes: int = DEFAULT_MAX_BYTES, total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
             progress: bool = False) -> str:
    """Stream ``url`` into the open binary file ``out``; return the SHA-256 hex digest.

    Args:
        url: an ``http://`` or ``https://`` URL.
        out: where the bytes go.
        timeout: seconds to wait for the connection and for each read.
        max_bytes: the largest download accepted.
        total_timeout: seconds the whole download may take (a server that trickles bytes is
            cut off); ``0`` or ``None`` for no limit.
        progress: show a progress bar on stderr (redrawn on a terminal, a line every 10 s
            otherwise).

    Raises:
        ValueError: a scheme other than http(s), or a port outside 0-65535.
        OSError: the server answers with an error or with something that is not valid HTTP,
            does not answer in time, sends more than ``max_bytes``, fewer bytes than its
            ``Content-Length`` or takes longer than ``total_timeout``; the message names the
            (redacted) URL.
    """
    _, safe = check_http_url(url)
    opener = http_opener()
    deadline = time.monotonic() + total_timeout if total_timeout else math.inf
    digest = hashlib.sha256()
    size = 0
    try:
        with opener.open(http_request(url), timeout=timeout) as response:  # noqa: S310 (checked)
            declared = response.headers.get('Content-Length')
            declared = int(declared) if declared is not None and declared.isdigit() else None
            if declared is not None and declared > max_bytes:
                raise _DownloadError(f'{safe} is {declared} bytes, more than the '
                                     f'{max_bytes}-byte cap')
            bar = ProgressBar(declared or 0, desc=f'downloading {safe}: ', unit='B',
                              enabled=progress and bool(declared))
            while chunk := response.read1(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _DownloadError(f'{safe} sent more than the {max_bytes}-byte cap; '
                                         'download stopped')
                if time.monotonic() > deadline:
                    raise _DownloadError(f'{safe} took longer than the {total_timeout:g} s '
                                         f'limit for a whole download ({size} bytes received); '
                                         'download stopped')
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
            if declared is not None and size < declared:
                raise _DownloadError(f'{safe} ended after {size} of the {declared} bytes its '
                                     'Content-Length announced (connection closed early)')
    except _DownloadError:
        raise
    except urllib.error.HTTPError as err:
        raise OSError(f'could not fetch {safe}: HTTP {err.code} {err.reason}') from None
    except urllib.error.URLError as err:
        raise OSError(f'could not fetch {safe}: {err.reason}') from None
    except TimeoutError:
        raise OSError(f'could not fetch {safe}: no answer within {timeout} s') from None
    except (http.client.HTTPException, ValueError) as err:
        detail = f'{type(err).__name__}: {err}' if str(err) else type(err).__name__
        raise OSError(f'could not fetch {safe}: the server\'s answer is not valid HTTP '
                      f'({detail})') from None
    except OSError as err:
        raise OSError(f'could not fetch {safe}: {err.strerror or err}') from None
    logger.info('fetched %s (%d bytes)', safe, size)
    return digest.hexdigest()


def fetch_url(url: str, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
              suffix: str | None = None,
              total_timeout: float = DEFAULT_TOTAL_TIMEOUT) -> str:
    """Download ``url`` to a new temporary file and return its path (the caller deletes it).

    Args:
        url: an ``http://`` or ``https://`` URL.
        timeout: seconds to wait for the connection and for each read.
        max_bytes: the largest download accepted.
        suffix: the temporary file's suffix; defaults to the URL path's extension (``.mp4``
            when it has none or an implausible one).
        total_timeout: seconds the whole download may take (0: no limit).

    Raises:
        ValueError, OSError: see :func:`download`.
    """
    parts, _ = check_http_url(url)
    if suffix is None:
        suffix = os.path.splitext(parts.path)[1]
        if not _SUFFIX.fullmatch(suffix):
            suffix = '.mp4'
    fd, path = tempfile.mkstemp(prefix='actionkit-', suffix=suffix)
    try:
        with os.fdopen(fd, 'wb') as out:
            download(url, out, timeout, max_bytes, total_timeout)
        return path
    except BaseException:
        _remove(path)
        raise


def download_file(url: str, dest: str | os.PathLike, timeout: float = DEFAULT_TIMEOUT,
                  max_bytes: int = DEFAULT_MAX_BYTES,
                  total_timeout: float = DEFAULT_TOTAL_TIMEOUT, progress: bool = True,
                  sha256_prefix: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically: a temporary file beside it, then a rename.

    A download that fails or is killed leaves nothing under ``dest``'s name.

    Args:
        url, timeout, max_bytes, total_timeout, progress: see :func:`download`.
        dest: the final path; its folder is created.
        sha256_prefix: when given, the file's SHA-256 hex digest must start with it (torch
            hub's ``name-<hash>.pth`` convention); a mismatch removes the download.

    Raises:
        ValueError, OSError: see :func:`download`; OSError also for a hash mismatch.
    """
    _, safe = check_http_url(url)
    target = Path(dest)
    if len(target.name.encode('utf-8', 'surrogateescape')) > _MAX_NAME:
        raise ValueError(f'{safe}: the file name is {len(target.name)} characters long, more '
                         f'than the {_MAX_NAME} a download is saved under')
    temp = temp_path(target, directory=False)
    try:
        with open(temp, 'wb') as out:
            digest = download(url, out, timeout, max_bytes, total_timeout, progress)
        if sha256_prefix and not digest.startswith(sha256_prefix.lower()):
            raise _DownloadError(f'{safe}: the SHA-256 of the download is {digest[:16]}..., '
                                 f'not {sha256_prefix}... as its file name says; the file is '
                                 'corrupt or not the one named, and was not kept')
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


