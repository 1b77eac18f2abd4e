"""PyAVReader: the same frames as a sequential decode, decoding only what it must."""
from __future__ import annotations

import numpy as np
import pytest

from actionkit.datasets.errors import DataError, DecodeError
from actionkit.datasets.pipelines.decoders import get_reader_class, open_video
from actionkit.datasets.pipelines.decoders.pyav_reader import PyAVReader
from actionkit.datasets.pipelines.decoders.synthetic import write_video

INDEX_SETS = {
    'sparse': lambda n: [int(n / 8 * i + n / 16) for i in range(8)],
    'dense clip': lambda n: list(range(n // 3, min(n, n // 3 + 16), 2)),
    'unsorted repeats': lambda n: [n - 1, 0, n // 2, n // 2, 1, n - 1],
    'single': lambda n: [n // 2 + 1],
    'all': lambda n: list(range(n)),
}


def _assert_frames(frames, reference, indices):
    assert len(frames) == len(indices)
    for frame, idx in zip(frames, indices):
        assert frame.dtype == np.uint8 and frame.shape == reference[idx].shape
        assert np.array_equal(frame, reference[idx]), f'frame {idx} differs'


@pytest.mark.parametrize('name', ['gop12.mp4', 'gop12.mkv', 'mpeg4.avi', 'vfr.mp4',
                                  'vfr.mkv', 'intra.mp4', 'gop12.ts'])
@pytest.mark.parametrize('index_set', list(INDEX_SETS))
def test_frames_equal_sequential_decode(videos, reference_frames, name, index_set):
    reference = reference_frames[name]
    indices = INDEX_SETS[index_set](len(reference))
    with PyAVReader(str(videos[name])) as reader:
        assert len(reader) == len(reference)
        _assert_frames(reader.get_frames(indices), reference, indices)


def test_real_videos_equal_sequential_decode(demo_video, demo_frames):
    with PyAVReader(str(demo_video)) as reader:
        assert len(reader) == len(demo_frames) == 280
        assert reader.avg_fps == pytest.approx(28.0)
        for indices in ([17, 52, 87, 122, 157, 192, 227, 262], list(range(108, 172, 2)),
                        [279, 0, 186, 187, 188, 229, 230, 267, 268]):
            _assert_frames(reader.get_frames(indices), demo_frames, indices)


@pytest.mark.parametrize('relative', ['tests/data/test.mp4', 'tests/data/test.avi'])
def test_shared_test_videos_equal_sequential_decode(shared_video, relative):
    path, reference = shared_video(relative)
    indices = [0, 5, len(reference) // 2, len(reference) - 1]
    with PyAVReader(str(path)) as reader:
        assert len(reader) == len(reference)
        _assert_frames(reader.get_frames(indices), reference, indices)


def test_sparse_sampling_decodes_about_one_gop_per_frame(tmp_path):
    path = write_video(tmp_path / 'long.mp4', num_frames=240, gop=12, bframes=2)
    indices = [int(240 / 8 * i + 15) for i in range(8)]
    with PyAVReader(str(path)) as reader:
        reader.get_frames(indices)
        # each frame needs at most its GOP (12 frames); a decode from the start would be 241
        assert reader.frames_decoded <= 8 * 12
        assert not reader._sequential


def test_frames_nobody_asked_for_are_skipped_when_unreferenced(tmp_path):
    path = write_video(tmp_path / 'onegop.mp4', num_frames=90, gop=250, bframes=3)
    with PyAVReader(str(path)) as reader:
        reader.get_frames([89])
        # one GOP: every reference frame up to 89 is needed, non-reference B-frames are not
        assert reader.frames_decoded < 80


def test_inexact_seeking_falls_back_to_a_sequential_decode(videos, reference_frames):
    reference = reference_frames['gop12.ts']
    with PyAVReader(str(videos['gop12.ts'])) as reader:
        assert not reader._sequential
        _assert_frames(reader.get_frames([20, 25]), reference, [20, 25])
        assert reader._sequential  # the MPEG-TS seek missed its keyframe; counted instead


def test_repeated_indices_are_separate_arrays(videos):
    with PyAVReader(str(videos['gop12.mp4'])) as reader:
        first, second = reader.get_frames([3, 3])
    assert np.array_equal(first, second) and first is not second
    first[:] = 0
    assert second.any()


def test_indices_past_the_end_are_clamped(videos, reference_frames):
    reference = reference_frames['gop12.mp4']
    with PyAVReader(str(videos['gop12.mp4'])) as reader:
        frames = reader.get_frames([len(reference) + 5])
    assert np.array_equal(frames[0], reference[-1])


def test_stream_shorter_than_its_packet_table_is_clamped_and_recounted(videos,
                                                                      reference_frames):
    # AVI is decoded sequentially; pretend its index listed 5 frames that never decode
    reference = reference_frames['mpeg4.avi']
    with PyAVReader(str(videos['mpeg4.avi'])) as reader:
        reader._num_frames += 5
        frames = reader.get_frames([2, len(reference) + 3])
        assert len(reader) == len(reference)
    assert np.array_equal(frames[0], reference[2])
    assert np.array_equal(frames[1], reference[-1])


def test_efficient_mode_returns_the_keyframe_before_each_index(videos, reference_frames):
    reference = reference_frames['gop12.mp4']
    with PyAVReader(str(videos['gop12.mp4']), mode='efficient') as reader:
        frames = reader.get_frames([17, 30, 5])
    for frame, key in zip(frames, [12, 24, 0]):
        assert np.array_equal(frame, reference[key])


def test_multi_thread_gives_the_same_frames(videos, reference_frames):
    reference = reference_frames['gop12.mp4']
    with PyAVReader(str(videos['gop12.mp4'])) as reader:
        reader.set_decode_options(multi_thread=True)
        _assert_frames(reader.get_frames([1, 20, 40, 59]), reference, [1, 20, 40, 59])
        reader.set_decode_options(multi_thread=False, mode='accurate')
        _assert_frames(reader.get_frames([2, 30]), reference, [2, 30])


def test_container_without_frame_count_is_counted(videos, reference_frames):
    import av

    with av.open(str(videos['gop12.mkv'])) as container:
        assert container.streams.video[0].frames == 0  # Matroska does not store it
    with PyAVReader(str(videos['gop12.mkv'])) as reader:
        assert len(reader) == len(reference_frames['gop12.mkv'])


def test_open_video_and_backend_names(videos):
    with open_video(str(videos['gop12.mp4'])) as reader:
        assert isinstance(reader, PyAVReader) and reader.backend == 'pyav'
    with pytest.raises(ValueError, match="unknown video backend 'ffmpeg'"):
        get_reader_class('ffmpeg')
    with pytest.raises(ValueError, match='mode'):
        PyAVReader(str(videos['gop12.mp4']), mode='fast')


def test_negative_indices_are_rejected(videos):
    with PyAVReader(str(videos['gop12.mp4'])) as reader:
        with pytest.raises(ValueError, match='>= 0'):
            reader.get_frames([-1])


# --------------------------------------------------------------------------- bad input
def _write_faststart(path, num_frames=40):
    """An MP4 with its index at the front, so a cut-off copy still opens."""
    import av

    from actionkit.datasets.pipelines.decoders.synthetic import synthetic_frame

    with av.open(str(path), 'w', options={'movflags': 'faststart'}) as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, 'yuv420p'
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(synthetic_frame(i, 64, 48), format='rgb24')
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _bad_files(tmp_path, videos):
    good = videos['gop12.mp4'].read_bytes()
    faststart = _write_faststart(tmp_path / 'faststart.mp4').read_bytes()
    files = {
        'missing.mp4': None,
        'empty.mp4': b'',
        'random.mp4': np.random.default_rng(0).bytes(4096),
        'cut_index.mp4': good[:len(good) // 2],  # the index (moov) is at the end: lost
        'cut_data.mp4': faststart[:int(len(faststart) * 0.7)],  # index kept, frames lost
    }
    paths = {}
    for name, data in files.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        paths[name] = path
    return paths


@pytest.mark.parametrize('name', ['missing.mp4', 'empty.mp4', 'random.mp4', 'cut_index.mp4',
                                  'cut_data.mp4'])
def test_bad_files_raise_data_errors_naming_the_file(tmp_path, videos, name):
    path = _bad_files(tmp_path, videos)[name]
    with pytest.raises(DataError) as info:
        with PyAVReader(str(path)) as reader:
            reader.get_frames([0, len(reader) - 1])
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_file_without_video_stream(tmp_path):
    import av

    path = tmp_path / 'audio_only.wav'
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('pcm_s16le', rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format='s16',
                                           layout='mono')
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(DecodeError, match='no video stream') as info:
        PyAVReader(str(path))
    assert str(path) in str(info.value)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataError, match='folder'):
        PyAVReader(str(tmp_path))
