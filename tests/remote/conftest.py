"""Servers on 127.0.0.1 for the remote-file tests: a real S3 API and two faulty servers.

* ``s3_server``: moto's S3 server (``moto[server]``) in a thread on a free port, for the whole
  module, stopped after. The fixture sets the standard AWS variables (``AWS_ENDPOINT_URL``,
  ``AWS_ACCESS_KEY_ID`` ...) for the tests and their subprocesses, as a user would, and
  returns an object with ``endpoint``, ``put(url, data)`` and ``put_tree(url, folder)``.
  Nothing is mocked below HTTP: requests go through sockets to the server.
* ``gcs_server``: a Google Cloud Storage emulator (``gcp-storage-emulator``, pure Python) in a
  subprocess for the module, its request log in a file; ``STORAGE_EMULATOR_HOST`` points gcsfs
  at it as it would a user's. Returns a :class:`remote_servers.GCS`.
* ``fault_server``: an HTTP server that answers ``/stall/...`` after ``STALL_S`` seconds,
  ``/flaky/N/...`` with HTTP 500 the first N times and then forwards to the S3 server (or
  serves ``files`` over http with Range support), ``/deny/...`` with HTTP 403, counting the
  requests it saw.

This folder is put on ``sys.path`` (pytest runs in ``importlib`` mode, which does not), so the
tests import ``remote_servers`` (the constants and helpers).
"""
from __future__ import annotations

import http.server
import importlib.util
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

pytest.importorskip('moto.server', reason="the S3 tests need moto: pip install 'actionkit[test]'")
pytest.importorskip('s3fs', reason="the S3 tests need s3fs: pip install 'actionkit[s3]'")

from remote_servers import (ACCESS_KEY, GCS, GCS_BUCKET, SECRET_KEY, S3,  # noqa: E402
                            FaultServer, fault_handler, free_port, patched_environ)


@pytest.fixture(scope='module')
def s3_server() -> Iterator[S3]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    server.start()
    endpoint = f'http://127.0.0.1:{port}'
    env = dict(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=ACCESS_KEY,
               AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION='us-east-1',
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               ACTIONKIT_IO_TIMEOUT='10', ACTIONKIT_IO_RETRIES='2')
    try:
        with patched_environ(env):
            yield S3(endpoint)
    finally:
        server.stop()



@pytest.fixture(scope='module')
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCS]:
    if importlib.util.find_spec('gcsfs') is None or \
            importlib.util.find_spec('gcp_storage_emulator') is None:
        pytest.skip("the gs:// tests need gcsfs and gcp-storage-emulator: "
                    "pip install 'actionkit[test]'")
    port = free_port()
    endpoint = f'http://127.0.0.1:{port}'
    log_path = tmp_path_factory.mktemp('gcs') / 'emulator.log'
    with open(log_path, 'w') as log:
        process = subprocess.Popen(
            [sys.executable, '-u', '-m', 'gcp_storage_emulator', 'start', '--host', '127.0.0.1',
             '--port', str(port), '--in-memory', '--default-bucket', GCS_BUCKET],
            stdout=log, stderr=subprocess.STDOUT)
    # gcsfs >= 2025 first asks a gRPC API whether a bucket is hierarchical, which an emulator
    # does not serve (each ask waits a minute): a user of an emulator turns that off too
    env = dict(STORAGE_EMULATOR_HOST=endpoint, GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT='false',
               ACTIONKIT_IO_TIMEOUT='10', ACTIONKIT_IO_RETRIES='2')
    try:
        with patched_environ(env):
            # gcsfs picks its file-system class when first imported: forget an earlier choice
            for name in [m for m in sys.modules if m == 'gcsfs' or m.startswith('gcsfs.')]:
                del sys.modules[name]
            for protocol in ('gs', 'gcs'):
                sys.modules['fsspec.registry']._registry.pop(protocol, None)
            _wait_for(f'{endpoint}/storage/v1/b/{GCS_BUCKET}', process, log_path)
            yield GCS(endpoint, log_path)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'the GCS emulator exited: {log_path.read_text()[-2000:]}')
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f'the GCS emulator did not answer at {url} within 30 s')


@pytest.fixture()
def fault_server() -> Iterator[FaultServer]:
    port = free_port()
    state = FaultServer(port)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), fault_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
