"""MMAction2 1.x command-line flags for ``tools/train.py`` and ``tools/test.py``.

A 1.x config file takes 1.x's flags with 1.x's meanings; a 0.x file keeps the 0.x flags. Both
sets are on one parser; :func:`check_flags` refuses a flag of the other version, naming the
equivalent. The 1.x flags are applied to the 1.x config (as 1.x's tools do), then
:func:`~actionkit.config.v1.translate_v1` turns it into what the engine runs.

train: ``--resume [auto|PATH]`` (``resume=True``, ``load_from=PATH``), ``--amp``
(``optim_wrapper.type='AmpOptimWrapper'``, dynamic loss scale), ``--no-validate``,
``--auto-scale-lr``, ``--seed``, ``--diff-rank-seed``, ``--deterministic`` (``randomness``).
test: ``--dump FILE.pkl`` (1.x's per-sample prediction dicts), ``--work-dir`` (where the
metrics JSON goes), ``--show-dir``.
"""
from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from ..config.v1 import config_version, translate_v1

__all__ = ['V1_TRAIN_FLAGS', 'V0_TRAIN_FLAGS', 'V1_TEST_FLAGS', 'V0_TEST_FLAGS',
           'add_v1_train_arguments', 'add_v1_test_arguments', 'check_flags', 'v1_train_config',
           'v1_test_config']

# flag -> (argparse dest, what the other version writes instead)
V1_TRAIN_FLAGS = {'--resume': ('resume', '--resume-from CKPT (or --resume-from auto)'),
                  '--amp': ('amp', "fp16 = dict(loss_scale='dynamic') in the config"),
                  '--no-validate': ('no_validate', 'leave out --validate'),
                  '--diff-rank-seed': ('diff_rank_seed', '--diff-seed')}
V0_TRAIN_FLAGS = {'--resume-from': ('resume_from', '--resume PATH (or --resume for auto)'),
                  '--load-from': ('load_from', 'load_from = PATH in the config '
                                  '(--cfg-options load_from=PATH)'),
                  '--validate': ('validate', 'nothing: a 1.x config validates when it has '
                                 'val_dataloader, val_cfg and val_evaluator'),
                  '--test-last': ('test_last', 'tools/test.py CONFIG CHECKPOINT'),
                  '--test-best': ('test_best', 'tools/test.py CONFIG work_dir/best_*.pth'),
                  '--gpus': ('gpus', 'tools/dist_train.sh CONFIG GPUS'),
                  '--gpu-ids': ('gpu_ids', 'CUDA_VISIBLE_DEVICES'),
                  '--diff-seed': ('diff_seed', '--diff-rank-seed')}
V1_TEST_FLAGS = {'--dump': ('dump', '--out FILE.pkl'),
                 '--show-dir': ('show_dir', 'nothing (not in 0.x)'),
                 '--interval': ('interval', 'nothing (not in 0.x)'),
                 '--work-dir': ('work_dir', '--out FILE (0.x writes no work dir when testing)')}
V0_TEST_FLAGS = {'--out': ('out', '--dump FILE.pkl'),
                 '--eval': ('eval', 'test_evaluator = dict(type=\'AccMetric\', metric_list=...) '
                            'in the config (--cfg-options test_evaluator.metric_list=...)'),
                 '--eval-options': ('eval_options', 'test_evaluator.metric_options'),
                 '--average-clips': ('average_clips', '--cfg-options '
                                     'model.cls_head.average_clips=prob')}


def add_v1_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='1.x configs: resume from PATH, or (no value) from the work '
                        "dir's latest checkpoint")
    parser.add_argument('--amp', action='store_true',
                        help='1.x configs: automatic mixed precision (AmpOptimWrapper)')
    parser.add_argument('--no-validate', action='store_true',
                        help='1.x configs: do not validate during training')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='1.x configs: a different seed per rank')


def add_v1_test_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--dump', help='1.x configs: write the per-sample predictions '
                        '(a pickle of dicts: pred_score, pred_label, gt_label, num_classes)')
    parser.add_argument('--work-dir', help='1.x configs: where the metrics JSON is written '
                        '(default ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--show-dir', help='1.x configs: write the frames of each test '
                        'clip with its ground truth and prediction drawn on them into '
                        'DIR/{video}_0/frames_0/ (PNG)')
    parser.add_argument('--interval', type=int, default=None,
                        help='1.x configs: with --show-dir, draw every N-th sample (default 1)')


def _given(args: argparse.Namespace, dest: str) -> bool:
    value = getattr(args, dest, None)
    return value not in (None, False, {}, [])


def check_flags(args: argparse.Namespace, cfg: Config, tool: str) -> str:
    """The config's version; ``SystemExit`` when a flag of the other version was given."""
    version = config_version(cfg, args.config)
    if tool == 'train' and version == '0.x' and args.resume is not None \
            and args.resume_from is None:
        # argparse once took `--resume PATH` as an abbreviation of --resume-from: keep it
        args.resume_from, args.resume = args.resume, None
    if tool == 'train':
        other = V0_TRAIN_FLAGS if version == '1.x' else V1_TRAIN_FLAGS
    else:
        other = V0_TEST_FLAGS if version == '1.x' else V1_TEST_FLAGS
    for flag, (dest, instead) in other.items():
        if _given(args, dest):
            mine = '0.x' if version == '1.x' else '1.x'
            raise SystemExit(f'{flag} is an MMAction2 {mine} flag, but {args.config} is a '
                             f'{version} config; with a {version} config use {instead}')
    return version


def _apply_train_flags(args: argparse.Namespace, cfg: Config) -> None:
    """What 1.x's tools/train.py does with its flags, on the 1.x config."""
    if args.amp:
        wrapper = cfg.setdefault('optim_wrapper', {})
        if wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            wrapper['type'] = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.auto_scale_lr = dict(cfg.get('auto_scale_lr') or {}, enable=True)
    randomness = dict(cfg.get('randomness') or {})
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.deterministic:
        randomness['deterministic'] = True
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    cfg.randomness = randomness


def v1_train_config(args: argparse.Namespace, cfg: Config) -> Config:
    """Apply the 1.x train flags, translate, and set ``args`` (``validate``, ``seed``,
    ``deterministic``, ``diff_seed``) to what the file and the flags decide."""
    _apply_train_flags(args, cfg)
    if args.auto_scale_lr:
        args.auto_scale_lr = False  # done: the translated auto_scale_lr has enable=True
    engine_cfg, run = translate_v1(cfg, args.config, purpose='train')
    args.validate, args.seed = run['validate'], run['seed']
    args.deterministic, args.diff_seed = run['deterministic'], run['diff_rank_seed']
    return Config(engine_cfg, cfg_text=cfg.text, filename=cfg.filename)


def v1_test_config(args: argparse.Namespace, cfg: Config) -> Config:
    """Translate for testing: ``data.test`` and ``eval_config`` from ``test_evaluator``."""
    if args.dump is not None and not args.dump.endswith(('.pkl', '.pickle')):
        raise SystemExit(f'--dump {args.dump!r}: the dump file must be a .pkl or .pickle file')
    engine_cfg, _ = translate_v1(cfg, args.config, purpose='test')
    if not engine_cfg.get('eval_config') and args.dump is None:
        raise SystemExit(f'{args.config} has no test_evaluator and --dump is not given: '
                         'nothing to do')
    return Config(engine_cfg, cfg_text=cfg.text, filename=cfg.filename)


def source_config(args: argparse.Namespace, default: Any) -> Any:
    """The config as the user wrote it (kept on ``args`` for the work dir's copy)."""
    return getattr(args, 'source_cfg', default)


def _label(dataset: Any, index: int) -> Any:
    infos = getattr(dataset, 'video_infos', None)
    if infos is not None:
        return infos[index].get('label')
    labels = getattr(dataset, 'labels', None)
    return None if labels is None else labels[index]


def prediction_records(outputs: list, dataset: Any) -> list[dict[str, Any]]:
    """1.x's per-sample prediction dicts (what its ``DumpResults`` pickles): ``pred_score``
    (a float tensor ``[num_classes]``), ``pred_label`` and ``gt_label`` (int64 tensors ``[1]``,
    or ``[k]`` for a multi-label ground truth) and ``num_classes``. Outputs that are not score
    arrays (localization proposals) are kept as they are."""
    import numpy as np
    import torch

    records = []
    for index, output in enumerate(outputs):
        if isinstance(output, dict):
            records.append(output)
            continue
        score = torch.as_tensor(np.asarray(output, dtype=np.float32)).reshape(-1)
        record: dict[str, Any] = dict(num_classes=int(score.numel()), pred_score=score,
                                      pred_label=score.argmax().reshape(1))
        label = _label(dataset, index)
        if label is not None:
            record['gt_label'] = torch.as_tensor(np.asarray(label, dtype=np.int64)).reshape(-1)
        records.append(record)
    return records


def _write_file(path: str, data: bytes) -> None:
    """Write ``data`` to a local path atomically, or to an ``s3://`` / ``gs://`` URL (one
    whole object)."""
    from ..utils.atomic import write_atomic
    from ..utils.fileio import is_remote
    from ..utils.remote_write import put_bytes

    if is_remote(path):
        put_bytes(path, data)
        return

    def write(temp: str) -> None:
        with open(temp, 'wb') as f:
            f.write(data)

    write_atomic(path, write)


def write_v1_results(args: argparse.Namespace, cfg: Config, dataset: Any, outputs: list,
                     metrics: dict[str, Any]) -> None:
    """After a 1.x test: ``--dump`` (the pickle), ``--show-dir`` (the frames with the
    prediction drawn on them, :mod:`.v1_show`) and the metrics as
    ``{work_dir}/{timestamp}/{timestamp}.json``, the file
    1.x's test writes."""
    import json
    import os
    import pickle
    import time

    from ..utils.fileio import is_remote

    if args.dump:
        if not is_remote(args.dump):
            os.makedirs(os.path.dirname(os.path.abspath(args.dump)), exist_ok=True)
        data = pickle.dumps(prediction_records(outputs, dataset))
        _write_file(args.dump, data)
    if args.show_dir:
        from .v1_show import write_show_dir
        write_show_dir(args.show_dir, dataset, prediction_records(outputs, dataset),
                       args.interval or 1)
    work_dir = args.work_dir or cfg.get('work_dir') or os.path.join(
        './work_dirs', os.path.splitext(os.path.basename(args.config))[0])
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    os.makedirs(os.path.join(work_dir, stamp), exist_ok=True)
    plain = {k: (float(v) if isinstance(v, (int, float)) else str(v)) for k, v in metrics.items()}
    _write_file(os.path.join(work_dir, stamp, f'{stamp}.json'), (json.dumps(plain) + '\n').encode())
