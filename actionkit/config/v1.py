"""MMAction2 1.x (mmengine-style) config files at the edge: recognise them, then translate.

A 1.x file loads unchanged with :class:`~actionkit.config.Config` (``_base_``, ``_delete_``,
``default_scope`` are plain keys). :func:`config_version` tells a 1.x file from a 0.x one by its
keys (``train_dataloader``, ``optim_wrapper``, ``param_scheduler``, a ``train_cfg`` that is a
loop … against ``data``, ``optimizer``, ``lr_config``, ``total_epochs`` …) and refuses a file
that mixes both. :func:`translate_v1` turns the 1.x vocabulary into the keys the one engine
runs (``data``, ``optimizer``, ``lr_config``, ``checkpoint_config``, ``evaluation``, …): a pure
dict-to-dict step that builds nothing, so ``model`` and every ``dataset`` dict pass through
exactly as written (the model and dataset builders accept the 1.x dicts).

Example:
    >>> cfg = dict(train_dataloader=dict(batch_size=8, dataset=dict(type='VideoDataset')),
    ...            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=3),
    ...            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)))
    >>> config_version(cfg)
    '1.x'
    >>> engine_cfg, run = translate_v1(cfg)
    >>> engine_cfg['total_epochs'], engine_cfg['data']['videos_per_gpu']
    (3, 8)
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from .config import Config
from .configdict import close_matches

__all__ = ['V0_KEYS', 'V1_KEYS', 'config_version', 'check_not_mixed', 'translate_v1',
           'engine_config', 'V1_METRIC_NAMES']

logger = logging.getLogger(__name__)

# top-level keys only one of the two versions writes; what each 0.x key became in 1.x
V0_KEYS = {
    'data': 'train_dataloader / val_dataloader / test_dataloader (batch_size, num_workers, '
            'dataset=...)',
    'optimizer': 'optim_wrapper=dict(optimizer=...)',
    'optimizer_config': 'optim_wrapper.clip_grad',
    'lr_config': 'param_scheduler=[dict(type=...LR, ...)]',
    'momentum_config': 'param_scheduler (a momentum scheduler)',
    'total_epochs': "train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=...)",
    'checkpoint_config': 'default_hooks.checkpoint',
    'log_config': 'default_hooks.logger',
    'evaluation': 'val_evaluator and train_cfg.val_interval',
    'workflow': 'train_cfg (a loop)',
    'resume_from': 'resume=True with load_from=...',
    'dist_params': 'env_cfg.dist_cfg',
    'fp16': "optim_wrapper=dict(type='AmpOptimWrapper')",
}
V1_KEYS = {
    'train_dataloader': 'data.train and data.videos_per_gpu / workers_per_gpu',
    'val_dataloader': 'data.val',
    'test_dataloader': 'data.test',
    'optim_wrapper': 'optimizer (and optimizer_config.grad_clip, fp16)',
    'param_scheduler': 'lr_config',
    'default_hooks': 'checkpoint_config / log_config',
    'val_evaluator': 'evaluation.metrics',
    'test_evaluator': 'the --eval metrics of tools/test.py',
    'val_cfg': 'evaluation',
    'env_cfg': 'cudnn_benchmark / mp_start_method / dist_params',
    'randomness': 'seed (and --deterministic)',
    'log_processor': 'log_config',
    'default_scope': '(nothing: drop it)',
    'resume': 'resume_from',
    'visualizer': '(nothing: drop it)',
    'vis_backends': 'log_config.hooks',
}
# AccMetric's names (prefix 'acc/') against the engine's
V1_METRIC_NAMES = {'acc/top1': 'top1_acc', 'acc/top5': 'top5_acc',
                   'acc/mean1': 'mean_class_accuracy',
                   'acc/mean_average_precision': 'mean_average_precision',
                   'acc/mmit_mean_average_precision': 'mmit_mean_average_precision'}
_V1_ALIASES = {engine: v1 for v1, engine in V1_METRIC_NAMES.items()}
_LOOP_KEYS = ('type', 'max_epochs', 'max_iters', 'val_begin', 'val_interval',
              'dynamic_intervals')
_HOOK_TYPES = {'runtime_info': 'RuntimeInfoHook', 'timer': 'IterTimerHook',
               'logger': 'LoggerHook', 'param_scheduler': 'ParamSchedulerHook',
               'checkpoint': 'CheckpointHook', 'sampler_seed': 'DistSamplerSeedHook',
               'sync_buffers': 'SyncBuffersHook', 'visualization': 'VisualizationHook'}
_CHECKPOINT_KEYS = {'interval': 'interval', 'by_epoch': 'by_epoch',
                    'save_optimizer': 'save_optimizer', 'out_dir': 'out_dir',
                    'max_keep_ckpts': 'max_keep_ckpts', 'save_last': 'save_last'}
_METRICS = ('AccMetric', 'ANetMetric')


def _is_loop(value: Any) -> bool:
    return isinstance(value, Mapping) and any(key in value for key in _LOOP_KEYS)


def _keys_of_each(cfg: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    # 1.x base files may keep the optimizer in a helper variable named optimizer (adam_20e.py)
    helper = ('optimizer',) if 'optim_wrapper' in cfg else ()
    old = [key for key in V0_KEYS if key in cfg and key not in helper]
    new = [key for key in V1_KEYS if key in cfg]
    new += [key for key in ('train_cfg', 'test_cfg') if _is_loop(cfg.get(key))]
    return old, new


def check_not_mixed(cfg: Mapping[str, Any], filename: str | None = None) -> None:
    """Raise ``ValueError`` naming the 0.x and the 1.x keys when ``cfg`` holds both kinds."""
    old, new = _keys_of_each(cfg)
    if not (old and new):
        return
    where = f'config file {filename}' if filename else 'the config'
    renames = '; '.join(f'{key} -> {V0_KEYS[key]}' for key in old)
    raise ValueError(
        f'{where} mixes MMAction2 0.x keys ({", ".join(old)}) with MMAction2 1.x keys '
        f'({", ".join(new)}); a file must be written in one of the two. To keep it 1.x, '
        f'replace the 0.x keys (look in its _base_ files too): {renames}. Or write it all in '
        f'0.x keys (see docs/getting_started.md, "MMAction2 1.x configs").')


def config_version(cfg: Mapping[str, Any], filename: str | None = None) -> str:
    """``'1.x'`` for an mmengine-style config, ``'0.x'`` otherwise (also for a config with
    neither kind of key); a config that mixes both raises ``ValueError``."""
    check_not_mixed(cfg, filename)
    return '1.x' if _keys_of_each(cfg)[1] else '0.x'


# why a 1.x type the translation meets is not run
_NOT_RUN = {
    'AVAMetric': "MMAction2 1.x's detection configs are not translated; actionkit runs "
                 "MMAction2 0.x's AVA configs (configs/detection/)",
    'MultiSportsMetric': 'spatio-temporal detection on MultiSports is not in actionkit',
    'RetrievalMetric': 'the multimodal / retrieval models need text models actionkit does '
                       'not ship',
    'VQAAcc': 'the multimodal models need text models actionkit does not ship',
    'VQAMCACC': 'the multimodal models need text models actionkit does not ship',
    'RetrievalValLoop': 'the retrieval models need text models actionkit does not ship',
    'RetrievalTestLoop': 'the retrieval models need text models actionkit does not ship',
    'RecallatTopK': "DRN's grounding metric is not in actionkit",
    'MultiLoaderEpochBasedTrainLoop': 'several training loaders (1.x omnisource) are not '
                                      'translated; use the 0.x omnisource config',
    'IterBasedTrainLoop': 'actionkit trains by epochs; use EpochBasedTrainLoop',
}


def _check_type(value: Any, where: str, allowed: tuple[str, ...], default: str) -> str:
    kind = value.get('type', default) if isinstance(value, Mapping) else None
    if kind not in allowed:
        reason = f' ({_NOT_RUN[kind]})' if kind in _NOT_RUN else \
            f';{close_matches(kind, allowed)}'
        raise ValueError(f'{where}: type {kind!r} is not supported{reason}; supported: '
                         f'{", ".join(allowed)}')
    return kind


def _unknown(section: Mapping[str, Any], allowed: Any, where: str) -> None:
    for key in section:
        if key not in allowed:
            raise KeyError(f'{where} has an unknown key {key!r}.{close_matches(key, allowed)} '
                           f'Keys it takes: {", ".join(sorted(allowed))}')


# ---------------------------------------------------------------------------------------------
# data loaders
# ---------------------------------------------------------------------------------------------
_LOADER_KEYS = ('batch_size', 'num_workers', 'persistent_workers', 'sampler', 'dataset',
                'pin_memory', 'drop_last', 'collate_fn', 'prefetch_factor')


def _loader(cfg: Mapping[str, Any], key: str) -> tuple[dict[str, Any], Any]:
    """``{kind}_dataloader`` -> (loader arguments in the engine's names, the dataset dict)."""
    section = cfg[key]
    if not isinstance(section, Mapping) or 'dataset' not in section:
        raise ValueError(f'{key} must be a dict with a dataset, like {key} = dict(batch_size=8, '
                         f'num_workers=2, dataset=dict(type=...)), got {section!r}')
    _unknown(section, _LOADER_KEYS, key)
    args: dict[str, Any] = {}
    for old, new in (('batch_size', 'videos_per_gpu'), ('num_workers', 'workers_per_gpu'),
                     ('persistent_workers', 'persistent_workers'), ('pin_memory', 'pin_memory'),
                     ('drop_last', 'drop_last'), ('prefetch_factor', 'prefetch_factor')):
        if old in section:
            args[new] = section[old]
    sampler = section.get('sampler') or {}
    kind = _check_type(sampler, f'{key}.sampler', ('DefaultSampler', 'InfiniteSampler'),
                       'DefaultSampler')
    if kind == 'InfiniteSampler':
        raise ValueError(f'{key}.sampler: InfiniteSampler goes with iteration-based loops, '
                         'which actionkit does not run; use DefaultSampler')
    _unknown(sampler, ('type', 'shuffle', 'seed', 'round_up'), f'{key}.sampler')
    if 'shuffle' in sampler:
        args['shuffle'] = bool(sampler['shuffle'])
    collate = section.get('collate_fn')
    # repeat_pseudo_collate: RepeatAugDataset's repeats, which our collate flattens as 1.x does
    if collate is not None and dict(collate).get('type') not in (
            'pseudo_collate', 'default_collate', 'repeat_pseudo_collate'):
        raise ValueError(f'{key}.collate_fn={collate!r}: only pseudo_collate / '
                         'default_collate / repeat_pseudo_collate (the engine stacks the batch '
                         'itself)')
    return args, copy.deepcopy(section['dataset'])


def _data(cfg: Mapping[str, Any], validate: bool, purpose: str) -> dict[str, Any]:
    """The loaders ``purpose`` needs: train (+ val when validating) or test, as 1.x's runner
    builds only the loaders of the loops it runs."""
    train = purpose == 'train' and cfg.get('train_dataloader') is not None
    train_args, train_set = _loader(cfg, 'train_dataloader') if train else ({}, None)
    data: dict[str, Any] = dict(videos_per_gpu=train_args.pop('videos_per_gpu', 1),
                                workers_per_gpu=train_args.pop('workers_per_gpu', 1),
                                persistent_workers=train_args.pop('persistent_workers', False))
    if train_set is not None:
        data['train'] = train_set
    if train_args:
        data['train_dataloader'] = train_args
    for kind in ('val', 'test'):
        key = f'{kind}_dataloader'
        wanted = validate if kind == 'val' else purpose == 'test'
        if cfg.get(key) is None or not wanted:
            continue
        args, dataset = _loader(cfg, key)
        data[kind] = dataset
        data[key] = dict(dict(videos_per_gpu=1, workers_per_gpu=1, persistent_workers=False),
                         **args)
    return data


# ---------------------------------------------------------------------------------------------
# loops, optimizer, schedule
# ---------------------------------------------------------------------------------------------
def _loops(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``train_cfg`` -> ``total_epochs`` and when to validate (``val_begin``, ``val_interval``:
    after epoch ``e`` (1-based) when ``e >= val_begin`` and ``e % val_interval == 0`` or ``e`` is
    the last epoch, as 1.x)."""
    out: dict[str, Any] = {}
    train_cfg = cfg.get('train_cfg')
    if train_cfg is not None:
        _check_type(train_cfg, 'train_cfg', ('EpochBasedTrainLoop',), 'EpochBasedTrainLoop')
        _unknown(train_cfg, ('type', 'max_epochs', 'val_begin', 'val_interval'), 'train_cfg')
        if 'max_epochs' not in train_cfg:
            raise KeyError('train_cfg needs max_epochs, like train_cfg = dict('
                           "type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)")
        out['total_epochs'] = train_cfg['max_epochs']
        begin, interval = train_cfg.get('val_begin', 1), train_cfg.get('val_interval', 1)
        if not isinstance(interval, int) or interval < 1 or not isinstance(begin, int):
            raise ValueError(f'train_cfg.val_interval must be an int >= 1 and val_begin an int, '
                             f'got val_interval={interval!r}, val_begin={begin!r}')
        # the engine's rule: after epoch e when e >= start and (e - start) % interval == 0
        # (start=None: every multiple of interval, and no validation before a resumed run)
        start = -(-begin // interval) * interval
        out['evaluation'] = dict(interval=interval, eval_last=True,
                                 start=start if start > interval else None)
    for key, loop in (('val_cfg', 'ValLoop'), ('test_cfg', 'TestLoop')):
        if cfg.get(key) is not None:
            _check_type(cfg[key], key, (loop,), loop)
            _unknown(cfg[key], ('type', 'fp16'), key)
    return out


_CONSTRUCTORS = {'DefaultOptimWrapperConstructor': 'DefaultOptimizerConstructor',
                 'TSMOptimWrapperConstructor': 'TSMOptimizerConstructor'}


def _optim(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``optim_wrapper`` -> ``optimizer`` (with ``paramwise_cfg``/``constructor``),
    ``optimizer_config.grad_clip`` and ``fp16`` (``AmpOptimWrapper``)."""
    wrapper = cfg.get('optim_wrapper')
    if wrapper is None:
        return {}
    kind = _check_type(wrapper, 'optim_wrapper', ('OptimWrapper', 'AmpOptimWrapper'),
                       'OptimWrapper')
    _unknown(wrapper, ('type', 'optimizer', 'clip_grad', 'paramwise_cfg', 'constructor',
                       'accumulative_counts', 'loss_scale', 'dtype'), 'optim_wrapper')
    if 'optimizer' not in wrapper:
        raise KeyError("optim_wrapper needs an optimizer, like optim_wrapper = dict(optimizer="
                       "dict(type='SGD', lr=0.01, momentum=0.9))")
    if wrapper.get('accumulative_counts', 1) != 1:
        raise ValueError(f'optim_wrapper.accumulative_counts={wrapper["accumulative_counts"]!r}'
                         ': gradient accumulation is not supported; raise batch_size instead')
    optimizer = dict(wrapper['optimizer'])
    if wrapper.get('paramwise_cfg') is not None:
        optimizer['paramwise_cfg'] = dict(wrapper['paramwise_cfg'])
    if wrapper.get('constructor') is not None:
        optimizer['constructor'] = _CONSTRUCTORS.get(wrapper['constructor'],
                                                     wrapper['constructor'])
    out: dict[str, Any] = dict(optimizer=optimizer,
                               optimizer_config=dict(grad_clip=wrapper.get('clip_grad')))
    if kind == 'AmpOptimWrapper':
        fp16 = dict(loss_scale=wrapper.get('loss_scale', 'dynamic'))
        if wrapper.get('dtype') is not None:
            fp16['dtype'] = wrapper['dtype']
        out['fp16'] = fp16
    elif 'loss_scale' in wrapper or 'dtype' in wrapper:
        raise ValueError("optim_wrapper: loss_scale/dtype go with type='AmpOptimWrapper'")
    return out


def _schedule(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``param_scheduler`` (a dict or a list) -> ``lr_config`` run by the engine's
    ``ParamSchedulerHook``, which checks each scheduler's type and keys."""
    schedulers = cfg.get('param_scheduler')
    if schedulers is None:
        return dict(lr_config=None)
    if isinstance(schedulers, Mapping):
        schedulers = [schedulers]
    if not isinstance(schedulers, (list, tuple)) or not all(
            isinstance(each, Mapping) and 'type' in each for each in schedulers):
        raise TypeError(f"param_scheduler must be a dict or a list of dicts with a 'type', "
                        f'got {schedulers!r}')
    return dict(lr_config=dict(type='ParamSchedulerHook',
                               schedulers=[dict(each) for each in schedulers]))


# ---------------------------------------------------------------------------------------------
# hooks, evaluators
# ---------------------------------------------------------------------------------------------
def _engine_metric(name: Any) -> Any:
    return V1_METRIC_NAMES.get(name, name) if isinstance(name, str) else name


def _default_hooks(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``default_hooks`` -> (``checkpoint_config``/``log_config``, the ``evaluation`` keys
    ``save_best``/``rule`` that 1.x sets on its checkpoint hook)."""
    given = cfg.get('default_hooks') or {}
    _unknown(given, _HOOK_TYPES, 'default_hooks')
    # 1.x's runner starts from its default hooks and lets default_hooks replace (None: remove)
    # them one by one: a checkpoint every epoch and a logger every 10 iterations
    hooks = dict(dict(logger=dict(type='LoggerHook', interval=10),
                      checkpoint=dict(type='CheckpointHook', interval=1)), **given)
    for name, hook in hooks.items():
        if hook is not None:
            _check_type(hook, f'default_hooks.{name}', (_HOOK_TYPES[name],), _HOOK_TYPES[name])
    out: dict[str, Any] = dict(checkpoint_config=None, log_config=None)
    best: dict[str, Any] = dict(save_best=None)  # 1.x keeps a best checkpoint only when asked
    checkpoint = hooks.get('checkpoint')
    if checkpoint is not None:
        _unknown(checkpoint, ('type', 'save_best', 'rule', 'greater_keys', 'less_keys',
                              'published_keys', 'filename_tmpl', 'save_param_scheduler',
                              'file_client_args', 'backend_args', *_CHECKPOINT_KEYS),
                 'default_hooks.checkpoint')
        out['checkpoint_config'] = {new: checkpoint[old] for old, new in _CHECKPOINT_KEYS.items()
                                    if old in checkpoint}
        best = dict(save_best=_engine_metric(checkpoint.get('save_best')),
                    metric_aliases=_V1_ALIASES)  # 1.x's best_acc_top1_epoch_N.pth
        for key in ('rule', 'greater_keys', 'less_keys'):
            if checkpoint.get(key) is not None:
                best[key] = checkpoint[key]
    log = hooks.get('logger')
    if log is not None:
        _unknown(log, ('type', 'interval', 'ignore_last', 'interval_exp_name', 'out_dir',
                       'out_suffix', 'keep_local', 'file_client_args', 'log_metric_by_epoch',
                       'backend_args'), 'default_hooks.logger')
        # mmengine's lines in the text log, the metrics under their 1.x names
        text = dict(type='TextLoggerHook', ignore_last=log.get('ignore_last', True),
                    line_style='mmengine', metric_aliases=_V1_ALIASES,
                    **{k: log[k] for k in ('out_dir', 'out_suffix', 'keep_local') if k in log})
        backends = [b.get('type') for b in cfg.get('vis_backends') or [] if isinstance(b, Mapping)]
        # V1WorkDirHook: mmengine's {timestamp}/vis_data/scalars.json and last_checkpoint
        layout = dict(type='V1WorkDirHook', ignore_last=text['ignore_last'],
                      metric_aliases=_V1_ALIASES)
        out['log_config'] = dict(interval=log.get('interval', 10), hooks=[text, layout] + [
            dict(type='TensorboardLoggerHook') for b in backends if b == 'TensorboardVisBackend'])
    return out, best


def _metrics(evaluator: Any, where: str) -> dict[str, Any]:
    """``val_evaluator``/``test_evaluator`` (a dict or a list) -> ``metrics`` and
    ``metric_options`` for ``dataset.evaluate`` (plus ``output_config`` for ANetMetric's dump)."""
    evaluators = [evaluator] if isinstance(evaluator, Mapping) else list(evaluator)
    metrics: list[str] = []
    options: dict[str, Any] = {}
    output: dict[str, Any] = {}
    for index, each in enumerate(evaluators):
        at = where if len(evaluators) == 1 else f'{where}[{index}]'
        kind = _check_type(each, at, _METRICS, '')
        if kind == 'AccMetric':
            _unknown(each, ('type', 'metric_list', 'metric_options', 'collect_device',
                            'prefix'), at)
            names = each.get('metric_list', ('top_k_accuracy', 'mean_class_accuracy'))
            metrics += [names] if isinstance(names, str) else list(names)
            options.update(dict(each.get('metric_options',
                                         dict(top_k_accuracy=dict(topk=(1, 5))))))
        else:
            _unknown(each, ('type', 'metric_type', 'dump_config', 'collect_device', 'prefix',
                            'metric_options'), at)
            if each.get('metric_type', 'TEM') == 'AR@AN':
                metrics.append('AR@AN')
                options.update(dict(each.get('metric_options') or {}))
            output = dict(each.get('dump_config') or {})
    out: dict[str, Any] = dict(metrics=metrics) if metrics else {}
    if options and metrics:
        out['metric_options'] = options
    return dict(out, output_config=output) if output else out


# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
def _runtime(cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``load_from``/``resume``, ``env_cfg``, ``randomness`` -> engine keys and run settings."""
    out: dict[str, Any] = {}
    load_from = cfg.get('load_from')
    if cfg.get('resume', False):  # 1.x: resume from load_from, or the work dir's latest
        out['resume_from'] = load_from or 'auto'
    elif load_from:
        out['load_from'] = load_from
    env = dict(cfg.get('env_cfg') or {})
    _unknown(env, ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'seed', 'resource_limit'),
             'env_cfg')
    if 'cudnn_benchmark' in env:
        out['cudnn_benchmark'] = bool(env['cudnn_benchmark'])
    mp_cfg = dict(env.get('mp_cfg') or {})
    _unknown(mp_cfg, ('mp_start_method', 'opencv_num_threads'), 'env_cfg.mp_cfg')
    out.update(mp_cfg)
    dist_cfg = dict(env.get('dist_cfg') or {})
    if dist_cfg:
        out['dist_params'] = dist_cfg
    randomness = dict(cfg.get('randomness') or {})
    _unknown(randomness, ('seed', 'deterministic', 'diff_rank_seed'), 'randomness')
    run = dict(seed=randomness.get('seed'),
               deterministic=bool(randomness.get('deterministic', False)),
               diff_rank_seed=bool(randomness.get('diff_rank_seed', False)))
    return out, run


# 1.x custom hooks with nothing to do here: the engine frees no CUDA cache (a memory tweak only)
_NO_OP_HOOKS = ('EmptyCacheHook',)


def _custom_hooks(hooks: Any) -> list[Any]:
    """``custom_hooks``, less the 1.x hooks that change nothing in actionkit; the others are
    looked up in the engine's HOOKS registry when training starts."""
    kept = []
    for hook in hooks or []:
        if isinstance(hook, Mapping) and hook.get('type') in _NO_OP_HOOKS:
            logger.info('custom_hooks: %s is not needed by actionkit; left out', hook['type'])
            continue
        kept.append(copy.deepcopy(hook))
    return kept


_DROPPED = ('default_scope', 'log_processor', 'visualizer', 'vis_backends', 'launcher',
            'train_cfg', 'val_cfg', 'test_cfg', 'train_dataloader', 'val_dataloader',
            'test_dataloader', 'optim_wrapper', 'param_scheduler', 'default_hooks',
            'val_evaluator', 'test_evaluator', 'env_cfg', 'randomness', 'resume',
            'model_wrapper_cfg', 'load_from')
_HELD = ('model', 'work_dir', 'log_level', 'auto_scale_lr', 'custom_hooks',
         'find_unused_parameters', 'custom_imports')


def translate_v1(cfg: Mapping[str, Any], filename: str | None = None, purpose: str = 'train'
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Translate a 1.x config into the keys the engine runs; build nothing.

    Args:
        cfg: the loaded 1.x config (``--cfg-options`` already merged, in 1.x names).
        filename: the config file, for messages.
        purpose: ``'train'`` (``data.train``, and ``data.val`` when the file validates) or
            ``'test'`` (``data.test``): the loaders the run needs, as 1.x builds only those.

    Returns:
        ``(engine_cfg, run)``: ``engine_cfg`` holds ``model`` and every dataset dict unchanged,
        ``data`` (loaders), ``total_epochs``, ``optimizer``, ``optimizer_config``, ``fp16``,
        ``lr_config``, ``checkpoint_config``, ``log_config``, ``evaluation``, ``eval_config``
        (the test metrics), ``output_config``, ``load_from``/``resume_from`` and the
        environment keys, plus the config's own helper variables; ``run`` holds what the command
        line decides: ``validate``, ``seed``, ``deterministic``, ``diff_rank_seed``.

    Raises:
        ValueError / KeyError / TypeError: a mixed 0.x/1.x file, a type actionkit does not run
            (naming the nearest supported one), an unknown key in a section.
    """
    if config_version(cfg, filename) != '1.x':
        raise ValueError(f'{filename or "the config"} is not an MMAction2 1.x config (no '
                         f'train_dataloader, optim_wrapper, param_scheduler, ...)')
    if purpose not in ('train', 'test'):
        raise ValueError(f"purpose must be 'train' or 'test', got {purpose!r}")
    validate = purpose == 'train' and all(cfg.get(key) is not None
                   for key in ('val_dataloader', 'val_cfg', 'val_evaluator'))
    out = {key: copy.deepcopy(value) for key, value in cfg.items()
           if key not in _DROPPED and key not in _HELD}  # the file's helper variables
    out.update({key: copy.deepcopy(cfg[key]) for key in _HELD if key in cfg})
    out['data'] = _data(cfg, validate, purpose)
    loops = _loops(cfg)
    out.update(_optim(cfg))
    out.update(_schedule(cfg))
    hooks, best = _default_hooks(cfg)
    out.update(hooks)
    evaluation = dict(loops.pop('evaluation', {}), **best)
    if validate:
        evaluation.update(_metrics(cfg['val_evaluator'], 'val_evaluator'))
        evaluation.pop('output_config', None)
    out.update(loops)
    out['evaluation'] = evaluation
    if cfg.get('test_evaluator') is not None:
        test = _metrics(cfg['test_evaluator'], 'test_evaluator')
        if 'output_config' in test:
            out['output_config'] = test.pop('output_config')
        out['eval_config'] = test
    runtime, run = _runtime(cfg)
    out.update(runtime)
    out['custom_hooks'] = _custom_hooks(cfg.get('custom_hooks'))
    if cfg.get('model_wrapper_cfg') is not None:
        logger.warning('model_wrapper_cfg is ignored: actionkit wraps the model in '
                       'DistributedDataParallel itself')
    return out, dict(run, validate=validate)


def engine_config(cfg: Config, purpose: str = 'test') -> Config:
    """``cfg`` as the engine reads it: a 1.x config translated for ``purpose`` (its text and
    file name kept), a 0.x one as it is. ``init_recognizer`` uses this, so a 1.x config's
    ``test_dataloader.dataset.pipeline`` is what inference runs (as ``data.test.pipeline``)."""
    if config_version(cfg, cfg.filename) != '1.x':
        return cfg
    translated, _ = translate_v1(cfg, cfg.filename, purpose=purpose)
    return Config(translated, cfg_text=cfg.text, filename=cfg.filename)
