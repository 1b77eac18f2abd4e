"""Resuming from a checkpoint saved in the middle of an epoch (``by_epoch=False``) goes on with
the next batch of that epoch: the same batches in the same order (loader position, sampler
epoch and shuffling seed, workers' seeds), the same learning rate schedule and random states,
so the run ends exactly as an uninterrupted one. A different world size or epoch length is
refused with a clear error.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from engine_toys import ToyDataset

from actionkit.engine import CheckpointHook, HookBase, Trainer

# the toy trainer of test_trainer.py (one definition): 3-iteration warm-up, then a step at
# epoch 2, SGD with momentum, an epoch checkpoint every epoch
_spec = importlib.util.spec_from_file_location('_trainer_tests',
                                               Path(__file__).with_name('test_trainer.py'))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
_seed, _trainer = _helpers._seed, _helpers._trainer

ITERS_PER_EPOCH = 5  # ToyDataset(20), batches of 4
STOP_AT = 7  # the checkpoint after 7 iterations: epoch 2, 2 of its 5 batches done


class _Record(HookBase):
    """The loss, top-1 and learning rate of every iteration, by iteration (the loss of a toy
    batch with random jitter tells whether the same samples were drawn the same way)."""

    def __init__(self) -> None:
        self.steps: dict[int, tuple] = {}

    def after_step(self, trainer: Trainer) -> None:
        log_vars = trainer.outputs['log_vars']
        self.steps[trainer.iter] = (log_vars['loss'], log_vars['top1_acc'],
                                    trainer.optimizer.param_groups[0]['lr'])


class _DrawsLikeDropout(HookBase):
    """Steps that draw random numbers (dropout, stochastic depth): replaying the skipped
    batches without their steps leaves the random states elsewhere than the checkpoint's."""

    def before_step(self, trainer: Trainer) -> None:
        torch.rand(3)
        np.random.random_sample(2)


class _KillAfter(HookBase):
    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_step(self, trainer: Trainer) -> None:
        if trainer.iter + 1 == self.iteration:
            raise KeyboardInterrupt


def _run(work_dir: Path, workers: int, hooks: list, dataset: Any = None) -> Trainer:
    return _trainer(work_dir, epochs=3, dataset=dataset or ToyDataset(20), workers=workers,
                    hooks=[_DrawsLikeDropout(), *hooks], grad_clip=dict(max_norm=1.0,
                                                                        norm_type=2))


@pytest.mark.parametrize('workers', [0, 2])
def test_resume_from_an_iteration_checkpoint_goes_on_exactly(tmp_path: Path,
                                                             workers: int) -> None:
    _seed(1)
    full_record = _Record()
    full = _run(tmp_path / 'full', workers, [full_record])
    full.run()

    _seed(1)
    first = _run(tmp_path / 'resumed', workers,
                 [CheckpointHook(interval=STOP_AT, by_epoch=False), _KillAfter(STOP_AT)])
    with pytest.raises(KeyboardInterrupt):
        first.run()
    checkpoint = tmp_path / 'resumed' / f'iter_{STOP_AT}.pth'
    state = torch.load(checkpoint, weights_only=True)['resume_state']
    assert (state['mid_epoch'], state['epoch'], state['batches_done']) == (True, 1, 2)

    _seed(123)  # another init and random state: the checkpoint must restore everything
    record = _Record()
    second = _run(tmp_path / 'resumed', workers, [record])
    second.resume(str(checkpoint))
    assert (second.epoch, second.iter) == (1, STOP_AT)
    second.run()

    # iterations 7..14: the same losses and learning rates as without the stop
    assert sorted(record.steps) == list(range(STOP_AT, 3 * ITERS_PER_EPOCH))
    for it, step in record.steps.items():
        assert step == full_record.steps[it], it
    expected, got = full.model.state_dict(), second.model.state_dict()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    for a, b in zip(full.optimizer.state.values(), second.optimizer.state.values()):
        assert torch.equal(a['momentum_buffer'], b['momentum_buffer'])
    assert (second.epoch, second.iter) == (3, 3 * ITERS_PER_EPOCH)


def test_checkpoint_after_the_last_step_of_an_epoch(tmp_path: Path) -> None:
    # saved after iteration 5 (before the epoch's end hooks): goes on with epoch 2's first batch
    _seed(1)
    full_record = _Record()
    full = _run(tmp_path / 'full', 0, [full_record])
    full.run()
    _seed(1)
    first = _run(tmp_path / 'resumed', 0, [CheckpointHook(interval=ITERS_PER_EPOCH,
                                                          by_epoch=False),
                                           _KillAfter(ITERS_PER_EPOCH)])
    with pytest.raises(KeyboardInterrupt):
        first.run()
    record = _Record()
    second = _run(tmp_path / 'resumed', 0, [record])
    second.resume(str(tmp_path / 'resumed' / f'iter_{ITERS_PER_EPOCH}.pth'))
    second.run()
    assert sorted(record.steps) == list(range(ITERS_PER_EPOCH, 3 * ITERS_PER_EPOCH))
    assert all(record.steps[it] == full_record.steps[it] for it in record.steps)
    assert (tmp_path / 'resumed' / 'epoch_1.pth').is_file()  # the epoch's end hooks ran


def test_mid_epoch_checkpoint_with_another_epoch_length_is_refused(tmp_path: Path) -> None:
    _seed(1)
    first = _run(tmp_path, 0, [CheckpointHook(interval=STOP_AT, by_epoch=False),
                               _KillAfter(STOP_AT)])
    with pytest.raises(KeyboardInterrupt):
        first.run()
    checkpoint = str(tmp_path / f'iter_{STOP_AT}.pth')
    other = _run(tmp_path / 'other', 0, [], dataset=ToyDataset(24))  # 6 iterations an epoch
    with pytest.raises(ValueError, match=r'iter_7\.pth was saved in the middle of epoch 2 '
                                         r'\(after 2 of its 5 iterations\) by 1 process.*6 '
                                         r'iterations an epoch.*epoch_1\.pth'):
        other.resume(checkpoint)
    saved = torch.load(checkpoint, weights_only=True)
    saved['resume_state']['world_size'] = 2
    torch.save(saved, tmp_path / 'two.pth')
    with pytest.raises(ValueError, match=r'by 2 process\(es\); this run has 1 process'):
        _run(tmp_path / 'again', 0, []).resume(str(tmp_path / 'two.pth'))


def _two_rank_resume(out_dir: str) -> None:
    """Each rank: an uninterrupted run, then a run killed after an iteration checkpoint and a
    resumed one; rank 0 writes both loss records."""
    import json
    import os

    from actionkit.datasets.builder import build_dataloader
    from actionkit.engine import build_optimizer, get_dist_info, wrap_model
    from engine_toys import ToyRecognizer

    torch.set_num_threads(1)
    rank, _ = get_dist_info()

    def trainer(work_dir: str, hooks: list) -> Trainer:
        torch.manual_seed(1)
        model = wrap_model(ToyRecognizer(), torch.device('cpu'), distributed=True)
        loader = build_dataloader(ToyDataset(24), videos_per_gpu=2, workers_per_gpu=0,
                                  dist=True, shuffle=True, seed=0)  # 6 iterations an epoch
        optimizer = build_optimizer(model, dict(type='SGD', lr=0.1, momentum=0.9))
        return Trainer(model, optimizer, [loader], max_epochs=2,
                       work_dir=os.path.join(out_dir, work_dir),
                       hooks=[_DrawsLikeDropout(), *hooks])

    _seed(1)
    full_record = _Record()
    trainer('full', [full_record]).run()
    _seed(1)
    first = trainer('resumed', [CheckpointHook(interval=8, by_epoch=False), _KillAfter(8)])
    try:
        first.run()
    except KeyboardInterrupt:
        pass
    _seed(5)
    record = _Record()
    second = trainer('resumed', [record])
    second.resume(os.path.join(out_dir, 'resumed', 'iter_8.pth'))
    second.run()
    if rank == 0:
        Path(out_dir, 'records.json').write_text(json.dumps(
            dict(full=full_record.steps, resumed=record.steps)))


@pytest.mark.slow
def test_two_processes_resume_mid_epoch_exactly(tmp_path: Path) -> None:
    import json

    from actionkit.engine import launch
    launch(_two_rank_resume, nprocs=2, args=(str(tmp_path),), timeout=120)
    records = json.loads((tmp_path / 'records.json').read_text())
    full, resumed = records['full'], records['resumed']
    assert sorted(map(int, resumed)) == list(range(8, 12))  # epoch 2: 2 of 6 batches done
    assert all(resumed[it] == full[it] for it in resumed)
