"""Scoring a results file again: metrics (``eval_metric.py``) and confusion matrices.

Both read the ground truth through the config's dataset (``data.test`` by default), so the
labels come from the same annotation list, in the same order, as when the results were made by
``tools/test.py --out``.

Example:
    >>> cfg = Config.fromfile('configs/recognition/tsn/tsn_r50_1x1x3_100e_kinetics400_rgb.py')
    >>> results = load_results('results.pkl')                              # doctest: +SKIP
    >>> evaluate_results(cfg, results, ['top_k_accuracy'])                 # doctest: +SKIP
    OrderedDict([('top1_acc', 0.7), ('top5_acc', 0.9)])
"""
from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..engine.hooks import EVAL_HOOK_KEYS
from ..evaluation.recognition import confusion_matrix
from .results import score_matrix

__all__ = ['build_split_dataset', 'evaluate_results', 'results_confusion_matrix',
           'read_label_names', 'SPLITS']

logger = logging.getLogger(__name__)

#: The dataset splits of a config's ``data`` section.
SPLITS = ('train', 'val', 'test')


def build_split_dataset(cfg: Config, split: str = 'test', test_mode: bool = True,
                        pipeline: Sequence[Any] | None = None) -> Any:
    """Build ``cfg.data[split]`` (in test mode by default), optionally with another pipeline.

    Raises:
        KeyError: the config has no ``data.<split>`` section.
    """
    from ..datasets.builder import build_dataset

    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    data = cfg.get('data') or {}
    if split not in data:
        raise KeyError(f'{cfg.filename or "the config"} has no data.{split} section; it has '
                       f'{sorted(k for k in data if k in SPLITS)}')
    dataset_cfg = copy.deepcopy(data[split])
    dataset_cfg['test_mode'] = test_mode
    if pipeline is not None:
        dataset_cfg['pipeline'] = list(pipeline)
    return build_dataset(dataset_cfg)


def evaluate_results(cfg: Config, results: list, metrics: str | Sequence[str] | None = None,
                     eval_options: Mapping[str, Any] | None = None,
                     split: str = 'test') -> dict[str, Any]:
    """Score ``results`` with the config's dataset, as ``tools/test.py --eval`` would.

    The config's ``evaluation`` dict gives the defaults (its hook settings such as
    ``interval`` are dropped); ``metrics`` and ``eval_options`` override them.

    Args:
        cfg: the config the results were made with.
        results: one entry per sample, in dataset order.
        metrics: metric names (e.g. ``top_k_accuracy``); default: those of
            ``cfg.evaluation.metrics`` or the dataset's default.
        eval_options: keyword arguments of ``dataset.evaluate`` (e.g. ``metric_options``).
        split: which ``data`` section holds the ground truth.

    Returns:
        dict: metric name to value.
    """
    dataset = build_split_dataset(cfg, split)
    if not isinstance(results, list):
        results = list(results)
    if len(results) != len(dataset):
        raise ValueError(f'the results have {len(results)} entries but data.{split} '
                         f'({getattr(dataset, "ann_file", "?")}) has {len(dataset)} samples; '
                         f'were they made with this config?')
    kwargs = {k: v for k, v in dict(cfg.get('evaluation') or {}).items() if k not in EVAL_HOOK_KEYS}
    if metrics is not None:
        kwargs['metrics'] = [metrics] if isinstance(metrics, str) else list(metrics)
    kwargs.update(eval_options or {})
    return dict(dataset.evaluate(results, **kwargs))


def read_label_names(path: str | os.PathLike) -> list[str]:
    """Class names, one a line (trailing blank lines ignored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'label map {str(path)!r} does not exist')
    names = [line.strip() for line in path.read_text(encoding='utf-8').splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ValueError(f'label map {str(path)!r} is empty; expected one class name a line')
    return names


def results_confusion_matrix(results: Any, labels: Sequence[int],
                             normalize: str | None = None,
                             source: str = 'results') -> tuple[np.ndarray, np.ndarray]:
    """The confusion matrix of the top-1 predictions of ``results`` against ``labels``.

    Args:
        results: one score vector per sample.
        labels: the true class of each sample (single-label data only).
        normalize: ``None``, ``'true'``, ``'pred'`` or ``'all'`` (see
            :func:`actionkit.evaluation.confusion_matrix`).
        source: names the results in error messages.

    Returns:
        tuple: ``(matrix [K, K], classes [K])``; the rows and columns cover the classes that
        occur as a label or a prediction, in increasing order, and ``classes`` says which.
    """
    scores = score_matrix(results, source)
    if any(not isinstance(label, (int, np.integer)) for label in labels):
        raise ValueError('a confusion matrix needs one label per sample; these labels are '
                         'multi-label (lists)')
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(scores):
        raise ValueError(f'{source} has {len(scores)} samples but there are {len(labels)} '
                         f'labels')
    predictions = scores.argmax(axis=1)
    matrix = confusion_matrix(predictions, labels, normalize=normalize)
    classes = np.unique(np.concatenate([predictions, labels]))
    return matrix, classes
