"""Audio pipeline steps, with MMAction2 0.x's names, arguments and result keys.

Two ways in, as in MMAction2 0.24.1:

* waveforms (``AudioDataset``): ``AudioDecodeInit`` reads the file, ``SampleFrames`` picks
  frame indices of the video the audio belongs to, ``AudioDecode`` cuts the matching samples,
  ``AudioAmplify`` scales them and ``MelSpectrogram`` turns each clip into a mel spectrogram;
* features (``AudioFeatureDataset``): ``LoadAudioFeature`` loads a ``[frames, mels]`` ``.npy``
  file (``tools/data/build_audio_features.py`` writes them), ``SampleFrames`` picks frame
  indices and ``AudioFeatureSelector`` cuts the matching feature rows.

Both end with ``FormatAudioShape(input_format='NCTF')``: ``audios`` becomes
``[num_clips, 1, T, F]`` for :class:`~actionkit.models.AudioRecognizer`.

A frame index ``i`` (as ``SampleFrames`` returns it, so counting from ``start_index``) of a
clip of ``total_frames`` frames maps to sample (or feature row) ``round((i + 1) / total_frames
* length)``, Python's round-half-to-even, as MMAction2 computes it. A clip runs from its first
to its last frame's position and is then cut or zero-padded to ``fixed_length``.

Where MMAction2 pads, so does actionkit: a missing audio or feature file (MMAction2's lists
name clips whose video had no audio track) becomes 10 s of silence (``pad_method='zero'``)
or noise (``'random'``), with a warning. Anything else wrong with a file raises a
``DataError`` naming it. Decoding goes through PyAV and the spectrogram through numpy
(:mod:`.audio_functional`), not librosa.
"""
from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np

from ..builder import PIPELINES
from ...errors import DataError, DecodeError
from ...utils.bounded_read import MAX_ANNOTATION_BYTES
from ...utils.checks import check_positive_int
from ...utils.fileio import exists, is_remote, read_bytes
from .audio_functional import fix_length, mel_spectrogram
from .decoders.audio_reader import read_audio
from .decoding import _check_io_backend, _require

__all__ = ['AudioDecodeInit', 'AudioDecode', 'AudioAmplify', 'MelSpectrogram',
           'LoadAudioFeature', 'AudioFeatureSelector', 'FormatAudioShape', 'select_clips']

logger = logging.getLogger(__name__)

_PAD_METHODS = ('zero', 'random')
_PAD_SECONDS = 10.0
_PAD_FEATURE_SHAPE = (640, 80)  # MMAction2's stand-in for a missing feature file


def _check_pad_method(owner: str, pad_method: str) -> str:
    if pad_method not in _PAD_METHODS:
        raise ValueError(f'{owner}: pad_method must be one of {_PAD_METHODS}, got '
                         f'{pad_method!r}')
    return pad_method


def _pad(owner: str, pad_method: str, shape: int | tuple[int, ...], path: str,
         low: float) -> np.ndarray:
    """Stand-in for a missing file: zeros, or uniform noise in ``[low, 1)``."""
    logger.warning('%s: %s does not exist; using %s %s padding as MMAction2 does', owner, path,
                   pad_method, shape)
    if pad_method == 'zero':
        return np.zeros(shape, dtype=np.float32)
    return (np.random.rand(*np.atleast_1d(shape)) * (1 - low) + low).astype(np.float32)


def select_clips(data: np.ndarray, frame_inds: np.ndarray, num_clips: int, total_frames: int,
                 fixed_length: int) -> np.ndarray:
    """Cut one piece of ``data`` (samples or feature rows, first axis) per clip.

    Clip ``c``'s frames ``frame_inds.reshape(num_clips, -1)[c]`` span rows
    ``round((first + 1) / total_frames * len(data))`` to
    ``round((last + 1) / total_frames * len(data))`` (clamped to the data), which are cut or
    zero-padded at the end to ``fixed_length``.

    Returns:
        ``[num_clips, fixed_length, *data.shape[1:]]``.
    """
    if total_frames <= 0:
        raise ValueError(f'total_frames must be positive to place the clips, got {total_frames}')
    length = data.shape[0]
    clips = np.asarray(frame_inds).reshape(num_clips, -1)
    pieces = []
    for inds in clips:
        start = max(0, int(round((int(inds[0]) + 1) / total_frames * length)))
        end = min(length, int(round((int(inds[-1]) + 1) / total_frames * length)))
        pieces.append(fix_length(data[start:max(start, end)], fixed_length))
    return np.stack(pieces)


@PIPELINES.register_module()
class AudioDecodeInit:
    """Read the audio file ``results['audio_path']`` (PyAV, mono, resampled).

    A missing file is replaced by 10 s of padding, as in MMAction2 (``'zero'``: silence;
    ``'random'``: uniform noise in ``[-1, 1)``).

    Required keys: ``audio_path``.
    Added keys: ``length`` (samples), ``sample_rate``, ``audios`` (``float32 [length]``).

    Args:
        io_backend (str): only ``'disk'``.
        sample_rate (int): resample to this rate (Hz). Default: 16000.
        pad_method (str): ``'zero'`` or ``'random'``.
    """

    def __init__(self, io_backend: str = 'disk', sample_rate: int = 16000,
                 pad_method: str = 'zero') -> None:
        self.io_backend = _check_io_backend(io_backend, 'AudioDecodeInit')
        self.sample_rate = check_positive_int('AudioDecodeInit', 'sample_rate', sample_rate)
        self.pad_method = _check_pad_method('AudioDecodeInit', pad_method)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('audio_path',), 'AudioDecodeInit')
        path = results['audio_path']
        if exists(path):
            audio, rate = read_audio(path, self.sample_rate)
        else:
            rate = self.sample_rate
            audio = _pad('AudioDecodeInit', self.pad_method, int(round(_PAD_SECONDS * rate)),
                         path, low=-1.0)
        results['length'] = audio.shape[0]
        results['sample_rate'] = rate
        results['audios'] = audio
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(io_backend={self.io_backend}, '
                f'sample_rate={self.sample_rate}, pad_method={self.pad_method})')


class _ClipSelector:
    """Shared part of ``AudioDecode`` and ``AudioFeatureSelector``."""

    def __init__(self, fixed_length: int) -> None:
        name = type(self).__name__
        if isinstance(fixed_length, bool) or not isinstance(fixed_length, int) \
                or fixed_length <= 0:
            raise ValueError(f'{name}: fixed_length must be a positive int, got '
                             f'{fixed_length!r}')
        self.fixed_length = fixed_length

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('audios', 'frame_inds', 'num_clips', 'total_frames'),
                 type(self).__name__)
        audios = np.asarray(results['audios'])
        results['audios'] = select_clips(audios, results['frame_inds'], results['num_clips'],
                                         results['total_frames'], self.fixed_length)
        results['audios_shape'] = results['audios'].shape
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(fixed_length={self.fixed_length})'


@PIPELINES.register_module()
class AudioDecode(_ClipSelector):
    """Cut the samples of each clip that ``SampleFrames`` chose (see :func:`select_clips`).

    Required keys: ``audios``, ``frame_inds``, ``num_clips``, ``total_frames``.
    Modified keys: ``audios`` (``[num_clips, fixed_length]``).
    Added keys: ``audios_shape``.

    Args:
        fixed_length (int): samples per clip after cutting or zero-padding. Default: 32000.
    """

    def __init__(self, fixed_length: int = 32000) -> None:
        super().__init__(fixed_length)


@PIPELINES.register_module()
class AudioFeatureSelector(_ClipSelector):
    """Cut the feature rows of each clip that ``SampleFrames`` chose (see
    :func:`select_clips`).

    Required keys: ``audios`` (``[length, F]``), ``frame_inds``, ``num_clips``,
    ``total_frames``.
    Modified keys: ``audios`` (``[num_clips, fixed_length, F]``).
    Added keys: ``audios_shape``.

    Args:
        fixed_length (int): rows per clip after cutting or zero-padding. Default: 128.
    """

    def __init__(self, fixed_length: int = 128) -> None:
        super().__init__(fixed_length)


@PIPELINES.register_module()
class AudioAmplify:
    """Multiply the waveform by ``ratio``.

    Required keys: ``audios``. Modified keys: ``audios``. Added keys: ``amplify_ratio``.

    Args:
        ratio (float): the factor (a float, as MMAction2 requires).
    """

    def __init__(self, ratio: float) -> None:
        if not isinstance(ratio, float):
            raise TypeError(f'AudioAmplify: ratio must be a float, got {ratio!r}')
        self.ratio = ratio

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('audios',), 'AudioAmplify')
        results['audios'] = np.asarray(results['audios']) * np.float32(self.ratio)
        results['amplify_ratio'] = self.ratio
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio})'


@PIPELINES.register_module()
class MelSpectrogram:
    """Turn each clip's waveform into a power mel spectrogram ``[fixed_length, n_mels]``.

    The FFT window is ``round(sample_rate * window_size / 1000)`` samples and the hop
    ``round(sample_rate * step_size / 1000)``; the values are librosa's
    ``melspectrogram(y, sr, n_fft, hop_length, n_mels)`` (transposed to time first). The time
    axis is cut, or padded by repeating the last frame, to ``fixed_length``. (MMAction2 0.24.1
    keeps librosa's ``[n_mels, frames]`` and pads the wrong axis, which fails or returns a
    non-square mess; actionkit returns the documented time-by-mel layout that
    ``FormatAudioShape`` expects.)

    Required keys: ``audios`` (``[num_clips, samples]``), ``sample_rate``, ``num_clips``.
    Modified keys: ``audios`` (``[num_clips, fixed_length, n_mels]``).

    Args:
        window_size (int): window in ms. Default: 32.
        step_size (int): hop in ms. Default: 16.
        n_mels (int): mel bands. Default: 80.
        fixed_length (int): frames per clip. Default: 128.
    """

    def __init__(self, window_size: int = 32, step_size: int = 16, n_mels: int = 80,
                 fixed_length: int = 128) -> None:
        values = dict(window_size=window_size, step_size=step_size, n_mels=n_mels,
                      fixed_length=fixed_length)
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f'MelSpectrogram: {name} must be an int, got {value!r}')
            if value <= 0:
                raise ValueError(f'MelSpectrogram: {name} must be positive, got {value!r}')
        self.window_size = window_size
        self.step_size = step_size
        self.n_mels = n_mels
        self.fixed_length = fixed_length

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('audios', 'sample_rate', 'num_clips'), 'MelSpectrogram')
        rate = results['sample_rate']
        n_fft = int(round(rate * self.window_size / 1000))
        hop = int(round(rate * self.step_size / 1000))
        signals = np.asarray(results['audios'])
        mels = [fix_length(mel_spectrogram(signals[i], rate, n_fft, hop, self.n_mels),
                           self.fixed_length, mode='edge')
                for i in range(results['num_clips'])]
        results['audios'] = np.stack(mels)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(window_size={self.window_size}, '
                f'step_size={self.step_size}, n_mels={self.n_mels}, '
                f'fixed_length={self.fixed_length})')


@PIPELINES.register_module()
class LoadAudioFeature:
    """Load the ``[frames, mels]`` ``.npy`` feature file ``results['audio_path']``.

    A missing file becomes ``[640, 80]`` padding, as in MMAction2 (``'zero'``, or uniform noise
    in ``[0, 1)`` for ``'random'``). A file that is not a 2-D numeric array raises a
    ``DataError`` naming it.

    Required keys: ``audio_path``.
    Added keys: ``length`` (rows), ``audios`` (``[length, F]``).

    Args:
        pad_method (str): ``'zero'`` or ``'random'``.
    """

    def __init__(self, pad_method: str = 'zero') -> None:
        self.pad_method = _check_pad_method('LoadAudioFeature', pad_method)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('audio_path',), 'LoadAudioFeature')
        path = results['audio_path']
        if exists(path):
            features = _load_features(path)
        else:
            features = _pad('LoadAudioFeature', self.pad_method, _PAD_FEATURE_SHAPE, path,
                            low=0.0)
        results['length'] = features.shape[0]
        results['audios'] = features
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(pad_method={self.pad_method})'


def _load_features(path: str) -> np.ndarray:
    try:
        source = io.BytesIO(read_bytes(path, MAX_ANNOTATION_BYTES)) if is_remote(path) else path
        features = np.load(source, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DecodeError(f'{path}: not a readable .npy feature file ({err})', path) from err
    if not isinstance(features, np.ndarray) or features.ndim != 2 \
            or features.dtype.kind not in 'fiu':
        shape = getattr(features, 'shape', None)
        raise DataError(f'{path}: an audio feature file must hold a 2-D numeric array '
                        f'[frames, mel bins], got {getattr(features, "dtype", "?")} array of '
                        f'shape {shape}', path)
    return features


@PIPELINES.register_module()
class FormatAudioShape:
    """Add the channel axis: ``audios`` ``[clips, T, F]`` becomes ``[clips, 1, T, F]``.

    Required keys: ``audios``. Modified keys: ``audios``. Added keys: ``input_shape``.

    Args:
        input_format (str): only ``'NCTF'``.
    """

    def __init__(self, input_format: str) -> None:
        if input_format != 'NCTF':
            raise ValueError(f"FormatAudioShape: input_format must be 'NCTF', got "
                             f'{input_format!r}')
        self.input_format = input_format

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, ('audios',), 'FormatAudioShape')
        audios = np.asarray(results['audios'])
        if audios.ndim != 3:
            raise ValueError(f'FormatAudioShape takes audios of shape (clips, T, F), got '
                             f'{audios.shape}')
        audios = audios[:, None]
        results['audios'] = audios
        results['input_shape'] = audios.shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_format='{self.input_format}')"
