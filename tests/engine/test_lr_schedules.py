"""lr_config policies and warmup, against hand-computed values of mmcv's formulas."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from actionkit.engine.lr_schedules import (CosineAnnealingLrUpdaterHook, StepLrUpdaterHook,
                                           build_lr_hook)

BASE = 0.1


def _trainer(epochs: int, epoch_len: int, lrs: tuple[float, ...] = (BASE,)) -> SimpleNamespace:
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
    optimizer = torch.optim.SGD([{'params': [p], 'lr': lr} for p, lr in zip(params, lrs)])
    return SimpleNamespace(optimizer=optimizer, epoch=0, iter=0, inner_iter=0, max_epochs=epochs,
                           max_iters=epochs * epoch_len, data_loader=[None] * epoch_len)


def _simulate(lr_config: dict, epochs: int, epoch_len: int,
              lrs: tuple[float, ...] = (BASE,)) -> list[list[float]]:
    """The lr of each group at every iteration, as the trainer drives the hook."""
    hook = build_lr_hook(lr_config)
    trainer = _trainer(epochs, epoch_len, lrs)
    hook.before_train(trainer)
    seen = []
    for epoch in range(epochs):
        trainer.epoch = epoch
        hook.before_epoch(trainer)
        for inner in range(epoch_len):
            trainer.inner_iter = inner
            hook.before_step(trainer)
            seen.append([g['lr'] for g in trainer.optimizer.param_groups])
            trainer.iter += 1
    return seen


def test_policy_names_map_to_hooks() -> None:
    assert isinstance(build_lr_hook(dict(policy='step', step=[1])), StepLrUpdaterHook)
    assert isinstance(build_lr_hook(dict(policy='CosineAnnealing', min_lr=0)),
                      CosineAnnealingLrUpdaterHook)
    assert build_lr_hook(None) is None
    with pytest.raises(KeyError, match="known policies.*Step"):
        build_lr_hook(dict(policy='cyclic'))
    with pytest.raises(KeyError, match='policy'):
        build_lr_hook(dict(step=[3]))


def test_step_by_epoch() -> None:
    lrs = _simulate(dict(policy='step', step=[2, 4]), epochs=6, epoch_len=3)
    per_epoch = [lrs[e * 3][0] for e in range(6)]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    # constant within an epoch
    assert all(lrs[e * 3 + i] == lrs[e * 3] for e in range(6) for i in range(3))


def test_step_int_period_gamma_and_min_lr() -> None:
    lrs = _simulate(dict(policy='step', step=2, gamma=0.5, min_lr=0.03), epochs=6, epoch_len=1)
    assert [x[0] for x in lrs] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.03, 0.03])


def test_step_with_no_milestones_is_constant() -> None:
    lrs = _simulate(dict(policy='step', step=[]), epochs=3, epoch_len=2)
    assert {x[0] for x in lrs} == {BASE}


def test_cosine_by_epoch_and_by_iter() -> None:
    by_epoch = _simulate(dict(policy='CosineAnnealing', min_lr=0), epochs=4, epoch_len=2)
    assert [by_epoch[e * 2][0] for e in range(4)] == pytest.approx(
        [0.1, 0.05 * (1 + math.cos(math.pi / 4)), 0.05, 0.05 * (1 + math.cos(3 * math.pi / 4))])
    by_iter = _simulate(dict(policy='CosineAnnealing', min_lr_ratio=0.1, by_epoch=False),
                        epochs=2, epoch_len=2)
    # 4 iterations, target 0.01: 0.01 + 0.09 * (1 + cos(pi * i / 4)) / 2
    assert [x[0] for x in by_iter] == pytest.approx(
        [0.01 + 0.045 * (1 + math.cos(math.pi * i / 4)) for i in range(4)])


def test_cosine_needs_exactly_one_target() -> None:
    with pytest.raises(ValueError, match='exactly one'):
        build_lr_hook(dict(policy='CosineAnnealing'))
    with pytest.raises(ValueError, match='exactly one'):
        build_lr_hook(dict(policy='CosineAnnealing', min_lr=0, min_lr_ratio=0.1))


def test_poly_fixed_exp() -> None:
    poly = _simulate(dict(policy='poly', power=2.0, min_lr=0.01, by_epoch=False), 1, 4)
    assert [x[0] for x in poly] == pytest.approx([0.1, 0.01 + 0.09 * 0.5625, 0.01 + 0.09 * 0.25,
                                                  0.01 + 0.09 * 0.0625])
    assert {x[0] for x in _simulate(dict(policy='fixed'), 2, 2)} == {BASE}
    exp = _simulate(dict(policy='exp', gamma=0.5), 3, 1)
    assert [x[0] for x in exp] == pytest.approx([0.1, 0.05, 0.025])


@pytest.mark.parametrize('warmup,expected', [
    ('linear', [0.01, 0.0325, 0.055, 0.0775, 0.1, 0.1]),
    ('constant', [0.01, 0.01, 0.01, 0.01, 0.1, 0.1]),
    ('exp', [0.1 * 0.1 ** (1 - i / 4) for i in range(4)] + [0.1, 0.1]),
])
def test_warmup_per_iteration(warmup: str, expected: list[float]) -> None:
    lrs = _simulate(dict(policy='fixed', warmup=warmup, warmup_iters=4, warmup_ratio=0.1),
                    epochs=3, epoch_len=2)
    assert [x[0] for x in lrs] == pytest.approx(expected)


def test_warmup_by_epoch_counts_epochs_and_scales_the_scheduled_lr() -> None:
    # warmup over the first epoch (4 iterations) on top of a step schedule
    lrs = _simulate(dict(policy='step', step=[1], warmup='linear', warmup_iters=1,
                         warmup_ratio=0.5, warmup_by_epoch=True), epochs=2, epoch_len=4)
    assert [x[0] for x in lrs] == pytest.approx(
        [0.05, 0.0625, 0.075, 0.0875, 0.01, 0.01, 0.01, 0.01])


def test_groups_keep_their_ratio() -> None:
    lrs = _simulate(dict(policy='step', step=[1]), epochs=2, epoch_len=1, lrs=(0.1, 0.5))
    assert lrs == [pytest.approx([0.1, 0.5]), pytest.approx([0.01, 0.05])]


def test_resumed_schedule_uses_initial_lr() -> None:
    hook = build_lr_hook(dict(policy='step', step=[1]))
    trainer = _trainer(3, 2)
    group = trainer.optimizer.param_groups[0]
    group.update(lr=0.01, initial_lr=0.1)  # as restored from an optimizer state dict
    trainer.epoch, trainer.iter = 1, 2
    hook.before_train(trainer)
    hook.before_epoch(trainer)
    assert group['lr'] == pytest.approx(0.01)
    trainer.epoch = 0
    hook.before_epoch(trainer)
    assert group['lr'] == pytest.approx(0.1)


@pytest.mark.parametrize('cfg,match', [
    (dict(policy='step', step=[2], warmup='cosine', warmup_iters=3), 'warmup must be'),
    (dict(policy='step', step=[2], warmup='linear', warmup_iters=0), 'warmup_iters'),
    (dict(policy='step', step=[2], warmup='linear', warmup_iters=2, warmup_ratio=0), 'ratio'),
    (dict(policy='step', step=[0, 2]), 'step'),
])
def test_invalid_settings(cfg: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        build_lr_hook(cfg)


def _cos(factor: float, start: float = BASE, end: float = 0.0) -> float:
    return end + 0.5 * (start - end) * (math.cos(math.pi * factor) + 1)


def test_tin_policy_by_iter_anneals_after_the_warmup() -> None:
    # MMAction2's TINLrUpdaterHook: factor = (iter - W) / (max_iters - W), W = 1 epoch = 5 iters;
    # TIN's linear warmup k = i / W * (1 - r) + r on top of that
    lrs = _simulate(dict(policy='TIN', min_lr=0, by_epoch=False, warmup='linear',
                         warmup_iters=1, warmup_by_epoch=True), epochs=4, epoch_len=5)
    flat = [lr[0] for lr in lrs]
    assert flat[0] == pytest.approx(_cos(-5 / 15) * 0.1)           # 0.0075
    assert flat[3] == pytest.approx(_cos(-2 / 15) * (3 / 5 * 0.9 + 0.1))
    assert flat[5] == pytest.approx(BASE)                            # warmup over: factor 0
    assert flat[12] == pytest.approx(_cos(7 / 15))
    assert flat[19] == pytest.approx(_cos(14 / 15))


def test_tin_policy_by_epoch_subtracts_warmup_iterations_from_epochs() -> None:
    # by_epoch: progress is the epoch but W stays in iterations (2 = 1 epoch x 2 iters), as in
    # MMAction2: factor = (epoch - 2) / (10 - 2)
    lrs = _simulate(dict(policy='TIN', min_lr=0.01, warmup='linear', warmup_iters=1,
                         warmup_by_epoch=True), epochs=10, epoch_len=2)
    flat = [lr[0] for lr in lrs]
    assert flat[0] == pytest.approx(_cos(-2 / 8, end=0.01) * 0.1)
    assert flat[1] == pytest.approx(_cos(-2 / 8, end=0.01) * (1 / 2 * 0.9 + 0.1))
    assert flat[2] == pytest.approx(_cos(-1 / 8, end=0.01))
    assert flat[12] == pytest.approx(_cos(4 / 8, end=0.01))          # epoch 6
    # without warmup it is plain cosine annealing over the epochs
    plain = _simulate(dict(policy='TIN', min_lr=0), epochs=4, epoch_len=2)
    assert [plain[e * 2][0] for e in range(4)] == pytest.approx([_cos(e / 4) for e in range(4)])


def test_tin_configs_build_with_the_tin_policy() -> None:
    from pathlib import Path

    from actionkit.config import Config
    from actionkit.engine.lr_schedules import TINLrUpdaterHook
    from actionkit.models.builder import build_model

    root = Path(__file__).resolve().parents[2] / 'configs' / 'recognition' / 'tin'
    for path in sorted(root.glob('tin_*.py')):
        cfg = Config.fromfile(str(path))
        cfg.model.backbone.pretrained = None
        build_model(cfg.model)
        cfg.lr_config = dict(policy='TIN', min_lr=0, warmup='linear', warmup_by_epoch=True,
                             warmup_iters=1)
        hook = build_lr_hook(cfg.lr_config)
        assert isinstance(hook, TINLrUpdaterHook) and hook.min_lr == 0.0, path.name
    with pytest.raises(TypeError, match='min_lr'):
        build_lr_hook(dict(policy='TIN', min_lr=None))
