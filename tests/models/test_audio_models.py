"""ResNetAudio, AudioTSNHead and AudioRecognizer: MMAction2 0.24.1's state-dict keys and
shapes for its shipped config (worked out from its source by hand), and the train/test paths."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.config import Config
from actionkit.datasets.pipelines import Compose
from actionkit.models import build_model
from actionkit.models.backbones.resnet_audio import ResNetAudio

# configs/_base_/models/audioonly_r50.py of MMAction2 0.24.1
AUDIOONLY_R50 = dict(
    type='AudioRecognizer',
    backbone=dict(type='ResNetAudio', depth=50, pretrained=None, in_channels=1,
                  norm_eval=False),
    cls_head=dict(type='AudioTSNHead', num_classes=400, in_channels=1024, dropout_ratio=0.5,
                  init_std=0.01),
    train_cfg=None, test_cfg=dict(average_clips='prob'))

# stem: ConvModule(ConvAudio(op='sum')) = a 9x1 and a 1x9 branch (each conv + BN), then BN;
# layer1/2 blocks factorise their 3x3 into concatenated 3x1 / 1x3 branches (conv3 takes 2P);
# layer3/4 use a plain 3x3
EXPECTED_SHAPES = {
    'backbone.conv1.conv.conv_1.conv.weight': (32, 1, 9, 1),
    'backbone.conv1.conv.conv_1.bn.weight': (32,),
    'backbone.conv1.conv.conv_1.bn.num_batches_tracked': (),
    'backbone.conv1.conv.conv_2.conv.weight': (32, 1, 1, 9),
    'backbone.conv1.conv.conv_2.bn.running_var': (32,),
    'backbone.conv1.bn.weight': (32,),
    'backbone.conv1.bn.running_mean': (32,),
    'backbone.layer1.0.conv1.conv.weight': (32, 32, 1, 1),
    'backbone.layer1.0.conv1.bn.bias': (32,),
    'backbone.layer1.0.conv2.conv.conv_1.conv.weight': (32, 32, 3, 1),
    'backbone.layer1.0.conv2.conv.conv_1.bn.weight': (32,),
    'backbone.layer1.0.conv2.conv.conv_2.conv.weight': (32, 32, 1, 3),
    'backbone.layer1.0.conv3.conv.weight': (128, 64, 1, 1),
    'backbone.layer1.0.conv3.bn.weight': (128,),
    'backbone.layer1.0.downsample.conv.weight': (128, 32, 1, 1),
    'backbone.layer1.0.downsample.bn.running_var': (128,),
    'backbone.layer1.1.conv1.conv.weight': (32, 128, 1, 1),
    'backbone.layer2.0.conv2.conv.conv_2.conv.weight': (64, 64, 1, 3),
    'backbone.layer2.3.conv3.conv.weight': (256, 128, 1, 1),
    'backbone.layer3.0.conv2.conv.weight': (128, 128, 3, 3),
    'backbone.layer3.0.conv3.conv.weight': (512, 128, 1, 1),
    'backbone.layer3.0.downsample.conv.weight': (512, 256, 1, 1),
    'backbone.layer3.5.conv1.conv.weight': (128, 512, 1, 1),
    'backbone.layer4.0.downsample.bn.weight': (1024,),
    'backbone.layer4.2.conv3.bn.weight': (1024,),
    'cls_head.fc_cls.weight': (400, 1024),
    'cls_head.fc_cls.bias': (400,),
}


def test_audioonly_r50_state_dict_matches_mmaction():
    with torch.device('meta'):
        model = build_model(AUDIOONLY_R50)
    state = model.state_dict()
    for key, shape in EXPECTED_SHAPES.items():
        assert key in state, key
        assert tuple(state[key].shape) == shape, key
    # keys: stem 6 + 6 + 5; factorised block 24 (+6 with downsample), plain block 13 (+6):
    # 17 + (30 + 2*24) + (30 + 3*24) + (19 + 5*13) + (19 + 2*13) = 326, plus the head's 2
    assert len(state) == 328
    assert not any('conv2.bn' in k or 'conv2.activate' in k for k in state
                   if '.conv.conv_' not in k)
    # parameters: stem 768; layer1 57,920; layer2 323,584; layer3 1,778,176; layer4 3,745,280
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert backbone == 768 + 57920 + 323584 + 1778176 + 3745280
    assert model.backbone.feat_dim == 1024


def test_factorize_per_block_and_stage_count():
    net = ResNetAudio(depth=50, num_stages=2, factorize=[(1, 0, 1), 0])
    assert net.res_layers == ['layer1', 'layer2'] and net.feat_dim == 64 * 4
    assert hasattr(net.layer1[0].conv2.conv, 'conv_1')  # factorised
    assert isinstance(net.layer1[1].conv2.conv, torch.nn.Conv2d)
    assert net.layer1[2].conv3.conv.in_channels == 64
    with pytest.raises(ValueError, match='factorize has 2 entries for a stage of 3'):
        ResNetAudio(depth=50, factorize=[(1, 0), 0, 0, 0])
    with pytest.raises(KeyError, match='invalid depth 18'):
        ResNetAudio(depth=18)
    with pytest.raises(ValueError, match=r'frozen_stages must be in \[-1, 4\], got 5'):
        ResNetAudio(depth=50, frozen_stages=5)


def _small(num_classes=3, **head):
    return build_model(dict(
        type='AudioRecognizer',
        backbone=dict(type='ResNetAudio', depth=50, base_channels=4),
        cls_head=dict(type='AudioTSNHead', num_classes=num_classes, in_channels=128,
                      dropout_ratio=0.0, **head),
        test_cfg=dict(average_clips='score')))


def test_recognizer_train_and_test_paths():
    torch.manual_seed(0)
    model = _small()
    audios = torch.randn(2, 3, 1, 32, 16)  # 2 samples of 3 clips
    losses = model(audios, torch.tensor([[0], [2]]), return_loss=True)
    assert set(losses) == {'loss_cls', 'top1_acc', 'top5_acc'}
    losses['loss_cls'].backward()
    model.eval()
    with torch.no_grad():
        scores = model(audios, return_loss=False)
        per_clip = model.forward_dummy(audios)[0]
    assert scores.shape == (2, 3)
    # 'score' averaging: a sample's score is the mean of its 3 clips' scores
    assert np.allclose(scores, per_clip.reshape(2, 3, 3).mean(1).numpy(), atol=1e-6)
    assert model.backbone(audios[:, 0]).shape == (2, 128, 4, 2)  # strides 1, 2, 2, 2
    step = model.train_step(dict(audios=audios, label=torch.tensor([[1], [1]])))
    assert step['num_samples'] == 2 and 'loss' in step
    with pytest.raises(ValueError, match=r'audios of shape \(N, num_clips, C, T, F\)'):
        model(audios[0], return_loss=False)


def test_pretrained_loads_a_recognizer_checkpoint(tmp_path):
    torch.manual_seed(1)
    source = _small()
    path = tmp_path / 'audio.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    backbone = ResNetAudio(depth=50, base_channels=4, pretrained=str(path))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, source.state_dict()['backbone.' + key]), key
    # and a whole recognizer loads its own checkpoint strictly
    _small().load_state_dict(source.state_dict(), strict=True)


def test_frozen_stages_and_norm_eval():
    net = ResNetAudio(depth=50, base_channels=4, frozen_stages=1, norm_eval=True)
    net.train()
    assert not any(p.requires_grad for p in net.conv1.parameters())
    assert not any(p.requires_grad for p in net.layer1.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())
    assert not net.layer2[0].conv1.bn.training


SHIPPED = sorted((Path(__file__).resolve().parents[2] / 'configs' / 'recognition_audio')
                 .rglob('*.py'))


@pytest.mark.parametrize('path', SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_audio_configs_build(path):
    cfg = Config.fromfile(str(path))
    with torch.device('meta'):
        model = build_model(cfg.model)
    assert type(model).__name__ == 'AudioRecognizer'
    for split in ('train', 'val', 'test'):
        steps = Compose(cfg.data[split].pipeline).transforms
        assert type(steps[-1]).__name__ == 'ToTensor'
        assert 'MelLogSpectrogram' not in repr(steps)
