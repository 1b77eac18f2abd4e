"""Training logs: the package logger, the text and JSON logs, a live progress bar, TensorBoard.

The work directory gets MMAction2 0.x's two logs (``log_config``):

- ``{timestamp}.log``: the text log, lines such as
  ``Epoch [1][20/100]  lr: 1.000e-02, eta: 0:03:10, time: 0.412, data_time: 0.101, memory: 812,
  loss_cls: 2.2931, top1_acc: 0.1250, top5_acc: 0.5000, loss: 2.2931``;
- ``{timestamp}.log.json``: one JSON object per line. The first holds the run's meta
  (``env_info``, ``seed``, ``config_name``, ``work_dir``); then
  ``{"mode": "train", "epoch": 1, "iter": 20, "lr": 0.01, "memory": 812, "data_time": …,
  "loss_cls": …, "top1_acc": …, "loss": …, "time": …}`` every ``interval`` iterations and
  ``{"mode": "val", "epoch": 1, "iter": <val batches>, "lr": …, "top1_acc": …}`` after each
  evaluation, which is what ``tools/analysis/analyze_logs.py`` reads.

Values are averaged over the last ``interval`` iterations (weighted by batch size). ``memory``
is the peak GPU memory in MB (CUDA's ``max_memory_allocated``); as in MMAction2 it is left out
when training on the CPU.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import platform
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..utils.atomic import TEMP_NAME_RE
from ..utils.checks import check_positive_int
from ..utils.fileio import display_path, is_remote, join_path
from ..utils.remote_write import copy_file
from .dist import get_rank
from .hooks import (HOOKS, PRIORITIES, HookBase, check_metric_aliases, check_out_dir,
                    out_dir_target)

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = [
    'get_logger', 'get_root_logger', 'LogBuffer', 'LoggerHook', 'TextLoggerHook',
    'TensorboardLoggerHook', 'collect_env_info', 'peak_memory_mb', 'build_logger_hooks',
]

_FORMAT = '%(asctime)s - %(name)s - %(levelname)s - %(message)s'
_FILE_HANDLER_ATTR = '_actionkit_log_file'
_LINE_STYLES = ('mmcv', 'mmengine')  # TextLoggerHook's lines: MMAction2 0.x's or 1.x's
# the entries a text log line writes in its own place, before the others
_LINE_HEAD_KEYS = frozenset({'mode', 'epoch', 'iter', 'lr', 'time', 'data_time', 'memory'})


def get_logger(name: str = 'actionkit', log_file: str | None = None,
               log_level: int | str = logging.INFO, file_mode: str = 'w') -> logging.Logger:
    """Configure and return the package logger (idempotent).

    Rank 0 logs at ``log_level`` to stderr and, when given, to ``log_file``; the other ranks
    log errors only, to stderr. The logger does not propagate to the root logger (so messages
    are not printed twice when the root logger is configured too).

    Args:
        name: the logger name; ``'actionkit'`` covers every module of the package.
        log_file: a text log file (rank 0 only).
        log_level: level name or number for rank 0.
        file_mode: ``'w'`` or ``'a'``.
    """
    if isinstance(log_level, str):
        level = logging.getLevelName(log_level.upper())
        if not isinstance(level, int):
            raise ValueError(f'log_level must be a logging level name such as "INFO", got '
                             f'{log_level!r}')
        log_level = level
    logger = logging.getLogger(name)
    rank = get_rank()
    level = log_level if rank == 0 else logging.ERROR
    formatter = logging.Formatter(_FORMAT)
    if not any(getattr(h, '_actionkit_stream', False) for h in logger.handlers):
        stream = logging.StreamHandler()
        stream._actionkit_stream = True  # type: ignore[attr-defined]
        stream.setFormatter(formatter)
        logger.addHandler(stream)
    for handler in logger.handlers:
        if getattr(handler, '_actionkit_stream', False):
            handler.setLevel(level)
    if log_file is not None and rank == 0:
        path = os.path.abspath(log_file)
        if not any(getattr(h, _FILE_HANDLER_ATTR, None) == path for h in logger.handlers):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            file_handler = logging.FileHandler(path, file_mode, encoding='utf-8')
            setattr(file_handler, _FILE_HANDLER_ATTR, path)
            file_handler.setFormatter(formatter)
            file_handler.setLevel(level)
            logger.addHandler(file_handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def get_root_logger(log_file: str | None = None, log_level: int | str = logging.INFO) -> \
        logging.Logger:
    """MMAction2 0.x's name for :func:`get_logger` with the package logger."""
    return get_logger('actionkit', log_file=log_file, log_level=log_level)


def collect_env_info() -> dict[str, str]:
    """Versions and devices, logged at the start of training and stored in the JSON log."""
    import cv2

    import actionkit

    info = {'sys.platform': sys.platform, 'Python': sys.version.replace('\n', ''),
            'CUDA available': str(torch.cuda.is_available())}
    if torch.cuda.is_available():
        names: dict[str, list[int]] = {}
        for index in range(torch.cuda.device_count()):
            names.setdefault(torch.cuda.get_device_name(index), []).append(index)
        for device_name, ids in names.items():
            info['GPU ' + ','.join(map(str, ids))] = device_name
        info['CUDA (torch)'] = str(torch.version.cuda)
    info.update({'machine': platform.machine(), 'PyTorch': torch.__version__,
                 'NumPy': np.__version__, 'OpenCV': cv2.__version__,
                 'actionkit': actionkit.__version__})
    try:
        import av
        info['PyAV'] = av.__version__
    except ImportError:
        info['PyAV'] = 'not installed'
    return info


def peak_memory_mb(device: torch.device | None = None) -> int:
    """Peak memory in MB: CUDA ``max_memory_allocated`` on a GPU, else the peak RSS."""
    if device is not None and device.type == 'cuda':
        return int(torch.cuda.max_memory_allocated(device) // (1 << 20))
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // (1 << 20) if sys.platform == 'darwin' else peak // 1024)


class LogBuffer:
    """Values logged per iteration, and their averages over the last N iterations."""

    def __init__(self) -> None:
        self.val_history: OrderedDict[str, list[float]] = OrderedDict()
        self.n_history: OrderedDict[str, list[int]] = OrderedDict()
        self.output: OrderedDict[str, Any] = OrderedDict()
        self.ready = False

    def clear(self) -> None:
        self.val_history.clear()
        self.n_history.clear()
        self.clear_output()

    def clear_output(self) -> None:
        self.output.clear()
        self.ready = False

    def update(self, values: Mapping[str, float], count: int = 1) -> None:
        """Record ``values`` of one iteration, weighted by ``count`` (the batch size)."""
        for key, value in values.items():
            self.val_history.setdefault(key, []).append(float(value))
            self.n_history.setdefault(key, []).append(count)

    def average(self, n: int = 0) -> None:
        """Put the weighted average of the last ``n`` values (all when 0) into ``output``."""
        for key, values in self.val_history.items():
            vals = np.asarray(values[-n:], dtype=np.float64)
            nums = np.asarray(self.n_history[key][-n:], dtype=np.float64)
            self.output[key] = float(np.sum(vals * nums) / max(np.sum(nums), 1e-12))
        self.ready = True


class LoggerHook(HookBase):
    """Base of the logger hooks: decides when to log (mmcv's ``LoggerHook`` semantics).

    Args:
        interval (int): log every ``interval`` iterations. Default: 10.
        ignore_last (bool): skip the last iterations of an epoch that do not fill an interval.
            Default: True.
        reset_flag (bool): clear the averaged values after logging (the last logger hook
            always does). Default: False.
        by_epoch (bool): count iterations within the epoch. Default: True.
    """

    priority = PRIORITIES['VERY_LOW']

    def __init__(self, interval: int = 10, ignore_last: bool = True, reset_flag: bool = False,
                 by_epoch: bool = True) -> None:
        check_positive_int(None, 'log_config.interval', interval)
        self.interval, self.ignore_last = interval, bool(ignore_last)
        self.reset_flag, self.by_epoch = bool(reset_flag), bool(by_epoch)

    def log(self, trainer: Trainer) -> None:
        """Write ``trainer.log_buffer.output``."""
        raise NotImplementedError(f'{type(self).__name__} must implement log(trainer)')

    def before_train(self, trainer: Trainer) -> None:
        for hook in reversed(trainer.hooks):
            if isinstance(hook, LoggerHook):
                hook.reset_flag = True
                break

    def before_epoch(self, trainer: Trainer) -> None:
        trainer.log_buffer.clear()

    def after_step(self, trainer: Trainer) -> None:
        if self.by_epoch and self.every_n_inner_iters(trainer, self.interval):
            trainer.log_buffer.average(self.interval)
        elif not self.by_epoch and self.every_n_iters(trainer, self.interval):
            trainer.log_buffer.average(self.interval)
        elif self.end_of_epoch(trainer) and not self.ignore_last:
            trainer.log_buffer.average(self.interval)
        self._flush(trainer)

    def after_epoch(self, trainer: Trainer) -> None:
        self._flush(trainer)

    def after_val_epoch(self, trainer: Trainer) -> None:
        trainer.log_buffer.average()
        self._flush(trainer)

    def _flush(self, trainer: Trainer) -> None:
        if trainer.log_buffer.ready:
            self.log(trainer)
            if self.reset_flag:
                trainer.log_buffer.clear_output()

    @staticmethod
    def mode(trainer: Trainer) -> str:
        if trainer.mode == 'train' and 'time' in trainer.log_buffer.output:
            return 'train'
        return 'val'

    def log_dict(self, trainer: Trainer) -> OrderedDict[str, Any]:
        """The entries of one log line, in mmcv's order."""
        output = dict(trainer.log_buffer.output)
        mode = self.mode(trainer)
        epoch = trainer.epoch + 1 if trainer.mode == 'train' else trainer.epoch
        if 'eval_iter_num' in output:
            cur_iter = output.pop('eval_iter_num')
        elif self.by_epoch:
            cur_iter = trainer.inner_iter + 1
        else:
            cur_iter = trainer.iter + 1
        record: OrderedDict[str, Any] = OrderedDict(mode=mode, epoch=epoch, iter=cur_iter)
        record['lr'] = trainer.current_lr()[0]
        if mode == 'train' and trainer.device.type == 'cuda':  # GPU memory only, as mmcv
            record['memory'] = peak_memory_mb(trainer.device)
        record.update(output)
        return record


def _round(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return _round(value.item())
    return value


@HOOKS.register_module()
class TextLoggerHook(LoggerHook):
    """The text log (through the package logger) and the ``.log.json`` file.

    On a terminal, rank 0 also shows a live progress bar of the epoch with its ETA.

    Args:
        by_epoch (bool): count iterations within the epoch. Default: True.
        interval (int): log every ``interval`` iterations. Default: 10.
        ignore_last (bool): see :class:`LoggerHook`. Default: True.
        reset_flag (bool): see :class:`LoggerHook`. Default: False.
        interval_exp_name (int): log the work dir name every this many iterations.
            Default: 1000.
        out_dir (str | None): also copy the logs to ``out_dir/<the work dir's last part>/``
            after training (mmcv's rule): a local folder, or an ``s3://`` / ``gs://`` prefix
            (uploaded at each epoch end too). Default: None.
        out_suffix (str | tuple[str]): the work dir's files to copy, by the end of their
            name. Default: ``('.log.json', '.log', '.py')``.
        keep_local (bool): keep the local files once copied. Default: True.
        file_client_args (dict | None): mmcv's FileClient arguments; only
            ``dict(backend='disk')`` is taken, and only with ``out_dir``. Default: None.
        line_style (str): ``'mmcv'``: MMAction2 0.x's lines (``Epoch [1][20/100]\tlr:
            1.000e-02, eta: …``); ``'mmengine'``: MMAction2 1.x's (``Epoch(train)
            [1][ 20/100]  lr: 1.0000e-02  eta: …  time: 0.4120  data_time: 0.1010  loss: …``,
            after evaluation ``Epoch(val) [1][16/16]    acc/top1: 0.9220  …``), which
            1.x config files get. (An actionkit argument.) Default: ``'mmcv'``.
        metric_aliases (dict | None): with ``line_style='mmengine'``, evaluation metric ->
            its 1.x name (``{'top1_acc': 'acc/top1'}``). Default: None.
    """

    def __init__(self, by_epoch: bool = True, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, interval_exp_name: int = 1000,
                 out_dir: str | None = None,
                 out_suffix: str | tuple[str, ...] = ('.log.json', '.log', '.py'),
                 keep_local: bool = True,
                 file_client_args: Mapping[str, Any] | None = None,
                 line_style: str = 'mmcv',
                 metric_aliases: Mapping[str, str] | None = None) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        if line_style not in _LINE_STYLES:
            raise ValueError(f'TextLoggerHook.line_style must be one of {_LINE_STYLES}, got '
                             f'{line_style!r}')
        self.line_style = line_style
        self.metric_aliases = check_metric_aliases(metric_aliases,
                                                   'TextLoggerHook.metric_aliases')
        if out_dir is None and file_client_args is not None:
            raise ValueError('log_config TextLoggerHook: file_client_args needs out_dir')
        check_out_dir(out_dir, 'TextLoggerHook', file_client_args)
        suffixes = (out_suffix,) if isinstance(out_suffix, str) else out_suffix
        if not isinstance(suffixes, (tuple, list)) or \
                not all(isinstance(x, str) and x for x in suffixes):
            raise TypeError(f'TextLoggerHook.out_suffix must be a string or a tuple of '
                            f'strings, got {out_suffix!r}')
        self.out_dir, self.out_suffix = out_dir, tuple(suffixes)
        self.keep_local = bool(keep_local)
        self._out: str | None = None
        self.interval_exp_name = interval_exp_name
        self.json_log_path: str | None = None
        self._logger = logging.getLogger('actionkit.engine')
        self._live = False
        self._time_total = 0.0
        self._start_iter = 0

    def before_train(self, trainer: Trainer) -> None:
        super().before_train(trainer)
        self._start_iter = trainer.iter
        self._live = trainer.rank == 0 and bool(getattr(sys.stderr, 'isatty', lambda: False)())
        self.json_log_path = os.path.join(trainer.work_dir, f'{trainer.timestamp}.log.json')
        if trainer.rank == 0 and trainer.meta:
            self._dump(OrderedDict((k, v) for k, v in trainer.meta.items()
                                   if isinstance(v, (str, int, float, bool, list, dict))))
        target = out_dir_target(self.out_dir, trainer.work_dir)
        self._out = target if target != trainer.work_dir else None
        if self._out is not None:
            self._logger.info('text logs will be copied to %s after training',
                              display_path(self._out))

    def after_epoch(self, trainer: Trainer) -> None:
        super().after_epoch(trainer)
        if self._out is not None and is_remote(self._out) and trainer.rank == 0:
            try:
                self._copy_logs(trainer, remove=False)
            except OSError as err:  # the copy after training says it if the store stays down
                self._logger.warning('could not copy the logs to %s (%s); tried again later',
                                     display_path(self._out), err)

    def _copy_logs(self, trainer: Trainer, remove: bool) -> None:
        """Copy the work dir's files ending in ``out_suffix`` to ``out_dir`` (rank 0)."""
        assert self._out is not None, 'before_train sets the copy target'
        for folder, dirs, names in os.walk(trainer.work_dir):
            dirs[:] = [d for d in dirs if not d.startswith('.')]
            for name in sorted(names):
                if not name.endswith(self.out_suffix) or TEMP_NAME_RE.match(name):
                    continue
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, trainer.work_dir).replace(os.sep, '/')
                copy_file(path, join_path(self._out, rel))
                if remove:
                    os.remove(path)
        self._logger.info('copied the logs to %s%s', display_path(self._out),
                          '' if not remove else ' (keep_local=False: removed here)')

    def after_step(self, trainer: Trainer) -> None:
        if self._live:
            self._draw_bar(trainer)
        if self.by_epoch and self.every_n_inner_iters(trainer, self.interval_exp_name):
            self._logger.info('Exp name: %s', os.path.basename(trainer.work_dir.rstrip(os.sep)))
        super().after_step(trainer)

    def after_train(self, trainer: Trainer) -> None:
        if self._live:
            sys.stderr.write('\r\x1b[K')
            sys.stderr.flush()
        if self._out is not None and trainer.rank == 0:
            self._copy_logs(trainer, remove=not self.keep_local)

    def _draw_bar(self, trainer: Trainer) -> None:
        total = len(trainer.data_loader)
        done = trainer.inner_iter + 1
        width = 30
        filled = int(width * done / max(total, 1))
        elapsed = trainer.elapsed_train_time()
        eta = trainer.eta_seconds()
        sys.stderr.write(f'\r\x1b[KEpoch {trainer.epoch + 1}/{trainer.max_epochs} '
                         f'[{"#" * filled}{"." * (width - filled)}] {done}/{total} '
                         f'{_fmt_seconds(elapsed)} elapsed, ETA {_fmt_seconds(eta)}')
        sys.stderr.flush()

    def log(self, trainer: Trainer) -> None:
        record = self.log_dict(trainer)
        if trainer.rank != 0:
            return
        if self._live:
            sys.stderr.write('\r\x1b[K')
        self._logger.info(self._format(record, trainer))
        self._dump(OrderedDict((k, _round(v)) for k, v in record.items()))

    def _eta(self, record: Mapping[str, Any], trainer: Trainer) -> str | None:
        """The time left, from the mean logged iteration time (None without times)."""
        if 'time' not in record:
            return None
        self._time_total += record['time'] * self.interval
        done = max(trainer.iter - self._start_iter + 1, 1)
        eta = self._time_total / done * (trainer.max_iters - trainer.iter - 1)
        return str(datetime.timedelta(seconds=int(max(eta, 0))))

    def _format(self, record: Mapping[str, Any], trainer: Trainer) -> str:
        if self.line_style == 'mmengine':
            return self._format_mmengine(record, trainer)
        if record['mode'] == 'train':
            if self.by_epoch:
                text = f'Epoch [{record["epoch"]}][{record["iter"]}/{len(trainer.data_loader)}]\t'
            else:
                text = f'Iter [{record["iter"]}/{trainer.max_iters}]\t'
            text += f'lr: {record["lr"]:.3e}, '
            eta = self._eta(record, trainer)
            if eta is not None:
                text += (f'eta: {eta}, '
                         f'time: {record["time"]:.3f}, data_time: {record["data_time"]:.3f}, ')
            if 'memory' in record:
                text += f'memory: {record["memory"]}, '
        elif self.by_epoch:
            text = f'Epoch({record["mode"]}) [{record["epoch"]}][{record["iter"]}]\t'
        else:
            text = f'Iter({record["mode"]}) [{record["iter"]}]\t'
        items = [f'{k}: {_shown(v)}' for k, v in record.items() if k not in _LINE_HEAD_KEYS]
        return text + ', '.join(items)

    def _format_mmengine(self, record: Mapping[str, Any], trainer: Trainer) -> str:
        """One line as mmengine's ``LogProcessor`` writes it (4 digits, two spaces apart,
        the counters right-aligned to their totals)."""
        if record['mode'] != 'train':  # after an evaluation: its metrics under 1.x names
            head = (f'Epoch({record["mode"]}) [{record["epoch"]}][{record["iter"]}/'
                    f'{record["iter"]}]' if self.by_epoch else
                    f'Iter({record["mode"]}) [{record["iter"]}/{record["iter"]}]')
            items = [f'{self.metric_aliases.get(k, k)}: {_shown(v)}' for k, v in record.items()
                     if k not in ('mode', 'epoch', 'iter', 'lr')]
            return f'{head}    ' + '  '.join(items)
        if self.by_epoch:
            total = len(trainer.data_loader)
            epoch = f'[{record["epoch"]}]'.rjust(len(str(trainer.max_epochs)) + 3)
            head = f'Epoch(train){epoch}[{str(record["iter"]).rjust(len(str(total)))}/{total}]'
        else:
            width = len(str(trainer.max_iters))
            head = f'Iter(train) [{str(record["iter"]).rjust(width)}/{trainer.max_iters}]'
        items = [f'lr: {record["lr"]:.4e}']
        eta = self._eta(record, trainer)
        if eta is not None:
            items += [f'eta: {eta}', f'time: {record["time"]:.4f}',
                      f'data_time: {record["data_time"]:.4f}']
        if 'memory' in record:
            items.append(f'memory: {record["memory"]}')
        # mmengine's order: the gradient norm (logged during the step), the total loss, then
        # what the model returned (top1_acc, top5_acc, loss_cls for a recognizer)
        rest = [k for k in record if k not in _LINE_HEAD_KEYS]
        rest.sort(key=lambda k: {'grad_norm': 0, 'loss': 1}.get(k, 2))
        items += [f'{k}: {_shown(record[k])}' for k in rest]
        return f'{head}  ' + '  '.join(items)

    def _dump(self, record: Mapping[str, Any]) -> None:
        assert self.json_log_path is not None, 'before_train sets the JSON log path'
        with open(self.json_log_path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record, default=str) + '\n')


def _shown(value: Any) -> str:
    """A log line's value: floats with 4 decimals (both line styles), the rest as they are."""
    return f'{value:.4f}' if isinstance(value, float) else str(value)


def _fmt_seconds(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(max(seconds, 0))))


@HOOKS.register_module()
class TensorboardLoggerHook(LoggerHook):
    """Scalars for TensorBoard (``pip install 'actionkit[tensorboard]'``).

    Tags are ``train/loss_cls``, ``val/top1_acc`` … and ``learning_rate``; the step is the
    global iteration.

    Args:
        log_dir (str | None): default ``{work_dir}/tf_logs``. Default: None.
        interval, ignore_last, reset_flag, by_epoch: see :class:`LoggerHook`.
    """

    def __init__(self, log_dir: str | None = None, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, by_epoch: bool = True) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.log_dir = log_dir
        self.writer: Any = None

    def before_train(self, trainer: Trainer) -> None:
        super().before_train(trainer)
        if trainer.rank != 0:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise ImportError('TensorboardLoggerHook needs the tensorboard package: '
                              "pip install 'actionkit[tensorboard]'") from err
        self.writer = SummaryWriter(self.log_dir or os.path.join(trainer.work_dir, 'tf_logs'))

    def log(self, trainer: Trainer) -> None:
        if self.writer is None:
            return
        mode = self.mode(trainer)
        step = trainer.iter + 1 if trainer.mode == 'train' else trainer.iter
        for name, value in trainer.log_buffer.output.items():
            if name in ('time', 'data_time', 'eval_iter_num') or \
                    not isinstance(value, (int, float, np.number)):
                continue
            self.writer.add_scalar(f'{mode}/{name}', float(value), step)
        self.writer.add_scalar('learning_rate', trainer.current_lr()[0], step)

    def after_train(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def build_logger_hooks(log_config: Mapping[str, Any] | None) -> list[HookBase]:
    """Build the hooks of ``log_config=dict(interval=N, hooks=[dict(type=...), ...])``."""
    if log_config is None:
        return []
    if not isinstance(log_config, Mapping):
        raise TypeError(f'log_config must be a dict or None, got {type(log_config).__name__}')
    unknown = set(log_config) - {'interval', 'hooks'}
    if unknown:
        raise KeyError(f'log_config takes the keys interval and hooks, got unknown '
                       f'{sorted(unknown)}')
    interval = log_config.get('interval', 10)
    hooks = []
    for index, hook_cfg in enumerate(log_config.get('hooks', [])):
        if not isinstance(hook_cfg, Mapping) or 'type' not in hook_cfg:
            raise TypeError(f'log_config.hooks[{index}] must be a dict with a "type", got '
                            f'{hook_cfg!r}')
        hooks.append(HOOKS.build(hook_cfg, interval=interval))
    return hooks
