"""ActivityNetDataset: real annotation files, bad annotations, evaluation, result files."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from actionkit.datasets import DATASETS, ActivityNetDataset
from actionkit.datasets.errors import AnnotationError, BadSample, DataError
from actionkit.datasets.pipelines.localization import (GenerateLocalizationLabels,
                                                       LoadLocalizationFeature)


def _dataset(shared_data, test_mode=True):
    return DATASETS.build(dict(
        type='ActivityNetDataset', ann_file=str(shared_data / 'annotations' /
                                                'action_test_anno.json'),
        pipeline=[LoadLocalizationFeature(), GenerateLocalizationLabels()],
        data_prefix=str(shared_data / 'activitynet_features'), test_mode=test_mode))


def test_loads_real_annotations_and_features(shared_data):
    dataset = _dataset(shared_data)
    assert len(dataset) == 2
    assert [info['video_name'] for info in dataset.video_infos] == ['v_test1', 'v_test2']
    sample = dataset[1]
    assert sample['video_name'] == 'v_test2'
    assert sample['raw_feature'].shape[0] == 400
    np.testing.assert_allclose(sample['gt_bbox'], [[0.5, 1.0]])  # [1, 2] s of 2 s
    assert sample['data_prefix'] == dataset.data_prefix


def _ann(tmp_path, videos):
    path = tmp_path / 'anno.json'
    path.write_text(json.dumps(videos))
    return str(path)


def _video(*segments, duration=10.0):
    return dict(duration_second=duration, duration_frame=int(duration * 30),
                feature_frame=int(duration * 30), fps=30.0,
                annotations=[dict(segment=list(s), label='a') for s in segments])


@pytest.mark.parametrize('segment,message', [
    ((12.0, 14.0), 'starts after the video ends'),
    ((5.0, 3.0), '0 <= start <= end'),
    ((-1.0, 3.0), '0 <= start <= end'),
    (('a', 3.0), 'expected'),
])
def test_bad_segments_name_file_and_video(tmp_path, segment, message):
    ann_file = _ann(tmp_path, {'v_good': _video((1, 2)), 'v_bad': _video(segment)})
    with pytest.raises(AnnotationError, match=rf"anno.json: video 'v_bad'.*{message}"):
        ActivityNetDataset(ann_file, [], data_prefix=str(tmp_path))


def test_segments_past_the_end_are_kept_with_a_warning(tmp_path, caplog):
    ann_file = _ann(tmp_path, {'v_a': _video((8.0, 10.2))})
    with caplog.at_level(logging.WARNING):
        dataset = ActivityNetDataset(ann_file, [], data_prefix=str(tmp_path))
    assert len(dataset) == 1 and '1 segments end after their video' in caplog.text
    with pytest.raises(AnnotationError, match='not valid JSON'):
        ActivityNetDataset(_write(tmp_path / 'broken.json', '{"v_a": '), [])
    with pytest.raises(AnnotationError, match='expected a JSON object'):
        ActivityNetDataset(_write(tmp_path / 'list.json', '[1, 2]'), [])


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_missing_feature_file(tmp_path):
    ann_file = _ann(tmp_path, {'v_missing': _video((1, 2))})
    pipeline = [LoadLocalizationFeature(), GenerateLocalizationLabels()]
    train_set = ActivityNetDataset(ann_file, pipeline, data_prefix=str(tmp_path))
    bad = train_set[0]  # training: logged and set aside
    assert isinstance(bad, BadSample) and bad.path.endswith('v_missing.csv')
    assert "'v_missing'" in bad.reason
    test_set = ActivityNetDataset(ann_file, pipeline, data_prefix=str(tmp_path), test_mode=True)
    with pytest.raises(DataError, match=r"'v_missing'.*v_missing.csv not found"):
        test_set[0]


def test_evaluate_against_independent_recall(shared_data):
    gt_file = shared_data / 'eval_localization' / 'gt.json'
    dataset = ActivityNetDataset(str(gt_file), [])
    detections = json.loads((shared_data / 'eval_localization' / 'result.json').read_text())
    results = [dict(video_name='v_' + vid, proposal_list=props)
               for vid, props in detections['results'].items()]
    metrics = dataset.evaluate(results, logger='silent')
    assert list(metrics) == ['auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100']
    # 14 proposals for 2 videos: at an average of 100 per video all are used, so AR@100 is
    # the share of gt segments that some proposal of their video covers, over the thresholds
    gt = json.loads(gt_file.read_text())
    best = []
    for vid, info in gt.items():
        for ann in info['annotations']:
            s, e = ann['segment']
            ious = [max(0, min(e, p['segment'][1]) - max(s, p['segment'][0]))
                    / (max(e, p['segment'][1]) - min(s, p['segment'][0]))
                    for p in detections['results'][vid[2:]]]
            best.append(max(ious))
    thresholds = np.linspace(0.5, 0.95, 10)
    expected = np.mean([np.mean([b >= t for b in best]) for t in thresholds])
    assert metrics['AR@100'] == pytest.approx(expected)
    assert metrics['AR@1'] <= metrics['AR@5'] <= metrics['AR@10'] <= metrics['AR@100']
    tight = dataset.evaluate(results, metric_options={'AR@AN': dict(
        temporal_iou_thresholds=[0.95], max_avg_proposals=100)}, logger='silent')
    assert tight['AR@100'] == pytest.approx(np.mean([b >= 0.95 for b in best]))
    with pytest.raises(KeyError, match='AR@AN'):
        dataset.evaluate(results, metrics='mAP')
    with pytest.raises(ValueError, match='1 results for a dataset of 2'):
        dataset.evaluate(results[:1])


def test_dump_results_json_and_csv(shared_data, tmp_path):
    dataset = _dataset(shared_data)
    results = [dict(video_name='v_test1', proposal_list=[dict(segment=[0.1, 0.5], score=0.9)]),
               dict(video_name='v_test2', proposal_list=[])]
    out = tmp_path / 'results.json'
    dataset.dump_results(results, str(out), output_format='json')
    written = json.loads(out.read_text())
    assert written['version'] == 'VERSION 1.3' and written['external_data'] == {}
    assert written['results'] == {'test1': results[0]['proposal_list'], 'test2': []}
    dataset.dump_results(results, str(tmp_path / 'inferred.json'))  # format from the suffix
    assert json.loads((tmp_path / 'inferred.json').read_text())['results']['test2'] == []

    tem = [('v_test1', np.arange(15, dtype=float).reshape(3, 5))]
    dataset.dump_results(tem, str(tmp_path / 'tem'), output_format='csv')
    lines = (tmp_path / 'tem' / 'v_test1.csv').read_text().splitlines()
    assert lines[0] == 'action,start,end,tmin,tmax' and len(lines) == 4
    np.testing.assert_allclose(np.loadtxt(tmp_path / 'tem' / 'v_test1.csv', delimiter=',',
                                          skiprows=1), tem[0][1])
    with pytest.raises(ValueError, match='output_format'):
        dataset.dump_results(results, str(out), output_format='xml')
