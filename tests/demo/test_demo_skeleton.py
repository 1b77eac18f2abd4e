"""demo/demo_skeleton.py and actionkit.apis.skeleton: pose file in, label and drawn video out."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from actionkit.apis import inference_skeleton, init_recognizer, load_pose_file
from actionkit.datasets.synthetic import make_synthetic_video
from actionkit.datasets.synthetic_pose import render_pose_clip
from actionkit.datasets.prep.video_io import read_video

GCN_CONFIG = """
model = dict(
    type='SkeletonGCN',
    backbone=dict(type='STGCN', in_channels=3, graph_cfg=dict(layout='coco', strategy='spatial')),
    cls_head=dict(type='STGCNHead', num_classes=6, in_channels=256, num_person=1))
pipeline = [
    dict(type='UniformSampleFrames', clip_len=8, num_clips=1, test_mode=True),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', input_format='NCTVM', num_person=1),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint']),
]
data = dict(test=dict(type='PoseDataset', ann_file='x.pkl', pipeline=pipeline))
"""


@pytest.fixture
def pose_clip(tmp_path):
    kp, score = render_pose_clip(2, 0, num_frames=12)
    kp = kp * 0.5  # the synthetic frame is 320 x 240; the test video 160 x 120
    path = tmp_path / 'clip_pose.json'
    path.write_text(json.dumps(dict(keypoint=kp.tolist(), keypoint_score=score.tolist())))
    video = tmp_path / 'clip.mp4'
    make_synthetic_video(video, np.full((12, 120, 160, 3), 40, np.uint8))
    config = tmp_path / 'stgcn_tiny.py'
    config.write_text(GCN_CONFIG)
    labels = tmp_path / 'labels.txt'
    labels.write_text('\n'.join(f'class {i}' for i in range(6)) + '\n')
    return dict(pose=path, video=video, config=config, labels=labels, kp=kp)


def test_scores_a_json_pose_file(pose_clip):
    model = init_recognizer(str(pose_clip['config']), None, device='cpu')
    pose = load_pose_file(pose_clip['pose'])
    assert pose['keypoint'].shape == (1, 12, 17, 2) and pose['total_frames'] == 12
    top5 = inference_skeleton(model, pose, img_shape=(120, 160))
    assert len(top5) == 5 and sorted(k for k, _ in top5) == sorted({k for k, _ in top5})
    assert all(0 <= k < 6 for k, _ in top5)


def test_pose_file_errors(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(keypoint=[[1, 2], [3, 4]])))
    with pytest.raises(ValueError, match=r"'keypoint' must be an array \[M, T, V, C\]"):
        load_pose_file(bad)
    bad.write_text(json.dumps(dict(points=[])))
    with pytest.raises(ValueError, match="must hold a dict with a 'keypoint' key"):
        load_pose_file(bad)
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps(dict(keypoint=np.zeros((1, 2, 17, 2)), run=print)))
    with pytest.raises(pickle.UnpicklingError, match='builtins.print'):
        load_pose_file(evil)


def test_demo_writes_the_video_with_skeletons(pose_clip, load_demo, tmp_path, capsys):
    demo = load_demo('demo_skeleton')
    out = tmp_path / 'out.mp4'
    assert demo.main([str(pose_clip['config']), 'none', str(pose_clip['video']),
                      str(pose_clip['pose']), str(pose_clip['labels']), str(out)]) == 0
    assert 'class ' in capsys.readouterr().out
    frames = read_video(out)
    assert frames.shape == (12, 120, 160, 3)
    # green limbs and red joints on the grey-40 background, in the frames that have poses
    red, green = frames[..., 0].astype(int), frames[..., 1].astype(int)
    limbs = (green > 120) & (red < 100)
    joints = (red > 150) & (green < 80)
    assert limbs[0].sum() > 20 and joints[0].sum() > 10
    # the drawing follows the poses: the left ankle (joint 15) of frame 0 is a red dot
    x, y = pose_clip['kp'][0, 0, 15].round().astype(int)
    assert joints[0, y - 1:y + 2, x - 1:x + 2].any()
