"""``gs://`` through gcsfs against a Google Cloud Storage emulator on 127.0.0.1 (the
``gcs_server`` fixture): reads, listing, errors, ``tools/test.py`` on gs:// data, and training
outputs mirrored to a gs:// work dir and resumed from it on a fresh machine."""
from __future__ import annotations

import shutil

import pytest
import torch
from remote_servers import GCS_BUCKET, SECRET_KEY
from test_remote_tools import check_tools_test_on_store
from test_remote_work_dir import _config, _state_dict, _tool

from actionkit.utils import fileio
from actionkit.utils.fileio import IOSettings, RemoteFile

BLOCK = 1024
DATA = bytes((i * 13 + i // BLOCK) % 253 for i in range(6 * BLOCK + 300))


def test_ranged_reads_on_gs(gcs_server) -> None:
    url = f'gs://{GCS_BUCKET}/blobs/data.bin'
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
    gcs_server.put(f'gs://{GCS_BUCKET}/tree/a/1.txt', b'one\n')
    gcs_server.put(f'gs://{GCS_BUCKET}/tree/b.txt', b'two\n')
    assert fileio.list_files(f'gs://{GCS_BUCKET}/tree') == [f'gs://{GCS_BUCKET}/tree/a/1.txt',
                                                            f'gs://{GCS_BUCKET}/tree/b.txt']
    assert fileio.exists(f'gs://{GCS_BUCKET}/tree/b.txt')
    assert not fileio.exists(f'gs://{GCS_BUCKET}/tree/c.txt')
    assert fileio.read_text(f'gs://{GCS_BUCKET}/tree/a/1.txt', 100) == 'one\n'
    assert fileio.file_size(f'gs://{GCS_BUCKET}/tree/b.txt') == 4


def test_missing_gs_object_names_the_url(gcs_server) -> None:
    with pytest.raises(FileNotFoundError, match=rf'gs://{GCS_BUCKET}/videos/missing\.mp4'):
        fileio.open_file(f'gs://{GCS_BUCKET}/videos/missing.mp4')


@pytest.mark.slow
def test_tools_test_on_gs_gives_the_local_result(gcs_server, synthetic_data, tmp_path) -> None:
    check_tools_test_on_store(gcs_server, f'gs://{GCS_BUCKET}/test', synthetic_data, tmp_path)


@pytest.mark.slow
def test_work_dir_on_gs_mirrors_the_outputs_and_resumes_on_a_fresh_machine(
        gcs_server, synthetic_data, tmp_path) -> None:
    config = _config(tmp_path, synthetic_data, name='tiny_gs.py')
    cache, url = tmp_path / 'cache', f'gs://{GCS_BUCKET}/runs/tiny'
    _tool('train.py', [str(config), '--work-dir', url], cache)
    objects = gcs_server.objects(url)
    assert {'epoch_1.pth', 'latest.pth', 'tiny_gs.py'} <= set(objects), sorted(objects)
    assert len([n for n in objects if n.endswith('.log.json')]) == 1
    assert not [n for n in objects if n.startswith('.')]  # no lock, probe or temp object
    staged = next(cache.rglob('epoch_1.pth'))
    local = torch.load(staged, map_location='cpu', weights_only=True)['state_dict']
    remote = _state_dict(objects['epoch_1.pth'])
    assert all(torch.equal(remote[k], v) for k, v in local.items()) and remote.keys() == \
        local.keys()
    assert not [n for n, data in objects.items() if SECRET_KEY.encode() in data]
    # the work-dir lock object was created with GCS's create-only precondition (the emulator
    # does not enforce it; GCS does)
    requests = gcs_server.log_path.read_text()
    assert 'ifGenerationMatch=0' in requests

    shutil.rmtree(cache)  # a fresh machine: only the bucket is left
    done = _tool('train.py', [str(config), '--work-dir', url, '--resume-from', 'auto',
                              '--cfg-options', 'total_epochs=2'], cache)
    assert 'epoch 1, iteration 2' in done.stderr, done.stderr[-3000:]
    assert 'Epoch [1][' not in done.stderr and 'Epoch [2][2/2]' in done.stderr
    assert {'epoch_1.pth', 'epoch_2.pth'} <= set(gcs_server.objects(url))
