"""Atomic checkpoints: layout, weights_only loading, latest.pth, pruning, kills and Ctrl-C."""
from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import actionkit
from actionkit.engine import checkpoint as ckpt
from actionkit.engine.checkpoint import (atomic_save, find_latest_checkpoint, get_rng_state,
                                         prune_checkpoints, remove_stale_temp_files,
                                         save_checkpoint, set_rng_state, update_latest)


class _Model(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.bn = nn.BatchNorm1d(width)
        self.CLASSES = ('a', 'b')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.fc(x))


def _temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if '.tmp-' in p.name]


def test_layout_and_weights_only_loading(tmp_path: Path) -> None:
    model = _Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 8)).sum().backward()
    optimizer.step()
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint(nn.DataParallel(model), str(path), optimizer=optimizer,
                    meta=dict(epoch=1, iter=10, config='x = 1'),
                    extra={'resume_state': {'rng': get_rng_state()}})
    loaded = torch.load(path, weights_only=True)
    assert set(loaded) == {'meta', 'state_dict', 'optimizer', 'resume_state'}
    meta = loaded['meta']
    assert meta['epoch'] == 1 and meta['iter'] == 10 and meta['config'] == 'x = 1'
    assert meta['CLASSES'] == ['a', 'b'] and meta['actionkit_version'] == actionkit.__version__
    assert isinstance(meta['time'], str)
    assert list(loaded['state_dict']) == list(model.state_dict())  # no 'module.' prefix
    for key, value in model.state_dict().items():
        assert torch.equal(loaded['state_dict'][key], value)
    assert loaded['optimizer']['state'][0]['momentum_buffer'].shape == (8, 8)
    assert _temp_files(tmp_path) == []


def test_extra_must_not_clash(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match='state_dict'):
        save_checkpoint(_Model(), str(tmp_path / 'a.pth'), extra={'state_dict': {}})


def test_keyboard_interrupt_during_write_leaves_no_partial_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / 'latest.pth'
    atomic_save({'version': 1}, str(path))

    def interrupted_save(obj: object, f: object) -> None:
        f.write(b'partial bytes')  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, 'save', interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({'version': 2}, str(path))
    monkeypatch.undo()
    assert _temp_files(tmp_path) == []
    assert torch.load(path, weights_only=True) == {'version': 1}


def test_update_latest_links_or_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / 'epoch_1.pth'
    atomic_save({'n': 1}, str(src))
    latest = tmp_path / 'latest.pth'
    update_latest(str(src), str(latest))
    assert os.path.samefile(src, latest)
    src.unlink()  # pruning the epoch file keeps latest intact
    assert torch.load(latest, weights_only=True) == {'n': 1}

    src2 = tmp_path / 'epoch_2.pth'
    atomic_save({'n': 2}, str(src2))

    def no_links(*args: object) -> None:
        raise OSError('hard links not supported')

    monkeypatch.setattr(ckpt.os, 'link', no_links)
    update_latest(str(src2), str(latest))
    assert not os.path.samefile(src2, latest)
    assert torch.load(latest, weights_only=True) == {'n': 2}
    assert _temp_files(tmp_path) == []


def test_remove_stale_temp_files_keeps_live_writers(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                              capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    dead = tmp_path / f'.epoch_3.pth.tmp-{dead_pid}-0a1b2c3d'
    live = tmp_path / f'.epoch_4.pth.tmp-{os.getppid()}-0a1b2c3d'
    unrelated = tmp_path / '.notes.tmp'
    for path in (dead, live, unrelated):
        path.write_bytes(b'x')
    removed = remove_stale_temp_files(str(tmp_path))
    assert removed == [str(dead)]
    assert live.exists() and unrelated.exists()


def test_prune_and_find_latest(tmp_path: Path) -> None:
    assert find_latest_checkpoint(str(tmp_path)) is None
    for n in (1, 2, 3, 10):
        atomic_save({'n': n}, str(tmp_path / f'epoch_{n}.pth'))
    atomic_save({'best': True}, str(tmp_path / 'best_top1_acc_epoch_2.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')
    removed = prune_checkpoints(str(tmp_path), keep=2)
    assert sorted(Path(p).name for p in removed) == ['epoch_1.pth', 'epoch_2.pth']
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'best_top1_acc_epoch_2.pth', 'epoch_10.pth', 'epoch_3.pth']
    assert prune_checkpoints(str(tmp_path), keep=-1) == []
    update_latest(str(tmp_path / 'epoch_3.pth'), str(tmp_path / 'latest.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'latest.pth')


def test_rng_state_roundtrip_through_weights_only(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    atomic_save(get_rng_state(), str(tmp_path / 'rng.pth'))
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    set_rng_state(torch.load(tmp_path / 'rng.pth', weights_only=True))
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def _writer(folder: str) -> None:
    """Save checkpoints forever; parameter values and meta['n'] must always agree."""
    model = nn.Linear(512, 512)  # ~1 MB, so a write takes a moment
    n = 0
    while True:
        n += 1
        # numpy, not torch ops: torch's thread pool is unusable in a forked child
        model.weight.data = torch.from_numpy(np.full((512, 512), n, dtype=np.float32))
        path = os.path.join(folder, f'epoch_{n}.pth')
        save_checkpoint(model, path, meta=dict(n=n))
        update_latest(path, os.path.join(folder, 'latest.pth'))
        prune_checkpoints(folder, keep=2)


def test_killing_the_writer_at_any_moment_never_corrupts_latest(tmp_path: Path) -> None:
    ctx = mp.get_context('fork')
    rng = random.Random(0)
    last_n = 0
    for round_ in range(5):
        remove_stale_temp_files(str(tmp_path))
        assert _temp_files(tmp_path) == []
        last = round_ == 4
        if last:  # this kill lands after a finished checkpoint, however slow the machine is
            for old in tmp_path.glob('*.pth'):
                old.unlink()
        proc = ctx.Process(target=_writer, args=(str(tmp_path),), daemon=True)
        proc.start()
        deadline = time.monotonic() + 120
        while last and not (tmp_path / 'latest.pth').exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        latest = tmp_path / 'latest.pth'
        if latest.exists():
            loaded = torch.load(latest, weights_only=True)
            n = loaded['meta']['n']
            assert torch.all(loaded['state_dict']['weight'] == n)
            last_n = max(last_n, n)
    assert last_n > 0, 'the writer did not finish a checkpoint in 120 s'
    remove_stale_temp_files(str(tmp_path))
    assert _temp_files(tmp_path) == []


# ------------------------------------------------------------------ publish_model.py
def test_publish_keeps_weights_and_meta_and_names_the_file_by_its_hash(tmp_path: Path) -> None:
    import hashlib

    model = _Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.rand(4, 8)).sum().backward()
    optimizer.step()
    source = tmp_path / 'epoch_3.pth'
    save_checkpoint(model, str(source), optimizer, meta=dict(epoch=3),
                    extra=dict(resume_state=dict(iter=12)))
    script = Path(__file__).resolve().parents[2] / 'tools' / 'deployment' / 'publish_model.py'
    proc = subprocess.run([sys.executable, str(script), str(source), str(tmp_path / 'tsn.pth')],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    final = Path(proc.stdout.strip())
    digest = hashlib.sha256(final.read_bytes()).hexdigest()
    assert final.name == f'tsn-{digest[:8]}.pth' and not (tmp_path / 'tsn.pth').exists()
    published = torch.load(final, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta']['epoch'] == 3 and published['meta']['CLASSES'] == ['a', 'b']
    for key, value in model.state_dict().items():
        assert torch.equal(published['state_dict'][key], value)
    assert _temp_files(tmp_path) == []


def test_publish_names_a_missing_file(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / 'tools' / 'deployment' / 'publish_model.py'
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / 'nope.pth'),
                           str(tmp_path / 'out.pth')], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and 'nope.pth' in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_publish_refuses_to_overwrite_its_input_or_a_folder(tmp_path: Path) -> None:
    source = tmp_path / 'epoch_1.pth'
    save_checkpoint(_Model(), str(source))
    with pytest.raises(ValueError, match='would be lost'):
        ckpt.publish_checkpoint(str(source), str(source))
    with pytest.raises(IsADirectoryError, match='is a folder'):
        ckpt.publish_checkpoint(str(source), str(tmp_path))
    assert source.is_file() and _temp_files(tmp_path) == []


def test_find_latest_passes_over_checkpoints_cut_short(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """resume_from=auto takes the newest COMPLETE checkpoint: a latest.pth or epoch_N.pth cut
    short (a copy that stopped, a disk that filled up) is passed over with a warning."""
    model = _Model()
    for n in (1, 2, 3):
        save_checkpoint(model, str(tmp_path / f'epoch_{n}.pth'), meta={'epoch': n})
    update_latest(str(tmp_path / 'epoch_3.pth'), str(tmp_path / 'latest.pth'))
    whole = (tmp_path / 'epoch_3.pth').read_bytes()
    (tmp_path / 'latest.pth').unlink()  # a hard link: cut a copy, not epoch_3.pth itself
    (tmp_path / 'latest.pth').write_bytes(whole[:len(whole) * 2 // 3])
    assert ckpt.is_complete_checkpoint(str(tmp_path / 'epoch_3.pth'))
    assert not ckpt.is_complete_checkpoint(str(tmp_path / 'latest.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_3.pth')
    (tmp_path / 'epoch_3.pth').write_bytes(whole[:100])
    (tmp_path / 'epoch_2.pth').write_bytes(b'')
    with caplog.at_level('WARNING'):
        assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    assert f'{tmp_path / "epoch_3.pth"} is not a complete checkpoint' in caplog.text
    assert torch.load(tmp_path / 'epoch_1.pth', weights_only=True)['meta']['epoch'] == 1


def test_the_listing_rules_rank_numerically_and_touch_only_our_names() -> None:
    # a listing, as a folder or an object-store prefix gives it: 10 after 9 (not as text)
    names = ['epoch_9.pth', 'epoch_10.pth', 'iter_3.pth', 'best_top1_acc_epoch_10.pth',
             'epoch_2.pth.bak', 'my_epoch_1.pth', 'epoch_1.pth']
    assert ckpt.checkpoint_candidates(names) == ['epoch_10.pth', 'epoch_9.pth', 'iter_3.pth',
                                                 'epoch_1.pth']
    assert ckpt.checkpoint_candidates(names + ['latest.pth'])[:2] == ['latest.pth',
                                                                     'epoch_10.pth']
    assert ckpt.checkpoints_to_prune(names, 2) == ['epoch_1.pth']
    assert ckpt.checkpoints_to_prune(names, 1) == ['epoch_1.pth', 'epoch_9.pth']
    assert ckpt.checkpoints_to_prune(names, 1, 'iter_') == []
    assert ckpt.checkpoints_to_prune(names, -1) == []


def test_out_dir_target_follows_mmcv() -> None:
    from actionkit.engine.hooks import out_dir_target

    assert out_dir_target(None, 'work_dirs/tsn') == 'work_dirs/tsn'
    assert out_dir_target('work_dirs/tsn', 'work_dirs/tsn') == 'work_dirs/tsn'
    assert out_dir_target('/data/ckpts', 'work_dirs/tsn/') == '/data/ckpts/tsn'
    assert out_dir_target('s3://bkt/ckpts/', 'work_dirs/tsn') == 's3://bkt/ckpts/tsn'
