"""torchvision.* and timm.* backbones in recognizers (MMAction2 0.x's custom_backbones configs).

Neither package is installed here: the tests put small stand-ins with the same interface in
``sys.modules`` (torchvision: ``models.<name>(weights=None, ...)``, ``get_model_weights``,
``list_models``; timm: ``create_model``, ``list_models``, ``forward_features`` /
``forward_head``).
"""
import sys
import types

import pytest
import torch
from torch import nn

from actionkit.models import build_model


class _TinyNet(nn.Module):
    """Like torchvision's DenseNet/VGG: ``features`` then a ``classifier``."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.classifier = nn.Linear(6, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


class _Weights:
    url = 'https://download.pytorch.org/models/tinynet-0123abcd.pth'


@pytest.fixture
def torchvision(monkeypatch, tmp_path):
    models = types.ModuleType('torchvision.models')
    models.tinynet = lambda weights=None, **kwargs: _TinyNet(**kwargs)
    models.get_model_weights = lambda name: types.SimpleNamespace(DEFAULT=_Weights())
    models.list_models = lambda: ['tinynet', 'tinynet2']
    package = types.ModuleType('torchvision')
    package.models = models
    monkeypatch.setitem(sys.modules, 'torchvision', package)
    monkeypatch.setitem(sys.modules, 'torchvision.models', models)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    return tmp_path / 'hub' / 'checkpoints'


def _tsn(backbone, in_channels=6, **kwargs):
    return build_model(dict(type='Recognizer2D', backbone=backbone,
                            cls_head=dict(type='TSNHead', num_classes=4, in_channels=in_channels),
                            test_cfg=dict(average_clips='prob'), **kwargs))


def test_torchvision_backbone_runs_as_in_mmaction(torchvision):
    torch.manual_seed(0)
    model = _tsn(dict(type='torchvision.tinynet'))
    assert model.backbone_from == 'torchvision'
    assert isinstance(model.backbone.classifier, nn.Identity)
    assert 'backbone.features.0.weight' in model.state_dict()  # torchvision's own names
    imgs = torch.rand(2, 3, 3, 8, 8)  # 2 samples x 3 segments
    with torch.no_grad():
        feats = model.extract_feat(imgs.reshape(-1, 3, 8, 8))
        expected = model.backbone.features(imgs.reshape(-1, 3, 8, 8)).mean(dim=(2, 3))
    assert feats.shape == (6, 6, 1, 1)  # pooled features, as MMAction2 gives its heads
    torch.testing.assert_close(feats.flatten(1), expected)
    losses = model(imgs, torch.tensor([[1], [3]]))
    assert torch.isfinite(losses['loss_cls'])
    assert model(imgs, return_loss=False).shape == (2, 4)


def test_torchvision_pretrained_weights_come_from_the_hub_cache(torchvision):
    with pytest.raises(FileNotFoundError,
                       match='tinynet-0123abcd.pth is not there and ACTIONKIT_OFFLINE is set'):
        _tsn(dict(type='torchvision.tinynet', pretrained=True))
    torch.manual_seed(1)
    source = _TinyNet()
    torch.save(source.state_dict(), torchvision / 'tinynet-0123abcd.pth')
    model = _tsn(dict(type='torchvision.tinynet', pretrained=True))
    torch.testing.assert_close(model.backbone.features[0].weight, source.features[0].weight)


def test_torchvision_unknown_model_and_missing_package(torchvision, monkeypatch):
    with pytest.raises(ValueError, match="no model 'tinynett'; did you mean 'tinynet'"):
        _tsn(dict(type='torchvision.tinynett'))
    monkeypatch.setitem(sys.modules, 'torchvision', None)
    monkeypatch.setitem(sys.modules, 'torchvision.models', None)
    with pytest.raises(ImportError, match='needs the torchvision package.*pip install'):
        _tsn(dict(type='torchvision.tinynet'))


class _TimmNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.stem = nn.Conv2d(3, 5, 3, padding=1)
        self.head = nn.Linear(5, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x):
        return self.stem(x).permute(0, 2, 3, 1)  # NHWC, as recent timm models give

    def forward_head(self, x, pre_logits=False):
        x = x.mean(dim=(1, 2))
        return x if pre_logits else self.head(x)


@pytest.fixture
def timm(monkeypatch):
    calls = []

    def create_model(name, pretrained=False, num_classes=1000, **kwargs):
        calls.append(dict(name=name, pretrained=pretrained, num_classes=num_classes, **kwargs))
        if name != 'tiny_vit':
            raise RuntimeError(f'Unknown model ({name})')
        return _TimmNet(num_classes)

    module = types.ModuleType('timm')
    module.create_model = create_model
    module.list_models = lambda: ['tiny_vit', 'small_vit']
    monkeypatch.setitem(sys.modules, 'timm', module)
    return calls


def test_timm_backbone_without_classifier_and_its_pooled_features(timm):
    model = _tsn(dict(type='timm.tiny_vit'), in_channels=5)
    assert model.backbone_from == 'timm' and timm[-1]['num_classes'] == 0
    imgs = torch.rand(4, 3, 8, 8)
    with torch.no_grad():
        expected = model.backbone.stem(imgs).mean(dim=(2, 3))
        torch.testing.assert_close(model.extract_feat(imgs).flatten(1), expected)
    assert model(torch.rand(1, 4, 3, 8, 8), return_loss=False).shape == (1, 4)


def test_timm_errors_say_what_to_do(timm):
    with pytest.raises(ValueError,
                       match="outside actionkit.s checked downloads.*pretrained_cfg_overlay=dict"):
        _tsn(dict(type='timm.tiny_vit', pretrained=True), in_channels=5)
    _tsn(dict(type='timm.tiny_vit', pretrained=True,
              pretrained_cfg_overlay=dict(file='/weights.pth')), in_channels=5)
    assert timm[-1]['pretrained'] is True
    with pytest.raises(ValueError, match="timm has no model 'tiny_vitt'; did you mean"):
        _tsn(dict(type='timm.tiny_vitt'), in_channels=5)


def test_mmcls_and_3d_recognizers_are_refused(torchvision):
    with pytest.raises(ValueError, match='mmcls backbones need mmcv'):
        _tsn(dict(type='mmcls.ResNeXt', depth=101))
    with pytest.raises(ValueError, match='Recognizer2D only'):
        build_model(dict(type='Recognizer3D', backbone=dict(type='torchvision.tinynet'),
                         cls_head=dict(type='I3DHead', num_classes=4, in_channels=6)))
