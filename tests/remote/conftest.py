"""Servers on 127.0.0.1 for the remote-file tests: a real S3 API and two faulty servers.

* ``s3_server``: moto's S3 server (``moto[server]``) in a thread on a free port, for the whole
  module, stopped after. The fixture sets the standard AWS variables (``AWS_ENDPOINT_URL``,
  ``AWS_ACCESS_KEY_ID`` ...) for the tests and their subprocesses, as a user would, and
  returns an object with ``endpoint``, ``put(url, data)`` and ``put_tree(url, folder)``.
  Nothing is mocked below HTTP: requests go through sockets to the server.
* ``fault_server``: an HTTP server that answers ``/stall/...`` after ``STALL_S`` seconds,
  ``/flaky/N/...`` with HTTP 500 the first N times and then forwards to the S3 server (or
  serves ``files`` over http with Range support), ``/deny/...`` with HTTP 403, counting the
  requests it saw.

This folder is put on ``sys.path`` (pytest runs in ``importlib`` mode, which does not), so the
tests import ``remote_servers`` (the constants and helpers).
"""
from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

pytest.importorskip('moto.server', reason="the S3 tests need moto: pip install 'actionkit[test]'")
pytest.importorskip('s3fs', reason="the S3 tests need s3fs: pip install 'actionkit[s3]'")

from remote_servers import (ACCESS_KEY, SECRET_KEY, S3, FaultServer,  # noqa: E402
                            fault_handler, free_port)


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
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield S3(endpoint)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


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
