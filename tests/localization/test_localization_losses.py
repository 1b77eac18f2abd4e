"""BMN / BSN / SSN losses on hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from actionkit.models import LOSSES
from actionkit.models.losses.bmn_loss import BMNLoss, binary_logistic_regression_loss
from actionkit.models.losses.ssn_loss import OHEMHingeLoss, SSNLoss, ohem_hinge_loss


def test_registered():
    for name in ('BMNLoss', 'BinaryLogisticRegressionLoss', 'SSNLoss'):
        assert name in LOSSES


def test_binary_logistic_regression_loss_hand_computed():
    scores = torch.tensor([0.9, 0.2, 0.6, 0.1])
    labels = torch.tensor([1.0, 0.0, 0.7, 0.2])
    # 2 positives of 4 -> ratio 2 -> both weights 1
    expected = -(math.log(0.9 + 1e-5) + math.log(0.8 + 1e-5) + math.log(0.6 + 1e-5)
                 + math.log(0.9 + 1e-5)) / 4
    assert binary_logistic_regression_loss(scores, labels).item() == pytest.approx(expected,
                                                                                    rel=1e-5)
    # 1 positive of 4 -> ratio 4: positives weigh 2, negatives 2/3
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0])
    expected = -(2 * math.log(0.9 + 1e-5) + 2 / 3 * (math.log(0.8 + 1e-5) + math.log(0.4 + 1e-5)
                                                     + math.log(0.9 + 1e-5))) / 4
    loss = LOSSES.build(dict(type='BinaryLogisticRegressionLoss'))(scores, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match='elements'):
        binary_logistic_regression_loss(scores, labels[:3])


def test_pem_cls_loss_hand_computed():
    pred = torch.tensor([[0.8, 0.3], [0.4, 0.5]])
    gt = torch.tensor([[0.95, 0.2], [0.5, 0.0]])
    mask = torch.tensor([[1., 1.], [1., 0.]])
    # 1 positive, 2 negatives inside the mask: ratio 3 -> weights 1.5 (pos) and 0.75 (neg)
    expected = -(1.5 * math.log(0.8 + 1e-5) + 0.75 * (math.log(0.7 + 1e-5)
                                                      + math.log(0.6 + 1e-5))) / 3
    assert BMNLoss.pem_cls_loss(pred, gt, mask).item() == pytest.approx(expected, rel=1e-5)


def test_pem_reg_loss_balanced_case_is_deterministic():
    # as many high (>0.7) as medium and low (0, 0.3] cells: all of them are used
    gt = torch.tensor([[0.9, 0.5, 0.2, 0.0]])
    pred = torch.tensor([[0.5, 0.5, 0.6, 0.9]])
    mask = torch.ones_like(gt)
    expected = 0.5 * (0.4 ** 2 + 0.0 + 0.4 ** 2) / 3  # the zero-IoU cell is never used
    for _ in range(3):
        assert BMNLoss.pem_reg_loss(pred, gt, mask).item() == pytest.approx(expected, rel=1e-5)


def test_bmn_loss_weights_and_gradient():
    torch.manual_seed(0)
    loss_fn = BMNLoss()
    pred_bm = torch.rand(2, 2, 4, 4, requires_grad=True)
    start, end = torch.rand(2, 4, requires_grad=True), torch.rand(2, 4, requires_grad=True)
    gt_map, gt_start, gt_end = torch.rand(2, 4, 4), torch.rand(2, 4), torch.rand(2, 4)
    mask = (torch.arange(4)[:, None] + torch.arange(4)[None, :] < 4).float()
    torch.manual_seed(1)
    loss, tem, reg, cls = loss_fn(pred_bm, start, end, gt_map, gt_start, gt_end, mask)
    assert loss.item() == pytest.approx((tem + 10 * reg + cls).item(), rel=1e-6)
    assert tem.item() == pytest.approx(
        (binary_logistic_regression_loss(start, gt_start)
         + binary_logistic_regression_loss(end, gt_end)).item())
    loss.backward()
    assert pred_bm.grad is not None and start.grad is not None
    # cells outside the mask (proposals running past the end) get no classification gradient
    assert torch.all(pred_bm.grad[:, 1][:, mask == 0] == 0)


def test_ohem_hinge_loss_hand_computed():
    pred = torch.tensor([[0.5, -1.0], [2.0, 0.3], [0.0, 0.9], [0.2, 0.2]], requires_grad=True)
    labels = torch.tensor([1, 2, 2, 1])
    # positive: max(0, 1 - pred[i, label - 1]) = 0.5, 0.7, 0.1, 0.8
    assert ohem_hinge_loss(pred, labels, 1, 1.0, 2).item() == pytest.approx(2.1)
    # incomplete (is_positive=-1): max(0, 1 + score) = 1.5, 1.3, 1.9, 1.2; keep the hardest
    # one of each group of 2 -> 1.5 + 1.9
    loss = OHEMHingeLoss.apply(pred, labels, -1, 0.5, 2)
    assert loss.shape == (1, ) and loss.item() == pytest.approx(3.4)  # MMAction2: shape [1]
    loss.backward(torch.ones([1]))  # as MMAction2's own test calls it
    expected_grad = torch.zeros(4, 2)
    expected_grad[0, 0] = 1.0
    expected_grad[2, 1] = 1.0
    torch.testing.assert_close(pred.grad, expected_grad)
    with pytest.raises(ValueError, match='groups'):
        ohem_hinge_loss(pred, labels, 1, 1.0, 3)


def _train_cfg():
    return dict(ssn=dict(sampler=dict(num_per_video=4, positive_ratio=1, background_ratio=1,
                                      incomplete_ratio=2),
                         loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.5)))


def test_ssn_loss_hand_computed():
    torch.manual_seed(0)
    # two videos x (1 positive, 2 incomplete, 1 background), 3 classes
    proposal_type = torch.tensor([[0, 1, 1, 2], [0, 1, 1, 2]])
    labels = torch.tensor([[1, 2, 3, 0], [3, 1, 1, 0]])
    activity = torch.randn(8, 4)
    completeness = torch.randn(8, 3)
    bbox = torch.randn(8, 3, 2)
    targets = torch.randn(2, 4, 2)
    losses = SSNLoss()(activity, completeness, bbox, proposal_type, labels, targets, _train_cfg())
    assert set(losses) == {'loss_activity', 'loss_completeness', 'loss_reg'}

    flat_type, flat_labels = proposal_type.view(-1), labels.view(-1)
    act_rows = [i for i in range(8) if flat_type[i] in (0, 2)]
    assert losses['loss_activity'].item() == pytest.approx(
        F.cross_entropy(activity[act_rows], flat_labels[act_rows]).item())

    hinge = lambda i, sign: max(0., 1 - sign * completeness[i, flat_labels[i] - 1].item())  # noqa
    total = 0.0
    for video in range(2):
        pos, inc = 4 * video, [4 * video + 1, 4 * video + 2]
        total += hinge(pos, 1) + max(hinge(i, -1) for i in inc)  # ohem keeps 1 of 2
    # normaliser: 2 positives + int(4 incompletes * 0.5)
    assert losses['loss_completeness'].item() == pytest.approx(0.1 * total / 4, rel=1e-5)

    pos_rows = [0, 4]
    picked = torch.stack([bbox[i, flat_labels[i] - 1] for i in pos_rows])
    expected_reg = 2 * F.smooth_l1_loss(picked.reshape(-1), targets.view(-1, 2)[pos_rows]
                                        .reshape(-1))
    assert losses['loss_reg'].item() == pytest.approx(0.5 * expected_reg.item(), rel=1e-5)

    no_reg = SSNLoss()(activity, completeness, None, proposal_type, labels, targets, _train_cfg())
    assert 'loss_reg' not in no_reg
    with pytest.raises(KeyError, match='ssn.loss_weight'):
        SSNLoss()(activity, completeness, bbox, proposal_type, labels, targets,
                  dict(ssn=dict(sampler=_train_cfg()['ssn']['sampler'])))
