"""``train_model``: the Python entry point of training, as in MMAction2 0.x.

It turns a config's runtime keys into the trainer's parts, in plain view: data loaders
(``data.videos_per_gpu``, ``data.workers_per_gpu``, ``data.train_dataloader`` …), the device
and DDP wrapper, the optimizer (``optimizer``), the hooks (``lr_config``, ``checkpoint_config``,
``log_config``, ``evaluation``, ``custom_hooks``), mixed precision (``fp16``) and gradient
clipping (``optimizer_config.grad_clip``); then resumes (``resume_from``, ``'auto'`` for the
work dir's ``latest.pth``) or loads weights (``load_from``), trains, and optionally tests the
last and the best checkpoints.

Example:
    >>> cfg = Config.fromfile('configs/recognition/tsn/tsn_r50_1x1x3_100e_kinetics400_rgb.py')
    >>> cfg.work_dir, cfg.gpu_ids, cfg.seed = 'work_dirs/tsn', [0], 0
    >>> model = build_model(cfg.model)
    >>> train_model(model, [build_dataset(cfg.data.train)], cfg, validate=True)  # doctest: +SKIP
"""
from __future__ import annotations

import difflib
import logging
import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..datasets.builder import (build_dataloader, build_dataset, check_label_range,
                                dataloader_args)
from ..engine import dist as comm
from ..engine.checkpoint import find_latest_checkpoint, newest_best_checkpoint
from ..engine.evaluate import predict
from ..engine.hooks import (EVAL_HOOK_KEYS, HOOKS, CheckpointHook, EvalHook, HookBase,
                             get_priority)
from ..engine.logging import build_logger_hooks, get_logger
from ..engine.lr_schedules import build_lr_hook
from ..engine.multigrid import (LongShortCycleHook, SubBatchNorm3dAggregationHook,
                               multigrid_base_shape, stage_pipeline)
from ..engine.optim import build_optimizer, scale_lr
from ..engine.precise_bn import PreciseBNHook
from ..engine.trainer import Trainer
from ..models.memory_format import to_channels_last
from ..utils.fileio import display_path, is_remote

__all__ = [
    'train_model', 'init_random_seed', 'set_random_seed', 'setup_multi_processes',
    'check_config_keys', 'check_config_types', 'select_device', 'RUNTIME_KEYS', 'KNOWN_KEYS',
    'auto_resume_checkpoint',
]

logger = logging.getLogger(__name__)

RUNTIME_KEYS = (
    'optimizer', 'optimizer_config', 'lr_config', 'momentum_config', 'checkpoint_config',
    'log_config', 'evaluation', 'custom_hooks', 'workflow', 'total_epochs', 'load_from',
    'resume_from', 'allow_pickle', 'work_dir', 'dist_params', 'log_level', 'fp16',
    'find_unused_parameters', 'auto_scale_lr', 'gpu_ids', 'seed', 'cudnn_benchmark',
    'opencv_num_threads', 'mp_start_method', 'omnisource', 'module_hooks', 'precise_bn',
    'multigrid', 'custom_imports', 'output_config', 'eval_config', 'device', 'channels_last',
    'compile',
)
# model / data keys (and helper variables) that MMAction2 0.x's configs define
KNOWN_KEYS = frozenset(RUNTIME_KEYS) | frozenset((
    'model', 'train_cfg', 'test_cfg', 'data', 'dataset_type', 'data_root', 'data_root_val',
    'ann_file', 'ann_file_train', 'ann_file_val', 'ann_file_test', 'img_norm_cfg',
    'train_pipeline', 'val_pipeline', 'test_pipeline', 'ann_file_gg', 'ann_file_infer',
    'ann_file_iv', 'ann_file_kraw', 'ann_file_web', 'anno_root', 'category_nums',
    'custom_classes', 'dataset_mode', 'dataset_modes', 'exclude_file_infer',
    'exclude_file_train', 'exclude_file_val', 'gg_root', 'infer_pipeline', 'iv_root',
    'jester_flip_label_map', 'kraw_root', 'label_file', 'left_kp', 'lfb_channels',
    'lfb_prefix_path', 'max_num_sampled_feat', 'num_classes', 'pgm_features_dir',
    'pgm_features_test_cfg', 'pgm_features_train_cfg', 'pgm_proposals_cfg', 'pgm_proposals_dir',
    'proposal_file_infer', 'proposal_file_train', 'proposal_file_val', 'right_kp',
    'samples_per_cls', 'skeletons', 'split', 'sthv1_flip_label_map', 'sthv2_flip_label_map',
    'target_cate', 'tem_results_dir', 'temporal_scale', 'test_cfg_', 'train_cfg_',
    'train_gg_pipeline', 'train_iv_pipeline', 'train_kraw_pipeline', 'train_web_pipeline',
    'web_root', 'window_size', 'clip_len', 'frame_interval', 'num_clips', 'proposal_keys',
    'test_keys', 'video_meta_keys', 'bsp_cfg', 'temporal_dim', 'feat_dim', 'num_segments',
))


# sections the training code reads as dicts: what each must be, with an example
_DICT_SECTIONS = {
    'model': (False, "dict(type='Recognizer2D', backbone=..., cls_head=...)"),
    'data': (False, 'dict(videos_per_gpu=8, workers_per_gpu=2, train=..., val=..., test=...)'),
    'optimizer': (False, "dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)"),
    'optimizer_config': (True, 'dict(grad_clip=None)'),
    'lr_config': (True, "dict(policy='step', step=[40, 80])"),
    'checkpoint_config': (True, 'dict(interval=1)'),
    'log_config': (True, "dict(interval=20, hooks=[dict(type='TextLoggerHook')])"),
    'evaluation': (True, "dict(interval=5, metrics=['top_k_accuracy'])"),
}


def check_config_types(cfg: Mapping[str, Any], needs_model: bool = True) -> None:
    """Refuse a runtime section of the wrong type (``--cfg-options optimizer=None``) before
    anything is built, naming the key, what it must be, and the config file.

    Args:
        cfg: the merged config.
        needs_model: whether ``model`` must be there (``tools/train.py`` builds the model from
            it; :func:`train_model` is given a built model, as in MMAction2).

    Raises:
        TypeError: a section that must be a dict is something else.
        KeyError: a section training cannot do without (model, data, optimizer) is missing.
    """
    source = getattr(cfg, 'filename', None)
    where = f' (config file {source}, or a --cfg-options override)' if source else ''
    for key, (optional, example) in _DICT_SECTIONS.items():
        if key not in cfg:
            if 'train_dataloader' in cfg or 'optim_wrapper' in cfg:
                raise KeyError(f'this is an MMAction2 1.x config{where}: translate it first '
                               "with actionkit.config.v1.engine_config(cfg, 'train') (what "
                               'tools/train.py does)')
            if not optional and (needs_model or key != 'model'):
                raise KeyError(f'the config has no {key!r}: training needs one like {key} = '
                               f'{example}{where}')
            continue
        value = cfg[key]
        if isinstance(value, Mapping) or (optional and value is None):
            continue
        what = 'a dict or None' if optional else 'a dict'
        raise TypeError(f'config key {key!r} must be {what}, like {key} = {example}; got '
                        f'{value!r}{where}')


def check_config_keys(cfg: Mapping[str, Any]) -> None:
    """Reject top-level keys that look like misspelt runtime keys; warn about other unknowns.

    ``lr_confg`` raises (did you mean ``lr_config``?); a variable of the user's own, such as
    ``my_root = 'data/'``, is only logged as unused by the trainer.
    """
    for key in cfg:
        if not isinstance(key, str) or key.startswith('_') or key in KNOWN_KEYS:
            continue
        close = difflib.get_close_matches(key, RUNTIME_KEYS, n=1, cutoff=0.8)
        if close:
            raise KeyError(f'config key {key!r} is not a known key: did you mean {close[0]!r}? '
                           f'(runtime keys: {", ".join(sorted(RUNTIME_KEYS))})')
        logger.warning('config key %r is not used by training (a helper variable of the config '
                       'file is fine)', key)


def init_random_seed(seed: int | None = None, device: str | None = None,
                     distributed: bool = True) -> int:
    """Return ``seed``, or a random seed shared by every rank when it is ``None``.

    Args:
        seed: the seed to use; ``None`` draws one (on rank 0, sent to the others).
        device: unused (0.x sent the seed through a tensor on this device; we pickle it).
        distributed: share rank 0's seed when a process group of several ranks exists.
    """
    if seed is not None:
        return seed
    seed = int(np.random.randint(2**31))
    if distributed and comm.get_world_size() > 1:
        seed = int(comm.broadcast_object(seed, src=0))
    return seed


def set_random_seed(seed: int, deterministic: bool = False) -> None:
    """Seed ``random``, NumPy, torch (and CUDA); ``deterministic`` also fixes cuDNN's choices."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def setup_multi_processes(cfg: Mapping[str, Any]) -> None:
    """Apply ``mp_start_method`` and ``opencv_num_threads``, and keep workers single-threaded.

    With several loader workers, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` default to 1
    (unless already set) so the workers do not oversubscribe the CPU cores.
    """
    import cv2
    import torch.multiprocessing as mp

    if os.name != 'nt':
        method = cfg.get('mp_start_method', 'fork')
        current = mp.get_start_method(allow_none=True)
        if current is not None and current != method:
            logger.warning('multiprocessing start method %r replaced by %r (mp_start_method)',
                           current, method)
        mp.set_start_method(method, force=True)
    cv2.setNumThreads(int(cfg.get('opencv_num_threads', 0)))
    workers = cfg.get('data', {}).get('workers_per_gpu', 1)
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        if name not in os.environ and workers > 1:
            os.environ[name] = '1'
            logger.info('set %s=1 for the data loader workers (set it yourself to change this)',
                        name)


def select_device(cfg: Mapping[str, Any], distributed: bool) -> torch.device:
    """CUDA (``LOCAL_RANK`` when distributed, else ``gpu_ids[0]``) when available, else CPU.

    ``CUDA_VISIBLE_DEVICES=-1`` hides the GPUs and so trains on the CPU.
    """
    if not torch.cuda.is_available():
        return torch.device('cpu')
    if distributed:
        return torch.device('cuda', comm.get_local_rank() % torch.cuda.device_count())
    gpu_ids = list(cfg.get('gpu_ids') or [0])
    return torch.device('cuda', gpu_ids[0])


def _precise_bn_hook(cfg: Mapping[str, Any], distributed: bool) -> PreciseBNHook:
    """``precise_bn=dict(num_iters=..., interval=...)``: a second loader of ``data.train``."""
    options = cfg['precise_bn']
    if not isinstance(options, Mapping) or set(options) - {'num_iters', 'interval'}:
        raise ValueError(f'precise_bn must be a dict with num_iters and/or interval, got '
                         f'{options!r}')
    loader_args = dataloader_args(cfg, 'train', distributed)
    loader_args.update(workers_per_gpu=1)  # as MMAction2: save memory and time
    loader = build_dataloader(build_dataset(cfg['data']['train']), **loader_args)
    return PreciseBNHook(loader, **options)


def _train_loaders(cfg: Mapping[str, Any], datasets: list[Dataset],
                   distributed: bool) -> list[DataLoader]:
    """One loader per training data set; with ``omnisource``, ``data.omni_videos_per_gpu``
    gives each its batch size."""
    args = dataloader_args(cfg, 'train', distributed)
    sizes = cfg['data'].get('omni_videos_per_gpu') if cfg.get('omnisource') else None
    if sizes is None:
        return [build_dataloader(ds, **args) for ds in datasets]
    if len(sizes) != len(datasets):
        raise ValueError(f'data.omni_videos_per_gpu has {len(sizes)} entries for '
                         f'{len(datasets)} training data sets')
    return [build_dataloader(ds, **dict(args, videos_per_gpu=size))
            for ds, size in zip(datasets, sizes)]


def _multigrid_hooks(cfg: Mapping[str, Any], distributed: bool) -> list[HookBase]:
    """``multigrid=dict(...)``: the long-cycle hook (rebuilding ``data.train`` per stage) and
    the SubBatchNorm3D aggregation hook."""
    train_cfg = cfg['data']['train']
    if 'pipeline' not in train_cfg:
        raise ValueError('multigrid needs data.train to be a dataset with a pipeline')
    default_t, _, default_s = multigrid_base_shape(train_cfg['pipeline'])
    loader_args = dataloader_args(cfg, 'train', distributed)

    def build_loader(batch_factor: int, clip_len: int, size: int) -> DataLoader:
        stage_cfg = dict(train_cfg, pipeline=stage_pipeline(train_cfg['pipeline'], clip_len, size))
        args = dict(loader_args, videos_per_gpu=loader_args['videos_per_gpu'] * batch_factor,
                    drop_last=True)
        return build_dataloader(build_dataset(stage_cfg), **args)

    return [LongShortCycleHook(cfg['multigrid'], default_t, default_s, build_loader),
            SubBatchNorm3dAggregationHook()]


def _build_hooks(cfg: Mapping[str, Any], val_loader: DataLoader | None) -> list[HookBase]:
    if cfg.get('momentum_config') is not None:
        raise ValueError('momentum_config is not supported by actionkit yet; set it to None')
    hooks: list[HookBase] = []
    lr_hook = build_lr_hook(cfg.get('lr_config'))
    if lr_hook is not None:
        hooks.append(lr_hook)
    if cfg.get('checkpoint_config') is not None:
        hooks.append(CheckpointHook(**_checkpoint_hook_args(cfg)))
    hooks.extend(build_logger_hooks(cfg.get('log_config')))
    if val_loader is not None:
        eval_cfg = dict(cfg.get('evaluation') or {})
        hook_args = {k: eval_cfg.pop(k) for k in EVAL_HOOK_KEYS if k in eval_cfg}
        hooks.append(EvalHook(val_loader, **hook_args, eval_kwargs=eval_cfg))
    for index, hook_cfg in enumerate(cfg.get('custom_hooks') or []):
        hook_cfg = dict(hook_cfg)
        priority = hook_cfg.pop('priority', 'NORMAL')
        hook = HOOKS.build(hook_cfg)
        if not isinstance(hook, HookBase):
            raise TypeError(f'custom_hooks[{index}] ({hook_cfg.get("type")}) must derive from '
                            f'actionkit.engine.hooks.HookBase')
        hook.priority = get_priority(priority)
        hooks.append(hook)
    return hooks


def _optimizer_settings(cfg: Mapping[str, Any]) -> tuple[dict | None, dict | None]:
    optimizer_config = dict(cfg.get('optimizer_config') or {})
    unknown = set(optimizer_config) - {'grad_clip'}
    if unknown:
        raise KeyError(f'optimizer_config takes only grad_clip (fp16 is the top-level key fp16), '
                       f'got {sorted(unknown)}')
    return optimizer_config.get('grad_clip'), cfg.get('fp16')


def _checkpoint_hook_args(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoint_config``, its ``meta`` holding the config text (as MMAction2's
    ``tools/train.py`` adds it) unless the config's own ``checkpoint_config.meta`` sets one."""
    args = dict(cfg['checkpoint_config'])
    text = getattr(cfg, 'pretty_text', None)
    if text is not None:
        args['meta'] = {'config': text, **dict(args.get('meta') or {})}
    return args


def _optimizer_cfg(cfg: Mapping[str, Any], world_size: int) -> dict[str, Any]:
    """``cfg.optimizer``, its lr scaled when ``auto_scale_lr.enable`` (``--auto-scale-lr``):
    by the total batch over ``auto_scale_lr.base_batch_size``, which defaults to 8 GPUs x
    ``data.videos_per_gpu`` (the batch MMAction2's configs were tuned with)."""
    optimizer_cfg = dict(cfg['optimizer'])
    scaling = cfg.get('auto_scale_lr') or {}
    if scaling.get('enable', False):
        videos_per_gpu = cfg['data'].get('videos_per_gpu', 1)
        base = scaling.get('base_batch_size', 8 * videos_per_gpu)
        optimizer_cfg = scale_lr(optimizer_cfg, base, videos_per_gpu * world_size)
    return optimizer_cfg


def train_model(model: nn.Module, dataset: Dataset | Sequence[Dataset], cfg: Any,
                distributed: bool = False, validate: bool = False,
                test: Mapping[str, bool] = dict(test_last=False, test_best=False),  # noqa: B006
                timestamp: str | None = None, meta: Mapping[str, Any] | None = None,
                extra_hooks: Sequence[HookBase] = ()) -> Trainer:
    """Train ``model`` on ``dataset`` following ``cfg`` (MMAction2 0.x's ``train_model``).

    Args:
        model: the model, on the CPU; it is moved to the device and wrapped here.
        dataset: the training dataset, or one dataset per ``cfg.workflow`` phase.
        cfg: the config (``Config`` or dict) with ``work_dir``, ``data``, ``optimizer``,
            ``total_epochs`` and the other runtime keys.
        distributed: a process group is initialised (``init_dist``); use DDP.
        validate: evaluate during training (``cfg.evaluation``) on ``cfg.data.val``.
        test: ``test_last`` / ``test_best``: after training, test the last / best checkpoint
            on ``cfg.data.test`` and write ``last_pred.pkl`` / ``best_pred.pkl``.
        timestamp: the log files' name, ``{timestamp}.log(.json)``.
        meta: run information for the logs and checkpoints (``env_info``, ``seed``, …).
        extra_hooks: more hooks, added to those the config names (``tools/train.py``'s
            mirror of a remote work dir).

    Returns:
        The trainer, after training.
    """
    check_config_types(cfg, needs_model=False)
    check_config_keys(cfg)
    if not cfg.get('work_dir'):
        raise KeyError('cfg.work_dir is not set: pass --work-dir or set work_dir in the config')
    if is_remote(cfg['work_dir']):
        raise ValueError(f"work_dir {display_path(cfg['work_dir'])}: train_model writes to a "
                         'local folder; train with tools/train.py --work-dir URL (a local '
                         'staging folder mirrored to the URL), or wrap train_model in '
                         'actionkit.engine.remote_work_dir.mirrored_work_dir')
    get_logger(log_level=cfg.get('log_level', 'INFO'))
    datasets = list(dataset) if isinstance(dataset, (list, tuple)) else [dataset]
    num_classes = getattr(getattr(model, 'cls_head', None), 'num_classes', None)
    for each in datasets:
        check_label_range(each, num_classes)
    loaders = _train_loaders(cfg, datasets, distributed)
    aux_loaders: list[DataLoader] = []
    if cfg.get('omnisource'):  # the first data set is the main one, the others auxiliary
        loaders, aux_loaders = loaders[:1], loaders[1:]
    val_loader = None
    if validate:
        val_set = build_dataset(cfg['data']['val'], dict(test_mode=True))
        check_label_range(val_set, num_classes, strict=False)  # scored as misses, as in tests
        val_loader = build_dataloader(val_set, **dataloader_args(cfg, 'val', distributed))
    device = select_device(cfg, distributed)
    if cfg.get('cudnn_benchmark', False):
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN time its kernels
    if cfg.get('channels_last', False):  # an actionkit key: NHWC convolutions (faster with AMP)
        to_channels_last(model)
    compile_options = _compile_options(cfg.get('compile', False))
    if compile_options is not None:  # an actionkit key: torch.compile, in place (same keys)
        model.compile(**compile_options)
    model = comm.wrap_model(model, device, distributed, cfg.get('find_unused_parameters', False))
    optimizer = build_optimizer(model, _optimizer_cfg(cfg, comm.get_world_size()))
    grad_clip, fp16 = _optimizer_settings(cfg)
    hooks = _build_hooks(cfg, val_loader) + list(extra_hooks)
    if cfg.get('multigrid'):
        hooks.extend(_multigrid_hooks(cfg, distributed))
    if cfg.get('precise_bn'):
        hooks.append(_precise_bn_hook(cfg, distributed))
    trainer = Trainer(model, optimizer, loaders, max_epochs=cfg['total_epochs'],
                      work_dir=cfg['work_dir'], workflow=cfg.get('workflow', [('train', 1)]),
                      hooks=hooks, grad_clip=grad_clip, fp16=fp16,
                      device=device, max_bad_sample_ratio=cfg['data'].get('max_bad_sample_ratio',
                                                                           0.01),
                      meta=meta, timestamp=timestamp, aux_loaders=aux_loaders,
                      train_ratio=cfg['data'].get('train_ratio') if cfg.get('omnisource')
                      else None)
    resume_from = cfg.get('resume_from')
    if resume_from == 'auto':
        resume_from = auto_resume_checkpoint(cfg['work_dir'])
    allow_pickle = bool(cfg.get('allow_pickle', False))
    if resume_from:
        trainer.resume(resume_from, allow_pickle=allow_pickle)
        _check_ranks_agree(trainer, resume_from)
    elif cfg.get('load_from'):
        trainer.load_weights(cfg['load_from'], allow_pickle=allow_pickle)
    trainer.run()
    comm.barrier()
    if test.get('test_last') or test.get('test_best'):
        _test_after_training(trainer, cfg, distributed, dict(test))
    return trainer


def auto_resume_checkpoint(work_dir: str) -> str | None:
    """What ``resume_from='auto'`` resumes: the newest complete checkpoint of ``work_dir``
    (:func:`~actionkit.engine.checkpoint.find_latest_checkpoint`), chosen by rank 0 and sent
    to every rank, so that all resume from the same file (a collective when distributed)."""
    chosen = comm.broadcast_object(find_latest_checkpoint(work_dir)
                                   if comm.is_main_process() else None)
    logger.info('resume_from=auto: %s', chosen or 'no checkpoint yet, starting afresh')
    return chosen


def _check_ranks_agree(trainer: Trainer, resume_from: str) -> None:
    """Every rank must go on from the same epoch and iteration (a shared work dir that showed
    the ranks different files would otherwise hang the first collective that one skips)."""
    positions = comm.all_gather((trainer.epoch, trainer.iter))
    if len(set(positions)) > 1:
        where = ', '.join(f'rank {r}: epoch {e}, iter {i}' for r, (e, i) in enumerate(positions))
        raise RuntimeError(f'the ranks resumed {resume_from} at different positions ({where}): '
                           'is the work dir shared by every node, and the same file on each?')


def _compile_options(value: Any) -> dict[str, Any] | None:
    """``compile`` of a config: False / None (off), True (``torch.compile`` defaults) or a dict
    of ``torch.compile`` arguments (``mode``, ``dynamic``, ``fullgraph``, ``backend``, …)."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f'compile must be True, False or a dict of torch.compile arguments, got '
                    f'{value!r}')


def _test_after_training(trainer: Trainer, cfg: Any, distributed: bool,
                         test: dict[str, bool]) -> None:
    runs: list[tuple[str, str | None]] = []
    if test.get('test_last'):
        runs.append(('last', None))
    if test.get('test_best'):
        best = newest_best_checkpoint(os.listdir(trainer.work_dir))
        if best is None:
            logger.warning('--test-best: no best_*.pth in %s (was --validate given?)',
                           trainer.work_dir)
        else:
            runs.append(('best', os.path.join(trainer.work_dir, best)))
    if not runs:
        return
    test_set = build_dataset(cfg['data']['test'], dict(test_mode=True))
    loader = build_dataloader(test_set, **dataloader_args(cfg, 'test', distributed))
    eval_cfg = dict(cfg.get('evaluation') or {})
    tmpdir = eval_cfg.get('tmpdir') or os.path.join(trainer.work_dir, 'tmp')
    gpu_collect = eval_cfg.get('gpu_collect', False)
    eval_kwargs = {k: v for k, v in eval_cfg.items() if k not in EVAL_HOOK_KEYS}
    for name, checkpoint in runs:
        if checkpoint is not None:
            trainer.load_weights(checkpoint)
        outputs = predict(trainer.model, loader, trainer.device, tmpdir, gpu_collect)
        if trainer.rank == 0:
            out = os.path.join(trainer.work_dir, f'{name}_pred.pkl')
            test_set.dump_results(outputs, out)
            results = test_set.evaluate(outputs, **eval_kwargs)
            logger.info('testing results of the %s checkpoint%s (saved %s):', name,
                        f' {os.path.basename(checkpoint)}' if checkpoint else '', out)
            for metric, value in results.items():
                logger.info('%s: %s', metric,
                            f'{value:.04f}' if isinstance(value, float) else value)
