"""Learning-rate schedules (``lr_config``), with mmcv's formulas and warmup.

``lr_config=dict(policy='step', step=[40, 80])`` builds :class:`StepLrUpdaterHook`: the policy
name (lower-case names are title-cased, as mmcv does) plus ``'LrUpdaterHook'`` is looked up in
:data:`~actionkit.engine.hooks.HOOKS`, so a user schedule registered as ``FooLrUpdaterHook`` is
``policy='Foo'``. The policies:

- ``step``: ``lr = base_lr * gamma ** k``, ``k`` = number of milestones in ``step`` passed
  (or ``progress // step`` for an int), floored at ``min_lr`` when set;
- ``CosineAnnealing``: ``target + (base_lr - target) * (1 + cos(pi * progress / max_progress)) / 2``
  with ``target = min_lr`` or ``base_lr * min_lr_ratio``;
- ``poly``: ``(base_lr - min_lr) * (1 - progress / max_progress) ** power + min_lr``;
- ``exp``: ``base_lr * gamma ** progress``;
- ``fixed``: ``base_lr``;
- ``TIN`` (MMAction2's ``TINLrUpdaterHook``): ``CosineAnnealing`` to ``min_lr`` with the warmup
  length taken off both ``progress`` and ``max_progress`` when a warmup is set. As in
  MMAction2, that length is in iterations even when ``progress`` counts epochs.

``progress`` counts epochs (``by_epoch=True``: the lr changes at the start of each epoch) or
iterations (``by_epoch=False``: it changes every iteration). Warmup is per iteration either way:
for the first ``warmup_iters`` iterations (epochs with ``warmup_by_epoch=True``) the scheduled lr
``r`` is replaced by ``r * warmup_ratio`` (``'constant'``),
``r * (1 - (1 - i / warmup_iters) * (1 - warmup_ratio))`` (``'linear'``) or
``r * warmup_ratio ** (1 - i / warmup_iters)`` (``'exp'``), ``i`` the iteration.

Each parameter group's starting lr is kept as ``initial_lr`` in the optimizer's state, so the
schedule continues exactly after a resume.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .hooks import HOOKS, PRIORITIES, HookBase

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = [
    'LrUpdaterHook', 'FixedLrUpdaterHook', 'StepLrUpdaterHook', 'ExpLrUpdaterHook',
    'PolyLrUpdaterHook', 'CosineAnnealingLrUpdaterHook', 'TINLrUpdaterHook', 'annealing_cos',
    'build_lr_hook',
]

WARMUPS = ('constant', 'linear', 'exp')


def annealing_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``start`` (``factor=0``) to ``end`` (``factor=1``)."""
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


class LrUpdaterHook(HookBase):
    """Base of the schedules: subclasses implement ``get_lr(trainer, base_lr)``.

    Args:
        by_epoch (bool): update the lr per epoch (True) or per iteration. Default: True.
        warmup (str | None): ``'constant'``, ``'linear'``, ``'exp'`` or None. Default: None.
        warmup_iters (int): warmup length in iterations (epochs with ``warmup_by_epoch``).
            Default: 0.
        warmup_ratio (float): the lr at the start of warmup, as a fraction of the scheduled
            lr; in (0, 1]. Default: 0.1.
        warmup_by_epoch (bool): ``warmup_iters`` counts epochs. Default: False.
    """

    priority = PRIORITIES['VERY_HIGH']

    def __init__(self, by_epoch: bool = True, warmup: str | None = None, warmup_iters: int = 0,
                 warmup_ratio: float = 0.1, warmup_by_epoch: bool = False) -> None:
        if warmup is not None:
            if warmup not in WARMUPS:
                raise ValueError(f'lr_config.warmup must be one of {WARMUPS} or None, got '
                                 f'{warmup!r}')
            if not isinstance(warmup_iters, int) or warmup_iters <= 0:
                raise ValueError(f'lr_config.warmup_iters must be a positive int when warmup is '
                                 f'set, got {warmup_iters!r}')
            if not 0 < warmup_ratio <= 1.0:
                raise ValueError(f'lr_config.warmup_ratio must be in (0, 1], got {warmup_ratio!r}')
        self.by_epoch, self.warmup = bool(by_epoch), warmup
        self.warmup_ratio, self.warmup_by_epoch = float(warmup_ratio), bool(warmup_by_epoch)
        self.warmup_epochs: int | None = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: int | None = None if warmup_by_epoch else warmup_iters
        self.base_lr: list[float] = []
        self.regular_lr: list[float] = []

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        """The scheduled lr (before warmup) for a group whose initial lr is ``base_lr``."""
        raise NotImplementedError(f'{type(self).__name__} must implement get_lr(trainer, base_lr)')

    def get_regular_lr(self, trainer: Trainer) -> list[float]:
        return [self.get_lr(trainer, base_lr) for base_lr in self.base_lr]

    def get_warmup_lr(self, cur_iters: int) -> list[float]:
        assert self.warmup_iters, 'warmup_iters is set before warmup starts'
        if self.warmup == 'constant':
            k = self.warmup_ratio
        elif self.warmup == 'linear':
            k = 1 - (1 - cur_iters / self.warmup_iters) * (1 - self.warmup_ratio)
        else:
            k = self.warmup_ratio ** (1 - cur_iters / self.warmup_iters)
        return [lr * k for lr in self.regular_lr]

    @staticmethod
    def _set_lr(trainer: Trainer, lrs: Sequence[float]) -> None:
        for group, lr in zip(trainer.optimizer.param_groups, lrs):
            group['lr'] = lr

    def before_train(self, trainer: Trainer) -> None:
        for group in trainer.optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])
        self.base_lr = [group['initial_lr'] for group in trainer.optimizer.param_groups]

    def before_epoch(self, trainer: Trainer) -> None:
        if self.warmup_epochs is not None:
            self.warmup_iters = self.warmup_epochs * len(trainer.data_loader)
        if self.by_epoch:
            self.regular_lr = self.get_regular_lr(trainer)
            self._set_lr(trainer, self.regular_lr)

    def before_step(self, trainer: Trainer) -> None:
        cur_iter = trainer.iter
        if not self.by_epoch:
            self.regular_lr = self.get_regular_lr(trainer)
            if self.warmup is None or cur_iter >= self.warmup_iters:
                self._set_lr(trainer, self.regular_lr)
            else:
                self._set_lr(trainer, self.get_warmup_lr(cur_iter))
        elif self.warmup is not None and cur_iter <= self.warmup_iters:
            if cur_iter == self.warmup_iters:
                self._set_lr(trainer, self.regular_lr)
            else:
                self._set_lr(trainer, self.get_warmup_lr(cur_iter))

    def _progress(self, trainer: Trainer) -> tuple[int, int]:
        if self.by_epoch:
            return trainer.epoch, trainer.max_epochs
        return trainer.iter, trainer.max_iters


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """A constant lr (plus warmup)."""

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """Multiply the lr by ``gamma`` at each milestone.

    Args:
        step (int | list[int]): milestones (epochs or iterations), or a period.
        gamma (float): the factor per milestone. Default: 0.1.
        min_lr (float | None): the lr never goes below this. Default: None.
        by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch: see
            :class:`LrUpdaterHook`.
    """

    def __init__(self, step: int | Sequence[int], gamma: float = 0.1, min_lr: float | None = None,
                 by_epoch: bool = True, warmup: str | None = None, warmup_iters: int = 0,
                 warmup_ratio: float = 0.1, warmup_by_epoch: bool = False) -> None:
        if isinstance(step, int) and not isinstance(step, bool):
            if step <= 0:
                raise ValueError(f'lr_config.step must be positive, got {step}')
        elif isinstance(step, Sequence) and all(isinstance(s, int) and s > 0 for s in step):
            step = list(step)
        else:
            raise TypeError(f'lr_config.step must be a positive int or a list of positive ints, '
                            f'got {step!r}')
        self.step, self.gamma, self.min_lr = step, gamma, min_lr
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        progress, _ = self._progress(trainer)
        if isinstance(self.step, int):
            exp = progress // self.step
        else:
            exp = next((i for i, s in enumerate(self.step) if progress < s), len(self.step))
        lr = base_lr * self.gamma ** exp
        return max(lr, self.min_lr) if self.min_lr is not None else lr


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``base_lr * gamma ** progress``.

    Args:
        gamma (float): the factor per epoch (iteration).
        by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch: see
            :class:`LrUpdaterHook`.
    """

    def __init__(self, gamma: float, by_epoch: bool = True, warmup: str | None = None,
                 warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        self.gamma = gamma
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        return base_lr * self.gamma ** self._progress(trainer)[0]


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``(base_lr - min_lr) * (1 - progress / max_progress) ** power + min_lr``.

    Args:
        power (float): the exponent. Default: 1.0.
        min_lr (float): the final lr. Default: 0.0.
        by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch: see
            :class:`LrUpdaterHook`.
    """

    def __init__(self, power: float = 1.0, min_lr: float = 0.0, by_epoch: bool = True,
                 warmup: str | None = None, warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        self.power, self.min_lr = power, min_lr
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        progress, max_progress = self._progress(trainer)
        coeff = (1 - progress / max_progress) ** self.power
        return (base_lr - self.min_lr) * coeff + self.min_lr


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(LrUpdaterHook):
    """Cosine annealing from the initial lr to ``min_lr`` (or ``base_lr * min_lr_ratio``).

    Args:
        min_lr (float | None): the final lr. Exactly one of ``min_lr`` and ``min_lr_ratio``.
        min_lr_ratio (float | None): the final lr as a fraction of the initial one.
        by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch: see
            :class:`LrUpdaterHook`.
    """

    def __init__(self, min_lr: float | None = None, min_lr_ratio: float | None = None,
                 by_epoch: bool = True, warmup: str | None = None, warmup_iters: int = 0,
                 warmup_ratio: float = 0.1, warmup_by_epoch: bool = False) -> None:
        if (min_lr is None) == (min_lr_ratio is None):
            raise ValueError(f'lr_config (CosineAnnealing) needs exactly one of min_lr and '
                             f'min_lr_ratio, got min_lr={min_lr!r}, min_lr_ratio={min_lr_ratio!r}')
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        progress, max_progress = self._progress(trainer)
        target = base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else self.min_lr
        return annealing_cos(base_lr, target, progress / max_progress)


@HOOKS.register_module()
class TINLrUpdaterHook(LrUpdaterHook):
    """MMAction2's TIN schedule (``lr_config=dict(policy='TIN', min_lr=...)``): cosine
    annealing to ``min_lr`` that starts after the warmup.

    With a warmup, ``factor = (progress - warmup_iters) / (max_progress - warmup_iters)``, where
    ``warmup_iters`` is in iterations (``warmup_iters * iterations per epoch`` with
    ``warmup_by_epoch``) even when ``progress`` counts epochs, exactly as MMAction2 computes it.
    The warmup itself is mmcv's (TIN's linear formula ``r + i / warmup_iters * (1 - r)`` is the
    same line).

    Args:
        min_lr (float): the final lr.
        by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch: see
            :class:`LrUpdaterHook`.
    """

    def __init__(self, min_lr: float, by_epoch: bool = True, warmup: str | None = None,
                 warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False) -> None:
        if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float)):
            raise TypeError(f'lr_config (TIN) needs a number min_lr, got {min_lr!r}')
        self.min_lr = float(min_lr)
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        progress, max_progress = self._progress(trainer)
        if self.warmup is not None:
            progress -= self.warmup_iters
            max_progress -= self.warmup_iters
        if max_progress == 0:
            raise ValueError(f'lr_config (TIN): the schedule is as long as its warmup '
                             f'({self.warmup_iters} iterations), nothing is left to anneal')
        return annealing_cos(base_lr, self.min_lr, progress / max_progress)


def build_lr_hook(lr_config: Mapping[str, Any] | HookBase | None) -> HookBase | None:
    """Build the schedule hook from ``lr_config`` (``None``: the optimizer's lr stays fixed)."""
    if lr_config is None or isinstance(lr_config, HookBase):
        return lr_config
    if not isinstance(lr_config, Mapping):
        raise TypeError(f'lr_config must be a dict or None, got {type(lr_config).__name__}')
    cfg = dict(lr_config)
    if 'policy' not in cfg:
        if 'type' in cfg:
            return HOOKS.build(cfg)
        raise KeyError(f"lr_config needs a 'policy' (e.g. 'step', 'CosineAnnealing'), got keys "
                       f'{sorted(cfg)}')
    policy = cfg.pop('policy')
    if isinstance(policy, str):
        name = policy.title() if policy == policy.lower() else policy
        hook_type = name + 'LrUpdaterHook'
        if HOOKS.get(hook_type) is None:
            known = sorted(k[:-len('LrUpdaterHook')] for k in HOOKS.module_dict
                           if k.endswith('LrUpdaterHook') and k != 'LrUpdaterHook')
            raise KeyError(f'lr_config.policy={policy!r}: no {hook_type} is registered; known '
                           f'policies: {known}')
        cfg['type'] = hook_type
    else:
        cfg['type'] = policy
    return HOOKS.build(cfg)
