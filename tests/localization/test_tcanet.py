"""TCANet (MMAction2 1.x): parameter count and keys of the 1.x config, the LGTE window mask,
the TBR box arithmetic (hand-worked), and the 1.x calls."""
from __future__ import annotations

import pytest
import torch

from actionkit.models import build_model
from actionkit.models.localizers.tcanet import LGTE, TBR, batch_iou

CFG = dict(type='TCANet', feat_dim=700, se_sample_num=32, action_sample_num=64,
           temporal_dim=100, window_size=9, lgte_num=2, soft_nms_alpha=0.4,
           soft_nms_low_threshold=0.0, soft_nms_high_threshold=0.0, post_process_top_k=100,
           feature_extraction_interval=16)


def test_config_model_has_1x_parameter_count_and_keys():
    model = build_model(CFG)
    assert sum(p.numel() for p in model.parameters()) == 10954255  # MMAction2 1.2.0's
    keys = model.state_dict()
    assert len(keys) == 72
    assert {'x_1d_b_f.0.weight', 'lgtes.1.atten.attn.in_proj_weight',
            'lgtes.0.ffn.layers.0.0.weight',
            'lgtes.0.ffn.layers.1.bias', 'lgtes.0.mask', 'tbr3.reg1se.4.weight',
            'tbr1.reg1xw.6.bias'} <= set(keys)


def test_lgte_mask_local_heads_only():
    mask = LGTE(16, 0.1, temporal_dim=7, window_size=3, num_heads=4).mask[0]
    # heads 0, 1: |i - j| > 1.5 is masked; heads 2, 3 see everything
    # (row 3: frames 2, 3, 4 are within 1.5)
    assert mask[0, 3].tolist() == [True, True, False, False, False, True, True]
    assert mask[1, 0].tolist() == [False, False, True, True, True, True, True]
    assert not mask[2:].any()


def test_batch_iou_hand_worked():
    proposals = torch.tensor([[0.0, 0.4], [0.2, 0.6]])
    boxes = torch.tensor([[0.2, 0.6], [0.7, 0.9]])
    # overlap 0.2 of union 0.6; no overlap
    torch.testing.assert_close(batch_iou(proposals, boxes),
                               torch.tensor([0.2 / (0.6 + 1e-5), 0.0]))


def test_tbr_zero_regression_keeps_the_proposal():
    tbr = TBR(se_sample_num=8, action_sample_num=8, temporal_dim=16)
    for module in tbr.modules():
        if isinstance(module, torch.nn.Conv1d):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)
    proposals = torch.tensor([[0.2, 0.5, 0.0], [0.1, 0.3, 1.0]])
    pred_iou, refined, _, _ = tbr(proposals, torch.rand(2, 512, 16), None, 0.5, False)
    torch.testing.assert_close(refined, proposals[:, :2])
    torch.testing.assert_close(pred_iou, torch.full((2,), 0.5))  # sigmoid(0)


def _sample(proposals, boxes=None):
    sample = type('Sample', (), {})()
    sample.proposals = {'proposals': proposals}
    sample.metainfo = dict(video_name='v', duration_second=10.0, duration_frame=320,
                           feature_frame=320)
    if boxes is not None:
        sample.gt_instances = {'gt_bbox': boxes}
    return sample


def test_tcanet_calls():
    model = build_model({**CFG, 'feat_dim': 8, 'temporal_dim': 16, 'se_sample_num': 8,
                         'action_sample_num': 8, 'lgte_num': 1}).eval()
    x = torch.rand(2, 8, 16)
    assert model(x, mode='tensor').shape == (2, 512, 16)
    samples = [_sample(torch.tensor([[0.1, 0.4, 0.9], [0.5, 0.8, 0.3]]),
                       torch.tensor([[0.1, 0.5]])),
               _sample(torch.tensor([[0.2, 0.6, 0.7]]), torch.tensor([[0.2, 0.5]]))]
    losses = model(x, samples, mode='loss')
    assert sorted(losses) == ['iloss1', 'iloss2', 'iloss3', 'rloss1', 'rloss2', 'rloss3']
    with torch.no_grad():
        result = model(x[:1], samples[:1], mode='predict')
    assert result[0]['video_name'] == 'v' and len(result[0]['proposal_list']) == 6
    with pytest.raises(ValueError, match='proposals'):
        model(x, [object()], mode='loss')


def test_box_transforms_hand_worked():
    from actionkit.models.localizers.tcanet import (_apply_center_width, _apply_start_end,
                                                    _targets)
    box = torch.tensor([[0.2, 0.6]])  # width 0.4, centre 0.4
    # centre moves 0.1 * 1 widths, width scales by exp(0.2 * 1)
    half = 0.5 * 0.4 * float(torch.exp(torch.tensor(0.2)))
    torch.testing.assert_close(_apply_center_width(box, torch.tensor([[1., 1.]])),
                               torch.tensor([[0.44 - half, 0.44 + half]]))
    # ends move by delta * width * weight
    torch.testing.assert_close(_apply_start_end(box, torch.tensor([[1., -1.]]), 0.2),
                               torch.tensor([[0.28, 0.52]]))
    gt = torch.tensor([[0.1, 0.9]])
    se, xw = _targets(box, gt)
    torch.testing.assert_close(se, torch.tensor([[-0.25, 0.75]]))
    torch.testing.assert_close(xw, torch.tensor([[(0.5 - 0.4) / 0.4, float(torch.log(
        torch.tensor(2.)))]]))
