"""``actionkit.utils.fileio`` against a real S3 API (moto) and faulty servers on 127.0.0.1.

Ranged reads and the bounded cache, errors that name the URL, the timeout of a stalled server,
the retries of a 500-then-OK server, credentials kept out of messages and logs, and the
``io_backend`` mapping.
"""
from __future__ import annotations

import logging
import sys
import time
import traceback

import pytest
from remote_servers import ACCESS_KEY, SECRET_KEY

from actionkit.utils import fileio
from actionkit.utils.fileio import IOSettings, RemoteFile
from actionkit.utils.io_backends import resolve_io_backend

BLOCK = 1024
# 10.5 blocks of bytes that differ from block to block, so a wrong offset changes the answer
DATA = bytes((i * 7 + i // BLOCK) % 251 for i in range(10 * BLOCK + 512))


def _settings(**kwargs: object) -> IOSettings:
    values = dict(timeout=5.0, retries=2, block_size=BLOCK, cache_blocks=3)
    values.update(kwargs)
    return IOSettings(**values)


def _assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text, text
        assert ACCESS_KEY not in text, text
        assert 'Signature=' not in text or 'Signature=***' in text, text


def _all_text(err: BaseException) -> str:
    return ''.join(traceback.format_exception(type(err), err, err.__traceback__)) + repr(err)


# ------------------------------------------------------------------------- reads
def test_ranged_reads_fetch_only_the_blocks_touched(s3_server) -> None:
    s3_server.put('s3://data-bkt/blob.bin', DATA)
    with RemoteFile('s3://data-bkt/blob.bin', _settings()) as fin:
        assert fin.size == len(DATA)
        fin.seek(5 * BLOCK + 100)
        assert fin.read(50) == DATA[5 * BLOCK + 100:5 * BLOCK + 150]
        assert (fin.requests, fin.bytes_fetched) == (1, BLOCK)  # one block, not the file
        fin.seek(5 * BLOCK + 900)  # the rest of block 5 (cached) and the start of block 6
        assert fin.read(300) == DATA[5 * BLOCK + 900:5 * BLOCK + 1200]
        assert (fin.requests, fin.bytes_fetched) == (2, 2 * BLOCK)
        fin.seek(-10, 2)  # the short last block
        assert fin.read() == DATA[-10:]  # the rest in one request of its own size
        assert (fin.requests, fin.bytes_fetched) == (3, 2 * BLOCK + 10)
        assert fin.read(5) == b''  # at the end


def test_sequential_read_keeps_the_cache_bounded(s3_server) -> None:
    s3_server.put('s3://data-bkt/blob.bin', DATA)
    with RemoteFile('s3://data-bkt/blob.bin', _settings()) as fin:
        chunks = []
        while chunk := fin.read(700):
            chunks.append(chunk)
            assert len(fin._blocks) <= 3
        assert b''.join(chunks) == DATA
        assert fin.bytes_fetched == len(DATA)  # each block fetched once
        fin.seek(0)
        assert fin.read(10) == DATA[:10]  # evicted long ago: fetched again
        assert fin.bytes_fetched == len(DATA) + BLOCK


def test_one_large_read_is_one_request(s3_server) -> None:
    s3_server.put('s3://data-bkt/blob.bin', DATA)
    with RemoteFile('s3://data-bkt/blob.bin', _settings(cache_blocks=16)) as fin:
        assert fin.read() == DATA
        assert fin.requests == 1


def test_helpers_on_s3(s3_server, tmp_path) -> None:
    s3_server.put('s3://data-bkt/tree/a.txt', b'alpha\n')
    s3_server.put('s3://data-bkt/tree/sub/b.txt', b'')
    assert fileio.list_files('s3://data-bkt/tree') == ['s3://data-bkt/tree/a.txt',
                                                       's3://data-bkt/tree/sub/b.txt']
    assert fileio.exists('s3://data-bkt/tree/a.txt')
    assert not fileio.exists('s3://data-bkt/tree/c.txt')
    assert fileio.file_size('s3://data-bkt/tree/a.txt') == 6
    assert fileio.read_text('s3://data-bkt/tree/a.txt', 100) == 'alpha\n'
    assert fileio.read_bytes('s3://data-bkt/tree/sub/b.txt', 100) == b''
    with pytest.raises(ValueError, match=r's3://data-bkt/tree/a.txt is more than the 5-byte'):
        fileio.read_bytes('s3://data-bkt/tree/a.txt', 5)
    with fileio.local_copy('s3://data-bkt/tree/a.txt') as path:
        assert open(path, 'rb').read() == b'alpha\n'
    assert not __import__('os').path.exists(path)  # the temporary copy is gone


def test_join_path() -> None:
    assert fileio.join_path('s3://b/videos', 'a/x.mp4') == 's3://b/videos/a/x.mp4'
    assert fileio.join_path('s3://b/videos/', '/a/x.mp4') == 's3://b/videos/a/x.mp4'
    assert fileio.join_path('/data', 's3://b/x.mp4') == 's3://b/x.mp4'
    assert fileio.join_path('/data', 'x.mp4') == '/data/x.mp4'
    assert fileio.join_path('/data', '/abs/x.mp4') == '/abs/x.mp4'


def test_http_ranged_reads(fault_server) -> None:
    fault_server.files['blob.bin'] = DATA
    with fileio.open_file(f'{fault_server.url}/files/blob.bin', settings=_settings()) as fin:
        fin.seek(3 * BLOCK + 5)
        assert fin.read(10) == DATA[3 * BLOCK + 5:3 * BLOCK + 15]
        assert fin.bytes_fetched == BLOCK
    assert len(fault_server.seen) == 2  # a one-byte GET for the size, then one block


# ------------------------------------------------------------------------- errors
def test_missing_object_names_the_url(s3_server) -> None:
    s3_server.put('s3://data-bkt/there.bin', b'x')
    with pytest.raises(FileNotFoundError, match=r's3://data-bkt/videos/missing\.mp4: no such'):
        fileio.open_file('s3://data-bkt/videos/missing.mp4')
    with pytest.raises(FileNotFoundError, match=r's3://no-such-bucket/a\.txt: no such'):
        fileio.read_bytes('s3://no-such-bucket/a.txt', 100)


def test_missing_http_file_names_the_url(fault_server) -> None:
    url = f'{fault_server.url}/files/missing.mp4'
    with pytest.raises(FileNotFoundError, match=rf'{url}: no such file .*HTTP 404'):
        fileio.open_file(url)


def test_access_denied_is_not_retried(fault_server) -> None:
    url = f'{fault_server.url}/deny/blob.bin'
    with pytest.raises(PermissionError, match=rf'{url}: access denied \(HTTP 403'):
        fileio.open_file(url, settings=_settings(retries=3))
    assert len(fault_server.seen) == 1


def test_stalled_s3_server_times_out(s3_server, fault_server, monkeypatch, caplog) -> None:
    monkeypatch.setenv('AWS_ENDPOINT_URL', f'{fault_server.url}/stall')
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        fileio.open_file('s3://data-bkt/blob.bin', settings=_settings(timeout=1.0, retries=1))
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert 's3://data-bkt/blob.bin' in message and '1 s request timeout' in message, message
    assert 'gave up after 2 attempts' in message, message
    assert elapsed < 8, elapsed  # two 1 s timeouts and one short wait, not the 30 s stall
    # the first try may spend its second on making the client (botocore loads its models)
    assert 1 <= sum('/stall/' in s for s in fault_server.seen) <= 2, fault_server.seen
    _assert_no_secrets(_all_text(info.value), caplog.text)


def test_stalled_http_server_times_out(fault_server) -> None:
    url = f'{fault_server.url}/stall/blob.bin'
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=rf'{url}: no answer within the 1 s'):
        fileio.open_file(url, settings=_settings(timeout=1.0, retries=0))
    assert time.monotonic() - start < 5


def test_500_then_ok_is_retried_on_s3(s3_server, fault_server, monkeypatch, caplog) -> None:
    s3_server.put('s3://data-bkt/blob.bin', DATA)
    fault_server.upstream = s3_server.endpoint
    monkeypatch.setenv('AWS_ENDPOINT_URL', f'{fault_server.url}/flaky/2')
    caplog.set_level(logging.WARNING, logger='actionkit.utils.fileio')
    with RemoteFile('s3://data-bkt/blob.bin', _settings()) as fin:  # 2 x 500, then OK
        fin.seek(BLOCK)
        assert fin.read(BLOCK) == DATA[BLOCK:2 * BLOCK]
    heads = [s for s in fault_server.seen if s.startswith('HEAD')]
    assert len(heads) == 3, fault_server.seen  # the size: two 500s, then the answer
    retries = [r for r in caplog.records if 'retrying' in r.getMessage()]
    assert len(retries) == 2 and 's3://data-bkt/blob.bin' in retries[0].getMessage()
    _assert_no_secrets(caplog.text)


def test_500_past_the_retries_names_the_url(s3_server, fault_server, monkeypatch,
                                            caplog) -> None:
    fault_server.upstream = s3_server.endpoint
    monkeypatch.setenv('AWS_ENDPOINT_URL', f'{fault_server.url}/flaky/5')
    with pytest.raises(OSError) as info:
        fileio.open_file('s3://data-bkt/blob.bin', settings=_settings(retries=2))
    message = str(info.value)
    assert message.startswith('s3://data-bkt/blob.bin: ') and 'gave up after 3' in message
    assert len(fault_server.seen) == 3
    _assert_no_secrets(_all_text(info.value), caplog.text)


def test_500_then_ok_is_retried_on_http(fault_server) -> None:
    fault_server.files['blob.bin'] = DATA
    url = f'{fault_server.url}/flaky/1/files/blob.bin'
    assert fileio.read_bytes(url, 1 << 20, settings=_settings()) == DATA
    assert len(fault_server.seen) == 2


def test_credentials_stay_out_of_messages_and_logs(s3_server, fault_server, monkeypatch,
                                                   caplog) -> None:
    # ours at every level; botocore's own DEBUG log prints signed requests (its choice, off
    # unless a user turns it on), so the other libraries are held to INFO and above
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger='actionkit')
    errors = []
    for url in ('s3://data-bkt/none.bin', 's3://no-such-bucket/x'):
        with pytest.raises(OSError) as info:
            fileio.open_file(url)
        errors.append(info.value)
    monkeypatch.setenv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9')  # nothing listens there
    with pytest.raises(OSError) as info:
        fileio.open_file('s3://data-bkt/blob.bin', settings=_settings(retries=1))
    errors.append(info.value)
    secret_url = f'http://alice:{SECRET_KEY}@{fault_server.url[7:]}/files/none.bin?token=abc'
    with pytest.raises(FileNotFoundError) as info:
        fileio.open_file(secret_url)
    errors.append(info.value)
    assert 'alice' not in str(info.value) and 'token=abc' not in str(info.value)
    for err in errors:
        _assert_no_secrets(_all_text(err))
    _assert_no_secrets(caplog.text)


def test_scrub_removes_signatures_and_env_secrets(s3_server) -> None:
    text = (f'AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/s3/aws4_request, '
            f'Signature=0123abcd secret {SECRET_KEY} url https://u:p@host/x')
    clean = fileio._scrub(text)
    _assert_no_secrets(clean)
    assert 'u:p@' not in clean and 'https://host/x' in clean


def test_missing_extra_names_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, 'gcsfs', None)  # as if not installed
    fileio._filesystem.cache_clear()
    with pytest.raises(ImportError, match=r"pip install 'actionkit\[gcs\]'"):
        fileio.open_file('gs://bucket/a.mp4', settings=_settings(timeout=7.5))


def test_settings_from_env(monkeypatch) -> None:
    monkeypatch.setenv('ACTIONKIT_IO_TIMEOUT', '2.5')
    monkeypatch.setenv('ACTIONKIT_IO_RETRIES', '0')
    assert IOSettings.from_env() == IOSettings(timeout=2.5, retries=0)
    monkeypatch.setenv('ACTIONKIT_IO_RETRIES', 'many')
    with pytest.raises(ValueError, match="ACTIONKIT_IO_RETRIES='many' is not a int"):
        IOSettings.from_env()
    with pytest.raises(ValueError, match='block_size must be an int >= 1'):
        IOSettings(block_size=0)


# ------------------------------------------------------------------------- io_backend
@pytest.mark.parametrize('backend', ['disk', 'http'])
def test_io_backend_disk_and_http_are_accepted(backend: str) -> None:
    assert resolve_io_backend(backend, 'DecordInit') == backend
    assert resolve_io_backend('disk', file_client_args=dict(backend=backend)) == backend


@pytest.mark.parametrize('backend', ['petrel', 'memcached', 'lmdb', 'ceph'])
def test_io_backend_cluster_stores_are_refused_with_the_alternative(backend: str) -> None:
    with pytest.raises(ValueError, match=rf"RawFrameDecode: io_backend='{backend}' .*not "
                                         r'supported.*s3://bucket/prefix.*AWS_ENDPOINT_URL'):
        resolve_io_backend(backend, 'RawFrameDecode')
    with pytest.raises(ValueError, match=rf"io_backend='{backend}'"):
        resolve_io_backend(file_client_args=dict(backend=backend))


def test_io_backend_unknown_and_extra_options_are_refused() -> None:
    with pytest.raises(ValueError, match=r"io_backend must be one of \('disk', 'http'\).*'s4'"):
        resolve_io_backend('s4')
    with pytest.raises(ValueError, match=r"file_client_args \['path_mapping'\] are not"):
        resolve_io_backend(file_client_args=dict(backend='disk', path_mapping={}))
