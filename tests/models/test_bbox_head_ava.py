"""BBoxHeadAVA: pooling order, focal loss, top-k accuracies, box decoding, targets, keys."""
from __future__ import annotations

import math

import pytest
import torch

from actionkit.models import HEADS
from actionkit.models.heads.bbox_head import BBoxHeadAVA, bbox_target


def _bce(x, y):
    return math.log1p(math.exp(x)) - x * y


def _head(**kwargs):
    head = HEADS.build(dict(type='BBoxHeadAVA', in_channels=2, num_classes=3, topk=None,
                            **kwargs))
    with torch.no_grad():
        head.fc_cls.weight.copy_(torch.tensor([[1., 0.], [0., 1.], [1., 1.]]))
        head.fc_cls.bias.zero_()
    return head


def _roi_feature():
    x = torch.zeros(1, 2, 2, 2, 2)  # [K, C, T, H, W]
    x[0, 0, 0, 0, 0], x[0, 0, 1, 1, 1] = 9., 1.
    x[0, 1, 1, 1, 1] = 10.
    return x


@pytest.mark.parametrize('temporal,spatial,expected', [
    # time first: channel 0 averages to [[4.5, 0], [0, 0.5]], then max 4.5 (max first: 5)
    ('avg', 'max', [4.5, 5., 9.5]),
    ('max', 'max', [9., 10., 19.]),
    ('avg', 'avg', [1.25, 1.25, 2.5]),
])
def test_forward_pools_time_then_space(temporal, spatial, expected):
    head = _head(temporal_pool_type=temporal, spatial_pool_type=spatial).eval()
    scores, bbox_pred = head(_roi_feature())
    torch.testing.assert_close(scores, torch.tensor([expected]))
    assert bbox_pred is None


def test_state_dict_keys_and_init():
    head = BBoxHeadAVA(in_channels=16, num_classes=5, dropout_ratio=0.5, topk=(1, 3))
    assert list(head.state_dict()) == ['fc_cls.weight', 'fc_cls.bias']
    head.init_weights()
    assert head.fc_cls.bias.abs().sum() == 0 and 0.002 < head.fc_cls.weight.std() < 0.03


_SCORES = torch.tensor([[5., .5, 2., 0.], [9., 9., 9., 9.], [0., 0., 3., -1.]])
# row 1 holds no action (class 0 alone does not count): left out
_LABELS = torch.tensor([[0., 1., 0., 1.], [1., 0., 0., 0.], [1., 0., 1., 0.]])
_ELEMENTS = [(.5, 1), (2., 0), (0., 1), (0., 0), (3., 1), (-1., 0)]  # classes 1.. of rows 0, 2


def test_loss_bce_and_accuracies():
    head = BBoxHeadAVA(in_channels=2, num_classes=4, topk=(1, 2))
    losses = head.loss(_SCORES, None, None, _LABELS, None)
    expected = sum(_bce(x, y) for x, y in _ELEMENTS) / 6
    assert losses['loss_action_cls'].item() == pytest.approx(expected, rel=1e-6)
    # > 0.5 after sigmoid: row 0 predicts {1, 2} for {1, 3}; row 2 {2} for {2}
    assert losses['recall@thr=0.5'].item() == pytest.approx(.75)
    assert losses['prec@thr=0.5'].item() == pytest.approx(.75, rel=1e-5)
    assert losses['recall@top1'].item() == pytest.approx(.5)
    assert losses['recall@top2'].item() == pytest.approx(.75)
    assert losses['prec@top2'].item() == pytest.approx(.5)


def test_focal_loss_and_no_positive_rois():
    head = BBoxHeadAVA(in_channels=2, num_classes=4, topk=None, focal_gamma=1., focal_alpha=3.)
    losses = head.loss(_SCORES, None, None, _LABELS, None)
    expected = sum(3 * (1 - math.exp(-_bce(x, y))) * _bce(x, y) for x, y in _ELEMENTS) / 6
    assert losses['loss_action_cls'].item() == pytest.approx(expected, rel=1e-6)
    scores = _SCORES.clone().requires_grad_()
    losses = head.loss(scores, None, None, torch.zeros(3, 4), None)
    assert losses['loss_action_cls'].item() == 0 and not math.isnan(losses['recall@thr=0.5'])
    losses['loss_action_cls'].backward()
    assert scores.grad is not None


def test_softmax_head_loss():
    head = BBoxHeadAVA(in_channels=2, num_classes=3, topk=None, multilabel=False)
    labels = torch.tensor([[0., 1., 1.]])
    loss = head.loss(torch.tensor([[0., 1., 0.]]), None, None, labels, None)['loss_action_cls']
    # classes 1, 2 with logits (1, 0) against (0.5, 0.5)
    log_p = [1 - math.log(math.e + 1), -math.log(math.e + 1)]
    assert loss.item() == pytest.approx(-.5 * sum(log_p), rel=1e-6)


def test_get_det_bboxes_undoes_flip_and_crop():
    head = BBoxHeadAVA(in_channels=2, num_classes=3, topk=None)
    rois = torch.tensor([[0., 10., 20., 30., 40.]])
    boxes, scores = head.get_det_bboxes(rois, torch.zeros(1, 3), (50, 100))
    torch.testing.assert_close(boxes, torch.tensor([[.1, .4, .3, .8]]))
    torch.testing.assert_close(scores, torch.full((1, 3), .5))
    boxes, _ = head.get_det_bboxes(rois, None, (50, 100), flip=True,
                                   crop_quadruple=(.5, .25, .5, .5))
    torch.testing.assert_close(boxes, torch.tensor([[.69 * .5 + .5, .45, .89 * .5 + .5, .65]]))
    assert rois.tolist() == [[0., 10., 20., 30., 40.]]  # not changed in place


def test_bbox_target_pads_negatives():
    labels, weights = bbox_target([torch.zeros(2, 4), torch.zeros(1, 4)],
                                  [torch.zeros(1, 4), torch.zeros(0, 4)],
                                  [torch.tensor([[0., 1., 0.], [0., 0., 1.]]),
                                   torch.tensor([[0., 1., 1.]])], pos_weight=2.)
    torch.testing.assert_close(labels, torch.tensor([[0., 1., 0.], [0., 0., 1.], [0., 0., 0.],
                                                     [0., 1., 1.]]))
    torch.testing.assert_close(weights, torch.tensor([2., 2., 1., 1.]))


def test_bad_arguments():
    with pytest.raises(ValueError, match='every topk must be < num_classes=5'):
        BBoxHeadAVA(num_classes=5, topk=(3, 5))
    with pytest.raises(ValueError, match="temporal_pool_type must be one of"):
        BBoxHeadAVA(temporal_pool_type='sum')
    with pytest.raises(TypeError, match='topk must be an int or a tuple'):
        BBoxHeadAVA(topk='3')
