"""``ActionDataSample``: the per-sample record of MMAction2 1.x's model API.

MMAction2 1.x passes one such object per sample beside the batched inputs
(``model(inputs, data_samples, mode='loss')``) and returns them filled with ``pred_score`` /
``pred_label`` from ``mode='predict'`` and from ``inference_recognizer``. This is a small plain
class with the fields 1.x users read, not mmengine's general data element.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ['ActionDataSample', 'format_label', 'format_score']


def format_label(value: Any) -> torch.Tensor:
    """A label as a tensor: an int or a 0-d array becomes ``LongTensor[1]``, a sequence or an
    array a ``LongTensor``; a tensor (a soft label too) is kept as it is."""
    if isinstance(value, np.integer) or (isinstance(value, (torch.Tensor, np.ndarray))
                                         and value.ndim == 0):
        value = int(value.item())
    if isinstance(value, bool):
        raise TypeError(f'a label must be an int, a sequence, an array or a tensor, got {value!r}')
    if isinstance(value, int):
        return torch.tensor([value], dtype=torch.long)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).long()
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return torch.tensor(value).long()
    raise TypeError(f'a label must be an int, a sequence, an array or a tensor, '
                    f'got {type(value).__name__}')


def format_score(value: Any) -> torch.Tensor:
    """Scores as a float tensor (from a tensor, an array or a sequence)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).float()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return torch.tensor(value).float()
    raise TypeError(f'scores must be a tensor, an array or a sequence, got {type(value).__name__}')


class ActionDataSample:
    """One sample's annotation and prediction, with MMAction2 1.x's field names.

    Fields are plain attributes (``gt_label``, ``pred_score``, ``pred_label``, and whatever
    else is given); ``metainfo`` holds the rest of 1.x's meta fields (``num_classes`` is set
    by :meth:`set_pred_score`).

    Example:
        >>> sample = ActionDataSample().set_gt_label(3)
        >>> sample.gt_label
        tensor([3])
        >>> sample.set_pred_score(torch.tensor([0.1, 0.9])).metainfo['num_classes']
        2
    """

    def __init__(self, metainfo: dict | None = None, **fields: Any) -> None:
        self.metainfo: dict[str, Any] = dict(metainfo or {})
        for name, value in fields.items():
            setattr(self, name, value)

    def set_gt_label(self, value: Any) -> ActionDataSample:
        """Set ``gt_label`` (see :func:`format_label`); returns the sample."""
        self.gt_label = format_label(value)
        return self

    def set_pred_label(self, value: Any) -> ActionDataSample:
        """Set ``pred_label`` (see :func:`format_label`); returns the sample."""
        self.pred_label = format_label(value)
        return self

    def set_pred_score(self, value: Any) -> ActionDataSample:
        """Set ``pred_score`` ``[num_classes]``; its length must match an earlier
        ``num_classes``. Returns the sample."""
        score = format_score(value)
        known = self.metainfo.get('num_classes')
        if known is not None and len(score) != known:
            raise ValueError(f'ActionDataSample: pred_score has {len(score)} entries but '
                             f'num_classes is {known}')
        self.metainfo['num_classes'] = len(score)
        self.pred_score = score
        return self

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__ or name in self.metainfo

    def get(self, name: str, default: Any = None) -> Any:
        """A field or meta field by name, ``default`` when absent."""
        if name in self.__dict__ and name != 'metainfo':
            return self.__dict__[name]
        return self.metainfo.get(name, default)

    def __repr__(self) -> str:
        fields = ', '.join(f'{k}={v!r}' for k, v in self.__dict__.items() if k != 'metainfo')
        return f'ActionDataSample(metainfo={self.metainfo!r}, {fields})'
