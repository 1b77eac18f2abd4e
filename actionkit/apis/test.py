"""Run a model over a test data loader and return one result per sample, in dataset order.

MMAction2 0.x's entry points; both are thin calls into :func:`actionkit.engine.evaluate.predict`,
the one evaluation loop that training's validation uses too.
"""
from __future__ import annotations

from typing import Any

from torch import nn
from torch.utils.data import DataLoader

from ..engine.evaluate import predict

__all__ = ['single_gpu_test', 'multi_gpu_test']


def single_gpu_test(model: nn.Module, data_loader: DataLoader, show: bool = True) -> list[Any]:
    """Score every sample of ``data_loader`` with ``model`` in this process.

    Returns:
        One entry per sample (for recognizers, a ``[num_classes]`` score array).
    """
    return predict(model, data_loader, show_progress=show)


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
    return predict(model, data_loader, tmpdir=tmpdir, gpu_collect=gpu_collect,
                   show_progress=show)
