"""NTU RGB+D .skeleton files to PoseDataset pickles (MMAction2's gen_ntu_rgbd_raw.py)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from actionkit.datasets import PoseDataset
from actionkit.datasets.prep.ntu_skeleton import (convert_ntu_skeletons, pre_normalize,
                                                  read_skeleton_file, select_bodies)
from actionkit.errors import AnnotationError


def _write_skeleton(path, bodies_per_frame):
    """``bodies_per_frame``: per frame, a list of [25, 3] arrays."""
    lines = [str(len(bodies_per_frame))]
    for bodies in bodies_per_frame:
        lines.append(str(len(bodies)))
        for joints in bodies:
            lines.append('72057594037931101 0 1 1 1 1 0 0.1 0.2 2')
            lines.append('25')
            lines += [f'{x} {y} {z} 1 2 3 4 0 0 0 0 2' for x, y, z in joints]
    path.write_text('\n'.join(lines) + '\n')


def _person(rng, shift=0.):
    joints = rng.normal(0, 0.3, (25, 3)) + [0.1, 0.2, 3.0 + shift]
    return joints


def test_read_keeps_four_bodies_and_select_takes_the_two_that_move_most(tmp_path):
    rng = np.random.default_rng(0)
    still = _person(rng)
    frames = []
    for t in range(4):
        moving = still + [0.3 * t, 0, 0]  # x std 0.335 per joint
        slow = still + [0, 0.05 * t, 0]
        frames.append([still, slow, moving, still, moving])  # the fifth body is ignored
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    _write_skeleton(path, frames)
    data = read_skeleton_file(path)
    assert data.shape == (4, 4, 25, 3)
    assert np.allclose(data[2, 3], still + [0.9, 0, 0])
    chosen = select_bodies(data)
    assert np.allclose(chosen[0], data[2]) and np.allclose(chosen[1], data[1])


def test_pre_normalize_centres_and_aligns():
    rng = np.random.default_rng(1)
    sample = np.zeros((2, 6, 25, 3), np.float32)
    sample[0, 1:4] = rng.normal(0, 1, (3, 25, 3))  # an empty first frame and an empty tail
    # a spine (0 -> 1) at right angles to the shoulders (4 -> 8), leaning in camera space
    sample[0, 1, [0, 1, 4, 8]] = [[0.2, 0.1, 3], [0.5, 0.7, 3.1], [0.1, 0.5, 3.4],
                                  [0.9, 0.1, 3.2]]
    spine, shoulders = sample[0, 1, 1] - sample[0, 1, 0], sample[0, 1, 8] - sample[0, 1, 4]
    sample[0, 1, 8] -= spine * (spine @ shoulders) / (spine @ spine)
    sample[1, 1:3] = rng.normal(0, 1, (2, 25, 3))
    out = pre_normalize(sample.copy())
    first = out[0, 0]
    assert np.allclose(first[1], 0, atol=1e-5)                 # joint 1 is the origin
    bone = first[1] - first[0]
    assert np.allclose(bone[:2], 0, atol=1e-5) and bone[2] > 0  # hip -> spine along +z
    shoulders = first[8] - first[4]
    assert np.allclose(shoulders[1:], 0, atol=1e-5) and shoulders[0] > 0  # along +x
    # rigid motion: distances between joints are kept
    raw = sample[0, 1]
    assert np.isclose(np.linalg.norm(first[3] - first[7]), np.linalg.norm(raw[3] - raw[7]),
                      atol=1e-5)
    # the first body's frames 1..3 moved to 0..2, then looped: frame 3 is frame 0 again
    assert np.allclose(out[0, 3], out[0, 0]) and np.allclose(out[0, 5], out[0, 2])


def test_convert_writes_the_benchmarks_and_poses_load(tmp_path):
    rng = np.random.default_rng(2)
    src = tmp_path / 'skeletons'
    src.mkdir()
    # subject 1 trains in xsub, subject 3 does not; camera 2 trains in xview, camera 1 not
    names = ['S001C001P001R001A005', 'S001C002P003R002A060', 'S002C001P003R001A001']
    for i, name in enumerate(names):
        _write_skeleton(src / f'{name}.skeleton',
                        [[_person(rng, 0.1 * t)] for t in range(3 + i)])
    (src / 'notes.txt').write_text('not a skeleton')
    written = convert_ntu_skeletons(src, tmp_path / 'out', 'ntu60',
                                    ignored=['S002C001P003R001A001'])
    assert [p.relative_to(tmp_path / 'out').as_posix() for p in written] == [
        'xsub/train.pkl', 'xsub/val.pkl', 'xview/train.pkl', 'xview/val.pkl']
    with open(tmp_path / 'out' / 'xsub' / 'train.pkl', 'rb') as f:
        (record, ) = pickle.load(f)
    assert record['frame_dir'] == names[0] and record['label'] == 4
    assert record['total_frames'] == 3 and record['keypoint'].shape == (2, 3, 25, 3)
    assert record['keypoint'].dtype == np.float32 and not record['keypoint'][1].any()
    xview = PoseDataset(tmp_path / 'out' / 'xview' / 'train.pkl', [])
    assert [r['frame_dir'] for r in xview.video_infos] == [names[1]]
    assert xview.video_infos[0]['label'] == 59


def test_a_malformed_skeleton_file_names_the_line(tmp_path):
    path = tmp_path / 'S001C001P001R001A001.skeleton'
    path.write_text('2\n1\nbody\n25\n0.1 0.2\n')
    with pytest.raises(AnnotationError, match=r'S001C001P001R001A001.skeleton:5: a joint line '
                                              'needs x y z'):
        read_skeleton_file(path)
    path.write_text('3\n1')
    with pytest.raises(AnnotationError, match='file ends where a body line was expected'):
        read_skeleton_file(path)
