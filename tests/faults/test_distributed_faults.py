"""Failures in a 2-process (gloo, CPU) ``tools/train.py --launcher pytorch`` run, and a
DataLoader worker that dies.

Each rank is started the way a launcher starts it (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT`` set; no agent that would kill the survivors for us, as with
``srun`` or a hand-written script), so what stops the surviving rank is actionkit's own failure
detection (``actionkit.engine.dist``): it must exit within a bounded time, with a message
naming the rank that failed, never wait for the process group's 30-minute timeout.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from faults_helpers import REPO, subprocess_env, video_pipeline, write_config
from faults_media import write_clip

from actionkit.datasets import build_dataloader, build_dataset
from actionkit.engine.dist import find_free_port
from actionkit.errors import DataError

BOUND_S = 90  # the surviving rank must be gone this long after the start (start-up included)


def _dist_config(tmp_path: Path, mode: str) -> Path:
    """A long tiny run in which rank 1 fails (``mode``) before its iteration 3."""
    root = tmp_path / 'data'
    root.mkdir()
    for index in range(8):
        write_clip(root / f'clip_{index}.mp4', num_frames=8)
    (root / 'list.txt').write_text(''.join(f'clip_{i}.mp4 {i % 10}\n' for i in range(8)))
    return write_config(tmp_path / 'dist.py', root / 'list.txt', root, extra=f'''
custom_imports = dict(imports=['faults_hooks'], allow_failed_imports=False)
custom_hooks = [dict(type='FaultInjectionHook', rank=1, iteration=3, mode={mode!r})]
total_epochs = 100  # long enough that the failure comes mid-run
checkpoint_config = dict(interval=50)
data.update(workers_per_gpu={int(mode == 'worker')})
''')


def _launch(config: Path, work_dir: Path) -> tuple[list[subprocess.CompletedProcess], float]:
    """Start rank 0 and rank 1 of ``tools/train.py --launcher pytorch``; wait for both."""
    port = str(find_free_port())
    command = [sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--launcher',
               'pytorch', '--work-dir', str(work_dir), '--seed', '0']
    start = time.monotonic()
    procs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              env=subprocess_env(RANK=str(rank), LOCAL_RANK=str(rank),
                                                 WORLD_SIZE='2', MASTER_ADDR='127.0.0.1',
                                                 MASTER_PORT=port))
             for rank in range(2)]
    done = []
    try:
        for rank, proc in enumerate(procs):
            left = BOUND_S + 30 - (time.monotonic() - start)
            try:
                out, _ = proc.communicate(timeout=max(left, 1))
            except subprocess.TimeoutExpired:
                raise AssertionError(f'rank {rank} still runs {BOUND_S + 30} s after the start: '
                                     'it hangs') from None
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out))
    finally:
        for proc in procs:  # ours: stop them by pid if anything went wrong
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return done, time.monotonic() - start


@pytest.mark.slow
@pytest.mark.parametrize('mode,reason', [
    ('raise', r'rank 1 failed \(ValueError: injected failure on rank 1 at iteration 3\)'),
    ('kill', r'rank 1 stopped responding'),
    # the other rank is told the loader's explanation, not PyTorch's bare report
    ('worker', r'rank 1 failed \(DataError: worker 0 was killed by SIGKILL (while loading '
               r'sample \d+ \(\S+clip_\d\.mp4\)|between samples)'),
])
def test_a_failing_rank_stops_the_other_naming_it(tmp_path: Path, mode: str,
                                                  reason: str) -> None:
    (rank0, rank1), elapsed = _launch(_dist_config(tmp_path, mode), tmp_path / 'work')
    assert rank1.returncode != 0
    assert rank0.returncode != 0, rank0.stdout[-3000:]
    assert re.search(rf'rank 0 stops because {reason}', rank0.stdout), rank0.stdout[-3000:]
    assert elapsed < BOUND_S, f'the surviving rank took {elapsed:.0f} s to stop'
    if mode == 'raise':
        assert 'injected failure on rank 1' in rank1.stdout


# ------------------------------------------------------------------------- loader workers
@pytest.mark.parametrize('poison', ['poison.mp4', 'my clips/poisön 2.mp4'])
def test_a_dataloader_worker_that_dies_is_reported_with_its_sample(tmp_path: Path,
                                                                   poison: str) -> None:
    """A worker process that ends abruptly (``os._exit`` in a pipeline step, as a crash in a
    native decoder would) must be reported with the index and path of the sample it was
    loading, not only with its pid."""
    import faults_hooks  # noqa: F401 - registers DieInWorker

    root = tmp_path / 'data'
    (root / 'my clips').mkdir(parents=True)
    names = ['clip_0.mp4', 'clip_1.mp4', poison, 'clip_3.mp4']
    for name in names:
        write_clip(root / name, num_frames=8)
    (root / 'list.txt').write_text(''.join(f'{name}\t1\n' for name in names))
    dataset = build_dataset(dict(
        type='VideoDataset', ann_file=str(root / 'list.txt'), data_prefix=str(root),
        pipeline=[dict(type='DieInWorker', name=Path(poison).name)] + video_pipeline(False)))
    loader = build_dataloader(dataset, videos_per_gpu=2, workers_per_gpu=2, shuffle=False,
                              seed=0)
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        for _ in loader:
            pass
    assert time.monotonic() - start < 60
    message = str(info.value)
    assert re.search(r'worker \d died while loading sample 2 ', message), message
    assert str(root / poison) in message and info.value.path == os.fspath(root / poison)
    # the trainer asks the loader to explain what ends a run: this report must pass as it is,
    # not be wrapped in a second one (seen in a torchrun job)
    assert loader.explain_failure(info.value) is None


def test_a_worker_dying_during_a_training_step_is_reported_with_its_sample(
        tmp_path: Path) -> None:
    import faults_hooks  # noqa: F401 - registers DieInWorker
    from faults_helpers import TINY_MODEL

    from actionkit.engine import HookBase, Trainer
    from actionkit.models import build_model

    class SlowFirstStep(HookBase):
        """Keep the main process busy in step 0 while the worker, two batches ahead (the
        prefetch), loads sample 2 and dies."""

        def after_step(self, trainer: Trainer) -> None:
            if trainer.iter == 0:
                time.sleep(3)

    root = tmp_path / 'data'
    root.mkdir()
    names = ['clip_0.mp4', 'clip_1.mp4', 'poison.mp4', 'clip_3.mp4']
    for name in names:
        write_clip(root / name, num_frames=8)
    (root / 'list.txt').write_text(''.join(f'{name} 1\n' for name in names))
    dataset = build_dataset(dict(
        type='VideoDataset', ann_file=str(root / 'list.txt'), data_prefix=str(root),
        pipeline=[dict(type='DieInWorker', name='poison.mp4')] + video_pipeline(False)))
    loader = build_dataloader(dataset, videos_per_gpu=1, workers_per_gpu=1, shuffle=False,
                              seed=0, prefetch_factor=2)
    model = build_model(TINY_MODEL)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01), [loader],
                      max_epochs=1, work_dir=str(tmp_path / 'work'), hooks=[SlowFirstStep()])
    with pytest.raises(DataError) as info:
        trainer.run()
    assert 'sample 2' in str(info.value) and str(root / 'poison.mp4') in str(info.value)

