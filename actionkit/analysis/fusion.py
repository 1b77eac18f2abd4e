"""Score fusion: combine the results of several models (e.g. RGB and optical flow).

The fused score of a sample is ``sum_i coefficient_i * scores_i``, optionally after a softmax
of each model's scores (useful when one model's raw scores are on a larger scale than
another's). Labels come from a test list: the last field of each non-blank line, as
MMAction2's ``report_accuracy.py`` reads them.

Example:
    >>> rgb, flow = load_results('rgb.pkl'), load_results('flow.pkl')      # doctest: +SKIP
    >>> labels = read_list_labels('data/ucf101/testlist01.txt')             # doctest: +SKIP
    >>> fusion_accuracy([rgb, flow], labels, coefficients=[1, 1.5])        # doctest: +SKIP
    OrderedDict([('mean_class_accuracy', 0.87), ('top1_acc', 0.88), ('top5_acc', 0.98)])
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..evaluation.recognition import (get_weighted_score, mean_class_accuracy, softmax,
                                      top_k_accuracy)
from .results import score_matrix

__all__ = ['read_list_labels', 'fuse_scores', 'fusion_accuracy']


def read_list_labels(path: str | os.PathLike) -> list[int]:
    """The label of each non-blank line of an annotation list: its last field.

    Raises:
        ValueError: a last field is not an integer (the message names the file and line).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'data list {path!r} does not exist')
    labels = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                labels.append(int(fields[-1]))
            except ValueError:
                raise ValueError(f'{path}:{number}: expected the label (an integer) as the last '
                                 f'field, got {fields[-1]!r} in {line.strip()!r}') from None
    if not labels:
        raise ValueError(f'data list {path!r} has no lines')
    return labels


def fuse_scores(score_sets: Sequence[Any], coefficients: Sequence[float] | None = None,
                apply_softmax: bool = False, names: Sequence[str] | None = None) -> np.ndarray:
    """Weighted sum of several models' scores.

    Args:
        score_sets: one results list (one score vector per sample) per model.
        coefficients: one weight per model (default: all 1).
        apply_softmax: softmax each model's scores over the classes first.
        names: what to call each score set in error messages (e.g. its file).

    Returns:
        np.ndarray: ``[N, num_classes]`` fused scores.
    """
    if not score_sets:
        raise ValueError('fuse_scores needs at least one score set')
    coefficients = [1.0] * len(score_sets) if coefficients is None else list(coefficients)
    names = list(names) if names is not None else [f'score set {i}' for i in
                                                   range(len(score_sets))]
    if len(coefficients) != len(score_sets):
        raise ValueError(f'got {len(score_sets)} score sets but {len(coefficients)} '
                         f'coefficients; give one coefficient per score file')
    matrices = [score_matrix(scores, name) for scores, name in zip(score_sets, names)]
    for matrix, name in zip(matrices[1:], names[1:]):
        if matrix.shape != matrices[0].shape:
            raise ValueError(f'{name} has {matrix.shape[0]} samples x {matrix.shape[1]} '
                             f'classes but {names[0]} has {matrices[0].shape[0]} x '
                             f'{matrices[0].shape[1]}; the files must score the same list')
    if apply_softmax:
        matrices = [softmax(matrix, dim=1) for matrix in matrices]
    return np.stack(get_weighted_score(matrices, coefficients))


def fusion_accuracy(score_sets: Sequence[Any], labels: Sequence[int],
                    coefficients: Sequence[float] | None = None, apply_softmax: bool = False,
                    topk: Sequence[int] = (1, 5),
                    names: Sequence[str] | None = None) -> OrderedDict[str, float]:
    """Mean class accuracy and top-k accuracies of the fused scores.

    Returns:
        OrderedDict: ``mean_class_accuracy`` then ``top{k}_acc`` for each k.
    """
    fused = fuse_scores(score_sets, coefficients, apply_softmax, names)
    if len(labels) != len(fused):
        raise ValueError(f'the scores have {len(fused)} samples but the data list has '
                         f'{len(labels)} labels')
    if not topk or any(not isinstance(k, int) or k < 1 for k in topk):
        raise ValueError(f'topk must be positive ints, got {tuple(topk)}')
    metrics: OrderedDict[str, float] = OrderedDict()
    metrics['mean_class_accuracy'] = float(mean_class_accuracy(list(fused), list(labels)))
    for k, acc in zip(topk, top_k_accuracy(list(fused), list(labels), tuple(topk))):
        metrics[f'top{k}_acc'] = float(acc)
    return metrics
