"""``actionkit export`` and ``tools/deployment/pytorch2onnx.py``: export a checkpoint to ONNX.

The export itself is :func:`actionkit.export.pytorch2onnx`; this module reads the options,
builds the model from its config and checkpoint and prints the summary.

Example:
    $ python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --shape 1 8 3 224 224 --verify
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from torch import nn

from ..config import add_config_args, load_config
from ..export.onnx import (DEFAULT_SHAPE, EXPORTERS, KIND_WORDS, SHAPE_HELP, VERIFY_ATOL,
                           VERIFY_RTOL, ExportResult, ModelKind, graph_text, model_kind,
                           pytorch2onnx, suggest_input_shape)
from ..models.builder import build_model, turn_off_pretrained
from ..models.weights import load_checkpoint

__all__ = ['add_arguments', 'build_parser', 'main', 'run']

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tools/deployment/pytorch2onnx.py``."""
    parser = argparse.ArgumentParser(
        prog='tools/deployment/pytorch2onnx.py',
        description='Export a recognizer or localizer (its forward_dummy) to ONNX.')
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the export options to ``parser`` (also used by ``actionkit export``)."""
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file (.pth / .safetensors)')
    parser.add_argument('--shape', type=int, nargs='+', default=None, help=SHAPE_HELP)
    parser.add_argument('--output-file', default='tmp.onnx', help='the ONNX file to write')
    parser.add_argument('--opset-version', type=int, default=None,
                        help='ONNX opset (default: the exporter\'s own, 20 for torch 2.13\'s '
                        'dynamo exporter; an opset it cannot give, e.g. 11, uses the '
                        'TorchScript exporter)')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch on a random input; exit 1 when '
                        f'an output differs by more than {VERIFY_ATOL:g} + {VERIFY_RTOL:g} x '
                        '|torch|')
    parser.add_argument('--show', action='store_true', help='print the exported graph')
    parser.add_argument('--softmax', action='store_true',
                        help='recognizers: append a softmax (the file returns probabilities)')
    parser.add_argument('--is-localizer', action='store_true',
                        help='the model is a localizer (BMN, BSN TEM/PEM)')
    parser.add_argument('--dynamic-export', action='store_true',
                        help='make the batch axis dynamic (any batch size at run time)')
    parser.add_argument('--exporter', choices=EXPORTERS, default='auto',
                        help='auto: torch\'s default (dynamo) exporter, falling back to the '
                        'TorchScript one when it fails')
    add_config_args(parser, example='model.cls_head.num_classes=10')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='load a legacy checkpoint that needs full unpickling (runs code '
                        'from the file: only for files you trust)')


def _build(args: argparse.Namespace) -> tuple[nn.Module, Any]:
    cfg = load_config(args)
    turn_off_pretrained(cfg.model)  # the checkpoint brings every weight
    test_cfg = cfg.get('test_cfg') if 'test_cfg' not in cfg.model else None
    model = build_model(cfg.model, test_cfg=test_cfg)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True,
                    allow_pickle=args.allow_pickle)
    return model.eval(), cfg


def _resolve_shape(args: argparse.Namespace, model: nn.Module, kind: ModelKind) -> list[int]:
    if args.shape is not None:
        return args.shape
    if kind is ModelKind.LOCALIZER:
        shape = suggest_input_shape(model)
        if shape is None:
            raise ValueError(f'give --shape for {type(model).__name__}: {SHAPE_HELP}')
        return list(shape)
    return list(DEFAULT_SHAPE)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tools/deployment/pytorch2onnx.py``; 0 on success, 1 when ``--verify`` fails."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Export with parsed arguments (the ``actionkit export`` entry point)."""
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        model, cfg = _build(args)
        kind = model_kind(model)
        if args.is_localizer and kind is not ModelKind.LOCALIZER:
            raise ValueError(f'--is-localizer was given but {type(model).__name__} is a '
                             f'{KIND_WORDS[kind]}')
        if kind is ModelKind.LOCALIZER and not args.is_localizer:
            logger.info('%s is a localizer (--is-localizer assumed)', type(model).__name__)
        if args.softmax and kind is ModelKind.LOCALIZER:
            raise ValueError('--softmax is for recognizers; localizers already output '
                             'probabilities')
        result = pytorch2onnx(model, _resolve_shape(args, model, kind), args.opset_version,
                              show=False, output_file=args.output_file, verify=args.verify,
                              softmax=args.softmax, dynamic_export=args.dynamic_export,
                              exporter=args.exporter, cfg=cfg)
    except (ValueError, TypeError, KeyError, FileNotFoundError, ImportError,
            RuntimeError) as err:  # a checkpoint that does not match is a RuntimeError
        logger.debug('export failed', exc_info=True)
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.show:
        print(graph_text(result.output_file))
    print(_summary(result))
    return 0 if result.verification is None or result.verification.passed else 1


def _summary(result: ExportResult) -> str:
    lines = [f'Exported ONNX model: {result.output_file}',
             f'  exporter: {result.exporter} (opset {result.opset_version})'
             + (f'; fell back because {result.fallback_reason}' if result.fallback_reason
                else ''),
             f'  input {result.input_names[0]}: {list(result.input_shape)}',
             f'  outputs: {", ".join(result.output_names)}',
             f'  weights: {result.external_data or "inside the .onnx file"}']
    check = result.verification
    if check is not None:
        verdict = 'PASSED' if check.passed else f'FAILED ({check.message})'
        lines.append(f'  verify: max abs diff {check.max_abs_diff:.3g} at batch sizes '
                     f'{list(check.batch_sizes)} (tolerance {check.atol:g} + {check.rtol:g} x '
                     f'|torch|): {verdict}')
    return '\n'.join(lines)
