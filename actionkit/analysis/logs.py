"""Reading training logs (``*.log.json``) for curves and timing.

The format is MMAction2 0.x's, which actionkit's trainer writes too: one JSON object a line; the
first holds the run's meta (``env_info``, ``config`` …), then ``{"mode": "train", "epoch": 1,
"iter": 20, "lr": …, "loss_cls": …, "top1_acc": …, "time": …}`` every logging interval and
``{"mode": "val", "epoch": 1, "iter": …, "top1_acc": …, "mean_class_accuracy": …}`` after each
evaluation.

Curves are drawn against the global training iteration: ``(epoch - 1) * iters_per_epoch +
iter`` for training records, the end of the epoch for validation records. A metric logged in
both modes (``top1_acc`` is the training batch accuracy in ``train`` records and the validation
accuracy in ``val`` records) gives one curve per mode; ``val/top1_acc`` or ``train/top1_acc``
selects one.

Example:
    >>> log = load_json_log('work_dirs/tsn/20220101_120000.log.json')  # doctest: +SKIP
    >>> xs, ys = log.curve('loss_cls')                                  # doctest: +SKIP
    >>> train_time_stats(log).mean_iter_time                            # doctest: +SKIP
    0.4123
"""
from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ['TrainingLog', 'TrainTime', 'load_json_log', 'load_json_logs', 'curve_panels',
           'train_time_stats', 'MODES']

logger = logging.getLogger(__name__)

#: The record modes a key can be restricted to, as in ``val/top1_acc``.
MODES = ('train', 'val')
# bookkeeping fields of every record: not metrics to plot
_NOT_METRICS = frozenset({'mode', 'epoch', 'iter'})


@dataclass
class TrainingLog:
    """The records of one JSON log.

    Attributes:
        path: the file.
        meta: the lines without a ``mode`` (the run's meta), merged.
        records: the lines with a ``mode``, in file order.
    """

    path: str
    meta: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)

    def keys(self, mode: str | None = None) -> list[str]:
        """The metric names found in the records (of ``mode`` only, if given), sorted."""
        found = {key for record in self.records if mode is None or record['mode'] == mode
                 for key, value in record.items()
                 if key not in _NOT_METRICS and isinstance(value, (int, float))}
        return sorted(found)

    def iters_per_epoch(self) -> int | None:
        """The largest training ``iter`` logged within an epoch (None without train records)."""
        iters = [r['iter'] for r in self.records
                 if r['mode'] == 'train' and isinstance(r.get('iter'), (int, float))]
        return int(max(iters)) if iters else None

    def modes_of(self, key: str) -> list[str]:
        """The modes (``'train'``, ``'val'``, …) whose records hold ``key``, in order found."""
        modes: list[str] = []
        for record in self.records:
            if key in record and record['mode'] not in modes:
                modes.append(record['mode'])
        return modes

    def curve(self, key: str, mode: str = 'train') -> tuple[np.ndarray, np.ndarray]:
        """``(xs, ys)``: the values of ``key`` in ``mode`` records against the iteration.

        Raises:
            KeyError: no ``mode`` record has ``key``; the message lists the keys there are.
        """
        per_epoch = self.iters_per_epoch() or 1
        xs: list[float] = []
        ys: list[float] = []
        for record in self.records:
            if record['mode'] != mode or key not in record:
                continue
            value = record[key]
            if not isinstance(value, (int, float)):
                continue
            epoch = record.get('epoch')
            if mode == 'train':
                x = record.get('iter', 0) + ((epoch - 1) * per_epoch if epoch else 0)
            else:  # evaluated at the end of the epoch
                x = epoch * per_epoch if epoch else record.get('iter', 0)
            xs.append(float(x))
            ys.append(float(value))
        if not xs:
            raise KeyError(f'{self.path} has no {mode!r} records with {key!r}; its {mode} '
                           f'records have {self.keys(mode)}')
        return np.asarray(xs), np.asarray(ys)

    def epoch_times(self, include_outliers: bool = False) -> dict[int, list[float]]:
        """The ``time`` values of the training records, per epoch.

        The first record of each epoch is dropped unless ``include_outliers``: it includes
        the start-up of the data loader workers.
        """
        times: dict[int, list[float]] = defaultdict(list)
        for record in self.records:
            if record['mode'] == 'train' and isinstance(record.get('time'), (int, float)):
                times[int(record.get('epoch', 1))].append(float(record['time']))
        if not include_outliers:
            times = {epoch: values[1:] for epoch, values in times.items()}
        return {epoch: values for epoch, values in times.items() if values}


def load_json_log(path: str | os.PathLike) -> TrainingLog:
    """Read one ``.log.json`` file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line is not a JSON object (the message names the file and line).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'log file {path!r} does not exist')
    log = TrainingLog(path)
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{number}: not a JSON object ({err.msg}); expected one '
                                 f'JSON object a line, as MMAction2/actionkit write '
                                 f'*.log.json; got {line[:80]!r}') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}:{number}: expected a JSON object, got '
                                 f'{type(record).__name__}')
            if 'mode' in record:
                log.records.append(record)
            else:
                log.meta.update(record)
    if not log.records:
        logger.warning('%s has no train/val records', path)
    return log


def load_json_logs(paths: Sequence[str | os.PathLike]) -> list[TrainingLog]:
    """Read several logs (see :func:`load_json_log`)."""
    return [load_json_log(path) for path in paths]


def _short_names(paths: Sequence[str]) -> list[str]:
    """File names, with as many parent folders as it takes to tell them apart."""
    parts = [Path(p).parts for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = [os.path.join(*p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def _split_key(key: str) -> tuple[str | None, str]:
    mode, sep, name = key.partition('/')
    if sep and mode in MODES:
        return mode, name
    return None, key


def curve_panels(logs: Sequence[TrainingLog], keys: Sequence[str],
                 legend: Sequence[str] | None = None
                 ) -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """The curves to draw: ``{key: [(label, xs, ys), ...]}``, one panel per key.

    Args:
        logs: the logs.
        keys: metric names; ``val/NAME`` or ``train/NAME`` restricts to one mode, a plain
            name takes every mode that logs it.
        legend: ``len(logs) * len(keys)`` labels, ordered log by log and key by key within
            a log (MMAction2's ``--legend``); default: the log's file name. The mode is
            added in brackets when a key has curves of several modes.

    Raises:
        ValueError: the legend has the wrong length.
        KeyError: a log has no records with a key; the message lists the keys it has.
    """
    if not logs or not keys:
        raise ValueError('curve_panels needs at least one log and one key')
    if legend is not None and len(legend) != len(logs) * len(keys):
        raise ValueError(f'--legend needs one entry per log and key: {len(logs)} log(s) x '
                         f'{len(keys)} key(s) = {len(logs) * len(keys)}, got {len(legend)}')
    names = _short_names([log.path for log in logs])
    panels: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for i, log in enumerate(logs):
        for j, key in enumerate(keys):
            mode, name = _split_key(key)
            modes = [mode] if mode else log.modes_of(name)
            if not modes:
                raise KeyError(f'{log.path} has no records with {name!r}; the keys it has are '
                               f'{log.keys()}')
            label = legend[i * len(keys) + j] if legend is not None else names[i]
            for m in modes:
                xs, ys = log.curve(name, m)
                shown = f'{label} ({m})' if len(modes) > 1 or mode else label
                panels.setdefault(key, []).append((shown, xs, ys))
    return panels


@dataclass(frozen=True)
class TrainTime:
    """Training speed of one log (seconds per iteration).

    Attributes:
        path: the log.
        slowest_epoch, slowest_time: the epoch with the highest mean iteration time.
        fastest_epoch, fastest_time: the epoch with the lowest.
        std_over_epochs: standard deviation of the per-epoch means.
        mean_iter_time: mean over every counted record.
        num_epochs: epochs with timing records.
    """

    path: str
    slowest_epoch: int
    slowest_time: float
    fastest_epoch: int
    fastest_time: float
    std_over_epochs: float
    mean_iter_time: float
    num_epochs: int


def train_time_stats(log: TrainingLog, include_outliers: bool = False) -> TrainTime:
    """Per-epoch and overall iteration times of ``log`` (see ``TrainingLog.epoch_times``).

    Raises:
        ValueError: the log has no usable ``time`` values.
    """
    times = log.epoch_times(include_outliers)
    if not times:
        hint = '' if include_outliers else (' (the first record of each epoch is left out; '
                                            'pass include_outliers=True to count it)')
        raise ValueError(f'{log.path} has no training records with a "time" value{hint}')
    epochs = sorted(times)
    means = np.array([np.mean(times[e]) for e in epochs])
    slow, fast = int(means.argmax()), int(means.argmin())
    every = np.concatenate([times[e] for e in epochs])
    return TrainTime(log.path, epochs[slow], float(means[slow]), epochs[fast],
                     float(means[fast]), float(means.std()), float(every.mean()), len(epochs))
