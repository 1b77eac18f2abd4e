"""Precise BN: recompute the batch-norm statistics with the weights held fixed.

During training the running mean and variance of a batch norm follow weights that keep
changing, so they lag the final model. :func:`update_bn_stats` runs ``num_iters`` training
batches through the model (no gradients), with every batch norm's momentum set to 1, and
stores in each batch norm the average over those batches of its per-batch mean and of its
per-batch (unbiased) variance, the averaging MMAction2 0.x's ``update_bn_stats`` uses.
:class:`PreciseBNHook` does it after every ``interval`` training epochs; the config key
``precise_bn=dict(num_iters=200, interval=1)`` registers it (``apis.train_model``).

In a distributed run every rank averages its own batches and then the ranks average their
results (all ranks run ``num_iters`` batches of the same size, so that is the average over
all the batches seen), so every rank ends with the same statistics.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from ..utils.checks import check_positive_int
from . import dist as comm
from .checkpoint import unwrap_model
from .hooks import HOOKS, HookBase

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ['update_bn_stats', 'PreciseBNHook']

logger = logging.getLogger(__name__)


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items() if k != 'bad_samples'}


def _batches(data_loader: Iterable, num_iters: int, device: torch.device) -> Iterable[dict]:
    """``num_iters`` batches; a batch that held only bad samples is replaced by the last one."""
    last = None
    done = 0
    for batch in data_loader:
        batch = _to_device(dict(batch), device)
        if 'imgs' in batch and len(batch['imgs']):
            last = batch
        elif last is None:
            raise RuntimeError('precise BN: the first batch held only bad samples')
        yield last
        done += 1
        if done >= num_iters:
            return
    raise ValueError(f'precise BN: the data loader stopped after {done} batches, before '
                     f'precise_bn.num_iters={num_iters}')


@torch.no_grad()
def update_bn_stats(model: nn.Module, data_loader: Iterable, num_iters: int = 200,
                    device: torch.device | None = None) -> None:
    """Set every training-mode batch norm's running stats to their average over batches.

    Args:
        model: the model (DDP-wrapped or not); called as ``model(**batch, return_loss=False)``
            in training mode, which it is left in.
        data_loader: training batches; at least ``num_iters`` of them.
        num_iters: how many batches to average over. Default: 200.
        device: where the batches go. Default: the model's device.
    """
    check_positive_int(None, 'precise_bn.num_iters', num_iters)
    if hasattr(data_loader, '__len__') and len(data_loader) < num_iters:
        raise ValueError(f'precise_bn.num_iters={num_iters} is more than the {len(data_loader)} '
                         f'batches of the training data loader')
    model.train()
    device = device or next(model.parameters()).device
    bn_layers = [m for m in unwrap_model(model).modules()
                 if m.training and isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bn_layers:
        logger.warning('precise BN: the model has no batch norm in training mode')
        return
    if any(isinstance(m, (nn.GroupNorm, nn.modules.instancenorm._InstanceNorm))
           for m in unwrap_model(model).modules() if m.training):
        logger.warning('precise BN: group / instance norms are updated as in training')
    momenta = [bn.momentum for bn in bn_layers]
    for bn in bn_layers:
        bn.momentum = 1.0  # running stats = this batch's stats
    means = [torch.zeros_like(bn.running_mean) for bn in bn_layers]
    variances = [torch.zeros_like(bn.running_var) for bn in bn_layers]
    try:
        for index, batch in enumerate(_batches(data_loader, num_iters, device)):
            model(**batch, return_loss=False)
            for mean, var, bn in zip(means, variances, bn_layers):
                mean += (bn.running_mean - mean) / (index + 1)
                var += (bn.running_var - var) / (index + 1)
    finally:
        for bn, momentum in zip(bn_layers, momenta):
            bn.momentum = momentum
    world_size = comm.get_world_size()
    for mean, var, bn in zip(means, variances, bn_layers):
        if world_size > 1:
            stacked = torch.stack([mean, var])
            dist.all_reduce(stacked)
            mean, var = stacked / world_size
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
    logger.info('precise BN: the statistics of %d batch norms were recomputed over %d batches',
                len(bn_layers), num_iters)


@HOOKS.register_module()
class PreciseBNHook(HookBase):
    """Run :func:`update_bn_stats` after every ``interval`` training epochs.

    Registered with the highest priority, so checkpoints and evaluation see the new stats.

    Args:
        dataloader (DataLoader): training batches (MMAction2 builds a second loader of
            ``data.train`` with one worker).
        num_iters (int): batches to average over. Default: 200.
        interval (int): every this many epochs. Default: 1.
    """

    priority = 0  # HIGHEST

    def __init__(self, dataloader: DataLoader, num_iters: int = 200, interval: int = 1) -> None:
        if not isinstance(dataloader, DataLoader):
            raise TypeError(f'dataloader must be a torch DataLoader, got {type(dataloader)}')
        for name, value in (('num_iters', num_iters), ('interval', interval)):
            check_positive_int(None, f'precise_bn.{name}', value)
        if len(dataloader) < num_iters:
            raise ValueError(f'precise_bn.num_iters={num_iters} is more than the '
                             f'{len(dataloader)} batches of the training data loader')
        self.dataloader, self.num_iters, self.interval = dataloader, num_iters, interval

    def after_epoch(self, trainer: Trainer) -> None:
        if self.every_n_epochs(trainer, self.interval):
            logger.info('running precise BN for %d iterations', self.num_iters)
            update_bn_stats(trainer.model, self.dataloader, self.num_iters, trainer.device)
