"""AVADataset: records, proposals, exclusions, custom classes and bad input."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from actionkit.datasets import AVADataset
from actionkit.errors import AnnotationError
from actionkit.evaluation.ava_files import read_ava_csv, read_exclusions, read_labelmap
from actionkit.utils.safe_pickle import UnsafePickleError

from .conftest import SHARED_DATA

AVA_SAMPLE = SHARED_DATA / 'mmaction2' / 'tests' / 'data' / 'ava_dataset'

_CSV = """vidA,0902,0.1,0.2,0.5,0.6,12,3
vidA,0902,0.1,0.2,0.5,0.6,17,3
vidA,0902,0.3,0.3,0.9,0.9,12,5
vidB,0903,0.0,0.0,1.0,1.0,79,0
vidA,0905,0.2,0.2,0.4,0.4,80,1
"""
_LABELS = ''.join(f'item {{\n  name: "a{i}"\n  id: {i}\n}}\n' for i in (12, 17, 79, 80))


@pytest.fixture
def ava_files(tmp_path):
    (tmp_path / 'ann.csv').write_text(_CSV)
    (tmp_path / 'excl.csv').write_text('vidA,0905\n')
    (tmp_path / 'labels.pbtxt').write_text(_LABELS)
    proposals = {
        'vidA,0902': np.array([[.1, .2, .5, .6, .95], [.3, .3, .9, .9, .5],
                               [0., 0., .2, .2, .92]]),
        'vidA,0905': np.array([[0., 0., .5, .5, .3], [.5, .5, 1., 1., .6]]),
    }
    with open(tmp_path / 'props.pkl', 'wb') as f:
        pickle.dump(proposals, f)
    return tmp_path


def _dataset(d, **kwargs):
    args = dict(ann_file=d / 'ann.csv', exclude_file=d / 'excl.csv', pipeline=[],
                label_file=d / 'labels.pbtxt', proposal_file=d / 'props.pkl')
    args.update(kwargs)
    return AVADataset(**args)


def test_records_merge_rows_of_one_box(ava_files):
    ds = _dataset(ava_files, test_mode=True, data_prefix='/frames')
    assert [info['img_key'] for info in ds.video_infos] == ['vidA,0902', 'vidB,0903',
                                                           'vidA,0905']
    info = ds.video_infos[0]
    assert set(info) == {'frame_dir', 'video_id', 'timestamp', 'img_key', 'shot_info', 'fps',
                         'ann'}
    assert info['frame_dir'] == '/frames/vidA' and info['timestamp'] == 902
    assert info['shot_info'] == (0, 900 * 30) and info['fps'] == 30
    ann = info['ann']
    np.testing.assert_allclose(ann['gt_bboxes'], [[.1, .2, .5, .6], [.3, .3, .9, .9]])
    assert ann['gt_labels'].shape == (2, 81) and ann['gt_labels'].dtype == np.float32
    assert np.flatnonzero(ann['gt_labels'][0]).tolist() == [12, 17]
    assert np.flatnonzero(ann['gt_labels'][1]).tolist() == [12]
    assert ann['entity_ids'].tolist() == [3, 5]


def test_train_mode_drops_excluded_frames(ava_files):
    assert [i['img_key'] for i in _dataset(ava_files).video_infos] == ['vidA,0902',
                                                                      'vidB,0903']


def test_results_proposals_thresholded_and_capped(ava_files):
    ds = _dataset(ava_files, test_mode=True, num_max_proposals=1, timestamp_start=902,
                  timestamp_end=1798, fps=25)
    res = ds[0]
    assert res['filename_tmpl'] == 'img_{:05}.jpg' and res['start_index'] == 0
    assert (res['timestamp_start'], res['timestamp_end']) == (902, 1798)
    assert res['shot_info'] == (0, 896 * 25)
    # scores .95 and .92 pass 0.9; num_max_proposals=1 keeps the first
    np.testing.assert_allclose(res['proposals'], [[.1, .2, .5, .6]])
    np.testing.assert_allclose(res['scores'], [.95])
    assert 'ann' not in res and res['gt_labels'].shape == (2, 81)
    # a key frame missing from the proposal file gets the whole frame with score 1
    np.testing.assert_allclose(ds[1]['proposals'], [[0, 0, 1, 1]])
    np.testing.assert_allclose(ds[1]['scores'], [1])
    # none reaches 0.9: the best (0.6) is kept
    np.testing.assert_allclose(ds[2]['proposals'], [[.5, .5, 1, 1]])
    np.testing.assert_allclose(ds[2]['scores'], [.6])
    ds = _dataset(ava_files, test_mode=True, person_det_score_thr=0.5)
    np.testing.assert_allclose(ds[0]['scores'], [.95, .5, .92])


def test_missing_proposals_counted_once_at_info(ava_files, caplog):
    props = ava_files / 'props.pkl'
    with open(props, 'rb') as f:
        proposals = pickle.load(f)
    proposals['vidA,0905'] = np.zeros((0, 5))  # an empty entry falls back too
    with open(props, 'wb') as f:
        pickle.dump(proposals, f)
    with caplog.at_level('INFO', logger='actionkit.datasets.ava_dataset'):
        _dataset(ava_files, test_mode=True)
        # train mode drops the excluded vidA,0905 first: only vidB,0903 is missing
        _dataset(ava_files)
    counts = [r.getMessage() for r in caplog.records if 'no proposal' in r.getMessage()]
    assert counts == [f'{props}: 2 of 3 key frames have no proposal (first: vidB,0903); each '
                      'gets the whole frame as its one box, score 1',
                      f'{props}: 1 of 2 key frames have no proposal (first: vidB,0903); each '
                      'gets the whole frame as its one box, score 1']
    caplog.clear()
    (ava_files / 'one.csv').write_text('vidA,0902,0.1,0.2,0.5,0.6,12,3\n')
    with caplog.at_level('INFO', logger='actionkit.datasets.ava_dataset'):
        _dataset(ava_files, ann_file=ava_files / 'one.csv')  # every key frame has proposals
    assert not [r for r in caplog.records if 'no proposal' in r.getMessage()]


def test_custom_classes_renumber_and_skip(ava_files):
    ds = _dataset(ava_files, test_mode=True, custom_classes=[17, 80], num_classes=3)
    assert [i['img_key'] for i in ds.video_infos] == ['vidA,0902', 'vidA,0905']
    np.testing.assert_array_equal(ds.video_infos[0]['ann']['gt_labels'], [[0, 1, 0]])
    np.testing.assert_array_equal(ds.video_infos[1]['ann']['gt_labels'], [[0, 0, 1]])
    assert ds.custom_classes == (0, 17, 80)
    with pytest.raises(ValueError, match='len\\(custom_classes\\) \\+ 1 = 3'):
        _dataset(ava_files, custom_classes=[17, 80], num_classes=81)
    with pytest.raises(ValueError, match=r'\[13\] are not in the label map'):
        _dataset(ava_files, custom_classes=[13], num_classes=2)


@pytest.mark.parametrize('line,match', [
    ('vidA,0902,0.1,0.2,0.5,0.6,12', 'expected 8 comma-separated columns'),
    ('vidA,0902,0.5,0.2,0.1,0.6,12,0', 'the box must have finite x1 <= x2'),
    ('vidA,0902,0.1,0.2,0.5,0.6,twelve,0', 'not a number'),
])
def test_bad_csv_row_names_file_and_line(tmp_path, line, match):
    path = tmp_path / 'bad.csv'
    path.write_text('vidA,0901,0.1,0.2,0.5,0.6,12,0\n' + line + '\n')
    with pytest.raises(AnnotationError, match=f'bad.csv:2: {match}'):
        read_ava_csv(path)


def test_label_outside_num_classes_refused(ava_files):
    with pytest.raises(AnnotationError, match='ann.csv:4: action id 79 is out of range'):
        _dataset(ava_files, num_classes=60)
    with pytest.raises(AnnotationError, match='action index 80, out of range'):
        _dataset(ava_files, test_mode=True).check_label_range(80)


def test_bad_proposals_and_exclusions(ava_files):
    with open(ava_files / 'props.pkl', 'wb') as f:
        pickle.dump({'vidA,0902': np.zeros((2, 3))}, f)
    with pytest.raises(AnnotationError, match="props.pkl: key 'vidA,0902'.*shape \\(2, 3\\)"):
        _dataset(ava_files)
    with open(ava_files / 'props.pkl', 'wb') as f:
        pickle.dump({'vidA,0902': np.zeros((0, 5))}, f)
    np.testing.assert_allclose(_dataset(ava_files)[0]['proposals'], [[0, 0, 1, 1]])
    with open(ava_files / 'props.pkl', 'wb') as f:
        pickle.dump({'k': AnnotationError('x')}, f)
    with pytest.raises(UnsafePickleError, match='props.pkl'):
        _dataset(ava_files)
    (ava_files / 'excl.csv').write_text('vidA,0905,3\n')
    with pytest.raises(AnnotationError, match='excl.csv:1: expected 2 columns'):
        read_exclusions(ava_files / 'excl.csv')
    with pytest.raises(ValueError, match='person_det_score_thr'):
        _dataset(ava_files, person_det_score_thr=1.5)


def test_labelmap_reader(ava_files):
    labelmap, ids = read_labelmap(ava_files / 'labels.pbtxt')
    assert labelmap[1] == {'id': 17, 'name': 'a17'} and ids == {12, 17, 79, 80}


def test_mmaction2_sample_files():
    if not AVA_SAMPLE.is_dir():
        pytest.skip(f'shared test data not found at {AVA_SAMPLE}')
    ds = AVADataset(AVA_SAMPLE / 'ava_sample.csv',
                    AVA_SAMPLE / 'ava_excluded_timestamps_sample.csv', [],
                    label_file=AVA_SAMPLE / 'action_list.txt',
                    proposal_file=AVA_SAMPLE / 'ava_proposals_sample.pkl')
    # 3 key frames; the excluded file removes 0f39OWEqJ24,0903 and _-Z6wFjXtGQ,0902
    assert [i['img_key'] for i in ds.video_infos] == ['0f39OWEqJ24,0902']
    assert np.flatnonzero(ds.video_infos[0]['ann']['gt_labels'][0]).tolist() == [12, 17, 79]
    res = ds[0]
    np.testing.assert_allclose(res['proposals'], [[0.011, 0.157, 0.655, 0.983]])
    np.testing.assert_allclose(res['scores'], [0.998163])
    test = AVADataset(AVA_SAMPLE / 'ava_sample.csv', None, [], test_mode=True)
    assert len(test) == 3
    assert np.flatnonzero(test.video_infos[2]['ann']['gt_labels'][0]).tolist() == [12, 74, 80]
