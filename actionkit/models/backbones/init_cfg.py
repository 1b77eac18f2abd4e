"""MMAction2 1.x's ``init_cfg`` argument and 2D-checkpoint inflation, for the 1.x-only
backbones (MViT, UniFormer, UniFormerV2).

1.x configs write ``init_cfg=dict(type='Pretrained', checkpoint=URL, prefix='backbone.')`` to
start a backbone from a checkpoint; the other ``init_cfg`` kinds (``TruncNormal``, ``Constant``,
...) restate the initialisation that each backbone's ``init_weights`` already performs.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from ..weights import load_backbone_checkpoint, load_state_dict
from .weights3d import read_state_dict

__all__ = ['load_inflated', 'load_init_cfg_checkpoint', 'pretrained_init_cfg']

logger = logging.getLogger(__name__)

_INIT_TYPES = ('Pretrained', 'TruncNormal', 'Constant', 'Normal', 'Kaiming', 'Xavier',
               'Uniform')


def pretrained_init_cfg(owner: str, init_cfg: Any) -> dict[str, Any] | None:
    """The ``Pretrained`` entry of ``init_cfg`` (a dict, a list of dicts or None), checked.

    Raises:
        TypeError: ``init_cfg`` is not a dict, a list of dicts or None, or an entry has no
            ``type``.
        ValueError: an unknown ``type``, or a ``Pretrained`` entry without ``checkpoint``.
    """
    if init_cfg is None:
        return None
    entries = [init_cfg] if isinstance(init_cfg, Mapping) else init_cfg
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise TypeError(f'{owner}: init_cfg must be a dict, a list of dicts or None, '
                        f'got {init_cfg!r}')
    found = None
    for entry in entries:
        if not isinstance(entry, Mapping) or 'type' not in entry:
            raise TypeError(f'{owner}: each init_cfg entry must be a dict with a "type" key, '
                            f'got {entry!r}')
        if entry['type'] not in _INIT_TYPES:
            raise ValueError(f'{owner}: unknown init_cfg type {entry["type"]!r}; expected one '
                             f'of {_INIT_TYPES}')
        if entry['type'] == 'Pretrained':
            if not isinstance(entry.get('checkpoint'), str):
                raise ValueError(f'{owner}: init_cfg type Pretrained needs a "checkpoint" path '
                                 f'or URL, got {entry!r}')
            found = dict(entry)
    return found


def load_init_cfg_checkpoint(module: nn.Module, entry: Mapping[str, Any]) -> None:
    """Load a ``Pretrained`` ``init_cfg`` entry into ``module`` (non-strict, logged).

    The ``backbone.`` entries of a whole recognizer's checkpoint are taken when it has any
    (1.x configs say so with ``prefix='backbone.'``), DDP's ``module.`` is stripped.
    """
    prefix = entry.get('prefix')
    if prefix not in (None, 'backbone.'):
        raise ValueError(f'{type(module).__name__}: init_cfg prefix must be "backbone." or '
                         f'absent, got {prefix!r}')
    logger.info('%s: loading %s', type(module).__name__, entry['checkpoint'])
    load_backbone_checkpoint(module, entry['checkpoint'])


def load_inflated(module: nn.Module, path: str) -> None:
    """Load a 2D (image) checkpoint into a 3D ``module`` as MMAction2 1.x's UniFormer and
    UniFormerV2 do: a kernel of another shape is inflated along time with the 2D kernel at the
    centre and zeros elsewhere; a 1- or 2-D tensor of another shape is left out (logged)."""
    name = type(module).__name__
    state_dict = read_state_dict(path)
    own = module.state_dict()
    for key in [k for k in state_dict if k in own and state_dict[k].shape != own[k].shape]:
        weight, target = state_dict[key], own[key]
        if target.dim() <= 2:
            logger.info('%s: %s of shape %s left out (the model has %s)', name, key,
                        tuple(weight.shape), tuple(target.shape))
            del state_dict[key]
            continue
        if weight.dim() == 5 and weight.shape[2] == 1:
            weight = weight[:, :, 0]
        inflated = weight.new_zeros(target.shape)
        inflated[:, :, target.shape[2] // 2] = weight
        state_dict[key] = inflated
        logger.info('%s: %s inflated from %s to %s', name, key, tuple(weight.shape),
                    tuple(target.shape))
    load_state_dict(module, state_dict, strict=False, source=path)
