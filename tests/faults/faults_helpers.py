"""Shared pieces of the fault suite: the tiny model and pipelines, config files written on the
fly, and the command-line tools loaded as modules (so they run in the test process, fast)."""
from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

__all__ = ['REPO', 'HERE', 'NUM_CLASSES', 'TINY_MODEL', 'video_pipeline', 'rawframe_pipeline',
           'write_config', 'load_tool', 'subprocess_env', 'slug']

NUM_CLASSES = 10
# a TSN on a ResNet-18 with 4 channels in its stem: about 45k parameters
TINY_MODEL: dict[str, Any] = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, base_channels=4, pretrained=None, norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=NUM_CLASSES, in_channels=32, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.0,
                  init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))

_NORM = dict(type='Normalize', mean=[127.5] * 3, std=[64.0] * 3, to_bgr=False)
_TAIL = [dict(type='Resize', scale=(16, 16), keep_ratio=False), _NORM,
         dict(type='FormatShape', input_format='NCHW'),
         dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
         dict(type='ToTensor', keys=['imgs', 'label'])]


def video_pipeline(test_mode: bool, num_clips: int = 4, backend: str = 'PyAV') -> list[dict]:
    """Decode ``num_clips`` single frames of a video with ``backend`` (PyAV, Decord, OpenCV)."""
    return [dict(type=f'{backend}Init'),
            dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_clips,
                 test_mode=test_mode),
            dict(type=f'{backend}Decode')] + _TAIL


def rawframe_pipeline(test_mode: bool, num_clips: int = 8) -> list[dict]:
    """Read ``num_clips`` single frames of a rawframe folder."""
    return [dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_clips,
                 test_mode=test_mode),
            dict(type='RawFrameDecode')] + _TAIL


def write_config(path: str | os.PathLike, ann_file: str | os.PathLike,
                 data_prefix: str | os.PathLike | None, extra: str = '') -> Path:
    """Write a complete tiny recognition config (model, data, schedule) to ``path``.

    ``extra`` is appended verbatim (more keys, or deliberate mistakes).
    """
    prefix = None if data_prefix is None else os.fspath(data_prefix)
    text = f'''\
model = {TINY_MODEL!r}
dataset_type = 'VideoDataset'
data = dict(
    videos_per_gpu=2, workers_per_gpu=0,
    train=dict(type=dataset_type, ann_file={os.fspath(ann_file)!r}, data_prefix={prefix!r},
               pipeline={video_pipeline(False)!r}),
    val=dict(type=dataset_type, ann_file={os.fspath(ann_file)!r}, data_prefix={prefix!r},
             pipeline={video_pipeline(True)!r}),
    test=dict(type=dataset_type, ann_file={os.fspath(ann_file)!r}, data_prefix={prefix!r},
              pipeline={video_pipeline(True)!r}))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[2])
total_epochs = 1
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
workflow = [('train', 1)]
{extra}
'''
    Path(path).write_text(text, encoding='utf-8')
    return Path(path)


def load_tool(relative: str) -> ModuleType:
    """Import a script such as ``tools/train.py`` as a module (its ``main(argv)`` is then
    callable in this process)."""
    path = REPO / relative
    name = 'faults_tool_' + relative.replace('/', '_').removesuffix('.py')
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f'cannot import {path}'
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for child Pythons: CPU only, one thread, this folder importable."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='-1', OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    paths = [str(HERE), str(REPO)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.update(extra)
    return env


def slug(text: str) -> str:
    """A test id for a fault kind: ``'truncated mp4 50 % (index first)'`` ->
    ``'truncated-mp4-50-index-first'`` (usable with ``pytest -k``)."""
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')
