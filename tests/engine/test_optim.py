"""Optimizers from config: the registry, paramwise rules and TSM's parameter groups."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from actionkit.engine.optim import (OPTIMIZER_BUILDERS, OPTIMIZERS, DefaultOptimizerConstructor,
                                    build_optimizer, scale_lr)


class _Net(nn.Module):
    """conv (+bias) -> BN -> depth-wise conv -> GN -> head.fc_cls."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=True)
        self.bn = nn.BatchNorm2d(4)
        self.dwconv = nn.Conv2d(4, 4, 3, groups=4, bias=False)
        self.gn = nn.GroupNorm(2, 4)
        self.head = nn.Module()
        self.head.fc_cls = nn.Linear(4, 5)


def _group_of(optimizer: torch.optim.Optimizer, param: torch.Tensor) -> dict:
    matches = [g for g in optimizer.param_groups if any(p is param for p in g['params'])]
    assert len(matches) == 1
    return matches[0]


def test_every_torch_optimizer_is_registered() -> None:
    for name in ('SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad'):
        assert OPTIMIZERS.get(name) is getattr(torch.optim, name)
    assert 'Optimizer' not in OPTIMIZERS


def test_plain_optimizer_has_one_group() -> None:
    net = _Net()
    opt = build_optimizer(net, dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
    assert isinstance(opt, torch.optim.SGD)
    assert len(opt.param_groups) == 1
    assert opt.param_groups[0]['momentum'] == 0.9
    assert sum(len(g['params']) for g in opt.param_groups) == len(list(net.parameters()))


def test_unknown_optimizer_suggests_a_close_name() -> None:
    with pytest.raises(KeyError, match='Adam'):
        build_optimizer(_Net(), dict(type='Adamm', lr=0.1))


def test_paramwise_rules() -> None:
    net = _Net()
    cfg = dict(type='SGD', lr=0.1, weight_decay=0.01,
               paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.5, norm_decay_mult=0.0,
                                  dwconv_decay_mult=0.3))
    opt = build_optimizer(net, cfg)
    conv_w, conv_b = _group_of(opt, net.conv1.weight), _group_of(opt, net.conv1.bias)
    assert 'lr' not in conv_w or conv_w['lr'] == 0.1
    assert conv_w['weight_decay'] == 0.01
    assert conv_b['lr'] == pytest.approx(0.2) and conv_b['weight_decay'] == pytest.approx(0.005)
    # norm layers: no bias lr multiplier, their own decay
    for norm in (net.bn, net.gn):
        assert _group_of(opt, norm.bias)['lr'] == 0.1
        assert _group_of(opt, norm.weight)['weight_decay'] == 0.0
    assert _group_of(opt, net.dwconv.weight)['weight_decay'] == pytest.approx(0.003)
    fc_b = _group_of(opt, net.head.fc_cls.bias)
    assert fc_b['lr'] == pytest.approx(0.2) and fc_b['weight_decay'] == pytest.approx(0.005)


def test_custom_keys_take_precedence_and_longest_key_wins() -> None:
    net = _Net()
    cfg = dict(type='SGD', lr=1.0, weight_decay=1.0,
               paramwise_cfg=dict(bias_lr_mult=3.0, custom_keys={
                   'head': dict(lr_mult=0.1), 'head.fc_cls.bias': dict(lr_mult=7.0,
                                                                       decay_mult=0.0)}))
    opt = build_optimizer(net, cfg)
    assert _group_of(opt, net.head.fc_cls.weight)['lr'] == pytest.approx(0.1)
    assert _group_of(opt, net.head.fc_cls.weight)['weight_decay'] == pytest.approx(1.0)
    bias = _group_of(opt, net.head.fc_cls.bias)
    assert bias['lr'] == pytest.approx(7.0) and bias['weight_decay'] == 0.0
    assert _group_of(opt, net.conv1.bias)['lr'] == pytest.approx(3.0)


def test_decay_mults_need_weight_decay() -> None:
    with pytest.raises(ValueError, match='weight_decay'):
        build_optimizer(_Net(), dict(type='SGD', lr=0.1, paramwise_cfg=dict(norm_decay_mult=0)))


def test_frozen_parameters_keep_their_own_group() -> None:
    net = _Net()
    net.conv1.weight.requires_grad_(False)
    opt = build_optimizer(net, dict(type='SGD', lr=0.1, weight_decay=0.1,
                                    paramwise_cfg=dict(bias_lr_mult=2.0)))
    assert set(_group_of(opt, net.conv1.weight)) >= {'params'}
    assert _group_of(opt, net.conv1.weight)['lr'] == 0.1  # the optimizer default


class _TSMLike(nn.Module):
    def __init__(self, head_bias: bool = True) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.Conv2d(4, 4, 3, bias=True), nn.GroupNorm(2, 4))
        self.neck = nn.Linear(4, 4)
        self.cls_head = nn.Module()
        self.cls_head.fc_cls = nn.Linear(4, 3, bias=head_bias)


@pytest.mark.parametrize('fc_lr5', [True, False])
def test_tsm_constructor_groups(fc_lr5: bool) -> None:
    net = _TSMLike()
    cfg = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
               constructor='TSMOptimizerConstructor', paramwise_cfg=dict(fc_lr5=fc_lr5))
    opt = build_optimizer(net, cfg)
    groups = opt.param_groups
    assert len(groups) == 7
    lrs = [g['lr'] for g in groups]
    wds = [g['weight_decay'] for g in groups]
    assert lrs == pytest.approx([0.01, 0.02, 0.01, 0.02, 0.01, 0.05, 0.1])
    assert wds == pytest.approx([1e-4, 0, 1e-4, 0, 0, 1e-4, 0])
    ids = [{id(p) for p in g['params']} for g in groups]
    conv0, conv1 = net.backbone[0], net.backbone[3]
    assert ids[0] == {id(conv0.weight)} and ids[1] == {id(conv0.bias)}
    fc = net.cls_head.fc_cls
    normal_w = {id(conv1.weight), id(net.neck.weight)}
    normal_b = {id(conv1.bias), id(net.neck.bias)}
    if fc_lr5:
        assert ids[5] == {id(fc.weight)} and ids[6] == {id(fc.bias)}
    else:
        normal_w.add(id(fc.weight))
        normal_b.add(id(fc.bias))
        assert ids[5] == set() and ids[6] == set()
    assert ids[2] == normal_w and ids[3] == normal_b
    norm_params = {id(p) for m in (net.backbone[1], net.backbone[4]) for p in m.parameters()}
    assert ids[4] == norm_params
    # every trainable parameter is in exactly one group
    assert sorted(id(p) for g in groups for p in g['params']) == sorted(
        id(p) for p in net.parameters())


def test_tsm_constructor_rejects_unknown_layers() -> None:
    net = _TSMLike()
    net.extra = nn.LayerNorm(4)
    with pytest.raises(ValueError, match='extra.*LayerNorm'):
        build_optimizer(net, dict(type='SGD', lr=0.01, weight_decay=1e-4,
                                  constructor='TSMOptimizerConstructor',
                                  paramwise_cfg=dict(fc_lr5=True)))


def test_user_constructor_registered_by_name() -> None:
    @OPTIMIZER_BUILDERS.register_module(force=True)
    class HalfLrConstructor(DefaultOptimizerConstructor):
        def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
            return torch.optim.SGD(model.parameters(), lr=self.base_lr / 2)

    opt = build_optimizer(_Net(), dict(type='SGD', lr=0.4, constructor='HalfLrConstructor'))
    assert opt.param_groups[0]['lr'] == pytest.approx(0.2)


def test_scale_lr_linear_rule() -> None:
    scaled = scale_lr(dict(type='SGD', lr=0.01), base_batch_size=64, batch_size=16)
    assert scaled['lr'] == pytest.approx(0.0025)
    with pytest.raises(ValueError, match='base_batch_size'):
        scale_lr(dict(lr=0.1), base_batch_size=0, batch_size=8)


def test_misspelt_paramwise_key_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level('WARNING', logger='actionkit'):
        build_optimizer(_Net(), dict(type='SGD', lr=0.1, paramwise_cfg=dict(bias_lr_mul=2.0)))
    assert any("['bias_lr_mul']" in r.getMessage() for r in caplog.records)
