"""The training loop: epochs of forward, backward and optimizer steps, with hooks around them.

Read :meth:`Trainer.run_step` for one iteration and :meth:`Trainer.train_epoch` for an epoch;
everything else (lr schedule, checkpoints, evaluation, logs) is a hook
(:mod:`~actionkit.engine.hooks`) called at ``before_train``, ``before_epoch``, ``before_step``,
``after_backward``, ``after_step``, ``after_epoch`` and ``after_train``.

Example:
    >>> trainer = Trainer(model, optimizer, [train_loader], max_epochs=2,
    ...                   work_dir='work_dirs/demo', hooks=[CheckpointHook(interval=1)])
    >>> trainer.run()  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..utils.checks import check_positive_int
from ..models.recognizers.base import parse_losses
from ..models.weights import load_checkpoint
from . import dist as comm
from .checkpoint import (get_rng_state, remove_stale_temp_files, save_checkpoint, set_rng_state,
                         unwrap_model, update_latest)
from .hooks import HookBase, get_priority
from .loader_position import epoch_batches, loader_position
from .omnisource import check_train_ratio, cycle, set_loader_epoch
from .logging import LogBuffer

__all__ = ['Trainer', 'BadSampleCounter']

logger = logging.getLogger(__name__)

WORKFLOW_MODES = ('train', 'val')


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _batch_size(batch: Mapping[str, Any]) -> int:
    value = batch.get('imgs', next(iter(batch.values()), None))
    return len(value) if value is not None else 0


def _samples_per_epoch(loader: DataLoader) -> int:
    sampler = getattr(loader, 'sampler', None)
    try:
        return len(sampler) if sampler is not None else len(loader.dataset)
    except TypeError:
        return len(loader) * (loader.batch_size or 1)


class BadSampleCounter:
    """Count the samples the data loader had to skip, and stop when there are too many.

    Each bad sample is logged once (with its path and reason); each epoch ends with a summary.

    Args:
        max_ratio (float): the largest tolerated fraction of bad samples in an epoch
            (``data.max_bad_sample_ratio``). Default: 0.01.
    """

    def __init__(self, max_ratio: float = 0.01) -> None:
        if not isinstance(max_ratio, (int, float)) or not 0 <= max_ratio <= 1:
            raise ValueError(f'data.max_bad_sample_ratio must be in [0, 1], got {max_ratio!r}')
        self.max_ratio = float(max_ratio)
        self.count, self.total, self.epoch = 0, 0, 0
        self.seen: list[Any] = []
        self._warned: set[Any] = set()

    def start_epoch(self, epoch: int, total: int) -> None:
        self.count, self.total, self.epoch, self.seen = 0, total, epoch, []

    def take(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Remove ``batch['bad_samples']``, count them, and raise when over the limit."""
        bad = batch.pop('bad_samples', None) or []
        for sample in bad:
            key = (getattr(sample, 'index', None), getattr(sample, 'path', None))
            if key not in self._warned:
                self._warned.add(key)
                logger.warning('skipped a bad sample (index %s): %s: %s', key[0], key[1],
                               getattr(sample, 'reason', sample))
        self.count += len(bad)
        self.seen.extend(bad[:max(0, 5 - len(self.seen))])
        if bad and self.count > self.max_ratio * self.total:
            examples = ', '.join(str(getattr(s, 'path', s)) for s in self.seen)
            raise RuntimeError(
                f'{self.count} of the {self.total} samples of epoch {self.epoch} could not be '
                f'loaded, more than data.max_bad_sample_ratio={self.max_ratio} allows; first '
                f'ones: {examples}. Fix or remove them from the annotation file (tools/data has '
                f'checkers), or raise data.max_bad_sample_ratio')
        return batch

    def end_epoch(self) -> None:
        if self.count:
            logger.warning('epoch %d: %d of %d samples were bad and skipped', self.epoch,
                           self.count, self.total)


class Trainer:
    """Train a model for ``max_epochs`` epochs, following a workflow of train / val phases.

    Args:
        model (nn.Module): the model, already on ``device`` (and DDP-wrapped when
            distributed). It is called as ``model(**batch, return_loss=True)``.
        optimizer (Optimizer): its optimizer.
        data_loaders (DataLoader | list[DataLoader]): one per workflow phase.
        max_epochs (int): training epochs (``total_epochs``).
        work_dir (str): where checkpoints and logs go.
        workflow (list[tuple[str, int]]): phases and their epochs, e.g.
            ``[('train', 1), ('val', 1)]``; ``val`` phases compute losses without updates.
            Default: ``[('train', 1)]``.
        hooks (list[HookBase]): run in priority order (stable).
        grad_clip (dict | None): ``dict(max_norm=40, norm_type=2)`` for
            ``clip_grad_norm_``. Default: None.
        fp16 (dict | None): mixed precision: ``dict(loss_scale=512.)`` (static),
            ``'dynamic'`` or a ``GradScaler`` dict; CUDA autocasts to float16 with a
            ``GradScaler``, CPU to bfloat16 without one; ``dtype='bfloat16'`` picks bfloat16
            on CUDA. Default: None (float32).
        device (torch.device | None): default: the model's device.
        max_bad_sample_ratio (float): see :class:`BadSampleCounter`. Default: 0.01.
        meta (dict | None): run information stored in checkpoints and the JSON log
            (``env_info``, ``seed``, ``config_name`` …). Default: None.
        timestamp (str | None): the log files' name. Default: the start time.
        aux_loaders (list[DataLoader]): OmniSource's auxiliary training loaders (see
            :mod:`~actionkit.engine.omnisource`). Default: none.
        train_ratio (list[int] | None): main iterations between auxiliary rounds, then
            batches per auxiliary loader in a round. Default: all 1.
        watchdog (comm.Watchdog | None): started while training in a distributed run.
            Default: a :class:`~actionkit.engine.dist.Watchdog` with default timings.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 data_loaders: DataLoader | Sequence[DataLoader], max_epochs: int, work_dir: str,
                 workflow: Sequence[tuple[str, int]] = (('train', 1),),
                 hooks: Sequence[HookBase] = (), grad_clip: Mapping[str, Any] | None = None,
                 fp16: Mapping[str, Any] | None = None, device: torch.device | None = None,
                 max_bad_sample_ratio: float = 0.01, meta: Mapping[str, Any] | None = None,
                 timestamp: str | None = None, watchdog: comm.Watchdog | None = None,
                 aux_loaders: Sequence[DataLoader] = (),
                 train_ratio: Sequence[int] | None = None) -> None:
        self.data_loaders = [data_loaders] if isinstance(data_loaders, DataLoader) \
            else list(data_loaders)
        self.workflow = self._check_workflow(workflow, len(self.data_loaders))
        self.aux_loaders = list(aux_loaders)
        self.train_ratio = check_train_ratio(train_ratio, 1 + len(self.aux_loaders))
        if self.aux_loaders and self.workflow != [('train', 1)]:
            raise ValueError(f"OmniSource training runs the workflow [('train', 1)] only, got "
                             f'{self.workflow}')
        check_positive_int(None, 'total_epochs', max_epochs)
        if grad_clip is not None and not isinstance(grad_clip, Mapping):
            raise TypeError(f'optimizer_config.grad_clip must be a dict or None, got {grad_clip!r}')
        self.model, self.optimizer = model, optimizer
        self.max_epochs, self.work_dir = max_epochs, os.path.abspath(work_dir)
        self.grad_clip = dict(grad_clip) if grad_clip else None
        self.device = device or next(model.parameters()).device
        self.meta: dict[str, Any] = dict(meta or {})
        self.timestamp = timestamp or time.strftime('%Y%m%d_%H%M%S', time.localtime())
        self.rank, self.world_size = comm.get_dist_info()
        self.hooks: list[HookBase] = []
        for hook in hooks:
            self.register_hook(hook)
        self.epoch, self.iter, self.inner_iter = 0, 0, 0
        self.mode = 'train'
        self.data_loader = self._train_loader()
        self.log_buffer = LogBuffer()
        self.outputs: dict[str, Any] = {}
        self.bad_samples = BadSampleCounter(max_bad_sample_ratio)
        self.autocast_dtype, self.scaler, self._static_scale = self._setup_amp(fp16)
        self.watchdog = watchdog if watchdog is not None else comm.Watchdog()
        self.last_checkpoint: str | None = None
        # entries for every checkpoint's meta (CheckpointHook adds the config text here)
        self.checkpoint_meta: dict[str, Any] = {}
        self._last_batch: dict[str, Any] | None = None
        self._epoch_done = False
        # the random states at the start of the current epoch (a mid-epoch checkpoint keeps
        # them), and what resume() left for train_epoch to replay
        self._epoch_start: tuple[dict[str, Any], list] | None = None
        self._replay: dict[str, Any] | None = None
        self._run_start = time.perf_counter()
        self._run_start_iter = 0

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _check_workflow(workflow: Sequence[tuple[str, int]], n_loaders: int) -> list:
        flows = [tuple(flow) for flow in workflow]
        for flow in flows:
            if len(flow) != 2 or flow[0] not in WORKFLOW_MODES or not isinstance(flow[1], int) \
                    or flow[1] <= 0:
                raise ValueError(f'workflow entries must be (mode, epochs) with mode in '
                                 f'{WORKFLOW_MODES} and epochs > 0, got {flow!r}')
        if not any(mode == 'train' for mode, _ in flows):
            raise ValueError(f'workflow needs a train phase, got {flows}')
        if len(flows) != n_loaders:
            raise ValueError(f'workflow {flows} has {len(flows)} phases but {n_loaders} data '
                             f'loaders were given (one per phase)')
        return flows

    def _train_loader(self) -> DataLoader:
        return next(dl for (mode, _), dl in zip(self.workflow, self.data_loaders)
                    if mode == 'train')

    def _setup_amp(self, fp16: Mapping[str, Any] | None) -> tuple:
        if fp16 is None:
            return None, torch.amp.GradScaler('cpu', enabled=False), None
        if not isinstance(fp16, Mapping) or set(fp16) - {'loss_scale', 'dtype'}:
            raise ValueError(f'fp16 must be a dict with loss_scale and/or dtype, got {fp16!r}')
        dtype_name = fp16.get('dtype', 'float16' if self.device.type == 'cuda' else 'bfloat16')
        if dtype_name not in ('float16', 'bfloat16'):
            raise ValueError(f"fp16.dtype must be 'float16' or 'bfloat16', got {dtype_name!r}")
        dtype = getattr(torch, dtype_name)
        if self.device.type != 'cuda' and dtype == torch.float16:
            raise ValueError('fp16.dtype=float16 needs CUDA; on CPU use bfloat16 (the default)')
        loss_scale = fp16.get('loss_scale', 512.0)
        use_scaler = dtype == torch.float16
        static = None
        if loss_scale == 'dynamic':
            scaler_args: dict[str, Any] = {}
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            scaler_args, static = {'init_scale': float(loss_scale)}, float(loss_scale)
        elif isinstance(loss_scale, Mapping):
            scaler_args = dict(loss_scale)
        else:
            raise ValueError(f"fp16.loss_scale must be a number, 'dynamic' or a dict, got "
                             f'{loss_scale!r}')
        scaler = torch.amp.GradScaler(self.device.type, enabled=use_scaler, **scaler_args)
        logger.info('mixed precision: autocast to %s%s', dtype_name,
                    ' with loss scaling' if use_scaler else '')
        return dtype, scaler, static

    def register_hook(self, hook: HookBase, priority: int | str | None = None) -> None:
        """Add ``hook``; among equal priorities, hooks run in the order they were added."""
        if not isinstance(hook, HookBase):
            raise TypeError(f'hooks must derive from actionkit.engine.hooks.HookBase, got '
                            f'{type(hook).__name__}')
        if priority is not None:
            hook.priority = get_priority(priority)
        index = len(self.hooks)
        while index > 0 and self.hooks[index - 1].priority > hook.priority:
            index -= 1
        self.hooks.insert(index, hook)

    def replace_train_loader(self, loader: DataLoader) -> None:
        """Train on ``loader`` from now on (a ``before_epoch`` hook may call it: the epoch then
        iterates the new loader, and ``max_iters`` counts its length)."""
        index = next(i for i, (mode, _) in enumerate(self.workflow) if mode == 'train')
        self.data_loaders[index] = loader
        if self.mode == 'train':
            self.data_loader = loader

    def call_hook(self, name: str) -> None:
        for hook in self.hooks:
            getattr(hook, name)(self)

    # ------------------------------------------------------------------ state
    @property
    def max_iters(self) -> int:
        return self.max_epochs * len(self._train_loader())

    def current_lr(self) -> list[float]:
        return [group['lr'] for group in self.optimizer.param_groups]

    def elapsed_train_time(self) -> float:
        return time.perf_counter() - self._run_start

    def eta_seconds(self) -> float:
        done = self.iter + 1 - self._run_start_iter
        return self.elapsed_train_time() / max(done, 1) * (self.max_iters - self.iter - 1)

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """Run the workflow until ``max_epochs`` training epochs are done."""
        if self.rank == 0:
            os.makedirs(self.work_dir, exist_ok=True)
            remove_stale_temp_files(self.work_dir)
        if self.epoch >= self.max_epochs:  # e.g. resumed from the last checkpoint of a run
            logger.info('training is already finished: %d of %d epochs done (work dir %s); '
                        'nothing to train. Raise total_epochs to train more.', self.epoch,
                        self.max_epochs, self.work_dir)
            return
        self.watchdog.start()
        finished = False
        try:
            self._run_start, self._run_start_iter = time.perf_counter(), self.iter
            logger.info('start training: epoch %d of %d, workflow %s, work dir %s',
                        self.epoch + 1, self.max_epochs, self.workflow, self.work_dir)
            self.call_hook('before_train')
            while self.epoch < self.max_epochs:
                for (mode, epochs), loader in zip(self.workflow, self.data_loaders):
                    for _ in range(epochs):
                        if mode == 'train' and self.epoch >= self.max_epochs:
                            break
                        self.train_epoch(loader) if mode == 'train' else self.val_epoch(loader)
            self.call_hook('after_train')
            finished = True
        except BaseException as exc:
            explained = self._explain_loader_failure(exc)
            self._on_failure(exc, explained)  # the other ranks are told the explained error
            if explained is not None:
                raise explained from exc
            raise
        finally:
            self.watchdog.stop(finished)

    def _explain_loader_failure(self, exc: BaseException) -> BaseException | None:
        """A data-loader worker that died names the sample it was loading, when known.

        PyTorch reports a dead worker from its SIGCHLD handler, wherever the main process is
        (often inside a training step), so only the loader can say which sample killed it.
        """
        for loader in self.data_loaders:
            explain = getattr(loader, 'explain_failure', None)
            if explain is not None:
                explained = explain(exc)
                if explained is not None:
                    return explained
        return None

    def train_epoch(self, loader: DataLoader) -> None:
        """One pass over ``loader`` with updates.

        After a mid-epoch resume, the epoch starts from the random states it started with, and
        the batches done before the checkpoint are drawn again (same order, same workers'
        seeds) and skipped; then the random states of the checkpoint are restored.
        """
        replay, self._replay = self._replay, None
        if replay is not None:
            self._set_epoch_start(replay['start'])
        self._epoch_start = (get_rng_state(), [g.get_state() if g is not None else None
                                               for g in self._loader_generators()])
        self.mode, self.data_loader = 'train', loader
        self.model.train()
        self.call_hook('before_epoch')  # may replace the loader (multigrid's long cycle)
        loader = self.data_loader
        for each in (loader, *self.aux_loaders):
            set_loader_epoch(each, self.epoch)
        aux_iters = [cycle(each) for each in self.aux_loaders]
        self.bad_samples.start_epoch(self.epoch + 1, _samples_per_epoch(loader))
        tick = time.perf_counter()
        skip = replay['skip'] if replay is not None else 0
        start, batches = epoch_batches(loader, replay)  # a streaming dataset skips them itself
        for self.inner_iter, batch in enumerate(batches, start):
            if self.inner_iter < skip:
                if self.inner_iter == skip - 1:  # as they were before the next batch is drawn
                    set_rng_state(replay['rng'])
                continue
            self.log_buffer.update({'data_time': time.perf_counter() - tick})
            self.call_hook('before_step')
            self.run_step(batch)
            self.log_buffer.update({'time': time.perf_counter() - tick})
            self.call_hook('after_step')
            if aux_iters and self.iter % self.train_ratio[0] == 0:
                self._aux_steps(aux_iters)
            self.iter += 1
            tick = time.perf_counter()
        self.bad_samples.end_epoch()
        self._epoch_done = True
        try:
            self.call_hook('after_epoch')
        finally:
            self._epoch_done = False
        self.epoch += 1

    def _aux_steps(self, aux_iters: list) -> None:
        """OmniSource: ``train_ratio[i + 1]`` steps on auxiliary loader ``i``, in turn."""
        for index, (batches, times) in enumerate(zip(aux_iters, self.train_ratio[1:])):
            for _ in range(times):
                batch = next(batches)
                self.call_hook('before_step')
                self.run_step(batch, log_suffix=f'/aux{index}')
                self.call_hook('after_step')

    def run_step(self, batch: dict[str, Any], log_suffix: str = '') -> None:
        """One iteration: forward, loss, backward, clip, optimizer step.

        ``log_suffix`` is appended to the logged names (OmniSource's ``/aux0`` ...).
        """
        batch = self.bad_samples.take(dict(batch))
        weight = 1.0
        if _batch_size(batch) == 0:
            if self.world_size == 1:
                return  # nothing left of this batch; the iteration still counts
            if self._last_batch is None:
                raise RuntimeError('the first batch of this rank held only bad samples; the '
                                   'other ranks need this one in the gradient all-reduce')
            batch, weight = self._last_batch, 0.0  # keep DDP in step, contribute nothing
        else:
            batch = _to_device(batch, self.device)
            self._last_batch = batch if self.world_size > 1 else None
        with self._autocast():
            losses = self.model(**batch, return_loss=True)
        loss, log_vars = parse_losses(losses)
        self._check_finite(loss, log_vars)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss * weight).backward()
        self.call_hook('after_backward')
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            params = [p for p in self.model.parameters() if p.requires_grad and p.grad is not None]
            if params:
                log_vars['grad_norm'] = float(nn.utils.clip_grad_norm_(params, **self.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update(self._static_scale)
        self.outputs = dict(loss=loss.detach(), log_vars=log_vars, num_samples=_batch_size(batch))
        if weight:
            self.log_buffer.update({k + log_suffix: v for k, v in log_vars.items()},
                                   _batch_size(batch))

    @torch.no_grad()
    def val_epoch(self, loader: DataLoader) -> None:
        """A ``('val', n)`` workflow phase: average the losses over ``loader``, no updates."""
        self.mode, self.data_loader = 'val', loader
        self.model.eval()
        self.log_buffer.clear()
        for self.inner_iter, batch in enumerate(loader):
            batch = dict(batch)
            batch.pop('bad_samples', None)
            if _batch_size(batch) == 0:
                continue
            with self._autocast():
                losses = self.model(**_to_device(batch, self.device), return_loss=True)
            _, log_vars = parse_losses(losses)
            self.log_buffer.update(log_vars, _batch_size(batch))
        self.call_hook('after_val_epoch')
        self.mode, self.data_loader = 'train', self._train_loader()
        self.model.train()

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _check_finite(self, loss: torch.Tensor, log_vars: Mapping[str, float]) -> None:
        # log_vars['loss'] is averaged over the ranks, so every rank stops together
        value = log_vars['loss'] if 'loss' in log_vars else float(loss.detach())
        if math.isfinite(value) and bool(torch.isfinite(loss.detach()).all()):
            return
        where = (f'epoch {self.epoch + 1}, iteration {self.inner_iter + 1}/'
                 f'{len(self.data_loader)} (global iteration {self.iter + 1})')
        if self.last_checkpoint:
            keep = (f'the last good checkpoint, {self.last_checkpoint}, is kept: lower the lr '
                    f'(or enable grad_clip) and resume with --resume-from {self.last_checkpoint}')
        else:
            keep = 'no checkpoint had been saved yet'
        raise FloatingPointError(f'the loss became {value} at {where}; training stopped and '
                                 f'{keep}')

    def _on_failure(self, exc: BaseException, explained: BaseException | None = None) -> None:
        """Tell the other ranks why this one stops (``explained``, else ``exc``), or raise the
        failure of a rank that stopped first when ``exc`` is its consequence here."""
        if self.world_size == 1 or isinstance(exc, KeyboardInterrupt):
            return
        communication = isinstance(exc, getattr(torch.distributed, 'DistError', ())) or \
            any(word in str(exc) for word in ('Connection', 'connection', 'Gloo', 'NCCL',
                                              'timed out', 'Timeout', 'closed'))
        peer = comm.describe_peer_failure(wait_s=2 * self.watchdog.interval_s
                                          if communication else 0.0)
        if peer is None:
            comm.report_failure(explained if explained is not None else exc)
            return
        raise RuntimeError(f'rank {self.rank} stops because {peer}') from exc

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, filename: str, save_optimizer: bool = True,
                        meta: Mapping[str, Any] | None = None, create_latest: bool = True) -> None:
        """Save the model, optimizer and resume state (collective: call it on every rank).

        Only rank 0 writes. ``latest.pth`` next to ``filename`` is updated when
        ``create_latest``.
        """
        mid_epoch = self.mode == 'train' and not self._epoch_done and \
            self._epoch_start is not None
        gathered = comm.all_gather((get_rng_state(), self._epoch_start if mid_epoch else None))
        if self.rank != 0:
            return
        rng_states = [rng for rng, _ in gathered]
        at_epoch_end = self._epoch_done
        full_meta = dict(self.checkpoint_meta)
        full_meta.update(meta or {})
        full_meta.update(self.meta)
        full_meta.update(epoch=self.epoch + 1, iter=self.iter)
        resume_state = {
            'epoch': self.epoch + 1 if at_epoch_end else self.epoch,
            'iter': self.iter, 'mid_epoch': not at_epoch_end, 'world_size': self.world_size,
            'rng': rng_states, 'amp_scaler': self.scaler.state_dict(),
            'loader_generators': [g.get_state() if g is not None else None
                                  for g in self._loader_generators()],
        }
        if mid_epoch:  # what resume() needs to go on from the next batch of this epoch
            resume_state.update(batches_done=self.inner_iter + 1,
                                epoch_len=len(self._train_loader()),
                                epoch_start=[start for _, start in gathered],
                                loader_state=loader_position(self._train_loader(),
                                                             self.inner_iter + 1))
        save_checkpoint(self.model, filename, optimizer=self.optimizer if save_optimizer else None,
                        meta=full_meta, extra={'resume_state': resume_state})
        if create_latest:
            update_latest(filename, os.path.join(os.path.dirname(filename), 'latest.pth'))
            self.last_checkpoint = filename
        logger.info('saved checkpoint %s', filename)

    def _loader_generators(self) -> list[torch.Generator | None]:
        """The shuffling generators of the data loaders (their state is part of a resume)."""
        found = []
        for loader in self.data_loaders:
            generator = getattr(loader, 'generator', None)
            if generator is None:
                generator = getattr(loader.sampler, 'generator', None)
            found.append(generator if isinstance(generator, torch.Generator) else None)
        return found

    def resume(self, filename: str, resume_optimizer: bool = True,
               allow_pickle: bool = False) -> None:
        """Restore model, optimizer, schedule position, AMP scaler and RNG states.

        ``allow_pickle`` loads a legacy checkpoint that needs full unpickling (trusted only).
        """
        checkpoint = load_checkpoint(unwrap_model(self.model), filename, map_location='cpu',
                                     strict=True, allow_pickle=allow_pickle)
        meta = checkpoint.get('meta', {})
        state = checkpoint.get('resume_state')
        epoch_len = len(self._train_loader())
        self.epoch = int(state['epoch'] if state else meta.get('epoch', 0))
        replay = self._mid_epoch_replay(filename, state, epoch_len)
        if state and state.get('mid_epoch') and replay is None:
            logger.warning('%s was saved in the middle of epoch %d by an older version: that '
                           'epoch restarts from its first iteration', filename, self.epoch + 1)
        stored_iter = int(state['iter'] if state else meta.get('iter', 0))
        self.iter = self.epoch * epoch_len + (replay['skip'] if replay else 0)
        if stored_iter != self.iter and not (state and state.get('mid_epoch')):
            logger.info('iteration count %d -> %d (epochs now have %d iterations)', stored_iter,
                        self.iter, epoch_len)
        self.meta.setdefault('hook_msgs', {}).update(meta.get('hook_msgs', {}))
        if resume_optimizer and 'optimizer' in checkpoint:
            self.optimizer.load_state_dict(checkpoint['optimizer'])
        if state:
            if state.get('amp_scaler'):
                self.scaler.load_state_dict(state['amp_scaler'])
            rng = state['rng']
            if len(rng) != self.world_size:
                logger.warning('%s holds random states of %d ranks, this run has %d: every rank '
                               'takes rank 0\'s', filename, len(rng), self.world_size)
            set_rng_state(rng[self.rank] if len(rng) == self.world_size else rng[0])
            saved = state.get('loader_generators') or []
            for generator, gen_state in zip(self._loader_generators(), saved):
                if generator is not None and gen_state is not None:
                    generator.set_state(gen_state)
        self._replay = replay
        self.last_checkpoint = filename
        logger.info('resumed from %s: epoch %d, iteration %d', filename, self.epoch, self.iter)

    def _mid_epoch_replay(self, filename: str, state: Mapping[str, Any] | None,
                          epoch_len: int) -> dict[str, Any] | None:
        """How train_epoch goes on after a mid-epoch checkpoint (``None``: at an epoch start).

        Exact only with the same world size and epoch length (the sampler's split and the
        batches done depend on them): otherwise a clear error names the epoch checkpoint to
        resume from instead.
        """
        if not state or not state.get('mid_epoch') or 'batches_done' not in state:
            return None
        saved = (int(state['world_size']), int(state['epoch_len']))
        if saved != (self.world_size, epoch_len):
            raise ValueError(
                f'{filename} was saved in the middle of epoch {self.epoch + 1} (after '
                f'{state["batches_done"]} of its {saved[1]} iterations) by {saved[0]} '
                f'process(es); this run has {self.world_size} process(es) and {epoch_len} '
                f'iterations an epoch, so that epoch cannot go on where it stopped. Resume '
                f'with the same number of processes and data, or from the checkpoint of an '
                f'epoch end (epoch_{self.epoch}.pth)')
        starts = state['epoch_start']
        return dict(skip=int(state['batches_done']), start=starts[self.rank],
                    rng=state['rng'][self.rank], loader=state.get('loader_state'))

    def _set_epoch_start(self, start: tuple[Mapping[str, Any], list]) -> None:
        rng, generator_states = start
        set_rng_state(rng)
        for generator, gen_state in zip(self._loader_generators(), generator_states):
            if generator is not None and gen_state is not None:
                generator.set_state(gen_state)

    def load_weights(self, filename: str, allow_pickle: bool = False) -> None:
        """Load model weights only (``load_from``), reporting keys that do not match."""
        load_checkpoint(unwrap_model(self.model), filename, map_location='cpu', strict=False,
                        logger=logger, allow_pickle=allow_pickle)
