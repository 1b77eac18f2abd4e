"""``ActionDataPreprocessor``: MMAction2 1.x's batch step in front of a recognizer.

A 1.x config leaves normalisation to the model: ``model.data_preprocessor=dict(
type='ActionDataPreprocessor', mean=[...], std=[...], format_shape='NCHW')``. The step stacks
the samples' inputs into a batch, optionally reverses the channel order (``to_rgb``), turns
them into float32, subtracts ``mean`` and divides by ``std`` per channel, and in training
applies the batch blending (mixup / cutmix, ``RandomBatchAugment``; ``BLENDINGS``).

A recognizer built with one applies it inside the 0.x call ``model(imgs, label,
return_loss=...)`` that actionkit's engine makes; the 1.x calls (``model(inputs,
data_samples, mode=...)``) expect their inputs already processed, as in 1.x, where
``train_step`` / ``val_step`` / ``test_step`` run it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .builder import BLENDINGS

__all__ = ['ActionDataPreprocessor', 'stack_inputs']

_FORMAT_SHAPES = ('NCHW', 'NCTHW', 'MIX2d3d')


def stack_inputs(inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """A batch tensor from a tensor (returned as it is) or a list of same-shaped tensors."""
    if isinstance(inputs, torch.Tensor):
        return inputs
    if not isinstance(inputs, Sequence) or not inputs or not all(
            isinstance(x, torch.Tensor) for x in inputs):
        raise TypeError('ActionDataPreprocessor: inputs must be a tensor or a non-empty list of '
                        f'tensors, got {type(inputs).__name__}')
    shapes = {tuple(x.shape) for x in inputs}
    if len(shapes) != 1:
        raise ValueError(f'ActionDataPreprocessor: the samples of a batch have different shapes '
                         f'{sorted(shapes)}; give every sample the same number of views and the '
                         'same crop size')
    return torch.stack(list(inputs))


class ActionDataPreprocessor(nn.Module):
    """Stack, convert and normalise a batch of clips; blend it in training.

    Args:
        mean (sequence of float | None): per-channel mean (of images or stacked flow). Set
            with ``std``, or neither for no normalisation. Default: None.
        std (sequence of float | None): per-channel standard deviation. Default: None.
        to_rgb (bool): reverse the channel order (BGR <-> RGB). Default: False.
        to_float32 (bool): convert to float32 when not normalising (normalising always gives
            float32). Default: True.
        blending (dict | None): a ``BLENDINGS`` config applied to training batches
            (``MixupBlending``, ``CutmixBlending``, ``RandomBatchAugment``). Default: None.
        format_shape (str): the channel layout of a view: 'NCHW' (channels at dim -3),
            'NCTHW' (dim -4) or 'MIX2d3d' (decided per batch by its number of dims: 4
            (1.x's image batches) and 5 are NCHW, 6 is NCTHW). Default: 'NCHW'.
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 to_rgb: bool = False, to_float32: bool = True,
                 blending: Mapping[str, Any] | None = None,
                 format_shape: str = 'NCHW') -> None:
        super().__init__()
        if format_shape not in _FORMAT_SHAPES:
            raise ValueError(f'ActionDataPreprocessor: format_shape must be one of '
                             f'{_FORMAT_SHAPES}, got {format_shape!r}')
        if (mean is None) != (std is None):
            raise ValueError('ActionDataPreprocessor: give both mean and std (or neither, for '
                             f'no normalisation); got mean={mean!r}, std={std!r}')
        self.format_shape = format_shape
        self.to_rgb = bool(to_rgb)
        self.to_float32 = bool(to_float32)
        self._enable_normalize = mean is not None
        if mean is not None:
            if len(mean) != len(std) or not all(float(s) != 0 for s in std):
                raise ValueError('ActionDataPreprocessor: mean and std must have the same '
                                 f'length and std no zero; got mean={mean!r}, std={std!r}')
            # persistent=False: as in 1.x, the statistics are not checkpoint entries
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32), False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32), False)
        self.blending = None if blending is None else BLENDINGS.build(blending)

    def _channel_dim(self, batch: torch.Tensor) -> int:
        """The channel dimension (negative) of a batch ``[N, V, C, (T,) H, W]``."""
        if self.format_shape == 'MIX2d3d':
            return -3 if batch.dim() in (4, 5) else -4
        return -3 if self.format_shape == 'NCHW' else -4

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """Channel flip (``to_rgb``), float conversion and ``(x - mean) / std``."""
        dim = self._channel_dim(batch)
        if batch.dim() < -dim:
            raise ValueError(f'ActionDataPreprocessor ({self.format_shape}): the batch has '
                             f'shape {tuple(batch.shape)}, too few dims for channels at {dim}')
        if self.to_rgb:
            batch = batch.flip(dim)
        if self._enable_normalize:
            if batch.shape[dim] != self.mean.numel():
                raise ValueError(f'ActionDataPreprocessor: the batch has {batch.shape[dim]} '
                                 f'channels (dim {dim} of {tuple(batch.shape)}) but mean/std '
                                 f'have {self.mean.numel()}; check format_shape '
                                 f'({self.format_shape!r})')
            view = (-1,) + (1,) * (-dim - 1)
            return (batch.float() - self.mean.view(view)) / self.std.view(view)
        return batch.float() if self.to_float32 else batch

    def preprocess(self, inputs: torch.Tensor | Sequence[torch.Tensor],
                   labels: Any = None, training: bool = False) -> tuple[torch.Tensor, Any]:
        """Stack and normalise ``inputs``; blend them (and ``labels``) when ``training``.

        ``labels`` is a label tensor (the 0.x batch's ``label``: hard labels become one-hot
        soft labels) or a list of :class:`ActionDataSample` (their ``gt_label`` is replaced).
        """
        batch = self.normalize(stack_inputs(inputs))
        if training and self.blending is not None:
            if labels is None:
                raise ValueError('ActionDataPreprocessor: blending needs the labels')
            if isinstance(labels, torch.Tensor):
                batch, labels = self.blending(batch, labels)
            else:
                batch = self._blend_samples(batch, labels)
        return batch, labels

    def _blend_samples(self, batch: torch.Tensor, samples: Sequence[Any]) -> torch.Tensor:
        """Blend with the ``gt_label`` of 1.x data samples (hard ``[1]`` or soft)."""
        labels = torch.stack([s.gt_label for s in samples]).to(batch.device)
        if labels.dtype.is_floating_point:  # multi-label / soft targets
            batch, mixed = self.blending.do_blending(batch, labels)
        else:
            batch, mixed = self.blending(batch, labels.reshape(-1))
        for sample, label in zip(samples, mixed):
            sample.set_gt_label(label)
        return batch

    def forward(self, data: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        """1.x's call: ``{'inputs': ..., 'data_samples': ...}`` in, the same keys out."""
        if not isinstance(data, Mapping) or 'inputs' not in data:
            raise TypeError('ActionDataPreprocessor takes a dict with "inputs" (and '
                            f'"data_samples"), got {type(data).__name__}')
        inputs, samples = self.preprocess(data['inputs'], data.get('data_samples'), training)
        return {**data, 'inputs': inputs, 'data_samples': samples}
