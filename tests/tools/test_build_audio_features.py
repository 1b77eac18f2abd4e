"""tools/data/build_audio_features.py and actionkit.datasets.prep.audio_features: audio (or a
video's audio track) to MMAction2-style log-mel features; bad files named; reruns resume."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actionkit.datasets.pipelines.decoders.audio_reader import read_audio
from actionkit.datasets.prep.audio_features import (FEATURE_DEFAULTS, build_audio_features,
                                                    extract_audio_features,
                                                    log_mel_from_samples)
from actionkit.datasets.synthetic_audio import write_wav
from actionkit.errors import DecodeError

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'data' / 'build_audio_features.py'


def _video_with_audio(path, seconds=1.0, freq=1000.0):
    """A tiny mp4: 30 black frames and an AAC mono 16 kHz sine."""
    import av

    rate = 16000
    samples = (0.5 * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate))
    with av.open(str(path), 'w') as out:
        video = out.add_stream('mpeg4', rate=30)
        video.width = video.height = 32
        video.pix_fmt = 'yuv420p'
        audio = out.add_stream('aac', rate=rate)
        audio.layout = 'mono'
        for _ in range(int(30 * seconds)):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format='rgb24')
            out.mux(video.encode(frame))
        for start in range(0, len(samples), 1024):
            chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024].astype(
                np.float32), format='fltp', layout='mono')
            chunk.sample_rate, chunk.pts = rate, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
        out.mux(video.encode(None))
    return path


def test_defaults_are_mmaction_s():
    # MMAction2 0.24.1: AudioTools(fft_size=512, hop_size=256), 16 kHz, 80 mels, 125-7600 Hz
    assert FEATURE_DEFAULTS == dict(sample_rate=16000, fft_size=512, hop_size=256,
                                    num_mels=80, fmin=125.0, fmax=7600.0,
                                    min_level_db=-100.0, ref_level_db=20.0)


def test_features_of_a_video_audio_track(tmp_path):
    video = _video_with_audio(tmp_path / 'clip.mp4')
    feats = extract_audio_features(video, tmp_path / 'clip.npy')
    assert np.array_equal(np.load(tmp_path / 'clip.npy'), feats)
    samples, _ = read_audio(video)
    assert np.array_equal(feats, log_mel_from_samples(samples))
    # lws framing: n // 256 + 1 frames when 256 divides n, else n // 256 + 2
    num = len(samples)
    assert feats.shape == (num // 256 + (1 if num % 256 == 0 else 2), 80)
    assert int(feats[5:-5].mean(0).argmax()) == 24  # 1 kHz: band 24 (test_audio.py derives it)


def test_batch_resumes_and_names_bad_files(tmp_path):
    src, out = tmp_path / 'audio', tmp_path / 'feats'
    src.mkdir()
    for name in ('a', 'b'):
        write_wav(src / f'{name}.wav', 0.3 * np.sin(np.arange(8000) / 5), 16000)
    (src / 'broken.wav').write_bytes(b'RIFF not really a wave file')
    report = build_audio_features(src, out, ext='wav', num_workers=1)
    assert sorted(Path(p).name for p in report.done) == ['a.wav', 'b.wav']
    assert [Path(p).name for p, _ in report.failed] == ['broken.wav']
    assert 'broken.wav' in report.failed[0][1]
    assert np.load(out / 'a.npy').shape == (8000 // 256 + 2, 80)  # 31 + 2 = 33 lws frames
    again = build_audio_features(src, out, ext='wav', num_workers=2)
    assert sorted(Path(p).name for p in again.skipped) == ['a.wav', 'b.wav']
    assert not again.done and len(again.failed) == 1
    # 3 sorted files in 2 shares of 3 // 2 = 1: share 1 is [a], share 2 the rest [b, broken]
    second_half = build_audio_features(src, tmp_path / 'part', ext='wav', num_workers=1,
                                       part='2/2')
    assert [Path(p).name for p in second_half.done] == ['b.wav']


def test_video_without_audio_is_named(tmp_path):
    from actionkit.datasets.pipelines.decoders.synthetic import write_video

    video = write_video(tmp_path / 'mute.mp4', num_frames=4, height=16, width=16)
    with pytest.raises(DecodeError, match='mute.mp4: no audio stream'):
        extract_audio_features(video, tmp_path / 'mute.npy')
    assert not (tmp_path / 'mute.npy').exists()


def test_command_line(tmp_path):
    src = tmp_path / 'in'
    src.mkdir()
    write_wav(src / 'x.wav', np.zeros(4096), 16000)
    done = subprocess.run([sys.executable, str(TOOL), str(src), str(tmp_path / 'out'), '--ext',
                           'wav', '--num-workers', '1'], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert '1 done' in done.stdout
    assert not np.load(tmp_path / 'out' / 'x.npy').any()  # silence stays 0
