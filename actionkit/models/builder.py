"""Model registries and the functions that build models from config dicts."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from ..registry import Registry

__all__ = [
    'BACKBONES', 'NECKS', 'HEADS', 'RECOGNIZERS', 'LOCALIZERS', 'LOSSES', 'build_backbone',
    'build_neck', 'build_head', 'build_recognizer', 'build_localizer', 'build_loss', 'build_model',
]

BACKBONES = Registry('backbone')
NECKS = Registry('neck')
HEADS = Registry('head')
RECOGNIZERS = Registry('recognizer')
LOCALIZERS = Registry('localizer')
LOSSES = Registry('loss')


def build_backbone(cfg: Any) -> nn.Module:
    return BACKBONES.build(cfg)


def build_neck(cfg: Any) -> nn.Module:
    return NECKS.build(cfg)


def build_head(cfg: Any) -> nn.Module:
    return HEADS.build(cfg)


def build_loss(cfg: Any) -> nn.Module:
    return LOSSES.build(cfg)


def build_recognizer(cfg: Any, train_cfg: Mapping | None = None,
                     test_cfg: Mapping | None = None) -> nn.Module:
    return RECOGNIZERS.build(cfg, **_runtime_cfgs(cfg, train_cfg, test_cfg))


def build_localizer(cfg: Any) -> nn.Module:
    return LOCALIZERS.build(cfg)


def build_model(cfg: Any, train_cfg: Mapping | None = None,
                test_cfg: Mapping | None = None) -> nn.Module:
    """Build a recognizer or a localizer, whichever registry knows ``cfg['type']``.

    ``train_cfg``/``test_cfg`` outside the model dict are the deprecated 0.x form; they are
    passed on only when the model dict does not set them itself.
    """
    if not isinstance(cfg, Mapping):
        return cfg
    model_type = cfg.get('type')
    if model_type in LOCALIZERS or model_type in LOCALIZERS.module_dict.values():
        return LOCALIZERS.build(cfg)
    if isinstance(model_type, str) and model_type not in RECOGNIZERS:
        known = sorted(RECOGNIZERS.module_dict) + sorted(LOCALIZERS.module_dict)
        raise KeyError(f'model type {model_type!r} is neither a registered recognizer nor a '
                       f'localizer; registered: {known}')
    return build_recognizer(cfg, train_cfg, test_cfg)


def _runtime_cfgs(cfg: Any, train_cfg: Mapping | None, test_cfg: Mapping | None) -> dict:
    extra: dict[str, Any] = {}
    if isinstance(cfg, Mapping):
        if train_cfg is not None and 'train_cfg' in cfg:
            raise ValueError('train_cfg is given both in the model config and outside it')
        if test_cfg is not None and 'test_cfg' in cfg:
            raise ValueError('test_cfg is given both in the model config and outside it')
    if train_cfg is not None:
        extra['train_cfg'] = train_cfg
    if test_cfg is not None:
        extra['test_cfg'] = test_cfg
    return extra
