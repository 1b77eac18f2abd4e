import http.server
import threading
import time

import pytest

from actionkit.utils.download import fetch_url, is_url, redact_url


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802
        if self.path == '/ok.mp4':
            body = b'x' * 1000
            self.send_response(200)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == '/big-undeclared':
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b'y' * 1024)
        elif self.path == '/slow':
            time.sleep(30)  # far beyond the bound below: only an honoured timeout is faster
            self.send_response(200)
            self.end_headers()
        else:
            self.send_error(404)


@pytest.fixture(scope='module')
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()


def test_fetch_ok(server, tmp_path):
    path = fetch_url(f'{server}/ok.mp4')
    try:
        assert path.endswith('.mp4')
        assert open(path, 'rb').read() == b'x' * 1000
    finally:
        import os
        os.remove(path)


def test_404_names_url(server):
    with pytest.raises(OSError, match=r'/missing\.mp4.*HTTP 404'):
        fetch_url(f'{server}/missing.mp4')


def test_size_cap(server):
    with pytest.raises(OSError, match='cap'):
        fetch_url(f'{server}/ok.mp4', max_bytes=10)  # declared length too big
    with pytest.raises(OSError, match='cap'):
        fetch_url(f'{server}/big-undeclared', max_bytes=10_000)  # streamed past the cap


def test_timeout(server):
    start = time.perf_counter()
    with pytest.raises(OSError, match='could not fetch'):
        fetch_url(f'{server}/slow', timeout=0.5)
    assert time.perf_counter() - start < 10  # a loaded 2-core machine may take seconds


@pytest.mark.parametrize('url', ['file:///etc/passwd', 'ftp://example.com/a.mp4',
                                 'gopher://x/y'])
def test_other_schemes_refused(url):
    with pytest.raises(ValueError, match='only http:// and https://'):
        fetch_url(url)


def test_redaction_and_detection():
    url = 'https://user:secret@host.example:8443/v/a.mp4?token=abc'
    assert redact_url(url) == 'https://host.example:8443/v/a.mp4'
    assert 'secret' not in redact_url(url) and 'token' not in redact_url(url)
    assert is_url(url) and is_url('file:///x') and not is_url('/data/a.mp4')
    assert not is_url('C:/videos/a.mp4') and not is_url(3)
