"""Skeleton pipeline steps: hand-worked values in MMAction2 0.24.1's semantics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from actionkit.datasets.errors import DataError
from actionkit.datasets.pipelines import (CenterCrop, Compose, Flip, FormatGCNInput,
                                          GeneratePoseTarget, JointToBone, PaddingWithLoop,
                                          PoseCompact, PoseDecode, PoseNormalize, Resize)


def _clip(m=1, t=4, v=17, name='clip'):
    kp = np.zeros((m, t, v, 2), np.float32)
    return dict(keypoint=kp, keypoint_score=np.ones((m, t, v), np.float32), total_frames=t,
                img_shape=(100, 200), frame_dir=name, start_index=0, modality='Pose')


def test_padding_with_loop_repeats_the_clip():
    out = PaddingWithLoop(clip_len=7)(dict(total_frames=3))
    assert out['frame_inds'].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert out['clip_len'] == 7 and out['num_clips'] == 1 and out['frame_interval'] is None
    with pytest.raises(DataError, match='no frames'):
        PaddingWithLoop(clip_len=7)(dict(total_frames=0, frame_dir='empty'))


def test_pose_decode_takes_frames_plus_offset_as_float32():
    kp = np.arange(2 * 5 * 1 * 2, dtype=np.float64).reshape(2, 5, 1, 2)
    res = dict(keypoint=kp, keypoint_score=np.arange(10.).reshape(2, 5, 1),
               frame_inds=np.array([[3], [0]]), offset=1)
    out = PoseDecode()(res)
    assert out['keypoint'].dtype == np.float32 and out['keypoint'].shape == (2, 2, 1, 2)
    assert out['keypoint'][1, :, 0, 0].tolist() == [18., 12.]  # frames 4 and 1 of person 1
    assert out['keypoint_score'][0, :, 0].tolist() == [4., 1.]
    out = PoseDecode()(dict(keypoint=kp, total_frames=5))
    assert out['frame_inds'].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(DataError, match='frames 0..7'):
        PoseDecode()(dict(keypoint=kp, frame_inds=np.array([0, 7]), frame_dir='c'))


def test_pose_compact_box_with_padding_and_hw_ratio():
    res = _clip(t=1, v=3)
    # joints x in [40, 80], y in [20, 40]; one missing joint at (0, 0), one NaN
    res['keypoint'][0, 0] = [[40, 20], [80, 40], [np.nan, 0]]
    out = PoseCompact(padding=0.25, threshold=10, hw_ratio=1., allow_imgpad=True)(res)
    # centre (60, 30); half sizes 25 x 12.5 -> square 25 x 25: box x 35..85, y 5..55
    assert out['img_shape'] == (50, 50)
    assert out['keypoint'][0, 0].tolist() == [[5, 15], [45, 35], [0, 0]]
    assert np.allclose(out['crop_quadruple'], (35 / 200, 5 / 100, 50 / 200, 50 / 100))
    small = _clip(t=1, v=2)
    small['keypoint'][0, 0] = [[40, 20], [45, 60]]
    assert PoseCompact()(small)['img_shape'] == (100, 200)  # narrower than threshold


def test_pose_compact_without_imgpad_stays_inside_the_image():
    res = _clip(t=1, v=2)
    res['keypoint'][0, 0] = [[2, 10], [30, 90]]
    out = PoseCompact(padding=0.5, allow_imgpad=False)(res)
    # x: centre 16, half 21 -> -5..37 -> 0..37; y: centre 50, half 60 -> -10..110 -> 0..100
    assert out['img_shape'] == (100, 37)
    assert out['keypoint'][0, 0].tolist() == [[2, 10], [30, 90]]


def test_joint_to_bone_coco_scores_average():
    kp = np.zeros((1, 1, 17, 3), np.float32)
    kp[0, 0, :, 0] = np.arange(17)
    kp[0, 0, :, 2] = np.arange(17) / 10
    out = JointToBone(dataset='coco')(dict(keypoint=kp))['keypoint']
    assert out[0, 0, 7].tolist() == pytest.approx([2., 0., 0.6])  # joint 7 hangs from 5
    assert out[0, 0, 0].tolist() == [0., 0., 0.]
    with pytest.raises(DataError, match=r'\[M, T, 25, 2 or 3\]'):
        JointToBone()(dict(keypoint=kp, frame_dir='c'))


def test_format_gcn_input_pads_persons_and_appends_scores():
    res = _clip(m=1, t=2, v=3)
    res['keypoint'][0, 1, 2] = [7, 8]
    res['keypoint_score'][0, 1, 2] = 0.5
    out = FormatGCNInput('NCTVM', num_person=2)(res)
    assert out['keypoint'].shape == (3, 2, 3, 2) and out['input_shape'] == (3, 2, 3, 2)
    assert out['keypoint'][:, 1, 2, 0].tolist() == [7, 8, 0.5]
    assert not out['keypoint'][..., 1].any()
    res = _clip(m=3, t=2, v=3)
    assert FormatGCNInput('NCTVM', num_person=1)(res)['keypoint'].shape == (3, 2, 3, 1)
    bad = _clip(name='nan-clip')
    bad['keypoint'][0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="'keypoint' of nan-clip holds NaN"):
        FormatGCNInput('NCTVM')(bad)


def test_pose_normalize_per_channel():
    kp = np.full((3, 1, 1, 1), 960., np.float32)
    kp[1] = 0.
    kp[2] = 1.
    out = PoseNormalize()(dict(keypoint=kp))['keypoint']
    assert out.ravel().tolist() == pytest.approx([0., -0.5, 0.5])


def test_keypoint_heatmap_values_and_window():
    res = _clip(t=1, v=1)
    res['img_shape'] = (8, 10)
    res['keypoint'][0, 0, 0] = [2, 3]
    res['keypoint_score'][0, 0, 0] = 0.5
    imgs = GeneratePoseTarget(sigma=1., with_kp=True)(res)['imgs']
    assert imgs.shape == (1, 8, 10, 1) and imgs.dtype == np.float32
    hm = imgs[0, :, :, 0]
    assert hm[3, 2] == pytest.approx(0.5)
    assert hm[3, 3] == pytest.approx(0.5 * math.exp(-0.5))
    assert hm[5, 4] == pytest.approx(0.5 * math.exp(-4))
    # the window is int(2 - 3) .. int(2 + 3): column 6 stays 0, although the Gaussian is not
    assert hm[3, 5] > 0 and hm[3, 6] == 0 and hm[0, 2] > 0
    res['keypoint_score'][:] = 0.5
    plain = GeneratePoseTarget(sigma=1., use_score=False)(res)['imgs']
    assert plain[0, 3, 2, 0] == 1


def test_limb_heatmap_distance_to_the_segment():
    res = _clip(t=1, v=2)
    res['img_shape'] = (6, 12)
    res['keypoint'][0, 0] = [[2, 1], [6, 1]]
    res['keypoint_score'][0, 0] = [0.9, 0.6]
    hm = GeneratePoseTarget(sigma=1., with_kp=False, with_limb=True,
                            skeletons=((0, 1), ))(res)['imgs'][0, :, :, 0]
    assert hm[1, 4] == pytest.approx(0.6)            # on the segment: the smaller score
    assert hm[2, 5] == pytest.approx(0.6 * math.exp(-0.5))  # one pixel beside it
    assert hm[1, 0] == pytest.approx(0.6 * math.exp(-2))    # two pixels before the start
    assert hm[1, 9] > 0 and hm[1, 10] == 0                   # window ends at int(6 + 3)


def test_a_limb_shorter_than_a_pixel_is_its_start_joint():
    res = _clip(t=1, v=2)
    res['img_shape'] = (6, 6)
    res['keypoint'][0, 0] = [[2.5, 2], [2.5, 2.5]]
    res['keypoint_score'][0, 0] = [0.8, 0.3]
    limb = GeneratePoseTarget(sigma=1., with_kp=False, with_limb=True,
                              skeletons=((0, 1), ))(res)['imgs'][0, :, :, 0]
    joint = GeneratePoseTarget(sigma=1.)(res)['imgs'][0, :, :, 0]
    assert np.array_equal(limb, joint)  # the start's map, with the start's score 0.8


def test_heatmaps_of_persons_combine_by_maximum_and_double_flips():
    res = _clip(m=2, t=1, v=17)
    res['img_shape'] = (20, 30)
    res['keypoint'][0, 0, 1] = [5, 5]
    res['keypoint'][1, 0, 1] = [6, 5]
    res['keypoint_score'][:] = 0  # the other joints sit at (0, 0): scored 0, they paint nothing
    res['keypoint_score'][:, :, 1] = [[1], [0.5]]
    out = GeneratePoseTarget(sigma=1., double=True)(res)['imgs']
    assert out.shape == (2, 20, 30, 17)
    assert out[0, 5, 5, 1] == 1 and out[0, 5, 6, 1] == pytest.approx(max(math.exp(-.5), .5))
    # flipped: joint 1 (left eye) becomes joint 2 at x = 30 - 5
    assert out[1, 5, 25, 2] == 1 and out[1, :, :, 1].max() == 0


def test_generate_pose_target_rejects_nan_and_too_few_joints():
    res = _clip(v=5, name='short-skeleton')
    with pytest.raises(DataError, match='short-skeleton has 5 joints; the skeletons use '
                                        'joint 16'):
        GeneratePoseTarget(with_limb=True)(res)
    res = _clip(name='nan-clip')
    res['keypoint'][0, 0, 0, 1] = np.nan
    with pytest.raises(DataError, match='nan-clip holds NaN'):
        GeneratePoseTarget()(res)
    with pytest.raises(ValueError, match='at least one'):
        GeneratePoseTarget(with_kp=False, with_limb=False)


def test_keypoints_follow_resize_crop_and_flip():
    res = _clip(t=1, v=3)
    res['keypoint'][0, 0] = [[10, 20], [0, 0], [150, 60]]
    res = Resize(scale=(100, 50), keep_ratio=False)(res)   # x / 2, y / 2
    res = CenterCrop(crop_size=40)(res)                    # box x 30..70, y 5..45
    assert res['keypoint'].dtype == np.float64             # as MMAction2: minus int64 box
    assert res['keypoint'][0, 0].tolist() == [[-25, 5], [-30, -5], [45, 25]]
    flip = Flip(flip_ratio=1., left_kp=[0], right_kp=[2])(res)
    assert flip['keypoint'][0, 0].tolist() == [[-5, 25], [70, -5], [65, 5]]
    with pytest.raises(ValueError, match='only be flipped horizontally'):
        Flip(flip_ratio=1., direction='vertical')(res)


def test_posec3d_test_pipeline_shapes():
    rng = np.random.RandomState(0)
    res = _clip(m=2, t=30)
    res['keypoint'] = (rng.rand(2, 30, 17, 2) * [150, 80] + [20, 10]).astype(np.float32)
    res['label'] = 1
    pipeline = Compose([
        dict(type='UniformSampleFrames', clip_len=8, num_clips=2, test_mode=True),
        dict(type='PoseDecode'), dict(type='PoseCompact', hw_ratio=1., allow_imgpad=True),
        dict(type='Resize', scale=(-1, 32)), dict(type='CenterCrop', crop_size=32),
        dict(type='GeneratePoseTarget', with_kp=False, with_limb=True, double=True),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
        dict(type='ToTensor', keys=['imgs'])])
    out = pipeline(res)
    assert tuple(out['imgs'].shape) == (4, 17, 8, 32, 32)  # 2 flips x 2 clips
    assert 0.5 < float(out['imgs'].max()) <= 1


def _loop_heatmaps(kps, scores, sigma, shape, with_kp, skeletons):
    """One joint / limb / person at a time over its window, in the dtypes of MMAction2
    0.24.1's numpy-1 code (``float32`` grids; bounds and the limb distance in float64)."""
    h, w = shape
    maps = []
    for t in range(kps.shape[1]):
        frame = []
        for j in range(kps.shape[2] if with_kp else 0):
            frame.append(_loop_joint(kps[:, t, j], scores[:, t, j], sigma, h, w))
        for a, b in skeletons:
            hm = np.zeros((h, w), np.float32)
            for p in range(kps.shape[0]):
                s, e = kps[p, t, a, :2], kps[p, t, b, :2]
                value = min(scores[p, t, a], scores[p, t, b])
                if value < 1e-4:
                    continue
                x0 = max(int(float(min(s[0], e[0])) - 3 * sigma), 0)
                x1 = min(int(float(max(s[0], e[0])) + 3 * sigma) + 1, w)
                y0 = max(int(float(min(s[1], e[1])) - 3 * sigma), 0)
                y1 = min(int(float(max(s[1], e[1])) + 3 * sigma) + 1, h)
                if x0 >= x1 or y0 >= y1:
                    continue
                d2_ab = (s[0] - e[0]) ** 2 + (s[1] - e[1]) ** 2
                if d2_ab < 1:
                    hm = np.maximum(hm, _loop_joint(s[None], scores[p, t, a][None], sigma, h, w))
                    continue
                x = np.arange(x0, x1, dtype=np.float32)[None, :]
                y = np.arange(y0, y1, dtype=np.float32)[:, None]
                s32, e32 = s.astype(np.float32), e.astype(np.float32)
                d2s = (x - s32[0]) ** 2 + (y - s32[1]) ** 2      # float32 window arrays
                d2e = (x - e32[0]) ** 2 + (y - e32[1]) ** 2
                c = (d2s - d2e + np.float32(d2_ab)) / np.float32(2) / np.float32(d2_ab)
                px, py = np.broadcast_arrays(x, y)
                proj = s + c[..., None] * (e - s)                # in the keypoints' dtype
                d2 = ((px - proj[..., 0]) ** 2 + (py - proj[..., 1]) ** 2).astype(np.float64)
                d2 = np.where(c <= 0, d2s.astype(np.float64),
                              np.where(c >= 1, d2e.astype(np.float64), d2))
                patch = np.exp(-d2 / 2. / sigma ** 2) * np.float64(value)
                hm[y0:y1, x0:x1] = np.maximum(hm[y0:y1, x0:x1], patch)
            frame.append(hm)
        maps.append(np.stack(frame, axis=-1))
    return np.stack(maps)


def _loop_joint(centers, values, sigma, h, w):
    hm = np.zeros((h, w), np.float32)
    for (mx, my), value in zip(centers[:, :2], values):
        if value < 1e-4:
            continue
        x0, x1 = max(int(float(mx) - 3 * sigma), 0), min(int(float(mx) + 3 * sigma) + 1, w)
        y0, y1 = max(int(float(my) - 3 * sigma), 0), min(int(float(my) + 3 * sigma) + 1, h)
        x = np.arange(x0, x1, dtype=np.float32)
        y = np.arange(y0, y1, dtype=np.float32)[:, None]
        if not (len(x) and len(y)):
            continue
        patch = np.exp(-((x - np.float32(mx)) ** 2 + (y - np.float32(my)) ** 2)
                       / np.float32(2) / np.float32(sigma ** 2)) * np.float32(value)
        hm[y0:y1, x0:x1] = np.maximum(hm[y0:y1, x0:x1], patch)
    return hm


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_heatmaps_equal_the_joint_by_joint_computation(dtype):
    rng = np.random.RandomState(1)
    kps = (rng.rand(2, 3, 17, 2) * [28, 22] - 2).astype(dtype)  # some joints off the image
    kps[0, 0, 3] = kps[0, 0, 1] + 0.4                              # a limb under a pixel long
    scores = rng.rand(2, 3, 17).astype(np.float32)
    scores[1, 1, :5] = 0
    step = GeneratePoseTarget(sigma=0.6, with_kp=True, with_limb=True)
    ours = step.heatmaps(kps, scores, (22, 26))
    expected = _loop_heatmaps(kps, scores, 0.6, (22, 26), True, step.skeletons)
    assert ours.shape == expected.shape == (3, 22, 26, 34)
    np.testing.assert_array_equal(ours, expected)
