"""Tests of the 2D classification heads (BaseHead, TSNHead, TSMHead)."""
import pytest
import torch
import torch.nn.functional as F

from actionkit.models import HEADS
from actionkit.models.heads import AvgConsensus, BaseHead, TSMHead, TSNHead


def test_avg_consensus():
    x = torch.arange(12.0).view(2, 3, 2)
    torch.testing.assert_close(AvgConsensus(dim=1)(x), x.mean(1, keepdim=True))


def test_tsn_head_forward_matches_manual():
    head = TSNHead(num_classes=5, in_channels=8, dropout_ratio=0.0)
    head.init_weights()
    x = torch.randn(2 * 3, 8, 4, 4)  # 2 samples of 3 segments
    out = head(x, num_segs=3)
    assert out.shape == (2, 5)
    pooled = x.mean(dim=(2, 3)).view(2, 3, 8).mean(1)
    torch.testing.assert_close(out, pooled @ head.fc_cls.weight.T + head.fc_cls.bias)


def test_tsn_head_init_std():
    head = TSNHead(num_classes=400, in_channels=512, init_std=0.01)
    head.init_weights()
    assert head.fc_cls.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.count_nonzero(head.fc_cls.bias) == 0


def test_tsm_head_averages_frame_scores():
    head = TSMHead(num_classes=4, in_channels=6, num_segments=4, dropout_ratio=0.0)
    x = torch.randn(2 * 4, 6, 3, 3)
    out = head(x, num_segs=4)
    per_frame = head.fc_cls(x.mean(dim=(2, 3))).view(2, 4, 4)
    torch.testing.assert_close(out, per_frame.mean(1))
    # with the backbone's temporal pool, groups of num_segments // 2
    pooled = TSMHead(num_classes=4, in_channels=6, num_segments=4, temporal_pool=True,
                     dropout_ratio=0.0)
    assert pooled(x, 4).shape == (4, 4)
    with pytest.raises(ValueError, match='multiple of 4'):
        head(torch.randn(6, 6, 3, 3), 6)


def test_loss_topk_and_keys():
    head = TSNHead(num_classes=6, in_channels=4, topk=(1, 2, 5))
    scores = torch.tensor([[0.0, 5.0, 4.0, 3.0, 2.0, 1.0],
                           [6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
                           [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    labels = torch.tensor([1, 1, 0])
    losses = head.loss(scores, labels)
    assert set(losses) == {'loss_cls', 'top1_acc', 'top2_acc', 'top5_acc'}
    # sample 0 right at top1; sample 1 in top2; sample 2's label ranks last (6th)
    assert losses['top1_acc'].item() == pytest.approx(1 / 3)
    assert losses['top2_acc'].item() == pytest.approx(2 / 3)
    assert losses['top5_acc'].item() == pytest.approx(2 / 3)
    torch.testing.assert_close(losses['loss_cls'], F.cross_entropy(scores, labels))


def test_loss_single_sample_and_soft_labels():
    head = TSNHead(num_classes=3, in_channels=4)
    scores = torch.tensor([[0.1, 2.0, 0.3]])
    single = head.loss(scores, torch.tensor(1))  # a 0-d label, as labels.squeeze() gives
    assert single['top1_acc'].item() == 1.0
    soft = head.loss(scores, torch.tensor([0.0, 1.0, 0.0]))  # squeezed soft label
    assert 'top1_acc' not in soft
    torch.testing.assert_close(soft['loss_cls'], single['loss_cls'])


def test_multi_class_label_smoothing():
    head = TSNHead(num_classes=4, in_channels=2, multi_class=True, label_smooth_eps=0.2,
                   loss_cls=dict(type='BCELossWithLogits'))
    scores = torch.randn(3, 4)
    targets = torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 1]])
    losses = head.loss(scores, targets)
    assert set(losses) == {'loss_cls'}
    smoothed = 0.8 * targets + 0.2 / 4
    torch.testing.assert_close(losses['loss_cls'],
                               F.binary_cross_entropy_with_logits(scores, smoothed))


def test_head_validation():
    with pytest.raises(ValueError, match='num_classes'):
        TSNHead(num_classes=0, in_channels=4)
    with pytest.raises(ValueError, match='topk'):
        TSNHead(num_classes=3, in_channels=4, topk=(0,))
    with pytest.raises(ValueError, match='consensus'):
        TSNHead(num_classes=3, in_channels=4, consensus=dict(type='MaxConsensus'))
    with pytest.raises(ValueError, match='spatial_type'):
        TSMHead(num_classes=3, in_channels=4, spatial_type='max')
    with pytest.raises(TypeError, match='tuple'):
        TSNHead(num_classes=3, in_channels=4)((torch.zeros(1, 4, 1, 1),), 1)
    with pytest.raises(TypeError):
        BaseHead(3, 4)  # abstract


def test_build_from_registry():
    head = HEADS.build(dict(type='TSMHead', num_classes=7, in_channels=16, num_segments=4,
                            dropout_ratio=0.5, init_std=0.001, is_shift=True))
    assert isinstance(head, TSMHead) and head.num_segments == 4
    assert set(head.state_dict()) == {'fc_cls.weight', 'fc_cls.bias'}
