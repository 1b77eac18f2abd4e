"""Tests of ResNetTSM: the temporal shift, key layouts, temporal pool and non-local blocks."""
import pytest
import torch
from torch import nn

from actionkit.models.backbones.non_local import NonLocal3d
from actionkit.models.backbones.resnet import ResNet
from actionkit.models.backbones.resnet_tsm import (NL3DWrapper, ResNetTSM, TemporalPool,
                                                   TemporalShift)


def test_shift_numerics_by_hand():
    # 1 clip, 3 frames, 4 channels, 1x1 pixels: value = 10 * frame + channel
    x = torch.tensor([[0.0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]]).view(3, 4, 1, 1)
    out = TemporalShift.shift(x, num_segments=3, shift_div=4).view(3, 4)
    expected = torch.tensor([
        [10.0, 0, 2, 3],   # channel 0 takes the next frame, channel 1 the previous one
        [20.0, 1, 12, 13],
        [0.0, 11, 22, 23],
    ])
    torch.testing.assert_close(out, expected)


def test_shift_keeps_clips_apart():
    x = torch.arange(2 * 2 * 8, dtype=torch.float32).view(4, 8, 1, 1)  # 2 clips of 2 frames
    out = TemporalShift.shift(x, num_segments=2, shift_div=8).view(2, 2, 8)
    clips = x.view(2, 2, 8)
    # the second clip's first frame never receives the first clip's last frame
    assert out[1, 0, 1].item() == 0.0
    torch.testing.assert_close(out[:, 0, 0], clips[:, 1, 0])
    torch.testing.assert_close(out[:, :, 2:], clips[:, :, 2:])


def test_temporal_shift_module_runs_net_on_shifted_input():
    net = nn.Conv2d(8, 8, 1)
    module = TemporalShift(net, num_segments=4, shift_div=4)
    x = torch.randn(8, 8, 2, 2)
    torch.testing.assert_close(module(x), net(TemporalShift.shift(x, 4, 4)))


def test_blockres_key_layout():
    keys = ResNetTSM(50).state_dict()
    assert 'layer1.0.conv1.conv.net.weight' in keys
    assert 'layer4.2.conv1.conv.net.weight' in keys
    assert 'layer1.0.conv1.bn.running_mean' in keys
    assert 'layer1.0.conv2.conv.weight' in keys
    assert not any('conv2.conv.net' in k or 'downsample.conv.net' in k for k in keys)
    # the same keys as ResNet once the wrapper name is removed
    plain = set(ResNet(50).state_dict())
    assert {k.replace('.net.', '.') for k in keys} == plain


def test_blockres_shifts_every_other_block_when_deep():
    keys = ResNetTSM(101).state_dict()
    assert 'layer3.0.conv1.conv.net.weight' in keys
    assert 'layer3.1.conv1.conv.weight' in keys
    assert 'layer1.1.conv1.conv.weight' in keys and 'layer1.2.conv1.conv.net.weight' in keys


def test_block_key_layout_and_numerics():
    model = ResNetTSM(18, num_segments=2, shift_place='block').eval()
    keys = model.state_dict()
    assert 'layer1.0.net.conv1.conv.weight' in keys
    assert 'layer2.0.net.downsample.conv.weight' in keys
    block = model.layer1[0]
    assert isinstance(block, TemporalShift)
    x = torch.randn(4, 64, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(block(x), block.net(TemporalShift.shift(x, 2, 8)))


def test_no_shift_equals_resnet():
    torch.manual_seed(0)
    small = dict(num_stages=2, out_indices=(1,), strides=(1, 2), dilations=(1, 1))
    plain = ResNet(18, **small).eval()
    tsm = ResNetTSM(18, num_segments=2, is_shift=False, **small).eval()
    tsm.load_state_dict(plain.state_dict())
    shifted = ResNetTSM(18, num_segments=2, **small).eval()
    shifted.load_state_dict({k.replace('conv1.conv.weight', 'conv1.conv.net.weight')
                             if k.startswith('layer') else k: v
                             for k, v in plain.state_dict().items()})
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(tsm(x), plain(x))
        assert not torch.allclose(shifted(x), plain(x))


def test_batch_must_be_whole_clips():
    model = ResNetTSM(18, num_segments=4)
    with pytest.raises(ValueError, match='N \\* 4 frames'):
        model(torch.randn(6, 3, 32, 32))


def test_temporal_pool_halves_frames():
    model = ResNetTSM(18, num_segments=4, temporal_pool=True).eval()
    assert isinstance(model.layer2, TemporalPool)
    assert 'layer2.net.0.conv1.conv.net.weight' in model.state_dict()
    # the stages after the pool shift over num_segments // 2 frames
    assert model.layer3[0].conv1.conv.num_segments == 2
    with torch.no_grad():
        assert model(torch.randn(8, 3, 32, 32)).shape == (4, 512, 1, 1)


def test_temporal_pool_numerics():
    pool = TemporalPool(nn.Identity(), num_segments=4)
    x = torch.tensor([1.0, 5.0, 2.0, 0.0]).view(4, 1, 1, 1)  # one clip, 4 frames
    # max over frames (t-1, t, t+1) at t = 0, 2
    torch.testing.assert_close(pool(x).flatten(), torch.tensor([5.0, 5.0]))


NL_CFG = dict(sub_sample=True, use_scale=False, norm_cfg=dict(type='BN3d', requires_grad=True),
              mode='embedded_gaussian')


def test_non_local_key_layout():
    model = ResNetTSM(50, non_local=((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)),
                      non_local_cfg=NL_CFG)
    keys = model.state_dict()
    assert isinstance(model.layer2[0], NL3DWrapper)
    assert 'layer2.0.block.conv1.conv.net.weight' in keys
    assert 'layer2.0.non_local_block.g.0.conv.weight' in keys
    assert 'layer2.0.non_local_block.phi.0.conv.weight' in keys
    assert 'layer2.0.non_local_block.theta.conv.weight' in keys
    assert keys['layer2.0.non_local_block.conv_out.bn.weight'].shape == (512,)
    assert 'layer2.1.conv1.conv.net.weight' in keys  # flag 0: plain block
    assert not any(k.startswith('layer1.0.block') for k in keys)


def test_non_local_ignored_without_cfg():
    keys = ResNetTSM(18, non_local=(0, 1, 0, 0)).state_dict()
    assert not any('non_local_block' in k for k in keys)


def test_non_local_flags_validation():
    with pytest.raises(ValueError, match='non_local\\[1\\]'):
        ResNetTSM(18, non_local=(0, (1, 0, 1), 0, 0), non_local_cfg=NL_CFG)
    with pytest.raises(ValueError, match='one entry per stage'):
        ResNetTSM(18, non_local=(0, 0), non_local_cfg=NL_CFG)


def test_non_local_forward_starts_as_identity():
    model = ResNetTSM(18, num_segments=2, non_local=(0, 1, 0, 0),
                      non_local_cfg=dict(mode='dot_product',
                                         norm_cfg=dict(type='BN3d', requires_grad=True))).eval()
    wrapper = model.layer2[0]
    x = torch.randn(4, 64, 8, 8)
    with torch.no_grad():
        # conv_out's norm is zero-initialised, so the block adds nothing at first
        torch.testing.assert_close(wrapper(x), wrapper.block(x))
        assert model(torch.randn(4, 3, 32, 32)).shape == (4, 512, 1, 1)


@pytest.mark.parametrize('mode', ['gaussian', 'embedded_gaussian', 'dot_product',
                                  'concatenation'])
def test_non_local_modes_keys_and_shape(mode):
    block = NonLocal3d(8, mode=mode, zeros_init=False)
    keys = set(block.state_dict())
    assert 'g.conv.weight' in keys and 'conv_out.conv.weight' in keys
    assert ('theta.conv.weight' in keys) == (mode != 'gaussian')
    assert ('concat_project.conv.weight' in keys) == (mode == 'concatenation')
    x = torch.randn(2, 8, 2, 3, 3)
    assert block(x).shape == x.shape


def test_non_local_embedded_gaussian_by_hand():
    torch.manual_seed(0)
    block = NonLocal3d(4, reduction=2, mode='embedded_gaussian', zeros_init=False)
    x = torch.randn(1, 4, 2, 2, 2)

    def conv(module, t):  # 1x1x1 conv as a matrix product on [C, P]
        return module.conv.weight.flatten(1) @ t + module.conv.bias[:, None]

    flat = x.view(4, -1)
    theta, phi, g = conv(block.theta, flat), conv(block.phi, flat), conv(block.g, flat)
    attention = (theta.T @ phi / 2 ** 0.5).softmax(dim=-1)  # [P, P]
    y = (attention @ g.T).T  # [C', P]
    expected = flat + conv(block.conv_out, y)
    torch.testing.assert_close(block(x).view(4, -1), expected)


def test_argument_validation():
    with pytest.raises(ValueError, match='shift_place'):
        ResNetTSM(18, shift_place='inplace')
    with pytest.raises(ValueError, match='num_segments'):
        ResNetTSM(18, num_segments=0)
    with pytest.raises(ValueError, match='mode'):
        NonLocal3d(8, mode='cosine')
