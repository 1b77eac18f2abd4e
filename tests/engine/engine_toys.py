"""A tiny recognizer and an in-memory dataset for the engine tests (no real model or video).

Importing this module registers ``ToyRecognizer`` (RECOGNIZERS), ``ToyDataset`` (DATASETS)
and ``RecordingHook`` (HOOKS), so configs can name them (``custom_imports=['engine_toys']``).
"""
from __future__ import annotations

import pickle
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from actionkit.datasets.builder import DATASETS
from actionkit.datasets.errors import BadSample
from actionkit.engine.hooks import HOOKS, HookBase
from actionkit.models.builder import RECOGNIZERS

__all__ = ['ToyRecognizer', 'ToyDataset', 'RecordingHook']

IN_FEATURES = 12
NUM_CLASSES = 3


@RECOGNIZERS.register_module(force=True)
class ToyRecognizer(nn.Module):
    """Two linear layers, optionally with batch norm; 0.x's recognizer calling contract."""

    def __init__(self, in_features: int = IN_FEATURES, num_classes: int = NUM_CLASSES,
                 with_bn: bool = False, nan_after: int | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, 16)
        self.bn = nn.BatchNorm1d(16) if with_bn else nn.Identity()
        self.fc_cls = nn.Linear(16, num_classes)
        self.nan_after = nan_after
        self.calls = 0
        self.CLASSES = tuple(f'class_{i}' for i in range(num_classes))

    def scores(self, imgs: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(F.relu(self.bn(self.fc1(imgs.flatten(1).float()))))

    def forward(self, imgs: torch.Tensor, label: torch.Tensor | None = None,
                return_loss: bool = True, **kwargs: Any) -> Any:
        kwargs.pop('img_metas', None)
        scores = self.scores(imgs)
        if not return_loss:
            return scores.softmax(-1).float().detach().cpu().numpy()
        self.calls += 1
        labels = label.view(-1)
        loss = F.cross_entropy(scores.float(), labels)
        if self.nan_after is not None and self.calls > self.nan_after:
            loss = loss * float('nan')
        top1 = (scores.argmax(1) == labels).float().mean()
        return OrderedDict(loss_cls=loss, top1_acc=top1)


@DATASETS.register_module(force=True)
class ToyDataset(Dataset):
    """Separable Gaussian blobs with a random jitter drawn per sample.

    The jitter comes from torch's and numpy's global generators, like real pipelines'
    augmentations, so resuming must restore those generators to reproduce a run.
    """

    def __init__(self, num_samples: int = 24, in_features: int = IN_FEATURES,
                 num_classes: int = NUM_CLASSES, seed: int = 0, jitter: float = 0.05,
                 bad_indices: tuple = (), test_mode: bool = False, pipeline: Any = None) -> None:
        rng = np.random.default_rng(seed)
        self.labels = np.arange(num_samples) % num_classes
        centers = rng.standard_normal((num_classes, in_features)) * 2
        self.x = (centers[self.labels] + rng.standard_normal((num_samples, in_features)) * 0.5)
        self.x = self.x.astype(np.float32)
        self.jitter, self.bad_indices, self.test_mode = jitter, set(bad_indices), test_mode

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> Any:
        if index in self.bad_indices and not self.test_mode:
            return BadSample(index, f'toy/clip_{index}.mp4', 'unreadable file')
        x = torch.from_numpy(self.x[index].copy())
        if not self.test_mode and self.jitter:
            x = x + self.jitter * torch.randn(x.shape)
            x = x + self.jitter * torch.from_numpy(np.random.standard_normal(x.shape)).float()
        return {'imgs': x, 'label': torch.tensor([int(self.labels[index])])}

    def evaluate(self, results: list, metrics: Any = 'top_k_accuracy',
                 metric_options: Any = None, logger: Any = None, **kwargs: Any) -> OrderedDict:
        if len(results) != len(self):
            raise ValueError(f'evaluate got {len(results)} results for {len(self)} samples')
        scores = np.stack(results)
        top1 = float((scores.argmax(1) == self.labels).mean())
        return OrderedDict(top1_acc=top1, mean_class_accuracy=top1)

    @staticmethod
    def dump_results(results: Any, out: str) -> None:
        with open(out, 'wb') as f:
            pickle.dump(results, f)


@HOOKS.register_module(force=True)
class RecordingHook(HookBase):
    """Appends the names of the points it sees to ``self.calls`` (and to ``trainer.meta``)."""

    def __init__(self, tag: str = 'rec') -> None:
        self.tag = tag
        self.calls: list[str] = []

    def _note(self, trainer: Any, name: str) -> None:
        self.calls.append(name)

    def before_train(self, trainer: Any) -> None:
        self._note(trainer, 'before_train')

    def before_epoch(self, trainer: Any) -> None:
        self._note(trainer, 'before_epoch')

    def before_step(self, trainer: Any) -> None:
        self._note(trainer, 'before_step')

    def after_backward(self, trainer: Any) -> None:
        self._note(trainer, 'after_backward')

    def after_step(self, trainer: Any) -> None:
        self._note(trainer, 'after_step')

    def after_epoch(self, trainer: Any) -> None:
        self._note(trainer, 'after_epoch')

    def after_train(self, trainer: Any) -> None:
        self._note(trainer, 'after_train')

