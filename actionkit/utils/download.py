"""Fetch an http(s) URL to a temporary file, with a timeout and a size cap.

Only ``http`` and ``https`` are accepted (``file://``, ``ftp://`` … are refused), also as the
target of a redirect. A ``user:password@`` in the URL is sent as HTTP basic authentication
(not forwarded on redirects); credentials and query strings never appear in messages or logs.
A download larger than ``max_bytes`` is cut off.
"""
from __future__ import annotations

import base64
import logging
import os
import re
import tempfile
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ['is_url', 'redact_url', 'fetch_url', 'DEFAULT_MAX_BYTES', 'DEFAULT_TIMEOUT']

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 2 * 1024**3
_CHUNK = 1 << 20
_SCHEME = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def is_url(path: object) -> bool:
    """True for strings that look like a URL with any scheme (``scheme://…``)."""
    return isinstance(path, str) and _SCHEME.match(path) is not None


def redact_url(url: str) -> str:
    """``url`` without user name, password and query string, safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ''
    if parts.port:
        host = f'{host}:{parts.port}'
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


def _request(url: str) -> urllib.request.Request:
    """A request for ``url`` without its ``user:password@``, sent as basic auth instead."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition('@')[2]
    request = urllib.request.Request(urlunsplit(parts._replace(netloc=host)))
    if parts.username is not None:
        pair = f'{unquote(parts.username)}:{unquote(parts.password or "")}'
        token = base64.b64encode(pair.encode('utf-8')).decode('ascii')
        request.add_unredirected_header('Authorization', f'Basic {token}')
    return request


def fetch_url(url: str, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
              suffix: str | None = None) -> str:
    """Download ``url`` to a new temporary file and return its path (the caller deletes it).

    Args:
        url: an ``http://`` or ``https://`` URL.
        timeout: seconds to wait for the connection and for each read.
        max_bytes: the largest download accepted.
        suffix: the temporary file's suffix; defaults to the URL path's extension.

    Raises:
        ValueError: for any other scheme.
        OSError: when the server answers with an error, does not answer in time, or sends more
            than ``max_bytes``; the message names the (redacted) URL.
    """
    parts = urlsplit(url)
    safe = redact_url(url)
    if parts.scheme not in ('http', 'https'):
        raise ValueError(f'only http:// and https:// URLs can be fetched, got {parts.scheme!r} '
                         f'in {safe!r}')
    if suffix is None:
        suffix = os.path.splitext(parts.path)[1] or '.mp4'
    fd, path = tempfile.mkstemp(prefix='actionkit-', suffix=suffix)
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    try:
        with os.fdopen(fd, 'wb') as out, \
                opener.open(_request(url), timeout=timeout) as response:  # noqa: S310 (checked)
            declared = response.headers.get('Content-Length')
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise OSError(f'{safe} is {int(declared)} bytes, more than the '
                              f'{max_bytes}-byte cap')
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise OSError(f'{safe} sent more than the {max_bytes}-byte cap; download '
                                  'stopped')
                out.write(chunk)
        logger.info('fetched %s (%d bytes)', safe, size)
        return path
    except urllib.error.HTTPError as err:
        _remove(path)
        raise OSError(f'could not fetch {safe}: HTTP {err.code} {err.reason}') from None
    except urllib.error.URLError as err:
        _remove(path)
        raise OSError(f'could not fetch {safe}: {err.reason}') from None
    except TimeoutError:
        _remove(path)
        raise OSError(f'could not fetch {safe}: no answer within {timeout} s') from None
    except BaseException:
        _remove(path)
        raise


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


