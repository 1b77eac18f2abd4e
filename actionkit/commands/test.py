"""``tools/test.py``: score a checkpoint on a config's test set, save and/or evaluate the results.

Same command line as MMAction2 0.x::

    python tools/test.py CONFIG CHECKPOINT [--out R.pkl|R.json|R.yaml] [--eval METRIC ...]
        [--eval-options k=v ...] [--cfg-options k=v ...] [--average-clips prob|score|None]
        [--fuse-conv-bn] [--launcher none|pytorch|slurm|mpi] [--gpu-collect] [--tmpdir DIR]
        [--onnx] [--tensorrt] [--allow-pickle]

and, for an MMAction2 1.x config, 1.x's (metrics from its ``test_evaluator``)::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--dump R.pkl] [--show-dir DIR]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from ..config import Config, DictAction, add_config_args, load_config
from ..config.options import merge_dotted
from ..registry import build_in_config
from ..utils.cli_main import run_main
from .v1 import add_v1_test_arguments, check_flags, v1_test_config, write_v1_results

__all__ = ['add_arguments', 'build_parser', 'run', 'main', 'run_test', 'format_metrics',
           'OUT_SUFFIXES', 'default_device']

logger = logging.getLogger(__name__)

OUT_SUFFIXES = ('.pkl', '.pickle', '.json', '.yaml', '.yml')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='tools/test.py', description='Test (and evaluate) a model on a config\'s test set.')
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth/.safetensors; .onnx with '
                        '--onnx; a serialized engine with --tensorrt)')
    parser.add_argument('--out', help='write per-sample results here, in dataset order '
                        '(.pkl, .json or .yaml; JSON needs no unpickling to read)')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold BatchNorm into the convolutions (slightly faster)')
    parser.add_argument('--eval', nargs='+', metavar='METRIC',
                        help='metrics, e.g. top_k_accuracy mean_class_accuracy '
                        '(recognition), AR@AN or mAP (localization)')
    parser.add_argument('--gpu-collect', action='store_true',
                        help='gather distributed results with all_gather instead of files')
    parser.add_argument('--tmpdir', help='shared directory for gathering distributed results')
    parser.add_argument('--options', nargs='+', action=DictAction, default={},
                        help='deprecated alias of --eval-options')
    parser.add_argument('--eval-options', nargs='+', action=DictAction, default={},
                        help='key=value arguments for dataset.evaluate(); a dotted key sets a '
                        'nested one: metric_options.top_k_accuracy.topk=1,5 (the deprecated '
                        'topk=1,5 works too)')
    add_config_args(parser)
    parser.add_argument('--average-clips', choices=['score', 'prob', 'None'], default=None,
                        help='how to average the scores of several clips of one video')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--onnx', action='store_true',
                        help='CHECKPOINT is an ONNX file, run with onnxruntime')
    parser.add_argument('--tensorrt', action='store_true',
                        help='CHECKPOINT is a serialized TensorRT engine')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='load a legacy checkpoint that needs full unpickling; this can run '
                        'code from the file, so use it only for files you trust')
    parser.add_argument('--allow-nonfinite-weights', action='store_true',
                        help='load a checkpoint holding NaN or inf weights (refused by default)')
    add_v1_test_arguments(parser)


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.options and args.eval_options:
        parser.error('--options and --eval-options cannot both be given; --options is the '
                     'deprecated name of --eval-options')
    if args.options:
        warnings.warn('--options is deprecated; use --eval-options (same syntax)',
                      FutureWarning, stacklevel=3)
        args.eval_options = args.options
    if args.onnx and args.tensorrt:
        parser.error('--onnx and --tensorrt cannot both be given')
    if args.average_clips == 'None':
        args.average_clips = 'none'


def default_device() -> Any:
    """CUDA device ``LOCAL_RANK`` when a GPU is present, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))
    return torch.device('cpu')


def _set_average_clips(cfg: Config, average_clips: str | None) -> None:
    if average_clips is None:
        return
    value = None if average_clips == 'none' else average_clips
    if cfg.model.get('test_cfg') is not None:
        cfg.model.test_cfg['average_clips'] = value
    elif cfg.get('test_cfg') is not None:
        cfg.test_cfg['average_clips'] = value
    else:
        cfg.model['test_cfg'] = dict(average_clips=value)


def _pytorch_outputs(args: argparse.Namespace, cfg: Config, loader: Any,
                     distributed: bool) -> list:
    from ..apis.test import multi_gpu_test, single_gpu_test
    from ..models.builder import build_model, turn_off_pretrained
    from ..models.fuse import fuse_conv_bn
    from ..models.module_hooks import register_module_hooks
    from ..models.weights import load_checkpoint

    _set_average_clips(cfg, args.average_clips)
    turn_off_pretrained(cfg.model)  # the checkpoint brings every weight
    model = build_in_config(build_model, cfg, 'model', args.config, test_cfg=cfg.get('test_cfg'))
    register_module_hooks(model, cfg.get('module_hooks') or [])
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True,
                    allow_pickle=args.allow_pickle,
                    allow_nonfinite=getattr(args, 'allow_nonfinite_weights', False))
    model.eval()
    if args.fuse_conv_bn:
        model = fuse_conv_bn(model)
    model.to(default_device())
    if not distributed:
        return single_gpu_test(model, loader)
    return multi_gpu_test(model, loader, args.tmpdir, args.gpu_collect)


def _export_outputs(args: argparse.Namespace, cfg: Config, loader: Any,
                    distributed: bool) -> list:
    """Score with an exported model: CHECKPOINT is an ONNX file or a TensorRT engine."""
    if distributed:
        raise ValueError('--onnx/--tensorrt run in one process; use --launcher none')
    if args.fuse_conv_bn:
        logger.warning('--fuse-conv-bn has no effect with --onnx/--tensorrt (fold the '
                       'BatchNorms before exporting)')
    from ..export import runtime

    _set_average_clips(cfg, args.average_clips)
    backend = 'onnx' if args.onnx else 'tensorrt'
    return runtime.run_exported(backend, args.checkpoint, loader, cfg=cfg)


def run_test(args: argparse.Namespace) -> dict[str, float]:
    """Run a parsed ``tools/test.py`` command; return the metrics (empty without ``--eval``)."""
    from ..datasets.builder import (build_dataloader, build_dataset, check_label_range,
                                    dataloader_args)
    from ..engine.dist import get_dist_info, init_dist

    cfg = load_config(args)
    v1 = check_flags(args, cfg, 'test') == '1.x'
    if v1:
        cfg = v1_test_config(args, cfg)
    output_config = dict(cfg.get('output_config', {}))
    if args.out:
        output_config['out'] = args.out
    eval_config = dict(cfg.get('eval_config', {}))
    if args.eval:
        eval_config['metrics'] = args.eval
    merge_dotted(eval_config, args.eval_options)
    if not output_config and not eval_config and not v1:
        raise SystemExit('nothing to do: give --out to save the results and/or --eval to '
                         'evaluate them')
    out = output_config.get('out')
    suffix = os.path.splitext(out)[1].lower() if out else ''
    # a dataset-specific suffix (AVA's '.csv') is checked once the dataset is built
    if out and 'output_format' not in output_config and suffix not in OUT_SUFFIXES + ('.csv',):
        raise SystemExit(f'--out {out!r}: the file name must end in one of {OUT_SUFFIXES}')
    if 'test' not in cfg.get('data', {}):
        raise SystemExit(f'{args.config} has no data.test section to test on')

    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **cfg.get('dist_params', {}))
    cfg.data.test.test_mode = True
    dataset = build_in_config(build_dataset, cfg.data, 'test', f'{args.config}: data',
                              dict(test_mode=True))
    # MMAction2 counts a label the model cannot score as a miss; say so now, naming the line
    extra = tuple(getattr(dataset, 'EXTRA_OUT_SUFFIXES', ()))
    if out and 'output_format' not in output_config and suffix not in OUT_SUFFIXES + extra:
        raise SystemExit(f'--out {out!r}: {type(dataset).__name__} writes results as one of '
                         f'{OUT_SUFFIXES + extra}; a .csv results file is written by datasets '
                         'that define one (AVADataset: the AVA result CSV)')
    check_label_range(dataset, (cfg.model.get('cls_head') or {}).get('num_classes'),
                      strict=False)
    loader = build_dataloader(dataset, **dataloader_args(cfg, 'test', distributed))

    if args.onnx or args.tensorrt:
        outputs = _export_outputs(args, cfg, loader, distributed)
    else:
        outputs = _pytorch_outputs(args, cfg, loader, distributed)

    rank, _ = get_dist_info()
    metrics: dict[str, float] = {}
    if rank == 0:
        if out:
            _dump_results(dataset, outputs, output_config)
        if eval_config:
            metrics = dataset.evaluate(outputs, **eval_config)
            print(format_metrics(metrics))
        if v1:
            write_v1_results(args, cfg, dataset, outputs, metrics)
    return metrics


def _dump_results(dataset: Any, outputs: list, output_config: Mapping[str, Any]) -> None:
    """``dataset.dump_results`` to ``output_config['out']``: a local file, or an ``s3://`` /
    ``gs://`` URL (written to a local temporary file, then uploaded as one object)."""
    from ..utils.fileio import display_path, is_remote
    from ..utils.remote_write import check_writable_url, output_file

    out = output_config['out']
    if is_remote(out):
        check_writable_url(out, '--out')
    else:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with output_file(out) as local:
        dataset.dump_results(outputs, **dict(output_config, out=local))
    logger.info('results written to %s', display_path(out))


def format_metrics(metrics: Mapping[str, Any]) -> str:
    """A two-column table of metric names and values."""
    if not metrics:
        return '(no metrics)'
    width = max(len(name) for name in metrics)
    lines = [f'{"metric".ljust(width)}  value', f'{"-" * width}  ------']
    for name, value in metrics.items():
        shown = f'{value:.4f}' if isinstance(value, (float, int)) else str(value)
        lines.append(f'{name.ljust(width)}  {shown}')
    return '\n'.join(lines)


def run(args: argparse.Namespace) -> int:
    """Run parsed arguments (the ``actionkit test`` entry point)."""
    _check_args(argparse.ArgumentParser(prog='actionkit test'), args)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    run_test(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == '__main__':
    sys.exit(run_main(main))
