"""Optimizers from config dicts, with per-parameter learning rates and weight decays.

``optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)`` builds
``torch.optim.SGD``; every ``torch.optim`` optimizer is registered in :data:`OPTIMIZERS` under
its class name, and users register their own with ``@OPTIMIZERS.register_module()``.

Two optional keys choose how parameters are grouped (mmcv's semantics):

- ``constructor``: a name in :data:`OPTIMIZER_BUILDERS`, default
  ``'DefaultOptimizerConstructor'``; ``'TSMOptimizerConstructor'`` is TSM's grouping.
- ``paramwise_cfg``: options of the constructor: ``bias_lr_mult``, ``bias_decay_mult``,
  ``norm_decay_mult``, ``dwconv_decay_mult``, ``bypass_duplicate``,
  ``custom_keys={'backbone': dict(lr_mult=0.1, decay_mult=1.0)}``; TSM: ``fc_lr5``.

:func:`scale_lr` applies the linear scaling rule (lr proportional to the total batch size).
"""
from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.instancenorm import _InstanceNorm

from ..models.weights import unwrap_model
from ..registry import Registry

__all__ = [
    'OPTIMIZERS', 'OPTIMIZER_BUILDERS', 'DefaultOptimizerConstructor', 'TSMOptimizerConstructor',
    'build_optimizer', 'build_optimizer_constructor', 'scale_lr',
]

logger = logging.getLogger(__name__)

OPTIMIZERS = Registry('optimizer')
OPTIMIZER_BUILDERS = Registry('optimizer builder')

for _name, _cls in inspect.getmembers(torch.optim, inspect.isclass):
    if issubclass(_cls, torch.optim.Optimizer) and _cls is not torch.optim.Optimizer:
        OPTIMIZERS.register_module(name=_name, module=_cls)

_PARAMWISE_KEYS = ('bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
                   'bypass_duplicate', 'dcn_offset_lr_mult', 'custom_keys')
_NORMS = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


@OPTIMIZER_BUILDERS.register_module()
class DefaultOptimizerConstructor:
    """Build an optimizer, grouping parameters by ``paramwise_cfg`` (mmcv's rules).

    Without ``paramwise_cfg`` all parameters share the optimizer's settings. Otherwise every
    parameter gets its own group: a parameter whose name contains a ``custom_keys`` key (the
    longest key wins) takes ``lr * lr_mult`` and ``weight_decay * decay_mult``; else biases
    (outside norm layers) take ``bias_lr_mult``, norm-layer parameters ``norm_decay_mult``,
    depth-wise ``Conv2d`` weights ``dwconv_decay_mult`` and other biases ``bias_decay_mult``.

    Args:
        optimizer_cfg (dict): ``dict(type=..., lr=..., ...)`` for :data:`OPTIMIZERS`.
        paramwise_cfg (dict | None): the grouping options above. Default: None.
    """

    def __init__(self, optimizer_cfg: Mapping[str, Any],
                 paramwise_cfg: Mapping[str, Any] | None = None) -> None:
        if not isinstance(optimizer_cfg, Mapping):
            raise TypeError(f'optimizer_cfg must be a dict, got {type(optimizer_cfg).__name__}')
        if paramwise_cfg is not None and not isinstance(paramwise_cfg, Mapping):
            raise TypeError(f'optimizer.paramwise_cfg must be a dict or None, got '
                            f'{type(paramwise_cfg).__name__}')
        self.optimizer_cfg = dict(optimizer_cfg)
        self.paramwise_cfg = dict(paramwise_cfg or {})
        self.base_lr = self.optimizer_cfg.get('lr')
        self.base_wd = self.optimizer_cfg.get('weight_decay')
        self._validate()

    paramwise_keys: tuple[str, ...] = _PARAMWISE_KEYS

    def _validate(self) -> None:
        unknown = sorted(set(self.paramwise_cfg) - set(self.paramwise_keys))
        if unknown:
            logger.warning('optimizer.paramwise_cfg: %s unknown to %s (known: %s); ignored',
                           unknown, type(self).__name__, ', '.join(self.paramwise_keys))
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        if not isinstance(custom_keys, Mapping):
            raise TypeError(f'optimizer.paramwise_cfg.custom_keys must be a dict, got '
                            f'{type(custom_keys).__name__}')
        for key, value in custom_keys.items():
            if not isinstance(value, Mapping) or set(value) - {'lr_mult', 'decay_mult'}:
                raise ValueError(f'optimizer.paramwise_cfg.custom_keys[{key!r}] must be a dict '
                                 f'with lr_mult and/or decay_mult, got {value!r}')
        if self.base_wd is None:
            for key in ('bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult'):
                if key in self.paramwise_cfg:
                    raise ValueError(f'optimizer.paramwise_cfg.{key} needs optimizer.weight_decay '
                                     f'to be set')

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        model = unwrap_model(model)
        optimizer_cfg = dict(self.optimizer_cfg)
        if not self.paramwise_cfg:
            optimizer_cfg['params'] = model.parameters()
        else:
            groups: list[dict[str, Any]] = []
            self.add_params(groups, model)
            optimizer_cfg['params'] = groups
        return OPTIMIZERS.build(optimizer_cfg)

    def add_params(self, params: list[dict[str, Any]], module: nn.Module,
                   prefix: str = '') -> None:
        """Append one group per parameter of ``module`` and its children to ``params``."""
        cfg = self.paramwise_cfg
        custom_keys = cfg.get('custom_keys', {})
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        is_norm = isinstance(module, _NORMS)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            group: dict[str, Any] = {'params': [param]}
            if not param.requires_grad:
                params.append(group)
                continue
            if cfg.get('bypass_duplicate', False) and any(
                    param is p for g in params for p in g['params']):
                logger.warning('%s.%s is shared with an earlier parameter group; skipped',
                               prefix, name)
                continue
            full_name = f'{prefix}.{name}'
            key = next((k for k in sorted_keys if k in full_name), None)
            if key is not None:
                group['lr'] = self.base_lr * custom_keys[key].get('lr_mult', 1.0)
                if self.base_wd is not None:
                    group['weight_decay'] = self.base_wd * custom_keys[key].get('decay_mult', 1.0)
            else:
                if name == 'bias' and not is_norm:
                    group['lr'] = self.base_lr * cfg.get('bias_lr_mult', 1.0)
                if self.base_wd is not None:
                    if is_norm:
                        group['weight_decay'] = self.base_wd * cfg.get('norm_decay_mult', 1.0)
                    elif is_dwconv:
                        group['weight_decay'] = self.base_wd * cfg.get('dwconv_decay_mult', 1.0)
                    elif name == 'bias':
                        group['weight_decay'] = self.base_wd * cfg.get('bias_decay_mult', 1.0)
            params.append(group)
        for child_name, child in module.named_children():
            self.add_params(params, child, f'{prefix}.{child_name}' if prefix else child_name)


@OPTIMIZER_BUILDERS.register_module()
class TSMOptimizerConstructor(DefaultOptimizerConstructor):
    """TSM's parameter groups (MMAction2 0.x's ``TSMOptimizerConstructor``).

    Seven groups, in this order: the first conv's weights (lr, wd) and biases (2 lr, no wd);
    the other conv / linear weights (lr, wd) and biases (2 lr, no wd); all norm-layer
    parameters (lr, no wd); and the last linear layer (the classifier): with
    ``paramwise_cfg=dict(fc_lr5=True)`` its weight takes 5 lr (wd) and its bias 10 lr (no wd),
    otherwise it joins the normal groups. Any other kind of layer with parameters is an error,
    since it would have no group.
    """

    def add_params(self, params: list[dict[str, Any]], module: nn.Module,
                   prefix: str = '') -> None:
        fc_lr5 = bool(self.paramwise_cfg.get('fc_lr5', False))
        first_w: list[nn.Parameter] = []
        first_b: list[nn.Parameter] = []
        normal_w: list[nn.Parameter] = []
        normal_b: list[nn.Parameter] = []
        norm: list[nn.Parameter] = []
        convs = 0
        last_linear: nn.Linear | None = None
        for name, m in module.named_modules():
            if isinstance(m, _ConvNd):
                convs += 1
                target_w, target_b = (first_w, first_b) if convs == 1 else (normal_w, normal_b)
                target_w.append(m.weight)
                if m.bias is not None:
                    target_b.append(m.bias)
            elif isinstance(m, nn.Linear):
                normal_w.append(m.weight)
                if m.bias is not None:
                    normal_b.append(m.bias)
                last_linear = m
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                norm.extend(p for p in m.parameters() if p.requires_grad)
            elif list(m.children()) and list(m.parameters(recurse=False)):
                logger.warning('TSMOptimizerConstructor: the parameters held directly by %r '
                               '(%s) are in no group and will not be trained', name,
                               type(m).__name__)
            elif list(m.parameters(recurse=False)):
                raise ValueError(f'TSMOptimizerConstructor: module {name!r} of type '
                                 f'{type(m).__name__} has parameters but no group in TSM\'s '
                                 f'scheme (conv, linear, BN, GN); use DefaultOptimizerConstructor')
        if last_linear is None:
            raise ValueError('TSMOptimizerConstructor: the model has no nn.Linear classifier')
        lr5_w = [normal_w.pop()]
        lr10_b = [normal_b.pop()] if last_linear.bias is not None else []
        if not fc_lr5:
            normal_w.extend(lr5_w)
            normal_b.extend(lr10_b)
            lr5_w, lr10_b = [], []
        lr, wd = self.base_lr, self.base_wd
        params.extend([
            {'params': first_w, 'lr': lr, 'weight_decay': wd},
            {'params': first_b, 'lr': lr * 2, 'weight_decay': 0},
            {'params': normal_w, 'lr': lr, 'weight_decay': wd},
            {'params': normal_b, 'lr': lr * 2, 'weight_decay': 0},
            {'params': norm, 'lr': lr, 'weight_decay': 0},
            {'params': lr5_w, 'lr': lr * 5, 'weight_decay': wd},
            {'params': lr10_b, 'lr': lr * 10, 'weight_decay': 0},
        ])

    paramwise_keys = ('fc_lr5',)

    def _validate(self) -> None:
        super()._validate()
        if self.base_lr is None or self.base_wd is None:
            raise ValueError('TSMOptimizerConstructor needs optimizer.lr and '
                             f'optimizer.weight_decay, got lr={self.base_lr!r}, '
                             f'weight_decay={self.base_wd!r}')


def build_optimizer_constructor(cfg: Mapping[str, Any]) -> Any:
    """Build an optimizer constructor from ``dict(type, optimizer_cfg, paramwise_cfg)``."""
    return OPTIMIZER_BUILDERS.build(cfg)


def build_optimizer(model: nn.Module, cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """Build the optimizer of ``model`` from the ``optimizer`` config.

    Args:
        model: the model (a DDP wrapper is looked through).
        cfg: ``dict(type='SGD', lr=..., [constructor=...], [paramwise_cfg=...], ...)``.

    Example:
        >>> opt = build_optimizer(nn.Linear(2, 2), dict(type='SGD', lr=0.1, momentum=0.9))
        >>> type(opt).__name__
        'SGD'
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f'optimizer must be a dict, got {type(cfg).__name__}')
    if 'type' not in cfg:
        raise KeyError(f"optimizer needs a 'type' (e.g. 'SGD'), got keys {sorted(cfg)}")
    optimizer_cfg = copy.deepcopy(dict(cfg))
    constructor = optimizer_cfg.pop('constructor', 'DefaultOptimizerConstructor')
    paramwise_cfg = optimizer_cfg.pop('paramwise_cfg', None)
    builder = build_optimizer_constructor(dict(type=constructor, optimizer_cfg=optimizer_cfg,
                                               paramwise_cfg=paramwise_cfg))
    return builder(model)


def scale_lr(optimizer_cfg: Mapping[str, Any], base_batch_size: int,
             batch_size: int) -> dict[str, Any]:
    """Return a copy of ``optimizer_cfg`` with ``lr`` scaled by the linear scaling rule.

    ``lr * batch_size / base_batch_size`` (Goyal et al., 2017): the config's lr was tuned for
    a total batch of ``base_batch_size`` clips (e.g. 8 GPUs x 8 videos = 64); training with
    ``batch_size`` clips in total scales it proportionally. Enable it in a config with
    ``auto_scale_lr = dict(enable=True, base_batch_size=64)`` or with ``--auto-scale-lr``.
    """
    for name, value in (('base_batch_size', base_batch_size), ('batch_size', batch_size)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f'auto_scale_lr: {name} must be a positive int, got {value!r}')
    if 'lr' not in optimizer_cfg:
        raise KeyError('auto_scale_lr: the optimizer config has no lr to scale')
    scaled = dict(optimizer_cfg)
    scaled['lr'] = optimizer_cfg['lr'] * batch_size / base_batch_size
    logger.info('linear scaling rule: lr %.6g -> %.6g (total batch %d, base batch %d)',
                optimizer_cfg['lr'], scaled['lr'], batch_size, base_batch_size)
    return scaled
