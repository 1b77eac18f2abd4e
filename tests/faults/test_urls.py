"""Hostile URLs given to ``inference_recognizer``, the way a demo user passes them.

A local HTTP server plays every part: a good clip, a 404, a server that never answers, one
that streams without end, one that announces a huge file, redirects, and one that wants a
password. Downloads go to a private temporary folder, which must be empty afterwards.
"""
from __future__ import annotations

import base64
import functools
import http.server
import inspect
import math
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faults_helpers import slug, write_config
from faults_media import write_clip

import actionkit.apis.inference as inference
from actionkit.apis import inference_recognizer, init_recognizer
from actionkit.utils import download

TIMEOUT_S = 1.0
TOTAL_S = 2.0
MAX_BYTES = 256 * 1024
_SECRET = 's3cret-Pa55'
_REDIRECTS = {'/r/1': 'file:///etc/passwd', '/r/2': 'ftp://127.0.0.1:9/clip.mp4',
              '/r/3': '/clip.mp4', '/r/4': '/auth-echo'}


class _Handler(http.server.BaseHTTPRequestHandler):
    clip: bytes = b''

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split('?')[0]
        if path == '/clip.mp4':
            self._send(self.clip)
        elif path == '/private/clip.mp4':
            expected = base64.b64encode(f'alice:{_SECRET}'.encode()).decode()
            if self.headers.get('Authorization') == f'Basic {expected}':
                self._send(self.clip)
            else:
                self.send_error(401)
        elif path == '/auth-echo':
            self._send(self.headers.get('Authorization', 'none').encode())
        elif path == '/endless.mp4':  # no Content-Length, bytes until the client gives up
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b'\0' * 65536)
            except OSError:
                pass
        elif path == '/huge.mp4':  # announces a terabyte, sends nothing
            self.send_response(200)
            self.send_header('Content-Length', str(10**12))
            self.end_headers()
        elif path in _REDIRECTS:
            self.send_response(302)
            self.send_header('Location', _REDIRECTS[path])
            self.end_headers()
        else:
            self.send_error(404)


# what the raw server answers (anything but valid HTTP), by request path
_RAW = {
    '/short.mp4': b'HTTP/1.1 200 OK\r\nContent-Length: 4700\r\n\r\n' + b'\0' * 2350,
    '/bad-status.mp4': b'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n',
    '/bad-chunks.mp4': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
                       b'zz\r\nabc\r\n0\r\n\r\n',
    '/headers.mp4': b'HTTP/1.1 200 OK\r\n' + b''.join(b'X-H%d: v\r\n' % i for i in range(150))
                    + b'Content-Length: 0\r\n\r\n',
}


def _answer_raw(conn: socket.socket) -> None:
    with conn:
        words = conn.recv(65536).split(b' ')
        path = words[1].decode('latin-1') if len(words) > 1 else ''
        try:
            if path == '/trickle.mp4':  # a byte every 50 ms: every read is quick, the whole slow
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n')
                for _ in range(2000):
                    conn.sendall(b'\0')
                    time.sleep(0.05)
            else:
                conn.sendall(_RAW.get(path, b'HTTP/1.1 404 Not Found\r\n\r\n'))
        except OSError:  # the client gave up
            pass


def _serve_raw(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # closed at the end of the module
            return
        threading.Thread(target=_answer_raw, args=(conn,), daemon=True).start()


@dataclass
class _Servers:
    http: str   # base URL of the HTTP server
    silent: str  # base URL of a port that accepts connections and never answers
    raw: str  # base URL of a server that answers with broken HTTP (see _RAW)


@pytest.fixture(scope='module')
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Servers]:
    _Handler.clip = write_clip(tmp_path_factory.mktemp('served') / 'clip.mp4').read_bytes()
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # the kernel completes the handshake into the backlog; nobody ever reads or answers
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(8)
    raw = socket.socket()
    raw.bind(('127.0.0.1', 0))
    raw.listen(8)
    threading.Thread(target=_serve_raw, args=(raw,), daemon=True).start()
    yield _Servers(f'http://127.0.0.1:{httpd.server_address[1]}',
                   f'http://127.0.0.1:{silent.getsockname()[1]}',
                   f'http://127.0.0.1:{raw.getsockname()[1]}')
    raw.close()
    silent.close()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def model(tmp_path: Path) -> object:
    root = tmp_path / 'data'
    root.mkdir()
    write_clip(root / 'local.mp4', num_frames=8)
    (root / 'list.txt').write_text('local.mp4 1\n')
    return init_recognizer(str(write_config(tmp_path / 'config.py', root / 'list.txt', None)),
                           device='cpu')


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send downloads to a private folder, with a short timeout and a small size cap."""
    folder = tmp_path / 'downloads'
    folder.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(folder))
    monkeypatch.setattr(inference, 'fetch_url', functools.partial(
        download.fetch_url, timeout=TIMEOUT_S, max_bytes=MAX_BYTES, total_timeout=TOTAL_S))
    return folder


def test_the_defaults_are_bounded() -> None:
    """The limits that apply when a user passes a URL with no options."""
    parameters = inspect.signature(download.fetch_url).parameters
    assert 0 < parameters['timeout'].default <= 60
    assert math.isfinite(parameters['max_bytes'].default)
    assert parameters['max_bytes'].default <= 4 * 1024**3
    assert 0 < parameters['total_timeout'].default <= 24 * 3600


def test_a_good_url_is_scored_and_the_download_removed(servers: _Servers, model: object,
                                                       downloads: Path) -> None:
    top5 = inference_recognizer(model, f'{servers.http}/clip.mp4')
    assert inference_recognizer(model, f'{servers.http}/r/3') == top5  # http redirect: fine
    local = inference_recognizer(model, str(Path(model.cfg.filename).parent / 'data' /
                                            'local.mp4'))
    assert len(top5) == len(local) == 5
    assert list(downloads.iterdir()) == []


@dataclass(frozen=True)
class UrlFault:
    kind: str
    path: str  # appended to a server's base URL, or a whole URL when it has a scheme
    error: tuple[type[BaseException], str]
    silent: bool = False
    raw: bool = False  # served by the raw (broken HTTP) server
    # how long refusing may take: what this catches is a hang (a silent server never answers,
    # an endless stream never ends); a loaded 2-core machine may take several seconds
    max_s: float = 30.0


URL_FAULTS = [
    UrlFault('URL that 404s', '/missing.mp4', (OSError, r'/missing\.mp4: HTTP 404')),
    UrlFault('URL that never answers', '/clip.mp4',
             (OSError, rf'could not fetch .*/clip\.mp4: .*{TIMEOUT_S}'), silent=True,
             max_s=30.0),
    UrlFault('URL streaming past the size cap', '/endless.mp4',
             (OSError, rf'sent more than the {MAX_BYTES}-byte cap')),
    UrlFault('URL announcing more than the size cap', '/huge.mp4',
             (OSError, rf'is {10**12} bytes, more than the {MAX_BYTES}-byte cap')),
    UrlFault('file:// URL', 'file:///etc/passwd', (ValueError, r"only http:// and https:// "
                                                               r"URLs.*'file'")),
    UrlFault('ftp:// URL', 'ftp://127.0.0.1/clip.mp4', (ValueError, r"'ftp'")),
    UrlFault('redirect to file://', '/r/1', (OSError, r"(?i)redirect.* to (url )?'file:")),
    UrlFault('redirect to ftp://', '/r/2', (OSError, r"(?i)redirect.* to (url )?'ftp:")),
    UrlFault('URL that trickles bytes', '/trickle.mp4',
             (OSError, rf'/trickle\.mp4 took longer than the {TOTAL_S:g} s limit for a whole '
                       'download'), raw=True, max_s=TOTAL_S + TIMEOUT_S + 3),
    UrlFault('URL shorter than its Content-Length', '/short.mp4',
             (OSError, r'/short\.mp4 ended after 2350 of the 4700 bytes'), raw=True),
    UrlFault('bad HTTP status line', '/bad-status.mp4',
             (OSError, r'could not fetch http://127\.0\.0\.1:\d+/bad-status\.mp4: the '
                       r"server's answer is not valid HTTP \(BadStatusLine"), raw=True),
    UrlFault('broken chunked encoding', '/bad-chunks.mp4',
             (OSError, r"/bad-chunks\.mp4: the server's answer is not valid HTTP"), raw=True),
    UrlFault('more than 100 headers', '/headers.mp4',
             (OSError, r"/headers\.mp4: the server's answer is not valid HTTP \(.*100 headers"),
             raw=True),
    UrlFault('port out of range', 'http://u:pw@127.0.0.1:99999/clip.mp4',
             (ValueError, r"^'http://127\.0\.0\.1:99999/clip\.mp4': the port is not a number "
                          r'in 0-65535$')),
    UrlFault('300-character extension', '/clip.' + 'x' * 300,
             (OSError, r'/clip\.x{300}: HTTP 404')),
]

@pytest.mark.parametrize('fault', URL_FAULTS, ids=[slug(f.kind) for f in URL_FAULTS])
def test_bad_url_is_refused_quickly_and_leaves_nothing(servers: _Servers, model: object,
                                                       downloads: Path, fault: UrlFault) -> None:
    base = servers.silent if fault.silent else servers.raw if fault.raw else servers.http
    url = fault.path if '://' in fault.path else base + fault.path
    error, pattern = fault.error
    start = time.monotonic()
    with pytest.raises(error) as info:
        inference_recognizer(model, url)
    assert time.monotonic() - start < fault.max_s
    assert re.search(pattern, str(info.value)), str(info.value)
    assert list(downloads.iterdir()) == [], 'a partial download was left behind'


def test_credentials_work_and_never_reach_messages_or_logs(
        servers: _Servers, model: object, downloads: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """``user:password@`` in a URL is sent as HTTP basic auth; the password and the query
    string (often a token) appear in no error message and no log line."""
    base = servers.http.replace('http://', f'http://alice:{_SECRET}@')
    with caplog.at_level('DEBUG', logger='actionkit'):
        top5 = inference_recognizer(model, f'{base}/private/clip.mp4?token=t0k3n')
        with pytest.raises(OSError) as info:
            inference_recognizer(model, f'{base}/missing.mp4?token=t0k3n')
    assert len(top5) == 5
    assert 'HTTP 404' in str(info.value)
    for text in (str(info.value), caplog.text):
        assert _SECRET not in text and 'alice' not in text and 't0k3n' not in text
    assert 'fetched http://127.0.0.1' in caplog.text
    # the password goes to the host it was given for, not to where that host redirects
    echoed = download.fetch_url(f'{base}/r/4', timeout=TIMEOUT_S)
    assert Path(echoed).read_bytes() == b'none'
