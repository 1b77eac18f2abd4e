"""Recognition metrics with MMAction2 0.x's definitions (numpy in, Python floats out).

The definitions follow ``mmaction/core/evaluation/accuracy.py`` of MMAction2 0.24, including
its conventions on the edges, which published numbers depend on:

- Ties: ``top_k_accuracy`` ranks as MMAction2's ``np.argsort(scores)[:, -k:][:, ::-1]`` with
  a stable ascending sort, so among tied scores the *higher* class index ranks first
  (``[.5, .5, 0]`` predicts class 1). That is what MMAction2 computes on the numpy it was
  released with (insertion sort for rows of up to 16 classes); numpy >= 1.25 on AVX-512
  machines sorts with SIMD code that orders ties arbitrarily, so there MMAction2's own number
  depends on the machine, and we keep the stable rule. The predictions of
  ``mean_class_accuracy`` and ``top_k_classes`` are ``argmax``'s (ties to the lower index), as
  in MMAction2, so top-1 accuracy can differ from the accuracy of the argmax predictions.
- A label outside the score columns (label 127 with 3 classes) is a miss in every metric, as
  in MMAction2, and a warning says how many such labels there were.
- ``mean_class_accuracy`` averages over every class that occurs among the labels *or* the
  predictions; a class that is predicted but never the true label counts as 0.
- ``confusion_matrix`` has one row/column per class occurring in ``y_pred`` or ``y_real``,
  in increasing order, not one per possible class.
- ``mean_average_precision`` skips classes with no positive sample; it is NaN when no class
  has one. ``mmit_mean_average_precision`` averages per-sample APs with equal weight; a
  sample with no positive label makes it NaN (as in MMAction2).
- Average precision is the step-wise area under the precision-recall curve (no interpolation),
  the same value as scikit-learn's ``average_precision_score``.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    'top_k_accuracy', 'mean_class_accuracy', 'top_k_classes', 'confusion_matrix',
    'binary_precision_recall_curve', 'average_precision', 'mean_average_precision',
    'mmit_mean_average_precision', 'softmax', 'get_weighted_score'
]

logger = logging.getLogger(__name__)

_NORMALIZE = ('true', 'pred', 'all', None)
_CHUNK = 4096  # rows per block in top_k_accuracy, to bound the [rows, classes] temporaries


def _as_scores(scores: Any, name: str = 'scores') -> np.ndarray:
    """``scores`` as a float array [N, num_classes]; rejects ragged, empty and NaN input."""
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (ValueError, TypeError) as err:
        raise ValueError(f'{name} must be an array [num_samples, num_classes] or a list of '
                         f'equally long 1-D arrays: {err}') from None
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f'{name} must have shape [num_samples, num_classes] with both > 0, '
                         f'got shape {array.shape}')
    bad = np.flatnonzero(np.isnan(array).any(axis=1))
    if bad.size:
        raise ValueError(f'{name} contain NaN in {bad.size} sample(s), first at sample '
                         f'{bad[0]}')
    return array


def _as_labels(labels: Any, name: str = 'labels') -> np.ndarray:
    """``labels`` as a 1-D int64 array of non-negative class indices."""
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f'{name} must be a 1-D sequence of class indices, got shape '
                         f'{array.shape}')
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f'{name} must hold integers (class indices), got dtype {array.dtype}')
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError(f'{name} must be >= 0, got {array.min()} at index '
                         f'{int(np.argmin(array))}')
    return array


def _check_pair(scores: np.ndarray, labels: np.ndarray) -> None:
    """One label per score row; labels beyond the score columns are warned about (they miss)."""
    if len(labels) != len(scores):
        raise ValueError(f'got {len(scores)} score rows but {len(labels)} labels; expected one '
                         f'label per sample')
    outside = labels >= scores.shape[1]
    if outside.any():
        index = int(np.argmax(outside))
        logger.warning('%d label(s) are outside the %d score columns (first: label %d at index '
                       '%d); they count as misses, as in MMAction2', int(outside.sum()),
                       scores.shape[1], labels[index], index)


def top_k_accuracy(scores: Any, labels: Any, topk: int | Sequence[int] = (1, )) -> list[float]:
    """Fraction of samples whose label is among the k highest-scoring classes.

    Args:
        scores: class scores, ``[N, num_classes]`` (an array or a list of 1-D arrays).
        labels: true class index of each sample, length ``N``.
        topk: one k or several.

    Returns:
        list[float]: the accuracy for each k, in the order of ``topk``.

    Example:
        >>> top_k_accuracy([[0.1, 0.9], [0.8, 0.2]], [1, 1], topk=(1, 2))
        [0.5, 1.0]
    """
    ks = (topk, ) if isinstance(topk, (int, np.integer)) else tuple(topk)
    if not ks or not all(isinstance(k, (int, np.integer)) and k >= 1 for k in ks):
        raise ValueError(f'topk must be a positive int or a sequence of them, got {topk!r}')
    scores, labels = _as_scores(scores), _as_labels(labels)
    _check_pair(scores, labels)
    # Place of the label in the ranking (0 = first): the classes scoring higher, plus the tied
    # classes with a higher index. Counting avoids sorting every row. A label beyond the score
    # columns gets place num_classes: a miss for every k.
    place = np.full(len(labels), scores.shape[1], dtype=np.int64)
    columns = np.arange(scores.shape[1])
    for start in range(0, len(labels), _CHUNK):
        block, block_labels = scores[start:start + _CHUNK], labels[start:start + _CHUNK]
        inside = block_labels < scores.shape[1]
        block, block_labels = block[inside], block_labels[inside]
        label_score = block[np.arange(len(block)), block_labels][:, None]
        ahead = (block > label_score) | ((block == label_score)
                                          & (columns[None, :] > block_labels[:, None]))
        place[start:start + _CHUNK][inside] = ahead.sum(axis=1)
    return [float(np.mean(place < k)) for k in ks]


def _per_class_hits(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """The classes MMAction2 averages over (labels or argmax predictions) and their accuracy."""
    scores, labels = _as_scores(scores), _as_labels(labels)
    _check_pair(scores, labels)
    pred = np.argmax(scores, axis=1)
    classes = np.unique(np.concatenate([pred, labels]))
    size = max(scores.shape[1], int(labels.max()) + 1)
    count = np.bincount(labels, minlength=size)[classes]
    hits = np.bincount(labels[pred == labels], minlength=size)[classes]
    accuracy = np.divide(hits, count, out=np.zeros(len(classes)), where=count > 0)
    return classes, accuracy


def mean_class_accuracy(scores: Any, labels: Any) -> float:
    """Accuracy of each class, averaged over classes (see the module notes for which count).

    Args:
        scores: class scores, ``[N, num_classes]``.
        labels: true class index of each sample, length ``N``.

    Returns:
        float: the mean class accuracy.
    """
    return float(np.mean(_per_class_hits(scores, labels)[1]))


def top_k_classes(scores: Any, labels: Any, k: int = 10,
                  mode: str = 'accurate') -> list[tuple[int, float]]:
    """The k classes with the highest (``'accurate'``) or lowest (``'inaccurate'``) accuracy.

    Args:
        scores: class scores, ``[N, num_classes]``.
        labels: true class index of each sample, length ``N``.
        k: how many classes to return.
        mode: ``'accurate'`` (best first) or ``'inaccurate'`` (worst first).

    Returns:
        list[tuple[int, float]]: ``(class index, accuracy)`` pairs. Unlike MMAction2, the
        index is the class's own index even when some classes never occur.
    """
    if mode not in ('accurate', 'inaccurate'):
        raise ValueError(f"mode must be 'accurate' or 'inaccurate', got {mode!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f'k must be a positive int, got {k!r}')
    classes, accuracy = _per_class_hits(scores, labels)
    order = np.argsort(accuracy, kind='stable')
    order = order[-k:][::-1] if mode == 'accurate' else order[:k]
    return [(int(classes[i]), float(accuracy[i])) for i in order]


def confusion_matrix(y_pred: Any, y_real: Any, normalize: str | None = None) -> np.ndarray:
    """Confusion matrix over the classes that occur in ``y_pred`` or ``y_real``.

    Row i / column j is the i-th / j-th of those classes in increasing order; entry
    ``[i, j]`` counts samples of true class i predicted as j.

    Args:
        y_pred: predicted class indices, length N.
        y_real: true class indices, length N.
        normalize: ``None`` (counts), ``'true'`` (rows sum to 1), ``'pred'`` (columns sum to
            1) or ``'all'`` (the matrix sums to 1). Empty rows/columns stay 0.

    Returns:
        np.ndarray: ``[K, K]``, int64 counts or float64 when normalized.
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of 'true', 'pred', 'all' or None, "
                         f"got {normalize!r}")
    y_pred, y_real = _as_labels(y_pred, 'y_pred'), _as_labels(y_real, 'y_real')
    if len(y_pred) != len(y_real):
        raise ValueError(f'y_pred has {len(y_pred)} entries but y_real has {len(y_real)}')
    if len(y_pred) == 0:
        raise ValueError('y_pred and y_real are empty; expected at least one sample')
    classes, compact = np.unique(np.concatenate([y_pred, y_real]), return_inverse=True)
    num = len(classes)
    pred, real = compact[:len(y_pred)], compact[len(y_pred):]
    matrix = np.bincount(real * num + pred, minlength=num * num).reshape(num, num)
    if normalize is None:
        return matrix
    total = {'true': matrix.sum(axis=1, keepdims=True), 'pred': matrix.sum(axis=0, keepdims=True),
             'all': matrix.sum()}[normalize]
    return np.divide(matrix, total, out=np.zeros(matrix.shape), where=total > 0)


def _as_binary(y_true: Any, name: str) -> np.ndarray:
    array = np.asarray(y_true)
    values = np.unique(array)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f'{name} must be 0/1 (multi-hot), got values {values[:5].tolist()}')
    return array.astype(bool)


def _check_binary(y_score: Any, y_true: Any) -> tuple[np.ndarray, np.ndarray]:
    y_score = np.asarray(y_score, dtype=np.float64)
    y_true = _as_binary(y_true, 'y_true')
    if y_score.ndim != 1 or y_score.shape != y_true.shape or y_score.size == 0:
        raise ValueError(f'y_score and y_true must be 1-D, non-empty and of the same length, '
                         f'got shapes {y_score.shape} and {y_true.shape}')
    return y_score, y_true


def binary_precision_recall_curve(y_score: Any,
                                  y_true: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at each distinct score threshold (MMAction2's layout).

    Args:
        y_score: scores, 1-D.
        y_true: 0/1 ground truth, same shape.

    Returns:
        tuple: ``(precision, recall, thresholds)`` from the lowest threshold that reaches
        full recall to the highest, with a final point precision 1, recall 0 (no threshold).
        Recall is NaN when there is no positive.
    """
    y_score, y_true = _check_binary(y_score, y_true)
    order = np.argsort(-y_score, kind='stable')
    y_score, y_true = y_score[order], y_true[order]
    ends = np.r_[np.flatnonzero(np.diff(y_score)), y_score.size - 1]  # last index per threshold
    tps = np.cumsum(y_true)[ends].astype(np.float64)
    precision = tps / (ends + 1)
    with np.errstate(invalid='ignore', divide='ignore'):
        recall = tps / tps[-1]
    last = int(np.searchsorted(tps, tps[-1]))  # the first threshold with full recall
    sl = slice(last, None, -1)
    return np.r_[precision[sl], 1.0], np.r_[recall[sl], 0.0], y_score[ends][sl]


def _column_aps(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """AP of every column of ``scores`` [N, K] against boolean ``truth``; NaN without positives.

    At each distinct threshold (the end of a run of tied scores) recall grows by the positives
    of that run over all positives, and is weighted by the precision there.
    """
    aps = np.full(scores.shape[1], np.nan)
    rank = np.arange(1, scores.shape[0] + 1, dtype=np.float64)[:, None]
    step = max(1, _CHUNK * 256 // scores.shape[0])  # columns per block, bounding memory
    for start in range(0, scores.shape[1], step):
        block = slice(start, start + step)
        order = np.argsort(-scores[:, block], axis=0, kind='stable')
        sorted_scores = np.take_along_axis(scores[:, block], order, axis=0)
        hits = np.cumsum(np.take_along_axis(truth[:, block], order, axis=0), axis=0)
        is_end = np.ones(sorted_scores.shape, dtype=bool)
        is_end[:-1] = sorted_scores[:-1] != sorted_scores[1:]
        hits_at_ends = np.where(is_end, hits, 0)
        before = np.zeros_like(hits)
        before[1:] = np.maximum.accumulate(hits_at_ends, axis=0)[:-1]  # hits at previous end
        gain = np.where(is_end, (hits - before) * (hits / rank), 0.0).sum(axis=0)
        positives = hits[-1]
        with np.errstate(invalid='ignore', divide='ignore'):
            aps[block] = np.where(positives > 0, gain / positives, np.nan)
    return aps


def average_precision(y_score: Any, y_true: Any) -> float:
    """Average precision of one binary problem: ``sum_i (R_i - R_{i-1}) * P_i``.

    Args:
        y_score: scores, 1-D.
        y_true: 0/1 ground truth, same shape.

    Returns:
        float: the AP, NaN when ``y_true`` has no positive.
    """
    y_score, y_true = _check_binary(y_score, y_true)
    return float(_column_aps(y_score[:, None], y_true[:, None])[0])


def _multi_label(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    scores = _as_scores(scores)
    labels = _as_binary(labels, 'labels')
    if labels.shape != scores.shape:
        raise ValueError(f'labels must be multi-hot with the shape of scores {scores.shape}, '
                         f'got {labels.shape}')
    return scores, labels


def mean_average_precision(scores: Any, labels: Any) -> float:
    """Mean over classes of the AP of each class (multi-label recognition).

    Args:
        scores: class scores, ``[N, num_classes]``.
        labels: multi-hot ground truth, ``[N, num_classes]``.

    Returns:
        float: the mAP over classes with at least one positive sample; NaN if there are none.
    """
    aps = _column_aps(*_multi_label(scores, labels))
    aps = aps[~np.isnan(aps)]
    return float(np.mean(aps)) if aps.size else float('nan')


def mmit_mean_average_precision(scores: Any, labels: Any) -> float:
    """Multi-Moments-in-Time mAP: the AP of each *sample* over classes, averaged over samples.

    Args:
        scores: class scores, ``[N, num_classes]``.
        labels: multi-hot ground truth, ``[N, num_classes]``.

    Returns:
        float: the mean of the per-sample APs; NaN if a sample has no positive label.
    """
    scores, labels = _multi_label(scores, labels)
    aps = _column_aps(scores.T, labels.T)
    if np.isnan(aps).any():
        logger.warning('mmit_mean_average_precision: %d of %d samples have no positive label; '
                       'the result is NaN', int(np.isnan(aps).sum()), len(aps))
    return float(np.mean(aps))


def softmax(x: Any, dim: int = 1) -> np.ndarray:
    """Softmax of a numpy array along ``dim`` (numerically stable)."""
    x = np.asarray(x, dtype=np.float64)
    e_x = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e_x / e_x.sum(axis=dim, keepdims=True)


def get_weighted_score(score_list: Sequence[Any], coeff_list: Sequence[float]) -> list[np.ndarray]:
    """Fuse the scores of several models: ``sum_i coeff_i * scores_i``.

    Args:
        score_list: one ``[N, num_classes]`` score set per model.
        coeff_list: one coefficient per model.

    Returns:
        list[np.ndarray]: the fused ``[num_classes]`` scores of each sample.
    """
    if len(score_list) != len(coeff_list) or not score_list:
        raise ValueError(f'expected one coefficient per score set, got {len(score_list)} score '
                         f'sets and {len(coeff_list)} coefficients')
    arrays = [_as_scores(s, f'score_list[{i}]') for i, s in enumerate(score_list)]
    for i, array in enumerate(arrays[1:], start=1):
        if array.shape != arrays[0].shape:
            raise ValueError(f'score_list[{i}] has shape {array.shape}, but score_list[0] has '
                             f'{arrays[0].shape}')
    fused = np.tensordot(np.asarray(coeff_list, dtype=np.float64), np.stack(arrays), axes=1)
    return list(fused)
