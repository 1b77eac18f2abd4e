"""Multigrid training (``multigrid=dict(...)``), as MMAction2 0.x runs it.

`A Multigrid Method for Efficiently Training Video Models <https://arxiv.org/abs/1912.00998>`_
trains on coarse clips (fewer frames, smaller frames, more clips per batch) first and on the
full shape last. With ``multigrid=dict(long_cycle=True, short_cycle=..., epoch_factor=...,
long_cycle_factors=[[t, s], ...], short_cycle_factors=[s0, s1], default_s=(224, 224))``:

- :func:`long_cycle_schedule` turns the lr milestones of ``lr_config=dict(policy='step')`` into
  a list of stages ``(lr_step, [batch_factor, clip_len, size], end_epoch)``: every interval
  between milestones cycles through the ``long_cycle_factors`` (``clip_len = round(T * t)``,
  ``size = round(S * s)``, ``batch_factor = round(T * S**2 / (clip_len * size**2))``, with ``T``
  the ``clip_len`` of ``SampleFrames`` and ``S`` the size of the last ``Resize``), each shape
  getting epochs in proportion to its average batch factor (the short cycle's two smaller
  sizes count in that average); a fine-tuning stage on the full shape follows; and all epochs
  are stretched so that they add up to ``total_epochs * epoch_factor``, which becomes the new
  number of epochs.
- :class:`LongShortCycleHook` applies it: before training it replaces the step schedule by a
  :class:`RelativeStepLrUpdaterHook` (a linear warmup over 34 epochs from 0.01, then per stage
  ``lr * gamma**lr_step * batch_factor``, and a fine-tuning stage split in two), and before
  each epoch it trains on a data loader of the stage's shape (``SampleFrames.clip_len``,
  ``frame_interval`` keeping ``clip_len * frame_interval``, the last ``Resize.scale``,
  ``videos_per_gpu * batch_factor`` clips per batch, incomplete batches dropped) and gives every
  :class:`~actionkit.models.SubBatchNorm3D` ``batch_factor`` splits.
- :class:`SubBatchNorm3dAggregationHook` sets the evaluation statistics of every
  ``SubBatchNorm3D`` from its splits after each epoch (before checkpoints and evaluation).
- :class:`ShortCycleSampler` is MMAction2's batch sampler for the short cycle (per-iteration
  sizes). As in MMAction2 0.24.1, the long-cycle hook does not use it: the short cycle enters
  training only through the schedule's batch-factor averages.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch.utils.data import DataLoader, Sampler

from ..models.sub_batchnorm3d import aggregate_sub_bn_stats, set_sub_bn_splits
from .checkpoint import unwrap_model
from .hooks import HOOKS, PRIORITIES, HookBase
from .lr_schedules import LrUpdaterHook, StepLrUpdaterHook

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = [
    'long_cycle_schedule', 'relative_step_lrs', 'multigrid_base_shape', 'stage_pipeline',
    'RelativeStepLrUpdaterHook', 'LongShortCycleHook', 'SubBatchNorm3dAggregationHook',
    'ShortCycleSampler',
]

logger = logging.getLogger(__name__)

Stage = tuple[int, list[int], int]  # (lr step index, [batch factor, clip_len, size], end epoch)
MULTIGRID_KEYS = ('long_cycle', 'short_cycle', 'epoch_factor', 'long_cycle_factors',
                  'short_cycle_factors', 'default_s')


def _check_multigrid(multigrid: Mapping[str, Any]) -> None:
    unknown = set(multigrid) - set(MULTIGRID_KEYS)
    if unknown:
        raise KeyError(f'multigrid has unknown keys {sorted(unknown)}; known: {MULTIGRID_KEYS}')
    if not multigrid.get('long_cycle'):
        raise ValueError('multigrid needs long_cycle=True (there should be at least a long '
                         'cycle)')
    for key in ('epoch_factor', 'long_cycle_factors'):
        if key not in multigrid:
            raise KeyError(f'multigrid.{key} is missing')
    if multigrid.get('short_cycle') and len(multigrid.get('short_cycle_factors') or ()) != 2:
        raise ValueError(f'multigrid.short_cycle_factors must hold two factors, got '
                         f'{multigrid.get("short_cycle_factors")!r}')


def long_cycle_schedule(multigrid: Mapping[str, Any], default_t: int, default_s: int,
                        steps: Sequence[int], max_epochs: int) -> tuple[list[Stage], int]:
    """The long-cycle stages and the new number of epochs (MMAction2's arithmetic).

    Args:
        multigrid: the ``multigrid`` config dict.
        default_t: ``clip_len`` of the training pipeline's ``SampleFrames``.
        default_s: the size of its last ``Resize`` (square).
        steps: the lr milestones (epochs) of the step schedule.
        max_epochs: ``total_epochs``.

    Returns:
        ``(stages, new_max_epochs)``; a stage is ``(lr_step, [batch_factor, clip_len, size],
        end_epoch)`` and lasts up to (not including) ``end_epoch``.
    """
    _check_multigrid(multigrid)
    default_size = default_t * default_s ** 2
    avg_bs, all_shapes = [], []
    for t_factor, s_factor in multigrid['long_cycle_factors']:
        base_t = int(round(default_t * t_factor))
        base_s = int(round(default_s * s_factor))
        sizes = [base_s]
        if multigrid.get('short_cycle'):
            sizes = [int(round(default_s * f)) for f in multigrid['short_cycle_factors']] + sizes
        shapes = [[int(round(default_size / (base_t * s ** 2))), base_t, s] for s in sizes]
        avg_bs.append(float(np.mean([shape[0] for shape in shapes])))
        all_shapes.append(shapes)
    milestones = [0, *steps]
    stages: list[tuple[int, list[int], float]] = []
    total_iters = 0.0
    for step_index in range(len(milestones) - 1):
        step_epochs = milestones[step_index + 1] - milestones[step_index]
        for cycle, shapes in enumerate(all_shapes):
            epochs = step_epochs * avg_bs[cycle] / sum(avg_bs)
            total_iters += epochs / avg_bs[cycle]
            stages.append((step_index, shapes[-1], epochs))
    iter_saving = milestones[-1] / total_iters
    # the fine-tuning stage saves as many iterations as the rest of training
    ft_epochs = (max_epochs - milestones[-1]) / iter_saving * avg_bs[-1]
    stages.append((len(milestones) - 1, all_shapes[-1][-1], ft_epochs))
    stretch = max_epochs * multigrid['epoch_factor'] / sum(s[-1] for s in stages)
    final: list[Stage] = []
    end = 0.0
    for step_index, shape, epochs in stages:
        end += epochs * stretch
        final.append((step_index, shape, int(round(end))))
    return final, int(max_epochs * multigrid['epoch_factor'])


def relative_step_lrs(schedule: Sequence[Stage], base_lr: float,
                      gamma: float) -> tuple[list[int], list[float]]:
    """Milestones and lrs of the multigrid lr schedule (the fine-tuning stage split in two)."""
    steps = [stage[-1] for stage in schedule]
    steps.insert(-1, (steps[-2] + steps[-1]) // 2)
    lrs = [base_lr * gamma ** stage[0] * stage[1][0] for stage in schedule]
    lrs = lrs[:-1] + [lrs[-2], lrs[-1] * gamma]
    return steps, lrs


@HOOKS.register_module()
class RelativeStepLrUpdaterHook(LrUpdaterHook):
    """A linear warmup, then an absolute lr per stage (every parameter group gets it).

    Args:
        steps (list[int]): the end (exclusive) of each stage, in epochs (iterations with
            ``by_epoch=False``).
        lrs (list[float]): the lr of each stage.
        warmup_epochs (int): the lr rises linearly up to and including this epoch.
            Default: 34.
        warmuplr_start (float): the lr at epoch 0. Default: 0.01.
        by_epoch (bool): count epochs. Default: True.
    """

    def __init__(self, steps: Sequence[int], lrs: Sequence[float], warmup_epochs: int = 34,
                 warmuplr_start: float = 0.01, by_epoch: bool = True) -> None:
        if len(steps) != len(lrs) or not steps:
            raise ValueError(f'RelativeStepLrUpdaterHook: steps and lrs need the same non-zero '
                             f'length, got {len(steps)} and {len(lrs)}')
        super().__init__(by_epoch=by_epoch)
        self.steps, self.lrs = list(steps), list(lrs)
        self.warmup_epochs, self.warmuplr_start = warmup_epochs, warmuplr_start

    def get_lr(self, trainer: Trainer, base_lr: float) -> float:
        progress, _ = self._progress(trainer)
        if progress <= self.warmup_epochs:
            slope = (self.lrs[0] - self.warmuplr_start) / self.warmup_epochs
            return progress * slope + self.warmuplr_start
        return next((lr for step, lr in zip(self.steps, self.lrs) if progress < step),
                    self.lrs[-1])


def multigrid_base_shape(pipeline: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """``(clip_len, frame_interval, size)`` of a training pipeline config: the first
    ``SampleFrames`` and the last ``Resize``, whose ``scale`` must be a square ``(S, S)``."""
    samplers = [step for step in pipeline if step.get('type') == 'SampleFrames']
    resizes = [step for step in pipeline if step.get('type') == 'Resize']
    if not samplers or not resizes:
        raise ValueError('multigrid needs a SampleFrames and a Resize step in data.train.pipeline')
    scale = resizes[-1].get('scale')
    if not isinstance(scale, (list, tuple)) or len(scale) != 2 or scale[0] != scale[1]:
        raise ValueError(f'multigrid needs the last Resize of data.train.pipeline to have a '
                         f'square scale (S, S), got {scale!r}')
    return (int(samplers[0]['clip_len']), int(samplers[0].get('frame_interval', 1)),
            int(scale[0]))


def stage_pipeline(pipeline: Sequence[Mapping[str, Any]], clip_len: int,
                   size: int) -> list[dict[str, Any]]:
    """A copy of ``pipeline`` for a stage: ``SampleFrames`` samples ``clip_len`` frames over the
    same span (``clip_len * frame_interval``) and the last ``Resize`` resizes to
    ``(size, size)``."""
    steps = [dict(step) for step in pipeline]
    for step in steps:
        if step.get('type') == 'SampleFrames':
            span = step['clip_len'] * step.get('frame_interval', 1)
            if span % clip_len:
                raise ValueError(f'multigrid: clip_len {clip_len} does not divide the sampled '
                                 f'span of {span} frames (clip_len * frame_interval)')
            step.update(clip_len=clip_len, frame_interval=span // clip_len)
    last_resize = max(i for i, step in enumerate(steps) if step.get('type') == 'Resize')
    steps[last_resize]['scale'] = (size, size)
    return steps


@HOOKS.register_module()
class LongShortCycleHook(HookBase):
    """Apply the multigrid long cycle: lr schedule, clip shape and batch size per stage.

    Args:
        multigrid (dict): the ``multigrid`` config.
        default_t (int): ``clip_len`` of the training pipeline.
        default_s (int): the size of its last ``Resize``.
        build_loader (callable): ``build_loader(batch_factor, clip_len, size)`` returns the
            training loader of a stage (``apis.train_model`` rebuilds ``data.train`` with
            :func:`stage_pipeline` and ``videos_per_gpu * batch_factor``).
    """

    def __init__(self, multigrid: Mapping[str, Any], default_t: int, default_s: int,
                 build_loader: Callable[[int, int, int], DataLoader]) -> None:
        _check_multigrid(multigrid)
        self.multigrid, self.default_t, self.default_s = dict(multigrid), default_t, default_s
        self.build_loader = build_loader
        self.schedule: list[Stage] = []
        self._shape: list[int] | None = None

    def before_train(self, trainer: Trainer) -> None:
        index, step_hook = self._step_hook(trainer)
        steps = step_hook.step if isinstance(step_hook.step, list) else [step_hook.step]
        self.schedule, trainer.max_epochs = long_cycle_schedule(
            self.multigrid, self.default_t, self.default_s, steps, trainer.max_epochs)
        logger.info('multigrid schedule (lr step, [batch factor, clip_len, size], end epoch): '
                    '%s; %d epochs', self.schedule, trainer.max_epochs)
        base_lr = step_hook.base_lr[0] if step_hook.base_lr else \
            trainer.optimizer.param_groups[0].get('initial_lr',
                                                  trainer.optimizer.param_groups[0]['lr'])
        steps, lrs = relative_step_lrs(self.schedule, base_lr, step_hook.gamma)
        relative = RelativeStepLrUpdaterHook(steps, lrs)
        relative.priority = step_hook.priority
        relative.before_train(trainer)
        trainer.hooks[index] = relative

    @staticmethod
    def _step_hook(trainer: Trainer) -> tuple[int, StepLrUpdaterHook]:
        for index, hook in enumerate(trainer.hooks):
            if isinstance(hook, StepLrUpdaterHook):
                return index, hook
            if isinstance(hook, LrUpdaterHook):
                raise ValueError(f'multigrid needs lr_config=dict(policy="step", ...), got '
                                 f'{type(hook).__name__}')
        raise ValueError('multigrid needs lr_config=dict(policy="step", ...)')

    def stage_shape(self, epoch: int) -> list[int]:
        """``[batch_factor, clip_len, size]`` of the stage that ``epoch`` (0-based) is in."""
        return next((shape for _, shape, end in self.schedule if epoch < end),
                    self.schedule[-1][1])

    def before_epoch(self, trainer: Trainer) -> None:
        shape = self.stage_shape(trainer.epoch)
        if shape == self._shape:
            return
        batch_factor, clip_len, size = shape
        trainer.replace_train_loader(self.build_loader(batch_factor, clip_len, size))
        count = set_sub_bn_splits(unwrap_model(trainer.model), batch_factor)
        logger.info('multigrid stage from epoch %d: %d frames of %dx%d, batch factor %d (%d '
                    'SubBatchNorm3D layers)', trainer.epoch + 1, clip_len, size, size,
                    batch_factor, count)
        self._shape = shape


@HOOKS.register_module()
class SubBatchNorm3dAggregationHook(HookBase):
    """After each training epoch, aggregate the split statistics of every SubBatchNorm3D."""

    priority = PRIORITIES['VERY_HIGH']

    def after_epoch(self, trainer: Trainer) -> None:
        aggregate_sub_bn_stats(unwrap_model(trainer.model))


class ShortCycleSampler(Sampler):
    """Batches of ``(index, cycle)``: the short cycle's three batch sizes in turn.

    Cycles 0 and 1 use the spatial sizes ``short_cycle_factors[i] * default_s[0]``, with
    ``round((crop_size / size) ** 2)`` times the batch size; cycle 2 uses ``crop_size`` and
    ``batch_size``.

    Args:
        sampler (Sampler): the indices.
        batch_size (int): the batch size of cycle 2.
        multigrid_cfg (dict): ``short_cycle_factors`` and ``default_s``.
        crop_size (int): the spatial size of cycle 2.
        drop_last (bool): drop an incomplete last batch. Default: True.
    """

    def __init__(self, sampler: Sampler, batch_size: int, multigrid_cfg: Mapping[str, Any],
                 crop_size: int, drop_last: bool = True) -> None:
        self.sampler, self.drop_last = sampler, drop_last
        default_s = multigrid_cfg['default_s'][0]
        factors = [int(round((float(crop_size) / (f * default_s)) ** 2))
                   for f in multigrid_cfg['short_cycle_factors']]
        self.batch_sizes = [batch_size * factors[0], batch_size * factors[1], batch_size]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        counter, batch = 0, []
        for index in self.sampler:
            batch.append((index, counter % 3))
            if len(batch) == self.batch_sizes[counter % 3]:
                yield batch
                counter += 1
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        average = sum(self.batch_sizes) / 3.0
        count = len(self.sampler) / average
        return int(np.floor(count)) if self.drop_last else int(np.ceil(count))
