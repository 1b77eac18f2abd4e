"""Tests of TANet and its temporal adaptive module (TAM): MMAction2 0.x state-dict keys,
TAM numerics against a frame-by-frame reference, input and argument checks, loading a plain
ResNet checkpoint, and one training step of a shipped config.

Expected keys and shapes are derived from MMAction2 0.24.1's source (``TABlock`` wraps each
bottleneck as ``block`` beside a ``tam``), not from this implementation.
"""
from pathlib import Path

import pytest
import torch

from actionkit.config import Config
from actionkit.models import build_model, turn_off_pretrained
from actionkit.models.backbones.resnet import ResNet
from actionkit.models.backbones.tanet import TABlock, TANet
from actionkit.models.tam import TAM

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'recognition' / 'tanet'
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def bn(prefix, channels):
    return {f'{prefix}.{n}': () if n == 'num_batches_tracked' else (channels,) for n in BN_KEYS}


def conv_module(prefix, shape):
    return {f'{prefix}.conv.weight': shape, **bn(f'{prefix}.bn', shape[0])}


def expected_tanet_r50(num_segments):
    """Every key of MMAction2 0.x's TANet-R50 backbone with its shape."""
    keys = conv_module('conv1', (64, 3, 7, 7))
    inplanes = 64
    for stage, blocks in enumerate((3, 4, 6, 3)):
        planes = 64 * 2**stage
        for b in range(blocks):
            p = f'layer{stage + 1}.{b}'
            block_in = inplanes if b == 0 else planes * 4
            keys.update(conv_module(f'{p}.block.conv1', (planes, block_in, 1, 1)))
            keys.update(conv_module(f'{p}.block.conv2', (planes, planes, 3, 3)))
            keys.update(conv_module(f'{p}.block.conv3', (planes * 4, planes, 1, 1)))
            if b == 0:
                keys.update(conv_module(f'{p}.block.downsample', (planes * 4, block_in, 1, 1)))
            # TAM(in_channels=planes): G = Linear(T, 2T), BN1d(2T), ReLU, Linear(2T, 3), Softmax
            keys[f'{p}.tam.G.0.weight'] = (2 * num_segments, num_segments)
            keys.update(bn(f'{p}.tam.G.1', 2 * num_segments))
            keys[f'{p}.tam.G.3.weight'] = (3, 2 * num_segments)
            # L = Conv1d(C, C/4, 3), BN1d(C/4), ReLU, Conv1d(C/4, C, 1), Sigmoid
            keys[f'{p}.tam.L.0.weight'] = (planes // 4, planes, 3)
            keys.update(bn(f'{p}.tam.L.1', planes // 4))
            keys[f'{p}.tam.L.3.weight'] = (planes, planes // 4, 1)
        inplanes = planes * 4
    return keys


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize('num_segments', [8, 16])
def test_tanet_r50_keys_match_mmaction(num_segments):
    with torch.device('meta'):
        model = TANet(depth=50, num_segments=num_segments)
    expected = expected_tanet_r50(num_segments)
    assert shapes(model) == expected
    assert len(expected) == 318 + 16 * 14  # ResNet-50's keys + 14 per TAM


# ------------------------------------------------------------------ TAM numerics
def tam_reference(tam, x):
    """TAM written frame by frame: the local weights rescale, then each channel of each clip
    is convolved over time with its own kernel (zero padding)."""
    t, k, pad = tam.num_segments, tam.adaptive_kernel_size, tam.adaptive_convolution_padding
    clips = x.view(-1, t, *x.shape[1:])  # [N, T, C, H, W]
    out = torch.zeros_like(clips)
    for n in range(clips.shape[0]):
        means = clips[n].mean(dim=(2, 3)).t()  # [C, T]
        kernels = tam.G(means)  # [C, K]
        local = tam.L(means.unsqueeze(0))[0]  # [C, T]
        for c in range(clips.shape[2]):
            weighted = clips[n, :, c] * local[c].view(t, 1, 1)  # [T, H, W]
            for frame in range(t):
                for tap in range(k):
                    src = frame + tap - pad
                    if 0 <= src < t:
                        out[n, frame, c] += kernels[c, tap] * weighted[src]
    return out.view_as(x)


@pytest.mark.parametrize('cfg', [dict(), dict(adaptive_kernel_size=5,
                                              adaptive_convolution_padding=2, beta=2, alpha=3)])
def test_tam_matches_frame_by_frame_reference(cfg):
    torch.manual_seed(0)
    tam = TAM(in_channels=8, num_segments=4, **cfg)
    for module in tam.modules():  # non-trivial eval statistics
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    tam.eval()
    x = torch.randn(2 * 4, 8, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(tam(x), tam_reference(tam, x), rtol=1e-5, atol=1e-6)


def test_tam_keeps_clips_apart():
    torch.manual_seed(0)
    tam = TAM(in_channels=8, num_segments=3).eval()
    x = torch.randn(6, 8, 2, 2)
    changed = x.clone()
    changed[3:] += 5.0  # only the second clip
    with torch.no_grad():
        a, b = tam(x), tam(changed)
    torch.testing.assert_close(a[:3], b[:3])
    assert not torch.allclose(a[3:], b[3:])


def test_tam_argument_checks():
    with pytest.raises(ValueError, match='keep num_segments=8'):
        TAM(16, 8, adaptive_kernel_size=5)  # padding 1 would give 6 frames
    with pytest.raises(ValueError, match='beta'):
        TAM(16, 8, beta=0)
    with pytest.raises(ValueError, match='in_channels // beta'):
        TAM(2, 8, beta=4)
    with pytest.raises(ValueError, match=r'\(N \* 4, 8, H, W\)'):
        TAM(8, 4)(torch.randn(6, 8, 2, 2))


# ------------------------------------------------------------------ TANet
def tiny(**kwargs):
    return TANet(depth=50, num_segments=kwargs.pop('num_segments', 4), base_channels=8,
                 **kwargs)


def test_forward_shape_and_block_order():
    torch.manual_seed(0)
    model = tiny().eval()
    out = model(torch.randn(8, 3, 64, 64))  # 2 clips of 4 frames
    assert out.shape == (8, 256, 2, 2)
    block = model.layer2[0]
    assert isinstance(block, TABlock) and block.tam.in_channels == 16  # planes, not inplanes
    x = torch.randn(8, 32, 8, 8)
    with torch.no_grad():
        inner = block.block
        expected = inner.relu(inner.conv3(inner.conv2(block.tam(inner.conv1(x))))
                              + inner.downsample(x))
        torch.testing.assert_close(block(x), expected)


def test_num_segments_mismatch_is_a_clear_error():
    model = tiny(num_segments=8)
    with pytest.raises(ValueError, match=r'TANet\(num_segments=8\).*N \* 8 frames.*\(12, 3'):
        model(torch.randn(12, 3, 32, 32))


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=18, num_segments=8), r'depth must be one of \[50, 101, 152\]'),
    (dict(depth=50, num_segments=2), 'num_segments must be an int >= 3'),
    (dict(depth=50, num_segments=8, tam_cfg=dict(gamma=1)), r"unknown tam_cfg keys \['gamma'\]"),
])
def test_argument_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TANet(**kwargs)


def test_tam_cfg_reaches_every_block():
    model = tiny(tam_cfg=dict(alpha=3, beta=2))
    tams = [m for m in model.modules() if isinstance(m, TAM)]
    assert len(tams) == 16 and all(t.alpha == 3 and t.beta == 2 for t in tams)


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain, checkpointed = tiny(), tiny(with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    for model in (plain, checkpointed):
        model.train()
        model(x).sum().backward()
    torch.testing.assert_close(plain.conv1.conv.weight.grad, checkpointed.conv1.conv.weight.grad,
                               rtol=1e-4, atol=1e-5)


def test_plain_resnet_checkpoint_loads_into_the_blocks(tmp_path):
    torch.manual_seed(0)
    resnet = ResNet(50, base_channels=8)
    path = tmp_path / 'resnet.pth'
    torch.save({'state_dict': resnet.state_dict()}, path)
    model = tiny(pretrained=str(path), torchvision_pretrain=False)
    model.init_weights()
    torch.testing.assert_close(model.layer3[2].block.conv2.conv.weight,
                               resnet.layer3[2].conv2.conv.weight)
    torch.testing.assert_close(model.conv1.bn.running_var, resnet.conv1.bn.running_var)


def test_norm_eval_covers_the_tam_norms():
    model = tiny(norm_eval=True).train()
    assert not model.layer1[0].tam.G[1].training and not model.layer1[0].tam.L[1].training


def test_config_builds_and_trains_one_step():
    cfg = Config.fromfile(str(CONFIGS / 'tanet_r50_1x1x8_50e_sthv1_rgb.py'))
    turn_off_pretrained(cfg.model)
    cfg.model.backbone.base_channels = 8  # same architecture, 1/8 of the width
    cfg.model.cls_head.in_channels = 256
    torch.manual_seed(0)
    model = build_model(cfg.model)
    assert type(model.backbone) is TANet and model.backbone.num_segments == 8
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.backbone.layer1[0].tam.G[0].weight.detach().clone()
    batch = dict(imgs=torch.randn(2, 8, 3, 32, 32), label=torch.tensor([[3], [170]]))
    outputs = model.train_step(batch, optimizer)
    outputs['loss'].backward()
    optimizer.step()
    assert torch.isfinite(outputs['loss']) and outputs['num_samples'] == 2
    assert {'loss_cls', 'top1_acc'} <= set(outputs['log_vars'])
    assert not torch.equal(before, model.backbone.layer1[0].tam.G[0].weight)
    model.eval()
    assert model(batch['imgs'], return_loss=False).shape == (2, 174)
