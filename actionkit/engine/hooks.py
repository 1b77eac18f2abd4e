"""Hooks: code the trainer calls at fixed points of the loop, and the built-in ones.

The points, in the order the trainer reaches them::

    before_train
      before_epoch                     (once per training epoch)
        before_step -> forward -> backward -> after_backward -> optimizer step -> after_step
      after_epoch
      after_val_epoch                  (only with a ('val', n) workflow phase)
    after_train

Every method receives the :class:`~actionkit.engine.trainer.Trainer`, which exposes the
attributes mmcv's runner had (``epoch``, ``iter``, ``inner_iter``, ``max_epochs``,
``max_iters``, ``model``, ``optimizer``, ``data_loader``, ``work_dir``, ``meta``,
``log_buffer``, ``outputs``, ``rank``). Hooks written for mmcv keep working: a hook that
defines ``before_run`` / ``after_run`` / ``before_train_epoch`` / ``after_train_epoch`` /
``before_train_iter`` / ``after_train_iter`` (or ``before_iter`` / ``after_iter``) is called
there. Hooks run in ``priority`` order (mmcv's names: ``'HIGHEST'`` … ``'LOWEST'``, or an
int; lower runs first), ties in the order they were added.

Config keys map onto built-in hooks: ``lr_config`` -> an ``LrUpdaterHook``
(:mod:`~actionkit.engine.lr_schedules`), ``checkpoint_config`` -> :class:`CheckpointHook`,
``evaluation`` -> :class:`EvalHook`, ``log_config`` -> ``TextLoggerHook`` /
``TensorboardLoggerHook`` (:mod:`~actionkit.engine.logging`), ``custom_hooks`` -> any hook
registered in :data:`HOOKS`.
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from ..registry import Registry
from ..utils.checks import check_positive_int
from ..utils.fileio import display_path, is_remote, join_path
from ..utils.io_backends import resolve_io_backend
from ..utils.remote_write import check_writable_url
from . import dist as comm
from .evaluate import predict
from .checkpoint import (get_rng_state, load_resume_checkpoint, prune_checkpoints, set_rng_state,
                         unwrap_model)

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = [
    'HOOKS', 'PRIORITIES', 'HookBase', 'Hook', 'CheckpointHook', 'EvalHook', 'DistEvalHook',
    'get_priority', 'preserve_rng', 'EVAL_HOOK_KEYS', 'check_out_dir', 'out_dir_target',
    'check_metric_aliases',
]

logger = logging.getLogger(__name__)

HOOKS = Registry('hook')

PRIORITIES = {
    'HIGHEST': 0, 'VERY_HIGH': 10, 'HIGH': 30, 'ABOVE_NORMAL': 40, 'NORMAL': 50,
    'BELOW_NORMAL': 60, 'LOW': 70, 'VERY_LOW': 90, 'LOWEST': 100,
}


def get_priority(priority: int | str) -> int:
    """Turn a priority name (``'NORMAL'``) or an int in [0, 100] into an int."""
    if isinstance(priority, bool):
        raise TypeError(f'priority must be an int or one of {list(PRIORITIES)}, got {priority!r}')
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f'priority must be in [0, 100], got {priority}')
        return priority
    if isinstance(priority, str) and priority.upper() in PRIORITIES:
        return PRIORITIES[priority.upper()]
    raise ValueError(f'priority must be an int or one of {list(PRIORITIES)}, got {priority!r}')


class HookBase:
    """Base class of hooks: override the points you need; each receives the trainer."""

    priority: int = PRIORITIES['NORMAL']

    def _legacy(self, names: tuple[str, ...], trainer: Trainer) -> None:
        for name in names:
            method = getattr(self, name, None)
            if method is not None:
                method(trainer)
                return

    def before_train(self, trainer: Trainer) -> None:
        """Once, before the first epoch (after resuming)."""
        self._legacy(('before_run',), trainer)

    def after_train(self, trainer: Trainer) -> None:
        """Once, after the last epoch."""
        self._legacy(('after_run',), trainer)

    def before_epoch(self, trainer: Trainer) -> None:
        """Before every training epoch."""
        self._legacy(('before_train_epoch',), trainer)

    def after_epoch(self, trainer: Trainer) -> None:
        """After every training epoch (``trainer.epoch`` is still the 0-based epoch index)."""
        self._legacy(('after_train_epoch',), trainer)

    def before_step(self, trainer: Trainer) -> None:
        """Before every training iteration's forward pass."""
        self._legacy(('before_train_iter', 'before_iter'), trainer)

    def after_backward(self, trainer: Trainer) -> None:
        """After the backward pass, before gradient clipping and the optimizer step."""

    def after_step(self, trainer: Trainer) -> None:
        """After every training iteration's optimizer step."""
        self._legacy(('after_train_iter', 'after_iter'), trainer)

    def after_val_epoch(self, trainer: Trainer) -> None:
        """After a ``('val', n)`` workflow epoch (validation losses, no evaluation)."""

    # mmcv's helpers, for hooks that count epochs and iterations
    @staticmethod
    def every_n_epochs(trainer: Trainer, n: int) -> bool:
        return (trainer.epoch + 1) % n == 0 if n > 0 else False

    @staticmethod
    def every_n_iters(trainer: Trainer, n: int) -> bool:
        return (trainer.iter + 1) % n == 0 if n > 0 else False

    @staticmethod
    def every_n_inner_iters(trainer: Trainer, n: int) -> bool:
        return (trainer.inner_iter + 1) % n == 0 if n > 0 else False

    @staticmethod
    def end_of_epoch(trainer: Trainer) -> bool:
        return trainer.inner_iter + 1 == len(trainer.data_loader)

    @staticmethod
    def is_last_epoch(trainer: Trainer) -> bool:
        return trainer.epoch + 1 == trainer.max_epochs

    @staticmethod
    def is_last_iter(trainer: Trainer) -> bool:
        return trainer.iter + 1 == trainer.max_iters


Hook = HookBase  # mmcv's name, for ``class MyHook(Hook)``


@contextlib.contextmanager
def preserve_rng() -> Iterator[None]:
    """Run a block without changing the Python, NumPy and torch random streams.

    Evaluation draws random numbers (a data loader's seed, random test-time crops); keeping
    training's streams untouched is what makes a resumed run equal an uninterrupted one.
    """
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


@HOOKS.register_module()
class CheckpointHook(HookBase):
    """Save ``epoch_{N}.pth`` (or ``iter_{N}.pth``) and ``latest.pth`` (``checkpoint_config``).

    Args:
        interval (int): save every ``interval`` epochs (iterations when ``by_epoch=False``);
            -1 saves only the last one (with ``save_last``). Default: -1.
        by_epoch (bool): count epochs or iterations. Default: True.
        save_optimizer (bool): store the optimizer state (needed to resume). Default: True.
        out_dir (str | None): the root to save into instead of the work dir: as in mmcv,
            checkpoints go to ``out_dir/<the work dir's last part>/``. A local folder is
            written directly; an ``s3://`` / ``gs://`` prefix gets each checkpoint (and
            ``latest.pth``) uploaded right after it is saved in the work dir. Default: None.
        max_keep_ckpts (int): keep only the newest N periodic checkpoints; -1 keeps all.
            ``latest.pth`` and ``best_*.pth`` are kept regardless (and only
            ``epoch_N.pth`` / ``iter_N.pth`` names are removed, from ``out_dir`` too).
            Default: -1.
        save_last (bool): always save after the last epoch / iteration. Default: True.
        sync_buffer (bool): average the buffers (BN statistics) over the ranks before
            saving. Default: False.
        meta (dict | None): extra entries for the ``meta`` of every checkpoint the trainer
            saves, best ones included (``tools/train.py`` puts the config text there).
            Default: None.
        file_client_args (dict | None): mmcv's FileClient arguments; only
            ``dict(backend='disk')`` is taken (the path or URL says where). Default: None.
    """

    priority = PRIORITIES['NORMAL']

    def __init__(self, interval: int = -1, by_epoch: bool = True, save_optimizer: bool = True,
                 out_dir: str | None = None, max_keep_ckpts: int = -1, save_last: bool = True,
                 sync_buffer: bool = False, meta: Mapping[str, Any] | None = None,
                 file_client_args: Mapping[str, Any] | None = None) -> None:
        for key, value in (('interval', interval), ('max_keep_ckpts', max_keep_ckpts)):
            if not (type(value) is int and value == -1):  # -1: off / keep them all
                check_positive_int(None, f'checkpoint_config.{key} (or -1)', value)
        if meta is not None and not isinstance(meta, Mapping):
            raise TypeError(f'checkpoint_config.meta must be a dict, got {type(meta).__name__}')
        check_out_dir(out_dir, 'checkpoint_config', file_client_args)
        self.interval, self.by_epoch = interval, bool(by_epoch)
        self.save_optimizer, self.out_dir = bool(save_optimizer), out_dir
        self.max_keep_ckpts, self.save_last = max_keep_ckpts, bool(save_last)
        self.sync_buffer, self.meta = bool(sync_buffer), dict(meta or {})
        self._folder: str | None = None  # where checkpoints are written (before_train)
        self._remote: str | None = None  # the prefix they are uploaded to

    def before_train(self, trainer: Trainer) -> None:
        trainer.checkpoint_meta.update(self.meta)
        target = out_dir_target(self.out_dir, trainer.work_dir)
        self._folder, self._remote = (trainer.work_dir, target) if is_remote(target) else \
            (target, None)
        if target != trainer.work_dir:
            logger.info('checkpoints are saved to %s', display_path(target))

    def after_epoch(self, trainer: Trainer) -> None:
        if self.by_epoch and (self.every_n_epochs(trainer, self.interval)
                              or (self.save_last and self.is_last_epoch(trainer))):
            self._save(trainer, f'epoch_{trainer.epoch + 1}.pth', 'epoch_')

    def after_step(self, trainer: Trainer) -> None:
        if not self.by_epoch and (self.every_n_iters(trainer, self.interval)
                                  or (self.save_last and self.is_last_iter(trainer))):
            self._save(trainer, f'iter_{trainer.iter + 1}.pth', 'iter_')

    def _save(self, trainer: Trainer, name: str, prefix: str) -> None:
        if self.sync_buffer:
            _allreduce_buffers(trainer.model)
        folder = self._folder or trainer.work_dir
        trainer.save_checkpoint(os.path.join(folder, name), save_optimizer=self.save_optimizer,
                                create_latest=True)
        if trainer.rank != 0:
            return
        for path in prune_checkpoints(folder, self.max_keep_ckpts, prefix):
            logger.info('removed %s (max_keep_ckpts=%d)', path, self.max_keep_ckpts)
        if self._remote is not None:
            from .remote_work_dir import upload_checkpoint

            upload_checkpoint(folder, name, self._remote, self.max_keep_ckpts, prefix)


def check_metric_aliases(aliases: Any, where: str) -> dict[str, str]:
    """``aliases`` (metric name -> the name to show, or None) as a dict, or a TypeError
    naming ``where``."""
    if aliases is not None and not (isinstance(aliases, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in aliases.items())):
        raise TypeError(f'{where} must map metric names to names, got {aliases!r}')
    return dict(aliases or {})


def check_out_dir(out_dir: Any, owner: str, file_client_args: Mapping[str, Any] | None) -> None:
    """Refuse an ``out_dir`` that is not a path or a writable URL, and FileClient arguments
    other than the disk backend, naming ``owner``'s key."""
    resolve_io_backend('disk', f'{owner}.file_client_args', file_client_args)
    if out_dir is None:
        return
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f'{owner}.out_dir must be a folder or a URL, got {out_dir!r}')
    if is_remote(out_dir):
        check_writable_url(str(out_dir), f'{owner}.out_dir')


def out_dir_target(out_dir: str | None, work_dir: str) -> str:
    """mmcv's rule: outputs go to ``out_dir/<last part of work_dir>`` when ``out_dir`` is set
    and is not the work dir itself, else to the work dir."""
    if not out_dir or os.fspath(out_dir) == work_dir:
        return work_dir
    return join_path(os.fspath(out_dir), os.path.basename(work_dir.rstrip('/\\')))


def _allreduce_buffers(model: torch.nn.Module) -> None:
    world_size = comm.get_world_size()
    if world_size == 1:
        return
    for buf in unwrap_model(model).buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf.data.div_(world_size))


@HOOKS.register_module()
class EvalHook(HookBase):
    """Evaluate on the validation set and keep the best checkpoint (``evaluation``).

    The scores of the whole validation set are gathered on rank 0, passed to
    ``dataset.evaluate(results, **eval_kwargs)``, logged (a ``"mode": "val"`` line), and, with
    ``save_best``, the checkpoint is saved as ``best_{metric}_epoch_{N}.pth`` when the metric
    improves (the previous best file is removed).

    Args:
        dataloader (DataLoader): the validation data loader (test mode).
        start (int | None): evaluate from this epoch (iteration) on, every ``interval``;
            ``None``: at every multiple of ``interval``. With ``start`` <= the resumed epoch,
            also once before training. Default: None.
        interval (int): evaluation period in epochs (iterations). Default: 1.
        by_epoch (bool): count epochs or iterations. Default: True.
        save_best (str | None): the metric that picks the best checkpoint; ``'auto'``: the
            first metric ``evaluate`` returns; ``None``: do not keep a best checkpoint.
            Default: 'auto'.
        rule (str | None): ``'greater'`` or ``'less'``; ``None`` infers it from the metric
            name (accuracies, AR@, mAP@ … greater; losses less). Default: None.
        broadcast_bn_buffer (bool): in distributed runs, copy rank 0's BN statistics to the
            other ranks before evaluating. Default: True.
        tmpdir (str | None): shared directory for gathering results (``gpu_collect=False``);
            default ``{work_dir}/.eval_hook``. Default: None.
        gpu_collect (bool): gather results over the process group instead. Default: False.
        greater_keys (Sequence[str] | None): metric name parts for which higher is better
            (mmcv's argument; ``rule`` is inferred from them). Default: None (the class's).
        less_keys (Sequence[str] | None): the same for lower is better. Default: None.
        eval_kwargs (dict | None): passed to ``dataset.evaluate`` (``metrics``,
            ``metric_options``, …). Default: None.
        eval_last (bool): also evaluate after the last epoch (iteration) when it is not due,
            from ``start`` on, as MMAction2 1.x's loops do. Default: False.
        metric_aliases (dict | None): metric -> the name the best checkpoint's file and log
            line use (``'/'`` becomes ``'_'`` in the file name); a 1.x config's
            ``{'top1_acc': 'acc/top1'}`` gives 1.x's ``best_acc_top1_epoch_N.pth``.
            Default: None.
    """

    priority = PRIORITIES['LOW']
    greater_keys = ('acc', 'top', 'AR@', 'auc', 'precision', 'mAP@', 'Recall@')
    less_keys = ('loss',)

    def __init__(self, dataloader: DataLoader, start: int | None = None, interval: int = 1,
                 by_epoch: bool = True, save_best: str | None = 'auto', rule: str | None = None,
                 broadcast_bn_buffer: bool = True, tmpdir: str | None = None,
                 gpu_collect: bool = False, greater_keys: Sequence[str] | None = None,
                 less_keys: Sequence[str] | None = None,
                 eval_kwargs: Mapping[str, Any] | None = None, eval_last: bool = False,
                 metric_aliases: Mapping[str, str] | None = None) -> None:
        if not isinstance(dataloader, DataLoader):
            raise TypeError(f'EvalHook: dataloader must be a torch DataLoader, got '
                            f'{type(dataloader).__name__}')
        check_positive_int(None, 'evaluation.interval', interval)
        if start is not None and (not isinstance(start, int) or start < 0):
            raise ValueError(f'evaluation.start must be a non-negative int or None, got {start!r}')
        if save_best is not None and not isinstance(save_best, str):
            raise TypeError(f'evaluation.save_best must be a metric name, "auto" or None, got '
                            f'{save_best!r}')
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"evaluation.rule must be 'greater', 'less' or None, got {rule!r}")
        eval_kwargs = dict(eval_kwargs or {})
        if 'key_indicator' in eval_kwargs:
            raise ValueError('evaluation.key_indicator was renamed: use save_best instead')
        self.dataloader, self.start, self.interval = dataloader, start, interval
        self.eval_last = bool(eval_last)
        self.metric_aliases = check_metric_aliases(metric_aliases, 'evaluation.metric_aliases')
        self.by_epoch, self.save_best, self.rule = bool(by_epoch), save_best, rule
        self.broadcast_bn_buffer, self.tmpdir = broadcast_bn_buffer, tmpdir
        self.gpu_collect, self.eval_kwargs = gpu_collect, eval_kwargs
        for name, keys in (('greater_keys', greater_keys), ('less_keys', less_keys)):
            if keys is not None:
                if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
                    raise TypeError(f'evaluation.{name} must be a list of strings, got {keys!r}')
                setattr(self, name, tuple(keys))
        self.key_indicator: str | None = None
        if save_best not in (None, 'auto'):
            self._init_rule(save_best)
        self.best_ckpt_path: str | None = None
        self._initial = True

    def _init_rule(self, key: str) -> None:
        if self.rule is None:
            if any(k in key for k in self.greater_keys):
                self.rule = 'greater'
            elif any(k in key for k in self.less_keys):
                self.rule = 'less'
            else:
                raise ValueError(f'evaluation: cannot tell whether a greater or a smaller '
                                 f'{key!r} is better; set evaluation.rule to "greater" or "less"')
        self.key_indicator = key

    def before_train(self, trainer: Trainer) -> None:
        trainer.meta.setdefault('hook_msgs', {})
        if self.save_best is not None and trainer.rank == 0:
            self._recover_best(trainer)

    def _recover_best(self, trainer: Trainer) -> None:
        """After a resume, find the best checkpoint saved so far (its score is in its meta)."""
        msgs = trainer.meta['hook_msgs']
        pattern = re.compile(r'best_(?P<key>.+)_(epoch|iter)_(?P<n>\d+)\.pth')
        done = trainer.epoch if self.by_epoch else trainer.iter
        found = []
        for entry in os.listdir(trainer.work_dir) if os.path.isdir(trainer.work_dir) else []:
            match = pattern.fullmatch(entry)
            if match and int(match['n']) <= done and \
                    (self.key_indicator is None or match['key'] == self._file_key()):
                found.append((int(match['n']), entry))
        if not found:
            return
        path = os.path.join(trainer.work_dir, max(found)[1])
        try:
            meta = load_resume_checkpoint(path).get('meta', {})
        except (OSError, RuntimeError, KeyError) as err:
            logger.warning('cannot read the best score from %s (%s); the next evaluation '
                           'starts a new best', path, err)
            return
        score = meta.get('hook_msgs', {}).get('best_score')
        if score is not None:
            msgs.update(best_score=score, best_ckpt=path)
            self.best_ckpt_path = path
            logger.info('resumed best checkpoint %s (score %.4f)', path, score)

    def before_epoch(self, trainer: Trainer) -> None:
        if self.by_epoch and self._initial:
            self._initial = False
            if self.start is not None and trainer.epoch >= self.start:
                self._evaluate(trainer)

    def before_step(self, trainer: Trainer) -> None:
        if not self.by_epoch and self._initial:
            self._initial = False
            if self.start is not None and trainer.iter >= self.start:
                self._evaluate(trainer)

    def after_epoch(self, trainer: Trainer) -> None:
        if self.by_epoch and self._due(trainer.epoch, self.is_last_epoch(trainer)):
            self._evaluate(trainer)

    def after_step(self, trainer: Trainer) -> None:
        if not self.by_epoch and self._due(trainer.iter, self.is_last_iter(trainer)):
            self._evaluate(trainer)

    def _due(self, current: int, last: bool = False) -> bool:
        if last and self.eval_last and current + 1 >= (self.start or 1):
            return True
        if self.start is None:
            return (current + 1) % self.interval == 0
        if current + 1 < self.start:
            return False
        return (current + 1 - self.start) % self.interval == 0

    def _evaluate(self, trainer: Trainer) -> None:
        model = trainer.model
        was_training = model.training
        distributed = comm.get_world_size() > 1
        if distributed and self.broadcast_bn_buffer:
            for module in model.modules():
                if isinstance(module, _BatchNorm) and module.track_running_stats:
                    dist.broadcast(module.running_var, 0)
                    dist.broadcast(module.running_mean, 0)
        with preserve_rng():
            results = predict(model, self.dataloader, trainer.device,
                              tmpdir=self.tmpdir or os.path.join(trainer.work_dir, '.eval_hook'),
                              gpu_collect=self.gpu_collect)
        model.train(was_training)
        decision = None
        if trainer.rank == 0:
            key_score = self._score(trainer, results)
            decision = self._decide(trainer, key_score)
        # saving is collective, so every rank follows rank 0's decision
        decision = comm.broadcast_object(decision, src=0)
        if decision is not None:
            self._save_best(trainer, *decision)

    def _score(self, trainer: Trainer, results: list[Any]) -> float | None:
        eval_res = self.dataloader.dataset.evaluate(results, **self.eval_kwargs)
        if not isinstance(eval_res, Mapping) or not eval_res:
            raise TypeError(f'{type(self.dataloader.dataset).__name__}.evaluate must return a '
                            f'non-empty dict of metrics, got {eval_res!r}')
        for name, value in eval_res.items():
            trainer.log_buffer.output[name] = value
        trainer.log_buffer.output['eval_iter_num'] = len(self.dataloader)
        trainer.log_buffer.ready = True
        if self.save_best is None:
            return None
        if self.key_indicator is None:
            self._init_rule(next(iter(eval_res)))
        if self.key_indicator not in eval_res:
            raise KeyError(f'evaluation.save_best={self.key_indicator!r} is not among the '
                           f'metrics evaluate returned: {list(eval_res)}')
        return float(eval_res[self.key_indicator])

    def _file_key(self) -> str:
        """The metric's part of the best checkpoint's file name."""
        key = str(self.key_indicator)
        return self.metric_aliases.get(key, key).replace('/', '_')

    def _decide(self, trainer: Trainer, key_score: float | None) -> tuple[str, float] | None:
        """``(path, score)`` of the new best checkpoint, or ``None`` (rank 0 only)."""
        if key_score is None or math.isnan(key_score):
            return None
        best = trainer.meta['hook_msgs'].get(
            'best_score', -math.inf if self.rule == 'greater' else math.inf)
        if not (key_score > best if self.rule == 'greater' else key_score < best):
            return None
        kind, count = ('epoch', trainer.epoch + 1) if self.by_epoch else ('iter', trainer.iter + 1)
        name = f'best_{self._file_key()}_{kind}_{count}.pth'
        return os.path.join(trainer.work_dir, name), key_score

    def _save_best(self, trainer: Trainer, path: str, key_score: float) -> None:
        trainer.meta['hook_msgs'].update(best_score=key_score, best_ckpt=path)
        trainer.save_checkpoint(path, save_optimizer=True, create_latest=False)
        if trainer.rank == 0:
            if self.best_ckpt_path and self.best_ckpt_path != path and \
                    os.path.isfile(self.best_ckpt_path):
                os.remove(self.best_ckpt_path)
            logger.info('best %s is %.4f; saved %s',
                        self.metric_aliases.get(self.key_indicator, self.key_indicator), key_score,
                        os.path.basename(path))
        self.best_ckpt_path = path


DistEvalHook = EvalHook  # 0.x's name; EvalHook itself handles distributed runs

#: The keys of a config's ``evaluation`` dict that configure :class:`EvalHook` (its arguments);
#: the others are ``dataset.evaluate`` arguments (``metrics``, ``metric_options`` ...).
EVAL_HOOK_KEYS = tuple(name for name in inspect.signature(EvalHook.__init__).parameters
                       if name not in ('self', 'dataloader', 'eval_kwargs'))
