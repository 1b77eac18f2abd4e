"""MMAction2 1.x pipeline steps: packing for the engine, the 1.x variants a 1.x pipeline
builds, the new samplers and skeleton steps (values worked by hand)."""
import numpy as np
import pytest
import torch

from actionkit.datasets.loader import NoStack
from actionkit.datasets.pipelines import Compose, SampleFrames
from actionkit.datasets.pipelines.v1_sampling import V1SampleFrames

PACK = dict(type='PackActionInputs')


def _step(cfg, v1=True):
    """The step ``cfg`` as a 1.x pipeline (one that packs) builds it."""
    return Compose([cfg, PACK] if v1 else [cfg]).transforms[0]


def test_a_packer_marks_the_pipeline_as_1x():
    cfg = dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=3, test_mode=True)
    assert type(_step(cfg)) is V1SampleFrames
    assert type(_step(cfg, v1=False)) is SampleFrames


def test_v1_sample_frames_test_mode_spreads_clips_to_the_last_start():
    results = _step(dict(type='SampleFrames', clip_len=8, frame_interval=2, num_clips=3,
                         test_mode=True))(dict(total_frames=100, start_index=0))
    # span (8 - 1) * 2 + 1 = 15, last start 85: offsets round(0, 42.5, 85) = 0, 42, 85
    # (0.x: the segments' middles 14, 42, 70)
    assert results['frame_inds'].reshape(3, 8)[:, 0].tolist() == [0, 42, 85]
    assert results['frame_inds'][:8].tolist() == list(range(0, 16, 2))
    fps = _step(dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1,
                     test_mode=True, target_fps=30))
    out = fps(dict(total_frames=100, start_index=0, avg_fps=60.0))
    # 60 -> 30 fps: a clip spans 8 frames, centred at 92 // 2 = 46; linspace(0, 7, 4) -> 0 2 4 7
    assert out['frame_inds'].tolist() == [46, 48, 50, 53]


def test_uniform_sample():
    step = _step(dict(type='UniformSample', clip_len=4, num_clips=2, test_mode=True))
    out = step(dict(total_frames=17, start_index=1))
    # segments of 16 / 4 = 4 frames from 0, 4, 8, 12; clip k shifted int(4 / 3 * (k + 1))
    assert out['frame_inds'].tolist() == [2, 6, 10, 14, 3, 7, 11, 15]
    assert (out['clip_len'], out['num_clips'], out['frame_interval']) == (4, 2, None)
    train = _step(dict(type='UniformSample', clip_len=4))
    np.random.seed(0)
    draws = np.stack([train(dict(total_frames=9, start_index=0))['frame_inds']
                      for _ in range(300)])
    # 8 / 4 = 2 frames a segment, bounds rounded and both included: [0, 2], [2, 4] ...
    assert draws.min(0).tolist() == [0, 2, 4, 6] and draws.max(0).tolist() == [2, 4, 6, 8]


def test_v1_format_shape_flow_and_heatmaps():
    flow = np.arange(4 * 2 * 2 * 2, dtype=np.float32).reshape(4, 2, 2, 2)  # T, H, W, (x, y)
    out = _step(dict(type='FormatShape', input_format='NCHW'))(
        dict(imgs=flow, clip_len=2, num_clips=2, modality='Flow'))
    # frames stacked along channels: frame 0 x, frame 0 y, frame 1 x, frame 1 y
    assert out['imgs'].shape == (2, 4, 2, 2)
    assert out['imgs'][0, :, 0, 0].tolist() == [0, 1, 8, 9]
    maps = np.arange(6 * 3 * 2 * 2, dtype=np.float32).reshape(6, 3, 2, 2)  # clips*T, K, H, W
    out = _step(dict(type='FormatShape', input_format='NCTHW_Heatmap'))(
        dict(imgs=maps, clip_len=3, num_clips=2))
    assert out['imgs'].shape == (2, 3, 3, 2, 2)
    assert out['imgs'][1, 2, 0].tolist() == maps[3, 2].tolist()  # clip 1, joint 2, t 0
    with pytest.raises(ValueError, match='NCTHW_Heatmap'):
        _step(dict(type='FormatShape', input_format='NCTHW_Heatmap'), v1=False)


def test_pack_action_inputs_makes_the_engine_sample():
    imgs = np.zeros((2, 3, 4, 8, 8), np.float32)
    out = Compose([PACK])(dict(imgs=imgs, label=3, img_shape=(8, 8), filename='a.mp4'))
    assert set(out) == {'imgs', 'label', 'img_metas'}
    assert out['label'].tolist() == [3] and out['label'].dtype == torch.int64
    assert out['img_metas'] == {'img_shape': (8, 8)}
    both = Compose([dict(type='PackActionInputs', collect_keys=('imgs', 'heatmap_imgs'))])(
        dict(imgs=imgs, heatmap_imgs=imgs[:, :1], label=torch.tensor([0., 1.])))
    assert sorted(both) == ['heatmap_imgs', 'imgs', 'label'] and both['label'].tolist() == [0, 1]
    # 1.x's order: imgs before heatmap_imgs, keypoint, audios
    assert set(Compose([PACK])(dict(keypoint=np.zeros((1, 2, 3, 4, 5)), audios=1.0))) == {
        'keypoint'}
    with pytest.raises(KeyError, match='collect_keys'):
        Compose([PACK])(dict(label=1))
    loc = Compose([dict(type='PackLocalizationInputs', keys=('gt_bbox', ))])(
        dict(raw_feature=np.ones((4, 10), np.float32), gt_bbox=np.array([[0.1, 0.5]]),
             video_name='v_a'))
    assert isinstance(loc['gt_bbox'], NoStack) and loc['video_meta'] == {'video_name': 'v_a'}
    assert loc['raw_feature'].shape == (4, 10)


def test_decompress_pose():
    kp = np.array([[[1., 2., .5]], [[3., 4., .6]], [[5., 6., .7]]])  # 3 boxes, 1 joint
    out = Compose([dict(type='DecompressPose')])(
        dict(total_frames=5, frame_inds=np.array([0, 0, 3]), keypoint=kp))
    # frames 0 and 3 squeezed to 0 and 1; frame 0 holds two persons
    assert out['total_frames'] == 2 and out['keypoint'].shape == (2, 2, 1, 2)
    assert out['keypoint'][:, 0, 0].tolist() == [[1, 2], [3, 4]]
    assert out['keypoint'][:, 1, 0].tolist() == [[5, 6], [0, 0]]
    assert out['keypoint_score'][0, :, 0].tolist() == pytest.approx([.5, .7], abs=1e-3)


def test_v1_format_gcn_input_and_gen_ske_feat():
    kp = np.arange(4 * 2 * 2, dtype=np.float32).reshape(1, 4, 2, 2)
    out = _step(dict(type='FormatGCNInput', num_person=2, mode='loop'))(
        dict(keypoint=kp, keypoint_score=np.ones((1, 4, 2), np.float32), num_clips=2))
    assert out['keypoint'].shape == (2, 2, 2, 2, 3)  # clips, M, T, V, C
    assert out['keypoint'][1, 1, 0, 1].tolist() == [10, 11, 1]  # person copied, frame 2
    coco = np.zeros((1, 1, 17, 2), np.float32)
    coco[0, 0, 0], coco[0, 0, 1] = (10, 20), (13, 24)
    score = np.zeros((1, 1, 17), np.float32)
    score[0, 0, :2] = (0.2, 0.6)
    out = Compose([dict(type='GenSkeFeat', dataset='coco', feats=['j', 'b'])])(
        dict(keypoint=coco, keypoint_score=score))
    # joint 1 hangs from joint 0: bone (3, 4), its score the two joints' mean 0.4
    assert out['keypoint'].shape == (1, 1, 17, 6)
    assert out['keypoint'][0, 0, 1].tolist() == pytest.approx([13, 24, 0.6, 3, 4, 0.4])


def test_v1_generate_pose_target_layout_scaling_and_flip():
    kp = np.zeros((1, 1, 17, 2), np.float32)
    kp[0, 0, 1] = (4, 2)  # joint 1 (a left joint) at x=4, y=2 in a 10 x 20 image
    step = _step(dict(type='GeneratePoseTarget', sigma=0.6, scaling=0.5, double=True))
    out = step(dict(keypoint=kp, keypoint_score=np.ones((1, 1, 17), np.float32),
                    img_shape=(10, 20)))
    maps = out['imgs']
    assert maps.shape == (2, 17, 5, 10)  # [2 T, K, H * 0.5, W * 0.5]
    assert np.unravel_index(maps[0, 1].argmax(), (5, 10)) == (1, 2)
    # the mirrored copy: joint 1's map moves to joint 2, flipped left-right
    assert np.unravel_index(maps[1, 2].argmax(), (5, 10)) == (1, 7)
    with_rgb = step(dict(keypoint=kp, img_shape=(10, 20), imgs=[np.zeros((10, 20, 3))]))
    assert with_rgb['heatmap_imgs'].shape == (2, 17, 5, 10)


def test_random_erasing():
    frames = [np.zeros((20, 30, 3), np.uint8) for _ in range(2)]
    np.random.seed(0)
    out = Compose([dict(type='RandomErasing', erase_prob=1.0, mode='const',
                        fill_color=128)])(dict(imgs=frames))
    erased = out['imgs'][0][..., 0] == 128
    rows, cols = np.flatnonzero(erased.any(1)), np.flatnonzero(erased.any(0))
    area = erased.sum()
    assert area == len(rows) * len(cols) and 0.02 * 600 * 0.5 <= area <= 600 / 3 * 1.5
    assert np.array_equal(out['imgs'][1], out['imgs'][0])  # one box for the whole clip
    untouched = [np.zeros((4, 4, 3), np.uint8)]
    assert not Compose([dict(type='RandomErasing', erase_prob=0.0)])(
        dict(imgs=untouched))['imgs'][0].any()
