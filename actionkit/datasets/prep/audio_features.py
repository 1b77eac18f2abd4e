"""Log-mel audio features for ``AudioFeatureDataset``: MMAction2's
``tools/data/build_audio_features.py`` without librosa or lws.

Each audio file (or video: its first audio track) is decoded with PyAV to 16 kHz mono,
scaled to an RMS of 0.1, and turned into ``[frames, 80]`` ``float32`` features in ``[0, 1]``
(:func:`~actionkit.datasets.pipelines.audio_functional.log_mel_features`): a 512-sample
window every 256 samples (32 ms / 16 ms, 62.5 frames a second), 80 mel bands from 125 Hz to
7.6 kHz, decibels floored at -100 dB less a 20 dB reference, mapped to ``[0, 1]``. These are
MMAction2's defaults; ``docs/useful_tools.md`` gives how close the values come to MMAction2's.

A file whose feature file already exists is skipped (as MMAction2 does), so an interrupted run
resumes; features are written through a temporary file, never half. A file that cannot be
read is reported by name and the others go on.

Example:
    >>> report = build_audio_features('data/kinetics400/audios', 'data/kinetics400/feats',
    ...                               ext='wav')  # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import glob
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...utils.atomic import temp_path
from ..pipelines.audio_functional import log_mel_features
from ..pipelines.decoders.audio_reader import read_audio

__all__ = ['FEATURE_DEFAULTS', 'log_mel_from_samples', 'extract_audio_features',
           'build_audio_features', 'AudioFeatureReport', 'add_arguments', 'run', 'main']

logger = logging.getLogger(__name__)

# MMAction2 0.24.1 tools/data/build_audio_features.py: AudioTools(fft_size=512, hop_size=256)
FEATURE_DEFAULTS = dict(sample_rate=16000, fft_size=512, hop_size=256, num_mels=80,
                        fmin=125.0, fmax=7600.0, min_level_db=-100.0, ref_level_db=20.0)


def log_mel_from_samples(samples: np.ndarray, sample_rate: int = 16000,
                         **options: Any) -> np.ndarray:
    """Features ``[frames, num_mels]`` of mono samples already at ``sample_rate``."""
    settings = {**FEATURE_DEFAULTS, **options, 'sample_rate': sample_rate}
    return log_mel_features(samples, **settings)


def extract_audio_features(src: str | os.PathLike, dst: str | os.PathLike,
                           sample_rate: int = 16000, **options: Any) -> np.ndarray:
    """Decode ``src``, compute its features and save them to ``dst`` (``.npy``, atomically).

    Raises:
        DataError: ``src`` is missing, unreadable or has no audio (the message names it).
    """
    samples, rate = read_audio(src, sample_rate)
    features = log_mel_from_samples(samples, rate, **options)
    target = Path(dst)
    temp = temp_path(target, directory=False)
    try:
        with open(temp, 'wb') as out:
            np.save(out, features, allow_pickle=False)
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()
    return features


@dataclass
class AudioFeatureReport:
    """What a :func:`build_audio_features` run did: file lists, and ``(file, reason)``."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _find(src_dir: str, ext: str, level: int, part: str) -> list[str]:
    files = sorted(glob.glob(os.path.join(src_dir, *['*'] * level) + '.' + ext.lstrip('.')))
    try:
        this, total = (int(x) for x in part.split('/'))
    except ValueError as err:
        raise ValueError(f"part must look like '1/4', got {part!r}") from err
    if not 1 <= this <= total:
        raise ValueError(f'part {part!r}: need 1 <= part <= parts')
    size = len(files) // total
    return files[size * (this - 1):(size * this if this != total else len(files))]


def _one(job: tuple[str, str, dict]) -> tuple[str, str, str]:
    src, dst, options = job
    try:
        extract_audio_features(src, dst, **options)
    except DataError as err:
        return 'failed', src, str(err)
    return 'done', src, ''


def build_audio_features(src_dir: str | os.PathLike, out_dir: str | os.PathLike,
                         ext: str = 'm4a', level: int = 1, num_workers: int = 4,
                         part: str = '1/1', **options: Any) -> AudioFeatureReport:
    """Features of every ``src_dir/*[/*].ext`` file, saved as ``out_dir/<name>.npy``.

    Args:
        src_dir: the audio (or video) folder.
        out_dir: where the ``.npy`` files go (flat, named after the input file's stem).
        ext: extension of the inputs. Default: ``'m4a'`` (MMAction2's).
        level: 1 for ``src_dir/*.ext``, 2 for ``src_dir/*/*.ext``.
        num_workers: processes (1: in this process).
        part: ``'i/n'``: only the i-th of n equal shares of the sorted file list.
        options: ``sample_rate`` and the settings of :data:`FEATURE_DEFAULTS`.
    """
    src_dir, out_dir = os.fspath(src_dir), os.fspath(out_dir)
    if not os.path.isdir(src_dir):
        raise FileNotFoundError(f'audio folder not found: {src_dir}')
    unknown = set(options) - set(FEATURE_DEFAULTS)
    if unknown:
        raise TypeError(f'unknown feature options {sorted(unknown)}; valid: '
                        f'{sorted(FEATURE_DEFAULTS)}')
    os.makedirs(out_dir, exist_ok=True)
    report = AudioFeatureReport()
    jobs = []
    for src in _find(src_dir, ext, level, part):
        dst = os.path.join(out_dir, Path(src).stem + '.npy')
        if os.path.exists(dst):
            report.skipped.append(src)
        else:
            jobs.append((src, dst, options))
    if num_workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(num_workers) as pool:
            results = list(pool.map(_one, jobs, chunksize=4))
    else:
        results = [_one(job) for job in jobs]
    for status, src, reason in results:
        if status == 'done':
            report.done.append(src)
        else:
            logger.warning('%s', reason)
            report.failed.append((src, reason))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """MMAction2's command line: ``audio_home_path spectrogram_save_path [--level] [--ext]
    [--num-workers] [--part]``, plus the feature settings."""
    parser.add_argument('audio_home_path', help='folder of audio (or video) files')
    parser.add_argument('spectrogram_save_path', help='output folder of .npy features')
    parser.add_argument('--level', type=int, default=1, choices=[1, 2])
    parser.add_argument('--ext', default='m4a', help='extension of the input files')
    parser.add_argument('--num-workers', type=int, default=4)
    parser.add_argument('--part', default='1/1', help="'i/n': the i-th of n shares")
    for name, value in FEATURE_DEFAULTS.items():
        parser.add_argument(f'--{name.replace("_", "-")}', type=type(value), default=value)


def run(args: argparse.Namespace) -> int:
    """Run from parsed arguments; print the summary; exit status 1 if a file failed."""
    options = {name: getattr(args, name) for name in FEATURE_DEFAULTS}
    report = build_audio_features(args.audio_home_path, args.spectrogram_save_path,
                                  ext=args.ext, level=args.level,
                                  num_workers=args.num_workers, part=args.part, **options)
    print(f'build_audio_features: {len(report.done)} done, {len(report.skipped)} skipped '
          f'(already there), {len(report.failed)} failed')
    for src, reason in report.failed:
        print(f'  FAILED {src}: {reason}')
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    """``tools/data/build_audio_features.py``."""
    parser = argparse.ArgumentParser(
        prog='build_audio_features.py',
        description='Audio (or video) files to log-mel .npy features for AudioFeatureDataset.')
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    return run(args)
