"""SSN: the head (STPP train/test, fused test classifier) and the localizer, with a tiny
backbone."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from actionkit.models import HEADS, build_model
from actionkit.models.heads.ssn_head import STPPTest, STPPTrain, parse_stage_config

TRAIN_CFG = dict(ssn=dict(sampler=dict(num_per_video=4, positive_ratio=1, background_ratio=1,
                                       incomplete_ratio=2),
                          loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.1)))
TEST_CFG = dict(ssn=dict(sampler=dict(test_interval=6, batch_size=4)))


class TinyBackbone(nn.Module):
    """[B, 3, 7, 7] -> [B, 8, 7, 7]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _head(consensus, use_regression=True):
    return HEADS.build(dict(type='SSNHead', dropout_ratio=0., in_channels=8, num_classes=3,
                            consensus=consensus, use_regression=use_regression))


def test_parse_stage_config():
    assert parse_stage_config(2) == ((2, ), 2)
    assert parse_stage_config((1, 2)) == ((1, 2), 3)
    with pytest.raises(ValueError, match='STPP stage'):
        parse_stage_config('x')


def test_head_keys_and_legacy_default_consensus():
    head = HEADS.build(dict(type='SSNHead', in_channels=8, num_classes=3))  # 0.x default
    assert isinstance(head.consensus, STPPTrain) and head.consensus.num_multipliers == 3
    assert set(head.state_dict()) == {f'{n}.{p}' for n in ('activity_fc', 'completeness_fc',
                                                          'regressor_fc')
                                      for p in ('weight', 'bias')}
    assert head.completeness_fc.in_features == 24 and head.regressor_fc.out_features == 6
    with pytest.raises(ValueError, match='STPPTrain'):
        _head(dict(type='STPPFoo'))


def test_stpp_train_pools_stages():
    stpp = STPPTrain(stpp_stage=(1, (1, 2), 1), num_segments_list=(2, 4, 2))
    feats = torch.arange(8, dtype=torch.float).view(8, 1).repeat(1, 2)  # segment i has value i
    course, pyramid = stpp(feats, torch.tensor([[0.5, 2.0]]))
    assert course.tolist() == [[3.5, 3.5]]
    # starting: mean(0, 1) / 1 * 0.5; course: whole mean(2..5) / 3 and halves mean(2, 3) / 3,
    # mean(4, 5) / 3; ending: mean(6, 7) * 2
    expected = [0.25, 3.5 / 3, 2.5 / 3, 4.5 / 3, 13.0]
    assert pyramid.view(5, 2)[:, 0].tolist() == pytest.approx(expected)


def test_fused_test_path_equals_training_path_on_constant_features():
    torch.manual_seed(0)
    train_head = _head(dict(type='STPPTrain', stpp_stage=(1, 1, 1), num_segments_list=(2, 5, 2)))
    test_head = _head(dict(type='STPPTest', stpp_stage=(1, 1, 1)))
    test_head.load_state_dict(train_head.state_dict(), strict=True)
    feature = torch.randn(8)
    # training: one proposal, 9 segments of the same feature, nothing cut by the video ends
    activity, complete, bbox = train_head((feature.repeat(9, 1), torch.ones(1, 2)))
    # testing: 30 frames of the same feature, the proposal spans frames 10..20
    test_head.eval()
    _, t_activity, t_complete, t_bbox = test_head(
        (feature.repeat(30, 1), torch.tensor([[5, 10, 20, 25]]), torch.ones(1, 2)),
        test_mode=True)
    torch.testing.assert_close(t_activity, activity.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(t_complete, complete.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(t_bbox.view(1, 3, 2), bbox.detach(), rtol=1e-5, atol=1e-6)
    assert 'test_fc' not in ''.join(test_head.state_dict())  # derived weights stay out


def test_stpp_test_output_sizes_without_regression():
    stpp = STPPTest(num_classes=3, use_regression=False, stpp_stage=(1, (1, 2), 1))
    assert stpp.feat_dim == 4 + 5 * 3
    activity, complete, reg = stpp(torch.rand(12, 19), torch.tensor([[0, 2, 8, 11]]),
                                   torch.ones(1, 2))
    assert activity.shape == (1, 4) and complete.shape == (1, 3) and reg is None
    with pytest.raises(ValueError, match='19 columns'):
        stpp(torch.rand(12, 18), torch.tensor([[0, 2, 8, 11]]), torch.ones(1, 2))


def _ssn(consensus, **cfgs):
    return build_model(dict(
        type='SSN', backbone=TinyBackbone(), spatial_type='avg', dropout_ratio=0.,
        cls_head=dict(type='SSNHead', dropout_ratio=0., in_channels=8, num_classes=3,
                      consensus=consensus, use_regression=True), **cfgs))


def test_ssn_train_step_and_test():
    torch.manual_seed(0)
    model = _ssn(dict(type='STPPTrain', stpp_stage=(1, 1, 1), num_segments_list=(2, 5, 2)),
                 train_cfg=TRAIN_CFG)
    assert set(model.state_dict()) >= {'backbone.conv.weight', 'cls_head.activity_fc.weight'}
    batch = dict(imgs=torch.rand(1, 4, 9, 3, 7, 7), proposal_scale_factor=torch.ones(1, 4, 2),
                 proposal_type=torch.tensor([[0, 1, 1, 2]]),
                 proposal_labels=torch.tensor([[2, 1, 3, 0]]), reg_targets=torch.rand(1, 4, 2))
    out = model.train_step(batch, None)
    assert set(out['log_vars']) == {'loss_activity', 'loss_completeness', 'loss_reg', 'loss'}
    out['loss'].backward()
    assert model.backbone.conv.weight.grad is not None
    with pytest.raises(ValueError, match=r'C=3'):
        model(imgs=torch.rand(1, 4, 9, 2, 7, 7), proposal_scale_factor=None,
              proposal_type=None, proposal_labels=None, reg_targets=None)

    tester = _ssn(dict(type='STPPTest', stpp_stage=(1, 1, 1)), test_cfg=TEST_CFG)
    tester.load_state_dict(model.state_dict(), strict=True)
    tester.eval()
    result = tester(imgs=torch.rand(1, 10, 3, 7, 7),
                    relative_proposal_list=torch.tensor([[[0.1, 0.5], [0.4, 0.9]]]),
                    scale_factor_list=torch.ones(1, 2, 2),
                    proposal_tick_list=torch.tensor([[[0, 1, 5, 7], [2, 4, 9, 10]]]),
                    reg_norm_consts=torch.tensor([[[0., 0.], [1., 1.]]]), return_loss=False)
    assert tester.is_test_prepared
    assert result[0]['activity_scores'].shape == (2, 4)
    assert result[0]['completeness_scores'].shape == (2, 3)
    assert result[0]['bbox_preds'].shape == (2, 3, 2)
    tester.train()
    assert not tester.is_test_prepared  # weights may change: the fused classifier is dropped
