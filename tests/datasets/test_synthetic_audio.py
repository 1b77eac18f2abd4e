"""The synthetic chirp set: classes differ only in the time order of the frequencies, and the
written set is what AudioDataset / AudioFeatureDataset read; one training step on it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.config import Config
from actionkit.datasets import build_dataset
from actionkit.datasets.loader import collate
from actionkit.datasets.synthetic_audio import chirp_clip, make_synthetic_audio_dataset
from actionkit.models import build_model

CONFIG = str(Path(__file__).resolve().parents[2] / 'configs' / 'synthetic'
             / 'audioonly_r50_48x1x1_synthetic_audio_feature.py')


def _dominant_hz(clip: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(clip * np.hanning(len(clip))))
    return float(np.argmax(spectrum) * rate / len(clip))


@pytest.mark.parametrize('label, shape', [(0, 'up'), (1, 'down'), (2, 'up-down'),
                                          (3, 'down-up')])
def test_chirp_classes_differ_in_time_order(label, shape):
    clip = chirp_clip(label, np.random.default_rng(3))
    first, middle, last = (_dominant_hz(part) for part in
                           (clip[:4000], clip[14000:18000], clip[-4000:]))
    expected = {'up': first < middle < last, 'down': first > middle > last,
                'up-down': middle > first and middle > last,
                'down-up': middle < first and middle < last}
    assert expected[shape], (first, middle, last)
    # same energy whatever the direction: the spectrum over the whole clip cannot tell
    assert 0.1 < np.sqrt(np.mean(clip ** 2)) < 0.6


def test_written_set_trains_one_step(tmp_path):
    paths = make_synthetic_audio_dataset(tmp_path, num_classes=4, train_per_class=2,
                                         val_per_class=1)
    lines = open(paths['train_list_features'], encoding='utf-8').read().splitlines()
    assert lines[:4] == ['train/clip_0000.npy 60 0', 'train/clip_0001.npy 60 1',
                         'train/clip_0002.npy 60 2', 'train/clip_0003.npy 60 3']
    assert np.load(tmp_path / 'train' / 'clip_0000.npy').shape == (126, 80)  # 32000 / 256 + 1
    cfg = Config.fromfile(CONFIG)
    cfg.data.train.ann_file = paths['train_list_features']
    cfg.data.train.data_prefix = str(tmp_path)
    dataset = build_dataset(cfg.data.train)
    batch = collate([dataset[i] for i in range(4)])
    assert batch['audios'].shape == (4, 1, 1, 100, 80)
    torch.manual_seed(0)
    model = build_model(cfg.model)
    out = model.train_step(batch)
    assert out['num_samples'] == 4 and torch.isfinite(out['loss'])
    out['loss'].backward()
