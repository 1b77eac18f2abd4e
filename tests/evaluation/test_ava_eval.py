"""AVA frame mAP@0.5 (MMAction2's ava_eval) on a hand-worked case, the result CSV, and
AVADataset.evaluate end to end."""
from __future__ import annotations

import numpy as np
import pytest

from actionkit.datasets import AVADataset
from actionkit.errors import AnnotationError
from actionkit.evaluation.ava import ava_eval, read_ava_boxes, results2csv

_GT = """v,0902,0.1,0.1,0.5,0.5,1,0
v,0902,0.6,0.6,0.9,0.9,1,1
v,0902,0.6,0.6,0.9,0.9,2,1
v,0903,0.1,0.1,0.5,0.5,1,0
v,0904,0.1,0.1,0.5,0.5,3,0
v,0905,0.2,0.2,0.3,0.3,1,0
"""
# class 1 (4 gt): 0.9 TP, 0.8 duplicate FP, 0.7 FP (no overlap), 0.6 TP (IoU 0.95), 0.5 TP
#   precision at the true positives 1, 2/4, 3/5 at recall 1/4, 2/4, 3/4; made non-increasing
#   (2/4 -> 3/5): AP = (1 + 0.6 + 0.6) / 4 = 0.55
# class 2 (1 gt): an invalid box (x2 < x1) at 0.95 is dropped, then a TP -> AP 1
# class 3: its only frame is excluded -> no ground truth, left out; class 4 not in the map
_DET = """v,0902,0.1,0.1,0.5,0.5,1,0.9
v,0902,0.1,0.1,0.5,0.5,1,0.8
v,0903,0.6,0.6,0.9,0.9,1,0.7
v,0903,0.1,0.1,0.5,0.48,1,0.6
v,0902,0.9,0.6,0.6,0.9,2,0.95
v,0902,0.6,0.6,0.9,0.9,2,0.5
v,0904,0.1,0.1,0.5,0.5,3,0.9
v,0902,0.1,0.1,0.5,0.5,4,0.9
v,0905,0.2,0.2,0.3,0.3,1,0.5
"""
_LABELS = ''.join(f'item {{\n  name: "a{i}"\n  id: {i}\n}}\n' for i in (1, 2, 3))


@pytest.fixture
def files(tmp_path):
    for name, text in (('gt.csv', _GT), ('det.csv', _DET), ('labels.pbtxt', _LABELS),
                       ('excl.csv', 'v,0904\n')):
        (tmp_path / name).write_text(text)
    return tmp_path


def test_ava_eval_hand_worked(files):
    result = ava_eval(files / 'det.csv', 'mAP', files / 'labels.pbtxt', files / 'gt.csv',
                      files / 'excl.csv')
    assert result == {'mAP@0.5IOU': pytest.approx(.775)}
    # without the exclusion, class 3 counts (AP 1 on v,0904): (0.55 + 1 + 1) / 3
    result = ava_eval(files / 'det.csv', 'mAP', files / 'labels.pbtxt', files / 'gt.csv', None)
    assert result['mAP@0.5IOU'] == pytest.approx(2.55 / 3)
    # custom classes: class 1 only
    result = ava_eval(files / 'det.csv', 'mAP', files / 'labels.pbtxt', files / 'gt.csv',
                      files / 'excl.csv', custom_classes=(0, 1))
    assert result['mAP@0.5IOU'] == pytest.approx(.55)


def test_read_ava_boxes_orders_by_score_and_names_bad_rows(files):
    det = read_ava_boxes(files / 'det.csv', {1, 2}, with_scores=True)
    boxes, actions, scores = det['v,0902']
    assert scores.tolist() == [.95, .9, .8, .5] and actions.tolist() == [2, 1, 1, 2]
    (files / 'bad.csv').write_text('v,0902,0.1,0.1,0.5,0.5,1\n')
    with pytest.raises(AnnotationError, match='bad.csv:1: expected 8 columns, got 7'):
        read_ava_boxes(files / 'bad.csv', with_scores=True)


def test_results2csv_writes_mmaction_format(tmp_path):
    out = tmp_path / 'r.csv'
    results2csv([('v', 902), ('w', 1000)],
                [[np.array([[.1, .2, .5, .6, .91234]]), np.zeros((0, 5))],
                 [np.zeros((0, 5)), np.array([[0, 0, 1, 1, .5], [.2, .2, .4, .4, .25]])]],
                out, custom_classes=(0, 5, 7))
    assert out.read_text().splitlines() == [
        'v,902,0.100,0.200,0.500,0.600,5,0.912', 'w,1000,0.000,0.000,1.000,1.000,7,0.500',
        'w,1000,0.200,0.200,0.400,0.400,7,0.250']


def test_ava_dataset_evaluate(files):
    ds = AVADataset(files / 'gt.csv', files / 'excl.csv', [], label_file=files / 'labels.pbtxt',
                    num_classes=4, test_mode=True)
    assert [i['img_key'] for i in ds.video_infos] == ['v,0902', 'v,0903', 'v,0904', 'v,0905']
    empty = np.zeros((0, 5))
    results = [
        [np.array([[.1, .1, .5, .5, .9], [.1, .1, .5, .5, .8]]),
         np.array([[.6, .6, .9, .9, .5]]), empty],
        [np.array([[.6, .6, .9, .9, .7], [.1, .1, .5, .48, .6]]), empty, empty],
        [empty, empty, np.array([[.1, .1, .5, .5, .9]])],
        [np.array([[.2, .2, .3, .3, .5]]), empty, empty],
    ]
    assert ds.evaluate(results) == {'mAP@0.5IOU': pytest.approx(.775)}
    ds.dump_results(results, files / 'out.csv')
    first = (files / 'out.csv').read_text().splitlines()[0]
    assert first == 'v,902,0.100,0.100,0.500,0.500,1,0.900'
    ds.dump_results(results, files / 'out.pkl')  # other suffixes: BaseDataset's writers
    assert (files / 'out.pkl').stat().st_size > 0
    with pytest.raises(ValueError, match='"mAP" only'):
        ds.evaluate(results, metrics='top_k_accuracy')
