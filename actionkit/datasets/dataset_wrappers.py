"""Dataset wrappers from config: ``RepeatDataset`` and ``ConcatDataset`` (MMAction2 0.x)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from ..utils.checks import check_positive_int
from .builder import DATASETS, build_dataset

__all__ = ['RepeatDataset', 'ConcatDataset']


def _build_child(cfg: Any, test_mode: bool) -> Dataset:
    """Build a wrapped dataset from its config (a copy gets ``test_mode``); pass objects on."""
    if isinstance(cfg, Mapping):
        return build_dataset({**cfg, 'test_mode': test_mode})
    if not hasattr(cfg, '__getitem__') or not hasattr(cfg, '__len__'):
        raise TypeError(f'expected a dataset config dict or a dataset, got {type(cfg).__name__}')
    return cfg


def _check_index(idx: Any, length: int, name: str) -> int:
    if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, (int, np.integer)):
        raise TypeError(f'{name} index must be an int, got {type(idx).__name__}')
    if not -length <= idx < length:
        raise IndexError(f'{name} index {idx} is out of range for length {length}')
    return int(idx) % length


@DATASETS.register_module()
class RepeatDataset(Dataset):
    """A dataset repeated ``times`` times, so one epoch covers it ``times`` times.

    Useful when a dataset is small and starting an epoch (workers, evaluation) is costly.

    Args:
        dataset (dict | Dataset): the config of the dataset to repeat (built with
            ``build_dataset`` and ``test_mode`` set), or a built dataset.
        times (int): how many times to repeat it.
        test_mode (bool): passed to the wrapped dataset's config.
    """

    def __init__(self, dataset: Mapping | Dataset, times: int, test_mode: bool = False) -> None:
        check_positive_int('RepeatDataset', 'times', times)
        self.dataset = _build_child(dataset, test_mode)
        self.times = times
        self.test_mode = test_mode
        self._ori_len = len(self.dataset)

    def __getitem__(self, idx: int) -> Any:
        return self.dataset[_check_index(idx, len(self), 'RepeatDataset') % self._ori_len]

    def __len__(self) -> int:
        return self.times * self._ori_len


@DATASETS.register_module()
class ConcatDataset(Dataset):
    """Several datasets one after the other, e.g. to train on several sources at once.

    Args:
        datasets (list[dict | Dataset]): configs of the datasets (built with
            ``build_dataset`` and ``test_mode`` set), or built datasets.
        test_mode (bool): passed to every wrapped dataset's config.
    """

    def __init__(self, datasets: Sequence[Mapping | Dataset], test_mode: bool = False) -> None:
        if isinstance(datasets, (Mapping, str)) or not isinstance(datasets, Sequence) \
                or not datasets:
            raise ValueError('ConcatDataset datasets must be a non-empty list of dataset '
                             f'configs, got {datasets!r}')
        self.datasets = [_build_child(cfg, test_mode) for cfg in datasets]
        self.test_mode = test_mode
        self.lens = [len(dataset) for dataset in self.datasets]
        self.cumsum = np.cumsum(self.lens)

    def __getitem__(self, idx: int) -> Any:
        idx = _check_index(idx, len(self), 'ConcatDataset')
        which = int(np.searchsorted(self.cumsum, idx, side='right'))
        start = int(self.cumsum[which - 1]) if which > 0 else 0
        return self.datasets[which][idx - start]

    def __len__(self) -> int:
        return int(sum(self.lens))
