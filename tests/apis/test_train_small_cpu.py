"""Issue 14: a TSN with a ResNet-18 of ``base_channels=8`` at 224 px trains on CPU.

``FormatShape``'s transposes are channels-last views; stacked as they were, the batch reached
the model channels-last, and torch 2.13's oneDNN backward of the strided 1x1 convolution
aborted the process (``double free or corruption`` / SIGSEGV). The batch is now contiguous.
The training runs in a subprocess, so that a crash fails the test instead of the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from actionkit.datasets.loader import collate
from actionkit.datasets.pipelines import FormatShape, ToTensor

REPO = Path(__file__).resolve().parents[2]


def test_collated_clips_are_contiguous_nchw() -> None:
    samples = []
    for seed in range(2):
        frames = np.random.default_rng(seed).random((6, 8, 10, 3), dtype=np.float32)
        results = FormatShape('NCHW')(dict(imgs=frames, num_clips=3, clip_len=1))
        samples.append(ToTensor(['imgs'])(results))
    assert not samples[0]['imgs'].is_contiguous()  # the pipeline's view ...
    batch = collate(samples)['imgs']
    assert batch.shape == (2, 6, 3, 8, 10) and batch.is_contiguous()  # ... the batch is not
    torch.testing.assert_close(batch[1, 4, 2], torch.from_numpy(
        np.random.default_rng(1).random((6, 8, 10, 3), dtype=np.float32)[4, :, :, 2]))


def test_small_tsn_at_224_px_trains_on_cpu(synthetic_data: dict[str, str],
                                           tmp_path: Path) -> None:
    train_list = tmp_path / 'train.txt'
    lines = Path(synthetic_data['train_list_videos']).read_text().splitlines()
    train_list.write_text('\n'.join(lines[:8]) + '\n')
    pipeline = [dict(type='PyAVInit'),
                dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3),
                dict(type='PyAVDecode'), dict(type='Resize', scale=(224, 224), keep_ratio=False),
                dict(type='Flip', flip_ratio=0.5),
                dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                     to_bgr=False),
                dict(type='FormatShape', input_format='NCHW'),
                dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                dict(type='ToTensor', keys=['imgs', 'label'])]
    config = tmp_path / 'tsn_r18_c8_224.py'
    config.write_text(f"""\
model = dict(type='Recognizer2D',
             backbone=dict(type='ResNet', depth=18, base_channels=8, pretrained=None),
             cls_head=dict(type='TSNHead', num_classes=10, in_channels=64,
                           consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.4))
data = dict(videos_per_gpu=2, workers_per_gpu=0,
            train=dict(type='VideoDataset', ann_file={str(train_list)!r},
                       data_prefix={synthetic_data['videos_root']!r}, pipeline={pipeline!r}))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[5])
total_epochs = 1
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
workflow = [('train', 1)]
""")
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='-1')
    done = subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), str(config),
                           '--work-dir', str(tmp_path / 'work'), '--seed', '0'],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f'rc {done.returncode}: {done.stderr[-2000:]}'
    meta = torch.load(tmp_path / 'work' / 'latest.pth', weights_only=True)['meta']
    assert meta['epoch'] == 1 and meta['iter'] == 4  # 8 clips in batches of 2
