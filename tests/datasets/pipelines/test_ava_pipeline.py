"""AVA steps: SampleAVAFrames, RawFrameDecode's box scaling, and MMAction2's AVA pipeline end
to end through the loader's collate (boxes stay per-sample lists)."""
from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest
import torch

from actionkit.datasets import AVADataset
from actionkit.datasets.loader import collate
from actionkit.datasets.pipelines import RawFrameDecode, SampleAVAFrames


def _key_frame(timestamp, fps=30, shot=(0, 27000), start_index=0):
    return dict(fps=fps, timestamp=timestamp, timestamp_start=900, shot_info=shot,
                start_index=start_index)


@pytest.mark.parametrize('clip_len,timestamp,shot,start_index,expected', [
    (4, 902, (0, 27000), 1, [30, 46, 62, 78]),   # key frame 61: 2 steps before, 2 from it
    (5, 902, (0, 27000), 0, [29, 45, 61, 77, 93]),  # odd: 2 before, 3 from it
    (4, 900, (0, 27000), 0, [0, 0, 1, 17]),      # clipped at the shot's start
    (4, 903, (0, 100), 0, [59, 75, 91, 99]),     # and at its end - 1
])
def test_sample_ava_frames_test_mode(clip_len, timestamp, shot, start_index, expected):
    res = SampleAVAFrames(clip_len, 16, test_mode=True)(
        _key_frame(timestamp, shot=shot, start_index=start_index))
    assert res['frame_inds'].tolist() == expected
    assert (res['clip_len'], res['frame_interval'], res['num_clips']) == (clip_len, 16, 1)
    np.testing.assert_array_equal(res['crop_quadruple'], [0, 0, 1, 1])


def test_sample_ava_frames_train_offsets_and_rng_use():
    np.random.seed(3)
    res = SampleAVAFrames(8, 4)(_key_frame(902))
    offsets = res['frame_inds'] - np.arange(61 - 16, 61 + 16, 4)
    np.random.seed(3)
    assert offsets.tolist() == np.random.randint(-2, 2, size=8).tolist()
    assert offsets.min() >= -2 and offsets.max() <= 1 and len(set(offsets.tolist())) > 1
    # test mode draws the same numbers (unused), so the next draw is MMAction2's
    np.random.seed(3)
    SampleAVAFrames(8, 4, test_mode=True)(_key_frame(902))
    after = np.random.randint(1000)
    np.random.seed(3)
    np.random.randint(-2, 2, size=8)
    assert after == np.random.randint(1000)
    with pytest.raises(KeyError, match="'timestamp_start'"):
        SampleAVAFrames(4)(dict(fps=30, timestamp=902, shot_info=(0, 9)))
    with pytest.raises(ValueError, match='clip_len must be a positive int'):
        SampleAVAFrames(0)


def _write_frames(folder, n=10, w=40, h=30):
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        img = np.full((h, w, 3), i * 20, np.uint8)
        cv2.imwrite(str(folder / f'img_{i:05}.jpg'), img)


def test_raw_frame_decode_scales_boxes_to_pixels(tmp_path):
    _write_frames(tmp_path / 'v')
    res = RawFrameDecode()(dict(frame_dir=str(tmp_path / 'v'), filename_tmpl='img_{:05}.jpg',
                                frame_inds=np.array([1, 2]), modality='RGB',
                                gt_bboxes=np.array([[.1, .2, .5, .6]]),
                                proposals=np.array([[0., 0., 1., 1.], [.25, .5, .75, 1.]])))
    assert res['gt_bboxes'].dtype == np.float32
    np.testing.assert_allclose(res['gt_bboxes'], [[4, 6, 20, 18]], rtol=1e-6)
    np.testing.assert_allclose(res['proposals'], [[0, 0, 40, 30], [10, 15, 30, 30]])


_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
_TRAIN = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=2),
    dict(type='RawFrameDecode'),
    dict(type='RandomRescale', scale_range=(60, 80)),
    dict(type='RandomCrop', size=48),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **_NORM),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Rename', mapping=dict(imgs='img')),
    dict(type='ToTensor', keys=['img', 'proposals', 'gt_bboxes', 'gt_labels']),
    dict(type='ToDataContainer',
         fields=[dict(key=['proposals', 'gt_bboxes', 'gt_labels'], stack=False)]),
    dict(type='Collect', keys=['img', 'proposals', 'gt_bboxes', 'gt_labels'],
         meta_keys=['scores', 'entity_ids']),
]
_VAL = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 60)),
    dict(type='Normalize', **_NORM),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Rename', mapping=dict(imgs='img')),
    dict(type='ToTensor', keys=['img', 'proposals']),
    dict(type='ToDataContainer', fields=[dict(key='proposals', stack=False)]),
    dict(type='Collect', keys=['img', 'proposals'], meta_keys=['scores', 'img_shape'],
         nested=True),
]


@pytest.fixture
def ava_root(tmp_path):
    for vid in ('vidA', 'vidB'):
        _write_frames(tmp_path / 'frames' / vid)
    (tmp_path / 'ann.csv').write_text('vidA,0902,0.1,0.2,0.5,0.6,12,3\n'
                                      'vidA,0902,0.3,0.3,0.9,0.9,17,5\n'
                                      'vidB,0902,0.0,0.0,1.0,1.0,12,0\n')
    with open(tmp_path / 'props.pkl', 'wb') as f:
        pickle.dump({'vidA,0902': np.array([[.25, .5, .75, 1., .95], [0, 0, .5, .5, .3]])}, f)
    return tmp_path


def test_mmaction_ava_pipelines_end_to_end(ava_root):
    common = dict(ann_file=ava_root / 'ann.csv', exclude_file=None, start_index=1, fps=2,
                  data_prefix=ava_root / 'frames', proposal_file=ava_root / 'props.pkl')
    np.random.seed(0)
    train = AVADataset(pipeline=_TRAIN, **common)
    batch = collate([train[0], train[1]])
    assert batch['img'].shape == (2, 3, 4, 48, 48)
    # key frames hold 2 and 1 boxes: lists, not stacked
    assert [b.shape for b in batch['gt_bboxes']] == [(2, 4), (1, 4)]
    assert isinstance(batch['gt_labels'], list) and batch['gt_labels'][0].shape == (2, 81)
    assert all(isinstance(p, torch.Tensor) for p in batch['proposals'])
    assert [m['entity_ids'].tolist() for m in batch['img_metas']] == [[3, 5], [0]]
    # the whole-frame box on vidB, rescaled and cropped to 48x48, is clipped to [0, 47] as
    # MMAction2's box crop does
    torch.testing.assert_close(batch['gt_bboxes'][1], torch.tensor([[0., 0., 47., 47.]]))

    val = AVADataset(pipeline=_VAL, test_mode=True, **common)
    sample = val[0]
    assert sample['img'][0].shape == (3, 4, 60, 80)
    # the 0.95 proposal (0.3 < 0.9 is dropped): [.25, .5, .75, 1] of 40x30 = [10, 15, 30, 30]
    # pixels, then Resize to a short side of 60 doubles it
    torch.testing.assert_close(sample['proposals'][0].value, torch.tensor([[20., 30., 60., 60.]]))
    meta = sample['img_metas'][0]
    assert tuple(meta['img_shape']) == (60, 80) and meta['scores'].tolist() == [.95]
    # vidB has no proposals: the whole frame
    torch.testing.assert_close(val[1]['proposals'][0].value, torch.tensor([[0., 0., 80., 60.]]))


def test_detector_tests_and_trains_on_loader_batches(ava_root):
    """AVADataset -> build_dataloader (collate) -> FastRCNN -> predict -> evaluate (mAP)."""
    from torch import nn

    from actionkit.datasets import build_dataloader
    from actionkit.engine.evaluate import predict
    from actionkit.models import build_model

    (ava_root / 'labels.pbtxt').write_text('item {\n  name: "a12"\n  id: 12\n}\n'
                                           'item {\n  name: "a17"\n  id: 17\n}\n')
    common = dict(ann_file=ava_root / 'ann.csv', exclude_file=None, start_index=1, fps=2,
                  data_prefix=ava_root / 'frames', proposal_file=ava_root / 'props.pkl',
                  label_file=ava_root / 'labels.pbtxt')
    torch.manual_seed(0)
    model = build_model(dict(
        type='FastRCNN', backbone=nn.Conv3d(3, 8, kernel_size=1, stride=(1, 4, 4)),
        roi_head=dict(type='AVARoIHead',
                      bbox_roi_extractor=dict(type='SingleRoIExtractor3D', output_size=2,
                                              featmap_stride=4),
                      bbox_head=dict(type='BBoxHeadAVA', in_channels=8, num_classes=81)),
        train_cfg=dict(rcnn=dict(
            assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=.9, neg_iou_thr=.9,
                          min_pos_iou=.9),
            sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1,
                         add_gt_as_proposals=True), pos_weight=1.)),
        test_cfg=dict(rcnn=dict(action_thr=0.))))  # every class of every box is kept
    with torch.no_grad():  # every score sigmoid(0) = 0.5: ties, ranked by the stable rule
        model.roi_head.bbox_head.fc_cls.weight.zero_()
    val = AVADataset(pipeline=_VAL, test_mode=True, **common)
    results = predict(model, build_dataloader(val, 1, 0, shuffle=False, pin_memory=False))
    assert len(results) == 2 and len(results[0]) == 80  # classes 1..80
    # vidA's proposal [.25, .5, .75, 1] comes back normalised to the original frame
    np.testing.assert_allclose(results[0][11][:, :4], [[.25, .5, .75, 1.]], atol=1e-6)
    # class 12 (2 gt): vidB's whole-frame proposal (no entry in the proposal file) hits its
    # gt, vidA's misses (IoU < 0.5); tied scores rank the later frame first: AP 1 * 1/2.
    # Class 17: vidA's proposal has IoU 0.18 / 0.43 < 0.5 with its gt: AP 0. mAP 0.25
    assert val.evaluate(results) == {'mAP@0.5IOU': pytest.approx(.25)}

    train = AVADataset(pipeline=_TRAIN, **common)
    batch = next(iter(build_dataloader(train, 2, 0, shuffle=False, pin_memory=False)))
    out = model.train_step(batch)
    assert torch.isfinite(out['loss']) and out['num_samples'] == 2
