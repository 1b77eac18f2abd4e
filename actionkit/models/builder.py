"""Model registries and the functions that build models from config dicts."""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from torch import nn

from ..registry import Registry

__all__ = [
    'BACKBONES', 'NECKS', 'HEADS', 'RECOGNIZERS', 'LOCALIZERS', 'LOSSES', 'BLENDINGS',
    'build_backbone',
    'build_neck', 'build_head', 'build_recognizer', 'build_localizer', 'build_loss', 'build_model',
    'turn_off_pretrained',
]

BACKBONES = Registry('backbone')
NECKS = Registry('neck')
HEADS = Registry('head')
RECOGNIZERS = Registry('recognizer')
LOCALIZERS = Registry('localizer')
LOSSES = Registry('loss')
BLENDINGS = Registry('blending')  # mini-batch mixing (mixup, cutmix) a recognizer applies

# MMAction2 1.x types built on packages actionkit does not ship
BACKBONES.refuse('MobileOneTSM', "MMAction2 1.x builds it on mmpretrain's MobileOne (pip "
                 "install mmpretrain, which needs mmcv); actionkit has no MobileOne: use "
                 "ResNetTSM or MobileNetV2TSM")


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


# MMAction2 0.x model types of tasks outside actionkit's scope
_OTHER_TASKS: dict[str, str] = {}


def build_model(cfg: Any, train_cfg: Mapping | None = None,
                test_cfg: Mapping | None = None) -> nn.Module:
    """Build a recognizer, a localizer or a detector, whichever registry knows ``cfg['type']``.

    ``train_cfg``/``test_cfg`` outside the model dict are the deprecated 0.x form; they are
    passed on only when the model dict does not set them itself.
    """
    if not isinstance(cfg, Mapping):
        return cfg
    model_type = cfg.get('type')
    if model_type in LOCALIZERS or model_type in LOCALIZERS.module_dict.values():
        return LOCALIZERS.build(cfg)
    from .detectors import DETECTORS  # spatio-temporal detection (FastRCNN)
    if model_type in DETECTORS or model_type in DETECTORS.module_dict.values():
        return DETECTORS.build(cfg)
    if isinstance(model_type, str) and model_type not in RECOGNIZERS:
        if model_type in _OTHER_TASKS:
            raise KeyError(f'model type {model_type!r} is MMAction2\'s {_OTHER_TASKS[model_type]}, '
                           f'which actionkit does not cover (it does action recognition and '
                           f'temporal action localization)')
        known = sorted(RECOGNIZERS.module_dict) + sorted(LOCALIZERS.module_dict) + sorted(
            DETECTORS.module_dict)
        raise KeyError(f'model type {model_type!r} is neither a registered recognizer nor a '
                       f'localizer nor a detector; registered: {known}')
    return build_recognizer(cfg, train_cfg, test_cfg)


def turn_off_pretrained(model_cfg: MutableMapping | list | tuple) -> None:
    """Set every ``pretrained`` key in a model config to ``None``, in place, and drop every
    MMAction2 1.x ``init_cfg=dict(type='Pretrained', ...)`` entry.

    Use it before building a model whose weights a checkpoint will replace anyway, so that no
    ImageNet/Kinetics weights are looked up or downloaded first. Dicts are searched at every
    depth, also inside lists and tuples (e.g. ``backbone.slow_pathway.pretrained``). Other
    keys, such as ``pretrained2d`` or ``torchvision_pretrain``, are left as they are.

    Args:
        model_cfg (dict | list | tuple): the model config (``cfg.model``), changed in place.

    Raises:
        TypeError: ``model_cfg`` is neither a dict nor a list/tuple (e.g. a whole ``Config``:
            pass ``cfg.model``).

    Example:
        >>> cfg = dict(backbone=dict(type='ResNet', pretrained='torchvision://resnet50'))
        >>> turn_off_pretrained(cfg)
        >>> cfg['backbone']['pretrained'] is None
        True
    """
    if not isinstance(model_cfg, (MutableMapping, list, tuple)):
        raise TypeError(f'turn_off_pretrained: model_cfg must be a dict, list or tuple (pass '
                        f'cfg.model, not the whole Config), got {type(model_cfg).__name__}')
    _clear_pretrained(model_cfg)


def _is_pretrained_init(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get('type') == 'Pretrained'


def _clear_pretrained(node: Any) -> None:
    if isinstance(node, MutableMapping):
        for key, value in node.items():
            if key != 'pretrained':
                _clear_pretrained(value)
        if 'pretrained' in node:
            node['pretrained'] = None
        init_cfg = node.get('init_cfg')
        if _is_pretrained_init(init_cfg):
            node['init_cfg'] = None
        elif isinstance(init_cfg, (list, tuple)):
            node['init_cfg'] = [e for e in init_cfg if not _is_pretrained_init(e)]
    elif isinstance(node, (list, tuple)):
        for item in node:
            _clear_pretrained(item)


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
