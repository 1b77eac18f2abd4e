"""Videos whose metadata or stream changes what a decoder returns: a rotation in the display
matrix, a frame size that changes midway (issue 15, "Faults, round two"). Every backend must
give the same frames, or refuse the file."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from faults_media import (write_audio_only, write_clip, write_faststart_copy, write_random_bytes,
                         write_rotated_clip, write_size_change, write_truncated)

from actionkit.datasets.pipelines.decoders.decord_reader import DecordReader
from actionkit.datasets.pipelines.decoders.opencv_reader import OpenCVReader
from actionkit.datasets.pipelines.decoders.pyav_reader import PyAVReader
from actionkit.datasets.pipelines.decoders.torchcodec_reader import (TorchCodecReader,
                                                                     _import_video_decoder)
from actionkit.errors import DecodeError


def _torchcodec_or_skip() -> type:
    try:
        _import_video_decoder()
    except ImportError as err:
        pytest.skip(str(err)[:120])
    return TorchCodecReader


@pytest.mark.parametrize('degrees', [90, 180, 270])
def test_a_rotated_video_is_turned_upright_by_pyav_and_opencv_and_refused_by_decord(
        tmp_path: Path, degrees: int) -> None:
    rotated = write_rotated_clip(tmp_path / 'rotated.mp4', degrees)
    with av.open(str(rotated)) as container:  # the stored pixels, rotation ignored
        stored = [frame.to_ndarray(format='rgb24') for frame in container.decode(video=0)]
    upright = [np.rot90(stored[index], degrees // 90) for index in (1, 6)]
    for reader in (PyAVReader, OpenCVReader):
        frames = reader(str(rotated)).get_frames([1, 6])
        assert [f.shape for f in frames] == [upright[0].shape] * 2, reader
        for got, want in zip(frames, upright):
            np.testing.assert_array_equal(got, want)  # same decoder: bit-identical
    with pytest.raises(DecodeError) as info:
        DecordReader(str(rotated))
    assert str(info.value) == (f'{rotated} asks players to rotate it by {degrees} degrees (its '
                               'display matrix), which decord cannot do; decode it with PyAV '
                               '(PyAVInit/PyAVDecode, the default) or OpenCV, which turn it '
                               'upright')


def test_torchcodec_turns_a_rotated_video_upright_as_pyav_does(tmp_path: Path) -> None:
    reader = _torchcodec_or_skip()
    for degrees in (90, 180, 270):
        rotated = write_rotated_clip(tmp_path / f'rotated_{degrees}.mp4', degrees)
        frames, upright = (cls(str(rotated)).get_frames([1, 6]) for cls in (reader, PyAVReader))
        assert [f.shape for f in frames] == [f.shape for f in upright]
        for got, want in zip(frames, upright):
            np.testing.assert_array_equal(got, want)


def test_torchcodec_names_a_file_it_cannot_read_in_one_line(tmp_path: Path) -> None:
    reader = _torchcodec_or_skip()
    garbage = write_random_bytes(tmp_path / 'garbage.mp4')
    with pytest.raises(DecodeError) as info:
        reader(str(garbage))
    assert str(info.value) == (f'torchcodec cannot open video {garbage}: Could not open input '
                               f'file: {garbage} Invalid data found when processing input')
    audio = write_audio_only(tmp_path / 'audio.mp4')
    with pytest.raises(DecodeError) as info:
        reader(str(audio))
    assert str(info.value) == f'no video stream in {audio} (torchcodec)'


def test_a_frame_size_change_midway_is_scaled_to_the_first_size_by_every_backend(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_size_change(tmp_path / 'switch.ts')  # 64x48 for 8 frames, then 96x72
    frames = {reader.backend: reader(str(path)).get_frames([2, 12])
              for reader in (PyAVReader, OpenCVReader, DecordReader)}
    for backend, got in frames.items():
        assert [f.shape for f in got] == [(48, 64, 3)] * 2, backend
        np.testing.assert_array_equal(got[0], frames['pyav'][0])  # before the change: equal
        # after it, the scaling filters differ a little (measured: 2.0 and 2.7 of 255)
        assert np.abs(got[1].astype(int) - frames['pyav'][1]).mean() < 6, backend
    assert f'{path}: the frame size changes mid-stream from 64x48 to 96x72' in caplog.text


@pytest.mark.parametrize('fraction', [0.5, 0.9])
@pytest.mark.parametrize('reader', [PyAVReader, OpenCVReader, DecordReader, 'torchcodec'],
                         ids=['pyav', 'opencv', 'decord', 'torchcodec'])
def test_every_backend_refuses_a_cut_index_first_mp4_even_for_frames_before_the_cut(
        tmp_path: Path, reader: type | str, fraction: float) -> None:
    if reader == 'torchcodec':
        reader = _torchcodec_or_skip()
    clip = write_clip(tmp_path / 'clip.mp4', num_frames=48)
    faststart = write_faststart_copy(clip, tmp_path / 'faststart.mp4')
    cut = write_truncated(faststart, tmp_path / 'cut.mp4', fraction)
    # the first two frames lie well before any of these cuts: decoding them alone used to work
    with pytest.raises(DecodeError) as info:
        reader(str(cut)).get_frames([0, 1])
    assert str(info.value).startswith(f'{cut} is truncated: its ')
