"""PoseDataset: MMAction2's pose pickles, read safely and checked record by record."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from actionkit.datasets import PoseDataset
from actionkit.datasets.errors import AnnotationError
from actionkit.utils.safe_pickle import UnsafePickleError


def _record(name='clip0', label=1, m=2, t=5, v=17, c=2):
    kp = np.arange(m * t * v * c, dtype=np.float32).reshape(m, t, v, c)
    return dict(frame_dir=name, label=label, img_shape=(100, 200), original_shape=(100, 200),
                total_frames=t, keypoint=kp, keypoint_score=np.ones((m, t, v), np.float32))


def _write(tmp_path, obj, name='ann.pkl'):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj))
    return path


def test_records_reach_the_pipeline_with_pose_modality_and_prefix(tmp_path):
    path = _write(tmp_path, [_record('a', 0), _record('b', 3, t=7)])
    dataset = PoseDataset(path, pipeline=[], data_prefix='root')
    assert len(dataset) == 2
    sample = dataset[1]
    assert sample['frame_dir'] == 'root/b' and sample['label'] == 3
    assert sample['modality'] == 'Pose' and sample['start_index'] == 0
    assert sample['keypoint'].shape == (2, 7, 17, 2)
    sample['keypoint'][:] = -1  # a copy: the next read is untouched
    assert dataset[1]['keypoint'][0, 0, 0, 1] == 1
    assert dataset.gt_labels() == [0, 3]


def test_split_keeps_only_the_named_clips(tmp_path):
    data = dict(split=dict(train1=['a', 'c'], test1=['b']),
                annotations=[_record('a'), _record('b'), _record('c')])
    path = _write(tmp_path, data)
    names = [d['frame_dir'] for d in PoseDataset(path, [], split='train1').video_infos]
    assert names == ['a', 'c']
    with pytest.raises(AnnotationError, match="no split 'train9'"):
        PoseDataset(path, [], split='train9')
    with pytest.raises(AnnotationError, match='pass split'):
        PoseDataset(path, [])


def test_valid_ratio_and_box_thr_filter_like_mmaction2(tmp_path):
    def clip(name, valid, scores):
        return dict(frame_dir=name, label=0, total_frames=10, valid_frames=valid,
                    **{'valid@0.8': valid - 1},
                    box_score=np.array(scores, dtype=np.float16))
    # 0.8 in float16 is 0.7998: MMAction2 compares each score as a Python float, so it
    # drops that box at box_thr 0.8 (a float16 comparison would keep it)
    data = [clip('a', 5, [0.9, 0.8, 0.85]), clip('b', 4, [0.1])]
    path = _write(tmp_path, data)
    assert [d['frame_dir'] for d in PoseDataset(path, [], valid_ratio=0.45).video_infos] == \
        ['a']
    assert len(PoseDataset(path, [], valid_ratio=0.4)) == 2
    kept = PoseDataset(path, [], valid_ratio=0.3, box_thr='0.8').video_infos
    assert [d['frame_dir'] for d in kept] == ['a', 'b']
    assert kept[0]['anno_inds'].tolist() == [0, 2] and kept[1]['anno_inds'].tolist() == []
    with pytest.raises(ValueError, match='box_thr'):
        PoseDataset(path, [], box_thr=0.75)


def test_v1_box_thr_float_reads_valid_dict(tmp_path):
    # MMAction2 1.x: valid[box_thr] counts the frames, anno_inds is a boolean mask
    def clip(name, valid, scores):
        return dict(frame_dir=name, label=0, total_frames=10, valid={0.5: valid, 0.7: valid - 3},
                    box_score=np.array(scores, dtype=np.float32))
    path = _write(tmp_path, [clip('a', 6, [0.9, 0.6, 0.75]), clip('b', 4, [0.1])])
    kept = PoseDataset(path, [], valid_ratio=0.3, box_thr=0.7,
                       data_prefix=dict(video='clips')).video_infos
    assert [d['frame_dir'] for d in kept] == ['clips/a']  # b: (4 - 3) / 10 < 0.3
    assert kept[0]['anno_inds'].tolist() == [True, False, True]
    assert len(PoseDataset(path, [], valid_ratio=0.3, box_thr=0.5)) == 2
    with pytest.raises(AnnotationError, match=r'valid\[0.6\]'):
        PoseDataset(path, [], valid_ratio=0.3, box_thr=0.6)
    with pytest.raises(ValueError, match=r"dict\(video=...\), got keys \['img'\]"):
        PoseDataset(path, [], data_prefix=dict(img='x'))


def test_class_prob_overrides(tmp_path):
    path = _write(tmp_path, [_record('a', 0), _record('b', 1)])
    dataset = PoseDataset(path, [], class_prob={0: 0.25, 1: 0.75})
    assert dataset.class_prob == {0: 0.25, 1: 0.75}


def test_real_kinetics_pose_sample(annotations_dir):
    path = annotations_dir / 'sample.pkl'
    with open(path, 'rb') as f:  # the shared test file (trusted)
        raw = pickle.load(f)
    dataset = PoseDataset(path, [], valid_ratio=0.2, box_thr='0.7', data_prefix='/data')
    expected = [r for r in raw if r['valid@0.7'] / r['total_frames'] >= 0.2]
    assert 0 < len(dataset) == len(expected) < len(raw)
    first = dataset[0]
    assert first['filename'] == '/data/' + expected[0]['filename']
    scores = expected[0]['box_score'].astype(np.float64)
    assert first['anno_inds'].tolist() == [i for i, s in enumerate(scores) if s >= 0.7]


class _Boom:
    def __reduce__(self):
        return (print, ('pwned',))


def test_a_hostile_pickle_is_refused_without_running_code(tmp_path, capsys):
    path = _write(tmp_path, [dict(_record(), evil=_Boom())])
    with pytest.raises(UnsafePickleError, match=r'ann\.pkl holds a builtins\.print'):
        PoseDataset(path, [])
    assert 'pwned' not in capsys.readouterr().out


@pytest.mark.parametrize('change,message', [
    (lambda r: r.pop('label'), r"record 1 \('clip0'\) has no 'label' key"),
    (lambda r: r.pop('total_frames'), "has no 'total_frames' key"),
    (lambda r: r.update(keypoint=r['keypoint'][0]), r"'keypoint' must be an array \[M, T, V, C\]"),
    (lambda r: r.update(total_frames=0), 'an empty clip'),
    (lambda r: r.update(keypoint=np.zeros((1, 0, 17, 2), np.float32)), 'no frame'),
    (lambda r: r.update(keypoint_score=np.ones((2, 5, 16))), "'keypoint_score' must be"),
])
def test_bad_records_name_file_record_and_key(tmp_path, change, message):
    bad = _record()
    change(bad)
    path = _write(tmp_path, [_record('ok'), bad])
    with pytest.raises(AnnotationError, match=message) as err:
        PoseDataset(path, [])
    assert 'ann.pkl' in str(err.value)


def test_not_a_pickle_or_wrong_suffix(tmp_path):
    path = tmp_path / 'ann.pkl'
    path.write_bytes(b'frame_dir 3 1\n')
    with pytest.raises(ValueError, match='ann.pkl is not a readable pickle'):
        PoseDataset(path, [])
    with pytest.raises(ValueError, match='reads .pkl'):
        PoseDataset(tmp_path / 'ann.txt', [])
    with pytest.raises(FileNotFoundError, match='missing.pkl'):
        PoseDataset(tmp_path / 'missing.pkl', [])


def test_v1_skeleton_prefix_merges_a_pickle_per_clip(tmp_path):
    # Kinetics-400 pose (1.x): the list holds ids and sizes, the keypoints sit in
    # <skeleton>/<frame_dir>.pkl and join the sample
    path = _write(tmp_path, [dict(frame_dir='clip1', label=2, total_frames=3,
                                  keypoint=np.zeros((1, 3, 17, 2), np.float32))])
    (tmp_path / 'skel').mkdir()
    (tmp_path / 'skel' / 'clip1.pkl').write_bytes(pickle.dumps(
        dict(box_score=np.array([0.9], np.float16), extra=7)))
    sample = PoseDataset(path, [], data_prefix=dict(skeleton='skel'),
                         data_root=str(tmp_path))[0]
    assert sample['extra'] == 7 and sample['frame_dir'] == 'clip1'
    assert sample['box_score'].tolist() == [pytest.approx(0.9, abs=1e-3)]
