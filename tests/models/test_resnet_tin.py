"""Tests of the TIN backbone: the shift op against slow references, gradients, the interlace
module's behaviour, MMAction2 0.x key names and shapes, pretrained loading and training."""
import math

import pytest
import torch

from actionkit.models.backbones.resnet import ResNet, torchvision_resnet_key
from actionkit.models.backbones.resnet_tin import (ResNetTIN, TemporalInterlace,
                                                   linear_sampler, tin_shift)
from actionkit.models import build_model


def _loop_shift(x, shift):
    """out[n, t + s, c] = x[n, t, c] for each channel group's s; zeros elsewhere."""
    n, t, c, _ = x.shape
    per_group = c // shift.shape[1]
    out = torch.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            s = int(shift[b, ch // per_group])
            for i in range(t):
                if 0 <= i + s < t:
                    out[b, i + s, ch] = x[b, i, ch]
    return out


def _loop_sampler(data, offset):
    """Each channel group at offset o: (1 - a) * x[t - floor(o)] + a * x[t - floor(o) - 1]."""
    n, t, c, h, w = data.shape
    per_group = c // offset.shape[1]
    out = torch.zeros_like(data)
    for b in range(n):
        for ch in range(c):
            o = float(offset[b, ch // per_group])
            lo = math.floor(o)
            a = o - lo
            for i in range(t):
                for src, weight in ((i - lo, 1 - a), (i - lo - 1, a)):
                    if 0 <= src < t:
                        out[b, i, ch] += weight * data[b, src, ch]
    return out


def test_tin_shift_matches_a_loop_reference():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 8, 3, generator=gen)
    shift = torch.tensor([[0, 1, -2, 7], [-5, 3, 2, -1]], dtype=torch.int32)
    torch.testing.assert_close(tin_shift(x, shift), _loop_shift(x, shift))


def test_linear_sampler_matches_a_loop_reference():
    gen = torch.Generator().manual_seed(1)
    data = torch.randn(2, 6, 8, 2, 2, generator=gen)
    offset = torch.tensor([[0.3, -1.7, 2.5, 0.0], [-0.25, 1.0, -3.9, 5.5]])
    torch.testing.assert_close(linear_sampler(data, offset), _loop_sampler(data, offset))


def test_linear_sampler_gradcheck_on_data_and_offset():
    gen = torch.Generator().manual_seed(2)
    data = torch.randn(1, 4, 4, 1, 2, dtype=torch.double, generator=gen, requires_grad=True)
    # away from whole numbers, where the interpolation weights are not differentiable
    offset = torch.tensor([[0.3, -1.6, 1.2, -0.45]], dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(linear_sampler, (data, offset))


def test_tin_shift_rejects_bad_shapes():
    with pytest.raises(ValueError, match='groups'):
        tin_shift(torch.zeros(1, 3, 6, 2), torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\(N, T, C, L\)'):
        tin_shift(torch.zeros(1, 3, 6), torch.zeros(1, 2, dtype=torch.long))


def test_temporal_interlace_with_fixed_offsets_and_weights():
    """Offsets forced to exactly 1 and weights to 1: groups 0-1 move one frame later,
    groups 2-3 one frame earlier, the other channels pass unchanged."""
    segments, channels = 4, 16
    module = TemporalInterlace(channels, num_segments=segments, shift_div=2)  # 8 moved, 4 groups
    with torch.no_grad():
        module.offset_net.fc2.weight.zero_()
        module.offset_net.fc2.bias.fill_(math.log(3.0))  # 4 * (sigmoid(log 3) - 0.5) = 1
        module.weight_net.conv.weight.zero_()
        module.weight_net.conv.bias.zero_()  # 2 * sigmoid(0) = 1
    x = torch.randn(2 * segments, channels, 3, 3)
    out = module(x)
    clip = x.view(2, segments, channels, 3, 3)
    expected = clip.clone()
    expected[:, :, :4] = 0
    expected[:, 1:, :4] = clip[:, :-1, :4]  # frame t takes frame t - 1
    expected[:, :, 4:8] = 0
    expected[:, :-1, 4:8] = clip[:, 1:, 4:8]  # frame t takes frame t + 1
    torch.testing.assert_close(out, expected.view_as(x), atol=1e-5, rtol=1e-5)


def test_temporal_interlace_checks_arguments():
    with pytest.raises(ValueError, match='multiple of 4'):
        TemporalInterlace(24, num_segments=4, shift_div=4)  # 6 channels do not make 4 groups
    with pytest.raises(ValueError, match='num_segments'):
        TemporalInterlace(16, num_segments=0)
    with pytest.raises(ValueError, match='N \\* 4'):
        TemporalInterlace(16, num_segments=4)(torch.zeros(6, 16, 2, 2))


def _mmaction_tin_keys(depth, num_segments, shift_div):
    """Expected keys and shapes: a plain ResNet whose every block's conv1 conv moved to
    ``conv1.conv.net2`` with a TemporalInterlace at ``conv1.conv.net1`` (MMAction2's
    CombineNet), the interlace made of OffsetNet(conv, fc1, fc2) and WeightNet(conv)."""
    with torch.device('meta'):
        plain = ResNet(depth)
    expected = {}
    for key, value in plain.state_dict().items():
        parts = key.split('.')
        if parts[0].startswith('layer') and parts[2:4] == ['conv1', 'conv']:
            prefix = '.'.join(parts[:4])
            expected[f'{prefix}.net2.weight'] = tuple(value.shape)
            folds = value.shape[1] // shift_div
            tin = f'{prefix}.net1'
            expected.update({
                f'{tin}.offset_net.conv.weight': (1, folds, 3),
                f'{tin}.offset_net.conv.bias': (1,),
                f'{tin}.offset_net.fc1.weight': (num_segments, num_segments),
                f'{tin}.offset_net.fc1.bias': (num_segments,),
                f'{tin}.offset_net.fc2.weight': (2, num_segments),
                f'{tin}.offset_net.fc2.bias': (2,),
                f'{tin}.weight_net.conv.weight': (2, folds, 3),
                f'{tin}.weight_net.conv.bias': (2,),
            })
        else:
            expected[key] = tuple(value.shape)
    return expected


@pytest.mark.parametrize('depth', [50, 101])
def test_state_dict_keys_and_shapes_match_mmaction(depth):
    with torch.device('meta'):
        model = ResNetTIN(depth, num_segments=8, shift_div=4)
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert got == _mmaction_tin_keys(depth, 8, 4)


def test_is_tin_false_is_a_plain_resnet():
    with torch.device('meta'):
        keys = set(ResNetTIN(18, is_tin=False).state_dict())
        assert keys == set(ResNet(18).state_dict())


def test_resnet_tin_checks_arguments():
    with pytest.raises(TypeError, match='is_tin'):
        ResNetTIN(50, is_tin=1)
    with pytest.raises(ValueError, match='multiple of 4'):
        ResNetTIN(50, base_channels=8)  # layer1's 8 input channels // 4 = 2
    with pytest.raises(ValueError, match='num_segments'):
        ResNetTIN(50, num_segments=0)
    model = ResNetTIN(50, num_segments=4, base_channels=16)
    with pytest.raises(ValueError, match='N \\* 4'):
        model(torch.zeros(6, 3, 32, 32))


def test_loads_torchvision_style_weights(tmp_path):
    reference = ResNet(18, base_channels=16)
    reference.init_weights()
    tv = {torchvision_resnet_key(k): v for k, v in reference.state_dict().items()
          if torchvision_resnet_key(k) is not None}
    path = tmp_path / 'resnet18_tv.pth'
    torch.save(tv, path)
    model = ResNetTIN(18, num_segments=2, base_channels=16, pretrained=str(path))
    model.init_weights()
    ours = model.state_dict()
    torch.testing.assert_close(ours['layer2.1.conv1.conv.net2.weight'],
                               reference.state_dict()['layer2.1.conv1.conv.weight'])
    torch.testing.assert_close(ours['conv1.conv.weight'],
                               reference.state_dict()['conv1.conv.weight'])
    # the interlace keeps its own initialisation
    assert torch.allclose(ours['layer1.0.conv1.conv.net1.offset_net.fc2.bias'],
                          torch.full((2,), 0.5108))


def test_recognizer_train_step_reaches_the_offsets():
    torch.manual_seed(0)
    model = build_model(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNetTIN', depth=18, num_segments=4, base_channels=16),
        cls_head=dict(type='TSMHead', num_classes=3, in_channels=128, num_segments=4,
                      is_shift=False),
        test_cfg=dict(average_clips=None)))
    imgs = torch.randn(2, 4, 3, 32, 32)
    losses = model(imgs, torch.tensor([[0], [2]]))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    offset_grad = model.backbone.layer2[0].conv1.conv.net1.offset_net.fc2.weight.grad
    weight_grad = model.backbone.layer3[1].conv1.conv.net1.weight_net.conv.weight.grad
    assert offset_grad is not None and offset_grad.abs().sum() > 0
    assert weight_grad is not None and weight_grad.abs().sum() > 0
    model.eval()
    assert model(imgs, return_loss=False).shape == (2, 3)
