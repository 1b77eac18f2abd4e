"""Checkpoint helpers the 3D backbones share (ResNet3d and its family, C3D, X3D, Swin,
TimeSformer): reading a state dict (through :mod:`actionkit.models.weights`, which downloads
named / URL checkpoints into the hub cache) and loading a 3D one with a clear error when it
holds 2D weights.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..weights import load_state_dict, read_checkpoint

__all__ = ['load_3d_state_dict', 'read_state_dict', 'strip_prefix']

logger = logging.getLogger(__name__)


def strip_prefix(sd: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """``sd`` with ``prefix`` removed from its keys; unchanged when no key has it."""
    if not any(k.startswith(prefix) for k in sd):
        return dict(sd)
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Read a state dict from a checkpoint (local path, ``torchvision://NAME`` or a URL, from the
    torch hub cache or downloaded there: see ``actionkit.models.weights.resolve_pretrained``).

    Unwraps ``{'state_dict': …}`` (MMAction2) and ``{'model': …}`` (Swin, DeiT) and removes a
    ``module.`` prefix left by DataParallel.
    """
    ckpt: Any = read_checkpoint(path, map_location='cpu')
    for key in ('state_dict', 'model'):
        if key in ckpt and isinstance(ckpt[key], Mapping):
            ckpt = ckpt[key]
            break
    return strip_prefix(ckpt, 'module.')


def load_3d_state_dict(module: nn.Module, path: str, strict: bool = False) -> None:
    """Load a checkpoint of this very architecture into ``module``.

    A full recognizer checkpoint works too: its ``backbone.`` keys are used. Missing,
    unexpected and mis-shaped keys are reported and skipped (``strict=False``), as by
    ``actionkit.models.weights.load_state_dict``.

    Raises:
        ValueError: the checkpoint holds 2D conv weights (4-D) where this model has 3D convs
            (5-D), or only 2D convs (e.g. torchvision's ResNet), i.e. a 2D checkpoint that
            needs ``pretrained2d=True``.
        RuntimeError: ``strict`` and the keys or shapes do not match.
    """
    sd = strip_prefix(read_state_dict(path), 'backbone.')
    own = module.state_dict()
    conv4 = [k for k, v in sd.items() if v.dim() == 4]
    flat = [k for k in conv4 if k in own and own[k].dim() == 5]
    only_2d = conv4 and not any(v.dim() == 5 for v in sd.values())
    if any(v.dim() == 5 for v in own.values()) and (flat or only_2d):
        key = (flat or conv4)[0]
        need = f', the 3D model needs {tuple(own[key].shape)}' if key in own else ''
        raise ValueError(
            f'{path} holds 2D conv weights ({key}: shape {tuple(sd[key].shape)}{need}) but '
            f'pretrained2d is False; set pretrained2d=True to inflate a 2D checkpoint into '
            f'{type(module).__name__}')
    load_state_dict(module, sd, strict=strict, logger=logger)
