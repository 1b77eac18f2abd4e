"""Training outputs on object storage (moto's S3 server on 127.0.0.1, nothing mocked below
HTTP): ``tools/train.py --work-dir s3://...`` mirrors every output and resumes on a fresh
machine, ``checkpoint_config.out_dir`` / ``TextLoggerHook.out_dir`` URLs follow mmcv's layout
and ``max_keep_ckpts``, ``tools/test.py --out s3://...``, the prefix lock, and a bad endpoint
is one line without the secret."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from remote_servers import SECRET_KEY, TINY_TSN, free_port

REPO = Path(__file__).resolve().parents[2]
BUCKET = 'out-bkt'

_CONFIG = TINY_TSN + '''\
split = dict(type='VideoDataset', ann_file={ann!r}, data_prefix={prefix!r},
             pipeline=test_pipeline)
data = dict(videos_per_gpu=5, workers_per_gpu=0, train=split, val=split,
            test=dict(split, test_mode=True))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[5])
total_epochs = 1
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
log_level = 'INFO'
workflow = [('train', 1)]
{extra}
'''


def _config(tmp_path: Path, data: dict, extra: str = '', name: str = 'tiny_s3.py') -> Path:
    path = tmp_path / name
    path.write_text(_CONFIG.format(ann=data['val_list_videos'], prefix=data['videos_root'],
                                   extra=extra), encoding='utf-8')
    return path


def _tool(tool: str, args: list[str], cache: Path, ok: bool = True,
          **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools' / tool), *args], capture_output=True, text=True,
        timeout=240, cwd=REPO,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES='-1', OMP_NUM_THREADS='1',
                 ACTIONKIT_CACHE=str(cache), **env))
    if ok:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _objects(s3, prefix: str) -> dict[str, bytes]:
    found = s3.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get('Contents', [])
    return {o['Key'][len(prefix):]: s3.client.get_object(Bucket=BUCKET, Key=o['Key'])['Body']
            .read() for o in found}


def _bucket(s3) -> None:
    names = {b['Name'] for b in s3.client.list_buckets().get('Buckets', [])}
    if BUCKET not in names:
        s3.client.create_bucket(Bucket=BUCKET)


def _state_dict(data: bytes) -> dict[str, torch.Tensor]:
    return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)['state_dict']


@pytest.mark.slow
def test_work_dir_on_s3_mirrors_the_outputs_and_resumes_on_a_fresh_machine(
        s3_server, synthetic_data, tmp_path, monkeypatch) -> None:
    from actionkit.engine.remote_work_dir import staging_dir

    _bucket(s3_server)
    config = _config(tmp_path, synthetic_data)
    cache = tmp_path / 'cache'
    url = f's3://{BUCKET}/runs/tiny'
    _tool('train.py', [str(config), '--work-dir', url, '--test-last'], cache)
    objects = _objects(s3_server, 'runs/tiny/')
    names = set(objects)
    assert {'epoch_1.pth', 'latest.pth', 'tiny_s3.py', 'last_pred.pkl'} <= names, names
    assert len([n for n in names if n.endswith('.log')]) == 1, names
    assert len([n for n in names if n.endswith('.log.json')]) == 1, names
    assert not [n for n in names if n.startswith('.')], names  # no lock, probe or temp file
    monkeypatch.setenv('ACTIONKIT_CACHE', str(cache))
    staging = Path(staging_dir(url))
    assert staging.name == 'tiny' and str(staging).startswith(str(cache))
    local = torch.load(staging / 'epoch_1.pth', map_location='cpu', weights_only=True)
    remote = _state_dict(objects['epoch_1.pth'])
    assert remote.keys() == local['state_dict'].keys()
    for key, value in local['state_dict'].items():
        assert torch.equal(remote[key], value), key
    assert objects['latest.pth'] == objects['epoch_1.pth']
    log = next(v for n, v in objects.items() if n.endswith('.log')).decode()
    assert 'Epoch [1][2/2]' in log
    assert not [n for n, data in objects.items() if SECRET_KEY.encode() in data]

    shutil.rmtree(cache)  # a fresh machine: only the bucket is left
    # work_dir from the config this time (here through --cfg-options)
    done = _tool('train.py', [str(config), '--resume-from', 'auto',
                              '--cfg-options', 'total_epochs=2', f'work_dir={url}'], cache)
    assert 'resumed from' in done.stderr and 'epoch 1, iteration 2' in done.stderr, \
        done.stderr[-3000:]
    assert 'Epoch [1][' not in done.stderr and 'Epoch [2][2/2]' in done.stderr
    names = set(_objects(s3_server, 'runs/tiny/'))
    assert {'epoch_1.pth', 'epoch_2.pth', 'latest.pth'} <= names
    assert len([n for n in names if n.endswith('.log')]) == 2, names


def test_checkpoint_and_log_out_dirs_on_s3_follow_mmcv(s3_server, synthetic_data,
                                                       tmp_path) -> None:
    _bucket(s3_server)
    extra = (f"checkpoint_config = dict(interval=1, max_keep_ckpts=2, "
             f"out_dir='s3://{BUCKET}/ckpts')\n"
             f"log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook', "
             f"out_dir='s3://{BUCKET}/logs')])\ntotal_epochs = 3\n")
    config = _config(tmp_path, synthetic_data, extra)
    # an object of the user's that looks like ours but is not one of our names is kept
    s3_server.put(f's3://{BUCKET}/ckpts/exp/epoch_1.pth.bak', b'mine')
    work_dir = tmp_path / 'exp'
    _tool('train.py', [str(config), '--work-dir', str(work_dir)], tmp_path / 'cache')
    # mmcv: out_dir/<last part of the work dir>/; max_keep_ckpts=2 of epochs 1..3
    assert set(_objects(s3_server, 'ckpts/')) == {
        'exp/epoch_2.pth', 'exp/epoch_3.pth', 'exp/latest.pth', 'exp/epoch_1.pth.bak'}
    assert sorted(p.name for p in work_dir.glob('*.pth')) == [
        'epoch_2.pth', 'epoch_3.pth', 'latest.pth']
    logs = set(_objects(s3_server, 'logs/'))
    assert {'exp/tiny_s3.py'} <= logs and \
        {n.rsplit('.', 1)[-1] for n in logs} == {'py', 'log', 'json'}, logs
    remote = _state_dict(_objects(s3_server, 'ckpts/exp/')['epoch_3.pth'])
    local = torch.load(work_dir / 'epoch_3.pth', map_location='cpu', weights_only=True)
    assert all(torch.equal(remote[k], v) for k, v in local['state_dict'].items())


def test_tools_test_writes_its_out_file_to_s3(s3_server, synthetic_data, tmp_path) -> None:
    from actionkit.config import Config
    from actionkit.models import build_model

    _bucket(s3_server)
    config = _config(tmp_path, synthetic_data)
    torch.manual_seed(0)
    model = build_model(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, checkpoint)
    _tool('test.py', [str(config), str(checkpoint), '--out', str(tmp_path / 'local.pkl')],
          tmp_path / 'cache')
    _tool('test.py', [str(config), str(checkpoint), '--out', f's3://{BUCKET}/res/out.pkl'],
          tmp_path / 'cache')
    assert _objects(s3_server, 'res/')['out.pkl'] == (tmp_path / 'local.pkl').read_bytes()


@pytest.mark.parametrize('fault', ['unreachable endpoint', 'missing bucket', 'no credentials'])
def test_a_bad_remote_work_dir_is_one_line_without_the_secret(
        s3_server, synthetic_data, tmp_path, fault) -> None:
    _bucket(s3_server)
    config = _config(tmp_path, synthetic_data)
    secret = 'SECRETKEY123'
    env = dict(AWS_SECRET_ACCESS_KEY=secret, ACTIONKIT_IO_RETRIES='1')
    url = f's3://{BUCKET}/run-{fault.replace(" ", "-")}'
    if fault == 'unreachable endpoint':
        env['AWS_ENDPOINT_URL'] = f'http://127.0.0.1:{free_port()}'
    elif fault == 'missing bucket':
        url = f's3://no-such-bkt-{free_port()}/run'
    else:
        env.update(AWS_ACCESS_KEY_ID='', AWS_SECRET_ACCESS_KEY='')
    done = _tool('train.py', [str(config), '--work-dir', url], tmp_path / 'cache', ok=False,
                 **env)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if 'error:' in line]
    assert len(lines) == 1 and url in lines[0] and 'not writable' in lines[0], done.stderr
    expected = {'unreachable endpoint': 'Could not connect to the endpoint URL',
                'missing bucket': 'FileNotFoundError', 'no credentials': 'credentials'}[fault]
    assert expected in lines[0] and 'Environment info' not in done.stderr  # before training
    assert secret not in done.stdout + done.stderr
    for path in (tmp_path / 'cache').rglob('*'):  # no log or file holds it
        assert path.is_dir() or secret.encode() not in path.read_bytes()
    if fault != 'missing bucket':
        assert _objects(s3_server, url.split('/', 3)[3] + '/') == {}  # no probe object left


def test_the_prefix_lock_refuses_a_live_holder_elsewhere_and_is_released(s3_server) -> None:
    from actionkit.engine.remote_work_dir import remote_lock

    _bucket(s3_server)
    url = f's3://{BUCKET}/locked'
    lock = f'{url}/.actionkit-train.lock'
    s3_server.put(lock, b'4242 another-host 2026-01-01 00:00:00\n')
    with pytest.raises(FileExistsError, match='pid 4242 on host another-host'):
        with remote_lock(url):
            pass
    s3_server.client.delete_object(Bucket=BUCKET, Key='locked/.actionkit-train.lock')
    with remote_lock(url):
        held = _objects(s3_server, 'locked/')['.actionkit-train.lock'].decode()
        assert held.split()[0] == str(os.getpid())
        with pytest.raises(FileExistsError, match='in use by another training run'):
            with remote_lock(url):  # the same prefix from a second run of this process
                pass
    assert _objects(s3_server, 'locked/') == {}


def test_the_mirror_uploads_what_changed_and_removes_only_what_it_uploaded(
        s3_server, tmp_path) -> None:
    from actionkit.engine.remote_work_dir import OutputMirror
    from actionkit.utils.remote_write import list_sizes

    _bucket(s3_server)
    url = f's3://{BUCKET}/mirror/run'
    s3_server.put(f'{url}/epoch_0.pth', b'not ours')  # objects this mirror never uploaded
    s3_server.put(f'{url}/same.log', b'12345')
    staging = tmp_path / 'run'
    staging.mkdir()
    (staging / 'a.log').write_bytes(b'line 1\n')
    (staging / 'latest.pth').write_bytes(b'L1')
    (staging / 'epoch_1.pth').write_bytes(b'E1')
    (staging / 'same.log').write_bytes(b'54321')  # same size as the object: counted as sent
    (staging / '.epoch_2.pth.tmp-123-abcd').write_bytes(b'half')  # a write in progress
    (staging / '.actionkit-train.lock').write_bytes(b'1 host\n')
    mirror = OutputMirror(str(staging), url, list_sizes(url))
    # numbered checkpoints first, then latest.pth, then the rest
    assert mirror.sync() == ['epoch_1.pth', 'latest.pth', 'a.log']
    assert mirror.sync() == []
    with open(staging / 'a.log', 'ab') as fout:
        fout.write(b'line 2\n')
    assert mirror.sync(checkpoints_only=True) == []
    assert mirror.sync() == ['a.log']
    (staging / 'epoch_1.pth').unlink()  # pruned by max_keep_ckpts
    (staging / 'epoch_2.pth').write_bytes(b'E2')
    assert mirror.sync(checkpoints_only=True) == ['epoch_2.pth']
    assert _objects(s3_server, 'mirror/run/') == {
        'epoch_0.pth': b'not ours', 'epoch_2.pth': b'E2', 'latest.pth': b'L1',
        'a.log': b'line 1\nline 2\n', 'same.log': b'12345'}
    # latest.pth as the trainer makes it, a hard link: copied on the server, not uploaded
    (staging / 'latest.pth').unlink()
    os.link(staging / 'epoch_2.pth', staging / 'latest.pth')
    assert mirror.server_copies == 0 and mirror.sync() == ['latest.pth']
    assert mirror.server_copies == 1 and _objects(s3_server, 'mirror/run/')['latest.pth'] == b'E2'


def test_the_mirror_points_1x_last_checkpoint_at_the_remote_copy(s3_server, tmp_path) -> None:
    """A 1.x run's layout goes up as it is (the {timestamp}/vis_data folder too), and
    last_checkpoint, which names the checkpoint in the staging folder, names it on the store."""
    from actionkit.engine.remote_work_dir import OutputMirror

    _bucket(s3_server)
    url = f's3://{BUCKET}/mirror/v1run'
    staging = tmp_path / 'v1run'
    (staging / '20261206_101010' / 'vis_data').mkdir(parents=True)
    (staging / '20261206_101010' / 'vis_data' / 'scalars.json').write_text('{"step": 1}\n')
    (staging / 'epoch_3.pth').write_bytes(b'E3')
    (staging / 'last_checkpoint').write_text(str(staging / 'epoch_3.pth'))
    OutputMirror(str(staging), url).sync()
    objects = _objects(s3_server, 'mirror/v1run/')
    assert objects['last_checkpoint'] == f'{url}/epoch_3.pth'.encode()
    assert objects['20261206_101010/vis_data/scalars.json'] == b'{"step": 1}\n'
    assert (staging / 'last_checkpoint').read_text() == str(staging / 'epoch_3.pth')


def test_the_mirror_rides_out_an_outage_during_training(s3_server, tmp_path,
                                                        monkeypatch, caplog) -> None:
    from actionkit.engine.remote_work_dir import OutputMirror

    _bucket(s3_server)
    url = f's3://{BUCKET}/outage/run'
    staging = tmp_path / 'run'
    staging.mkdir()
    mirror = OutputMirror(str(staging), url)
    (staging / 'epoch_1.pth').write_bytes(b'E1')
    monkeypatch.setenv('AWS_ENDPOINT_URL', f'http://127.0.0.1:{free_port()}')  # store down
    monkeypatch.setenv('ACTIONKIT_IO_RETRIES', '0')
    assert mirror.sync(strict=False) == []
    assert 'could not mirror the work dir to s3://out-bkt/outage/run' in caplog.text
    with pytest.raises(OSError, match='s3://out-bkt/outage/run/epoch_1.pth'):
        mirror.sync()  # the last sync of a run says it
    monkeypatch.setenv('AWS_ENDPOINT_URL', s3_server.endpoint)  # back: the next sync sends it
    assert mirror.sync(strict=False) == ['epoch_1.pth']
    assert _objects(s3_server, 'outage/run/') == {'epoch_1.pth': b'E1'}


def test_train_model_refuses_a_url_work_dir(tmp_path) -> None:
    from actionkit.apis import train_model
    from actionkit.config import Config

    cfg = Config(dict(work_dir='s3://bkt/run', data=dict(), optimizer=dict(type='SGD', lr=0.1),
                      total_epochs=1))
    with pytest.raises(ValueError, match='s3://bkt/run.*tools/train.py --work-dir'):
        train_model(torch.nn.Linear(1, 1), [], cfg)


def test_the_prefix_lock_of_a_dead_run_of_this_host_is_taken_over(s3_server, caplog) -> None:
    import socket

    from actionkit.engine.remote_work_dir import remote_lock

    _bucket(s3_server)
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True, check=True)
    url = f's3://{BUCKET}/stale'
    s3_server.put(f'{url}/.actionkit-train.lock',
                  f'{dead.stdout.strip()} {socket.gethostname()} 2026-01-01 00:00:00\n'.encode())
    with remote_lock(url):
        held = _objects(s3_server, 'stale/')['.actionkit-train.lock'].decode()
        assert held.split()[0] == str(os.getpid())
    assert 'taking over the lock' in caplog.text and _objects(s3_server, 'stale/') == {}


def test_the_prefix_lock_is_a_lease_refreshed_while_held_and_taken_over_once_old(
        s3_server, monkeypatch, caplog) -> None:
    import time

    from actionkit.engine.remote_work_dir import remote_lock

    _bucket(s3_server)
    monkeypatch.setenv('ACTIONKIT_LOCK_TTL', '1.2')
    url = f's3://{BUCKET}/lease'
    # a run killed on another machine: its lock is never refreshed again
    s3_server.put(f'{url}/.actionkit-train.lock', b'4242 another-host 2026-01-01 00:00:00\n')
    with pytest.raises(FileExistsError, match='not refreshed for 1.2 s is taken over'):
        with remote_lock(url):
            pass
    time.sleep(1.5)
    with remote_lock(url):
        assert 'not refreshed for' in caplog.text and 'pid 4242 on host another-host' in \
            caplog.text
        time.sleep(2.0)  # longer than the lease: only the heartbeat keeps it ours
        with pytest.raises(FileExistsError, match='in use by another training run'):
            with remote_lock(url):
                pass
    assert _objects(s3_server, 'lease/') == {}


def test_the_1x_dump_file_goes_to_s3(s3_server) -> None:
    from actionkit.commands.v1 import _write_file

    _bucket(s3_server)
    _write_file(f's3://{BUCKET}/dump/results.pkl', b'\x80\x04records')
    assert _objects(s3_server, 'dump/') == {'results.pkl': b'\x80\x04records'}
    with pytest.raises(ValueError, match='http.*read-only'):
        _write_file('https://example.org/results.pkl', b'x')
