"""Tests of the ResNet backbone: shapes, input checks, freezing, BN modes, torchvision weights."""
import pytest
import torch
from torch import nn

from actionkit.models import BACKBONES
from actionkit.models.backbones.resnet import (BasicBlock, Bottleneck, ResNet,
                                               canonical_resnet_key, torchvision_resnet_key)


def _bn_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


@pytest.mark.parametrize('depth, channels', [(18, 512), (50, 2048)])
def test_output_shape(depth, channels):
    model = ResNet(depth).eval()
    model.init_weights()
    assert model.feat_dim == channels
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, channels, 1, 1)


def test_out_indices_and_stages():
    model = ResNet(18, out_indices=(0, 1, 2), num_stages=3, strides=(1, 2, 2),
                   dilations=(1, 1, 1))
    with torch.no_grad():
        outs = model.eval()(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4)]
    assert not hasattr(model, 'layer4')


def test_blocks_and_key_names():
    model = ResNet(50)
    assert isinstance(model.layer1[0], Bottleneck)
    assert isinstance(ResNet(18).layer1[0], BasicBlock)
    keys = model.state_dict()
    assert keys['conv1.conv.weight'].shape == (64, 3, 7, 7)
    assert keys['layer1.0.downsample.conv.weight'].shape == (256, 64, 1, 1)
    assert keys['layer4.2.conv3.bn.running_var'].shape == (2048,)
    assert 'layer1.1.downsample.conv.weight' not in keys


def test_caffe_style_strides_first_conv():
    block = ResNet(50, style='caffe').layer2[0]
    assert block.conv1.conv.stride == (2, 2) and block.conv2.conv.stride == (1, 1)
    block = ResNet(50).layer2[0]
    assert block.conv1.conv.stride == (1, 1) and block.conv2.conv.stride == (2, 2)


def test_input_shape_errors():
    model = ResNet(18)
    with pytest.raises(ValueError, match=r'\(2, 4, 32, 32\)'):
        model(torch.randn(2, 4, 32, 32))
    with pytest.raises(ValueError, match='shape'):
        model(torch.randn(2, 3, 4, 32, 32))


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=20), 'depth'), (dict(depth=18, num_stages=5), 'num_stages'),
    (dict(depth=18, out_indices=(4,)), 'out_indices'), (dict(depth=18, style='tf'), 'style'),
    (dict(depth=18, strides=(1, 2)), 'strides'), (dict(depth=18, frozen_stages=7), 'frozen'),
    (dict(depth=18, in_channels=0), 'in_channels'),
])
def test_argument_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet(**kwargs)


def test_pretrained_type_error():
    with pytest.raises(TypeError, match='pretrained'):
        ResNet(18, pretrained=1)


def test_frozen_stages():
    model = ResNet(18, frozen_stages=1)
    model.train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.conv1.bn.training and not model.layer1[0].conv1.bn.training
    assert model.layer2[0].conv1.bn.training
    # frozen stages get no gradient
    model(torch.randn(2, 3, 16, 16)).sum().backward()
    assert model.layer1[0].conv1.conv.weight.grad is None
    assert model.layer2[0].conv1.conv.weight.grad is not None


def test_norm_eval_keeps_running_stats():
    model = ResNet(18, norm_eval=True)
    model.train()
    assert all(not bn.training for bn in _bn_layers(model))
    before = model.layer3[0].conv1.bn.running_mean.clone()
    model(torch.randn(2, 3, 32, 32) * 5 + 3)
    torch.testing.assert_close(model.layer3[0].conv1.bn.running_mean, before)
    model.eval()
    model.train()
    assert all(not bn.training for bn in _bn_layers(model))


def test_partial_bn_freezes_all_but_first():
    model = ResNet(18, partial_bn=True)
    model.train()
    first, *rest = _bn_layers(model)
    assert first is model.conv1.bn and first.training and first.weight.requires_grad
    assert all(not bn.training and not bn.weight.requires_grad and not bn.bias.requires_grad
               for bn in rest)


def test_with_cp_same_gradients():
    torch.manual_seed(0)
    small = dict(num_stages=2, out_indices=(1,), strides=(1, 2), dilations=(1, 1))
    plain = ResNet(18, **small)
    checkpointed = ResNet(18, with_cp=True, **small)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    plain(x).square().sum().backward()
    grad_plain = plain.layer2[0].conv1.conv.weight.grad.clone()
    checkpointed(x).square().sum().backward()
    torch.testing.assert_close(checkpointed.layer2[0].conv1.conv.weight.grad, grad_plain)


def test_init_weights_from_scratch():
    model = ResNet(18)
    with torch.no_grad():
        model.conv1.bn.weight.fill_(3.0)
    model.init_weights()
    assert torch.all(model.conv1.bn.weight == 1)
    assert torch.all(model.conv1.bn.bias == 0)


def test_torchvision_key_mapping():
    assert torchvision_resnet_key('conv1.conv.weight') == 'conv1.weight'
    assert torchvision_resnet_key('conv1.bn.running_mean') == 'bn1.running_mean'
    assert torchvision_resnet_key('layer3.4.conv2.bn.weight') == 'layer3.4.bn2.weight'
    assert torchvision_resnet_key('layer1.0.conv3.conv.weight') == 'layer1.0.conv3.weight'
    assert (torchvision_resnet_key('layer2.0.downsample.conv.weight')
            == 'layer2.0.downsample.0.weight')
    assert torchvision_resnet_key('layer2.0.downsample.bn.bias') == 'layer2.0.downsample.1.bias'
    # TSM wrappers are transparent
    assert torchvision_resnet_key('layer1.0.conv1.conv.net.weight') == 'layer1.0.conv1.weight'
    assert torchvision_resnet_key('layer2.net.0.block.conv1.bn.bias') == 'layer2.0.bn1.bias'
    assert torchvision_resnet_key('layer2.0.non_local_block.g.conv.weight') is None
    assert canonical_resnet_key('layer1.0.net.conv1.conv.weight') == 'layer1.0.conv1.conv.weight'


def test_flow_conv1_averages_rgb_weights(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    folder = tmp_path / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    rgb = torch.randn(64, 3, 7, 7)
    bn = {f'bn1.{n}': torch.rand(64) for n in ('weight', 'bias', 'running_mean', 'running_var')}
    torch.save({'conv1.weight': rgb, **bn}, folder / 'resnet18-f37072fd.pth')
    model = ResNet(18, pretrained='torchvision://resnet18', in_channels=10)
    model.init_weights()
    weight = model.conv1.conv.weight
    assert weight.shape == (64, 10, 7, 7)
    for channel in range(10):
        torch.testing.assert_close(weight[:, channel], rgb.mean(dim=1))
    torch.testing.assert_close(model.conv1.bn.running_var, bn['bn1.running_var'])
    assert model(torch.randn(2, 10, 32, 32)).shape == (2, 512, 1, 1)


def test_registry_build():
    model = BACKBONES.build(dict(type='ResNet', depth=18, norm_eval=True))
    assert isinstance(model, ResNet) and model.norm_eval


def test_base_channels_scales_every_stage():
    import torch

    from actionkit.models.backbones.resnet import ResNet
    from actionkit.models.backbones.resnet_tsm import ResNetTSM

    net = ResNet(18, base_channels=16)
    assert net.conv1.conv.out_channels == 16
    assert [getattr(net, f'layer{i}')[0].conv1.conv.out_channels for i in range(1, 5)] == \
        [16, 32, 64, 128]
    assert net.feat_dim == 128
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 128, 1, 1)
    tsm = ResNetTSM(18, num_segments=4, base_channels=8)
    assert tsm(torch.randn(4, 3, 32, 32)).shape == (4, 64, 1, 1)
    with pytest.raises(ValueError, match='base_channels'):
        ResNet(18, base_channels=0)
