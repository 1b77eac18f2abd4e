"""The test loop: score every sample of a data loader, gathering the ranks' results in order.

:func:`predict` is what ``single_gpu_test`` / ``multi_gpu_test`` (:mod:`actionkit.apis.test`),
the evaluation hook and ``tools/test.py`` run.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader

from ..utils.progress import ProgressBar
from . import dist as comm

__all__ = ['predict']


@torch.no_grad()
def predict(model: torch.nn.Module, data_loader: DataLoader, device: torch.device | None = None,
            tmpdir: str | None = None, gpu_collect: bool = False,
            show_progress: bool = False) -> list[Any] | None:
    """Score every sample of ``data_loader`` with ``model(return_loss=False, **batch)``.

    In a distributed run each rank scores its share and rank 0 gets all results in dataset
    order (``tmpdir`` / ``gpu_collect`` as in :func:`~actionkit.engine.dist.collect_results_cpu`);
    the other ranks get ``None``. The model is left in eval mode. ``device`` defaults to the
    model's; ``show_progress`` draws a progress bar on rank 0.
    """
    model.eval()
    if device is None:
        device = next(model.parameters()).device
    world_size = comm.get_world_size()
    progress = ProgressBar(len(data_loader.dataset), desc='test ',
                           enabled=show_progress and comm.is_main_process())
    results: list[Any] = []
    done, total = 0, len(data_loader.dataset)
    for batch in data_loader:
        batch = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                 for k, v in batch.items() if k != 'bad_samples'}
        output = model(return_loss=False, **batch)
        results.extend(output)
        # every rank scores about as many; the sampler's padding of the last batches is no
        # sample of the dataset, so the bar stops at its size
        step = min(len(output) * world_size, total - done)
        progress.update(step)
        done += step
    if world_size > 1:
        size = len(data_loader.dataset)
        if gpu_collect:
            results = comm.collect_results_gpu(results, size)
        else:
            results = comm.collect_results_cpu(results, size, tmpdir)
    # a streaming dataset yields in its own order (ranks' and workers' blocks)
    restore = getattr(data_loader.dataset, 'restore_order', None)
    if results is not None and callable(restore):
        results = restore(results)
    return results
