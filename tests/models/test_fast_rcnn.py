"""FastRCNN action detector: IoU assignment, sampling, rois/results conversion, train and test
paths, and MMAction2's AVA config building with its state-dict keys."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from actionkit.models import build_model
from actionkit.models.detectors import (MaxIoUAssignerAVA, RandomSampler, bbox2result, bbox2roi,
                                        bbox_overlaps)

GT = torch.tensor([[0., 0., 10., 10.]])
# IoU with GT: 1, 0.5, 0, 0.95
PROPS = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.], [20., 20., 30., 30.],
                      [0., 0., 10., 9.5]])
LABELS = torch.tensor([[0., 1., 0., 1.]])


def test_bbox_overlaps_hand_worked():
    torch.testing.assert_close(bbox_overlaps(GT, PROPS), torch.tensor([[1., .5, 0., .95]]))


def test_assigner_thresholds_and_low_quality_matches():
    assigner = MaxIoUAssignerAVA(pos_iou_thr=.9, neg_iou_thr=.9, min_pos_iou=.9)
    result = assigner.assign(PROPS, GT, None, LABELS)
    assert result.gt_inds.tolist() == [1, 0, 0, 1]
    torch.testing.assert_close(result.labels, torch.stack([LABELS[0], torch.zeros(4),
                                                           torch.zeros(4), LABELS[0]]))
    # a second gt whose best IoU (0.8 with proposal 2) is below pos_iou_thr: negative at 0.9,
    # its own with min_pos_iou 0.5
    gts = torch.cat([GT, torch.tensor([[20., 20., 30., 28.]])])
    labels = torch.cat([LABELS, torch.tensor([[0., 0., 1., 0.]])])
    assert assigner.assign(PROPS, gts, None, labels).gt_inds.tolist() == [1, 0, 0, 1]
    low = MaxIoUAssignerAVA(pos_iou_thr=.9, neg_iou_thr=.9, min_pos_iou=.5)
    result = low.assign(PROPS, gts, None, labels)
    assert result.gt_inds.tolist() == [1, 0, 2, 1]
    assert result.labels[2].tolist() == [0., 0., 1., 0.]
    # no gt: every proposal negative
    assert assigner.assign(PROPS, torch.zeros(0, 4), None,
                           torch.zeros(0, 4)).gt_inds.tolist() == [0] * 4


def test_random_sampler_adds_gt_and_bounds_negatives():
    assigner = MaxIoUAssignerAVA(pos_iou_thr=.9, neg_iou_thr=.9, min_pos_iou=.9)
    sampler = RandomSampler(num=5, pos_fraction=1, add_gt_as_proposals=True)
    res = sampler.sample(assigner.assign(PROPS, GT, None, LABELS), PROPS, GT, LABELS)
    # the gt comes first: candidates gt, p0..p3 with gt_inds [1, 1, 0, 0, 1]
    assert res.pos_inds.tolist() == [0, 1, 4] and res.neg_inds.tolist() == [2, 3]
    assert res.pos_is_gt.tolist() == [1, 0, 0]
    torch.testing.assert_close(res.bboxes, torch.stack([GT[0], PROPS[0], PROPS[3], PROPS[1],
                                                        PROPS[2]]))
    torch.testing.assert_close(res.pos_gt_labels, LABELS.repeat(3, 1))
    torch.manual_seed(0)
    few = RandomSampler(num=2, pos_fraction=.5, neg_pos_ub=0).sample(
        assigner.assign(PROPS, GT, None, LABELS), PROPS, GT, LABELS)
    assert few.pos_inds.numel() == 1 and few.neg_inds.numel() == 0  # neg_pos_ub=0: none


def test_bbox2roi_and_bbox2result():
    rois = bbox2roi([PROPS[:2], torch.zeros(0, 4), PROPS[2:3]])
    torch.testing.assert_close(rois, torch.tensor([[0., 0., 0., 10., 10.], [0., 0., 0., 10., 5.],
                                                   [2., 20., 20., 30., 30.]]))
    boxes = torch.tensor([[.1, .1, .5, .5], [.2, .2, .6, .6]])
    scores = torch.tensor([[.9, .5, .01, .2], [.9, .001, .3, .4]])
    result = bbox2result(boxes, scores, 4, thr=.1)
    assert len(result) == 3
    np.testing.assert_allclose(result[0], [[.1, .1, .5, .5, .5]])
    np.testing.assert_allclose(result[1], [[.2, .2, .6, .6, .3]])
    np.testing.assert_allclose(result[2][:, 4], [.2, .4])
    single = bbox2result(boxes, scores, 4, thr=-1.)  # best class only
    assert [len(r) for r in single] == [1, 0, 1]
    assert [r.shape for r in bbox2result(torch.zeros(0, 4), torch.zeros(0, 4), 4)] == [(0, 5)] * 3


def _detector(**test_cfg):
    backbone = nn.Conv3d(3, 8, kernel_size=1, stride=(1, 4, 4))  # stride 4, 8 channels
    return build_model(dict(
        type='FastRCNN', backbone=backbone,
        roi_head=dict(type='AVARoIHead',
                      bbox_roi_extractor=dict(type='SingleRoIExtractor3D', output_size=2,
                                              featmap_stride=4),
                      bbox_head=dict(type='BBoxHeadAVA', in_channels=8, num_classes=4,
                                     topk=(1,))),
        train_cfg=dict(rcnn=dict(
            assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=.9, neg_iou_thr=.9,
                          min_pos_iou=.9),
            sampler=dict(type='RandomSampler', num=8, pos_fraction=1, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=1.)),
        test_cfg=dict(rcnn=dict(action_thr=test_cfg.get('action_thr', .002)))))


def test_fast_rcnn_train_step_reaches_backbone():
    torch.manual_seed(0)
    model = _detector()
    img = torch.randn(2, 3, 4, 32, 32)
    batch = dict(img=img, img_metas=[{}, {}],
                 proposals=[torch.tensor([[2., 2., 20., 20.], [8., 8., 30., 30.]]),
                            torch.tensor([[0., 0., 31., 31.]])],
                 gt_bboxes=[torch.tensor([[2., 2., 20., 20.]]), torch.tensor([[0., 0., 31., 31.]])],
                 gt_labels=[torch.tensor([[0., 1., 0., 1.]]), torch.tensor([[0., 0., 1., 0.]])])
    out = model.train_step(batch)
    assert set(out['log_vars']) >= {'loss_action_cls', 'recall@top1', 'recall@thr=0.5', 'loss'}
    assert out['num_samples'] == 2 and torch.isfinite(out['loss'])
    out['loss'].backward()
    assert model.backbone.weight.grad.abs().sum() > 0


def test_fast_rcnn_test_returns_normalised_boxes_per_class():
    model = _detector(action_thr=-1.).eval()  # single-label: each box in its best class
    with torch.no_grad():
        model.roi_head.bbox_head.fc_cls.bias.copy_(torch.tensor([0., 0., 5., 0.]))
    props = torch.tensor([[8., 8., 24., 24.], [0., 0., 16., 32.]])
    with torch.no_grad():
        result = model(img=[torch.randn(1, 3, 4, 32, 64)], return_loss=False,
                       img_metas=[[dict(img_shape=(32, 64))]], proposals=[[props]])
    assert len(result) == 1 and [len(r) for r in result[0]] == [0, 2, 0]
    np.testing.assert_allclose(result[0][1][:, :4], [[.125, .25, .375, .75], [0, 0, .25, 1]])
    with pytest.raises(ValueError, match='one clip at a time'):
        model.roi_head.simple_test(torch.zeros(2, 8, 4, 8, 8), [props, props], [{}, {}])


def test_fast_rcnn_test_without_proposals_or_with_boxes_off_the_frame():
    model = _detector().eval()
    with torch.no_grad():
        model.roi_head.bbox_head.fc_cls.bias.copy_(torch.tensor([0., -1., 5., -9.]))
    clip, metas = torch.randn(1, 3, 4, 32, 64), [[dict(img_shape=(32, 64))]]
    with torch.no_grad():
        empty = model(img=[clip], img_metas=metas, proposals=[[torch.zeros(0, 4)]],
                      return_loss=False)
    # no proposal: every class gets an empty [0, 5] array (a reshape used to fail on 0 RoIs)
    assert [r.shape for r in empty[0]] == [(0, 5)] * 3
    # wider than the frame, and entirely past the 8x16 feature map: the boxes come back
    # normalised and unclipped (as in MMAction2); the second pools to zeros, so its scores
    # are sigmoid(bias): 0.269 and 0.993 pass action_thr 0.002, sigmoid(-9) = 1.2e-4 does not
    props = torch.tensor([[-20., -10., 90., 50.], [100., 60., 140., 90.]])
    with torch.no_grad():
        result = model(img=[clip], img_metas=metas, proposals=[[props]], return_loss=False)[0]
    off = [1.5625, 1.875, 2.1875, 2.8125]
    np.testing.assert_allclose(result[0][:, :4], [[-.3125, -.3125, 1.40625, 1.5625], off])
    np.testing.assert_allclose(result[0][1, 4], 1 / (1 + np.exp(1)), rtol=1e-6)
    np.testing.assert_allclose(result[1][1], off + [1 / (1 + np.exp(-5))], rtol=1e-6)
    assert all(not np.allclose(row[:4], off) for row in result[2])


CONFIGS = (Path(__file__).resolve().parents[2] / '.cache' / 'mmaction2-0.24.1' / 'mmaction' /
           '.mim' / 'configs' / 'detection')


@pytest.mark.skipif(not CONFIGS.is_dir(), reason='MMAction2 0.24.1 configs not found')
def test_mmaction_ava_config_builds_with_its_keys():
    from actionkit.config import Config
    cfg = Config.fromfile(str(CONFIGS / 'ava' / 'slowfast_kinetics_pretrained_r50_4x16x1_20e_'
                                                'ava_rgb.py'))
    cfg.model.backbone.pretrained = None
    with torch.device('meta'):
        model = build_model(cfg.model)
    keys = list(model.state_dict())
    assert keys[-2:] == ['roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.fc_cls.bias']
    assert model.roi_head.bbox_head.fc_cls.in_features == 2304  # slow 2048 + fast 256
    assert 'backbone.slow_path.conv1.conv.weight' in keys
    acrn = Config.fromfile(str(CONFIGS / 'acrn' / 'slowfast_acrn_kinetics_pretrained_r50_8x8x1_'
                                                  'cosine_10e_ava_rgb.py'))
    acrn.model.backbone.pretrained = None
    with torch.device('meta'):
        model = build_model(acrn.model)
    assert model.roi_head.shared_head.conv1.conv.weight.shape == (2304, 4608, 1, 1, 1)
    lfb = Config.fromfile(str(CONFIGS / 'lfb' / 'lfb_nl_kinetics_pretrained_slowonly_r50_4x16x1_'
                                                '20e_ava_rgb.py'))
    lfb.model.backbone.pretrained = None
    with torch.device('meta'):
        model = build_model(lfb.model)
    # short-term 2048 + non-local latent 512 into the box head; the bank is not read yet
    assert model.roi_head.bbox_head.fc_cls.in_features == 2560
    assert model.roi_head.shared_head.fbo.non_local_layer_2.ln.weight.shape == (512, 1, 1, 1)
    assert model.roi_head.shared_head.lfb.lfb_prefix_path == 'data/ava/lfb_half'
