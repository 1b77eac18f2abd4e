"""ST-GCN, 2s-AGCN, their graphs, STGCNHead, SkeletonGCN and CBFocalLoss."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.config import Config
from actionkit.datasets.pipelines import Compose
from actionkit.models import LOSSES, build_model
from actionkit.models.skeleton_graph import LAYOUTS, Graph


def _spatial_by_loops(graph):
    """The spatial partition written as the paper's rule, joint pair by joint pair."""
    hd, c, v = graph.hop_dis, graph.center, graph.num_node
    adj = (hd <= graph.max_hop).astype(float)
    norm = adj / adj.sum(0)[None]
    parts = []
    for hop in range(graph.max_hop + 1):
        root, close, far = (np.zeros((v, v)) for _ in range(3))
        for i in range(v):
            for j in range(v):
                if hd[j, i] != hop:
                    continue
                if hd[j, c] == hd[i, c]:
                    root[j, i] = norm[j, i]
                elif hd[j, c] > hd[i, c]:
                    close[j, i] = norm[j, i]
                else:
                    far[j, i] = norm[j, i]
        parts += [root] if hop == 0 else [root + close, far]
    return np.stack(parts)


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_spatial_partition_matches_the_rule(layout):
    graph = Graph(layout, 'spatial')
    assert np.array_equal(graph.A, _spatial_by_loops(graph))
    # every link of the normalized adjacency lands in exactly one partition
    assert graph.A.sum() == pytest.approx(graph.num_node)


def test_uniform_distance_and_agcn_graphs():
    g = Graph('coco', 'uniform')
    # joint 0 (nose) links to itself, 1, 2: its column holds 1/3 three times
    assert g.A.shape == (1, 17, 17) and sorted(g.A[0][:, 0][g.A[0][:, 0] > 0]) == [1 / 3] * 3
    d = Graph('coco', 'distance')
    assert np.array_equal(d.A[0], np.diag(np.diag(g.A[0])))
    a = Graph('ntu-rgb+d', 'agcn')
    assert np.array_equal(a.A[0], np.eye(25))
    assert a.A[1][20, 1] == 1 / 1 and a.A[1].sum(0)[20] == 0  # 2 -> 21 inward; 21 has none
    with pytest.raises(ValueError, match="strategy 'agcn' needs"):
        Graph('coco', 'agcn')
    with pytest.raises(ValueError, match='layout must be one of'):
        Graph('body25', 'spatial')


def _model(backbone, num_person=2):
    return build_model(dict(type='SkeletonGCN', backbone=backbone,
                            cls_head=dict(type='STGCNHead', num_classes=5, in_channels=256,
                                          num_person=num_person)))


def test_stgcn_state_dict_is_mmaction2s():
    model = _model(dict(type='STGCN', in_channels=3,
                        graph_cfg=dict(layout='ntu-rgb+d', strategy='spatial')))
    sd = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sd['backbone.A'] == (3, 25, 25) and sd['backbone.data_bn.weight'] == (75, )
    assert sd['backbone.st_gcn_networks.0.gcn.conv.weight'] == (192, 3, 1, 1)
    assert sd['backbone.st_gcn_networks.4.tcn.2.weight'] == (128, 128, 9, 1)
    assert sd['backbone.st_gcn_networks.7.residual.0.weight'] == (256, 128, 1, 1)
    assert sd['backbone.edge_importance.9'] == (3, 25, 25)
    assert sd['cls_head.fc.weight'] == (5, 256, 1, 1)
    assert not any(k.startswith('backbone.st_gcn_networks.0.residual') for k in sd)
    assert not any(k.startswith('backbone.st_gcn_networks.1.residual') for k in sd)
    # 10 blocks: gcn conv (2) + 2 BN (5 each) + conv (2) = 14, + residual conv/BN (7) in 2
    assert len(sd) == 1 + 5 + 10 * 14 + 2 * 7 + 10 + 2


def test_agcn_state_dict_is_mmaction2s():
    model = _model(dict(type='AGCN', in_channels=3,
                        graph_cfg=dict(layout='ntu-rgb+d', strategy='agcn')))
    sd = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sd['backbone.agcn_networks.0.gcn.PA'] == (3, 25, 25)
    assert sd['backbone.agcn_networks.0.gcn.conv_a.2.weight'] == (16, 3, 1, 1)
    assert sd['backbone.agcn_networks.0.gcn.down.0.weight'] == (64, 3, 1, 1)
    assert sd['backbone.agcn_networks.4.gcn.conv_d.0.weight'] == (128, 64, 1, 1)
    assert sd['backbone.agcn_networks.4.tcn.0.weight'] == (128, 128, 9, 1)
    assert 'backbone.agcn_networks.1.gcn.down.0.weight' not in sd
    assert float(model.state_dict()['backbone.agcn_networks.3.gcn.PA'].max()) == \
        pytest.approx(1e-6)


def test_skeleton_gcn_train_test_and_bad_input():
    torch.manual_seed(0)
    model = _model(dict(type='STGCN', in_channels=3,
                        graph_cfg=dict(layout='coco', strategy='spatial')))
    x = torch.rand(3, 3, 12, 17, 2)
    losses = model(x, torch.tensor([[0], [4], [2]]))
    assert losses['loss_cls'] > 0 and 'top1_acc' in losses
    model.eval()
    scores = model(x, return_loss=False)
    assert isinstance(scores, np.ndarray) and scores.shape == (3, 5)
    # the two persons' features are averaged: swapping them changes nothing
    assert np.allclose(model(x.flip(-1), return_loss=False), scores, atol=1e-5)
    with pytest.raises(ValueError, match=r'V=17.*got \(3, 3, 12, 25, 2\)'):
        model(torch.rand(3, 3, 12, 25, 2), return_loss=False)
    step = model.train_step(dict(keypoint=x, label=torch.tensor([[0], [1], [2]])))
    assert step['num_samples'] == 3


def test_cb_focal_loss_hand_value():
    loss = LOSSES.build(dict(type='CBFocalLoss', samples_per_cls=[1, 3], beta=0.5, gamma=0.))
    # weights (1 - .5) / (1 - .5 ** n): 1 and 4/7, normalized to sum 2: 14/11 and 8/11
    assert loss.weights.tolist() == pytest.approx([14 / 11, 8 / 11])
    score = torch.tensor([[0., 0.]])
    value = loss(score, torch.tensor([1]))
    # two BCE terms of log 2 each, weighted 8/11, over one sample
    assert float(value) == pytest.approx(8 / 11 * 2 * math.log(2))
    focal = LOSSES.build(dict(type='CBFocalLoss', samples_per_cls=[1, 3], beta=0.5))
    # gamma 2 at logits 0: the modulator is (1/2) ** 2 for both terms
    assert float(focal(score, torch.tensor([1]))) == pytest.approx(float(value) / 4)
    with pytest.raises(ValueError, match='samples_per_cls'):
        LOSSES.build(dict(type='CBFocalLoss'))


def test_cb_focal_loss_rounds_as_mmaction2():
    # MMAction2 writes the modulator's softplus as log(1 + exp(-x)): at x = 17, exp(-17) =
    # 4e-8 vanishes beside 1 in float32, so the non-target term's modulator is exactly 1 and
    # the loss is exactly w0 * 17 (log1p would give 1 - 8e-8 and a loss one ulp lower)
    focal = LOSSES.build(dict(type='CBFocalLoss', samples_per_cls=[1, 3], beta=0.5))
    value = focal(torch.tensor([[17., 17.]]), torch.tensor([0]))
    # the target term: e^-34 * log(1 + e^-17), below float32 resolution next to 17
    assert value.item() == (torch.tensor(14 / 11) * 17).item()


SKELETON_CONFIGS = sorted((Path(__file__).resolve().parents[2] / 'configs' / 'skeleton')
                          .glob('*/*.py'))
MMACTION_SKELETON = (Path(__file__).resolve().parents[2] / '.cache' / 'mmaction2-0.24.1'
                     / 'mmaction' / '.mim' / 'configs' / 'skeleton')


@pytest.mark.parametrize('path', SKELETON_CONFIGS, ids=lambda p: p.stem)
def test_shipped_skeleton_config_equals_mmaction2s(path):
    ours = Config.fromfile(str(path))
    with torch.device('meta'):
        model = build_model(ours.model)
    assert type(model).__name__ == ours.model.type
    for split in ('train', 'val', 'test'):
        Compose(_dataset(ours.data[split]).pipeline)
    upstream = MMACTION_SKELETON / path.parent.name / path.name
    if not upstream.is_file():
        pytest.skip(f'MMAction2 configs not found at {upstream}')
    theirs = Config.fromfile(str(upstream))
    for key in ('model', 'optimizer', 'optimizer_config', 'lr_config', 'total_epochs',
                'load_from'):
        assert ours.get(key) == theirs.get(key), key
    assert ours.data.videos_per_gpu == theirs.data.videos_per_gpu
    for split in ('train', 'val', 'test'):
        assert ours.data[split].get('times') == theirs.data[split].get('times')
        mine, upstream_split = _dataset(ours.data[split]), _dataset(theirs.data[split])
        for field in ('type', 'ann_file', 'pipeline', 'split', 'class_prob', 'data_prefix'):
            assert mine.get(field) == upstream_split.get(field), (split, field)


def _dataset(cfg):
    return cfg.dataset if 'dataset' in cfg else cfg


def test_skeleton_gcn_takes_the_batch_by_its_keypoint_key():
    model = _model(dict(type='AGCN', in_channels=3,
                        graph_cfg=dict(layout='ntu-rgb+d', strategy='agcn')), num_person=1)
    model.eval()
    batch = dict(keypoint=torch.rand(2, 3, 6, 25, 1), img_metas=None)
    assert model(return_loss=False, **batch).shape == (2, 5)
