"""tools/test.py and tools/train.py --validate on an AVA detection config (tiny SlowOnly)."""
from __future__ import annotations

import importlib.util
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from actionkit.config.config import Config
from actionkit.models.builder import build_model

REPO = Path(__file__).resolve().parents[2]

_CONFIG = """
model = dict(
    type='FastRCNN',
    backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None, pretrained2d=False,
                  lateral=False, num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1,
                  pool1_stride_t=1, spatial_strides=(1, 2, 2, 1), base_channels=8),
    roi_head=dict(
        type='AVARoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor3D', roi_layer_type='RoIAlign',
                                output_size=8, with_temporal_pool=True),
        bbox_head=dict(type='BBoxHeadAVA', in_channels=64, num_classes=81, multilabel=True,
                       dropout_ratio=0.5)),
    train_cfg=dict(rcnn=dict(
        assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=0.9, neg_iou_thr=0.9,
                      min_pos_iou=0.9),
        sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        pos_weight=1.0, debug=False)),
    test_cfg=dict(rcnn=dict(action_thr=0.002)))
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=2),
    dict(type='RawFrameDecode'),
    dict(type='RandomRescale', scale_range=(64, 80)),
    dict(type='RandomCrop', size=64),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Rename', mapping=dict(imgs='img')),
    dict(type='ToTensor', keys=['img', 'proposals', 'gt_bboxes', 'gt_labels']),
    dict(type='ToDataContainer',
         fields=[dict(key=['proposals', 'gt_bboxes', 'gt_labels'], stack=False)]),
    dict(type='Collect', keys=['img', 'proposals', 'gt_bboxes', 'gt_labels'],
         meta_keys=['scores', 'entity_ids']),
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Rename', mapping=dict(imgs='img')),
    dict(type='ToTensor', keys=['img', 'proposals']),
    dict(type='ToDataContainer', fields=[dict(key='proposals', stack=False)]),
    dict(type='Collect', keys=['img', 'proposals'], meta_keys=['scores', 'img_shape'],
         nested=True),
]
common = dict(type='AVADataset', ann_file='{root}/ann.csv', exclude_file=None,
              label_file='{root}/labels.pbtxt', proposal_file='{root}/props.pkl',
              data_prefix='{root}/frames', start_index=1, fps=2)
data = dict(videos_per_gpu=2, workers_per_gpu=0,
            val_dataloader=dict(videos_per_gpu=1), test_dataloader=dict(videos_per_gpu=1),
            train=dict(pipeline=train_pipeline, **common),
            val=dict(pipeline=val_pipeline, **common),
            test=dict(pipeline=val_pipeline, **common))
evaluation = dict(interval=1, save_best='mAP@0.5IOU')
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-5)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[10])
total_epochs = 1
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
"""


def _tool(relative):
    name = 'ava_tool_' + relative.replace('/', '_').removesuffix('.py')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _ava_root(root):
    for vid in ('vidA', 'vidB'):
        folder = root / 'frames' / vid
        folder.mkdir(parents=True)
        for i in range(1, 11):
            cv2.imwrite(str(folder / f'img_{i:05}.jpg'), np.full((48, 64, 3), i * 20, np.uint8))
    (root / 'ann.csv').write_text('vidA,0902,0.1,0.2,0.5,0.6,12,3\nvidA,0902,0.3,0.3,0.9,0.9,17,5\n'
                                  'vidB,0902,0.0,0.0,1.0,1.0,12,0\n')
    (root / 'labels.pbtxt').write_text('item {\n  name: "a12"\n  id: 12\n}\n'
                                       'item {\n  name: "a17"\n  id: 17\n}\n')
    with open(root / 'props.pkl', 'wb') as f:
        pickle.dump({'vidA,0902': np.array([[.1, .2, .5, .6, .95], [.3, .3, .9, .9, .92]])}, f)
    config = root / 'ava_tiny.py'
    config.write_text(_CONFIG.replace('{root}', str(root)))
    return config


def test_train_validate_then_test_on_an_ava_config(tmp_path):
    config = _ava_root(tmp_path)
    work = tmp_path / 'work'
    torch.manual_seed(0)
    assert _tool('tools/train.py').main([str(config), '--work-dir', str(work),
                                         '--validate']) in (0, None)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.exists()
    # --validate ran AVADataset.evaluate: save_best named the checkpoint after mAP@0.5IOU
    assert (work / 'best_mAP@0.5IOU_epoch_1.pth').exists()
    out = tmp_path / 'results.pkl'
    assert _tool('tools/test.py').main([str(config), str(ckpt), '--eval', 'mAP',
                                        '--out', str(out)]) in (0, None)
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2 and len(results[0]) == 80
    # the proposals are the gt boxes: every detection of class 12 / 17 is one of them
    np.testing.assert_allclose(np.sort(results[0][11][:, 0]), [.1, .3], atol=1e-3)


def test_test_tool_writes_the_ava_result_csv(tmp_path):
    config = _ava_root(tmp_path)
    torch.manual_seed(0)
    tool = _tool('tools/test.py')
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': build_model(Config.fromfile(str(config)).model).state_dict()}, ckpt)
    out = tmp_path / 'results.csv'
    assert tool.main([str(config), str(ckpt), '--out', str(out)]) in (0, None)
    rows = [line.split(',') for line in out.read_text().splitlines()]
    # one row per (key frame, proposal, class); the timestamp as an int, as MMAction2 writes it
    assert {(r[0], r[1]) for r in rows} == {('vidA', '902'), ('vidB', '902')}
    assert {tuple(r[2:6]) for r in rows if r[0] == 'vidA'} == {
        ('0.100', '0.200', '0.500', '0.600'), ('0.300', '0.300', '0.900', '0.900')}
    assert {tuple(r[2:6]) for r in rows if r[0] == 'vidB'} == {('0.000', '0.000', '1.000', '1.000')}
    assert {int(r[6]) for r in rows} <= set(range(1, 81))


def test_test_tool_refuses_csv_for_a_dataset_that_cannot_write_it(tmp_path):
    config = _ava_root(tmp_path)
    (tmp_path / 'rawframes.txt').write_text('vidA 10 0\n')
    config.write_text(config.read_text() + (
        f"data['test'] = dict(type='RawframeDataset', ann_file='{tmp_path}/rawframes.txt', "
        f"data_prefix='{tmp_path}/frames', pipeline=val_pipeline)\n"))
    with pytest.raises(SystemExit, match=r"RawframeDataset writes results as one of .*pkl"):
        _tool('tools/test.py').main([str(config), str(tmp_path / 'x.pth'), '--out',
                                     str(tmp_path / 'x.csv')])
    assert not (tmp_path / 'x.csv').exists()


def _with_shared_head(config, shared_head, in_channels):
    """The tiny config with a shared head and the bbox head's input width; the test pipeline
    collects ``img_key`` (the bank's keys)."""
    text = config.read_text().replace("meta_keys=['scores', 'img_shape']",
                                      "meta_keys=['scores', 'img_shape', 'img_key']")
    text = text.replace("in_channels=64, num_classes=81",
                        f"in_channels={in_channels}, num_classes=81")
    text += f"model['roi_head']['shared_head'] = {shared_head!r}\n"
    path = config.with_name(config.stem + '_' + shared_head['type'] + '.py')
    path.write_text(text)
    ckpt = path.with_suffix('.pth')
    torch.manual_seed(0)
    torch.save({'state_dict': build_model(Config.fromfile(str(path)).model).state_dict()}, ckpt)
    return path, ckpt


def test_test_tool_writes_a_feature_bank_that_an_fbo_config_reads(tmp_path):
    import gc

    config = _ava_root(tmp_path)
    bank_dir = tmp_path / 'lfb'
    infer, infer_ckpt = _with_shared_head(config, dict(
        type='LFBInferHead', lfb_prefix_path=str(bank_dir), dataset_mode='val',
        use_half_precision=True), 64)
    tool = _tool('tools/test.py')
    # MMAction2's recipe: tools/test.py INFER_CONFIG CKPT --eval mAP
    assert tool.main([str(infer), str(infer_ckpt), '--eval', 'mAP']) in (0, None)
    gc.collect()  # the head writes the bank when it is collected, as MMAction2's does
    bank = torch.load(bank_dir / 'lfb_val.pkl', weights_only=True)
    # vidA,0902 has 2 proposals; vidB has none in the file, so the whole frame is its one box
    assert sorted(bank) == ['vidA', 'vidB']
    assert list(bank['vidA']) == [902] and list(bank['vidB']) == [902]
    assert len(bank['vidA'][902]) == 2 and len(bank['vidB'][902]) == 1
    features = bank['vidA'][902] + bank['vidB'][902]
    assert all(f.dtype == torch.float16 and f.shape == (64,) for f in features)
    assert not torch.equal(features[0], features[1])  # two boxes, two features

    lfb_cfg = dict(lfb_prefix_path=str(bank_dir), max_num_sampled_feat=5, window_size=60,
                   lfb_channels=64, dataset_modes=('val',), device='cpu')
    fbo, fbo_ckpt = _with_shared_head(config, dict(type='FBOHead', lfb_cfg=lfb_cfg,
                                                   fbo_cfg=dict(type='avg')), 128)
    out = tmp_path / 'fbo.pkl'

    def scores():
        assert tool.main([str(fbo), str(fbo_ckpt), '--out', str(out)]) in (0, None)
        with open(out, 'rb') as f:
            return pickle.load(f)

    read = scores()
    assert len(read) == 2 and len(read[0]) == 80
    # the bank's content reaches the scores: zeroing vidA's features changes vidA's results
    # only (vidB's window holds only its own feature)
    bank['vidA'][902] = [torch.zeros_like(f) for f in bank['vidA'][902]]
    torch.save(bank, bank_dir / 'lfb_val.pkl')
    zeroed = scores()
    assert not all(np.array_equal(a, b) for a, b in zip(read[0], zeroed[0]))
    assert all(np.array_equal(a, b) for a, b in zip(read[1], zeroed[1]))
