"""Channels-last weights for the convolutions of a model.

cuDNN's tensor-core kernels (and oneDNN on CPUs) run fastest on ``NHWC`` / ``NDHWC`` data.
Storing each convolution's weight channels-last makes PyTorch pick those kernels: the first
convolution converts its input once and the activations stay channels-last from there on.
Values, parameter names and state-dict keys do not change, so checkpoints load either way.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ['to_channels_last']


def to_channels_last(model: nn.Module, conv3d: bool = True) -> nn.Module:
    """Store every ``Conv2d`` weight as ``channels_last`` (and ``Conv3d`` weights as
    ``channels_last_3d`` when ``conv3d``), in place.

    Call it before building the optimizer or wrapping the model in DDP: the parameters are
    replaced by re-strided copies.

    Returns:
        ``model``, for chaining.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.to(memory_format=torch.channels_last)
        elif conv3d and isinstance(module, nn.Conv3d):
            module.to(memory_format=torch.channels_last_3d)
    return model
