"""Tests of MobileNetV2 and MobileNetV2TSM: MMAction2 0.x state-dict keys and shapes, forward
shapes, the temporal shift, frozen stages / norm_eval, argument checks, pretrained loading
(``mmcls://``) and the shipped TSM-MobileNetV2 configs.

Expected keys and shapes are derived from the MobileNetV2 paper's table and MMAction2 0.24.1's
module layout (mmcls's ``InvertedResidual``; TSM's shift wraps ``conv.0`` of the blocks that
have a residual connection), not from this implementation. Full-size models are built on the
``meta`` device.
"""
from pathlib import Path

import pytest
import torch

from actionkit.config import Config
from actionkit.models import build_model, turn_off_pretrained
from actionkit.models.backbones.mobilenet_v2 import InvertedResidual, MobileNetV2, make_divisible
from actionkit.models.backbones.mobilenet_v2_tsm import MobileNetV2TSM
from actionkit.models.backbones.resnet_tsm import TemporalShift
from actionkit.models.weights import MMCLS_CHECKPOINTS, resolve_pretrained

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'recognition' / 'tsm'
CONFIGS = sorted(CONFIG_DIR.glob('tsm_mobilenetv2_*.py'))
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
# the paper's Table 2: expansion t, channels c, blocks n, stride s
PAPER_TABLE = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1))


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


def expected_keys(widen=1.0, shifted=False):
    """Every key of MMAction2 0.x's MobileNetV2 (TSM: after its init_weights), with shapes."""
    def width(c):  # widths used here are multiples of 8 once scaled
        return max(8, int(c * widen + 4) // 8 * 8)

    in_c = width(32)
    keys = conv_module('conv1', (in_c, 3, 3, 3))
    for stage, (t, c, n, _s) in enumerate(PAPER_TABLE):
        out_c = width(c)
        for b in range(n):
            p = f'layer{stage + 1}.{b}.conv'
            hidden = in_c * t
            residual = b > 0 and in_c == out_c  # later blocks have stride 1
            parts = [(hidden, in_c, 1, 1)] if t != 1 else []
            parts += [(hidden, 1, 3, 3), (out_c, hidden, 1, 1)]
            for i, shape in enumerate(parts):
                wrap = '.net' if shifted and residual and t != 1 and i == 0 else ''
                keys.update(conv_module(f'{p}.{i}{wrap}', shape))
            in_c = out_c
    keys.update(conv_module('conv2', (int(1280 * max(widen, 1.0)), in_c, 1, 1)))
    return keys


# ------------------------------------------------------------------ helpers
def test_make_divisible_by_hand():
    assert make_divisible(32, 8) == 32
    assert make_divisible(16 * 0.5, 8) == 8
    assert make_divisible(3, 8) == 8  # never below the divisor
    assert make_divisible(20, 8) == 24  # rounds half up
    assert make_divisible(27, 8) == 32  # 24 would lose more than 10%
    assert make_divisible(27, 8, min_ratio=0.8) == 24


# ------------------------------------------------------------------ state-dict keys
@pytest.mark.parametrize('widen', [1.0, 1.5, 0.5])
def test_keys_match_mmaction(widen):
    assert shapes(on_meta(lambda: MobileNetV2(widen_factor=widen))) == expected_keys(widen)


def test_key_count_of_the_standard_model():
    # stem 6 + 17 blocks (one without expansion: 2 ConvModules, 16 with 3) x 6 + conv2 6
    assert len(expected_keys()) == 6 + (2 + 16 * 3) * 6 + 6 == 312


def test_tsm_keys_match_mmaction():
    got = shapes(on_meta(lambda: MobileNetV2TSM()))
    assert got == expected_keys(shifted=True)
    wrapped = {k.split('.conv.0.net.')[0] for k in got if '.conv.0.net.' in k}
    assert wrapped == {'layer2.1', 'layer3.1', 'layer3.2', 'layer4.1', 'layer4.2', 'layer4.3',
                       'layer5.1', 'layer5.2', 'layer6.1', 'layer6.2'}
    assert shapes(on_meta(lambda: MobileNetV2TSM(is_shift=False))) == expected_keys()


# ------------------------------------------------------------------ forward
def test_forward_shapes_of_every_stage():
    model = MobileNetV2(widen_factor=0.5, out_indices=tuple(range(8))).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 64, 64))
    channels = [8, 16, 16, 32, 48, 80, 160, 1280]  # make_divisible(c * 0.5, 8); conv2 stays 1280
    sizes = [32, 16, 8, 4, 4, 2, 2, 2]
    assert [tuple(o.shape) for o in outs] == [(2, c, s, s) for c, s in zip(channels, sizes)]
    assert MobileNetV2(out_indices=(7,)).eval()(torch.rand(1, 3, 32, 32)).shape == (1, 1280, 1, 1)


def test_inverted_residual_adds_its_input_only_when_shapes_match():
    torch.manual_seed(0)
    block = InvertedResidual(8, 8, 1, expand_ratio=2).eval()
    x = torch.randn(2, 8, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(block(x), x + block.conv(x))
    assert len(block.conv) == 3
    assert not InvertedResidual(8, 16, 1, expand_ratio=2).use_res_connect
    assert not InvertedResidual(8, 8, 2, expand_ratio=2).use_res_connect
    assert len(InvertedResidual(8, 8, 1, expand_ratio=1).conv) == 2


def test_with_cp_gives_the_same_output_and_gradients():
    torch.manual_seed(0)
    plain = MobileNetV2TSM(num_segments=2, widen_factor=0.25)
    cp = MobileNetV2TSM(num_segments=2, widen_factor=0.25, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for model in (plain, cp):
        model.train()
        model(x).sum().backward()
        grads.append(model.layer3[1].conv[0].net.conv.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


# ------------------------------------------------------------------ temporal shift
def test_shifted_block_runs_its_expansion_on_shifted_input():
    torch.manual_seed(0)
    model = MobileNetV2TSM(num_segments=4, shift_div=4, widen_factor=0.5).eval()
    block = model.layer3[1]
    assert isinstance(block.conv[0], TemporalShift) and block.use_res_connect
    assert not isinstance(model.layer3[0].conv[0], TemporalShift)  # no residual connection
    assert (block.conv[0].num_segments, block.conv[0].shift_div) == (4, 4)
    x = torch.randn(8, 16, 4, 4)
    with torch.no_grad():
        expected = x + block.conv[2](block.conv[1](block.conv[0].net(
            TemporalShift.shift(x, 4, shift_div=4))))
        torch.testing.assert_close(block(x), expected)


def test_shift_mixes_frames_of_a_clip_and_never_two_clips():
    torch.manual_seed(0)
    shifted = MobileNetV2TSM(num_segments=2, widen_factor=0.25).eval()
    plain = MobileNetV2TSM(num_segments=2, widen_factor=0.25, is_shift=False).eval()
    plain.load_state_dict({k.replace('.net.', '.'): v for k, v in shifted.state_dict().items()})
    x = torch.randn(4, 3, 32, 32)  # 2 clips x 2 frames
    y = x.clone()
    y[1] += 1.0  # change the second frame of the first clip
    with torch.no_grad():
        out_x, out_y = shifted(x), shifted(y)
        plain_x, plain_y = plain(x), plain(y)
    assert not torch.allclose(out_x[0], out_y[0])  # frame 0 sees frame 1 through the shift
    torch.testing.assert_close(out_x[2:], out_y[2:])  # the second clip is untouched
    torch.testing.assert_close(plain_x[0], plain_y[0])  # without the shift frames are apart


def test_tsm_batch_must_hold_whole_clips():
    model = MobileNetV2TSM(num_segments=3, widen_factor=0.25)
    with pytest.raises(ValueError, match=r'N \* 3 frames .*Got \(4, 3, 32, 32\)'):
        model(torch.rand(4, 3, 32, 32))
    MobileNetV2TSM(num_segments=3, widen_factor=0.25, is_shift=False).eval()(
        torch.rand(4, 3, 32, 32))


# ------------------------------------------------------------------ training mode
def test_frozen_stages_and_norm_eval():
    model = MobileNetV2TSM(num_segments=2, widen_factor=0.25, frozen_stages=2, norm_eval=True)
    model.train()
    for name in ('conv1', 'layer1', 'layer2'):
        assert not any(p.requires_grad for p in getattr(model, name).parameters()), name
        assert not getattr(model, name).training
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert model.layer3.training and not model.layer3[0].conv[1].bn.training  # norm_eval
    running = model.layer4[0].conv[0].bn.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    torch.testing.assert_close(model.layer4[0].conv[0].bn.running_mean, running)


def test_frozen_everything_and_training_again():
    model = MobileNetV2(widen_factor=0.25, frozen_stages=8)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    unfrozen = MobileNetV2(widen_factor=0.25).train()
    assert all(m.training for m in unfrozen.modules())
    assert not any(m.training for m in unfrozen.eval().modules())


# ------------------------------------------------------------------ argument checks
@pytest.mark.parametrize('factory,error,message', [
    (lambda: MobileNetV2(out_indices=(8,)), ValueError, r'out_indices .*\[0, 7\].*\(8,\)'),
    (lambda: MobileNetV2(out_indices=()), ValueError, 'out_indices'),
    (lambda: MobileNetV2(out_indices=7), TypeError, 'out_indices must be a sequence'),
    (lambda: MobileNetV2(frozen_stages=9), ValueError, r'frozen_stages .*\[-1, 8\].*9'),
    (lambda: MobileNetV2(widen_factor=0), ValueError, 'widen_factor .*got 0'),
    (lambda: MobileNetV2(pretrained=3), TypeError, 'pretrained must be a str or None'),
    (lambda: MobileNetV2TSM(num_segments=0), ValueError, 'num_segments .*got 0'),
    (lambda: MobileNetV2TSM(shift_div=2.5), ValueError, 'shift_div .*got 2.5'),
    (lambda: MobileNetV2TSM(is_shift='yes'), TypeError, 'is_shift'),
    (lambda: InvertedResidual(8, 8, 3, 6), ValueError, 'stride must be 1 or 2, got 3'),
    (lambda: InvertedResidual(8, 8, 1, 0), ValueError, 'expand_ratio .*got 0'),
    (lambda: InvertedResidual(8, 8, 1, 1, expand_wrapper=torch.nn.Identity), ValueError,
     'expand_ratio=1'),
])
def test_bad_arguments_are_named(factory, error, message):
    with pytest.raises(error, match=message):
        factory()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\). Got \(2, 4, 8, 8\)'):
        MobileNetV2(widen_factor=0.25)(torch.rand(2, 4, 8, 8))


# ------------------------------------------------------------------ pretrained weights
@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    folder = tmp_path / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    return folder


def test_mmcls_name_is_looked_up_in_the_hub_cache(hub_cache):
    model = MobileNetV2TSM(num_segments=2, widen_factor=0.25,
                           pretrained='mmcls://mobilenet_v2')
    file_name = MMCLS_CHECKPOINTS['mobilenet_v2'].rsplit('/', 1)[1]
    with pytest.raises(FileNotFoundError, match=file_name):
        model.init_weights()
    # an mmcls classifier: plain MobileNetV2 keys under backbone., plus its head
    torch.manual_seed(1)
    source = MobileNetV2(widen_factor=0.25)
    state_dict = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state_dict['head.fc.weight'] = torch.zeros(1000, 1280)
    torch.save({'meta': {}, 'state_dict': state_dict}, hub_cache / file_name)
    model.init_weights()
    loaded = model.state_dict()
    plain = source.state_dict()
    assert sum('.net.' in key for key in loaded) == 10 * 6  # the shift wrappers too
    for key, value in loaded.items():
        torch.testing.assert_close(value, plain[key.replace('.net.', '.')])


def test_mmcls_names_resolve_anywhere_a_checkpoint_is_named(hub_cache):
    """``load_from`` / ``load_checkpoint`` take ``mmcls://`` names too, not only the backbone."""
    with pytest.raises(FileNotFoundError, match='ACTIONKIT_OFFLINE'):
        resolve_pretrained('mmcls://mobilenet_v2')
    path = hub_cache / MMCLS_CHECKPOINTS['mobilenet_v2'].rsplit('/', 1)[1]
    path.write_bytes(b'')
    assert resolve_pretrained('mmcls://mobilenet_v2') == str(path)


def test_unknown_mmcls_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown mmcls checkpoint 'resnet9000'.*mobilenet_v2"):
        MobileNetV2(pretrained='mmcls://resnet9000').init_weights()


def test_tsm_recognizer_checkpoint_loads_into_plain_backbone(tmp_path):
    torch.manual_seed(2)
    tsm = MobileNetV2TSM(num_segments=2, widen_factor=0.25)
    path = tmp_path / 'tsm.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in tsm.state_dict().items()}
                | {'cls_head.fc_cls.weight': torch.zeros(3, 1280)}}, path)
    plain = MobileNetV2(widen_factor=0.25, pretrained=str(path))
    plain.init_weights()
    torch.testing.assert_close(plain.layer2[1].conv[0].conv.weight,
                               tsm.layer2[1].conv[0].net.conv.weight)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        MobileNetV2(pretrained=str(tmp_path / 'missing.pth')).init_weights()


# ------------------------------------------------------------------ configs
def test_mmaction_configs_are_shipped():
    assert {p.name for p in CONFIGS} == {
        'tsm_mobilenetv2_dense_1x1x8_100e_kinetics400_rgb.py',
        'tsm_mobilenetv2_video_dense_1x1x8_100e_kinetics400_rgb.py',
        'tsm_mobilenetv2_video_inference_dense_1x1x8_100e_kinetics400_rgb.py'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_on_meta(path):
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.pretrained == 'mmcls://mobilenet_v2'
    turn_off_pretrained(cfg.model)
    with torch.device('meta'):
        model = build_model(cfg.model)
        (scores,) = model.forward_dummy(torch.empty(1, 8, 3, 224, 224))
    assert type(model.backbone) is MobileNetV2TSM and model.backbone.num_segments == 8
    assert tuple(scores.shape) == (1, 400)
    if 'inference' not in path.name:
        assert cfg.optimizer.weight_decay == 0.00002 and cfg.total_epochs == 100


def test_config_trains_and_tests_on_a_tiny_clip():
    cfg = Config.fromfile(str(CONFIGS[0]))
    turn_off_pretrained(cfg.model)
    torch.manual_seed(0)
    model = build_model(cfg.model)
    imgs = torch.rand(1, 8, 3, 32, 32)  # one clip of 8 segments
    losses = model(imgs, torch.tensor([[3]]))
    losses['loss_cls'].backward()
    assert torch.isfinite(losses['loss_cls'])
    assert model.backbone.layer4[1].conv[0].net.conv.weight.grad is not None
    model.eval()
    scores = model(imgs, return_loss=False)
    assert scores.shape == (1, 400)
    assert abs(float(scores.sum()) - 1.0) < 1e-4  # average_clips='prob'


def test_load_checkpoint_reads_mmcls_files_as_mmcv_does(hub_cache):
    """``load_checkpoint(backbone, 'mmcls://...')`` takes the classifier's ``backbone.``
    entries, as mmcv does, so a user's own backbone can load it too."""
    from actionkit.models.weights import load_checkpoint

    torch.manual_seed(3)
    source = MobileNetV2(widen_factor=0.25)
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(1000, 1280)
    path = hub_cache / MMCLS_CHECKPOINTS['mobilenet_v2'].rsplit('/', 1)[1]
    torch.save({'state_dict': state}, path)
    target = MobileNetV2(widen_factor=0.25)
    load_checkpoint(target, 'mmcls://mobilenet_v2', strict=True)
    torch.testing.assert_close(target.conv1.conv.weight, source.conv1.conv.weight)
