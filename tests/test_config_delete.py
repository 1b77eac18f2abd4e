"""``_delete_=True`` below the top level: in a dict inside a dict, around lists, through a chain
of ``_base_`` files, and in ``--cfg-options`` overrides (mmcv's rules, MMAction2 0.x configs).

Every replaced dict holds a key that a merge would have kept (``requires_grad``,
``loss_weight``, ``ann_file``), so a ``_delete_`` that is ignored at some depth shows up.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from actionkit.config import Config

BASE = '''
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=50,
                  norm_cfg=dict(type='BN', requires_grad=True), out_indices=[3]),
    cls_head=dict(type='TSNHead', num_classes=400,
                  loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0)))
data = dict(videos_per_gpu=8,
            train=dict(type='RawframeDataset', ann_file='train.txt',
                       pipeline=[dict(type='SampleFrames', clip_len=1), dict(type='Flip')]))
'''
# dicts two and three levels down replaced; a list of dicts inside a replaced dict
PARENT = '''
_base_ = ['base.py']
model = dict(backbone=dict(norm_cfg=dict(_delete_=True, type='GN', num_groups=8)),
             cls_head=dict(loss_cls=dict(_delete_=True, type='BCELossWithLogits')))
data = dict(train=dict(_delete_=True, type='VideoDataset',
                       pipeline=[dict(_delete_=True, type='DecordInit')]))
'''
# the child of a child: replaces what the parent merged, merges into what the parent replaced
CHILD = '''
_base_ = 'parent.py'
model = dict(backbone=dict(_delete_=True, type='X3D', gammas=[1, 2]),
             cls_head=dict(num_classes=7, loss_cls=dict(loss_weight=2.0)))
data = dict(train=dict(pipeline=[dict(type='SampleFrames', clip_len=8)], extra=dict(
    _delete_=True, a=1)))
'''


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, text in (('base.py', BASE), ('parent.py', PARENT), ('child.py', CHILD)):
        (tmp_path / name).write_text(text)
    return tmp_path


def test_nested_delete_replaces_dicts_at_every_depth(tree: Path) -> None:
    cfg = Config.fromfile(tree / 'parent.py').to_dict()
    assert cfg['model']['backbone'] == dict(type='ResNet', depth=50,
                                            norm_cfg=dict(type='GN', num_groups=8),
                                            out_indices=[3])
    assert cfg['model']['cls_head'] == dict(type='TSNHead', num_classes=400,
                                            loss_cls=dict(type='BCELossWithLogits'))
    assert cfg['data'] == dict(videos_per_gpu=8, train=dict(
        type='VideoDataset', pipeline=[dict(type='DecordInit')]))


def test_nested_delete_through_a_base_chain(tree: Path) -> None:
    cfg = Config.fromfile(tree / 'child.py').to_dict()
    assert cfg['model']['backbone'] == dict(type='X3D', gammas=[1, 2])
    # the parent's replacement is what the child merges into: no loss_weight=1.0 comes back
    assert cfg['model']['cls_head'] == dict(type='TSNHead', num_classes=7, loss_cls=dict(
        type='BCELossWithLogits', loss_weight=2.0))
    # lists are replaced whole; a _delete_ with nothing to replace is dropped
    assert cfg['data']['train'] == dict(type='VideoDataset', pipeline=[
        dict(type='SampleFrames', clip_len=8)], extra=dict(a=1))
    assert '_delete_' not in str(cfg)


def test_nested_delete_in_overrides(tree: Path) -> None:
    cfg = Config.fromfile(tree / 'base.py')
    cfg.merge_from_dict({'model': dict(backbone=dict(norm_cfg=dict(_delete_=True, type='SyncBN'),
                                                     depth=101)),
                         'data.train': dict(pipeline=[dict(type='A')]),
                         'model.cls_head.loss_cls': dict(_delete_=True, type='Other')})
    assert cfg.model.backbone.to_dict() == dict(type='ResNet', depth=101,
                                                norm_cfg=dict(type='SyncBN'), out_indices=[3])
    assert cfg.model.cls_head.loss_cls.to_dict() == dict(type='Other')
    assert cfg.data.train.to_dict() == dict(type='RawframeDataset', ann_file='train.txt',
                                            pipeline=[dict(type='A')])
    assert '_delete_' not in str(cfg.to_dict())
    # without _delete_, the same nesting merges
    cfg.merge_from_dict({'model': dict(backbone=dict(norm_cfg=dict(requires_grad=False)))})
    assert cfg.model.backbone.norm_cfg.to_dict() == dict(type='SyncBN', requires_grad=False)
