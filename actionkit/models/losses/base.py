"""The base class of the weighted classification / localization losses.

A loss in actionkit is an ``nn.Module`` built from a config dict such as
``dict(type='CrossEntropyLoss', loss_weight=1.0)``. Subclasses compute the plain loss in
``_forward``; :class:`BaseWeightedLoss` multiplies it by ``loss_weight`` (every entry whose
name contains ``'loss'`` when ``_forward`` returns a dict), as MMAction2 0.x does.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import torch
from torch import nn

__all__ = ['BaseWeightedLoss']


class BaseWeightedLoss(nn.Module, metaclass=ABCMeta):
    """A loss scaled by a constant factor.

    Args:
        loss_weight (float): factor the loss is multiplied by. Default: 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        if isinstance(loss_weight, bool) or not isinstance(loss_weight, (int, float)):
            raise TypeError(f'{type(self).__name__}: loss_weight must be a number, '
                            f'got {loss_weight!r}')
        self.loss_weight = float(loss_weight)

    @abstractmethod
    def _forward(self, *args: Any, **kwargs: Any) -> torch.Tensor | dict[str, torch.Tensor]:
        """Compute the unweighted loss (a tensor, or a dict of named tensors)."""

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor | dict[str, torch.Tensor]:
        """Compute the loss and scale it by ``loss_weight``.

        Returns:
            The weighted loss tensor; or, when ``_forward`` returns a dict, the same dict with
            every entry whose key contains ``'loss'`` scaled (other entries unchanged).
        """
        result = self._forward(*args, **kwargs)
        if isinstance(result, dict):
            return {key: value * self.loss_weight if 'loss' in key else value
                    for key, value in result.items()}
        return result * self.loss_weight
