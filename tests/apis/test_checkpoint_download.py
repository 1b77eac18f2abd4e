"""Named and URL checkpoints are downloaded into the torch hub cache, as MMAction2 does.

A server on 127.0.0.1 plays download.pytorch.org / download.openmmlab.com: the download code is
the real one, only the base address differs (``ACTIONKIT_TORCHVISION_BASE_URL`` /
``ACTIONKIT_OPENMMLAB_BASE_URL``).
"""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from actionkit.apis import init_recognizer
from actionkit.models import checkpoint_urls
from actionkit.models.builder import build_model
from actionkit.models.weights import read_checkpoint, resolve_pretrained

_MODEL = dict(type='Recognizer2D',
              backbone=dict(type='ResNet', depth=18, base_channels=8, pretrained=None),
              cls_head=dict(type='TSNHead', num_classes=3, in_channels=64))
_CONFIG = f"""model = {_MODEL!r}
data = dict(test=dict(type='VideoDataset', ann_file='none.txt', data_prefix=None, pipeline=[
    dict(type='PyAVInit'), dict(type='SampleFrames', clip_len=1, frame_interval=1,
    num_clips=2, test_mode=True), dict(type='PyAVDecode'), dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=56), dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]), dict(type='ToTensor', keys=['imgs'])]))
"""


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    hits: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.path.startswith('/slow/'):  # 1 KiB every 50 ms: long enough to be killed
            for start in range(0, len(body), 1024):
                self.wfile.write(body[start:start + 1024])
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.wfile.write(body)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's base URL; TORCH_HOME in tmp_path, downloads allowed."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('ACTIONKIT_OFFLINE', raising=False)
    _Files.files, _Files.hits = {}, []
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


def _cache(tmp_path: Path) -> Path:
    return tmp_path / 'torch' / 'hub' / 'checkpoints'


def _checkpoint_bytes(seed: int) -> tuple[bytes, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    state = build_model(_MODEL).state_dict()
    buffer = io.BytesIO()
    torch.save({'meta': {}, 'state_dict': state}, buffer)
    return buffer.getvalue(), state


def _hashed_name(stem: str, body: bytes) -> str:
    return f'{stem}-{hashlib.sha256(body).hexdigest()[:8]}.pth'


def test_init_recognizer_downloads_a_url_checkpoint_once(server, tmp_path, capfd):
    body, state = _checkpoint_bytes(seed=3)
    name = _hashed_name('tsn_tiny_20200101', body)
    _Files.files[f'/mmaction/{name}'] = body
    config = tmp_path / 'tsn.py'
    config.write_text(_CONFIG)
    model = init_recognizer(str(config), f'{server}/mmaction/{name}', device='cpu')
    for key, value in model.state_dict().items():
        if key in state:
            torch.testing.assert_close(value, state[key], msg=key)
    assert (_cache(tmp_path) / name).read_bytes() == body
    assert sorted(p.name for p in _cache(tmp_path).iterdir()) == [name]  # no temp file left
    assert f'downloading {server}/mmaction/{name}' in capfd.readouterr().err  # the progress
    # a second use reads the cache: no new request
    init_recognizer(str(config), f'{server}/mmaction/{name}', device='cpu')
    assert _Files.hits == [f'/mmaction/{name}']


def test_torchvision_and_mmcls_names_download_from_their_tables(server, tmp_path, monkeypatch):
    body, state = _checkpoint_bytes(seed=4)
    tv_name = _hashed_name('resnet18', body)
    monkeypatch.setitem(checkpoint_urls.TORCHVISION_CHECKPOINTS, 'resnet18', (tv_name,))
    monkeypatch.setenv('ACTIONKIT_TORCHVISION_BASE_URL', f'{server}/models/')
    monkeypatch.setenv('ACTIONKIT_OPENMMLAB_BASE_URL', f'{server}/mm/')
    _Files.files[f'/models/{tv_name}'] = body
    path = resolve_pretrained('torchvision://resnet18')
    assert path == str(_cache(tmp_path) / tv_name)
    torch.testing.assert_close(read_checkpoint(path)['state_dict']['cls_head.fc_cls.weight'],
                               state['cls_head.fc_cls.weight'])
    # mmcls:// and open-mmlab:// go to the mmcv tables' paths under the openmmlab base
    mmcls = checkpoint_urls.MMCLS_FOLDER + checkpoint_urls.MMCLS_CHECKPOINTS['mobilenet_v2']
    with pytest.raises(OSError, match=f'{server}/mm/{mmcls}: HTTP 404'):
        resolve_pretrained('mmcls://mobilenet_v2')
    with pytest.raises(OSError, match='/mm/pretrain/third_party/resnet50_v1c-2cccc1ad.pth'):
        resolve_pretrained('open-mmlab://resnet50_v1c')


def test_hash_in_the_file_name_is_checked(server, tmp_path):
    _Files.files['/models/resnet18-f37072fd.pth'] = b'not the torchvision weights'
    url = f'{server}/models/resnet18-f37072fd.pth'
    with pytest.raises(OSError, match='SHA-256 .* not f37072fd') as info:
        resolve_pretrained(url)
    assert str(_cache(tmp_path) / 'resnet18-f37072fd.pth') in str(info.value)  # where to put it
    assert list(_cache(tmp_path).iterdir()) == []  # nothing kept, not even a temp file


def test_offline_message_names_the_url_and_the_place(server, tmp_path, monkeypatch):
    monkeypatch.setenv('ACTIONKIT_TORCHVISION_BASE_URL', 'http://127.0.0.1:9/models/')
    with pytest.raises(OSError) as info:
        resolve_pretrained('torchvision://resnet50')
    message = str(info.value)
    assert 'torchvision://resnet50' in message and 'http://127.0.0.1:9/models/resnet50' in message
    assert str(_cache(tmp_path) / 'resnet50-0676ba61.pth') in message
    monkeypatch.setenv('ACTIONKIT_OFFLINE', '1')
    with pytest.raises(FileNotFoundError, match='ACTIONKIT_OFFLINE'):
        resolve_pretrained(f'{server}/x/never-requested.pth')
    assert _Files.hits == []


def test_a_killed_download_leaves_no_file_under_the_final_name(server, tmp_path):
    body = os.urandom(200 * 1024)  # 200 KiB at 20 KiB/s: 10 s, killed after the first bytes
    name = _hashed_name('big', body)
    _Files.files[f'/slow/{name}'] = body
    code = ('from actionkit.models.weights import resolve_pretrained; '
            f'resolve_pretrained({f"{server}/slow/{name}"!r})')
    env = dict(os.environ, TORCH_HOME=str(tmp_path / 'torch'))
    env.pop('ACTIONKIT_OFFLINE', None)
    child = subprocess.Popen([sys.executable, '-c', code], env=env)
    cache = _cache(tmp_path)
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in cache.glob('*')):  # the first bytes arrived
        assert child.poll() is None, 'the download ended before it could be killed'
        assert time.monotonic() < deadline, 'the download never started'
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (cache / name).exists()
    assert all('.partial-' in p.name for p in cache.iterdir())


def test_an_overlong_file_name_is_refused_naming_the_url(server):
    url = f'{server}/weights/model.{"p" * 300}'
    with pytest.raises(ValueError, match=r'/weights/model\.p{300}: the file name is 306 '
                                         r'characters long'):
        resolve_pretrained(url)
    assert _Files.hits == []
