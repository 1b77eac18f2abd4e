"""``gs://`` through gcsfs against a Google Cloud Storage emulator on 127.0.0.1.

The emulator (``gcp-storage-emulator``, pure Python, in the ``test`` extra) runs in a
subprocess for the module, speaking GCS's JSON API over HTTP; ``STORAGE_EMULATOR_HOST`` points
gcsfs at it as it would a user's. Objects are uploaded with plain HTTP requests, not with the
client under test. gcsfs >= 2025 first asks GCS's gRPC control API whether a bucket is
hierarchical, which an emulator does not serve (each probe waits a minute):
``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` turns that probe off, as a user of an emulator sets it.
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from remote_servers import free_port
from test_remote_tools import _CONFIG, _run

from actionkit.config import Config
from actionkit.models import build_model
from actionkit.utils import fileio
from actionkit.utils.fileio import IOSettings, RemoteFile

# found, not imported: gcsfs must first be imported with the fixture's environment
if importlib.util.find_spec('gcsfs') is None:
    pytest.skip("the gs:// tests need gcsfs: pip install 'actionkit[gcs]'", allow_module_level=True)
if importlib.util.find_spec('gcp_storage_emulator') is None:
    pytest.skip("the gs:// tests need gcp-storage-emulator: pip install 'actionkit[test]'",
                allow_module_level=True)

BUCKET = 'gcs-bkt'
BLOCK = 1024
DATA = bytes((i * 13 + i // BLOCK) % 253 for i in range(6 * BLOCK + 300))


class GCS:
    """The running emulator: its address and an uploader that does not use gcsfs."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def put(self, url: str, data: bytes) -> None:
        bucket, _, name = url[len('gs://'):].partition('/')
        query = urllib.parse.urlencode(dict(uploadType='media', name=name))
        request = urllib.request.Request(
            f'{self.endpoint}/upload/storage/v1/b/{bucket}/o?{query}', data=data, method='POST',
            headers={'Content-Type': 'application/octet-stream'})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200, reply.status

    def put_tree(self, url: str, folder: str | os.PathLike) -> None:
        root = Path(folder)
        for path in sorted(root.rglob('*')):
            if path.is_file():
                self.put(f'{url.rstrip("/")}/{path.relative_to(root).as_posix()}',
                         path.read_bytes())


def _wait_listening(endpoint: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'the GCS emulator exited: {process.stdout.read()[-2000:]}')
        try:
            with urllib.request.urlopen(f'{endpoint}/storage/v1/b/{BUCKET}', timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f'the GCS emulator did not answer at {endpoint} within 30 s')


@pytest.fixture(scope='module')
def gcs_server() -> Iterator[GCS]:
    port = free_port()
    endpoint = f'http://127.0.0.1:{port}'
    process = subprocess.Popen(
        [sys.executable, '-m', 'gcp_storage_emulator', 'start', '--host', '127.0.0.1',
         '--port', str(port), '--in-memory', '--default-bucket', BUCKET],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    env = dict(STORAGE_EMULATOR_HOST=endpoint, GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT='false',
               ACTIONKIT_IO_TIMEOUT='10', ACTIONKIT_IO_RETRIES='2')
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    # gcsfs picks its file-system class when first imported: forget an earlier choice
    for name in [m for m in sys.modules if m == 'gcsfs' or m.startswith('gcsfs.')]:
        del sys.modules[name]
    for protocol in ('gs', 'gcs'):
        sys.modules['fsspec.registry']._registry.pop(protocol, None)
    try:
        _wait_listening(endpoint, process)
        yield GCS(endpoint)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.terminate()
        process.communicate(timeout=10)


def test_ranged_reads_on_gs(gcs_server) -> None:
    url = f'gs://{BUCKET}/blobs/data.bin'
    gcs_server.put(url, DATA)
    settings = IOSettings(timeout=10.0, retries=1, block_size=BLOCK, cache_blocks=2)
    with RemoteFile(url, settings) as fin:
        assert fin.size == len(DATA)
        fin.seek(4 * BLOCK + 10)
        assert fin.read(20) == DATA[4 * BLOCK + 10:4 * BLOCK + 30]
        assert (fin.requests, fin.bytes_fetched) == (1, BLOCK)  # one block, not the object
        fin.seek(-7, 2)
        assert fin.read() == DATA[-7:]
        assert fin.requests == 2


def test_listing_and_helpers_on_gs(gcs_server) -> None:
    gcs_server.put(f'gs://{BUCKET}/tree/a/1.txt', b'one\n')
    gcs_server.put(f'gs://{BUCKET}/tree/b.txt', b'two\n')
    assert fileio.list_files(f'gs://{BUCKET}/tree') == [f'gs://{BUCKET}/tree/a/1.txt',
                                                         f'gs://{BUCKET}/tree/b.txt']
    assert fileio.exists(f'gs://{BUCKET}/tree/b.txt')
    assert not fileio.exists(f'gs://{BUCKET}/tree/c.txt')
    assert fileio.read_text(f'gs://{BUCKET}/tree/a/1.txt', 100) == 'one\n'
    assert fileio.file_size(f'gs://{BUCKET}/tree/b.txt') == 4


def test_missing_gs_object_names_the_url(gcs_server) -> None:
    with pytest.raises(FileNotFoundError, match=rf'gs://{BUCKET}/videos/missing\.mp4'):
        fileio.open_file(f'gs://{BUCKET}/videos/missing.mp4')


@pytest.mark.slow
def test_tools_test_on_gs_gives_the_local_result(gcs_server, synthetic_data, tmp_path) -> None:
    ann, videos = synthetic_data['val_list_videos'], synthetic_data['videos_root']
    gcs_server.put(f'gs://{BUCKET}/val_list_videos.txt', Path(ann).read_bytes())
    gcs_server.put_tree(f'gs://{BUCKET}/videos', videos)
    config = tmp_path / 'tiny_tsn.py'
    config.write_text(_CONFIG.format(ann=ann, prefix=videos), encoding='utf-8')
    torch.manual_seed(4)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'meta': {}, 'state_dict': build_model(Config.fromfile(str(config)).model)
                .state_dict()}, checkpoint)
    gcs_server.put(f'gs://{BUCKET}/work/tiny.pth', checkpoint.read_bytes())

    local_out, remote_out = tmp_path / 'local.pkl', tmp_path / 'remote.pkl'
    _run([str(config), str(checkpoint), '--out', str(local_out)])
    # the remote run's config names local paths that do not exist: only the overrides work
    elsewhere = tmp_path / 'tiny_tsn_elsewhere.py'
    elsewhere.write_text(_CONFIG.format(ann=str(tmp_path / 'absent.txt'),
                                        prefix=str(tmp_path / 'absent')), encoding='utf-8')
    _run([str(elsewhere), f'gs://{BUCKET}/work/tiny.pth', '--out', str(remote_out),
          '--cfg-options', f'data.test.ann_file=gs://{BUCKET}/val_list_videos.txt',
          f'data.test.data_prefix=gs://{BUCKET}/videos'])
    local = pickle.loads(local_out.read_bytes())
    remote = pickle.loads(remote_out.read_bytes())
    assert len(local) == len(remote) == 10
    for a, b in zip(local, remote):
        assert np.array_equal(a, b)
    assert np.ptp(np.stack(local)) > 0  # real scores, not a constant
