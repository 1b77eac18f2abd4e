"""Module hooks named by a config's top-level ``module_hooks`` list (MMAction2 0.x).

Each entry names a hook type of :data:`MODULE_HOOKS`, the child of the model it hooks
(``hooked_module``, default ``'backbone'``) and where (``hook_pos``: ``'forward_pre'``, the
default, ``'forward'`` or ``'backward'``); the other keys are the hook's arguments::

    module_hooks = [dict(type='GPUNormalize', hooked_module='backbone',
                         hook_pos='forward_pre', input_format='NCHW',
                         mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])]

``tools/train.py``, ``tools/test.py`` and the clip feature extraction call
:func:`register_module_hooks` right after building the model, as MMAction2's tools do.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..registry import Registry

__all__ = ['MODULE_HOOKS', 'GPUNormalize', 'register_module_hooks']

MODULE_HOOKS = Registry('module_hooks')

HOOK_POSITIONS = ('forward_pre', 'forward', 'backward')
# where the channel axis is, per input format (the pipeline's FormatShape names)
_CHANNEL_AXIS = {'NCTHW': (1, 5), 'NCHW': (1, 4), 'NCHW_Flow': (1, 4), 'NPTCHW': (3, 6)}


@MODULE_HOOKS.register_module()
class GPUNormalize:
    """Normalise uint8 clips on the model's device: ``(x - mean) / std`` per channel.

    Used as a forward pre-hook of the backbone so that the data pipeline can stay in uint8
    (no ``Normalize`` step) and the division runs on the GPU.

    Args:
        input_format (str): the layout of the hooked module's input: ``'NCTHW'``,
            ``'NCHW'``, ``'NCHW_Flow'`` or ``'NPTCHW'``.
        mean (Sequence[float]): per-channel means.
        std (Sequence[float]): per-channel standard deviations.
    """

    def __init__(self, input_format: str, mean: Sequence[float], std: Sequence[float]) -> None:
        if input_format not in _CHANNEL_AXIS:
            raise ValueError(f'GPUNormalize: input_format must be one of {list(_CHANNEL_AXIS)}, '
                             f'got {input_format!r}')
        if len(mean) != len(std):
            raise ValueError(f'GPUNormalize: mean and std need one value per channel, got '
                             f'{len(mean)} and {len(std)}')
        self.input_format = input_format
        axis, ndim = _CHANNEL_AXIS[input_format]
        shape = [1] * ndim
        shape[axis] = len(mean)
        self._mean = torch.tensor(mean, dtype=torch.float32).view(shape)
        self._std = torch.tensor(std, dtype=torch.float32).view(shape)

    def hook_func(self) -> Callable[[nn.Module, tuple], tuple]:
        """The forward pre-hook: it replaces the first input by its normalised float copy."""

        def normalize_hook(module: nn.Module, inputs: tuple) -> tuple:
            x = inputs[0]
            if x.dtype != torch.uint8:
                raise TypeError(f'GPUNormalize expects uint8 input (leave Normalize out of the '
                                f'pipeline), got {x.dtype}')
            mean, std = self._mean.to(x.device), self._std.to(x.device)
            with torch.no_grad():
                x = (x.float() - mean) / std
            return (x, *inputs[1:])

        return normalize_hook


def register_module_hooks(model: nn.Module,
                          module_hooks: Sequence[Mapping[str, Any]]) -> list[RemovableHandle]:
    """Register the hooks a config's ``module_hooks`` list describes on ``model``.

    Returns:
        The handles (``handle.remove()`` takes a hook off again).
    """
    handles = []
    for index, hook_cfg in enumerate(module_hooks):
        hook_cfg = dict(hook_cfg)
        name = hook_cfg.pop('hooked_module', 'backbone')
        position = hook_cfg.pop('hook_pos', 'forward_pre')
        target = getattr(model, name, None)
        if not isinstance(target, nn.Module):
            raise ValueError(f'module_hooks[{index}]: {type(model).__name__} has no module '
                             f'{name!r} (hooked_module)')
        if position not in HOOK_POSITIONS:
            raise ValueError(f'module_hooks[{index}]: hook_pos must be one of {HOOK_POSITIONS}, '
                             f'got {position!r}')
        hook = MODULE_HOOKS.build(hook_cfg).hook_func()
        if position == 'forward_pre':
            handles.append(target.register_forward_pre_hook(hook))
        elif position == 'forward':
            handles.append(target.register_forward_hook(hook))
        else:
            handles.append(target.register_full_backward_hook(hook))
    return handles
