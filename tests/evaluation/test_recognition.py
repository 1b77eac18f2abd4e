"""Tests for actionkit.evaluation.recognition: hand-computed cases, ties, empty classes,
cross-checks against scikit-learn and (when its source is cached) MMAction2 0.24.1."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from actionkit.evaluation import recognition as rec
from actionkit.evaluation import (average_precision, confusion_matrix, get_weighted_score,
                                  mean_average_precision, mean_class_accuracy,
                                  mmit_mean_average_precision, softmax, top_k_accuracy,
                                  top_k_classes)

MMACTION_ACCURACY = (Path(__file__).resolve().parents[2] / '.cache' / 'mmaction2-0.24.1'
                     / 'mmaction' / 'core' / 'evaluation' / 'accuracy.py')


# ---------------------------------------------------------------------------- top-k accuracy
def test_top_k_accuracy_hand_computed():
    scores = [np.array([0.1, 0.5, 0.4]), np.array([0.7, 0.2, 0.1]),
              np.array([0.3, 0.3, 0.4]), np.array([0.2, 0.2, 0.6])]
    labels = [2, 0, 1, 1]
    # MMAction2 ranks by np.argsort(row)[-k:][::-1]: a tie goes to the higher class index.
    # Label places (0 = first): 1, 0, 1 (class 2 higher, class 0 tied but lower), 1
    assert top_k_accuracy(scores, labels, topk=(1, 2, 3)) == [0.25, 1.0, 1.0]
    assert top_k_accuracy(scores, labels, topk=2) == [1.0]
    assert top_k_accuracy(scores, labels) == [0.25]


def test_top_k_accuracy_ties_as_mmaction2_issue_example():
    # The issue's example, worked from MMAction2's np.argsort(scores)[:, -k:][:, ::-1]:
    # row 0 ranks 1, 0, 2 (label 0 second); row 1 ranks 2, 1, 0 (label 2 first);
    # row 2 ranks 2, 1, 0 (label 1 second) -> top1 = 1/3, top2 = 1.
    scores = np.array([[.5, .5, 0], [.2, .2, .2], [.1, .3, .3]])
    assert top_k_accuracy(scores, [0, 2, 1], topk=(1, 2)) == [pytest.approx(1 / 3), 1.0]
    # all classes tied: the top-1 prediction is the last class
    flat = np.zeros((3, 4))
    assert top_k_accuracy(flat, [3, 2, 0], topk=(1, 2, 4)) == [pytest.approx(1 / 3),
                                                                pytest.approx(2 / 3), 1.0]
    # float32 scores as a list of rows (what a model returns) rank the same way
    rows = [np.array(r, dtype=np.float32) for r in scores]
    assert top_k_accuracy(rows, [0, 2, 1], topk=(1, 2)) == [pytest.approx(1 / 3), 1.0]


def test_k_beyond_classes_is_one():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 3, size=(200, 6)).astype(float)  # many ties
    labels = rng.integers(0, 6, size=200)
    assert top_k_accuracy(scores, labels, topk=(6, 10)) == [1.0, 1.0]


def test_top_k_accuracy_matches_a_sorting_reference_and_chunks(monkeypatch):
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 4, size=(50, 7)).astype(float)
    labels = rng.integers(0, 7, size=50)
    # reference: rank by descending
    # score, ties by descending class index (lexsort is stable)
    order = np.stack([np.lexsort((-np.arange(7), -row)) for row in scores])
    expected = [np.mean([labels[i] in order[i, :k] for i in range(50)]) for k in (1, 2, 3)]
    assert top_k_accuracy(scores, labels, (1, 2, 3)) == pytest.approx(expected)
    monkeypatch.setattr(rec, '_CHUNK', 3)
    assert top_k_accuracy(scores, labels, (1, 2, 3)) == pytest.approx(expected)


def test_labels_outside_the_score_columns_are_misses_with_one_warning(caplog):
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    labels = [1, 127, 2, 3]  # two labels beyond the 3 columns
    with caplog.at_level('WARNING', logger='actionkit.evaluation.recognition'):
        assert top_k_accuracy(scores, labels, (1, 3)) == [0.5, 0.5]
    warnings = [r for r in caplog.records if 'outside the 3 score columns' in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].getMessage().startswith('2 label(s)')
    caplog.clear()
    # MMAction2: classes {1, 2, 127, 3} from labels, {1, 0, 2} from argmax predictions;
    # class 0 counts 0 samples -> 0, class 1 1/1, class 2 1/1, class 3 0/1, class 127 0/1
    with caplog.at_level('WARNING', logger='actionkit.evaluation.recognition'):
        assert mean_class_accuracy(scores, labels) == pytest.approx(2 / 5)
    assert sum('outside the 3 score columns' in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize('scores, labels, topk, error, match', [
    (np.zeros((3, 2)), [0, 1], (1, ), ValueError, '3 score rows but 2 labels'),
    (np.zeros((2, 3)), [0, -1], (1, ), ValueError, 'must be >= 0'),
    (np.zeros((2, 3)), [0.0, 1.0], (1, ), TypeError, 'must hold integers'),
    (np.zeros(3), [0, 1, 2], (1, ), ValueError, r'shape \[num_samples, num_classes\]'),
    (np.zeros((0, 3)), [], (1, ), ValueError, 'both > 0'),
    (np.array([[0.0, np.nan]]), [0], (1, ), ValueError, 'NaN in 1 sample'),
    (np.zeros((2, 3)), [0, 1], (0, ), ValueError, 'topk must be a positive int'),
    (np.zeros((2, 3)), [0, 1], (), ValueError, 'topk must be a positive int'),
    ([np.zeros(3), np.zeros(2)], [0, 1], (1, ), ValueError, 'equally long'),
])
def test_top_k_accuracy_rejects_bad_input(scores, labels, topk, error, match):
    with pytest.raises(error, match=match):
        top_k_accuracy(scores, labels, topk)


# ---------------------------------------------------------------------- mean class accuracy
def test_mean_class_accuracy_counts_predicted_only_classes_as_zero():
    # labels 0, 0, 1, 1; argmax predictions 0, 1, 1, 2
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.0, 0.1, 0.9]])
    labels = [0, 0, 1, 1]
    # class 0: 1/2, class 1: 1/2, class 2 (predicted, never true): 0 -> mean 1/3
    assert mean_class_accuracy(scores, labels) == pytest.approx(1 / 3)


def test_mean_class_accuracy_ignores_classes_absent_from_labels_and_predictions():
    scores = np.array([[0.9, 0.1, 0.0, 0.0, 0.0], [0.8, 0.1, 0.1, 0.0, 0.0],
                       [0.1, 0.9, 0.0, 0.0, 0.0]])
    labels = [0, 1, 1]  # classes 2..4 never occur: they do not count
    assert mean_class_accuracy(scores, labels) == pytest.approx((1.0 + 0.5) / 2)


def test_mean_class_accuracy_ties_use_argmax():
    scores = np.array([[0.5, 0.5], [0.5, 0.5]])
    # both predictions are class 0 (the lower index); class 1 has 0 hits
    assert mean_class_accuracy(scores, [0, 1]) == pytest.approx(0.5)


def test_top_k_classes_returns_class_indices_and_accuracies():
    scores = np.eye(4)[[0, 0, 3, 0, 0]]  # predictions 0, 0, 3, 0, 0
    labels = [0, 0, 3, 3, 0]  # class 0: 3/3, class 3: 1/2
    assert top_k_classes(scores, labels, k=1) == [(0, 1.0)]
    assert top_k_classes(scores, labels, k=5) == [(0, 1.0), (3, 0.5)]
    assert top_k_classes(scores, labels, k=1, mode='inaccurate') == [(3, 0.5)]
    with pytest.raises(ValueError, match="mode must be 'accurate' or 'inaccurate'"):
        top_k_classes(scores, labels, mode='best')
    with pytest.raises(ValueError, match='k must be a positive int'):
        top_k_classes(scores, labels, k=0)


# -------------------------------------------------------------------------- confusion matrix
def test_confusion_matrix_counts_and_normalizations():
    y_pred, y_real = [0, 2, 2, 1], [0, 2, 1, 1]
    counts = confusion_matrix(y_pred, y_real)
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    assert counts.dtype == np.int64
    np.testing.assert_allclose(confusion_matrix(y_pred, y_real, 'true'),
                               [[1, 0, 0], [0, 0.5, 0.5], [0, 0, 1]])
    np.testing.assert_allclose(confusion_matrix(y_pred, y_real, 'pred'),
                               [[1, 0, 0], [0, 1, 0.5], [0, 0, 0.5]])
    np.testing.assert_allclose(confusion_matrix(y_pred, y_real, 'all'), counts / 4)


def test_confusion_matrix_uses_only_occurring_classes_and_zero_fills_empty_columns():
    counts = confusion_matrix(np.array([5, 5]), np.array([5, 9]))  # classes 5 and 9
    np.testing.assert_array_equal(counts, [[1, 0], [1, 0]])
    np.testing.assert_array_equal(confusion_matrix([5, 5], [5, 9], normalize='pred'),
                                  [[0.5, 0], [0.5, 0]])


@pytest.mark.parametrize('y_pred, y_real, normalize, error, match', [
    ([0, 1], [0, 1], 'rows', ValueError, "normalize must be one of 'true', 'pred', 'all'"),
    ([0, 1, 1], [0, 1], None, ValueError, 'y_pred has 3 entries but y_real has 2'),
    ([0.5, 1.0], [0, 1], None, TypeError, 'y_pred must hold integers'),
    ([0, 1], [0, -2], None, ValueError, 'y_real must be >= 0'),
    ([], [], None, ValueError, 'empty'),
])
def test_confusion_matrix_rejects_bad_input(y_pred, y_real, normalize, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(y_pred, y_real, normalize)


# ------------------------------------------------------------------------ average precision
MULTI_SCORES = np.array([[0.9, 0.5, 0.2], [0.8, 0.5, 0.9], [0.7, 0.1, 0.3], [0.6, 0.3, 0.0]])
MULTI_LABELS = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_average_precision_hand_computed_with_ties():
    # positives ranked 1st and 3rd: 0.5 * 1 + 0.5 * 2/3
    assert average_precision(MULTI_SCORES[:, 0], MULTI_LABELS[:, 0]) == pytest.approx(5 / 6)
    # a positive and a negative tied at 0.5 (precision 1/2 there), the last positive at 4th
    assert average_precision(MULTI_SCORES[:, 1], MULTI_LABELS[:, 1]) == pytest.approx(0.5)
    assert math.isnan(average_precision(MULTI_SCORES[:, 2], MULTI_LABELS[:, 2]))


def test_mean_average_precision_skips_classes_without_positives():
    assert mean_average_precision(MULTI_SCORES, MULTI_LABELS) == pytest.approx((5 / 6 + 0.5) / 2)
    assert math.isnan(mean_average_precision(MULTI_SCORES, np.zeros((4, 3), dtype=int)))


def test_mmit_mean_average_precision_weights_samples_equally():
    # per-sample APs: 1, 1/3 (the positive ranked 3rd), 0.5 * 1 + 0.5 * 2/3
    value = mmit_mean_average_precision(MULTI_SCORES[:3], list(MULTI_LABELS[:3]))
    assert value == pytest.approx((1 + 1 / 3 + 5 / 6) / 3)
    # a sample without positive labels makes the result NaN, as in MMAction2
    assert math.isnan(mmit_mean_average_precision(MULTI_SCORES, MULTI_LABELS))


@pytest.mark.parametrize('labels, match', [
    (np.full((4, 3), 2), 'must be 0/1'),
    (np.zeros((4, 2), dtype=int), 'shape of scores'),
])
def test_mean_average_precision_rejects_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        mean_average_precision(MULTI_SCORES, labels)


def test_average_precision_matches_sklearn():
    metrics = pytest.importorskip('sklearn.metrics', reason='scikit-learn is not installed')
    rng = np.random.default_rng(2)
    scores = np.round(rng.random((60, 8)), 1)  # rounded, so there are ties
    labels = (rng.random((60, 8)) < 0.3).astype(int)
    labels[:, 0] = 0  # a class without positives
    per_class = [metrics.average_precision_score(labels[:, c], scores[:, c])
                 for c in range(1, 8)]
    for c in range(1, 8):
        assert average_precision(scores[:, c], labels[:, c]) == pytest.approx(per_class[c - 1])
    assert mean_average_precision(scores, labels) == pytest.approx(np.mean(per_class))
    labels[:, 0] = 1  # now every sample has a positive
    per_sample = [metrics.average_precision_score(t, s) for s, t in zip(scores, labels)]
    assert mmit_mean_average_precision(scores, labels) == pytest.approx(np.mean(per_sample))


def test_metrics_match_mmaction2_reference_on_untied_scores():
    if not MMACTION_ACCURACY.is_file():
        pytest.skip(f'MMAction2 0.24.1 source not found at {MMACTION_ACCURACY} '
                    '(scripts/test.sh downloads it)')
    spec = importlib.util.spec_from_file_location('mmaction_accuracy', MMACTION_ACCURACY)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    rng = np.random.default_rng(3)
    scores = rng.random((40, 9))
    labels = rng.integers(0, 9, size=40)
    multi = (rng.random((40, 9)) < 0.3).astype(int)
    multi[:, 0] = 1
    assert top_k_accuracy(scores, labels, (1, 3, 5)) == pytest.approx(
        reference.top_k_accuracy(list(scores), list(labels), (1, 3, 5)))
    assert mean_class_accuracy(scores, labels) == pytest.approx(
        reference.mean_class_accuracy(list(scores), list(labels)))
    pred = rng.integers(0, 12, size=40)
    for normalize in (None, 'true', 'pred', 'all'):
        np.testing.assert_allclose(confusion_matrix(pred, labels, normalize),
                                   reference.confusion_matrix(pred, labels, normalize))
    assert mean_average_precision(scores, multi) == pytest.approx(
        reference.mean_average_precision(list(scores), list(multi)))
    assert mmit_mean_average_precision(scores, multi) == pytest.approx(
        reference.mmit_mean_average_precision(list(scores), list(multi)))


# ------------------------------------------------------------------------ softmax, fusion
def test_softmax_normalizes_along_dim_and_is_stable():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    out = softmax(x)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[1], 1 / 3)
    np.testing.assert_allclose(out[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    np.testing.assert_allclose(softmax(x.T, dim=0), out.T)


def test_get_weighted_score_fuses_per_sample():
    a = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    b = np.array([[0.0, 2.0], [2.0, 0.0], [1.0, 1.0]])
    fused = get_weighted_score([a, list(b)], [1.0, 0.5])
    assert isinstance(fused, list) and len(fused) == 3
    np.testing.assert_allclose(np.stack(fused), [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match='one coefficient per score set'):
        get_weighted_score([a, b], [1.0])
    with pytest.raises(ValueError, match=r'score_list\[1\] has shape \(2, 2\)'):
        get_weighted_score([a, b[:2]], [1.0, 1.0])


def test_head_training_accuracy_ranks_ties_as_the_metric():
    torch = pytest.importorskip('torch')
    from actionkit.models.heads.base import top_k_accuracy_torch
    scores = np.array([[.5, .5, 0], [.2, .2, .2], [.1, .3, .3]])
    got = top_k_accuracy_torch(torch.tensor(scores), torch.tensor([0, 2, 1]), (1, 2))
    assert [t.item() for t in got] == [pytest.approx(1 / 3), 1.0]
