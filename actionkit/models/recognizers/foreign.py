"""Backbones from torchvision and timm, as MMAction2 0.x's recognizers take them
(``backbone=dict(type='torchvision.densenet161', pretrained=True)``,
``dict(type='timm.swin_base_patch4_window7_224', pretrained=True)``).

Neither package is a dependency of actionkit: a config that names one needs it installed
(``pip install torchvision`` matching your torch, or ``pip install timm``) and says so
otherwise. As everywhere in actionkit, nothing is downloaded:

* ``torchvision.<model>`` with ``pretrained=True`` loads the ImageNet weights torchvision would
  download from the torch hub cache (``$TORCH_HOME/hub/checkpoints/``), where torchvision itself
  keeps them; a missing file is an error naming it;
* ``timm.<model>`` with ``pretrained=True`` needs the weights file given as
  ``pretrained_cfg_overlay=dict(file='PATH')`` (timm's own option).

The model is built as MMAction2 does, so its checkpoints load with ``strict=True``: torchvision
models get ``classifier`` and ``fc`` replaced by ``nn.Identity()``; timm models are created
with ``num_classes=0``. :func:`foreign_features` computes the features as MMAction2 does:
torchvision's ``features`` (when the model has it) or the whole model, timm's
``forward_features`` and, on timm versions that have it, ``forward_head(pre_logits=True)``.

mmcls backbones (``mmcls.<model>``) need mmcv and are not supported.
"""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ['FOREIGN_PREFIXES', 'is_foreign', 'build_foreign_backbone', 'foreign_features']

FOREIGN_PREFIXES = ('torchvision.', 'timm.', 'mmcls.')


def is_foreign(backbone: Any) -> bool:
    """Whether a backbone config names a torchvision, timm or mmcls model."""
    kind = backbone.get('type') if isinstance(backbone, Mapping) else None
    return isinstance(kind, str) and kind.startswith(FOREIGN_PREFIXES)


def _import(package: str, kind: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError as err:
        hint = ('pip install torchvision (the release that matches your torch)'
                if package.startswith('torchvision') else 'pip install timm')
        raise ImportError(f'backbone type {kind!r} needs the {package.split(".")[0]} package, '
                          f'which is not installed: {hint}') from err


def build_foreign_backbone(cfg: Mapping[str, Any]) -> tuple[nn.Module, str]:
    """Build a ``torchvision.*`` or ``timm.*`` backbone config.

    Returns:
        ``(module, source)`` with ``source`` ``'torchvision'`` or ``'timm'``.

    Raises:
        ImportError: the package is not installed (the message says how to install it).
        ValueError: an unknown model name (with close matches), an mmcls backbone, or timm
            weights asked for without a local file.
        FileNotFoundError: torchvision weights not in the torch hub cache.
    """
    args = dict(cfg)
    kind = args.pop('type')
    source, name = kind.split('.', 1)
    if source == 'mmcls':
        raise ValueError(f'backbone type {kind!r}: mmcls backbones need mmcv, which actionkit '
                         'does without; use one of its own backbones (e.g. '
                         "type='ResNet', depth=50, pretrained='torchvision://resnet50')")
    if source == 'torchvision':
        return _torchvision_backbone(kind, name, args), 'torchvision'
    return _timm_backbone(kind, name, args), 'timm'


def _torchvision_backbone(kind: str, name: str, args: dict[str, Any]) -> nn.Module:
    models = _import('torchvision.models', kind)
    builder = getattr(models, name, None)
    if not callable(builder) or name.startswith('_') or name[:1].isupper():
        known = [n for n in getattr(models, 'list_models', lambda: [])()]
        close = difflib.get_close_matches(name, known, n=3)
        raise ValueError(f'backbone type {kind!r}: torchvision.models has no model {name!r}'
                         + (f"; did you mean {', '.join(repr(c) for c in close)}?" if close
                            else ''))
    pretrained = bool(args.pop('pretrained', False))
    weights = args.pop('weights', None)
    model = builder(weights=None, **args)
    if pretrained or weights is not None:
        _load_torchvision_weights(models, kind, name, weights, model)
    model.classifier = nn.Identity()  # as MMAction2: no classifier, whichever the model has
    model.fc = nn.Identity()
    return model


def _load_torchvision_weights(models: Any, kind: str, name: str, weights: Any,
                              model: nn.Module) -> None:
    """The ImageNet weights torchvision would download, from the torch hub cache (downloaded
    there by actionkit when missing, as torchvision would)."""
    from ..weights import read_checkpoint

    enum = models.get_model_weights(name)
    chosen = enum.DEFAULT if weights in (None, 'DEFAULT') else \
        (enum[weights] if isinstance(weights, str) else weights)
    state_dict = read_checkpoint(chosen.url, map_location='cpu')
    state_dict = state_dict.get('state_dict', state_dict)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise ValueError(f'backbone type {kind!r}: the weights {chosen.url} do not fit the '
                         f'model: {str(err).splitlines()[0]}') from err


def _timm_backbone(kind: str, name: str, args: dict[str, Any]) -> nn.Module:
    timm = _import('timm', kind)
    pretrained = bool(args.pop('pretrained', False))
    if pretrained and 'file' not in dict(args.get('pretrained_cfg_overlay') or {}):
        raise ValueError(f"backbone type {kind!r}: pretrained=True would make timm download "
                         "its weights itself, outside actionkit's checked downloads; download "
                         "the weights file yourself and pass it as "
                         "pretrained_cfg_overlay=dict(file='PATH')")
    args['num_classes'] = 0  # as MMAction2: no classifier
    try:
        return timm.create_model(name, pretrained=pretrained, **args)
    except RuntimeError as err:
        if 'Unknown model' not in str(err):
            raise
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        raise ValueError(f'backbone type {kind!r}: timm has no model {name!r}'
                         + (f"; did you mean {', '.join(repr(c) for c in close)}?" if close
                            else '')) from err


def foreign_features(backbone: nn.Module, source: str, imgs: torch.Tensor) -> torch.Tensor:
    """``[N, C, 1, 1]`` features of a torchvision / timm backbone, pooled as MMAction2 does."""
    if source == 'torchvision':
        x = backbone.features(imgs) if hasattr(backbone, 'features') else backbone(imgs)
    else:
        x = backbone.forward_features(imgs)
        if hasattr(backbone, 'forward_head'):  # timm >= 0.6: pools its own layout
            x = backbone.forward_head(x, pre_logits=True)
    if x.dim() == 4 and (x.shape[2] > 1 or x.shape[3] > 1):
        x = nn.functional.adaptive_avg_pool2d(x, 1)
    x = x.reshape(x.shape[0], -1)
    return x.reshape(x.shape + (1, 1))
