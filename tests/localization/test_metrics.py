"""Temporal IoU, AR@AN and detection AP on hand-computed cases and the shared eval files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from actionkit.evaluation.localization import (ActivityNetLocalization,
                                               average_precision_at_temporal_iou,
                                               average_recall_at_avg_proposals, eval_ap,
                                               interpolated_precision_recall,
                                               pairwise_temporal_iou, temporal_iop, temporal_iou)


def test_pairwise_temporal_iou_hand_computed():
    candidates = np.array([[0., 10.], [5., 15.]])
    targets = np.array([[0., 10.], [10., 20.], [2., 4.]])
    iou, overlap_self = pairwise_temporal_iou(candidates, targets, calculate_overlap_self=True)
    assert iou.shape == (3, 2) and iou.dtype == np.float32
    np.testing.assert_allclose(iou, [[1, 1 / 3], [0, 1 / 3], [0.2, 0]], rtol=1e-6)
    np.testing.assert_allclose(overlap_self, [[1, 0.5], [0, 0.5], [0.2, 0]], rtol=1e-6)
    single = pairwise_temporal_iou(np.array([5., 15.]), targets)
    np.testing.assert_allclose(single, [1 / 3, 1 / 3, 0], rtol=1e-6)
    with pytest.raises(ValueError, match='target_segments'):
        pairwise_temporal_iou(candidates, np.array([0., 1.]))


def test_temporal_iou_and_iop_broadcast():
    np.testing.assert_allclose(temporal_iou(np.array([0., 2.]), np.array([4., 3.]), 1., 3.),
                               [2 / 4, 1 / 2])
    # share of the proposal [0, 4] inside [1, 3]: 2 / 4
    assert float(temporal_iop(0., 4., 1., 3.)) == pytest.approx(0.5)


def test_average_recall_hand_computed():
    ground_truth = {'a': np.array([[0., 10.]]), 'b': np.array([[0., 4.], [6., 10.]])}
    proposals = {'a': np.array([[0., 10., .9], [20., 30., .5]]),
                 'b': np.array([[0., 5., .8], [6., 10., .3]])}
    recall, avg_recall, per_video, auc = average_recall_at_avg_proposals(
        ground_truth, proposals, 4, max_avg_proposals=2,
        temporal_iou_thresholds=np.array([0.5, 0.85]))
    # 1 proposal per video from 50% of the budget on, 2 at 100%.
    # tIoU 0.5: a finds its gt with 1, b finds [0,4] (IoU .8) with 1 and both with 2.
    # tIoU 0.85: b's first proposal (IoU .8) is not enough.
    k = np.arange(1, 101)
    expected_05 = np.where(k < 50, 0, np.where(k < 100, 2 / 3, 1))
    expected_085 = np.where(k < 50, 0, np.where(k < 100, 1 / 3, 2 / 3))
    np.testing.assert_allclose(recall[0], expected_05)
    np.testing.assert_allclose(recall[1], expected_085)
    np.testing.assert_allclose(avg_recall, (expected_05 + expected_085) / 2)
    np.testing.assert_allclose(per_video, 2 * k / 100)
    # trapezoids of width 0.02: 0 -> .5 once, .5 flat 49 times, .5 -> 5/6 once; / x range 2
    area = 0.02 * (0.25 + 49 * 0.5 + (0.5 + 5 / 6) / 2)
    assert auc == pytest.approx(100 * area / 2.0)


def test_average_recall_missing_and_empty_videos_count_as_missed():
    ground_truth = {'a': np.array([[0., 10.]]), 'b': np.array([[0., 4.]]),
                    'c': np.array([[1., 2.]])}
    proposals = {'a': np.array([[0., 10., .9]]), 'b': np.zeros((0, 3))}  # c missing
    recall, *_ = average_recall_at_avg_proposals(ground_truth, proposals, 1)
    assert recall[:, -1] == pytest.approx(np.full(10, 1 / 3))
    with pytest.raises(ValueError, match='total_num_proposals'):
        average_recall_at_avg_proposals(ground_truth, proposals, 0)


def test_interpolated_precision_recall_envelope():
    # precision dips then recovers: the envelope takes the later, higher value
    ap = interpolated_precision_recall(np.array([1., .5, 2 / 3]), np.array([.5, .5, 1.]))
    assert ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_average_precision_hand_computed():
    ground_truth = {'A': [[0, 10]], 'B': [[0, 10], [20, 30]]}
    prediction = [['B', 0, 20, 30, .9],   # TP (IoU 1)
                  ['A', 0, 0, 5, .8],     # IoU .5: TP at 0.5, FP at 0.7
                  ['B', 0, 21, 30, .7],   # its gt is taken already: FP
                  ['B', 0, 0, 9, .6]]     # IoU .9: TP
    ap = average_precision_at_temporal_iou(ground_truth, prediction, [0.5, 0.7])
    # 0.5: precision 1, 1, 2/3, 3/4 at recall 1/3, 2/3, 2/3, 1 -> 1/3 + 1/3 + 1/3 * 3/4
    # 0.7: precision 1, 1/2, 1/3, 1/2 at recall 1/3, 1/3, 1/3, 2/3 -> 1/3 + 1/3 * 1/2
    np.testing.assert_allclose(ap, [11 / 12, 0.5], rtol=1e-6)
    assert average_precision_at_temporal_iou(ground_truth, [], [0.5]).tolist() == [0.0]
    table = eval_ap({0: prediction, 1: [], 2: prediction}, {0: ground_truth, 1: ground_truth},
                    [0.5, 0.7])
    # class 1 has no detection: AP 0; class 2 has no ground truth: NaN (left out of means)
    np.testing.assert_allclose(table, [[11 / 12, 0.5], [0, 0], [np.nan, np.nan]], rtol=1e-6)


def _reference_map(gt_file, pred_file, thresholds):
    """An independent, loop-based mAP: greedy matching, VOC envelope of precision."""
    gt = json.load(open(gt_file))
    pred = json.load(open(pred_file))['results']
    labels = sorted({a['label'] for v in gt.values() for a in v['annotations']})
    aps = np.zeros((len(thresholds), len(labels)))
    for c, label in enumerate(labels):
        gts = [(vid[2:], a['segment']) for vid, v in gt.items() for a in v['annotations']
               if a['label'] == label]
        dets = [(vid, d['segment'], d['score']) for vid, ds in pred.items() for d in ds
                if d['label'] == label]
        dets.sort(key=lambda d: -d[2])
        for t, thr in enumerate(thresholds):
            used, hits = set(), []
            for vid, seg, _ in dets:
                best, best_iou = None, -1.0
                for j, (gvid, gseg) in enumerate(gts):
                    if gvid != vid or j in used:
                        continue
                    inter = max(0., min(seg[1], gseg[1]) - max(seg[0], gseg[0]))
                    iou = inter / ((seg[1] - seg[0]) + (gseg[1] - gseg[0]) - inter)
                    if iou > best_iou:
                        best, best_iou = j, iou
                # a detection whose best gt overall is taken may still take a worse free one
                ok = best is not None and best_iou >= thr
                if ok:
                    used.add(best)
                hits.append(ok)
            ap, tp = 0.0, 0
            precisions = [sum(hits[:i + 1]) / (i + 1) for i in range(len(hits))]
            for i, hit in enumerate(hits):
                if hit:
                    tp += 1
                    ap += max(precisions[i:]) / len(gts)
            aps[t, c] = ap
    return aps.mean(axis=1)


def test_activitynet_localization_on_shared_files(shared_data):
    gt_file = shared_data / 'eval_localization' / 'gt.json'
    pred_file = shared_data / 'eval_localization' / 'result.json'
    thresholds = np.linspace(0.5, 0.95, 10)
    evaluator = ActivityNetLocalization(str(gt_file), str(pred_file), tiou_thresholds=thresholds)
    mAP, average_mAP = evaluator.evaluate()
    np.testing.assert_allclose(mAP, _reference_map(gt_file, pred_file, thresholds), rtol=1e-6)
    assert average_mAP == pytest.approx(float(np.mean(mAP)))
    assert np.all(np.diff(mAP) <= 1e-9), 'mAP cannot grow with a stricter tIoU'
    assert evaluator.ap.shape == (10, len(evaluator.activity_index))


def test_activitynet_localization_errors(tmp_path):
    with pytest.raises(ValueError, match='ground_truth_filename'):
        ActivityNetLocalization(None, 'x.json')
    bad = tmp_path / 'pred.json'
    bad.write_text('{"predictions": {}}')
    gt = tmp_path / 'gt.json'
    gt.write_text('{"v_a": {"annotations": [{"segment": [0, 1], "label": "x"}]}}')
    with pytest.raises(ValueError, match='"results"'):
        ActivityNetLocalization(str(gt), str(bad))


def test_average_recall_when_a_videos_budget_rounds_to_zero():
    # 11 proposals, 2 videos, 1 per video on average: a keeps int(10 * 2/11) = 1, b keeps 0
    ground_truth = {'a': np.array([[0., 10.]]), 'b': np.array([[0., 4.]])}
    proposals = {'a': np.array([[0., 10., .9]] + [[20., 30., .1]] * 9),
                 'b': np.array([[0., 4., .8]])}
    recall, *_ = average_recall_at_avg_proposals(ground_truth, proposals, 11,
                                                 max_avg_proposals=1)
    np.testing.assert_allclose(recall[:, -1], 0.5)
