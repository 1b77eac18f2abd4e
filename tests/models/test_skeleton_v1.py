"""MMAction2 1.x skeleton models: GraphV1, STGCN (ST-GCN / ST-GCN++), AAGCN, GCNHead,
RecognizerGCN, RGBPoseConv3D + RGBPoseHead + MMRecognizer3D, MultiModalDataPreprocessor.

Parameter counts are MMAction2 1.2.0's for the same model dicts (built there); outputs equal
to 1.x's are checked by benchmarks/mmaction1_model_check.py (docs/benchmarks.md).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from actionkit.models import build_model
from actionkit.models.backbones.gcn_units_v1 import GCN_BACKBONES_V1, MSTCN, UnitGCN
from actionkit.models.data_sample import ActionDataSample
from actionkit.models.heads.gcn_head import GCNHead
from actionkit.models.multimodal_preprocessor import MultiModalDataPreprocessor
from actionkit.models.skeleton_graph import Graph, GraphV1


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _gcn(backbone: dict, num_classes: int = 60) -> dict:
    return dict(type='RecognizerGCN', backbone=backbone,
                cls_head=dict(type='GCNHead', num_classes=num_classes, in_channels=256))


CHAIN = dict(num_node=3, inward=[(1, 0), (2, 1)], center=0)  # 0 - 1 - 2, centre 0


def test_graph_v1_spatial_hand_worked():
    a = GraphV1(CHAIN, 'spatial').A
    np.testing.assert_array_equal(a[0], np.eye(3))
    # inward (i, j) puts A[j, i] = 1; each column has one link, so normalisation keeps 1
    np.testing.assert_array_equal(a[1], [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(a[2], [[0, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_graph_v1_stgcn_spatial_hand_worked():
    # hop <= 1 links, columns normalised: column sums 2, 3, 2
    a = GraphV1(CHAIN, 'stgcn_spatial').A
    assert a.shape == (3, 3, 3)
    np.testing.assert_allclose(a[0], np.diag([1 / 2, 1 / 3, 1 / 2]))
    # "close": the row joint at least as far from the centre as the column joint
    np.testing.assert_allclose(a[1], [[0, 0, 0], [1 / 2, 0, 0], [0, 1 / 3, 0]])
    np.testing.assert_allclose(a[2], [[0, 1 / 3, 0], [0, 0, 1 / 2], [0, 0, 0]])


def test_graph_v1_coco_is_not_0x_coco():
    # 1.x links the shoulders (5, 6) to the nose (0); 0.x's coco joins them to each other
    adj = GraphV1('coco', 'binary_adj').A[0]
    assert adj[0, 5] == adj[5, 0] == 1 and adj[5, 6] == 0
    assert Graph('coco', 'spatial').hop_dis[5, 6] == 1


@pytest.mark.parametrize('cfg', [dict(layout='kinetics'), dict(layout='coco', mode='agcn'),
                                 dict(layout=dict(num_node=3, inward=[]))])
def test_graph_v1_rejects(cfg):
    with pytest.raises(ValueError, match='graph_cfg'):
        GraphV1(**cfg)


@pytest.mark.parametrize('backbone, num_classes, params', [
    (dict(type='STGCN', graph_cfg=dict(layout='coco', mode='stgcn_spatial')), 60, 3088704),
    (dict(type='STGCN', graph_cfg=dict(layout='nturgb+d', mode='stgcn_spatial')), 120, 3114252),
    (dict(type='STGCN', gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn',
          graph_cfg=dict(layout='coco', mode='spatial')), 60, 1393016),
    (dict(type='AAGCN', graph_cfg=dict(layout='nturgb+d', mode='spatial'),
          gcn_attention=False), 60, 3469520),
])
def test_gcn_configs_have_1x_parameter_counts(backbone, num_classes, params):
    assert _count(build_model(_gcn(backbone, num_classes))) == params


def test_stgcnpp_keys_follow_1x():
    model = build_model(_gcn(dict(type='STGCN', gcn_adaptive='init', gcn_with_res=True,
                                  tcn_type='mstcn', graph_cfg=dict(layout='coco',
                                                                   mode='spatial'))))
    keys = set(model.state_dict())
    # stem block (3 -> 64 channels): no residual; 'init' learns A itself (no PA)
    assert {'backbone.data_bn.running_mean', 'backbone.gcn.0.gcn.A',
            'backbone.gcn.0.gcn.conv.weight',
            'backbone.gcn.0.gcn.down.0.weight', 'backbone.gcn.0.tcn.branches.0.3.conv.weight',
            'backbone.gcn.0.tcn.branches.4.1.running_var', 'backbone.gcn.0.tcn.branches.5.weight',
            'backbone.gcn.0.tcn.transform.2.weight', 'backbone.gcn.4.residual.conv.weight',
            'cls_head.fc.weight'} <= keys
    assert not any(k.startswith('backbone.gcn.0.residual') or k.endswith('.PA') for k in keys)
    assert 'backbone.gcn.0.gcn.A' in dict(model.named_parameters())


def test_0x_stgcn_name_keeps_its_meaning():
    old = build_model(dict(type='SkeletonGCN', backbone=dict(
        type='STGCN', in_channels=3, graph_cfg=dict(layout='coco', strategy='spatial')),
        cls_head=dict(type='STGCNHead', num_classes=60, in_channels=256)))
    assert 'backbone.st_gcn_networks.0.gcn.conv.weight' in old.state_dict()
    assert 'STGCN' in GCN_BACKBONES_V1
    with pytest.raises(ValueError, match='SkeletonGCN'):  # a 0.x graph_cfg in a 1.x model
        build_model(_gcn(dict(type='STGCN', graph_cfg=dict(layout='coco',
                                                           strategy='spatial'))))


def test_stgcn_v1_per_stage_arguments_and_shapes():
    backbone = GCN_BACKBONES_V1.build(dict(
        type='STGCN', graph_cfg=dict(layout='coco', mode='spatial'), base_channels=8,
        num_stages=4, inflate_stages=[3], down_stages=[3], ch_ratio=2,
        tcn_dropout=[0.5, 0.1, 0.2, 0.3]))
    drops = [block.tcn.drop.p for block in backbone.gcn]
    assert drops == [0, 0.1, 0.2, 0.3]  # the stem block never gets tcn_dropout
    out = backbone(torch.rand(2, 3, 8, 17, 3))
    assert out.shape == (2, 3, 16, 4, 17)  # (N, M, C, T / 2, V)


def test_unit_gcn_adaptive_modes():
    adj = torch.rand(3, 4, 4)
    assert torch.equal(UnitGCN(2, 4, adj, adaptive='importance').adjacency(), adj)
    unit = UnitGCN(2, 4, adj, adaptive='offset')
    assert 0 < unit.PA.abs().max() <= 1e-6
    torch.testing.assert_close(unit.adjacency(), adj + unit.PA)
    with pytest.raises(ValueError, match='adaptive'):
        UnitGCN(2, 4, adj, adaptive='learned')


def test_mstcn_channel_split():
    # 64 channels over 6 branches: 10 each, the first takes the remaining 14
    unit = MSTCN(64, 64)
    assert unit.branches[0][0].out_channels == 14
    assert [unit.branches[i][0].out_channels for i in range(1, 5)] == [10] * 4
    assert unit.branches[5].out_channels == 10
    assert unit(torch.rand(1, 64, 6, 5)).shape == (1, 64, 6, 5)


def test_gcn_head_pools_and_averages_persons():
    head = GCNHead(num_classes=2, in_channels=3)
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[1., 0, 0], [0, 1, 1]]))
        head.fc.bias.zero_()
    x = torch.zeros(1, 2, 3, 4, 5)
    x[0, 0] = 1.  # person 0: every channel 1; person 1: channel c is c
    x[0, 1] = torch.arange(3.).view(3, 1, 1)
    # pooled per person ([1, 1, 1], [0, 1, 2]), averaged: [0.5, 1, 1.5] -> [0.5, 2.5]
    torch.testing.assert_close(head(x), torch.tensor([[0.5, 2.5]]))


def test_recognizer_gcn_predict_averages_view_probabilities():
    model = build_model(dict(
        type='RecognizerGCN', backbone=dict(type='STGCN', graph_cfg=dict(layout='coco'),
                                            base_channels=8, num_stages=2),
        cls_head=dict(type='GCNHead', num_classes=4, in_channels=8))).eval()
    inputs = torch.randn(2, 3, 2, 6, 17, 3)  # 2 samples, 3 clips, 2 persons
    with torch.no_grad():
        views = model(inputs, mode='tensor', stage='head')
        samples = model(inputs, mode='predict')
    assert views.shape == (6, 4)
    expected = views.softmax(dim=1).view(2, 3, 4).mean(dim=1)  # GCNHead: 'prob'
    torch.testing.assert_close(torch.stack([s.pred_score for s in samples]), expected)
    losses = model(inputs[:, :1], [ActionDataSample().set_gt_label(1),
                                   ActionDataSample().set_gt_label(2)], mode='loss')
    assert losses['loss_cls'].requires_grad


def _rgbpose(**pathways) -> dict:
    rgb = dict(num_stages=4, lateral=True, lateral_infl=1, lateral_activate=[0, 0, 1, 1],
               fusion_kernel=7, base_channels=8, conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1),
               with_pool2=False)
    pose = dict(num_stages=3, stage_blocks=(1, 1, 1), lateral=True, lateral_inv=True,
                lateral_infl=16, lateral_activate=(0, 1, 1), fusion_kernel=7, in_channels=5,
                base_channels=4, out_indices=(2,), conv1_kernel=(1, 7, 7), conv1_stride_s=1,
                conv1_stride_t=1, pool1_stride_s=1, pool1_stride_t=1, inflate=(0, 1, 1),
                spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 1), dilations=(1, 1, 1),
                with_pool2=False)
    return dict(
        type='MMRecognizer3D',
        backbone=dict(type='RGBPoseConv3D', rgb_pathway={**rgb, 'stage_blocks': (1, 1, 1, 1)},
                      pose_pathway=pose),
        cls_head=dict(type='RGBPoseHead', num_classes=3, in_channels=(256, 64),
                      loss_weights=[1., 2.], average_clips='prob'),
        data_preprocessor=dict(type='MultiModalDataPreprocessor', preprocessors=dict(
            imgs=dict(type='ActionDataPreprocessor', mean=[1., 2., 3.], std=[2., 2., 2.],
                      format_shape='NCTHW'),
            heatmap_imgs=dict(type='ActionDataPreprocessor'))))


def test_rgbpose_config_has_1x_parameter_count():
    model = build_model(dict(
        type='MMRecognizer3D', backbone=dict(type='RGBPoseConv3D'),
        cls_head=dict(type='RGBPoseHead', num_classes=60, in_channels=(2048, 512))))
    assert _count(model) == 36147928
    keys = model.state_dict()
    # rgb: laterals into stages 3 and 4 only; pose: transposed-conv laterals with BN
    assert 'backbone.rgb_path.layer2_lateral.conv.weight' in keys
    assert 'backbone.rgb_path.layer1_lateral.conv.weight' not in keys
    assert keys['backbone.pose_path.layer1_lateral.conv.weight'].shape == (512, 32, 7, 1, 1)
    assert 'backbone.pose_path.layer2_lateral.bn.running_mean' in keys


def test_mm_recognizer_scores_per_stream():
    model = build_model(_rgbpose()).eval()
    inputs = dict(imgs=torch.rand(2, 2, 3, 2, 32, 32), heatmap_imgs=torch.rand(2, 2, 5, 8, 8, 8))
    with torch.no_grad():
        views = model(dict(inputs), mode='tensor', stage='head')
        samples = model(dict(inputs), mode='predict')
    assert set(views) == {'rgb', 'pose'} and views['rgb'].shape == (4, 3)
    for name in ('rgb', 'pose'):
        expected = views[name].softmax(dim=1).view(2, 2, 3).mean(dim=1)
        torch.testing.assert_close(torch.stack([s.pred_score[name] for s in samples]),
                                   expected)
    model.train()
    losses = model(dict(imgs=inputs['imgs'][:, :1], heatmap_imgs=inputs['heatmap_imgs'][:, :1]),
                   [ActionDataSample().set_gt_label(0), ActionDataSample().set_gt_label(1)],
                   mode='loss')
    assert {'rgb_loss_cls', 'pose_loss_cls', 'rgb_top1_acc'} <= set(losses)


def test_rgbpose_head_weights_losses():
    head = build_model(_rgbpose()).cls_head
    scores = dict(rgb=torch.tensor([[2., 0., 0.]]), pose=torch.tensor([[0., 0., 0.]]))
    losses = head.loss(scores, torch.tensor([0]))
    # pose: uniform scores, CE = log 3, weighted by 2
    torch.testing.assert_close(losses['pose_loss_cls'], torch.tensor(2 * np.log(3.),
                                                                     dtype=torch.float32))
    expected_rgb = -torch.log_softmax(scores['rgb'], dim=1)[0, 0]
    torch.testing.assert_close(losses['rgb_loss_cls'], expected_rgb)


def test_multimodal_preprocessor():
    pre = MultiModalDataPreprocessor(dict(
        imgs=dict(type='ActionDataPreprocessor', mean=[1., 2., 3.], std=[2., 2., 2.],
                  format_shape='NCTHW'),
        heatmap_imgs=dict(type='ActionDataPreprocessor')))
    imgs = torch.full((1, 1, 3, 1, 2, 2), 5.)
    heat = torch.full((1, 1, 2, 1, 2, 2), 5.)
    out, _ = pre.preprocess(dict(imgs=imgs, heatmap_imgs=heat))
    assert out['imgs'][0, 0, :, 0, 0, 0].tolist() == [2., 1.5, 1.]  # (5 - mean) / 2
    assert torch.equal(out['heatmap_imgs'], heat)
    with pytest.raises(KeyError, match='audio'):
        pre.preprocess(dict(audio=imgs))
    with pytest.raises(ValueError, match='preprocessors.imgs.type'):
        MultiModalDataPreprocessor(dict(imgs=dict(type='Normalize')))


def test_bmn_loads_1x_bm_mask_and_checks_it():
    cfg = dict(type='BMN', temporal_dim=10, boundary_ratio=0.5, num_samples=4,
               num_samples_per_bin=3, feat_dim=8, soft_nms_alpha=0.4,
               soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=10)
    model = build_model(cfg)
    state = dict(model.state_dict())
    # 1.x's mask: row d (duration) is 1 for the first T - d starts
    state['bm_mask'] = torch.tensor([[1.] * (10 - d) + [0.] * d for d in range(10)])
    model.load_state_dict(state, strict=True)
    state['bm_mask'] = torch.ones(10, 10)
    with pytest.raises(ValueError, match='temporal_dim'):
        model.load_state_dict(state, strict=True)


def test_drn_is_refused_with_the_reason():
    with pytest.raises(ValueError, match='text model'):
        build_model(dict(type='DRN', vocab_size=1301, feature_dim=4096))


def test_small_graph_backbones_match_1x_state_dict_layout():
    # counts and shapes read from MMAction2 1.2.0's models built from the same dicts
    pp = GCN_BACKBONES_V1.build(dict(
        type='STGCN', graph_cfg=dict(layout='coco', mode='spatial'), base_channels=8,
        num_stages=2, gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn')).state_dict()
    assert len(pp) == 142
    # 8 channels over 6 branches: 1 each, the first takes the remaining 3
    assert list(pp['gcn.0.tcn.branches.0.0.weight'].shape) == [3, 8, 1, 1]
    assert list(pp['gcn.0.tcn.branches.1.3.conv.weight'].shape) == [1, 1, 3, 1]
    assert list(pp['gcn.0.gcn.conv.weight'].shape) == [24, 3, 1, 1]
    aa = GCN_BACKBONES_V1.build(dict(
        type='AAGCN', graph_cfg=dict(layout='coco', mode='spatial'), base_channels=8,
        num_stages=2)).state_dict()
    assert len(aa) == 93
    assert list(aa['data_bn.weight'].shape) == [102]  # 'MVC': 2 persons x 17 joints x 3
    assert list(aa['gcn.0.gcn.conv_sa.weight'].shape) == [1, 8, 17]
    assert list(aa['gcn.1.gcn.fc1c.weight'].shape) == [4, 8]
    assert list(aa['A'].shape) == [3, 17, 17] and 'gcn.0.gcn.alpha' in aa


def _params_without_grad(model: torch.nn.Module) -> list[str]:
    return [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]


def test_recognizer_gcn_train_step_reaches_every_parameter():
    """The zoo smoke test's promise for RecognizerGCN (1.x STGCN++ and AAGCN backbones)."""
    for backbone in (dict(type='STGCN', graph_cfg=dict(layout='coco'), base_channels=8,
                          num_stages=3, gcn_adaptive='init', gcn_with_res=True,
                          tcn_type='mstcn', inflate_stages=[2], down_stages=[2]),
                     dict(type='AAGCN', graph_cfg=dict(layout='coco', mode='spatial'),
                          base_channels=8, num_stages=3, inflate_stages=[2],
                          down_stages=[2])):
        torch.manual_seed(0)
        model = build_model(dict(type='RecognizerGCN', backbone=backbone,
                                 cls_head=dict(type='GCNHead', num_classes=3, in_channels=16)))
        losses = model(torch.randn(2, 1, 2, 8, 17, 3), [ActionDataSample().set_gt_label(0),
                                                        ActionDataSample().set_gt_label(2)],
                       mode='loss')
        assert torch.isfinite(losses['loss_cls'])
        losses['loss_cls'].backward()
        assert not _params_without_grad(model), backbone['type']


def test_rgbpose_train_step_reaches_every_parameter():
    """The zoo smoke test's promise for MMRecognizer3D and its RGBPoseConv3D backbone: both
    pathways and both laterals learn from the two streams' losses."""
    torch.manual_seed(0)
    model = build_model(_rgbpose()).train()
    losses = model(dict(imgs=torch.rand(2, 1, 3, 2, 32, 32),
                        heatmap_imgs=torch.rand(2, 1, 5, 8, 8, 8)),
                   [ActionDataSample().set_gt_label(0), ActionDataSample().set_gt_label(2)],
                   mode='loss')
    total = losses['rgb_loss_cls'] + losses['pose_loss_cls']
    assert torch.isfinite(total)
    total.backward()
    assert not _params_without_grad(model)
