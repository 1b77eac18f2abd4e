"""The audio steps and kernels: values worked out by hand, MMAction2's rounding, padding and
result keys, and bad files named in the error."""
from __future__ import annotations

import re

import numpy as np
import pytest

from actionkit.datasets import PIPELINES
from actionkit.datasets.pipelines import Compose
from actionkit.datasets.pipelines.audio import select_clips
from actionkit.datasets.pipelines.audio_functional import (fix_length, hz_to_mel,
                                                           log_mel_features, lws_stft_magnitude,
                                                           lws_window, mel_filterbank,
                                                           mel_spectrogram, mel_to_hz,
                                                           stft_magnitude)
from actionkit.datasets.synthetic_audio import write_wav
from actionkit.errors import DataError, DecodeError


def _build(name, **kwargs):
    return PIPELINES.build(dict(type=name, **kwargs))


@pytest.fixture
def stereo_wav(tmp_path):
    """1 s at 8 kHz, left channel 0.5 and right -0.25: mono is (0.5 - 0.25) / 2 = 0.125."""
    samples = np.zeros((8000, 2))
    samples[:, 0], samples[:, 1] = 16384 / 32767, -8192 / 32767
    return write_wav(tmp_path / 'stereo.wav', samples, 8000)


# --- kernels ------------------------------------------------------------------------------

def test_slaney_mel_scale_hand_values():
    # linear below 1 kHz at 200/3 Hz per mel: 1 kHz is 15 mel; above, 27 mel per factor 6.4
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(500.0) == pytest.approx(7.5)
    assert hz_to_mel(6400.0) == pytest.approx(42.0)
    assert mel_to_hz(42.0) == pytest.approx(6400.0)


def test_mel_filterbank_triangles():
    bank = mel_filterbank(16000, 512, n_mels=80)
    assert bank.shape == (80, 257)
    # each filter is a triangle: one run of non-zero bins, and area normalisation makes the
    # wide high filters lower than the narrow low ones
    for row in bank:
        nonzero = np.flatnonzero(row)
        assert np.all(np.diff(nonzero) == 1)
    assert bank[70].max() < bank[10].max()
    # the range fmin..fmax is respected: no weight below 125 Hz (bins 0..3 = 0..93.75 Hz)
    assert not mel_filterbank(16000, 512, 80, fmin=125, fmax=7600)[:, :4].any()


@pytest.mark.parametrize('freq, band', [(1000, 26), (4000, 62)])
def test_pure_sine_peaks_in_the_hand_worked_mel_band(freq, band):
    # 80 bands on 0..8 kHz: 82 edges 45.246 / 81 = 0.5586 mel apart; band i is centred on
    # edge i + 1. 1 kHz = 15 mel = edge 26.85 -> band 26; 4 kHz = 15 + ln(4) / (ln(6.4) / 27)
    # = 35.16 mel = edge 62.95 -> band 62
    t = np.arange(32000) / 16000
    mel = mel_spectrogram(np.sin(2 * np.pi * freq * t), 16000, 512, 256, 80)
    assert mel.shape == (1 + 32000 // 256, 80)  # centred frames
    assert int(mel.mean(0).argmax()) == band


def test_stft_of_a_dc_signal_has_energy_only_at_zero():
    # a constant 1 under a periodic Hann window of 8: sum of the window = 4 at bin 0 only
    spec = stft_magnitude(np.ones(64), n_fft=8, hop_length=4)
    middle = spec[4]  # a frame fully inside the signal
    assert middle[0] == pytest.approx(4.0)
    assert np.allclose(middle[2:], 0.0, atol=1e-12)
    assert spec.shape == (1 + 64 // 4, 5)


def test_lws_framing_and_window():
    window = lws_window(512, 256)
    assert np.allclose(window, np.sin(np.pi * (np.arange(512) + 0.5) / 512))
    # hop divides n: (n + 2 * 256 - 512) // 256 + 1 = 126 frames for 32000; else + 2
    assert lws_stft_magnitude(np.zeros(32000), 512, 256).shape == (126, 257)
    assert lws_stft_magnitude(np.zeros(32001), 512, 256).shape == (127, 257)


def test_log_mel_features_range_and_silence():
    assert not log_mel_features(np.zeros(16000)).any()  # silence: -120 dB -> clipped to 0
    t = np.arange(16000) / 16000
    feats = log_mel_features(np.sin(2 * np.pi * 1000 * t))
    # 16000 % 256 != 0: (16000 + 512 - 512) // 256 + 2 = 64 lws frames
    assert feats.shape == (64, 80) and feats.dtype == np.float32
    assert 0.0 <= feats.min() and feats.max() <= 1.0
    # 125 Hz = 1.875 mel, 7.6 kHz = 15 + ln(7.6) / (ln(6.4) / 27) = 44.50 mel: edges 0.5262
    # mel apart; 1 kHz = 15 mel = edge 24.94 -> band 24
    assert int(feats[5:-5].mean(0).argmax()) == 24


def test_fix_length_cuts_and_pads():
    data = np.arange(1, 4)
    assert fix_length(data, 2).tolist() == [1, 2]
    assert fix_length(data, 5).tolist() == [1, 2, 3, 0, 0]
    assert fix_length(data, 5, mode='edge').tolist() == [1, 2, 3, 3, 3]


# --- clip selection (AudioDecode / AudioFeatureSelector) -----------------------------------

def test_select_clips_rounds_half_to_even_like_mmaction():
    # length 10, 4 frames: frame i maps to round((i + 1) / 4 * 10). Clip (0, 2): 2.5 -> 2
    # (half-up would give 3) to 7.5 -> 8; clip (1, 3): 5 to 10
    data = np.arange(1, 11)
    out = select_clips(data, np.array([0, 2, 1, 3]), num_clips=2, total_frames=4,
                       fixed_length=8)
    assert out.tolist() == [[3, 4, 5, 6, 7, 8, 0, 0], [6, 7, 8, 9, 10, 0, 0, 0]]


def test_audio_feature_selector_pads_and_cuts_rows():
    # 1000 rows, 30 frames, start_index 1 frames 2..4: rows round(100.0)=100 to
    # round(166.67)=167 -> 67 rows, zero-padded to 100; a fixed_length of 50 cuts
    feats = np.repeat(np.arange(1000)[:, None], 3, axis=1).astype(np.float32)
    results = dict(audios=feats, frame_inds=np.array([2, 3, 4]), num_clips=1, total_frames=30,
                   length=1000)
    out = _build('AudioFeatureSelector', fixed_length=100)(dict(results))
    assert out['audios'].shape == (1, 100, 3) and out['audios_shape'] == (1, 100, 3)
    assert out['audios'][0, :67, 0].tolist() == list(range(100, 167))
    assert not out['audios'][0, 67:].any()
    cut = _build('AudioFeatureSelector', fixed_length=50)(dict(results))
    assert cut['audios'][0, :, 2].tolist() == list(range(100, 150))


def test_audio_decode_default_length_and_amplify():
    audio = np.linspace(-1, 1, 48000, dtype=np.float32)
    results = dict(audios=audio, frame_inds=np.arange(1, 65), num_clips=1, total_frames=90,
                   length=48000)
    out = _build('AudioDecode')(results)
    # frames 1..64 of 90: samples round(2/90*48000)=1067 to round(65/90*48000)=34667 -> cut
    # to 32000
    assert out['audios'].shape == (1, 32000)
    assert out['audios'][0, 0] == audio[1067]
    amp = _build('AudioAmplify', ratio=1.5)(out)
    assert amp['amplify_ratio'] == 1.5
    assert amp['audios'][0, 0] == pytest.approx(1.5 * audio[1067])
    with pytest.raises(TypeError, match='float'):
        _build('AudioAmplify', ratio=2)


# --- reading files ------------------------------------------------------------------------

def test_audio_decode_init_reads_and_downmixes(stereo_wav):
    out = _build('AudioDecodeInit', sample_rate=8000)(dict(audio_path=stereo_wav))
    assert out['sample_rate'] == 8000 and out['length'] == 8000
    # s16 16384 and -8192 are 0.5 and -0.25 exactly (/ 32768, as libsndfile / librosa)
    assert np.all(out['audios'] == 0.125)
    half = _build('AudioDecodeInit', sample_rate=4000)(dict(audio_path=stereo_wav))
    assert half['length'] == 4000 and np.allclose(half['audios'][100:-100], 0.125, atol=1e-3)


def test_missing_files_are_padded_as_mmaction_does(tmp_path):
    out = _build('AudioDecodeInit')(dict(audio_path=str(tmp_path / 'none.wav')))
    assert out['length'] == 160000 and not out['audios'].any()  # 10 s of silence at 16 kHz
    noise = _build('AudioDecodeInit', pad_method='random')(
        dict(audio_path=str(tmp_path / 'none.wav')))['audios']
    assert -1 <= noise.min() < 0 < noise.max() < 1
    feats = _build('LoadAudioFeature')(dict(audio_path=str(tmp_path / 'none.npy')))
    assert feats['audios'].shape == (640, 80) and feats['length'] == 640
    with pytest.raises(ValueError, match='pad_method'):
        _build('LoadAudioFeature', pad_method='edge')


def test_file_without_audio_stream_is_named(tmp_path):
    from actionkit.datasets.pipelines.decoders.synthetic import write_video

    video = write_video(tmp_path / 'silent_film.mp4', num_frames=4, height=16, width=16)
    with pytest.raises(DecodeError, match='silent_film.mp4: no audio stream') as info:
        _build('AudioDecodeInit')(dict(audio_path=str(video)))
    assert info.value.path == str(video)


def test_silent_and_empty_audio(tmp_path):
    silent = write_wav(tmp_path / 'silent.wav', np.zeros(1600), 16000)
    out = _build('AudioDecodeInit')(dict(audio_path=silent))
    assert out['length'] == 1600 and not out['audios'].any()
    empty = write_wav(tmp_path / 'empty.wav', np.zeros(0), 16000)
    with pytest.raises(DecodeError, match='empty.wav: the audio stream holds no samples'):
        _build('AudioDecodeInit')(dict(audio_path=empty))


@pytest.mark.parametrize('shape', [(640,), (2, 640, 80)])
def test_feature_file_of_the_wrong_shape_is_named(tmp_path, shape):
    path = tmp_path / 'bad.npy'
    np.save(path, np.zeros(shape, np.float32))
    with pytest.raises(DataError, match=rf'bad.npy: .*2-D.*shape {re.escape(str(shape))}'):
        _build('LoadAudioFeature')(dict(audio_path=str(path)))


def test_feature_file_that_is_not_npy_is_named(tmp_path):
    path = tmp_path / 'text.npy'
    path.write_text('not numpy')
    with pytest.raises(DecodeError, match='text.npy: not a readable .npy'):
        _build('LoadAudioFeature')(dict(audio_path=str(path)))


# --- whole pipelines ----------------------------------------------------------------------

def test_waveform_pipeline_shapes_and_edge_padding(stereo_wav):
    pipeline = Compose([
        dict(type='AudioDecodeInit', sample_rate=16000),
        dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=2, test_mode=True),
        dict(type='AudioDecode'),
        dict(type='MelSpectrogram'),
        dict(type='FormatAudioShape', input_format='NCTF'),
    ])
    out = pipeline(dict(audio_path=stereo_wav, total_frames=30, start_index=1))
    # 2 clips of 32000 samples: 126 centred frames, edge-padded to 128
    assert out['audios'].shape == (2, 1, 128, 80) and out['input_shape'] == (2, 1, 128, 80)
    assert np.array_equal(out['audios'][:, :, 127], out['audios'][:, :, 125])


def test_format_audio_shape_only_nctf():
    with pytest.raises(ValueError, match='NCTF'):
        _build('FormatAudioShape', input_format='NCHW')
    out = _build('FormatAudioShape', input_format='NCTF')(dict(audios=np.zeros((3, 5, 7))))
    assert out['audios'].shape == (3, 1, 5, 7)


def test_mel_log_spectrogram_is_refused_with_the_upstream_reason():
    with pytest.raises(ValueError, match='MelLogSpectrogram.*MMAction2 0.24.1 either'):
        Compose([dict(type='MelLogSpectrogram')])





def _documented(cls, kind):
    text = ' '.join(line.strip() for line in (cls.__doc__ or '').splitlines())
    found = set()
    for match in re.finditer(rf'{kind} keys: (.*?)(?:\. [A-Z]|\.$|Args:)', text):
        found |= set(re.findall(r'``(\w+)``', match.group(1)))
    return found


@pytest.mark.parametrize('name, build, results', [
    ('AudioDecodeInit', {}, lambda p: dict(audio_path=p)),
    ('AudioDecode', dict(fixed_length=100),
     lambda p: dict(audios=np.zeros(1000, np.float32), frame_inds=np.arange(4), num_clips=1,
                    total_frames=10)),
    ('AudioFeatureSelector', dict(fixed_length=8),
     lambda p: dict(audios=np.zeros((50, 4), np.float32), frame_inds=np.arange(4),
                    num_clips=1, total_frames=10)),
    ('AudioAmplify', dict(ratio=2.0), lambda p: dict(audios=np.ones(10, np.float32))),
    ('MelSpectrogram', dict(fixed_length=4, n_mels=8),
     lambda p: dict(audios=np.ones((1, 800), np.float32), sample_rate=8000, num_clips=1)),
    ('LoadAudioFeature', {}, lambda p: dict(audio_path=p + '.npy')),
    ('FormatAudioShape', dict(input_format='NCTF'),
     lambda p: dict(audios=np.zeros((1, 4, 8), np.float32))),
])
def test_steps_add_and_require_what_their_docstrings_say(name, build, results, stereo_wav):
    np.save(stereo_wav + '.npy', np.zeros((20, 4), np.float32))
    step = _build(name, **build)
    given = results(stereo_wav)
    required = _documented(type(step), 'Required')
    assert required == set(given), (name, required)
    out = step(dict(given))
    assert set(out) - set(given) == _documented(type(step), 'Added'), name
    for key in required:  # each required key is needed
        with pytest.raises(KeyError, match=key):
            step({k: v for k, v in given.items() if k != key})
