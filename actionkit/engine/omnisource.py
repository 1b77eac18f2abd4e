"""OmniSource training (``omnisource=True``): one main data set plus auxiliary ones.

As MMAction2 0.x's ``OmniSourceRunner``, run by the one :class:`~actionkit.engine.Trainer`:
``data.train`` is a list of data sets; the first is the main one and sets the epoch length.
After every ``train_ratio[0]``-th main iteration, the trainer takes ``train_ratio[i + 1]``
batches from auxiliary loader ``i`` (each a full step: forward, backward, optimizer step, with
the ``before_step`` / ``after_step`` hooks), cycling through each auxiliary loader as often as
needed. Their logged values carry the suffix ``/aux{i}`` (``loss_cls/aux0``); the iteration
counter counts main iterations only. ``data.omni_videos_per_gpu`` gives each loader its batch
size.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .hooks import HOOKS, HookBase

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ['cycle', 'check_train_ratio', 'set_loader_epoch', 'OmniSourceDistSamplerSeedHook']


def cycle(iterable: Iterable) -> Iterator:
    """Iterate ``iterable`` again and again (a new pass, e.g. a new shuffle, each time)."""
    while True:
        yielded = False
        for item in iterable:
            yielded = True
            yield item
        if not yielded:
            raise ValueError('an auxiliary OmniSource data loader is empty')


def check_train_ratio(train_ratio: Sequence[int] | None, num_loaders: int) -> list[int]:
    """``train_ratio`` (default: all 1), checked: one positive int per loader."""
    ratio = [1] * num_loaders if train_ratio is None else list(train_ratio)
    if len(ratio) != num_loaders or any(isinstance(r, bool) or not isinstance(r, int) or r < 1
                                        for r in ratio):
        raise ValueError(f'data.train_ratio must hold one positive int per training data set '
                         f'({num_loaders}), got {train_ratio!r}')
    return ratio


def set_loader_epoch(loader: Any, epoch: int) -> None:
    """Tell a loader's (batch) sampler the epoch, so distributed samplers reshuffle (a
    streaming dataset, which orders itself, is told instead)."""
    for holder in (getattr(loader, 'sampler', None),
                   getattr(getattr(loader, 'batch_sampler', None), 'sampler', None),
                   getattr(loader, 'dataset', None)):
        if hasattr(holder, 'set_epoch'):
            holder.set_epoch(epoch)
            return


@HOOKS.register_module()
class OmniSourceDistSamplerSeedHook(HookBase):
    """Set the epoch of every training loader's sampler, auxiliary ones included.

    The trainer already does this for all its loaders; the hook is kept for configs that
    name it in ``custom_hooks``.
    """

    def before_epoch(self, trainer: Trainer) -> None:
        for loader in [*trainer.data_loaders, *trainer.aux_loaders]:
            set_loader_epoch(loader, trainer.epoch)
