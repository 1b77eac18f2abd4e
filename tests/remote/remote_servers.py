"""The servers of the remote-file tests (see ``conftest.py`` for the fixtures that start them):
the S3 helper over moto, and the faulty HTTP server's state and request handler."""
from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ['ACCESS_KEY', 'SECRET_KEY', 'STALL_S', 'GCS_BUCKET', 'TINY_TSN', 'S3', 'GCS',
           'FaultServer', 'free_port', 'fault_handler', 'put_tree', 'patched_environ']

ACCESS_KEY = 'AKIAEXAMPLEKEY7QX3LZ'
SECRET_KEY = 'wJalrXUtnFEMI-TopSecret-Value-0123456789'
STALL_S = 30.0
GCS_BUCKET = 'gcs-bkt'  # the emulator's bucket
# the start of the tools' test configs: a tiny TSN (ResNet-18, 4 stem channels) and a test
# pipeline of 3 single frames at 24 x 24
TINY_TSN = '''\
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, base_channels=4, pretrained=None, norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=10, in_channels=32, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.0,
                  init_std=0.5),
    train_cfg=None, test_cfg=dict(average_clips='score'))
test_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(24, 24), keep_ratio=False),
    dict(type='Normalize', mean=[127.5] * 3, std=[64.0] * 3, to_bgr=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label'])]
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class S3:
    """A running moto S3 server and helpers to put objects into it."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        import boto3
        self.client = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1',
                                   aws_access_key_id=ACCESS_KEY,
                                   aws_secret_access_key=SECRET_KEY)

    def put(self, url: str, data: bytes) -> None:
        bucket, _, key = url[len('s3://'):].partition('/')
        buckets = {b['Name'] for b in self.client.list_buckets().get('Buckets', [])}
        if bucket not in buckets:
            self.client.create_bucket(Bucket=bucket)
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def put_tree(self, url: str, folder: str | os.PathLike) -> None:
        put_tree(self.put, url, folder)


class GCS:
    """A running GCS emulator: its address and an uploader / lister over GCS's JSON API
    with plain HTTP requests (not the client under test)."""

    def __init__(self, endpoint: str, log_path: Path) -> None:
        self.endpoint = endpoint
        self.log_path = log_path  # the emulator's request log

    def put(self, url: str, data: bytes) -> None:
        bucket, _, name = url[len('gs://'):].partition('/')
        query = urllib.parse.urlencode(dict(uploadType='media', name=name))
        request = urllib.request.Request(
            f'{self.endpoint}/upload/storage/v1/b/{bucket}/o?{query}', data=data, method='POST',
            headers={'Content-Type': 'application/octet-stream'})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200, reply.status

    def put_tree(self, url: str, folder: str | os.PathLike) -> None:
        put_tree(self.put, url, folder)

    def objects(self, url: str) -> dict[str, bytes]:
        """``{name under the prefix: data}`` of every object under ``url``."""
        bucket, _, prefix = url[len('gs://'):].partition('/')
        prefix = prefix.rstrip('/') + '/'
        query = urllib.parse.urlencode(dict(prefix=prefix))
        with urllib.request.urlopen(f'{self.endpoint}/storage/v1/b/{bucket}/o?{query}',
                                    timeout=10) as reply:
            names = [item['name'] for item in json.load(reply).get('items', [])]
        found = {}
        for name in names:
            quoted = urllib.parse.quote(name, safe='')
            with urllib.request.urlopen(f'{self.endpoint}/download/storage/v1/b/{bucket}/o/'
                                        f'{quoted}?alt=media', timeout=10) as reply:
                found[name[len(prefix):]] = reply.read()
        return found


def put_tree(put: Callable[[str, bytes], None], url: str, folder: str | os.PathLike) -> None:
    """``put`` every file under ``folder`` to ``url/<relative path>``."""
    root = Path(folder)
    for path in sorted(root.rglob('*')):
        if path.is_file():
            put(f'{url.rstrip("/")}/{path.relative_to(root).as_posix()}', path.read_bytes())


@contextlib.contextmanager
def patched_environ(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` (for the tests and their subprocesses), restore after."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class FaultServer:
    """The faulty HTTP server's address, what it serves and what it saw."""

    def __init__(self, port: int) -> None:
        self.url = f'http://127.0.0.1:{port}'
        self.upstream = ''  # the S3 endpoint /flaky/ forwards to
        self.files: dict[str, bytes] = {}  # /files/<name> over plain http
        self.seen: list[str] = []
        self.failures: dict[str, int] = {}


def fault_handler(state: FaultServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, code: int, body: bytes = b'', headers: dict | None = None,
                   length: int | None = None) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header('Content-Length', str(len(body) if length is None else length))
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)


        def _serve_file(self, data: bytes) -> None:
            rng = self.headers.get('Range', '')
            if rng.startswith('bytes='):
                first, _, last = rng[6:].partition('-')
                start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
                self._reply(206, data[start:end + 1],
                            {'Content-Range': f'bytes {start}-{end}/{len(data)}'})
            else:
                self._reply(200, data)

        def _forward(self, path: str) -> None:
            host = state.upstream.split('://', 1)[1]
            conn = http.client.HTTPConnection(host, timeout=10)
            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() != 'host'}
            headers['Host'] = host
            conn.request(self.command, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            keep = {k: v for k, v in response.getheaders()
                    if k.lower() not in ('content-length', 'transfer-encoding', 'connection')}
            length = response.getheader('Content-Length') if self.command == 'HEAD' else None
            self._reply(response.status, data, keep, None if length is None else int(length))
            conn.close()

        def _handle(self) -> None:
            state.seen.append(f'{self.command} {self.path}')
            parts = self.path.split('/')
            if parts[1] == 'stall':
                time.sleep(STALL_S)
                self._reply(200, b'late')
            elif parts[1] == 'flaky':
                left = state.failures.setdefault(parts[2], int(parts[2]))
                if left > 0:
                    state.failures[parts[2]] = left - 1
                    self._reply(500, b'<Error><Code>InternalError</Code><Message>try again'
                                     b'</Message></Error>', {'Content-Type': 'application/xml'})
                elif parts[3] == 'files':
                    self._serve_file(state.files['/'.join(parts[4:]).split('?')[0]])
                else:
                    self._forward('/' + '/'.join(parts[3:]))
            elif parts[1] == 'slow':  # 0.5 s late, then the file
                time.sleep(0.5)
                self._serve_file(state.files['/'.join(parts[2:]).split('?')[0]])
            elif parts[1] == 'deny':
                self._reply(403, b'<Error><Code>AccessDenied</Code></Error>')
            elif parts[1] == 'files':
                data = state.files.get('/'.join(parts[2:]).split('?')[0])
                if data is None:
                    self._reply(404, b'not found')
                else:
                    self._serve_file(data)
            else:
                self._reply(404, b'not found')

        do_GET = do_HEAD = do_PUT = do_POST = _handle  # noqa: N815 - the http.server API

    return Handler
