"""Base classes of the localizers, with MMAction2 0.x's calling contract.

* ``BaseTAPGenerator`` — temporal action proposal generators working on feature sequences
  (BMN, BSN's TEM and PEM): ``forward(raw_feature, gt_bbox=None, video_meta=None,
  return_loss=True)`` returns a dict of losses in training and a list of per-video results in
  testing.
* ``BaseTAGClassifier`` — proposal classifiers with a backbone and a head (SSN):
  ``forward(*args, return_loss=True, **kwargs)`` dispatches to ``forward_train`` /
  ``forward_test``.

Both provide ``train_step`` / ``val_step`` returning ``dict(loss, log_vars, num_samples)`` /
``dict(results=...)`` like the recognizers, with the same loss-summing rule
(:func:`actionkit.models.recognizers.base.parse_losses`).
"""
from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..builder import BACKBONES, HEADS
from ..recognizers.base import parse_losses

__all__ = ['BaseTAPGenerator', 'BaseTAGClassifier', 'BaseLocalizer', 'meta_list']

logger = logging.getLogger(__name__)

# batch entries the data loader may add that are not arguments of the model
_BATCH_EXTRAS = ('bad_samples', 'img_metas')


def meta_list(video_meta: Any) -> list[dict[str, Any]]:
    """The per-video meta dicts of a batch, whichever way the loader collated them.

    Accepts a list of dicts (MMAction2 0.x's ``DataContainer`` collation), one dict of
    per-key lists (PyTorch's default collation) or a single dict (one video).
    """
    if video_meta is None:
        return []
    if isinstance(video_meta, Mapping):
        columns = {key: value.tolist() if isinstance(value, (torch.Tensor, np.ndarray)) else value
                   for key, value in video_meta.items()}
        if columns and all(isinstance(v, (list, tuple)) for v in columns.values()):
            lengths = {len(v) for v in columns.values()}
            if len(lengths) == 1:
                return [{key: columns[key][i] for key in columns} for i in range(lengths.pop())]
        return [dict(video_meta)]
    if isinstance(video_meta, Sequence) and not isinstance(video_meta, str):
        return [dict(meta) for meta in video_meta]
    raise TypeError('video_meta must be a dict or a list of dicts, got '
                    f'{type(video_meta).__name__}')


def _batch_size(data_batch: Mapping[str, Any]) -> int:
    for key, value in data_batch.items():
        if key in _BATCH_EXTRAS:
            continue
        if isinstance(value, torch.Tensor):
            return int(value.shape[0]) if value.dim() else 1
        if isinstance(value, Sequence):
            return len(value)
    return 1


class _StepMixin:
    """``train_step`` / ``val_step`` shared by both base classes."""

    def train_step(self, data_batch: Mapping[str, Any], optimizer: Any = None,
                   **kwargs: Any) -> dict[str, Any]:
        """One training forward: ``dict(loss=Tensor, log_vars=OrderedDict, num_samples=N)``."""
        batch = {k: v for k, v in data_batch.items() if k not in _BATCH_EXTRAS}
        losses = self(**batch, return_loss=True)  # type: ignore[operator]
        loss, log_vars = parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=_batch_size(batch))

    def val_step(self, data_batch: Mapping[str, Any], optimizer: Any = None,
                 **kwargs: Any) -> dict[str, Any]:
        """One test-mode forward: ``dict(results=...)``."""
        batch = {k: v for k, v in data_batch.items() if k not in _BATCH_EXTRAS}
        return dict(results=self(**batch, return_loss=False))  # type: ignore[operator]

    @staticmethod
    def _parse_losses(losses: Mapping[str, Any]) -> tuple:
        """MMAction2 0.x name of :func:`parse_losses`."""
        return parse_losses(losses)


class BaseTAPGenerator(_StepMixin, nn.Module, metaclass=ABCMeta):
    """Base class of temporal action proposal generators (BMN, TEM, PEM).

    Subclasses implement ``forward_train``, ``forward_test`` and ``forward``.
    """

    @abstractmethod
    def forward_train(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """The training computation: a dict of losses."""

    @abstractmethod
    def forward_test(self, *args: Any, **kwargs: Any) -> list:
        """The test computation: a list with one result per video."""

    @abstractmethod
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Dispatch on ``return_loss``."""


class BaseTAGClassifier(_StepMixin, nn.Module, metaclass=ABCMeta):
    """Base class of temporal action proposal classifiers: a backbone and a head (SSN).

    Args:
        backbone (dict | nn.Module): backbone config (``BACKBONES``) or module.
        cls_head (dict | nn.Module): head config (``HEADS``) or module.
        train_cfg (dict | None): training options. Default: None.
        test_cfg (dict | None): testing options. Default: None.
    """

    def __init__(self, backbone: Mapping[str, Any] | nn.Module,
                 cls_head: Mapping[str, Any] | nn.Module, train_cfg: Any = None,
                 test_cfg: Any = None) -> None:
        super().__init__()
        self.backbone = BACKBONES.build(backbone)
        self.cls_head = HEADS.build(cls_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise the backbone and the head (each by its own ``init_weights``)."""
        for module in (self.backbone, self.cls_head):
            if hasattr(module, 'init_weights'):
                module.init_weights()

    def extract_feat(self, imgs: torch.Tensor) -> torch.Tensor:
        """Backbone features of ``imgs``."""
        return self.backbone(imgs)

    @abstractmethod
    def forward_train(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """The training computation: a dict of losses."""

    @abstractmethod
    def forward_test(self, *args: Any, **kwargs: Any) -> list:
        """The test computation: a list with one result per video."""

    def forward(self, *args: Any, return_loss: bool = True, **kwargs: Any) -> Any:
        """``forward_train`` when ``return_loss`` else ``forward_test``."""
        if return_loss:
            return self.forward_train(*args, **kwargs)
        return self.forward_test(*args, **kwargs)


class BaseLocalizer(BaseTAGClassifier):
    """Deprecated MMAction2 0.x name; use ``BaseTAPGenerator`` or ``BaseTAGClassifier``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        logger.warning('BaseLocalizer is deprecated; subclass BaseTAPGenerator (proposal '
                       'generators) or BaseTAGClassifier (proposal classifiers) instead')
        super().__init__(*args, **kwargs)
