"""Tests of the TPN neck and TPNHead: MMAction2 0.x key names and shapes, the auxiliary loss,
the two flows, argument checks, the head's three paths, and the shipped configs."""
from pathlib import Path

import pytest
import torch

from actionkit.config import Config
from actionkit.models import NECKS, build_model
from actionkit.models.heads.tpn_head import TPNHead
from actionkit.models.necks.tpn import TPN
from actionkit.models.recognizers.base import parse_losses

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'

_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _neck_cfg(c3, c4, out, classes=4, **overrides):
    """TPN arguments of MMAction2's configs for stages with ``c3`` and ``c4`` channels."""
    cfg = dict(
        in_channels=(c3, c4), out_channels=out,
        spatial_modulation_cfg=dict(in_channels=(c3, c4), out_channels=c4),
        temporal_modulation_cfg=dict(downsample_scales=(8, 8)),
        upsample_cfg=dict(scale_factor=(1, 1, 1)),
        downsample_cfg=dict(downsample_scale=(1, 1, 1)),
        level_fusion_cfg=dict(in_channels=(out, out), mid_channels=(out, out), out_channels=c4,
                              downsample_scales=((1, 1, 1), (1, 1, 1))),
        aux_head_cfg=dict(out_channels=classes, loss_weight=0.5))
    cfg.update(overrides)
    return cfg


def _conv_bn(prefix, shape):
    keys = {f'{prefix}.conv.weight': shape}
    keys.update({f'{prefix}.bn.{name}': None for name in _BN})
    return keys


def _mmaction_tpn_keys(c3=1024, c4=2048, out=1024, classes=400):
    """Keys (and conv / fc shapes) of MMAction2's TPN for its two-stage configs."""
    keys = {}
    for i in range(2):  # a grouped (32) 3x1x1 conv per stage, no norm
        keys[f'temporal_modulation_ops.{i}.conv.conv.weight'] = (out, c4 // 32, 3, 1, 1)
    keys['downsample_ops.0.conv.conv.weight'] = (out, out, 3, 1, 1)  # bottom-up, no norm
    for fusion in ('level_fusion_1', 'level_fusion_2'):
        for i in range(2):
            keys.update(_conv_bn(f'{fusion}.downsamples.{i}.conv', (out, out // 32, 1, 1, 1)))
        keys.update(_conv_bn(f'{fusion}.fusion_conv', (c4, 2 * out, 1, 1, 1)))
    # stage 3 needs one strided conv to reach stage 4's size; stage 4 is an Identity
    keys.update(_conv_bn('spatial_modulation.spatial_modulation.0.0', (c3 * 2, c3, 1, 3, 3)))
    keys.update(_conv_bn('pyramid_fusion', (2048, 2 * c4, 1, 1, 1)))
    keys.update(_conv_bn('aux_head.conv', (2 * c3, c3, 1, 3, 3)))
    keys['aux_head.fc.weight'] = (classes, 2 * c3)
    keys['aux_head.fc.bias'] = (classes,)
    return keys


def test_state_dict_keys_and_shapes_match_mmaction():
    with torch.device('meta'):
        neck = TPN(**_neck_cfg(1024, 2048, 1024, classes=400))
    state = neck.state_dict()
    expected = _mmaction_tpn_keys()
    assert set(state) == set(expected)
    for key, shape in expected.items():
        if shape is not None:
            assert tuple(state[key].shape) == shape, key


def _features(batch=2, t=8, c3=64, c4=128, size=4):
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(batch, c3, t, 2 * size, 2 * size, generator=gen),
            torch.randn(batch, c4, t, size, size, generator=gen))


def test_forward_shapes_and_aux_loss():
    torch.manual_seed(0)
    neck = TPN(**_neck_cfg(64, 128, 64))
    feats = _features()
    out, losses = neck(feats, torch.tensor([1, 3]))
    assert out.shape == (2, 2048, 1, 4, 4)  # time pooled by 8
    assert set(losses) == {'loss_aux'} and losses['loss_aux'].dim() == 0
    assert torch.isfinite(losses['loss_aux'])
    out_test, test_losses = neck(feats)
    assert test_losses == {} and out_test.shape == out.shape
    # in_channels as a list (JSON/YAML configs) builds the same neck
    torch.manual_seed(0)
    listed = TPN(**dict(_neck_cfg(64, 128, 64), in_channels=[64, 128]))
    assert listed.in_channels == (64, 128)
    torch.testing.assert_close(listed(feats)[0], out_test)


def test_aux_loss_is_weighted_cross_entropy():
    torch.manual_seed(0)
    neck = TPN(**_neck_cfg(64, 128, 64, aux_head_cfg=dict(out_channels=4, loss_weight=0.25)))
    neck.eval()  # no dropout
    feats = _features()
    labels = torch.tensor([0, 2])
    _, losses = neck(feats, labels)
    head = neck.aux_head
    logits = head.fc(head.avg_pool(head.conv(feats[0])).flatten(1))
    expected = 0.25 * torch.nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(losses['loss_aux'], expected)


def test_no_aux_head_gives_no_losses():
    neck = TPN(**_neck_cfg(64, 128, 64, aux_head_cfg=None))
    assert neck.aux_head is None
    assert not any(k.startswith('aux_head') for k in neck.state_dict())
    _, losses = neck(_features(), torch.tensor([0, 1]))
    assert losses == {}


def test_parallel_and_cascade_flows_differ():
    feats = _features()
    outs = {}
    for flow in ('cascade', 'parallel'):
        torch.manual_seed(0)
        neck = TPN(**_neck_cfg(64, 128, 64, flow_type=flow)).eval()
        with torch.no_grad():
            outs[flow] = neck(feats)[0]
    assert outs['cascade'].shape == outs['parallel'].shape
    assert not torch.allclose(outs['cascade'], outs['parallel'])


def test_tpn_checks_arguments():
    with pytest.raises(ValueError, match='flow_type'):
        TPN(**_neck_cfg(64, 128, 64, flow_type='sideways'))
    with pytest.raises(TypeError, match='level_fusion_cfg'):
        TPN(**_neck_cfg(64, 128, 64, level_fusion_cfg=None))
    with pytest.raises(ValueError, match='mid_channels'):
        TPN(**_neck_cfg(64, 128, 64, level_fusion_cfg=dict(in_channels=(64, 64),
                                                            out_channels=128)))
    with pytest.raises(ValueError, match='in_channels'):
        TPN(**_neck_cfg(64, 128, 64, in_channels=(128,)))
    with pytest.raises(ValueError, match='downsample_scales'):
        TPN(**_neck_cfg(64, 128, 64, temporal_modulation_cfg=dict(downsample_scales=(8,))))
    neck = TPN(**_neck_cfg(64, 128, 64))
    with pytest.raises(ValueError, match='out_indices'):
        neck(_features()[1])


def test_head_paths():
    torch.manual_seed(0)
    head = TPNHead(num_classes=5, in_channels=16, dropout_ratio=0.5)
    head.init_weights()
    head.eval()
    assert set(head.state_dict()) == {'fc_cls.weight', 'fc_cls.bias'}
    x = torch.randn(2, 16, 3, 4, 4)
    linear = torch.nn.functional.linear
    pooled = x.mean(dim=(2, 3, 4))
    expected = linear(pooled, head.fc_cls.weight, head.fc_cls.bias)
    torch.testing.assert_close(head(x), expected)  # 3D map, no segments
    fcn = head(x, fcn_test=True)
    assert fcn.shape == (2, 5, 1, 1, 1)
    torch.testing.assert_close(fcn.flatten(1), expected)
    frames = torch.randn(6, 16, 4, 4)  # 2 samples x 3 segments
    per_sample = frames.mean(dim=(2, 3)).view(2, 3, 16).mean(dim=1)
    torch.testing.assert_close(head(frames, num_segs=3),
                               linear(per_sample, head.fc_cls.weight, head.fc_cls.bias))


def _tiny(cfg_path, overrides):
    cfg = Config.fromfile(str(cfg_path))
    cfg.merge_from_dict(overrides)
    cfg.model.backbone.pretrained = None
    return cfg


_SMALL_NECK = {  # ResNet-50 at base width 16: layer3 256 channels, layer4 512
    'model.neck.in_channels': (256, 512), 'model.neck.out_channels': 256,
    'model.neck.spatial_modulation_cfg.in_channels': (256, 512),
    'model.neck.spatial_modulation_cfg.out_channels': 512,
    'model.neck.level_fusion_cfg.in_channels': (256, 256),
    'model.neck.level_fusion_cfg.mid_channels': (256, 256),
    'model.neck.level_fusion_cfg.out_channels': 512,
    'model.neck.aux_head_cfg.out_channels': 3, 'model.cls_head.num_classes': 3,
    'model.backbone.base_channels': 16,
}


def _train_step(model, imgs, labels):
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = model(imgs, labels)
    assert 'loss_aux' in losses and 'loss_cls' in losses
    loss, log_vars = parse_losses(losses)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and 'loss_aux' in log_vars
    aux_grad = model.neck.aux_head.fc.weight.grad
    assert aux_grad is not None and aux_grad.abs().sum() > 0


def test_tsm_config_trains_one_step_on_a_tiny_input():
    path = CONFIGS / 'recognition' / 'tpn' / 'tpn_tsm_r50_1x1x8_150e_sthv1_rgb.py'
    cfg = _tiny(path, dict(_SMALL_NECK))
    torch.manual_seed(0)
    model = build_model(cfg.model)
    imgs = torch.randn(2, 8, 3, 32, 32)  # 2 clips of 8 segments
    _train_step(model, imgs, torch.tensor([[0], [2]]))
    model.eval()
    (scores,) = model.forward_dummy(imgs)
    assert scores.shape == (2, 3)


def test_tsm_config_tests_fully_convolutionally_over_views():
    """The config's test_cfg has fcn_test=True: each view of 8 segments is one time axis
    through the neck, the head scores it, and the views' probabilities are averaged."""
    path = CONFIGS / 'recognition' / 'tpn' / 'tpn_tsm_r50_1x1x8_150e_sthv1_rgb.py'
    cfg = _tiny(path, dict(_SMALL_NECK))
    assert cfg.model.test_cfg.fcn_test is True and cfg.model.test_cfg.average_clips == 'prob'
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    imgs = torch.randn(2, 3 * 8, 3, 32, 32)  # 2 samples x 3 views (e.g. ThreeCrop) x 8 segments
    scores = model(imgs, return_loss=False)
    assert scores.shape == (2, 3)
    with torch.no_grad():  # the same by hand, one view at a time
        expected = []
        for sample in imgs:
            views = []
            for view in sample.view(3, 8, 3, 32, 32):
                feats = [f.reshape(1, 8, *f.shape[1:]).transpose(1, 2)
                         for f in model.extract_feat(view)]
                x, _ = model.neck(feats)
                views.append(model.cls_head(x, fcn_test=True).flatten(1).softmax(dim=1))
            expected.append(torch.cat(views).mean(dim=0))
    torch.testing.assert_close(torch.from_numpy(scores), torch.stack(expected))
    model.test_cfg['flip'] = True  # flips the frames horizontally first
    flipped = model(imgs.flip(-1), return_loss=False)
    torch.testing.assert_close(torch.from_numpy(flipped), torch.stack(expected))


def test_slowonly_config_trains_one_step_on_a_tiny_input():
    path = CONFIGS / 'recognition' / 'tpn' / 'tpn_slowonly_r50_8x8x1_150e_kinetics_rgb.py'
    cfg = _tiny(path, dict(_SMALL_NECK))
    torch.manual_seed(0)
    model = build_model(cfg.model)
    imgs = torch.randn(2, 1, 3, 8, 32, 32)  # [N, views, C, T, H, W]
    _train_step(model, imgs, torch.tensor([[1], [0]]))
    model.eval()
    scores = model(imgs, return_loss=False)
    assert scores.shape == (2, 3)
    assert abs(float(scores.sum()) - 2.0) < 1e-4  # average_clips='prob'


def test_head_loads_mmaction_checkpoints_holding_new_cls():
    """MMAction2 0.x checkpoints saved after an fcn validation also hold ``new_cls``, a
    stale copy of ``fc_cls``; they load with strict=True and the fcn path uses ``fc_cls``."""
    head = TPNHead(num_classes=3, in_channels=8)
    state = {'fc_cls.weight': torch.randn(3, 8), 'fc_cls.bias': torch.randn(3),
             'new_cls.weight': torch.zeros(3, 8, 1, 1, 1), 'new_cls.bias': torch.zeros(3)}
    head.load_state_dict(state, strict=True)
    torch.testing.assert_close(head.fc_cls.weight, state['fc_cls.weight'])
    x = torch.randn(1, 8, 2, 2, 2)
    expected = torch.nn.functional.linear(x.mean(dim=(2, 3, 4)), state['fc_cls.weight'],
                                          state['fc_cls.bias'])
    torch.testing.assert_close(head(x, fcn_test=True).flatten(1), expected)


def test_mmaction_checkpoints_with_new_cls_load_strictly_into_the_recognizer(tmp_path):
    """Through actionkit's own loader (tools/test.py, init_recognizer), not only torch's."""
    from actionkit.models.weights import load_checkpoint

    path = CONFIGS / 'recognition' / 'tpn' / 'tpn_tsm_r50_1x1x8_150e_sthv1_rgb.py'
    model = build_model(_tiny(path, dict(_SMALL_NECK)).model)
    state = dict(model.state_dict())
    fc = model.cls_head.fc_cls
    state['cls_head.new_cls.weight'] = fc.weight.detach()[:, :, None, None, None].clone()
    state['cls_head.new_cls.bias'] = fc.bias.detach().clone()
    torch.save({'state_dict': state}, tmp_path / 'mm.pth')
    load_checkpoint(model, str(tmp_path / 'mm.pth'), strict=True)  # no unexpected keys


def test_tpn_needs_its_temporal_modulation_and_takes_int_scales():
    cfg = _tiny(CONFIGS / 'recognition' / 'tpn' / 'tpn_slowonly_r50_8x8x1_150e_kinetics_rgb.py',
                dict(_SMALL_NECK)).model.neck
    with pytest.raises(TypeError, match='temporal_modulation_cfg must be a dict'):
        NECKS.build(dict(cfg, temporal_modulation_cfg=None))
    cfg.level_fusion_cfg.downsample_scales = (1, 1)  # ints, as DownSample takes them
    neck = NECKS.build(cfg)
    assert neck.level_fusion_1.downsamples[0].pool.kernel_size == 1
