"""Audio kernels in numpy: windows, STFT, the mel filterbank and log-mel features.

MMAction2 0.x computes these with librosa (and lws for its offline features); actionkit writes
them here so that audio needs no extra dependency. The formulas follow the usual definitions:

* the mel scale is Slaney's (linear below 1 kHz, logarithmic above), as librosa's default
  ``htk=False``; each triangular filter is area-normalised (``norm='slaney'``);
* :func:`stft_magnitude` frames the signal librosa's way (``center=True``: ``n_fft // 2``
  zeros on both sides, a periodic Hann window), so a signal of ``n`` samples gives
  ``1 + n // hop_length`` frames;
* :func:`lws_stft_magnitude` frames it as the lws package does for MMAction2's
  ``tools/data/build_audio_features.py`` (``fft_size - hop_size`` zeros in front, a
  perfect-reconstruction square-root Hann window).

Arrays are ``float32`` unless stated; spectrograms here are ``[frames, bins]`` (time first).
"""
from __future__ import annotations

import numpy as np

__all__ = ['hz_to_mel', 'mel_to_hz', 'mel_filterbank', 'hann_window', 'stft_magnitude',
           'lws_window', 'lws_stft_magnitude', 'mel_spectrogram', 'log_mel_features',
           'fix_length']

_F_SP = 200.0 / 3  # Hz per mel in the linear part of Slaney's scale
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mel
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(freqs: np.ndarray | float) -> np.ndarray:
    """Frequencies in Hz to Slaney mels (linear below 1 kHz, log above)."""
    freqs = np.asarray(freqs, dtype=np.float64)
    linear = freqs / _F_SP
    with np.errstate(divide='ignore'):
        log = _MIN_LOG_MEL + np.log(np.maximum(freqs, 1e-10) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(freqs >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """Slaney mels to Hz (the inverse of :func:`hz_to_mel`)."""
    mels = np.asarray(mels, dtype=np.float64)
    return np.where(mels >= _MIN_LOG_MEL,
                    _MIN_LOG_HZ * np.exp(_LOG_STEP * (mels - _MIN_LOG_MEL)), mels * _F_SP)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular, area-normalised mel filters ``[n_mels, 1 + n_fft // 2]`` (``float32``).

    Filter ``i`` rises from centre ``i`` to centre ``i + 1`` and falls to centre ``i + 2`` of
    ``n_mels + 2`` points equally spaced in mels between ``fmin`` and ``fmax`` (default: the
    Nyquist frequency), and is scaled by ``2 / (upper edge - lower edge)`` in Hz.
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sample_rate / 2.0:
        raise ValueError(f'mel_filterbank: need 0 <= fmin < fmax <= sample_rate / 2 = '
                         f'{sample_rate / 2}, got fmin={fmin}, fmax={fmax}')
    bin_hz = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    offsets = edges[:, None] - bin_hz[None, :]  # [n_mels + 2, bins]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def hann_window(length: int) -> np.ndarray:
    """The periodic Hann window (``scipy.signal.get_window('hann', length)``), ``float64``."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


def _frames(signal: np.ndarray, frame_len: int, hop: int) -> np.ndarray:
    """``[num_frames, frame_len]`` strided view of a padded 1-D signal."""
    num = 1 + (len(signal) - frame_len) // hop
    return np.lib.stride_tricks.as_strided(
        signal, shape=(num, frame_len), strides=(signal.strides[0] * hop, signal.strides[0]),
        writeable=False)


def stft_magnitude(signal: np.ndarray, n_fft: int, hop_length: int,
                   power: float = 1.0) -> np.ndarray:
    """``|STFT|**power`` ``[1 + len // hop_length, 1 + n_fft // 2]`` of a 1-D signal.

    Centred frames with zero padding and a periodic Hann window of ``n_fft`` samples, as
    ``librosa.stft(y, n_fft, hop_length, center=True, pad_mode='constant')``.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f'stft_magnitude takes a 1-D signal, got shape {signal.shape}')
    padded = np.pad(signal, n_fft // 2)
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    spec = np.abs(np.fft.rfft(_frames(padded, n_fft, hop_length) * hann_window(n_fft), axis=1))
    return spec if power == 1.0 else spec ** power


def lws_window(fft_size: int, hop_size: int) -> np.ndarray:
    """lws's default analysis window: the square root of a half-sample-offset Hann window,
    normalised so that the windows of overlapping frames reconstruct perfectly (for
    ``fft_size = 2 * hop_size`` this is the sine window ``sin(pi (k + 1/2) / fft_size)``)."""
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * (np.arange(fft_size) + 0.5) / fft_size)
    blocks = -(-fft_size // hop_size)
    overlap = np.pad(hann, (0, blocks * hop_size - fft_size)).reshape(blocks, hop_size).sum(0)
    return np.sqrt(hann / np.tile(overlap, blocks)[:fft_size])


def lws_stft_magnitude(signal: np.ndarray, fft_size: int, hop_size: int) -> np.ndarray:
    """``|STFT|`` ``[frames, 1 + fft_size // 2]`` framed as lws does (``perfectrec=True``).

    ``fft_size - hop_size`` zeros go in front and behind, plus what the last frame needs:
    a signal of ``n`` samples gives ``(n + fft_size - hop_size) // hop_size`` frames, one more
    when ``hop_size`` does not divide ``n``.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f'lws_stft_magnitude takes a 1-D signal, got shape {signal.shape}')
    pad = fft_size - hop_size
    num = (len(signal) + 2 * pad - fft_size) // hop_size + (1 if len(signal) % hop_size == 0
                                                            else 2)
    right = pad + (num - 1) * hop_size + fft_size - (len(signal) + 2 * pad)
    padded = np.pad(signal, (pad, right))
    frames = _frames(padded, fft_size, hop_size) * lws_window(fft_size, hop_size)
    return np.abs(np.fft.rfft(frames, axis=1))


def mel_spectrogram(signal: np.ndarray, sample_rate: int, n_fft: int, hop_length: int,
                    n_mels: int = 128) -> np.ndarray:
    """Power mel spectrogram ``[frames, n_mels]`` (``float32``), the values of
    ``librosa.feature.melspectrogram(y, sr, n_fft, hop_length, n_mels).T``."""
    power = stft_magnitude(signal, n_fft, hop_length, power=2.0)
    return (power @ mel_filterbank(sample_rate, n_fft, n_mels).T.astype(np.float64)).astype(
        np.float32)


def log_mel_features(signal: np.ndarray, sample_rate: int = 16000, fft_size: int = 512,
                     hop_size: int = 256, num_mels: int = 80, fmin: float = 125.0,
                     fmax: float = 7600.0, min_level_db: float = -100.0,
                     ref_level_db: float = 20.0, desired_rms: float = 0.1) -> np.ndarray:
    """The log-mel features of MMAction2's ``build_audio_features.py`` ``[frames, num_mels]``.

    The signal is scaled to an RMS of ``desired_rms`` (at least ``1e-4`` is assumed, so
    silence stays silence), its lws-framed magnitude STFT is put on ``num_mels`` mel bands
    between ``fmin`` and ``fmax``, turned into decibels (floored at ``min_level_db``) less
    ``ref_level_db``, and mapped to ``[0, 1]`` by ``(dB - min_level_db) / -min_level_db``.
    """
    signal = np.asarray(signal, dtype=np.float64)
    rms = max(1e-4, float(np.sqrt(np.mean(signal ** 2)))) if signal.size else 1e-4
    signal = signal * (desired_rms / rms)
    magnitude = lws_stft_magnitude(signal, fft_size, hop_size)
    mel = magnitude @ mel_filterbank(sample_rate, fft_size, num_mels, fmin, fmax).T
    floor = 10.0 ** (min_level_db / 20.0)
    decibels = 20.0 * np.log10(np.maximum(floor, mel)) - ref_level_db
    return np.clip((decibels - min_level_db) / -min_level_db, 0.0, 1.0).astype(np.float32)


def fix_length(array: np.ndarray, length: int, mode: str = 'constant') -> np.ndarray:
    """Cut ``array`` to ``length`` rows, or pad it at the end (``np.pad`` ``mode``)."""
    if array.shape[0] >= length:
        return array[:length]
    widths = [(0, length - array.shape[0])] + [(0, 0)] * (array.ndim - 1)
    if mode == 'edge' and array.shape[0] == 0:
        mode = 'constant'  # nothing to repeat
    return np.pad(array, widths, mode=mode)
