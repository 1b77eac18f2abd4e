"""Shared building blocks: conv / norm / activation layers built from config dicts.

The names of the sub-modules follow mmcv's ``ConvModule`` (``conv``, ``bn``/``gn``/``ln``/``in``,
``activate``), so state-dict keys such as ``backbone.conv1.bn.weight`` match MMAction2 0.x
checkpoints.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..utils.checks import check_positive_int
from .sub_batchnorm3d import SubBatchNorm3D

__all__ = [
    'CONV_LAYERS', 'NORM_LAYERS', 'ACTIVATION_LAYERS', 'register_conv_layer', 'build_conv_layer',
    'build_norm_layer',
    'build_activation_layer', 'ConvModule', 'Swish', 'HSigmoid', 'constant_init', 'kaiming_init',
    'normal_init', 'trunc_normal_init', 'xavier_init', 'check_positive_int', 'freeze',
    'revert_sync_batchnorm',
]


class Swish(nn.Module):
    """x * sigmoid(x)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class HSigmoid(nn.Module):
    """mmcv's HSigmoid: clamp((x + bias) / divisor, min_value, max_value)."""

    def __init__(self, bias: float = 3.0, divisor: float = 6.0, min_value: float = 0.0,
                 max_value: float = 1.0) -> None:
        super().__init__()
        self.bias, self.divisor = bias, divisor
        self.min_value, self.max_value = min_value, max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + self.bias) / self.divisor).clamp_(self.min_value, self.max_value)


CONV_LAYERS: dict[str, type[nn.Module]] = {
    'Conv': nn.Conv2d, 'Conv1d': nn.Conv1d, 'Conv2d': nn.Conv2d, 'Conv3d': nn.Conv3d,
}

# type -> (layer class, attribute name used by mmcv's ConvModule)
NORM_LAYERS: dict[str, tuple[type[nn.Module], str]] = {
    'BN': (nn.BatchNorm2d, 'bn'), 'BN1d': (nn.BatchNorm1d, 'bn'), 'BN2d': (nn.BatchNorm2d, 'bn'),
    'BN3d': (nn.BatchNorm3d, 'bn'), 'SyncBN': (nn.SyncBatchNorm, 'bn'),
    'GN': (nn.GroupNorm, 'gn'), 'LN': (nn.LayerNorm, 'ln'), 'IN': (nn.InstanceNorm2d, 'in'),
    'IN1d': (nn.InstanceNorm1d, 'in'), 'IN2d': (nn.InstanceNorm2d, 'in'),
    'IN3d': (nn.InstanceNorm3d, 'in'), 'SubBatchNorm3D': (SubBatchNorm3D, 'bn'),
}

ACTIVATION_LAYERS: dict[str, type[nn.Module]] = {
    'ReLU': nn.ReLU, 'LeakyReLU': nn.LeakyReLU, 'PReLU': nn.PReLU, 'ReLU6': nn.ReLU6,
    'ELU': nn.ELU, 'Sigmoid': nn.Sigmoid, 'Tanh': nn.Tanh, 'GELU': nn.GELU, 'SiLU': nn.SiLU,
    'Swish': Swish, 'HSigmoid': HSigmoid, 'HSwish': nn.Hardswish,
}


def register_conv_layer(name: str, layer_cls: type[nn.Module]) -> type[nn.Module]:
    """Make ``dict(type=name)`` usable as a ``conv_cfg`` (e.g. ``'Conv2plus1d'``)."""
    existing = CONV_LAYERS.get(name)
    if existing is not None and existing is not layer_cls:
        raise KeyError(f'conv type {name!r} is already registered as {existing!r}')
    CONV_LAYERS[name] = layer_cls
    return layer_cls


def _split_type(cfg: Mapping[str, Any] | None, kind: str, table: Mapping[str, Any],
                default: str | None = None) -> tuple[str, dict[str, Any]]:
    if cfg is None:
        if default is None:
            raise TypeError(f'{kind} config is None')
        return default, {}
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise TypeError(f'{kind} config must be a dict with a "type" key, got {cfg!r}')
    args = dict(cfg)
    layer_type = args.pop('type')
    if layer_type not in table:
        raise KeyError(f'unknown {kind} type {layer_type!r}; expected one of {sorted(table)}')
    return layer_type, args


def build_conv_layer(cfg: Mapping[str, Any] | None, *args: Any, **kwargs: Any) -> nn.Module:
    """Build a convolution from ``cfg`` (``None`` means ``dict(type='Conv2d')``)."""
    layer_type, extra = _split_type(cfg, 'conv', CONV_LAYERS, default='Conv2d')
    return CONV_LAYERS[layer_type](*args, **kwargs, **extra)


def build_norm_layer(cfg: Mapping[str, Any], num_features: int,
                     postfix: int | str = '') -> tuple[str, nn.Module]:
    """Build a normalization layer; return ``(name, layer)`` with mmcv's name (``'bn1'`` …).

    ``requires_grad=False`` in ``cfg`` freezes the affine parameters.
    """
    layer_type, args = _split_type(cfg, 'norm', NORM_LAYERS)
    layer_cls, abbr = NORM_LAYERS[layer_type]
    requires_grad = args.pop('requires_grad', True)
    args.setdefault('eps', 1e-5)
    if layer_type == 'GN':
        if 'num_groups' not in args:
            raise KeyError('GN norm config needs "num_groups"')
        layer = layer_cls(num_channels=num_features, **args)
    elif layer_type == 'LN':
        layer = layer_cls(num_features, **args)
    else:
        layer = layer_cls(num_features, **args)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return f'{abbr}{postfix}', layer


def build_activation_layer(cfg: Mapping[str, Any]) -> nn.Module:
    """Build an activation from ``cfg`` such as ``dict(type='ReLU', inplace=True)``."""
    layer_type, args = _split_type(cfg, 'activation', ACTIVATION_LAYERS)
    layer_cls = ACTIVATION_LAYERS[layer_type]
    if layer_cls in (nn.Sigmoid, nn.Tanh, nn.GELU, Swish, HSigmoid, nn.PReLU):
        args.pop('inplace', None)
    return layer_cls(**args)


class ConvModule(nn.Module):
    """Conv, then norm, then activation (mmcv's ``ConvModule`` with its attribute names).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: as for
            ``nn.Conv2d`` / ``nn.Conv3d``.
        bias: ``'auto'`` uses a bias only when there is no norm layer.
        conv_cfg: e.g. ``dict(type='Conv3d')``; ``None`` means 2D.
        norm_cfg: e.g. ``dict(type='BN3d', requires_grad=True)``; ``None`` for no norm.
        act_cfg: e.g. ``dict(type='ReLU')``; ``None`` for no activation.
        inplace: for the activation.
        order: the order of ``'conv'``, ``'norm'`` and ``'act'``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...],
                 stride: int | tuple[int, ...] = 1, padding: int | tuple[int, ...] = 0,
                 dilation: int | tuple[int, ...] = 1, groups: int = 1, bias: bool | str = 'auto',
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] | None = None,
                 act_cfg: Mapping[str, Any] | None = dict(type='ReLU'), inplace: bool = True,
                 order: tuple[str, str, str] = ('conv', 'norm', 'act')) -> None:
        super().__init__()
        if sorted(order) != ['act', 'conv', 'norm']:
            raise ValueError(f'order must be a permutation of conv/norm/act, got {order}')
        if bias != 'auto' and not isinstance(bias, bool):
            raise TypeError(f"bias must be 'auto' or a bool, got {bias!r}")
        self.order = tuple(order)
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        use_bias = not self.with_norm if bias == 'auto' else bias
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size,
                                     stride=stride, padding=padding, dilation=dilation,
                                     groups=groups, bias=use_bias)
        self.norm_name: str | None = None
        if norm_cfg is not None:
            norm_after_conv = order.index('norm') > order.index('conv')
            norm_channels = out_channels if norm_after_conv else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
        if act_cfg is not None:
            act_args = dict(act_cfg)
            if act_args['type'] in ('ReLU', 'LeakyReLU', 'ReLU6', 'ELU', 'SiLU', 'HSwish'):
                act_args.setdefault('inplace', inplace)
            self.activate = build_activation_layer(act_args)
        self.init_weights()

    @property
    def norm(self) -> nn.Module | None:
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self) -> None:
        """Kaiming-normal conv weights (fan_out, relu), unit norm weights: mmcv's defaults."""
        kaiming_init(self.conv, mode='fan_out', nonlinearity='relu')
        if self.norm is not None and getattr(self.norm, 'weight', None) is not None:
            constant_init(self.norm, 1.0, bias=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.order:
            if step == 'conv':
                x = self.conv(x)
            elif step == 'norm' and self.norm_name is not None:
                x = getattr(self, self.norm_name)(x)
            elif step == 'act' and self.with_activation:
                x = self.activate(x)
        return x


def freeze(*modules: nn.Module) -> None:
    """Put ``modules`` in eval mode and stop their parameters learning (frozen stages)."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False


def constant_init(module: nn.Module, val: float, bias: float = 0.0) -> None:
    if getattr(module, 'weight', None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def kaiming_init(module: nn.Module, a: float = 0.0, mode: str = 'fan_out',
                 nonlinearity: str = 'relu', bias: float = 0.0,
                 distribution: str = 'normal') -> None:
    if distribution not in ('uniform', 'normal'):
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    if getattr(module, 'weight', None) is not None:
        init = nn.init.kaiming_uniform_ if distribution == 'uniform' else nn.init.kaiming_normal_
        init(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def normal_init(module: nn.Module, mean: float = 0.0, std: float = 1.0, bias: float = 0.0) -> None:
    if getattr(module, 'weight', None) is not None:
        nn.init.normal_(module.weight, mean, std)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def trunc_normal_init(module: nn.Module, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                      b: float = 2.0, bias: float = 0.0) -> None:
    if getattr(module, 'weight', None) is not None:
        nn.init.trunc_normal_(module.weight, mean, std, a, b)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def xavier_init(module: nn.Module, gain: float = 1.0, bias: float = 0.0,
                distribution: str = 'normal') -> None:
    if distribution not in ('uniform', 'normal'):
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    if getattr(module, 'weight', None) is not None:
        init = nn.init.xavier_uniform_ if distribution == 'uniform' else nn.init.xavier_normal_
        init(module.weight, gain=gain)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


class _BatchNormXd(nn.modules.batchnorm._BatchNorm):
    """Plain batch norm for inputs of any rank (what a ``SyncBatchNorm`` reverts to)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'batch norm expects an input with at least 2 dims, got {input.dim()}')


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.SyncBatchNorm`` by a plain batch norm with the same state.

    SyncBatchNorm needs CUDA and a process group (training on CPU, one process) and exports
    badly (ONNX); in eval mode both compute the same thing. Children are replaced in place;
    the module (a new one if ``module`` itself is a SyncBatchNorm) is returned. The
    state-dict keys do not change, so checkpoints still load either way.
    """
    if isinstance(module, nn.SyncBatchNorm):
        plain = _BatchNormXd(module.num_features, module.eps, module.momentum, module.affine,
                             module.track_running_stats)
        plain.load_state_dict(module.state_dict())
        plain.train(module.training)
        for param, source in zip(plain.parameters(), module.parameters()):
            param.requires_grad_(source.requires_grad)
        return plain
    for name, child in module.named_children():
        new_child = revert_sync_batchnorm(child)
        if new_child is not child:
            setattr(module, name, new_child)
    return module
