"""MMAction2 1.x's recognizer interface, on top of the 0.x one.

1.x calls a recognizer as ``model(inputs, data_samples=None, mode='tensor'|'predict'|'loss')``
and configures it with ``data_preprocessor`` and a head ``average_clips``. These helpers turn
that vocabulary into the 0.x calls the recognizers implement: ``mode='loss'`` is
``forward_train`` with the samples' ``gt_label`` stacked, ``mode='predict'`` the averaged test
scores written into :class:`ActionDataSample` objects, ``mode='tensor'`` the features of a
stage (``stage='backbone'`` by default, ``'neck'``, or ``'head'``: the scores per view).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..data_preprocessor import ActionDataPreprocessor
from ..data_sample import ActionDataSample

__all__ = ['MODES', 'STAGES', 'build_data_preprocessor', 'is_v1_call', 'labels_from_samples',
           'split_head_average_clips', 'write_predictions']

MODES = ('tensor', 'predict', 'loss')
STAGES = ('backbone', 'neck', 'head')


def build_data_preprocessor(cfg: Mapping[str, Any] | nn.Module | None,
                            owner: str) -> ActionDataPreprocessor | nn.Module:
    """The recognizer's ``data_preprocessor`` from its config (None: stacking and float
    conversion only, as 1.x's default)."""
    if cfg is None:
        return ActionDataPreprocessor()
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping):
        raise TypeError(f'{owner}: data_preprocessor must be a dict or a module, '
                        f'got {type(cfg).__name__}')
    args = dict(cfg)
    kind = args.pop('type', 'ActionDataPreprocessor')
    if kind not in ('ActionDataPreprocessor', ActionDataPreprocessor):
        raise ValueError(f"{owner}: data_preprocessor type must be 'ActionDataPreprocessor' "
                         f'(MMAction2 1.x), got {kind!r}')
    return ActionDataPreprocessor(**args)


def split_head_average_clips(cls_head: Any) -> tuple[Any, Any]:
    """``(head config without average_clips, average_clips or the string 'unset')``.

    1.x sets ``average_clips`` in the head; 0.x in ``test_cfg``. The head is built without
    it and the recognizer keeps it.
    """
    if isinstance(cls_head, Mapping) and 'average_clips' in cls_head:
        head = dict(cls_head)
        return head, head.pop('average_clips')
    return cls_head, 'unset'


def is_v1_call(label: Any, return_loss: Any, mode: Any, data_samples: Any) -> bool:
    """Whether a ``forward`` call uses 1.x's arguments (``mode``, or ``data_samples`` /
    ``mode`` given by position)."""
    return (mode is not None or data_samples is not None or isinstance(return_loss, str)
            or (isinstance(label, Sequence) and not isinstance(label, torch.Tensor)))


def labels_from_samples(data_samples: Sequence[Any] | None, owner: str) -> torch.Tensor:
    """The samples' ``gt_label`` stacked: ``[N, 1]`` class indices or ``[N, num_classes]``."""
    if not data_samples:
        raise ValueError(f"{owner}: mode='loss' needs data_samples with gt_label")
    labels = []
    for i, sample in enumerate(data_samples):
        label = getattr(sample, 'gt_label', None)
        if label is None:
            raise ValueError(f"{owner}: mode='loss': data_samples[{i}] has no gt_label")
        labels.append(torch.as_tensor(label).reshape(-1))
    return torch.stack(labels)


def write_predictions(scores: torch.Tensor, data_samples: Sequence[Any] | None
                      ) -> list[Any]:
    """Per-sample ``pred_score`` ``[num_classes]`` and ``pred_label`` ``[1]`` (the argmax)
    set on ``data_samples`` (new :class:`ActionDataSample` objects when None)."""
    if data_samples is None:
        data_samples = [ActionDataSample() for _ in range(scores.shape[0])]
    if len(data_samples) != scores.shape[0]:
        raise ValueError(f'{len(data_samples)} data_samples for a batch of {scores.shape[0]}')
    scores = scores.detach()
    for sample, score in zip(data_samples, scores):
        sample.set_pred_score(score)
        sample.set_pred_label(score.argmax(dim=-1, keepdim=True))
    return list(data_samples)
