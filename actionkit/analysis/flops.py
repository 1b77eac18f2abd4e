"""Count a model's parameters and FLOPs by running it once, with forward hooks.

A FLOP here is one multiply-add (a MAC), the unit of MMAction2 0.x's model zoo tables and of
``tools/analysis/get_flops.py`` there (mmcv's ``get_model_complexity_info``). The counting rules
follow mmcv's, so the numbers compare with those tables:

=====================================  =====================================================
module                                 FLOPs per call
=====================================  =====================================================
``Conv{1,2,3}d``                       ``output.numel() * in_channels / groups * prod(kernel)``
                                       ``+ output.numel()`` with a bias
``ConvTranspose{1,2,3}d``              ``input.numel() * out_channels / groups * prod(kernel)``
                                       ``+ output.numel()`` with a bias
``Linear``                             ``input.numel() * out_features`` (the bias is free)
``BatchNorm``/``GroupNorm``/           ``input.numel()``, twice that with affine parameters
``InstanceNorm``/``LayerNorm``         (``SyncBatchNorm``: 0, as in mmcv)
``{Max,Avg,AdaptiveMax,AdaptiveAvg}``  ``input.numel()``
``Pool{1,2,3}d``
``ReLU``/``ReLU6``/``LeakyReLU``/      ``output.numel()``
``PReLU``/``ELU``
``Upsample``                           ``output.numel()``
``MultiheadAttention``                 the q/k/v/out projections plus ``q @ k^T`` and
                                       ``attn @ v``
=====================================  =====================================================

Matrix products written as functions inside a module (``torch.matmul``, ``@``, ``bmm``,
``einsum``, ``F.scaled_dot_product_attention``: the attention of Swin, non-local blocks …) are
caught with a :class:`~torch.overrides.TorchFunctionMode` and counted as multiply-adds too;
mmcv misses these, so ``count_functional=False`` reproduces its numbers. Other operations
(softmax, additions, GELU …) are not counted.

With ``count_functional=False`` this gives exactly the FLOPs and parameters of MMAction2 0.x's
``metafile.yml`` entries (e.g. I3D R-50 at 1x3x32x256x256: 43564040192; TSN R-50 on eight
224x224 frames: 32959827968). A model moved to the ``meta`` device is counted without computing
anything, in no time and memory whatever the input size.

Example:
    >>> model = build_model(cfg.model)                                     # doctest: +SKIP
    >>> result = count_complexity(model, torch.zeros(1, 1, 3, 224, 224))  # doctest: +SKIP
    >>> print(result.table(depth=1))                                       # doctest: +SKIP
"""
from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ['Complexity', 'count_complexity', 'get_model_complexity_info', 'flops_to_string',
           'params_to_string']

logger = logging.getLogger(__name__)

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_DECONV = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
# SyncBatchNorm is left out, as mmcv does (at test time it is a plain BatchNorm)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.InstanceNorm1d,
         nn.InstanceNorm2d, nn.InstanceNorm3d, nn.LayerNorm)
_POOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
         nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
         nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_ACT = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU)
_UNITS = {'T': 1e12, 'G': 1e9, 'M': 1e6, 'K': 1e3, '': 1.0}


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _conv(module: nn.Module, inputs: tuple, output: Any) -> int:
    out = _first_tensor(output)
    per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
    bias = out.numel() if module.bias is not None else 0
    return out.numel() * per_output + bias


def _deconv(module: nn.Module, inputs: tuple, output: Any) -> int:
    x, out = inputs[0], _first_tensor(output)
    per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
    bias = out.numel() if module.bias is not None else 0
    return x.numel() * per_input + bias


def _linear(module: nn.Module, inputs: tuple, output: Any) -> int:
    return inputs[0].numel() * module.out_features


def _norm(module: nn.Module, inputs: tuple, output: Any) -> int:
    affine = getattr(module, 'affine', False) or getattr(module, 'elementwise_affine', False)
    return inputs[0].numel() * (2 if affine else 1)


def _input_size(module: nn.Module, inputs: tuple, output: Any) -> int:
    return inputs[0].numel()


def _output_size(module: nn.Module, inputs: tuple, output: Any) -> int:
    out = _first_tensor(output)
    return out.numel() if out is not None else 0


def _attention(module: nn.MultiheadAttention, inputs: tuple, output: Any) -> int:
    """Projections and the two attention products of ``nn.MultiheadAttention``."""
    query, key = inputs[0], inputs[1]
    embed = module.embed_dim
    kdim, vdim = module.kdim, module.vdim
    seq_dim = 1 if module.batch_first else 0
    if query.dim() == 2:  # unbatched [L, E]
        seq_dim = 0
    tokens_q, tokens_k = query.numel() // embed, key.numel() // kdim
    length_k = key.shape[seq_dim]
    projections = tokens_q * embed * embed + tokens_k * (kdim + vdim) * embed
    out_projection = tokens_q * embed * embed
    return projections + out_projection + 2 * tokens_q * length_k * embed


_RULES: tuple[tuple[tuple[type, ...], Callable[..., int]], ...] = (
    (_CONV, _conv), (_DECONV, _deconv), ((nn.Linear,), _linear), (_NORM, _norm),
    (_POOL, _input_size), (_ACT, _output_size), ((nn.Upsample,), _output_size),
    ((nn.MultiheadAttention,), _attention),
)


def _rule_for(module: nn.Module) -> Callable[..., int] | None:
    for types, rule in _RULES:
        if isinstance(module, types):
            return rule
    return None


def _matmul_flops(a: torch.Tensor, b: torch.Tensor) -> int:
    """Multiply-adds of ``a @ b`` with numpy broadcasting rules."""
    if a.dim() == 1 and b.dim() == 1:
        return a.numel()
    a_shape = a.shape if a.dim() > 1 else (1, a.shape[0])
    b_shape = b.shape if b.dim() > 1 else (b.shape[0], 1)
    batch = torch.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    return math.prod(batch) * a_shape[-2] * a_shape[-1] * b_shape[-1]


def _einsum_flops(equation: str, operands: Sequence[torch.Tensor]) -> int:
    """Multiply-adds of a two-operand ``einsum``: the product of every index's size."""
    if len(operands) != 2 or '...' in equation:
        return 0
    inputs = equation.split('->')[0].replace(' ', '').split(',')
    sizes: dict[str, int] = {}
    for letters, tensor in zip(inputs, operands):
        for letter, size in zip(letters, tensor.shape):
            sizes[letter] = max(sizes.get(letter, 1), int(size))
    return math.prod(sizes.values())


def _sdpa_flops(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> int:
    batch = math.prod(query.shape[:-2])
    length_q, depth = query.shape[-2], query.shape[-1]
    return batch * length_q * key.shape[-2] * (depth + value.shape[-1])


def _functional_flops(func: Any, args: tuple, kwargs: dict) -> tuple[str, int] | None:
    """``(op name, FLOPs)`` for the matrix products the module hooks cannot see."""
    if func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm,
                torch.Tensor.bmm, torch.mm, torch.Tensor.mm):
        return 'matmul', _matmul_flops(args[0], args[1])
    if func is torch.Tensor.__rmatmul__:
        return 'matmul', _matmul_flops(args[1], args[0])
    if func in (torch.baddbmm, torch.addmm, torch.Tensor.baddbmm, torch.Tensor.addmm):
        return 'matmul', _matmul_flops(args[1], args[2])
    if func is torch.einsum:
        operands = args[1:] if len(args) > 2 else tuple(args[1])
        return 'einsum', _einsum_flops(args[0], operands)
    if func is torch.nn.functional.scaled_dot_product_attention:
        query = args[0] if args else kwargs['query']
        key = args[1] if len(args) > 1 else kwargs['key']
        value = args[2] if len(args) > 2 else kwargs['value']
        return 'scaled_dot_product_attention', _sdpa_flops(query, key, value)
    return None


class _FunctionCounter(TorchFunctionMode):
    """Counts functional matrix products, credited to the module running them."""

    def __init__(self, record: Callable[[str, str, int], None], stack: list[str]) -> None:
        super().__init__()
        self._record = record
        self._stack = stack

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        found = _functional_flops(func, args, kwargs)
        if found is not None:
            self._record(self._stack[-1] if self._stack else '', found[0], found[1])
        # inside this method the mode is switched off, so the ops that ``func`` runs
        # (e.g. those of nn.MultiheadAttention, counted by its hook) are not seen again
        return func(*args, **kwargs)


@dataclass
class Complexity:
    """What :func:`count_complexity` measured.

    Attributes:
        flops: multiply-adds of one forward pass.
        params: number of parameters (each shared tensor once).
        input_shape: shape of the first input tensor.
        flops_by_module: FLOPs credited to each module (by its dotted name; ``''`` is the
            model itself), counting only what the module does directly, not its children.
        params_by_module: parameters owned directly by each module.
        flops_by_op: FLOPs per kind of operation (``'Conv2d'``, ``'Linear'``, ``'matmul'`` …).
        uncounted: types of leaf modules that ran and have no counting rule.
    """

    flops: int
    params: int
    input_shape: tuple[int, ...]
    flops_by_module: dict[str, int] = field(default_factory=dict)
    params_by_module: dict[str, int] = field(default_factory=dict)
    flops_by_op: dict[str, int] = field(default_factory=dict)
    uncounted: list[str] = field(default_factory=list)

    def grouped(self, depth: int = 1) -> list[tuple[str, int, int]]:
        """``(module name, FLOPs, params)`` summed over sub-modules ``depth`` levels down.

        Depth 1 gives e.g. ``backbone`` and ``cls_head``; depth 2 ``backbone.layer1`` ….
        FLOPs and parameters of a shallower module itself go in its own row.
        """
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f'depth must be an int >= 1, got {depth!r}')
        rows: dict[str, list[int]] = {}
        for table, column in ((self.flops_by_module, 0), (self.params_by_module, 1)):
            for name, value in table.items():
                key = '.'.join(name.split('.')[:depth]) if name else '(model)'
                rows.setdefault(key, [0, 0])[column] += value
        return [(name, flops, params) for name, (flops, params) in rows.items()
                if flops or params]

    def table(self, depth: int = 1) -> str:
        """A text table of FLOPs and parameters per module, with shares and the totals."""
        rows = self.grouped(depth)
        width = max([len('module'), len('total')] + [len(name) for name, _, _ in rows])
        lines = [f'{"module":<{width}}  {"FLOPs":>10} {"share":>6}  {"params":>10} {"share":>6}',
                 '-' * (width + 38)]
        for name, flops, params in rows:
            lines.append(f'{name:<{width}}  {flops_to_string(flops):>10} '
                         f'{_share(flops, self.flops):>6}  {params_to_string(params):>10} '
                         f'{_share(params, self.params):>6}')
        lines.append('-' * (width + 38))
        lines.append(f'{"total":<{width}}  {flops_to_string(self.flops):>10} {"":>6}  '
                     f'{params_to_string(self.params):>10}')
        return '\n'.join(lines)


def _share(part: int, whole: int) -> str:
    return f'{100 * part / whole:.1f}%' if whole else '-'


def flops_to_string(flops: float, unit: str | None = None, precision: int = 2) -> str:
    """``4119775744`` -> ``'4.12 G'``; ``unit`` one of ``'T'``, ``'G'``, ``'M'``, ``'K'``, ``''``
    (default: the largest that keeps the number >= 1)."""
    return _with_unit(flops, unit, precision)


def params_to_string(params: float, unit: str | None = None, precision: int = 2) -> str:
    """``25557032`` -> ``'25.56 M'`` (same units as :func:`flops_to_string`)."""
    return _with_unit(params, unit, precision)


def _with_unit(value: float, unit: str | None, precision: int) -> str:
    if unit is None:
        unit = next((u for u, scale in _UNITS.items() if abs(value) >= scale), '')
    if unit not in _UNITS:
        raise ValueError(f'unit must be one of {list(_UNITS)} or None, got {unit!r}')
    if unit == '' and float(value).is_integer():
        return str(int(value))
    return f'{value / _UNITS[unit]:.{precision}f} {unit}'.rstrip()


def _forward_of(model: nn.Module, forward: str | Callable | None) -> Callable:
    if callable(forward):
        return forward
    if forward is None:
        forward = 'forward_dummy' if hasattr(model, 'forward_dummy') else 'forward'
    if not isinstance(forward, str) or not callable(getattr(model, forward, None)):
        raise ValueError(f'forward must be a callable or the name of a method of '
                         f'{type(model).__name__}, got {forward!r}')
    # calling the module (not its bound ``forward``) runs its own hooks too
    return model if forward == 'forward' else getattr(model, forward)


def count_complexity(model: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor],
                     forward: str | Callable | None = None,
                     count_functional: bool = True) -> Complexity:
    """Run ``model`` once on ``inputs`` and count its FLOPs and parameters.

    Args:
        model: any ``nn.Module``; it is run under ``torch.no_grad()`` in its current mode
            (call ``model.eval()`` first for test-time behaviour).
        inputs: a tensor or a tuple of positional tensors.
        forward: the method to run: a name (default ``'forward_dummy'`` when the model has
            one, as recognizers do, else ``'forward'``) or any callable.
        count_functional: also count functional matrix products (attention).

    Returns:
        Complexity: totals and breakdowns; see the module docstring for the rules.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got {type(model).__name__}')
    args = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise TypeError('inputs must be a tensor or a sequence of tensors, got '
                        f'{type(inputs).__name__}')
    run = _forward_of(model, forward)
    by_module: dict[str, int] = defaultdict(int)
    by_op: dict[str, int] = defaultdict(int)
    uncounted: set[str] = set()
    stack: list[str] = []

    def record(name: str, op: str, flops: int) -> None:
        by_module[name] += int(flops)
        by_op[op] += int(flops)

    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(_push(stack, name)))
        handles.append(module.register_forward_hook(
            _pop_and_count(stack, name, _rule_for(module), record, uncounted)))
    try:
        with torch.no_grad():
            if count_functional:
                with _FunctionCounter(record, stack):
                    run(*args)
            else:
                run(*args)
    finally:
        for handle in handles:
            handle.remove()
    params_by_module = {name: sum(p.numel() for p in module.parameters(recurse=False))
                        for name, module in model.named_modules()}
    params = sum(p.numel() for p in model.parameters())
    if uncounted:
        logger.info('no FLOPs counted for these leaf modules: %s', ', '.join(sorted(uncounted)))
    return Complexity(flops=sum(by_module.values()), params=params,
                      input_shape=tuple(args[0].shape), flops_by_module=dict(by_module),
                      params_by_module={k: v for k, v in params_by_module.items() if v},
                      flops_by_op=dict(by_op), uncounted=sorted(uncounted))


def _push(stack: list[str], name: str) -> Callable:
    def hook(module: nn.Module, inputs: tuple) -> None:
        stack.append(name)
    return hook


def _pop_and_count(stack: list[str], name: str, rule: Callable | None,
                   record: Callable[[str, str, int], None], uncounted: set[str]) -> Callable:
    def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
        if stack and stack[-1] == name:
            stack.pop()
        if rule is not None:
            record(name, type(module).__name__, rule(module, inputs, output))
        elif not any(True for _ in module.children()) and \
                any(True for _ in module.parameters(recurse=False)):
            uncounted.add(type(module).__name__)
    return hook


def get_model_complexity_info(model: nn.Module, input_shape: Sequence[int],
                              print_per_layer_stat: bool = False, as_strings: bool = True,
                              input_constructor: Callable[[tuple], Any] | None = None,
                              ) -> tuple[Any, Any]:
    """mmcv-style entry point: FLOPs and parameters for a batch of one ``input_shape`` input.

    As in mmcv, a batch dimension of 1 is put in front of ``input_shape``: a recognizer's
    ``(1, 3, 224, 224)`` becomes the tensor ``[1, 1, 3, 224, 224]``.

    Args:
        model: the model (run with ``forward_dummy`` when it has one).
        input_shape: the shape of one input, without the batch dimension.
        print_per_layer_stat: log the per-module table (depth 2).
        as_strings: return ``('4.12 GFLOPs', '25.56 M')`` instead of numbers.
        input_constructor: build the inputs from ``input_shape`` yourself (a tensor or a
            tuple of tensors).

    Returns:
        tuple: ``(flops, params)``.
    """
    if input_constructor is not None:
        inputs = input_constructor(tuple(input_shape))
    else:
        if not all(isinstance(s, int) and s > 0 for s in input_shape):
            raise ValueError(f'input_shape must be positive ints, got {tuple(input_shape)}')
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device('cpu')
        inputs = torch.ones((1, *input_shape), device=device)
    result = count_complexity(model, inputs)
    if print_per_layer_stat:
        logger.info('FLOPs and parameters per module:\n%s', result.table(depth=2))
    if as_strings:
        flops = flops_to_string(result.flops)
        return flops + ('FLOPs' if flops[-1].isalpha() else ' FLOPs'), \
            params_to_string(result.params)
    return result.flops, result.params
