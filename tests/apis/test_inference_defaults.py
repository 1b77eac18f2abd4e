"""``init_recognizer`` folds BatchNorm into the convolutions by default (issue 14): the scores are
those of the unfused model to float rounding, on the shipped demo video."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from actionkit.apis import inference_recognizer, init_recognizer
from actionkit.models.builder import build_model

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'demo' / 'demo.mp4'


def _config(tmp_path: Path, backbone: str, head: str, num_clips: int) -> Path:
    path = tmp_path / f'{backbone}.py'
    extra = ', num_segments=4' if backbone == 'ResNetTSM' else ''
    head_extra = ', num_segments=4' if head == 'TSMHead' else ''
    path.write_text(f"""\
model = dict(type='Recognizer2D',
             backbone=dict(type='{backbone}', depth=18, base_channels=8, pretrained=None{extra}),
             cls_head=dict(type='{head}', num_classes=7, in_channels=64{head_extra}),
             test_cfg=dict(average_clips='prob'))
data = dict(test=dict(type='VideoDataset', ann_file='none.txt', data_prefix=None, pipeline=[
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips={num_clips},
         test_mode=True),
    dict(type='PyAVDecode'), dict(type='Resize', scale=(-1, 128)),
    dict(type='ThreeCrop', crop_size=128),
    dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
         to_bgr=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]), dict(type='ToTensor', keys=['imgs'])]))
""")
    return path


def _checkpoint(config: Path) -> Path:
    """Random weights with BatchNorm statistics far from the identity, so fusing matters."""
    from actionkit.config import Config

    torch.manual_seed(0)
    model = build_model(Config.fromfile(str(config)).model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                size = module.num_features
                module.running_mean.copy_(torch.randn(size, generator=generator) * 0.5)
                module.running_var.copy_(torch.rand(size, generator=generator) * 2 + 0.2)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(size, generator=generator) * 0.3)
    path = config.with_suffix('.pth')
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return path


@pytest.mark.parametrize('backbone, head, num_clips', [('ResNet', 'TSNHead', 3),
                                                       ('ResNetTSM', 'TSMHead', 4)])
def test_default_fusion_gives_the_unfused_scores(tmp_path, backbone, head, num_clips):
    config = _config(tmp_path, backbone, head, num_clips)
    checkpoint = _checkpoint(config)
    fused = init_recognizer(str(config), str(checkpoint), device='cpu')
    plain = init_recognizer(str(config), str(checkpoint), device='cpu', fuse_conv_bn=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())  # fused by default
    assert sum(isinstance(m, nn.BatchNorm2d) for m in plain.modules()) > 10
    got = dict(inference_recognizer(fused, str(DEMO)))
    expected = dict(inference_recognizer(plain, str(DEMO)))
    assert list(got) == list(expected)  # the same top-5 classes in the same order
    for label, score in expected.items():
        assert got[label] == pytest.approx(score, abs=1e-4), label
    assert max(expected.values()) - min(expected.values()) > 1e-3  # not a flat distribution
