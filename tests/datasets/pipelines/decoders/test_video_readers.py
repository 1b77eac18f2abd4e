"""The decord, OpenCV and TorchCodec readers return PyAV's frames; missing backends say how to
install them."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from actionkit.datasets.errors import DataError
from actionkit.datasets.pipelines.decoders import get_reader_class, open_video
from actionkit.datasets.pipelines.decoders.synthetic import write_video


def _reader_or_skip(backend):
    try:
        cls = get_reader_class(backend)
        if backend == 'decord':
            from actionkit.datasets.pipelines.decoders.decord_reader import _import_decord
            _import_decord()
        elif backend == 'torchcodec':
            from actionkit.datasets.pipelines.decoders.torchcodec_reader import (
                _import_video_decoder)
            _import_video_decoder()
    except ImportError as err:
        pytest.skip(f'{backend} backend unavailable: {str(err)[:200]}')
    return cls


# torchcodec refuses AVI files (see its own test)
@pytest.mark.parametrize('backend, name', [
    (backend, name) for backend in ['decord', 'opencv', 'torchcodec']
    for name in ['gop12.mp4', 'gop12.mkv', 'mpeg4.avi']
    if not (backend == 'torchcodec' and name.endswith('.avi'))])
def test_backends_match_the_sequential_decode(videos, reference_frames, backend, name):
    reader_cls = _reader_or_skip(backend)
    reference = reference_frames[name]
    indices = [len(reference) - 1, 0, 7, 7, len(reference) // 2]
    with reader_cls(str(videos[name])) as reader:
        assert len(reader) == len(reference)
        assert reader.backend == backend
        frames = reader.get_frames(indices)
    for frame, idx in zip(frames, indices):
        assert frame.dtype == np.uint8 and np.array_equal(frame, reference[idx]), (backend, idx)
    assert frames[2] is not frames[3]


@pytest.mark.parametrize('backend, relative', [
    (backend, relative) for backend in ['decord', 'opencv', 'torchcodec']
    for relative in ['demo/demo.mp4', 'tests/data/test.mp4', 'tests/data/test.avi']
    if not (backend == 'torchcodec' and relative.endswith('.avi'))])
def test_backends_match_on_real_videos(shared_video, backend, relative):
    reader_cls = _reader_or_skip(backend)
    path, reference = shared_video(relative)
    n = len(reference)
    indices = [int(n / 8 * i + n / 16) for i in range(8)] + [n - 1]
    with reader_cls(str(path)) as reader:
        assert len(reader) == n
        frames = reader.get_frames(indices)
    for frame, idx in zip(frames, indices):
        assert np.array_equal(frame, reference[idx]), (backend, relative, idx)


@pytest.mark.parametrize('name, container', [
    ('h264.avi', 'AVI'), ('mpeg4.avi', 'AVI'), ('h264.ts', 'MPEG-TS'), ('h264.m2ts', 'MPEG-TS'),
    ('h264.mp4', None), ('h264.mkv', None), ('h264.mov', None), ('h264.flv', None)])
def test_torchcodec_refuses_the_containers_it_seeks_wrongly_in(tmp_path, name, container):
    # torchcodec 0.17 (FFmpeg 5.1) returns the frame before the one asked for, or fails with
    # "no more frames left to decode", in AVI and MPEG-TS files with B-frames; it is exact in
    # the others. Refused before torchcodec is imported: PyAV reads those files in any case
    from actionkit.datasets.pipelines.decoders.base import BackendCannotRead
    from actionkit.datasets.pipelines.decoders.torchcodec_reader import seeks_wrongly_in

    path = write_video(tmp_path / name, num_frames=30, codec='mpeg4' if 'mpeg4' in name
                       else 'libx264', bframes=2)
    assert seeks_wrongly_in(path) == container
    if container is None:
        return
    with pytest.raises(BackendCannotRead) as info:
        get_reader_class('torchcodec')(path)
    assert str(info.value) == (f'torchcodec can return wrong frames from {container} files with '
                               f'B-frames, so it does not read {path}: decode it with PyAV (the '
                               'pyav backend)')
    assert info.value.path == path


def test_opencv_frame_count_estimate_is_corrected_at_the_end(videos, reference_frames):
    """A variable-frame-rate file: OpenCV estimates the count from duration x fps (too high)."""
    reference = reference_frames['vfr.mkv']
    reader_cls = _reader_or_skip('opencv')
    with reader_cls(str(videos['vfr.mkv'])) as reader:
        announced = len(reader)
        assert announced > len(reference)
        frames = reader.get_frames([3, announced - 1])
        assert len(reader) == len(reference)
    assert np.array_equal(frames[0], reference[3])
    assert np.array_equal(frames[1], reference[-1])


def test_opencv_reads_forward_after_a_backward_request(videos, reference_frames):
    reference = reference_frames['gop12.mp4']
    with get_reader_class('opencv')(str(videos['gop12.mp4'])) as reader:
        assert np.array_equal(reader.get_frames([40])[0], reference[40])
        assert np.array_equal(reader.get_frames([2])[0], reference[2])


def test_decord_efficient_mode_returns_a_keyframe(videos, reference_frames):
    # decord seeks to a keyframe near the index (here the next one), as in MMAction2 0.x
    reader_cls = _reader_or_skip('decord')
    with reader_cls(str(videos['gop12.mp4']), mode='efficient') as reader:
        frame = reader.get_frames([17])[0]
    reference = reference_frames['gop12.mp4']
    assert any(np.array_equal(frame, reference[key]) for key in (12, 24))


def test_missing_decord_says_how_to_install(monkeypatch, videos):
    monkeypatch.setitem(sys.modules, 'decord', None)
    with pytest.raises(ImportError, match='pip install decord2'):
        open_video(str(videos['gop12.mp4']), backend='decord')


def test_torchcodec_failure_says_how_to_install(monkeypatch, videos):
    monkeypatch.setitem(sys.modules, 'torchcodec.decoders', None)
    with pytest.raises(ImportError, match=r"actionkit\[torchcodec\].*FFmpeg"):
        open_video(str(videos['gop12.mp4']), backend='torchcodec')


@pytest.mark.parametrize('backend', ['decord', 'opencv'])
def test_bad_files_raise_data_errors_naming_the_file(tmp_path, backend):
    reader_cls = _reader_or_skip(backend)
    cases = {'missing.mp4': None, 'empty.mp4': b'',
             'random.mp4': np.random.default_rng(1).bytes(4096)}
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(DataError) as info:
            with reader_cls(str(path)) as reader:
                reader.get_frames([0])
        assert str(path) in str(info.value), (backend, name)


def test_opencv_thread_option_is_validated(tmp_path):
    path = write_video(tmp_path / 'tiny.mp4', num_frames=4, gop=2, bframes=0)
    with pytest.raises(ValueError, match='num_threads'):
        get_reader_class('opencv')(str(path), num_threads=-1)
    with get_reader_class('opencv')(str(path), num_threads=1) as reader:
        assert len(reader) == 4


def test_decord_decode_options_change_the_mode(videos, reference_frames):
    reader_cls = _reader_or_skip('decord')
    reference = reference_frames['gop12.mp4']
    with reader_cls(str(videos['gop12.mp4'])) as reader:
        reader.set_decode_options(mode='efficient')
        frame = reader.get_frames([17])[0]
        assert any(np.array_equal(frame, reference[key]) for key in (12, 24))
        reader.set_decode_options()  # None keeps the mode
        assert reader.mode == 'efficient'
        reader.set_decode_options(mode='accurate')
        assert np.array_equal(reader.get_frames([17])[0], reference[17])
        with pytest.raises(ValueError, match="mode must be 'accurate' or 'efficient'"):
            reader.set_decode_options(mode='fast')


def test_readers_without_decode_options_take_none(videos):
    with get_reader_class('opencv')(str(videos['gop12.mp4'])) as reader:
        reader.set_decode_options()
        with pytest.raises(TypeError):
            reader.set_decode_options(mode='efficient')
