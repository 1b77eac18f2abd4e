"""MMAction2 1.x ``param_scheduler`` lists (ParamSchedulerHook), against hand-worked values.

The expected values are the closed forms of mmengine's chained schedulers; every schedule here
was also run through mmengine 0.10 (MMAction2 1.2.0's) and matched to the last digit.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from actionkit.engine.lr_schedules import build_lr_hook
from actionkit.engine.param_schedulers import ParamSchedulerHook

BASE = 0.1


def _trainer(epochs: int, epoch_len: int) -> SimpleNamespace:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=BASE)
    return SimpleNamespace(optimizer=optimizer, epoch=0, iter=0, max_epochs=epochs,
                           max_iters=epochs * epoch_len, data_loader=[None] * epoch_len)


def _simulate(schedulers: list[dict], epochs: int, epoch_len: int,
              start: tuple[int, int] = (0, 0), trainer: SimpleNamespace | None = None
              ) -> list[float]:
    """The lr of every iteration from (epoch, iteration) ``start`` on, as the trainer drives
    the hook (before_train, then before_step / after_step per iteration, after_epoch)."""
    hook = build_lr_hook(dict(type='ParamSchedulerHook', schedulers=schedulers))
    trainer = trainer or _trainer(epochs, epoch_len)
    trainer.epoch, trainer.iter = start
    hook.before_train(trainer)
    seen = []
    for epoch in range(start[0], epochs):
        trainer.epoch = epoch
        first = start[1] - epoch * epoch_len if epoch == start[0] else 0
        for _ in range(first, epoch_len):
            hook.before_step(trainer)
            seen.append(trainer.optimizer.param_groups[0]['lr'])
            hook.after_step(trainer)
            trainer.iter += 1
        hook.after_epoch(trainer)
    return seen


def test_iteration_warmup_then_cosine_per_iteration() -> None:
    # the VideoMAE/UniFormer pattern: epochs converted to iterations (3 a epoch)
    lrs = _simulate([dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
                          convert_to_iter_based=True),
                     dict(type='CosineAnnealingLR', T_max=4, eta_min=0.001, by_epoch=True,
                          begin=2, end=6, convert_to_iter_based=True)], epochs=6, epoch_len=3)
    warm = [BASE * (0.1 + 0.9 * k / 5) for k in range(6)]  # factor 0.1 -> 1 over 6 iterations
    cos = [0.001 + (BASE - 0.001) * (1 + math.cos(math.pi * t / 12)) / 2 for t in range(12)]
    assert lrs == pytest.approx(warm + cos, rel=1e-9)


def test_iteration_and_epoch_schedulers_compose() -> None:
    lrs = _simulate([dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=4),
                     dict(type='MultiStepLR', milestones=[2, 4], gamma=0.1, by_epoch=True,
                          begin=0, end=6)], epochs=6, epoch_len=3)
    warm = [BASE * (0.5 + 0.5 * k / 3) for k in range(4)]
    assert lrs == pytest.approx(warm + [BASE] * 2 + [BASE / 10] * 6 + [BASE / 100] * 6)


def test_milestones_count_from_begin() -> None:
    # begin=1, milestones=[2]: the drop comes after 2 epochs of this scheduler, at epoch 3
    lrs = _simulate([dict(type='MultiStepLR', milestones=[2], gamma=0.5, by_epoch=True,
                          begin=1, end=6)], epochs=6, epoch_len=2)
    assert lrs == pytest.approx([BASE] * 6 + [BASE / 2] * 6)


def test_missing_end_is_the_training_length() -> None:
    lrs = _simulate([dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True)],
                    epochs=5, epoch_len=2)
    floor = BASE * 0.1
    per_epoch = [floor + (BASE - floor) * (1 + math.cos(math.pi * e / 5)) / 2 for e in range(5)]
    assert lrs == pytest.approx([lr for lr in per_epoch for _ in range(2)], rel=1e-9)


def test_step_constant_exponential() -> None:
    lrs = _simulate([dict(type='StepLR', step_size=2, gamma=0.5),
                     dict(type='ConstantLR', factor=0.5, begin=0, end=2),
                     dict(type='ExponentialLR', gamma=0.9, by_epoch=False, begin=3, end=8)],
                    epochs=5, epoch_len=2)
    # epochs 0-1: x0.5 (ConstantLR), back to 0.1 at epoch 1's end; StepLR halves at epoch 2;
    # ExponentialLR multiplies by 0.9 after iterations 4..7 (its steps 1..4); StepLR at epoch 4
    expected = [0.05, 0.05, 0.1, 0.1, 0.05 * 0.9, 0.05 * 0.9 ** 2, 0.05 * 0.9 ** 3,
                0.05 * 0.9 ** 4, 0.025 * 0.9 ** 4, 0.025 * 0.9 ** 4]
    assert lrs == pytest.approx(expected)


@pytest.mark.parametrize('start', [(4, 8), (4, 9)])
def test_resume_continues_the_schedule(start: tuple[int, int]) -> None:
    schedulers = [dict(type='LinearLR', start_factor=0.2, by_epoch=True, begin=0, end=3),
                  dict(type='CosineAnnealingLR', by_epoch=True, begin=3, end=8, eta_min=0)]
    full = _simulate(schedulers, epochs=8, epoch_len=2)
    resumed = _trainer(8, 2)
    # a resumed optimizer holds its initial lr and whatever lr it was saved with
    resumed.optimizer.param_groups[0].update(initial_lr=BASE, lr=123.0)
    assert _simulate(schedulers, 8, 2, start=start, trainer=resumed) == \
        pytest.approx(full[start[1]:], rel=1e-12)


def test_typos_name_the_nearest_valid_name() -> None:
    with pytest.raises(KeyError, match=r"param_scheduler\[1\] \(MultiStepLR\) has an unknown "
                                       r"key 'milestone'.*'milestones'"):
        ParamSchedulerHook([dict(type='LinearLR'), dict(type='MultiStepLR', milestone=[2])])
    with pytest.raises(KeyError, match=r"unknown scheduler type 'MultiStepLr'.*'MultiStepLR'"):
        ParamSchedulerHook([dict(type='MultiStepLr', milestones=[2])])
    with pytest.raises(KeyError, match="'by_epoch'"):
        ParamSchedulerHook(dict(type='LinearLR', by_epcoh=False))
    with pytest.raises(ValueError, match=r'\[0\] \(LinearLR\).*start_factor'):
        ParamSchedulerHook([dict(type='LinearLR', start_factor=2.0)])


def test_fractional_epochs_become_whole_iterations() -> None:
    # 1.x's Swin configs: a warmup to end=2.5 epochs; with 4 iterations an epoch, 10 iterations
    lrs = _simulate([dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2.5,
                          convert_to_iter_based=True)], epochs=4, epoch_len=4)
    assert lrs == pytest.approx([BASE * (0.1 + 0.9 * k / 9) for k in range(10)] + [BASE] * 6)


def test_a_late_scheduler_without_end_ends_with_the_training() -> None:
    lrs = _simulate([dict(type='CosineAnnealingLR', begin=3, eta_min=0.0)], epochs=5,
                    epoch_len=1)
    # T_max = end - begin = 2: epochs 3 and 4 are its steps 0 and 1
    assert lrs == pytest.approx([BASE, BASE, BASE, BASE, BASE / 2])
