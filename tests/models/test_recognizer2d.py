"""Tests of BaseRecognizer / Recognizer2D: training and testing paths, clip averaging, configs."""
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from actionkit.models import RECOGNIZERS, build_model
from actionkit.models.backbones.resnet import ResNet, torchvision_resnet_key
from actionkit.models.recognizers import BaseRecognizer, Recognizer2D, parse_losses

REPO = Path(__file__).resolve().parents[2]
MODEL_CONFIGS = [REPO / 'configs/_base_/models', REPO / '.cache/mmaction2-0.24.1/mmaction/.mim'
                 '/configs/_base_/models']


def tiny(backbone='ResNet', head='TSNHead', num_classes=5, segments=2, **test_cfg):
    test_cfg.setdefault('average_clips', None)
    # two stages of ResNet-18 (128 output channels) keep the tests fast
    backbone_cfg = dict(type=backbone, depth=18, num_stages=2, out_indices=(1,),
                        strides=(1, 2), dilations=(1, 1))
    head_cfg = dict(type=head, num_classes=num_classes, in_channels=128)
    if backbone == 'ResNetTSM':
        backbone_cfg['num_segments'] = segments
        head_cfg['num_segments'] = segments
    torch.manual_seed(0)
    return build_model(dict(type='Recognizer2D', backbone=backbone_cfg, cls_head=head_cfg,
                            test_cfg=test_cfg))


def test_forward_train_losses_and_backward():
    model = tiny()
    imgs = torch.randn(3, 2, 3, 16, 16)
    losses = model(imgs, torch.tensor([[0], [4], [2]]), return_loss=True)
    assert set(losses) == {'loss_cls', 'top1_acc', 'top5_acc'}
    assert losses['top5_acc'].item() == 1.0  # 5 classes
    losses['loss_cls'].backward()
    assert model.backbone.conv1.conv.weight.grad is not None


def test_train_step_outputs():
    model = tiny()
    out = model.train_step(dict(imgs=torch.randn(2, 2, 3, 16, 16), label=torch.tensor([[1], [3]]),
                                img_metas=[{}, {}]), optimizer=None)
    assert set(out) == {'loss', 'log_vars', 'num_samples'}
    assert out['num_samples'] == 2
    assert out['log_vars']['loss'] == pytest.approx(out['log_vars']['loss_cls'])
    assert all(isinstance(v, float) for v in out['log_vars'].values())
    assert out['loss'].requires_grad
    with pytest.raises(KeyError, match='label'):
        model.val_step(dict(imgs=torch.randn(1, 2, 3, 16, 16)), None)


def test_forward_argument_errors():
    model = tiny()
    with pytest.raises(ValueError, match='needs a label'):
        model(torch.randn(1, 2, 3, 16, 16), return_loss=True)
    with pytest.raises(ValueError, match=r'\(N, num_segs, C, H, W\)'):
        model(torch.randn(2, 3, 16, 16), return_loss=False)


def test_parse_losses():
    losses = {'loss_a': torch.tensor([1.0, 3.0]), 'loss_b': [torch.tensor(0.5), torch.tensor(1.5)],
              'top1_acc': torch.tensor(0.25)}
    loss, log_vars = parse_losses(losses)
    assert loss.item() == pytest.approx(4.0)
    assert log_vars == {'loss_a': 2.0, 'loss_b': 2.0, 'top1_acc': 0.25, 'loss': 4.0}
    assert list(log_vars)[-1] == 'loss'
    with pytest.raises(TypeError, match="losses\\['bad'\\]"):
        parse_losses({'loss': torch.tensor(1.0), 'bad': 'x'})
    with pytest.raises(ValueError, match='no entry'):
        parse_losses({'acc': torch.tensor(1.0)})
    assert BaseRecognizer._parse_losses is parse_losses or \
        BaseRecognizer._parse_losses(losses)[1] == log_vars


@pytest.mark.parametrize('mode', ['score', 'prob', None])
def test_average_clip_modes(mode):
    model = tiny(average_clips=mode)
    scores = torch.randn(6, 5)
    out = model.average_clip(scores, num_segs=3)
    if mode is None:
        torch.testing.assert_close(out, scores)
    elif mode == 'score':
        torch.testing.assert_close(out, scores.view(2, 3, 5).mean(1))
    else:
        torch.testing.assert_close(out, F.softmax(scores.view(2, 3, 5), dim=2).mean(1))


def test_average_clip_config_errors():
    with pytest.raises(ValueError, match='average_clips'):
        tiny(average_clips='max')
    model = build_model(dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18),
                             cls_head=dict(type='TSNHead', num_classes=3, in_channels=512)))
    with pytest.raises(KeyError, match='average_clips'):
        model.average_clip(torch.zeros(2, 3))


def test_tsm_test_averages_views():
    model = tiny('ResNetTSM', 'TSMHead', segments=2, average_clips='prob').eval()
    imgs = torch.randn(2, 2 * 3, 3, 16, 16)  # 2 samples x 3 views x 2 segments
    scores = model(imgs, return_loss=False)
    assert isinstance(scores, np.ndarray) and scores.shape == (2, 5)
    with torch.no_grad():
        per_view = model.forward_dummy(imgs.view(6, 2, 3, 16, 16))[0]  # [6, 5]
    expected = F.softmax(per_view, 1).view(2, 3, 5).mean(1)
    np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.sum(1), 1.0, rtol=1e-5)


def _count_backbone_calls(model):
    calls = []
    model.backbone.register_forward_hook(lambda module, inputs, output: calls.append(
        inputs[0].shape[0]))
    return calls


@pytest.mark.parametrize('backbone, head', [('ResNet', 'TSNHead'), ('ResNetTSM', 'TSMHead')])
def test_max_testing_views_chunks_equal_unchunked(backbone, head):
    whole = tiny(backbone, head, average_clips='score').eval()
    chunked = tiny(backbone, head, average_clips='score', max_testing_views=2).eval()
    chunked.load_state_dict(whole.state_dict())
    calls = _count_backbone_calls(chunked)
    imgs = torch.randn(1, 6, 3, 16, 16)
    np.testing.assert_allclose(chunked(imgs, return_loss=False),
                               whole(imgs, return_loss=False), rtol=1e-5, atol=1e-6)
    # TSN: a view is a frame (2 at a time); TSM: a view is num_segments=2 frames (4 at a time)
    assert calls == ([2, 2, 2] if backbone == 'ResNet' else [4, 2])


def test_max_testing_views_validation():
    with pytest.raises(ValueError, match='max_testing_views'):
        tiny(max_testing_views=0)


def test_feature_extraction():
    model = tiny(feature_extraction=True).eval()
    imgs = torch.randn(2, 3, 3, 16, 16)
    feats = model(imgs, return_loss=False)
    assert feats.shape == (2, 128)
    with torch.no_grad():
        maps = model.backbone(imgs.view(6, 3, 16, 16))
    np.testing.assert_allclose(feats, maps.mean(dim=(2, 3)).view(2, 3, 128).mean(1).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_forward_dummy_and_gradcam():
    model = tiny().eval()
    imgs = torch.randn(2, 3, 3, 16, 16)
    (scores,) = model.forward_dummy(imgs)
    assert scores.shape == (2, 5)
    (probs,) = model.forward_dummy(imgs, softmax=True)
    torch.testing.assert_close(probs, F.softmax(scores, dim=1))
    grad_scores = model(imgs, gradcam=True)
    assert isinstance(grad_scores, torch.Tensor) and grad_scores.grad_fn is not None
    headless = build_model(dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18)))
    with pytest.raises(ValueError, match='cls_head'):
        headless.forward_dummy(imgs)


def test_mmcls_backbones_rejected():  # torchvision / timm: tests/models/test_foreign_backbones.py
    with pytest.raises(ValueError, match='mmcls backbones need mmcv'):
        RECOGNIZERS.build(dict(type='Recognizer2D', backbone=dict(type='mmcls.ResNeXt'),
                               cls_head=dict(type='TSNHead', num_classes=3, in_channels=2048)))


def test_runtime_cfgs_outside_model_dict():
    model = build_model(dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18),
                             cls_head=dict(type='TSNHead', num_classes=3, in_channels=512)),
                        test_cfg=dict(average_clips='prob'))
    assert isinstance(model, Recognizer2D) and model.test_cfg['average_clips'] == 'prob'


def _read_model_cfg(path):
    try:
        from actionkit.config import Config
    except ImportError:  # the config reader is another part of the project
        return runpy.run_path(str(path))['model']
    return Config.fromfile(str(path))['model']


@pytest.fixture(scope='module')
def fake_torch_home(tmp_path_factory):
    """A torch hub cache holding a torchvision-named resnet50 file (random weights)."""
    home = tmp_path_factory.mktemp('torch_home')
    folder = home / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    own = ResNet(50).state_dict()
    torch.save({torchvision_resnet_key(k): v for k, v in own.items()
                if not k.endswith('num_batches_tracked')}, folder / 'resnet50-0676ba61.pth')
    return home


@pytest.mark.parametrize('name, head, average', [('tsn_r50.py', 'TSNHead', None),
                                                  ('tsm_r50.py', 'TSMHead', 'prob')])
def test_mmaction2_model_configs_build_unchanged(name, head, average, fake_torch_home,
                                                 monkeypatch):
    paths = [folder / name for folder in MODEL_CONFIGS if (folder / name).is_file()]
    if not paths:
        pytest.skip(f'no {name} in {[str(f) for f in MODEL_CONFIGS]}')
    monkeypatch.setenv('TORCH_HOME', str(fake_torch_home))
    for path in paths:
        cfg = _read_model_cfg(path)
        assert cfg['backbone']['pretrained'] == 'torchvision://resnet50'
        model = build_model(cfg)
        assert type(model.cls_head).__name__ == head
        assert model.test_cfg['average_clips'] == average
        assert model.cls_head.fc_cls.weight.shape == (400, 2048)
