"""Tests for actionkit.models.builder: ``turn_off_pretrained`` and ``build_model``'s dispatch."""
from __future__ import annotations

import copy

import pytest
from torch import nn

from actionkit.config import Config
from actionkit.models import builder
from actionkit.models.builder import build_model, turn_off_pretrained

TINY_TSN = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, pretrained='/nonexistent/resnet18.pth'),
    cls_head=dict(type='TSNHead', num_classes=3, in_channels=512))


def test_turn_off_pretrained_is_public():
    assert 'turn_off_pretrained' in builder.__all__
    import actionkit.models
    assert actionkit.models.turn_off_pretrained is turn_off_pretrained


def test_turn_off_pretrained_clears_every_depth():
    cfg = dict(
        type='Recognizer3D',
        pretrained='top.pth',
        backbone=dict(
            type='ResNet3dSlowFast', pretrained='slowfast.pth',
            slow_pathway=dict(type='resnet3d', pretrained='slow.pth', pretrained2d=True,
                              lateral=True),
            fast_pathway=dict(type='resnet3d', pretrained=None, pretrained2d=False)),
        heads=[dict(type='A', pretrained='a.pth'), [dict(pretrained='nested_list.pth')]],
        stages=(dict(pretrained='in_tuple.pth'), 3, 'pretrained'),
        cls_head=dict(type='I3DHead', num_classes=5, torchvision_pretrain=True))
    expected = copy.deepcopy(cfg)
    expected['pretrained'] = None
    expected['backbone']['pretrained'] = None
    expected['backbone']['slow_pathway']['pretrained'] = None
    expected['heads'][0]['pretrained'] = None
    expected['heads'][1][0]['pretrained'] = None
    expected['stages'][0]['pretrained'] = None

    assert turn_off_pretrained(cfg) is None
    assert cfg == expected
    # only ``pretrained`` itself: the similar keys keep their values
    assert cfg['backbone']['slow_pathway']['pretrained2d'] is True
    assert cfg['cls_head']['torchvision_pretrain'] is True


def test_turn_off_pretrained_leaves_configs_without_it_unchanged():
    cfg = dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=50),
               data=[1, 2, (3, dict(x=4))])
    before = copy.deepcopy(cfg)
    turn_off_pretrained(cfg)
    assert cfg == before
    assert 'pretrained' not in cfg['backbone']


def test_turn_off_pretrained_on_a_loaded_config(tmp_path):
    path = tmp_path / 'model.py'
    path.write_text("model = dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18, "
                    "pretrained='torchvision://resnet18', norm_cfg=dict(type='BN')))\n")
    cfg = Config.fromfile(str(path))
    turn_off_pretrained(cfg.model)
    assert cfg.model.backbone.pretrained is None
    assert cfg.model.backbone.norm_cfg == dict(type='BN')


def test_turn_off_pretrained_accepts_a_top_level_list():
    cfgs = [dict(pretrained='a.pth'), dict(backbone=dict(pretrained='b.pth'))]
    turn_off_pretrained(cfgs)
    assert cfgs == [dict(pretrained=None), dict(backbone=dict(pretrained=None))]


@pytest.mark.parametrize('bad', [Config(dict(model=dict(pretrained='x.pth'))), 'x.pth', None])
def test_turn_off_pretrained_rejects_what_it_cannot_walk(bad):
    with pytest.raises(TypeError, match='model_cfg must be a dict.*cfg.model'):
        turn_off_pretrained(bad)


def test_a_model_builds_without_its_missing_pretrained_weights():
    with pytest.raises(FileNotFoundError, match='resnet18.pth'):
        build_model(copy.deepcopy(TINY_TSN))
    cfg = copy.deepcopy(TINY_TSN)
    turn_off_pretrained(cfg)
    model = build_model(cfg)
    assert type(model).__name__ == 'Recognizer2D'


def test_build_model_names_an_unknown_type():
    with pytest.raises(KeyError, match="'NoSuchRecognizer'.*neither"):
        build_model(dict(type='NoSuchRecognizer'))


def test_build_model_builds_detectors():
    # FastRCNN (AVA detection) was refused as out of scope until issue 19
    model = build_model(dict(type='FastRCNN', backbone=nn.Conv3d(3, 8, 1), roi_head=dict(
        type='AVARoIHead', bbox_roi_extractor=dict(type='SingleRoIExtractor3D'),
        bbox_head=dict(type='BBoxHeadAVA', in_channels=8, num_classes=4, topk=(1,)))))
    assert type(model).__name__ == 'FastRCNN'
    with pytest.raises(KeyError, match="'NoSuch'.*registered: .*'FastRCNN'"):
        build_model(dict(type='NoSuch'))
