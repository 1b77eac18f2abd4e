"""Tests of TRNHead: MMAction2 0.x state-dict keys, the frame tuples the relation modules score,
numerics against a hand-written relation sum, argument and input checks, and one training step
of a shipped TRN config.

Expected keys and tuple counts are derived from MMAction2 0.24.1's ``trn_head.py`` (bottleneck
512 for 'TRN', 256 per scale for 'TRNMultiScale', at most 3 tuples per smaller scale).
"""
import itertools
import math
from pathlib import Path

import pytest
import torch

from actionkit.config import Config
from actionkit.models import build_model, turn_off_pretrained
from actionkit.models.heads.trn_head import RelationModuleMultiScale, TRNHead

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'recognition' / 'trn'


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def linear(prefix, out_features, in_features):
    return {f'{prefix}.weight': (out_features, in_features), f'{prefix}.bias': (out_features,)}


def test_multiscale_keys_match_mmaction():
    with torch.device('meta'):
        head = TRNHead(num_classes=174, in_channels=2048)  # the config's head
    expected = linear('fc_cls', 256, 2048)
    for i, scale in enumerate(range(8, 1, -1)):
        expected.update(linear(f'consensus.fc_fusion_scales.{i}.1', 256, scale * 256))
        expected.update(linear(f'consensus.fc_fusion_scales.{i}.3', 174, 256))
    assert shapes(head) == expected


def test_single_scale_keys_match_mmaction():
    with torch.device('meta'):
        head = TRNHead(num_classes=10, in_channels=64, num_segments=4, relation_type='TRN',
                       hidden_dim=32)
    expected = {**linear('fc_cls', 32, 64), **linear('consensus.classifier.1', 512, 4 * 32),
                **linear('consensus.classifier.3', 10, 512)}
    assert shapes(head) == expected


# ------------------------------------------------------------------ relations
@pytest.mark.parametrize('num_segments', [2, 3, 4, 8])
def test_multiscale_tuples(num_segments):
    module = RelationModuleMultiScale(hidden_dim=4, num_segments=num_segments, num_classes=3)
    assert module.scales == list(range(num_segments, 1, -1))
    for scale, relations, count in zip(module.scales, module.relations_scales,
                                       module.subsample_scales):
        assert len(relations) == math.comb(num_segments, scale)
        assert len(set(relations)) == len(relations)
        assert all(len(r) == scale and list(r) == sorted(r) for r in relations)  # time order
        assert count == min(3, len(relations))


@pytest.mark.parametrize('num_segments,calls', [
    (2, [1]), (3, [1, 3]), (4, [1, 3, 3]), (8, [1, 3, 3, 3, 3, 3, 3])])
def test_each_forward_scores_the_right_number_of_tuples(num_segments, calls):
    torch.manual_seed(0)
    module = RelationModuleMultiScale(hidden_dim=4, num_segments=num_segments, num_classes=3)
    seen = [[] for _ in module.scales]
    for i, fusion in enumerate(module.fc_fusion_scales):
        fusion.register_forward_hook(lambda m, inp, out, i=i: seen[i].append(inp[0].shape))
    out = module(torch.randn(2, num_segments, 4))
    assert out.shape == (2, 3)
    assert [len(s) for s in seen] == calls
    for scale, inputs in zip(module.scales, seen):
        assert all(shape == (2, scale * 4) for shape in inputs)


def test_sampled_relations_are_distinct_and_valid():
    module = RelationModuleMultiScale(hidden_dim=4, num_segments=6, num_classes=3)
    for seed in range(5):
        torch.manual_seed(seed)
        ids = module.sample_relations()
        assert ids[0] == [0]
        for scale_ids, relations in zip(ids[1:], module.relations_scales[1:]):
            assert len(scale_ids) == 3 == len(set(scale_ids))
            assert all(0 <= i < len(relations) for i in scale_ids)


def test_multiscale_equals_the_sum_of_the_chosen_relations():
    torch.manual_seed(0)
    module = RelationModuleMultiScale(hidden_dim=5, num_segments=4, num_classes=3)
    x = torch.randn(2, 4, 5)
    ids = [[0], [2, 0, 3], [5, 1, 4]]
    expected = torch.zeros(2, 3)
    for scale_id, chosen in enumerate(ids):
        tuples = list(itertools.combinations(range(4), 4 - scale_id))
        for idx in chosen:
            frames = torch.cat([x[:, f] for f in tuples[idx]], dim=1)  # frame features in order
            expected += module.fc_fusion_scales[scale_id](frames)
    torch.testing.assert_close(module(x, ids), expected)


def test_draws_follow_torch_seed_and_vary_between_forwards():
    torch.manual_seed(0)
    head = TRNHead(num_classes=4, in_channels=8, num_segments=5, dropout_ratio=0.0).eval()
    x = torch.randn(10, 8, 2, 2)
    with torch.no_grad():
        torch.manual_seed(1)
        first = head(x)
        torch.manual_seed(1)
        again = head(x)
        others = [head(x) for _ in range(5)]
    torch.testing.assert_close(first, again)
    # MMAction2 draws relations at test time too: fresh draws give other scores
    assert any(not torch.allclose(first, other) for other in others)


def test_single_scale_relation_numerics():
    torch.manual_seed(0)
    head = TRNHead(num_classes=4, in_channels=8, num_segments=3, relation_type='TRN',
                   hidden_dim=6, dropout_ratio=0.0).eval()
    x = torch.randn(6, 8, 2, 2)
    with torch.no_grad():
        frames = head.fc_cls(x.mean(dim=(2, 3))).view(2, 3, 6)
        expected = head.consensus.classifier(torch.cat([frames[:, 0], frames[:, 1],
                                                        frames[:, 2]], dim=1))
        torch.testing.assert_close(head(x, num_segs=3), expected)


def test_spatial_type_none_takes_pooled_features():
    head = TRNHead(num_classes=4, in_channels=8, num_segments=3, spatial_type=None)
    assert head(torch.randn(6, 8)).shape == (2, 4)


# ------------------------------------------------------------------ checks
@pytest.mark.parametrize('kwargs,match', [
    (dict(relation_type='TRNX'), "relation_type must be 'TRN' or 'TRNMultiScale'"),
    (dict(num_segments=1), 'at least 2 frames, got num_segments=1'),
    (dict(num_segments=0, relation_type='TRN'), 'num_segments must be a positive int'),
    (dict(hidden_dim=0), 'hidden_dim must be a positive int'),
    (dict(spatial_type='max'), "spatial_type must be 'avg' or None"),
    (dict(dropout_ratio=1.0), r'dropout_ratio must be in \[0, 1\)'),
])
def test_argument_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TRNHead(num_classes=4, in_channels=8, **kwargs)


def test_segment_mismatch_is_a_clear_error():
    head = TRNHead(num_classes=4, in_channels=8, num_segments=8)
    with pytest.raises(ValueError, match=r'TRNHead\(num_segments=8\).*\(12, 8, 2, 2\)'):
        head(torch.randn(12, 8, 2, 2), num_segs=12)


def test_init_weights():
    head = TRNHead(num_classes=4, in_channels=512, init_std=0.01)
    head.init_weights()
    assert torch.count_nonzero(head.fc_cls.bias) == 0
    assert 0.005 < head.fc_cls.weight.std().item() < 0.02


# ------------------------------------------------------------------ config
@pytest.mark.parametrize('name', ['trn_r50_1x1x8_50e_sthv1_rgb', 'trn_r50_1x1x8_50e_sthv2_rgb'])
def test_config_builds_and_trains_one_step(name):
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    turn_off_pretrained(cfg.model)
    assert cfg.model.cls_head.type == 'TRNHead' and cfg.model.backbone.partial_bn
    cfg.model.backbone.base_channels = 8  # same architecture, 1/8 of the width
    cfg.model.cls_head.in_channels = 256
    torch.manual_seed(0)
    model = build_model(cfg.model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = dict(imgs=torch.randn(2, 8, 3, 32, 32), label=torch.tensor([[3], [170]]))
    outputs = model.train_step(batch, optimizer)
    outputs['loss'].backward()
    head_params = dict(model.cls_head.named_parameters())
    assert all(p.grad is not None for p in head_params.values()), 'every scale is trained'
    optimizer.step()
    assert torch.isfinite(outputs['loss']) and {'loss_cls', 'top1_acc'} <= set(outputs['log_vars'])
    model.eval()
    assert model(batch['imgs'], return_loss=False).shape == (2, 174)
