"""Count the parameters and FLOPs (multiply-adds) of a config's model.

Usage:
    python tools/analysis/get_flops.py CONFIG [--shape ...] [--depth 1] [--modules-only]
        [--device meta|cpu|cuda] [--cfg-options k=v ...]

``--shape`` is the input of one sample, without the batch dimension, as in MMAction2:
``H W`` or ``S`` (square) give ``(1, 3, H, W)`` for 2D recognizers and ``(1, 3, 32, H, W)`` for
3D ones; 4 numbers ``(views, C, H, W)`` and 5 numbers ``(views, C, T, H, W)`` are taken as
they are. Default: 340 256. The model is built with random weights and run once through
``forward_dummy`` on PyTorch's ``meta`` device, which computes shapes only (no time, no memory,
whatever the input size); a model that cannot run there is run on the CPU instead.

The counting rules are those of mmcv's counter, which MMAction2's model-zoo tables used, plus
the functional matrix products of attention and non-local blocks; ``--modules-only`` leaves
those out and reproduces the tables' numbers exactly. See ``actionkit/analysis/flops.py``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

import torch

from actionkit.config import add_config_args, load_config
from actionkit.analysis.flops import count_complexity, flops_to_string, params_to_string
from actionkit.utils.cli_main import report_error, run_main

_CLIP_LEN_3D = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Count the FLOPs and parameters of a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=[340, 256],
                        help='input size: H W, S, views C H W, or views C T H W')
    parser.add_argument('--depth', type=int, default=1,
                        help='module depth of the breakdown table (1: backbone, cls_head)')
    parser.add_argument('--modules-only', action='store_true',
                        help='skip the functional matrix products (attention, non-local), as '
                             "mmcv's counter behind MMAction2's model-zoo tables does")
    parser.add_argument('--device', default='meta', choices=['meta', 'cpu', 'cuda'],
                        help='where to run the model (meta: shapes only, no computation)')
    add_config_args(parser)
    return parser.parse_args(argv)


def input_shape(shape: list[int], is_3d: bool) -> tuple[int, ...]:
    """The input of one sample (no batch dimension) for ``--shape``."""
    if any(s < 1 for s in shape):
        raise ValueError(f'--shape values must be positive, got {shape}')
    if len(shape) == 1:
        shape = [shape[0], shape[0]]
    if len(shape) == 2:
        return (1, 3, _CLIP_LEN_3D, *shape) if is_3d else (1, 3, *shape)
    if len(shape) in (4, 5):
        return tuple(shape)
    raise ValueError(f'--shape takes 1, 2, 4 or 5 numbers (S | H W | views C H W | views C T '
                     f'H W), got {len(shape)}: {shape}')


def _count(model: torch.nn.Module, shape: tuple[int, ...], device: str,
           functional: bool = True) -> Any:
    """Count on ``device``; a model that fails on the meta device is counted on the CPU."""
    try:
        return count_complexity(model.to(device), torch.zeros((1, *shape), device=device),
                                count_functional=functional)
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as err:
        if device != 'meta':
            raise
        print(f'(the model cannot run on the meta device: {err}; counting on the CPU)',
              file=sys.stderr)
        return count_complexity(model.to_empty(device='cpu'), torch.zeros((1, *shape)),
                                count_functional=functional)


def main(argv: list[str] | None = None) -> int:
    """Print the table; return the exit status (1 with a message on stderr on error)."""
    from actionkit.models.builder import build_model, turn_off_pretrained

    args = parse_args(argv)
    try:
        cfg = load_config(args)
        turn_off_pretrained(cfg.model)
        model = build_model(cfg.model, test_cfg=cfg.get('test_cfg')).eval()
        if not hasattr(model, 'forward_dummy'):
            raise ValueError(f'{type(model).__name__} has no forward_dummy; FLOPs are counted '
                             'for recognizers')
        is_3d = '3D' in type(model).__name__
        shape = input_shape(args.shape, is_3d)
        result = _count(model, shape, args.device, not args.modules_only)
    except (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError) as err:
        return report_error(err, 'get_flops')
    line = '=' * 30
    print(f'{line}\nInput shape: {shape}\nFlops: {flops_to_string(result.flops)}FLOPs '
          f'(multiply-adds)\nParams: {params_to_string(result.params)}\n{line}')
    print(result.table(depth=args.depth))
    if result.uncounted:
        print(f'Modules with parameters but no counting rule: {", ".join(result.uncounted)}')
    print('Check the numbers before you put them in a paper: operations outside the counted '
          'module types are not included.')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
