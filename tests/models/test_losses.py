"""Tests of the classification losses (actionkit.models.losses)."""
import pytest
import torch
import torch.nn.functional as F

from actionkit.models import LOSSES
from actionkit.models.losses import (BaseWeightedLoss, BCELossWithLogits, CrossEntropyLoss,
                                     NLLLoss)


@pytest.fixture
def scores():
    return torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0], [-2.0, 4.0, 0.0]])


def test_cross_entropy_hard_labels_and_weight(scores):
    labels = torch.tensor([0, 2, 1, 1])
    plain = CrossEntropyLoss()(scores, labels)
    # hand-written softmax cross-entropy
    expected = -(scores.log_softmax(1)[torch.arange(4), labels]).mean()
    torch.testing.assert_close(plain, expected)
    torch.testing.assert_close(CrossEntropyLoss(loss_weight=2.5)(scores, labels), 2.5 * expected)


def test_cross_entropy_class_weight_hard(scores):
    labels = torch.tensor([0, 2, 1, 1])
    weight = [0.2, 1.0, 3.0]
    loss = CrossEntropyLoss(class_weight=weight)(scores, labels)
    nll = -scores.log_softmax(1)[torch.arange(4), labels]
    w = torch.tensor(weight)[labels]
    torch.testing.assert_close(loss, (w * nll).sum() / w.sum())


def test_cross_entropy_soft_labels(scores):
    labels = torch.tensor([0, 2, 1, 1])
    one_hot = F.one_hot(labels, 3).float()
    loss = CrossEntropyLoss()
    torch.testing.assert_close(loss(scores, one_hot), loss(scores, labels))
    # with class weights the soft-label mean is weighted like the hard-label one
    weighted = CrossEntropyLoss(class_weight=[0.2, 1.0, 3.0])
    torch.testing.assert_close(weighted(scores, one_hot), weighted(scores, labels))
    soft = torch.tensor([[0.5, 0.5, 0.0]] * 4)
    expected = -(soft * scores.log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(loss(scores, soft), expected)


def test_cross_entropy_soft_label_errors(scores):
    with pytest.raises(ValueError, match='soft labels take no extra arguments'):
        CrossEntropyLoss()(scores, torch.zeros_like(scores), reduction='sum')
    with pytest.raises(ValueError, match='2-D scores'):
        CrossEntropyLoss()(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match='class_weight'):
        CrossEntropyLoss(class_weight=[1.0, 1.0, 1.0])(scores, torch.tensor([0, 1, 2, 0]),
                                                        weight=torch.ones(3))


def test_class_weight_is_not_in_state_dict():
    # MMAction2 0.x checkpoints have no key for it; strict loading must still work
    assert CrossEntropyLoss(class_weight=[1.0, 2.0]).state_dict() == {}


def test_bce_with_logits(scores):
    targets = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]]).float()
    loss = BCELossWithLogits(loss_weight=0.5, class_weight=[1.0, 2.0, 0.5])(scores, targets)
    p = scores.sigmoid()
    per = -(targets * p.log() + (1 - targets) * (1 - p).log()) * torch.tensor([1.0, 2.0, 0.5])
    torch.testing.assert_close(loss, 0.5 * per.mean())


def test_nll_loss(scores):
    labels = torch.tensor([1, 0, 2, 2])
    log_prob = scores.log_softmax(1)
    torch.testing.assert_close(NLLLoss(loss_weight=3.0)(log_prob, labels),
                               3.0 * -log_prob[torch.arange(4), labels].mean())


def test_weighted_dict_scales_only_losses():
    class Pair(BaseWeightedLoss):
        def _forward(self, x):
            return {'loss_a': x.sum(), 'acc': x.mean()}

    out = Pair(loss_weight=4.0)(torch.ones(2))
    assert out['loss_a'].item() == 8.0
    assert out['acc'].item() == 1.0


def test_registry_build_and_validation():
    loss = LOSSES.build(dict(type='CrossEntropyLoss', loss_weight=0.3))
    assert isinstance(loss, CrossEntropyLoss) and loss.loss_weight == pytest.approx(0.3)
    with pytest.raises(TypeError, match='loss_weight'):
        CrossEntropyLoss(loss_weight='1')
    with pytest.raises(ValueError, match='class_weight must be 1-D'):
        CrossEntropyLoss(class_weight=[[1.0]])
