"""Faults around a run rather than one sample: labels the model cannot have, a full disk at a
checkpoint, two runs in one work dir, the distributed test's temporary folder, stuck and
orphaned loader workers (issues 14 and 15, "Faults, round two")."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from faults_helpers import load_tool, subprocess_env, write_config
from faults_media import write_clip

from actionkit.engine.dist import collect_results_cpu
from actionkit.errors import AnnotationError


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    root = tmp_path / 'videos'
    root.mkdir()
    for index in range(2):
        write_clip(root / f'clip_{index}.mp4', num_frames=8)
    return root


def _label_10_of_10(tmp_path: Path, clips: Path) -> tuple[Path, Path]:
    """A config whose model has 10 classes and a list whose line 3 says 10."""
    ann_file = clips / 'list.txt'
    ann_file.write_text('clip_0.mp4 1\nclip_1.mp4 2\nclip_0.mp4 10\n')
    return ann_file, write_config(tmp_path / 'cfg.py', ann_file, clips)


def test_a_label_the_model_cannot_have_is_refused_before_training(
        tmp_path: Path, clips: Path) -> None:
    ann_file, config = _label_10_of_10(tmp_path, clips)
    with pytest.raises(AnnotationError) as info:
        load_tool('tools/train.py').main([str(config), '--work-dir', str(tmp_path / 'work')])
    message = str(info.value)
    assert message.startswith(f'{ann_file}:3: label 10 is out of range for num_classes=10')
    assert "'clip_0.mp4 10'" in message
    assert not (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_a_label_the_model_cannot_have_is_named_before_testing(
        tmp_path: Path, clips: Path, caplog: pytest.LogCaptureFixture) -> None:
    # MMAction2 scores such a sample as a miss (issue 16), so testing goes on; the line is
    # named before any inference, not after it (issue 15). The missing checkpoint stops it.
    ann_file, config = _label_10_of_10(tmp_path, clips)
    missing = tmp_path / 'none.pth'
    with caplog.at_level('WARNING'), pytest.raises(FileNotFoundError, match='none.pth'):
        load_tool('tools/test.py').main([str(config), str(missing), '--out',
                                         str(tmp_path / 'r.json')])
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert any(m.startswith(f'{ann_file}:3: label 10 is out of range for num_classes=10')
               and m.endswith('counts as a miss in the accuracy metrics, as in MMAction2')
               for m in warnings), warnings


_FULL_DISK = '''
import resource, signal, sys, torch
from torch import nn
from actionkit.engine.checkpoint import save_checkpoint
target = sys.argv[1]
save_checkpoint(nn.Linear(4, 2), target)           # the previous checkpoint: a few hundred bytes
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
try:
    save_checkpoint(nn.Linear(400, 200), target)   # 320 kB: cannot be written
except BaseException as err:
    print(type(err).__name__ + ': ' + str(err))
'''


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_previous_one_survives(
        tmp_path: Path) -> None:
    # a file-size limit stands in for a full disk: the write fails the same way, half-way
    target = tmp_path / 'epoch_2.pth'
    result = subprocess.run([sys.executable, '-c', _FULL_DISK, str(target)],
                            capture_output=True, text=True, env=subprocess_env(), timeout=120)
    out = result.stdout.strip()
    assert out.startswith(f'OSError: could not write the checkpoint {target}: '), (out,
                                                                                 result.stderr)
    assert out.endswith('the partial file was removed and any previous epoch_2.pth is left as '
                        'it was')
    assert 'inline_container' not in out and '\n' not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_2.pth']
    state = torch.load(target, weights_only=True)['state_dict']
    assert state['weight'].shape == (2, 4)  # the earlier, small checkpoint


@pytest.fixture
def config_and_work_dir(tmp_path: Path, clips: Path) -> tuple[Path, Path]:
    """A tiny training config and an empty work dir."""
    ann_file = clips / 'list.txt'
    ann_file.write_text('clip_0.mp4 1\nclip_1.mp4 2\n')
    work = tmp_path / 'work'
    work.mkdir()
    return write_config(tmp_path / 'cfg.py', ann_file, clips), work


def test_a_second_run_in_the_same_work_dir_refuses_naming_the_holder(
        config_and_work_dir: tuple[Path, Path]) -> None:
    config, work = config_and_work_dir
    # a live holder: this test's parent process (pytest's own pid would be "us")
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (work / '.actionkit-train.lock').write_text(f'{holder.pid} {socket.gethostname()} '
                                                    '2026-01-01 00:00:00\n')
        with pytest.raises(FileExistsError) as info:
            load_tool('tools/train.py').main([str(config), '--work-dir', str(work)])
    finally:
        holder.kill()
        holder.wait()
    assert (f'work dir {work} is in use by another training run (pid {holder.pid} on host '
            f'{socket.gethostname()}, since 2026-01-01 00:00:00)') in str(info.value)
    assert sorted(p.name for p in work.iterdir()) == ['.actionkit-train.lock']  # nothing written


def test_a_stale_lock_of_a_dead_run_is_taken_over_with_a_warning(
        config_and_work_dir: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    config, work = config_and_work_dir
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (work / '.actionkit-train.lock').write_text(f'{dead.pid} {socket.gethostname()} then\n')
    assert load_tool('tools/train.py').main([str(config), '--work-dir', str(work)]) == 0
    assert (work / 'epoch_1.pth').is_file()
    assert not (work / '.actionkit-train.lock').exists()  # released at the end
    assert f'taking over the lock {work / ".actionkit-train.lock"} of a run that is gone ' \
           f'(pid {dead.pid} on this host' in caplog.text



@pytest.mark.parametrize('run_id,restart,taken', [
    ('job7', '1', True),    # torchrun restarted the job: rank 0 may now be on another host
    ('job7', '0', False),   # the same attempt: a second job under the same run id
    ('job8', '1', False),   # another job
    ('none', '1', False),   # torchrun's default run id does not tell jobs apart
])
def test_a_torchrun_restart_takes_over_the_lock_of_its_earlier_attempt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        run_id: str, restart: str, taken: bool) -> None:
    from actionkit.engine.run_lock import LOCK_NAME, work_dir_lock

    lock = tmp_path / LOCK_NAME
    # written by rank 0 of attempt 0 on another node (its pid cannot be checked from here)
    lock.write_text('4242 node-a 2026-01-01 00:00:00\nrun job7 0\n')
    monkeypatch.setenv('TORCHELASTIC_RUN_ID', run_id)
    monkeypatch.setenv('TORCHELASTIC_RESTART_COUNT', restart)
    if not taken:
        with pytest.raises(FileExistsError, match='pid 4242 on host node-a'):
            with work_dir_lock(str(tmp_path)):
                pass
        return
    with work_dir_lock(str(tmp_path)):
        held = lock.read_text().splitlines()
        assert held[0].split()[:2] == [str(os.getpid()), socket.gethostname()]
        assert held[1] == 'run job7 1'
    assert not lock.exists()
    assert f'taking over the lock {lock} of restart 0 of this torchrun job (run id job7; pid ' \
           '4242 on host node-a): torchrun restarted it' in caplog.text


@pytest.mark.parametrize('existed', [True, False], ids=['existing-dir', 'new-dir'])
def test_the_distributed_test_tmpdir_keeps_the_users_files(tmp_path: Path, existed: bool) -> None:
    tmpdir = tmp_path / 'shared'
    if existed:
        tmpdir.mkdir()
        (tmpdir / 'notes.txt').write_text('mine')
    # one rank (no process group): the same code path as each rank of tools/test.py --tmpdir
    results = collect_results_cpu([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]], 2, tmpdir=str(tmpdir))
    assert results == [[0.25, 0.75], [0.5, 0.5]]
    if existed:
        assert sorted(p.name for p in tmpdir.iterdir()) == ['notes.txt']
        assert (tmpdir / 'notes.txt').read_text() == 'mine'
    else:
        assert not tmpdir.exists()  # made here, so removed here
