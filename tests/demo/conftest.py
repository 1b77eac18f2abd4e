"""Fixtures of the demo tests: a tiny TSN config over the session's synthetic videos, and a
loader for the scripts in demo/."""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]

TINY_CONFIG = """
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, pretrained=None),
    cls_head=dict(type='TSNHead', num_classes=10, in_channels=512, dropout_ratio=0.0),
    test_cfg=dict(average_clips='prob'))
test_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=4, test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='Normalize', mean=[128, 128, 128], std=[64, 64, 64], to_bgr=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(test=dict(type='VideoDataset', ann_file=None, data_prefix=None,
                      pipeline=test_pipeline))
"""


def _load_demo(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f'_demo_{name}', REPO / 'demo' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_demo() -> Callable[[str], ModuleType]:
    """``load_demo('demo')`` imports ``demo/demo.py`` as a module (its functions, ``main``)."""
    return _load_demo


@pytest.fixture(scope='session')
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A TSN ResNet-18 config for 32x32 videos (4 segments), 10 classes, data_prefix None."""
    path = tmp_path_factory.mktemp('demo_config') / 'tsn_tiny_video_inference.py'
    path.write_text(TINY_CONFIG)
    return str(path)
