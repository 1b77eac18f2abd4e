"""Tests of the 3D backbones: MMAction2 0.x (and Swin: 1.x) state-dict keys, shapes, input
checks, 2D inflation and 3D checkpoint loading.

Expected keys and shapes are derived from MMAction2's source (0.24.1 for all but Swin, 1.x's
``SwinTransformer3D`` for Swin), not from this implementation. Full-size models are built on
the ``meta`` device: no memory, no init time, same state-dict keys and shapes.
"""
import logging

import pytest
import torch

from actionkit.models import (C3D, X3D, ResNet, ResNet2Plus1d, ResNet3d, ResNet3dCSN,
                              ResNet3dSlowFast, ResNet3dSlowOnly, SwinTransformer3D, TimeSformer,
                              build_model)

BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
I3D_INFLATE = ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0))
SLOW = dict(type='resnet3d', depth=50, pretrained=None, lateral=True, conv1_kernel=(1, 7, 7),
            dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1))
FAST = dict(type='resnet3d', depth=50, pretrained=None, lateral=False, base_channels=8,
            conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1)


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def on_meta(factory):
    with torch.device('meta'):
        return factory()


def conv_module(prefix, shape):
    """mmcv ConvModule keys (conv without bias + BN) and their shapes."""
    keys = {f'{prefix}.conv.weight': shape}
    keys.update({f'{prefix}.bn.{n}': () if n == 'num_batches_tracked' else (shape[0],)
                 for n in BN_KEYS})
    return keys


def expected_i3d_r50():
    """Every key of MMAction2 0.x's I3D-R50 backbone (i3d_r50.py), with its shape."""
    keys = conv_module('conv1', (64, 3, 5, 7, 7))
    inplanes = 64
    for stage, flags in enumerate(I3D_INFLATE):
        planes = 64 * 2**stage
        for b, flag in enumerate(flags):
            p = f'layer{stage + 1}.{b}'
            block_in = inplanes if b == 0 else planes * 4
            keys.update(conv_module(f'{p}.conv1', (planes, block_in, 3 if flag else 1, 1, 1)))
            keys.update(conv_module(f'{p}.conv2', (planes, planes, 1, 3, 3)))
            keys.update(conv_module(f'{p}.conv3', (planes * 4, planes, 1, 1, 1)))
            if b == 0:
                keys.update(conv_module(f'{p}.downsample', (planes * 4, block_in, 1, 1, 1)))
        inplanes = planes * 4
    return keys


# ------------------------------------------------------------------ state-dict keys
def test_i3d_r50_keys_match_mmaction():
    model = on_meta(lambda: ResNet3d(depth=50, pretrained=None, conv1_kernel=(5, 7, 7),
                                     conv1_stride_t=2, pool1_stride_t=2, inflate=I3D_INFLATE))
    assert shapes(model) == expected_i3d_r50()
    assert len(expected_i3d_r50()) == 318  # stem 6 + 16 blocks x 18 + 4 downsamples x 6


def test_i3d_non_local_keys():
    non_local = ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0))
    cfg = dict(sub_sample=True, use_scale=False, norm_cfg=dict(type='BN3d'), mode='dot_product')
    got = shapes(on_meta(lambda: ResNet3d(
        depth=50, pretrained=None, conv1_kernel=(5, 7, 7), inflate=I3D_INFLATE,
        non_local=non_local, non_local_cfg=cfg)))
    # mmcv NonLocal3d: g/theta/phi 1x1 convs with bias (g, phi wrapped with a max pool when
    # sub_sample), conv_out with BN; 12 keys per block, 5 blocks
    assert len(got) == 318 + 5 * 12
    prefix = 'layer2.1.non_local_block'
    assert got[f'{prefix}.g.0.conv.weight'] == (256, 512, 1, 1, 1)
    assert got[f'{prefix}.g.0.conv.bias'] == (256,)
    assert got[f'{prefix}.theta.conv.weight'] == (256, 512, 1, 1, 1)
    assert got[f'{prefix}.phi.0.conv.weight'] == (256, 512, 1, 1, 1)
    assert got[f'{prefix}.conv_out.conv.weight'] == (512, 256, 1, 1, 1)
    assert got[f'{prefix}.conv_out.bn.running_var'] == (512,)
    assert 'layer3.5.non_local_block.conv_out.bn.weight' in got
    assert 'layer3.4.non_local_block.g.0.conv.weight' not in got


def test_slowonly_r50_keys():
    got = shapes(on_meta(lambda: ResNet3dSlowOnly(depth=50, pretrained=None)))
    assert len(got) == 318
    assert got['conv1.conv.weight'] == (64, 3, 1, 7, 7)
    assert got['layer1.0.conv1.conv.weight'] == (64, 64, 1, 1, 1)
    assert got['layer2.3.conv1.conv.weight'] == (128, 512, 1, 1, 1)
    assert got['layer3.0.conv1.conv.weight'] == (256, 512, 3, 1, 1)
    assert got['layer4.2.conv2.conv.weight'] == (512, 512, 1, 3, 3)


def test_slowfast_r50_keys():
    got = shapes(on_meta(lambda: ResNet3dSlowFast(None, slow_pathway=SLOW, fast_pathway=FAST)))
    # slow: 318 ResNet keys + 4 lateral convs (no bias, no norm); fast: 318
    assert len(got) == 640
    assert got['slow_path.conv1_lateral.conv.weight'] == (16, 8, 5, 1, 1)
    assert got['slow_path.layer1_lateral.conv.weight'] == (64, 32, 5, 1, 1)
    assert got['slow_path.layer3_lateral.conv.weight'] == (256, 128, 5, 1, 1)
    assert 'slow_path.layer4_lateral.conv.weight' not in got
    # the slow pathway's first block of each stage also takes the lateral channels
    assert got['slow_path.layer1.0.conv1.conv.weight'] == (64, 64 + 16, 1, 1, 1)
    assert got['slow_path.layer1.0.downsample.conv.weight'] == (256, 64 + 16, 1, 1, 1)
    assert got['slow_path.layer2.0.conv1.conv.weight'] == (128, 256 + 64, 1, 1, 1)
    assert got['fast_path.conv1.conv.weight'] == (8, 3, 5, 7, 7)
    assert got['fast_path.layer1.0.conv1.conv.weight'] == (8, 8, 3, 1, 1)
    assert got['fast_path.layer4.2.conv3.conv.weight'] == (256, 64, 1, 1, 1)


def test_slowfast_lateral_norm_and_fusion_kernel():
    slow = dict(SLOW, lateral_norm=True, fusion_kernel=7)
    got = shapes(on_meta(lambda: ResNet3dSlowFast(None, 4, 4, 8, slow, FAST)))
    assert got['slow_path.conv1_lateral.conv.weight'] == (16, 8, 7, 1, 1)
    assert got['slow_path.layer2_lateral.bn.weight'] == (128,)  # 2 * 512 / 8
    assert len(got) == 640 + 4 * 5


def test_r2plus1d_r34_keys():
    got = shapes(on_meta(lambda: ResNet2Plus1d(
        depth=34, pretrained=None, pretrained2d=False, conv_cfg=dict(type='Conv2plus1d'),
        norm_cfg=dict(type='BN3d', eps=1e-3), temporal_strides=(1, 2, 2, 2))))
    # middle width int(3 * Cin * Cout * 7 * 7 / (Cin * 7 * 7 + 3 * Cout)) = 83 for 3 -> 64
    assert got['conv1.conv.conv_s.weight'] == (83, 3, 1, 7, 7)
    assert got['conv1.conv.bn_s.running_mean'] == (83,)
    assert got['conv1.conv.conv_t.weight'] == (64, 83, 3, 1, 1)
    assert got['conv1.bn.weight'] == (64,)
    # 64 -> 64 with 3x3x3: int(3 * 64 * 64 * 9 / (64 * 9 + 3 * 64)) = 144
    assert got['layer1.0.conv1.conv.conv_s.weight'] == (144, 64, 1, 3, 3)
    # the 1x1x1 shortcut too: int(3 * 64 * 128 / (64 + 3 * 128)) = 54
    assert got['layer2.0.downsample.conv.conv_t.weight'] == (128, 54, 1, 1, 1)
    # 12 keys per (2+1)D ConvModule: stem + 16 blocks x 2 + 3 downsamples
    assert len(got) == 12 * (1 + 32 + 3)


def test_c3d_keys():
    got = shapes(on_meta(lambda: C3D()))
    assert len(got) == 20
    assert got['conv1a.conv.weight'] == (64, 3, 3, 3, 3)
    assert got['conv1a.conv.bias'] == (64,)
    assert got['conv5b.conv.weight'] == (512, 512, 3, 3, 3)
    assert got['fc6.weight'] == (4096, 8192)
    assert got['fc7.bias'] == (4096,)


def test_x3d_m_keys():
    got = shapes(on_meta(lambda: X3D(gamma_w=1, gamma_b=2.25, gamma_d=2.2)))
    assert got['conv1_s.conv.weight'] == (24, 3, 1, 3, 3)
    assert 'conv1_s.bn.weight' not in got
    assert got['conv1_t.conv.weight'] == (24, 1, 5, 1, 1)
    assert got['layer1.0.conv1.conv.weight'] == (54, 24, 1, 1, 1)
    assert got['layer1.0.conv2.conv.weight'] == (54, 1, 3, 3, 3)
    # SE bottleneck: 54 / 16 rounded to a multiple of 8, at least 8
    assert got['layer1.0.se_module.fc1.weight'] == (8, 54, 1, 1, 1)
    assert got['layer1.0.se_module.fc1.bias'] == (8,)
    assert 'layer1.1.se_module.fc1.weight' not in got  # 'half': every other block
    assert got['layer3.10.conv3.conv.weight'] == (96, 216, 1, 1, 1)  # ceil(5 * 2.2) = 11
    assert 'layer3.11.conv1.conv.weight' not in got
    assert got['conv5.conv.weight'] == (432, 192, 1, 1, 1)


@pytest.mark.parametrize('mode,extra', [('ir', 0), ('ip', 1)])
def test_csn_r152_keys(mode, extra):
    got = shapes(on_meta(lambda: ResNet3dCSN(depth=152, pretrained=None, pretrained2d=False,
                                             with_pool2=False, bottleneck_mode=mode)))
    # stem 6 + 50 blocks x 18 + 4 downsamples x 6 = 930, plus 6 per block for ip
    assert len(got) == 930 + 50 * 6 * extra
    assert got[f'layer1.0.conv2.{extra}.conv.weight'] == (64, 1, 3, 3, 3)
    assert got['layer1.0.conv1.conv.weight'] == (64, 64, 1, 1, 1)
    if mode == 'ip':
        assert got['layer3.35.conv2.0.conv.weight'] == (256, 256, 1, 1, 1)


def test_timesformer_divided_keys():
    got = shapes(on_meta(lambda: TimeSformer(num_frames=8, img_size=224, patch_size=16)))
    # per layer: temporal attention 8 (norm 2, attn 4, temporal_fc 2), spatial 6, ffn 6;
    # plus patch projection 2, cls_token, pos_embed, time_embed, final norm 2
    assert len(got) == 12 * 20 + 7
    prefix = 'transformer_layers.layers.11'
    assert got[f'{prefix}.attentions.0.attn.in_proj_weight'] == (2304, 768)
    assert got[f'{prefix}.attentions.0.attn.out_proj.bias'] == (768,)
    assert got[f'{prefix}.attentions.0.norm.weight'] == (768,)
    assert got[f'{prefix}.attentions.0.temporal_fc.weight'] == (768, 768)
    assert got[f'{prefix}.attentions.1.attn.in_proj_bias'] == (2304,)
    assert f'{prefix}.attentions.1.temporal_fc.weight' not in got
    assert got[f'{prefix}.ffns.0.layers.0.0.weight'] == (3072, 768)
    assert got[f'{prefix}.ffns.0.layers.1.weight'] == (768, 3072)
    assert got[f'{prefix}.ffns.0.norm.bias'] == (768,)
    assert got['patch_embed.projection.weight'] == (768, 3, 16, 16)
    assert got['pos_embed'] == (1, 197, 768)
    assert got['time_embed'] == (1, 8, 768)
    assert got['cls_token'] == (1, 1, 768)


def test_timesformer_space_only_keys():
    got = shapes(on_meta(lambda: TimeSformer(num_frames=8, img_size=224, patch_size=16,
                                             attention_type='space_only')))
    assert len(got) == 12 * 12 + 6  # attn 4 + ffn 4 + norms 4; no time_embed
    assert got['transformer_layers.layers.0.norms.1.weight'] == (768,)
    assert got['transformer_layers.layers.0.attentions.0.attn.in_proj_weight'] == (2304, 768)
    assert 'time_embed' not in got


def test_swin_tiny_keys_match_mmaction_1x():
    got = shapes(on_meta(lambda: SwinTransformer3D(arch='tiny', pretrained2d=False)))
    # 14 keys per block x 12 blocks, 3 patch mergings x 3, patch embed 4, norm3 2
    assert len(got) == 14 * 12 + 9 + 4 + 2
    assert got['patch_embed.proj.weight'] == (96, 3, 2, 4, 4)
    assert got['patch_embed.norm.weight'] == (96,)
    block = 'layers.0.blocks.1'
    assert got[f'{block}.attn.relative_position_bias_table'] == (15 * 13 * 13, 3)
    assert got[f'{block}.attn.relative_position_index'] == (392, 392)
    assert got[f'{block}.attn.qkv.weight'] == (288, 96)
    assert got[f'{block}.attn.proj.bias'] == (96,)
    assert got[f'{block}.mlp.fc1.weight'] == (384, 96)
    assert got[f'{block}.norm2.weight'] == (96,)
    assert got['layers.0.downsample.reduction.weight'] == (192, 384)
    assert got['layers.2.downsample.norm.weight'] == (1536,)
    assert got['layers.2.blocks.5.attn.qkv.weight'] == (1152, 384)
    assert 'layers.3.downsample.reduction.weight' not in got
    assert got['norm3.weight'] == (768,)


def test_swin_relative_position_index_layout():
    model = SwinTransformer3D(arch=dict(embed_dims=8, depths=[1], num_heads=[1]),
                              pretrained2d=False, window_size=(2, 2, 2), out_indices=(0,))
    index = model.layers[0].blocks[0].attn.relative_position_index
    # tokens (d, h, w) in row-major order; offset (dd+1, dh+1, dw+1) in a 3x3x3 table
    assert index[0, 0] == (1 * 3 + 1) * 3 + 1
    assert index[0, 7] == 0  # token 7 is (1, 1, 1): offset (-1, -1, -1)
    assert index[7, 0] == 26
    assert index.shape == (8, 8)


# ------------------------------------------------------------------ forward shapes and checks
@pytest.mark.parametrize('factory,clip,expected', [
    (lambda: ResNet3d(18, None, base_channels=8), (2, 3, 8, 32, 32), (2, 64, 4, 1, 1)),
    (lambda: ResNet3d(50, None, base_channels=4, stage_blocks=(1, 1, 1, 1), out_indices=(2, 3),
                      inflate_style='3x3x3', style='caffe'), (2, 3, 8, 32, 32),
     [(2, 64, 4, 2, 2), (2, 128, 4, 1, 1)]),
    (lambda: ResNet3dSlowOnly(18, None, base_channels=8), (2, 3, 4, 32, 32), (2, 64, 4, 1, 1)),
    (lambda: ResNet2Plus1d(18, None, base_channels=8, temporal_strides=(1, 2, 2, 2)),
     (2, 3, 8, 32, 32), (2, 64, 1, 1, 1)),
    (lambda: ResNet3dCSN(50, None, pretrained2d=False, base_channels=4, stage_blocks=(1, 1, 1, 1),
                         bottleneck_mode='ip'), (2, 3, 8, 32, 32), (2, 128, 1, 1, 1)),
    # gamma_w=0.5: 24 * 0.5 = 12 rounds up to 16 stem channels; 128 * 1.5 out of conv5
    (lambda: X3D(gamma_w=0.5, gamma_b=1.5, gamma_d=1), (2, 3, 4, 32, 32), (2, 192, 4, 1, 1)),
    (lambda: C3D(out_dim=C3D.flat_dim(16, 32, 32)), (2, 3, 16, 32, 32), (2, 4096)),
    (lambda: TimeSformer(4, 32, 16, embed_dims=16, num_heads=2, num_transformer_layers=2),
     (2, 3, 4, 32, 32), (2, 16)),
    (lambda: TimeSformer(4, 32, 16, embed_dims=16, num_heads=2, num_transformer_layers=1,
                         attention_type='joint_space_time'), (2, 3, 4, 32, 32), (2, 16)),
    (lambda: SwinTransformer3D(dict(embed_dims=8, depths=[2, 2], num_heads=[1, 2]),
                               pretrained2d=False, window_size=(2, 3, 3), out_indices=(0, 1)),
     (1, 3, 5, 30, 34), [(1, 8, 3, 8, 9), (1, 16, 3, 4, 5)]),
])
def test_forward_shapes(factory, clip, expected):
    torch.manual_seed(0)
    model = factory()
    model.init_weights()
    out = model(torch.rand(clip))
    if isinstance(expected, list):
        assert [tuple(o.shape) for o in out] == expected
    else:
        assert tuple(out.shape) == expected
        assert torch.isfinite(out).all()


def test_slowfast_forward_shapes_and_time_axes():
    model = ResNet3dSlowFast(
        None, resample_rate=4, speed_ratio=2,
        slow_pathway=dict(SLOW, depth=18, base_channels=16),
        fast_pathway=dict(FAST, depth=18, base_channels=2))
    slow, fast = model(torch.rand(2, 3, 16, 32, 32))
    assert slow.shape == (2, 128, 4, 1, 1)  # 16 frames / tau 4
    assert fast.shape == (2, 16, 8, 1, 1)  # alpha = 2 times more frames


@pytest.mark.parametrize('model,clip,message', [
    (lambda: ResNet3d(18, None, base_channels=8), (3, 8, 32, 32), r'\(N, C, T, H, W\)'),
    (lambda: ResNet3d(18, None, base_channels=8), (1, 2, 8, 32, 32), 'C = 3'),
    # I3D stem: temporal stride 2 in conv1 and pool1, then pool2 needs 2 frames: T >= 5
    (lambda: ResNet3d(18, None, base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=2,
                      pool1_stride_t=2), (1, 3, 4, 32, 32), 'T >= 5'),
    (lambda: ResNet3dSlowFast(None, slow_pathway=dict(SLOW, depth=18, base_channels=16),
                              fast_pathway=dict(FAST, depth=18, base_channels=2)),
     (1, 3, 12, 32, 32), 'multiple of resample_rate=8'),
    (lambda: C3D(), (1, 3, 16, 64, 64), 'out_dim=8192'),
    (lambda: TimeSformer(4, 32, 16, embed_dims=16, num_heads=2, num_transformer_layers=1),
     (1, 3, 8, 32, 32), r'\(N, 3, 4, 32, 32\)'),
    (lambda: X3D(), (1, 3, 32, 32), r'\(N, C, T, H, W\)'),
    (lambda: SwinTransformer3D('tiny', pretrained2d=False), (1, 3, 4, 32), r'\(N, C, T, H, W\)'),
])
def test_bad_input_is_named(model, clip, message):
    with pytest.raises(ValueError, match=message):
        model()(torch.rand(clip))


def test_min_frames_is_exact():
    model = ResNet3d(18, None, base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=2,
                     pool1_stride_t=2).eval()
    assert model.min_frames == 5
    assert model(torch.rand(1, 3, 5, 32, 32)).shape[2] == 1


@pytest.mark.parametrize('factory,message', [
    (lambda: ResNet3d(depth=26, pretrained=None), 'depth must be one of'),
    (lambda: ResNet3d(18, None, spatial_strides=(1, 2)), 'spatial_strides'),
    (lambda: ResNet3d(18, None, inflate=(1, 1)), 'inflate'),
    (lambda: ResNet3d(50, None, inflate=((1, 1), 1, 1, 1)), 'inflate has 2 entries'),
    (lambda: ResNet3d(18, None, out_indices=(4,)), 'out_indices'),
    (lambda: ResNet3d(50, None, inflate_style='2x2x2'), 'inflate_style'),
    (lambda: ResNet3dSlowOnly(50, None, lateral=True), 'lateral must be False'),
    (lambda: ResNet2Plus1d(34, None, pretrained2d=True), 'pretrained2d must be False'),
    (lambda: ResNet2Plus1d(34, None, conv_cfg=dict(type='Conv3d')), 'Conv2plus1d'),
    (lambda: ResNet3dCSN(50, None, bottleneck_mode='xx'), 'bottleneck_mode'),
    (lambda: ResNet3dSlowFast(None, resample_rate=4, speed_ratio=8), 'multiple of speed_ratio'),
    (lambda: X3D(se_style='some'), 'se_style'),
    (lambda: TimeSformer(8, 224, 16, attention_type='divided'), 'attention_type'),
    (lambda: TimeSformer(8, 224, 16, transformer_layers=dict(type='X')), 'transformer_layers'),
    (lambda: SwinTransformer3D('huge'), 'arch must be one of'),
])
def test_bad_arguments_are_named(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_three_stage_slowonly_ignores_extra_stage_entries():
    """PoseC3D's configs build a 3-stage SlowOnly and keep the 4-entry default ``non_local``;
    MMAction2 ignores the extra entry, so must we (but not a missing one)."""
    model = ResNet3dSlowOnly(50, None, in_channels=17, base_channels=32, num_stages=3,
                             out_indices=(2,), stage_blocks=(3, 4, 6), conv1_stride_s=1,
                             pool1_stride_s=1, inflate=(0, 1, 1, 1), spatial_strides=(2, 2, 2),
                             temporal_strides=(1, 1, 2), dilations=(1, 1, 1)).eval()
    assert model.non_local_stages == (0, 0, 0) and model.stage_inflations == (0, 1, 1)
    assert not hasattr(model, 'layer4')
    assert model(torch.rand(1, 17, 4, 32, 32)).shape == (1, 512, 2, 4, 4)
    with pytest.raises(ValueError, match=r'non_local needs one entry per stage \(3\)'):
        ResNet3dSlowOnly(50, None, num_stages=3, stage_blocks=(3, 4, 6), non_local=(0, 0),
                         out_indices=(2,),
                         spatial_strides=(1, 2, 2), temporal_strides=(1, 1, 1),
                         dilations=(1, 1, 1))


def test_frozen_stages_and_norm_eval():
    model = ResNet3dSlowFast(
        None, slow_pathway=dict(SLOW, depth=18, base_channels=16, frozen_stages=1,
                                norm_eval=True),
        fast_pathway=dict(FAST, depth=18, base_channels=2))
    model.train()
    slow = model.slow_path
    assert not any(p.requires_grad for p in slow.conv1.parameters())
    assert not any(p.requires_grad for p in slow.layer1.parameters())
    assert not any(p.requires_grad for p in slow.layer1_lateral.parameters())
    assert all(p.requires_grad for p in slow.layer2.parameters())
    assert all(p.requires_grad for p in slow.layer2_lateral.parameters())
    assert not slow.layer3[0].conv1.bn.training  # norm_eval
    assert model.fast_path.layer1[0].conv1.bn.training


def test_zero_init_residual():
    model = ResNet3d(18, None, base_channels=8)
    model.init_weights()
    assert torch.all(model.layer1[0].conv2.bn.weight == 0)
    assert torch.all(model.layer1[0].conv1.bn.weight == 1)


# ------------------------------------------------------------------ 2D inflation
def _torchvision_r18(generator):
    """A torchvision-layout ResNet-18 state dict with random weights and BN statistics."""
    model = ResNet(depth=18)
    sd = {}
    for key, value in model.state_dict().items():  # actionkit 2D names -> torchvision names
        tv = key.replace('downsample.conv', 'downsample.0').replace('downsample.bn', 'downsample.1')
        tv = tv.replace('.conv.weight', '.weight')
        for i in (1, 2):
            tv = tv.replace(f'conv{i}.bn.', f'bn{i}.')
        if value.dtype.is_floating_point:
            value = torch.rand(value.shape, generator=generator) + 0.5
        sd[tv] = value
    sd['fc.weight'] = torch.rand(1000, 512, generator=generator)
    return sd


def test_inflation_from_torchvision_layout(tmp_path, caplog):
    sd = _torchvision_r18(torch.Generator().manual_seed(0))
    path = tmp_path / 'resnet18.pth'
    torch.save(sd, path)
    model = ResNet3d(18, str(path), pretrained2d=True, conv1_kernel=(5, 7, 7),
                     inflate=(1, 0, 0, 1))
    with caplog.at_level(logging.INFO):
        model.init_weights()
    conv1 = model.conv1.conv.weight
    assert conv1.shape == (64, 3, 5, 7, 7)
    for t in range(5):  # repeated over time, divided by the temporal size
        torch.testing.assert_close(conv1[:, :, t], sd['conv1.weight'] / 5)
    torch.testing.assert_close(model.layer4[1].conv2.conv.weight[:, :, 1],
                               sd['layer4.1.conv2.weight'] / 3)
    torch.testing.assert_close(model.layer2[0].conv1.conv.weight[:, :, 0],
                               sd['layer2.0.conv1.weight'])
    torch.testing.assert_close(model.layer3[0].downsample.conv.weight[:, :, 0],
                               sd['layer3.0.downsample.0.weight'])
    torch.testing.assert_close(model.layer3[0].downsample.bn.running_var,
                               sd['layer3.0.downsample.1.running_var'])
    torch.testing.assert_close(model.conv1.bn.bias, sd['bn1.bias'])
    assert 'fc.weight' in caplog.text  # reported as not used


def test_inflated_2d_network_matches_2d_resnet_per_frame(tmp_path):
    """With temporal kernels of 1, the inflated 3D ResNet is the 2D ResNet on every frame."""
    torch.manual_seed(0)
    resnet2d = ResNet(depth=18)
    with torch.no_grad():  # non-trivial BN statistics
        for module in resnet2d.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / 'tsn_like.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in resnet2d.state_dict().items()}},
               path)  # MMAction2's 2D layout, as in a TSN checkpoint
    model3d = ResNet3d(18, str(path), pretrained2d=True, conv1_kernel=(1, 7, 7),
                       inflate=(0, 0, 0, 0), with_pool2=False)
    model3d.init_weights()
    clip = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        out3d = model3d.eval()(clip)  # [2, 512, 3, 2, 2]
        frames = clip.transpose(1, 2).reshape(6, 3, 64, 64)
        out2d = resnet2d.eval()(frames).reshape(2, 3, 512, 2, 2).transpose(1, 2)
    torch.testing.assert_close(out3d, out2d, rtol=1e-4, atol=1e-4)


def test_pathway_inflation_zero_pads_lateral_inputs(tmp_path):
    sd = _torchvision_r18(torch.Generator().manual_seed(1))
    path = tmp_path / 'resnet18.pth'
    torch.save(sd, path)
    model = ResNet3dSlowFast(None, slow_pathway=dict(SLOW, depth=18, pretrained=str(path)),
                             fast_pathway=dict(FAST, depth=18))
    model.init_weights()
    weight = model.slow_path.layer1[0].conv1.conv.weight  # 64 + 16 lateral inputs
    assert weight.shape == (64, 80, 1, 3, 3)
    torch.testing.assert_close(weight[:, :64, 0], sd['layer1.0.conv1.weight'])
    assert torch.all(weight[:, 64:] == 0)
    assert model.slow_path.conv1_lateral.conv.weight.abs().sum() > 0  # Kaiming, not loaded


def test_2d_checkpoint_without_pretrained2d_is_refused(tmp_path):
    path = tmp_path / 'resnet18.pth'
    torch.save(_torchvision_r18(torch.Generator().manual_seed(0)), path)
    with pytest.raises(ValueError, match=r'shape \(64, 3, 7, 7\).*set pretrained2d=True'):
        ResNet3d(18, str(path), pretrained2d=False).init_weights()
    # a 2D weight under a 3D model's own key name: both shapes named
    torch.save({'conv1.conv.weight': torch.rand(64, 3, 7, 7)}, path)
    model = ResNet3dCSN(50, str(path), pretrained2d=False, stage_blocks=(1, 1, 1, 1))
    with pytest.raises(ValueError, match=r'conv1.conv.weight.*needs \(64, 3, 3, 7, 7\)'):
        model.init_weights()


def test_3d_checkpoint_with_pretrained2d_is_refused(tmp_path):
    path = tmp_path / 'r3d.pth'
    torch.save(ResNet3d(18, None, base_channels=8).state_dict(), path)
    with pytest.raises(ValueError, match=r'conv1.conv.weight.*set pretrained2d=False'):
        ResNet3d(18, str(path), base_channels=8, pretrained2d=True).init_weights()


def test_3d_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    source = X3D(gamma_w=0.5, gamma_b=1.5)
    source.init_weights()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.rand_like(p))
    path = tmp_path / 'x3d.pth'
    # a full recognizer checkpoint in mmcv's layout: the backbone. keys are used
    torch.save({'meta': {}, 'state_dict': {**{f'backbone.{k}': v
                                              for k, v in source.state_dict().items()},
                                           'cls_head.fc2.weight': torch.zeros(3, 3)}}, path)
    target = X3D(gamma_w=0.5, gamma_b=1.5, pretrained=str(path))
    target.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value)


def test_slowfast_pretrained_is_strict(tmp_path):
    small = dict(slow_pathway=dict(SLOW, depth=18, base_channels=16),
                 fast_pathway=dict(FAST, depth=18, base_channels=2))
    sd = ResNet3dSlowFast(None, **small).state_dict()
    del sd['slow_path.layer1_lateral.conv.weight']
    path = tmp_path / 'slowfast.pth'
    torch.save(sd, path)
    with pytest.raises(RuntimeError, match='layer1_lateral'):
        ResNet3dSlowFast(str(path), **small).init_weights()


def test_uncached_pretrained_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    model = build_model(dict(type='Recognizer3D', backbone=dict(
        type='ResNet3dSlowOnly', depth=18, pretrained=None, base_channels=8),
        cls_head=dict(type='I3DHead', num_classes=2, in_channels=64)))
    model.backbone.pretrained = 'torchvision://resnet18'
    with pytest.raises(FileNotFoundError, match='ACTIONKIT_OFFLINE'):
        model.backbone.init_weights()


# ------------------------------------------------------------------ transformer weights
def test_timesformer_loads_vit_weights_into_both_attentions(tmp_path):
    vit = TimeSformer(2, 32, 16, embed_dims=16, num_heads=2, num_transformer_layers=2,
                      attention_type='space_only')
    with torch.no_grad():
        for p in vit.parameters():
            p.copy_(torch.rand_like(p))
    path = tmp_path / 'vit.pth'
    torch.save({'state_dict': vit.state_dict()}, path)
    model = TimeSformer(2, 32, 16, pretrained=str(path), embed_dims=16, num_heads=2,
                        num_transformer_layers=2)
    model.init_weights()
    got, src = model.state_dict(), vit.state_dict()
    layer = 'transformer_layers.layers.1'
    for i in (0, 1):
        torch.testing.assert_close(got[f'{layer}.attentions.{i}.attn.in_proj_weight'],
                                   src[f'{layer}.attentions.0.attn.in_proj_weight'])
        torch.testing.assert_close(got[f'{layer}.attentions.{i}.norm.weight'],
                                   src[f'{layer}.norms.0.weight'])
    torch.testing.assert_close(got[f'{layer}.ffns.0.norm.bias'], src[f'{layer}.norms.1.bias'])
    torch.testing.assert_close(got['pos_embed'], src['pos_embed'])
    assert torch.all(got[f'{layer}.attentions.0.temporal_fc.weight'] == 0)


def test_swin_inflates_2d_checkpoint(tmp_path):
    arch = dict(embed_dims=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2])
    model = SwinTransformer3D(arch, pretrained2d=True, window_size=(2, 3, 3))
    sd2d = {}
    for key, value in model.state_dict().items():  # a 2D Swin with 7x7 windows (13x13 tables)
        if 'relative_position_bias_table' in key:
            sd2d[key] = torch.rand(13 * 13, value.shape[1])
        elif key == 'patch_embed.proj.weight':
            sd2d[key] = torch.rand(8, 3, 4, 4)
        elif 'relative_position_index' not in key:
            sd2d[key.replace('norm3.', 'norm.')] = torch.rand(value.shape)
    path = tmp_path / 'swin2d.pth'
    torch.save({'model': sd2d}, path)
    model.pretrained = str(path)
    model.init_weights()
    got = model.state_dict()
    for t in range(2):
        torch.testing.assert_close(got['patch_embed.proj.weight'][:, :, t],
                                   sd2d['patch_embed.proj.weight'] / 2)
    table = got['layers.1.blocks.0.attn.relative_position_bias_table']
    assert table.shape == (3 * 5 * 5, 1)  # resized to 5 x 5, repeated over 2 * 2 - 1 offsets
    torch.testing.assert_close(table[:25], table[50:])
    torch.testing.assert_close(got['norm3.weight'], sd2d['norm.weight'])
    torch.testing.assert_close(got['layers.0.blocks.0.mlp.fc1.weight'],
                               sd2d['layers.0.blocks.0.mlp.fc1.weight'])
