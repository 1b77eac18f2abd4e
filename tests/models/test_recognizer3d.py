"""Tests of Recognizer3D and the 3D heads (I3DHead, SlowFastHead, X3DHead, TimeSformerHead)."""
import numpy as np
import pytest
import torch

from actionkit.models import (I3DHead, SlowFastHead, TimeSformerHead, X3DHead, build_model)


def slowonly(num_classes=5, **test_cfg):
    torch.manual_seed(0)
    return build_model(dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None, base_channels=8),
        cls_head=dict(type='I3DHead', num_classes=num_classes, in_channels=64),
        test_cfg={'average_clips': 'prob', **test_cfg}))


def slowfast(**test_cfg):
    torch.manual_seed(0)
    return build_model(dict(
        type='Recognizer3D',
        backbone=dict(
            type='ResNet3dSlowFast', pretrained=None, resample_rate=4, speed_ratio=4,
            slow_pathway=dict(type='resnet3d', depth=18, pretrained=None, lateral=True,
                              base_channels=16, conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1)),
            fast_pathway=dict(type='resnet3d', depth=18, pretrained=None, lateral=False,
                              base_channels=2, conv1_kernel=(5, 7, 7))),
        cls_head=dict(type='SlowFastHead', num_classes=4, in_channels=128 + 16),
        test_cfg={'average_clips': 'score', **test_cfg}))


# ------------------------------------------------------------------ Recognizer3D
def test_train_returns_losses_and_accuracies():
    model = slowonly()
    losses = model(torch.rand(3, 1, 3, 4, 32, 32), torch.tensor([[1], [2], [4]]))
    assert set(losses) == {'loss_cls', 'top1_acc', 'top5_acc'}
    assert losses['loss_cls'].requires_grad
    losses['loss_cls'].backward()
    assert model.backbone.conv1.conv.weight.grad.abs().sum() > 0
    assert losses['top5_acc'] == 1.0  # 5 classes: every label is in the top 5


def test_train_step_parses_losses():
    outputs = slowonly().train_step(dict(imgs=torch.rand(2, 1, 3, 4, 32, 32),
                                         label=torch.tensor([[0], [3]])), None)
    assert set(outputs) == {'loss', 'log_vars', 'num_samples'}
    assert outputs['num_samples'] == 2
    assert outputs['log_vars']['loss'] == pytest.approx(outputs['loss'].item())


def test_test_averages_views_into_probabilities():
    model = slowonly().eval()
    scores = model(torch.rand(2, 6, 3, 4, 32, 32), return_loss=False)
    assert isinstance(scores, np.ndarray) and scores.shape == (2, 5)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


def test_test_scores_are_the_mean_over_views():
    model = slowonly(average_clips=None).eval()
    imgs = torch.rand(2, 3, 3, 4, 32, 32)
    per_view = model(imgs, return_loss=False)  # average_clips=None: one row per view
    model.test_cfg['average_clips'] = 'score'
    averaged = model(imgs, return_loss=False)
    assert per_view.shape == (6, 5)
    np.testing.assert_allclose(averaged, per_view.reshape(2, 3, 5).mean(axis=1), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize('factory,clip', [(slowonly, (2, 5, 3, 4, 32, 32)),
                                          (slowfast, (2, 3, 3, 8, 32, 32))])
def test_max_testing_views_gives_the_same_scores(factory, clip):
    imgs = torch.rand(clip)
    whole = factory().eval()(imgs, return_loss=False)
    chunked = factory(max_testing_views=2).eval()(imgs, return_loss=False)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)


def test_feature_extraction_pools_and_averages_views():
    model = slowfast(feature_extraction=True).eval()
    feats = model(torch.rand(2, 3, 3, 8, 32, 32), return_loss=False)
    assert feats.shape == (2, 128 + 16)  # slow then fast pooled features


def test_forward_dummy_keeps_views():
    model = slowonly().eval()
    (scores,) = model.forward_dummy(torch.rand(2, 3, 3, 4, 32, 32), softmax=True)
    assert scores.shape == (6, 5)
    torch.testing.assert_close(scores.sum(dim=1), torch.ones(6))


def test_gradcam_returns_a_tensor():
    scores = slowonly().eval()(torch.rand(1, 2, 3, 4, 32, 32), gradcam=True)
    assert isinstance(scores, torch.Tensor) and scores.shape == (1, 5)


@pytest.mark.parametrize('clip', [(2, 3, 4, 32, 32), (1, 1, 1, 3, 4, 32, 32)])
def test_wrong_rank_is_named(clip):
    with pytest.raises(ValueError, match=r'\(N, num_clips \* num_crops, C, T, H, W\)'):
        slowonly()(torch.rand(clip), return_loss=False)


def test_several_training_views_per_label_is_refused():
    with pytest.raises(ValueError, match='one view per sample'):
        slowonly()(torch.rand(2, 3, 3, 4, 32, 32), torch.tensor([[0], [1]]))


# ------------------------------------------------------------------ heads
def test_i3d_head_pools_and_classifies():
    head = I3DHead(num_classes=3, in_channels=4, dropout_ratio=0.0)
    head.init_weights()
    with torch.no_grad():
        head.fc_cls.weight.copy_(torch.eye(3, 4))
        head.fc_cls.bias.zero_()
    x = torch.rand(2, 4, 2, 3, 3)
    torch.testing.assert_close(head(x), x.mean(dim=(2, 3, 4))[:, :3])
    assert set(head.state_dict()) == {'fc_cls.weight', 'fc_cls.bias'}


def test_i3d_head_without_pooling_takes_vectors():
    head = I3DHead(num_classes=3, in_channels=8, spatial_type=None)
    assert head(torch.rand(2, 8)).shape == (2, 3)
    with pytest.raises(ValueError, match='spatial_type must be one of'):
        I3DHead(num_classes=3, in_channels=8, spatial_type='max')
    with pytest.raises(TypeError, match='SlowFastHead'):
        I3DHead(num_classes=3, in_channels=8)((torch.rand(1, 8, 1, 1, 1),) * 2)


def test_slowfast_head_puts_fast_features_first():
    """MMAction2 0.x's fc_cls columns: the fast pathway's channels, then the slow one's."""
    head = SlowFastHead(num_classes=1, in_channels=3 + 2, dropout_ratio=0.0)
    with torch.no_grad():
        head.fc_cls.weight.copy_(torch.tensor([[1.0, 10.0, 0.0, 0.0, 0.0]]))
        head.fc_cls.bias.zero_()
    slow = torch.zeros(1, 3, 1, 2, 2)
    fast = torch.ones(1, 2, 4, 2, 2)
    assert head((slow, fast)).item() == pytest.approx(11.0)
    with pytest.raises(ValueError, match='in_channels is 5'):
        head((torch.zeros(1, 4, 1, 2, 2), fast))


def test_x3d_head_layers():
    head = X3DHead(num_classes=7, in_channels=12)
    keys = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert keys == {'fc1.weight': (2048, 12), 'fc2.weight': (7, 2048), 'fc2.bias': (7,)}
    assert 'fc1.bias' in X3DHead(num_classes=7, in_channels=12, fc1_bias=True).state_dict()
    max_head = X3DHead(num_classes=7, in_channels=12, spatial_type='max').eval()
    assert max_head(torch.rand(2, 12, 2, 3, 3)).shape == (2, 7)
    with pytest.raises(ValueError, match="'avg', 'max'"):
        X3DHead(num_classes=7, in_channels=12, spatial_type=None)


def test_timesformer_head():
    torch.manual_seed(0)  # the bound below holds for most draws, not all: 24 weights
    head = TimeSformerHead(num_classes=4, in_channels=6, init_std=0.02)
    head.init_weights()
    assert head.fc_cls.weight.abs().max() <= 0.04  # std 0.02
    assert head(torch.rand(3, 6)).shape == (3, 4)
    with pytest.raises(ValueError, match=r'\(N, C\)'):
        head(torch.rand(3, 6, 1))


def test_head_loss_keys_and_label_smoothing_for_multi_label():
    head = I3DHead(num_classes=4, in_channels=4, multi_class=True, label_smooth_eps=0.1,
                   loss_cls=dict(type='BCELossWithLogits'))
    losses = head.loss(torch.zeros(2, 4), torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 1.0, 0]]))
    assert set(losses) == {'loss_cls'}  # no top-k accuracy for multi-label
    # zero logits: BCE = log 2 whatever the (smoothed) targets
    assert losses['loss_cls'].item() == pytest.approx(np.log(2), rel=1e-5)
