"""Audio feature extraction: speed, and closeness to MMAction2's librosa (+ lws) features.

Speed (the default): ``--clips`` synthetic chirps of ``--seconds`` s at 16 kHz are written as
WAV files, then :func:`actionkit.datasets.prep.audio_features.extract_audio_features` (decode
with PyAV, log-mel, save ``.npy``) runs on each, single process; and the on-the-fly
``MelSpectrogram`` step on 2 s clips. Reports seconds of audio per second of wall-clock and of
CPU time (the latter is what a loaded machine does not inflate), medians over ``--repeats``.

Closeness, in two steps because librosa must stay out of the project's environment:

    python benchmarks/audio_features.py --dump /tmp/ours.npz          # project venv
    /tmp/librosa-venv/bin/python benchmarks/audio_features.py --compare /tmp/ours.npz

``--dump`` decodes MMAction2's ``tests/data/test.wav`` (16 kHz stereo, 6.6 s, when the shared
test data is there), a 10 s 16 kHz and a 10 s 44.1 kHz chirp, and stores our samples,
features, mel filterbank and ``MelSpectrogram`` output, timing decode + features. ``--compare``
(needs only numpy and librosa, lws if installed: ``LWS_USE_CYTHON=1 pip install
--no-build-isolation lws`` builds it on Python 3.11) recomputes them as MMAction2 0.24.1 does,
times that, and prints the max / mean absolute differences.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEST_WAV = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'tests' / 'data' / 'test.wav'


def _chirp(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(seed)
    freq = 300 * (4000 / 300) ** (t / seconds)
    return (0.4 * np.sin(2 * np.pi * np.cumsum(freq) / rate)
            + rng.normal(0, 0.01, len(t))).astype(np.float32)


def _timed(fn, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def speed(clips: int, seconds: float, repeats: int) -> None:
    from actionkit.datasets.pipelines import Compose
    from actionkit.datasets.prep.audio_features import extract_audio_features
    from actionkit.datasets.synthetic_audio import write_wav

    with tempfile.TemporaryDirectory() as tmp:
        paths = [write_wav(Path(tmp) / f'{i}.wav', _chirp(16000, seconds, i), 16000)
                 for i in range(clips)]

        def features() -> None:
            for path in paths:
                extract_audio_features(path, path[:-4] + '.npy')

        wall, cpu = _timed(features, repeats)
        total = clips * seconds
        print(f'build_audio_features ({clips} x {seconds:g} s WAV, 1 process): '
              f'{total / wall:.0f} s of audio per wall s, {total / cpu:.0f} per CPU s')
        mel = Compose([dict(type='MelSpectrogram')])
        batch = np.stack([_chirp(16000, 2.0, i) for i in range(8)])

        def spectrograms() -> None:
            mel(dict(audios=batch, sample_rate=16000, num_clips=len(batch)))

        wall, cpu = _timed(spectrograms, repeats)
        print(f'MelSpectrogram step (2 s clips, 32 ms / 16 ms, 80 mels): '
              f'{len(batch) / wall:.0f} clips per wall s, {len(batch) / cpu:.0f} per CPU s')


def dump(out: str) -> None:
    from actionkit.datasets.pipelines.audio_functional import mel_filterbank, mel_spectrogram
    from actionkit.datasets.pipelines.decoders.audio_reader import read_audio
    from actionkit.datasets.prep.audio_features import log_mel_from_samples
    from actionkit.datasets.synthetic_audio import write_wav

    tmp = Path(tempfile.mkdtemp())
    inputs = {'chirp_16k': write_wav(tmp / 'chirp_16k.wav', _chirp(16000, 10.0), 16000),
              'chirp_44k': write_wav(tmp / 'chirp_44k.wav', _chirp(44100, 10.0, 1), 44100)}
    if TEST_WAV.is_file():
        inputs['test_wav'] = str(TEST_WAV)
    arrays = {'filterbank': mel_filterbank(16000, 512, 80, 125.0, 7600.0)}
    log_mel_from_samples(read_audio(inputs['chirp_16k'], 16000)[0])  # warm up
    for name, path in inputs.items():
        cpu = time.process_time()
        samples, _ = read_audio(path, 16000)
        arrays[f'{name}.features'] = log_mel_from_samples(samples)
        cpu = time.process_time() - cpu
        print(f'{name}: decode + features {len(samples) / 16000 / cpu:.0f} s of audio per CPU s')
        arrays[f'{name}.path'] = np.array(path)
        arrays[f'{name}.samples'] = samples
        arrays[f'{name}.mel'] = mel_spectrogram(samples[:32000], 16000, 512, 256, 80)
    np.savez(out, **arrays)
    print(f'wrote {out}: {sorted(inputs)}')


def _mmaction_features(librosa, samples: np.ndarray) -> np.ndarray | None:
    """MMAction2 0.24.1's AudioTools(fft_size=512, hop_size=256).audio_to_spectrogram."""
    try:
        import lws
    except ImportError:
        return None
    wav = samples * (0.1 / max(1e-4, float(np.sqrt(np.mean(samples ** 2)))))
    spectrum = np.abs(lws.lws(512, 256, mode='speech').stft(wav).T)
    basis = librosa.filters.mel(sr=16000, n_fft=512, fmin=125, fmax=7600, n_mels=80)
    decibels = 20 * np.log10(np.maximum(1e-5, basis @ spectrum)) - 20
    return np.clip((decibels + 100) / 100, 0, 1).T.astype(np.float32)


def _report(label: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    if ours.shape != theirs.shape:
        num = min(len(ours), len(theirs))
        print(f'  {label}: shapes {ours.shape} vs {theirs.shape}; comparing the first {num}')
        ours, theirs = ours[:num], theirs[:num]
    diff = np.abs(ours.astype(np.float64) - theirs)
    print(f'  {label}: max abs diff {diff.max():.3g}, mean {diff.mean():.3g} '
          f'(values up to {np.abs(theirs).max():.3g})')


def compare(path: str) -> None:
    import librosa

    data = np.load(path)
    print(f'librosa {librosa.__version__}')
    bank = librosa.filters.mel(sr=16000, n_fft=512, fmin=125, fmax=7600, n_mels=80)
    _report('mel filterbank (16 kHz, 512, 80, 125-7600 Hz)', data['filterbank'], bank)
    _mmaction_features(librosa, librosa.load(str(data['chirp_16k.path']), sr=16000)[0])
    for name in sorted({key.split('.')[0] for key in data.files if '.' in key}):
        print(name)
        cpu = time.process_time()
        samples, _ = librosa.load(str(data[f'{name}.path']), sr=16000)
        reference = _mmaction_features(librosa, samples)
        cpu = time.process_time() - cpu
        if reference is not None:
            print(f'  MMAction2 (librosa + lws) decode + features: '
                  f'{len(samples) / 16000 / cpu:.0f} s of audio per CPU s')
        _report('decoded samples', data[f'{name}.samples'], samples)
        mel = librosa.feature.melspectrogram(y=samples[:32000], sr=16000, n_fft=512,
                                             hop_length=256, n_mels=80).T
        _report('MelSpectrogram (power, 2 s)', data[f'{name}.mel'], mel)
        if reference is None:
            print('  features: lws is not installed; not compared')
        else:
            _report('build_audio_features features', data[f'{name}.features'], reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--clips', type=int, default=10)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dump', metavar='NPZ', help='write our arrays for --compare')
    parser.add_argument('--compare', metavar='NPZ', help='compare with librosa (+ lws)')
    args = parser.parse_args()
    if args.compare:
        compare(args.compare)
    elif args.dump:
        dump(args.dump)
    else:
        speed(args.clips, args.seconds, args.repeats)


if __name__ == '__main__':
    main()
