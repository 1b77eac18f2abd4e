"""Run a model over a test data loader and return one result per sample, in dataset order."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..utils.progress import ProgressBar

__all__ = ['single_gpu_test', 'multi_gpu_test']


def _batch_size(data: dict) -> int:
    value = data.get('imgs')
    if value is None:
        value = next(iter(data.values()))
    return len(value)


def _run(model: nn.Module, data_loader: DataLoader, show: bool, scale: int) -> list[Any]:
    model.eval()
    results: list[Any] = []
    progress = ProgressBar(len(data_loader.dataset), desc='test ', enabled=show)
    device = next(model.parameters()).device if any(True for _ in model.parameters()) else None
    with torch.inference_mode():
        for data in data_loader:
            data.pop('bad_samples', None)
            if device is not None:
                data = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                        for k, v in data.items()}
            output = model(return_loss=False, **data)
            results.extend(output)
            progress.update(_batch_size(data) * scale)
    return results


def single_gpu_test(model: nn.Module, data_loader: DataLoader, show: bool = True) -> list[Any]:
    """Score every sample of ``data_loader`` with ``model`` in this process.

    Returns:
        One entry per sample (for recognizers, a ``[num_classes]`` score array).
    """
    return _run(model, data_loader, show, scale=1)


def multi_gpu_test(model: nn.Module, data_loader: DataLoader, tmpdir: str | None = None,
                   gpu_collect: bool = False, show: bool = True) -> list[Any] | None:
    """Score a distributed data loader's share on every rank and gather the results on rank 0.

    Args:
        tmpdir: with ``gpu_collect=False``, a directory on a disk every rank shares, where each
            rank writes its part (a temporary one is made when ``None``).
        gpu_collect: gather with ``all_gather`` over the process group instead of files.

    Returns:
        On rank 0, the results in dataset order with the sampler's padding removed; ``None``
        on the other ranks.
    """
    from ..engine.dist import collect_results_cpu, collect_results_gpu, get_dist_info

    rank, world_size = get_dist_info()
    part = _run(model, data_loader, show and rank == 0, scale=world_size)
    size = len(data_loader.dataset)
    if gpu_collect:
        return collect_results_gpu(part, size)
    return collect_results_cpu(part, size, tmpdir)
