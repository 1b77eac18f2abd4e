"""A synthetic audio action set: classes that only the direction of a frequency sweep tells
apart, for checking that the audio models learn (``configs/synthetic/``).

Class 0 is a rising chirp, class 1 a falling one, over the same band and with the same
energy, so a model that ignores time order stays at chance. Each clip draws its band, its
phase, its loudness and a little background noise at random. With ``num_classes=4`` two more
classes sweep up-then-down and down-then-up.

``make_synthetic_audio_dataset(root)`` writes ``train/*.wav``, ``val/*.wav`` and MMAction2
``AudioDataset`` lists (``name total_frames label``, ``total_frames`` counting the 30 fps
video frames the clip would have), and, with ``features=True``, log-mel ``.npy`` features with
``AudioFeatureDataset`` lists.

Example:
    >>> paths = make_synthetic_audio_dataset('data/synthetic_audio')  # doctest: +SKIP
    >>> paths['train_list_features']  # doctest: +SKIP
    'data/synthetic_audio/train_list_features.txt'
"""
from __future__ import annotations

import os
import wave

import numpy as np

__all__ = ['write_wav', 'chirp_clip', 'make_synthetic_audio_dataset']

_VIDEO_FPS = 30


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> str:
    """Write ``samples`` (``[n]`` or ``[n, channels]`` floats in ``[-1, 1]``) as 16-bit PCM."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype('<i2')
    path = os.fspath(path)
    with wave.open(path, 'wb') as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())
    return path


def chirp_clip(label: int, rng: np.random.Generator, sample_rate: int = 16000,
               seconds: float = 2.0) -> np.ndarray:
    """One clip of class ``label`` (0 rising, 1 falling, 2 up-down, 3 down-up), ``float32``."""
    num = int(round(sample_rate * seconds))
    progress = np.linspace(0.0, 1.0, num)
    if label == 2:
        progress = 1.0 - np.abs(2.0 * progress - 1.0)
    elif label == 3:
        progress = np.abs(2.0 * progress - 1.0)
    elif label == 1:
        progress = 1.0 - progress
    low = rng.uniform(200.0, 800.0)
    high = rng.uniform(2000.0, 5000.0)
    freq = low * (high / low) ** progress  # exponential sweep
    phase = 2.0 * np.pi * np.cumsum(freq) / sample_rate + rng.uniform(0, 2 * np.pi)
    clip = rng.uniform(0.2, 0.8) * np.sin(phase) + rng.normal(0.0, 0.02, num)
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def make_synthetic_audio_dataset(root: str | os.PathLike, num_classes: int = 2,
                                 train_per_class: int = 40, val_per_class: int = 20,
                                 sample_rate: int = 16000, seconds: float = 2.0,
                                 features: bool = True, seed: int = 0) -> dict[str, str]:
    """Write the set under ``root``; return the paths (``root``, ``train_list``, ``val_list``,
    ``train_list_features``, ``val_list_features``).

    Args:
        root: output folder.
        num_classes: 2 (rising, falling) or up to 4 (also up-down, down-up).
        train_per_class, val_per_class: clips per class and split.
        sample_rate: Hz.
        seconds: clip length.
        features: also write log-mel features (``build_audio_features.py``'s) and their
            lists.
        seed: the clips are a function of it.
    """
    from .prep.audio_features import log_mel_from_samples

    if not 2 <= num_classes <= 4:
        raise ValueError(f'num_classes must be 2, 3 or 4, got {num_classes!r}')
    root = os.fspath(root)
    rng = np.random.default_rng(seed)
    total_frames = int(round(seconds * _VIDEO_FPS))
    paths = {'root': root}
    for split, per_class in (('train', train_per_class), ('val', val_per_class)):
        folder = os.path.join(root, split)
        os.makedirs(folder, exist_ok=True)
        lines, feature_lines = [], []
        for index in range(per_class * num_classes):
            label = index % num_classes
            clip = chirp_clip(label, rng, sample_rate, seconds)
            name = f'{split}/clip_{index:04d}'
            write_wav(os.path.join(root, name + '.wav'), clip, sample_rate)
            lines.append(f'{name}.wav {total_frames} {label}\n')
            if features:
                np.save(os.path.join(root, name + '.npy'),
                        log_mel_from_samples(clip, sample_rate))
                feature_lines.append(f'{name}.npy {total_frames} {label}\n')
        for key, text in ((f'{split}_list', lines), (f'{split}_list_features', feature_lines)):
            if text:
                paths[key] = os.path.join(root, f'{key}.txt')
                with open(paths[key], 'w', encoding='utf-8') as out:
                    out.writelines(text)
    return paths
