"""``tools/train.py``: train a recognizer or localizer from a config file (MMAction2 0.x's or
1.x's, told apart by the file's keys).

    python tools/train.py CONFIG [--work-dir DIR] [--resume-from CKPT | --load-from CKPT]
        [--validate] [--test-last] [--test-best] [--gpus N | --gpu-ids I ...] [--seed N]
        [--diff-seed] [--deterministic] [--auto-scale-lr] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

    # an MMAction2 1.x config takes 1.x's flags
    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp]
        [--no-validate] [--auto-scale-lr] [--seed N] [--diff-rank-seed] [--deterministic]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Several GPUs: ``tools/dist_train.sh CONFIG GPUS [args]``. CPU only: ``CUDA_VISIBLE_DEVICES=-1``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import os.path as osp
import sys
import time

from ..config import Config, add_config_args, load_config
from ..registry import build_in_config
from .v1 import add_v1_train_arguments, check_flags, source_config, v1_train_config

__all__ = ['add_arguments', 'parse_args', 'run', 'main']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go: a folder, or an '
                        's3:// / gs:// prefix (trained in a local staging folder, mirrored)')
    parser.add_argument('--resume-from', help='checkpoint to resume from ("auto": latest.pth)')
    parser.add_argument('--load-from', help='checkpoint whose weights start the training')
    parser.add_argument('--validate', action='store_true', help='evaluate during training')
    parser.add_argument('--test-last', action='store_true', help='test the last checkpoint')
    parser.add_argument('--test-best', action='store_true', help='test the best checkpoint')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--gpus', type=int, help='number of GPUs (non-distributed: 1 is used)')
    group.add_argument('--gpu-ids', type=int, nargs='+', help='GPU ids (the first is used)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-seed', action='store_true', help='a different seed per rank')
    parser.add_argument('--deterministic', action='store_true', help='deterministic cuDNN')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the total batch size (auto_scale_lr)')
    add_config_args(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--allow-pickle', action='store_true',
                        help='load a --resume-from/--load-from checkpoint that needs full '
                        'unpickling; this can run code from the file: trusted files only')
    add_v1_train_arguments(parser)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='tools/train.py',
                                     description='Train a recognizer or a localizer')
    add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Train with parsed arguments (``tools/train.py`` and ``actionkit train``)."""
    from ..apis import check_config_types, setup_multi_processes
    from ..engine import get_rank, init_dist
    from ..engine.remote_work_dir import mirrored_work_dir, restore_latest, staging_dir
    from ..engine.run_lock import work_dir_lock
    from ..utils.fileio import is_remote

    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args)
    if check_flags(args, cfg, 'train') == '1.x':
        args.source_cfg = cfg
        cfg = v1_train_config(args, cfg)
    check_config_types(cfg)
    setup_multi_processes(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif not cfg.get('work_dir'):
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    for key in ('resume_from', 'load_from'):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.allow_pickle:
        cfg.allow_pickle = True
    if args.auto_scale_lr:
        cfg.auto_scale_lr = dict(cfg.get('auto_scale_lr') or {}, enable=True)
    # non-distributed training uses one GPU (the first of --gpu-ids / gpu_ids)
    cfg.gpu_ids = [args.gpu_ids[0]] if args.gpu_ids else list(cfg.get('gpu_ids') or [0])[:1]
    if (args.gpus or 1) > 1 or len(args.gpu_ids or []) > 1:
        print('tools/train.py: non-distributed training uses one GPU; for several, run '
              'tools/dist_train.sh CONFIG GPUS', file=sys.stderr)
    distributed = args.launcher != 'none'
    if distributed:
        _, world_size = init_dist(args.launcher, **cfg.get('dist_params', {}))
        cfg.gpu_ids = list(range(world_size))
    cfg.setdefault('omnisource', False)
    cfg.setdefault('module_hooks', [])

    remote = str(cfg.work_dir) if is_remote(cfg.work_dir) else None
    if remote is not None:  # train in a local staging folder mirrored to the prefix
        cfg.work_dir = staging_dir(remote)
    os.makedirs(osp.abspath(cfg.work_dir), exist_ok=True)
    if get_rank() != 0:  # rank 0 holds the work dir's lock for the whole job
        if remote is not None and cfg.get('resume_from') == 'auto' and \
                os.environ.get('LOCAL_RANK') == '0':  # another node: its own staging folder
            restore_latest(remote, cfg.work_dir)
        return _train(args, cfg, distributed)
    with work_dir_lock(cfg.work_dir), contextlib.ExitStack() as stack:
        hooks = [] if remote is None else stack.enter_context(
            mirrored_work_dir(remote, cfg.get('resume_from') == 'auto'))
        return _train(args, cfg, distributed, hooks)


def _train(args: argparse.Namespace, cfg: Config, distributed: bool,
           extra_hooks: list | None = None) -> int:
    from ..apis import init_random_seed, set_random_seed, train_model
    from ..datasets import build_dataset
    from ..engine import collect_env_info, get_logger, get_rank
    from ..models import build_model, register_module_hooks

    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    # a 1.x file's text log is where mmengine writes it: {work_dir}/{timestamp}/{timestamp}.log
    log_dir = osp.join(cfg.work_dir, timestamp) if hasattr(args, 'source_cfg') else cfg.work_dir
    os.makedirs(log_dir, exist_ok=True)
    logger = get_logger(log_file=osp.join(log_dir, f'{timestamp}.log'),
                        log_level=cfg.get('log_level', 'INFO'))
    if get_rank() == 0:
        source_config(args, cfg).dump(osp.join(cfg.work_dir, osp.basename(args.config)))
    env_info = '\n'.join(f'{k}: {v}' for k, v in collect_env_info().items())
    logger.info('Environment info:\n%s\n%s\n%s', '-' * 60, env_info, '-' * 60)
    logger.info('Distributed training: %s', distributed)
    logger.info('Config:\n%s', cfg.pretty_text)

    seed = init_random_seed(args.seed, distributed=distributed)
    seed = seed + get_rank() if args.diff_seed else seed
    logger.info('Set random seed to %d, deterministic: %s', seed, args.deterministic)
    set_random_seed(seed, deterministic=args.deterministic)
    cfg.seed = seed
    meta = dict(env_info=env_info, seed=seed, config_name=osp.basename(args.config),
                work_dir=osp.basename(cfg.work_dir.rstrip('/\\')))

    model = build_in_config(build_model, cfg, 'model', args.config,
                            train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    register_module_hooks(model, cfg.module_hooks)
    train = cfg.data.train
    if cfg.omnisource and isinstance(train, (list, tuple)):  # main, then auxiliary data sets
        datasets = [build_in_config(build_dataset, {f'train.{i}': each}, f'train.{i}',
                                    f'{args.config}: data') for i, each in enumerate(train)]
    else:
        datasets = [build_in_config(build_dataset, cfg.data, 'train', f'{args.config}: data')]
    if len(cfg.get('workflow', [])) == 2:
        datasets.append(build_dataset(copy.deepcopy(cfg.data.val)))
    train_model(model, datasets, cfg, distributed=distributed, validate=args.validate,
                test=dict(test_last=args.test_last, test_best=args.test_best),
                timestamp=timestamp, meta=meta, extra_hooks=extra_hooks or ())
    return 0
