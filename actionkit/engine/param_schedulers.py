"""MMAction2 1.x's ``param_scheduler`` list, run as 1.x (mmengine) runs it.

``lr_config=dict(type='ParamSchedulerHook', schedulers=[...])`` is what
:func:`actionkit.config.v1.translate_v1` makes of a 1.x ``param_scheduler``. The schedulers
are *chained*, as in mmengine: each one, when it steps, derives the new lr of every parameter
group from the group's current lr, so schedulers whose ``[begin, end)`` ranges touch or
overlap compose. Every scheduler steps once when it is made (its step 0), then after every
training iteration (``by_epoch=False``) or after every epoch (``by_epoch=True``), in list
order; it changes the lr only while ``begin <= step < end``, and its own step count
(``last_step``) starts at 0 at ``begin``. ``convert_to_iter_based=True`` turns an epoch-based
scheduler into an iteration-based one: ``begin``, ``end``, ``milestones``, ``step_size`` and
``T_max`` are multiplied by the iterations per epoch (``begin`` and ``end`` then rounded down:
``end=2.5`` epochs of 4 iterations is 10 iterations). A missing ``end`` is the training's
length (epochs, or iterations for ``by_epoch=False``).

The formulas (``lr`` is the group's current lr, ``t`` the scheduler's ``last_step``, ``base``
the group's initial lr):

- ``LinearLR(start_factor=1/3, end_factor=1.0)``: ``t = 0``: ``lr * start_factor``; then
  ``lr * (1 + (end_factor - start_factor) / (n * start_factor + (t - 1) * (end_factor -
  start_factor)))`` with ``n = end - begin - 1``, so the factor reaches ``end_factor`` at
  ``t = n``;
- ``MultiStepLR(milestones, gamma=0.1)``: ``lr * gamma ** c`` at a milestone ``t`` (``c``: how
  often it is listed), else ``lr``;
- ``StepLR(step_size, gamma=0.1)``: ``lr * gamma`` when ``t > 0`` and ``t % step_size == 0``;
- ``ExponentialLR(gamma)``: ``lr * gamma`` for ``t > 0``;
- ``ConstantLR(factor=1/3)``: ``lr * factor`` at ``t = 0``, ``lr / factor`` at
  ``t = end - begin - 1``;
- ``CosineAnnealingLR(T_max=end - begin, eta_min=0 | eta_min_ratio)``: the recursive form of
  ``eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2``.

The schedule is replayed from step 0 before training, so a resumed run (at an epoch boundary or
in the middle of one) continues with exactly the lr an uninterrupted run would have.
"""
from __future__ import annotations

import inspect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..utils.checks import close_matches
from .hooks import HOOKS, PRIORITIES, HookBase

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ['ParamSchedulerHook', 'SCHEDULERS', 'build_scheduler']

INF = 2 ** 62  # an end that is never reached


class _Scheduler:
    """One chained scheduler: its range, its step counts and its formula (``value``)."""

    def __init__(self, begin: float = 0, end: float = INF, by_epoch: bool = True) -> None:
        if end <= begin:
            raise ValueError(f'end must be larger than begin, got begin={begin}, end={end}')
        # fractions are kept (1.x's Swin warms up to end=2.5 epochs, counted in iterations)
        self.begin, self.end, self.by_epoch = begin, end, bool(by_epoch)
        self.global_step, self.last_step = -1, -1

    def step(self, lrs: list[float], bases: list[float]) -> list[float]:
        self.global_step += 1
        if not self.begin <= self.global_step < self.end:
            return lrs
        self.last_step += 1
        return [self.value(lr, base) for lr, base in zip(lrs, bases)]

    def value(self, lr: float, base: float) -> float:
        raise NotImplementedError(f'{type(self).__name__} must define value(lr, base)')

    def to_iterations(self, epoch_length: int) -> None:
        """``convert_to_iter_based``: the epoch counts become iteration counts."""
        self.begin = int(self.begin * epoch_length)
        self.end = int(self.end * epoch_length) if self.end != INF else INF
        self.by_epoch = False


def _factor(name: str, value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f'{name} must be in [0, 1], got {value!r}')
    return float(value)


class LinearLR(_Scheduler):
    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, begin: float = 0,
                 end: float = INF, by_epoch: bool = True) -> None:
        super().__init__(begin, end, by_epoch)
        self.start = _factor('LinearLR start_factor', start_factor)
        self.stop = _factor('LinearLR end_factor', end_factor)

    def value(self, lr: float, base: float) -> float:
        if self.last_step == 0:
            return lr * self.start
        n, slope = self.end - self.begin - 1, self.stop - self.start
        return lr * (1 + slope / (n * self.start + (self.last_step - 1) * slope))


class MultiStepLR(_Scheduler):
    def __init__(self, milestones: Sequence[int], gamma: float = 0.1, begin: float = 0,
                 end: float = INF, by_epoch: bool = True) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise TypeError(f'MultiStepLR milestones must be a list of ints, got {milestones!r}')
        super().__init__(begin, end, by_epoch)
        self.milestones, self.gamma = Counter(milestones), gamma

    def value(self, lr: float, base: float) -> float:
        return lr * self.gamma ** self.milestones.get(self.last_step, 0)

    def to_iterations(self, epoch_length: int) -> None:
        super().to_iterations(epoch_length)
        self.milestones = Counter({m * epoch_length: c for m, c in self.milestones.items()})


class StepLR(_Scheduler):
    def __init__(self, step_size: int, gamma: float = 0.1, begin: float = 0, end: float = INF,
                 by_epoch: bool = True) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f'StepLR step_size must be a positive int, got {step_size!r}')
        super().__init__(begin, end, by_epoch)
        self.step_size, self.gamma = step_size, gamma

    def value(self, lr: float, base: float) -> float:
        due = self.last_step > 0 and self.last_step % self.step_size == 0
        return lr * self.gamma if due else lr

    def to_iterations(self, epoch_length: int) -> None:
        super().to_iterations(epoch_length)
        self.step_size *= epoch_length


class ExponentialLR(_Scheduler):
    def __init__(self, gamma: float, begin: float = 0, end: float = INF,
                 by_epoch: bool = True) -> None:
        super().__init__(begin, end, by_epoch)
        self.gamma = gamma

    def value(self, lr: float, base: float) -> float:
        return lr * self.gamma if self.last_step > 0 else lr


class ConstantLR(_Scheduler):
    def __init__(self, factor: float = 1.0 / 3, begin: float = 0, end: float = INF,
                 by_epoch: bool = True) -> None:
        super().__init__(begin, end, by_epoch)
        self.factor = _factor('ConstantLR factor', factor)

    def value(self, lr: float, base: float) -> float:
        if self.last_step == 0:
            return lr * self.factor
        return lr / self.factor if self.last_step == self.end - self.begin - 1 else lr


class CosineAnnealingLR(_Scheduler):
    def __init__(self, T_max: float | None = None, eta_min: float | None = None,  # noqa: N803
                 begin: float = 0, end: float = INF, by_epoch: bool = True,
                 eta_min_ratio: float | None = None) -> None:
        if eta_min is not None and eta_min_ratio is not None:
            raise ValueError('CosineAnnealingLR takes eta_min or eta_min_ratio, not both')
        super().__init__(begin, end, by_epoch)
        self.t_max = T_max or (self.end - self.begin)
        if self.t_max >= INF // 2:
            raise ValueError('CosineAnnealingLR needs T_max or an end')
        self.eta_min = 0.0 if eta_min is None and eta_min_ratio is None else eta_min
        self.eta_min_ratio = eta_min_ratio
        self._t_max_given = T_max is not None

    def value(self, lr: float, base: float) -> float:
        floor = base * self.eta_min_ratio if self.eta_min_ratio is not None else self.eta_min
        t, t_max = self.last_step, self.t_max
        if t == 0:
            return lr
        if (t - 1 - t_max) % (2 * t_max) == 0:
            return lr + (base - floor) * (1 - math.cos(math.pi / t_max)) / 2
        return ((1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
                * (lr - floor) + floor)

    def to_iterations(self, epoch_length: int) -> None:
        super().to_iterations(epoch_length)
        self.t_max = self.t_max * epoch_length if self._t_max_given else self.end - self.begin


SCHEDULERS: dict[str, type[_Scheduler]] = {
    cls.__name__: cls for cls in (LinearLR, MultiStepLR, StepLR, ExponentialLR, ConstantLR,
                                  CosineAnnealingLR)}


def build_scheduler(spec: Mapping[str, Any], index: int, max_epochs: int, max_iters: int,
                    epoch_length: int) -> _Scheduler:
    """Make ``param_scheduler[index]``; unknown types and keys name the nearest valid one."""
    where = f'param_scheduler[{index}]'
    args = dict(spec)
    kind = args.pop('type', None)
    if kind not in SCHEDULERS:
        raise KeyError(f'{where}: unknown scheduler type {kind!r}.'
                       f'{close_matches(kind, SCHEDULERS)} Schedulers actionkit runs: '
                       f'{", ".join(SCHEDULERS)}')
    cls = SCHEDULERS[kind]
    valid = [name for name in inspect.signature(cls.__init__).parameters if name != 'self']
    convert = bool(args.pop('convert_to_iter_based', False))
    for key in args:
        if key not in valid:
            raise KeyError(f'{where} ({kind}) has an unknown key {key!r}.'
                           f'{close_matches(key, valid + ["convert_to_iter_based"])} '
                           f'{kind} takes: {", ".join(valid + ["convert_to_iter_based"])}')
    by_epoch = args.get('by_epoch', True)
    args.setdefault('end', max_epochs if by_epoch else max_iters)  # as 1.x's runner does
    if convert and not by_epoch:
        raise ValueError(f'{where} ({kind}): convert_to_iter_based needs by_epoch=True')
    try:
        scheduler = cls(**args)
    except (TypeError, ValueError) as err:
        raise type(err)(f'{where} ({kind}): {err}') from None
    if convert:
        scheduler.to_iterations(epoch_length)
    return scheduler


@HOOKS.register_module()
class ParamSchedulerHook(HookBase):
    """Run a 1.x ``param_scheduler`` list (see the module docstring).

    Args:
        schedulers (list[dict]): the 1.x scheduler dicts (``type`` and its arguments).
    """

    priority = PRIORITIES['VERY_HIGH']

    def __init__(self, schedulers: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(schedulers, Mapping):
            schedulers = [schedulers]
        if not isinstance(schedulers, Sequence) or not all(
                isinstance(s, Mapping) for s in schedulers):
            raise TypeError(f'param_scheduler must be a dict or a list of dicts, got '
                            f'{schedulers!r}')
        for index, spec in enumerate(schedulers):  # refuse typos before training starts
            build_scheduler(spec, index, 2 ** 31, 2 ** 31, 1)
        self.specs = [dict(spec) for spec in schedulers]
        self.schedulers: list[_Scheduler] = []
        self._pending: list[bool] = []

    def before_train(self, trainer: Trainer) -> None:
        groups = trainer.optimizer.param_groups
        for group in groups:
            group.setdefault('initial_lr', group['lr'])
        epoch_length = len(trainer.data_loader)
        self.schedulers = [build_scheduler(spec, i, trainer.max_epochs, trainer.max_iters,
                                           epoch_length) for i, spec in enumerate(self.specs)]
        bases = [group['initial_lr'] for group in groups]
        lrs = self._step(list(bases), bases, None)  # each scheduler's step 0, made with it
        for _ in range(trainer.epoch):  # replay what already ran (a resume)
            for _ in range(epoch_length):
                lrs = self._step(lrs, bases, False)
            lrs = self._step(lrs, bases, True)
        for _ in range(trainer.iter - trainer.epoch * epoch_length):
            lrs = self._step(lrs, bases, False)
        for group, lr in zip(groups, lrs):
            group['lr'] = lr
        self._pending = []

    def _step(self, lrs: list[float], bases: list[float], by_epoch: bool | None) -> list[float]:
        for scheduler in self.schedulers:
            if by_epoch is None or scheduler.by_epoch == by_epoch:
                lrs = scheduler.step(lrs, bases)
        return lrs

    # 1.x steps after each iteration and epoch; the steps are applied before the next
    # iteration, so that what is logged during an iteration is the lr it trains with
    def after_step(self, trainer: Trainer) -> None:
        self._pending.append(False)

    def after_epoch(self, trainer: Trainer) -> None:
        self._pending.append(True)

    def before_step(self, trainer: Trainer) -> None:
        if not self._pending:
            return
        groups = trainer.optimizer.param_groups
        bases = [group['initial_lr'] for group in groups]
        lrs = [group['lr'] for group in groups]
        for by_epoch in self._pending:
            lrs = self._step(lrs, bases, by_epoch)
        self._pending = []
        for group, lr in zip(groups, lrs):
            group['lr'] = lr
