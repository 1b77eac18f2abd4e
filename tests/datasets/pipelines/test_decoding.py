"""The decoding steps of a pipeline: video Init/Decode pairs and RawFrameDecode."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from actionkit.datasets import PIPELINES
from actionkit.datasets.errors import DataError, DecodeError
from actionkit.datasets.pipelines import (DecordInit, OpenCVInit, PyAVDecode, PyAVInit,
                                          RawFrameDecode, SampleFrames)

SHARED_TEST_DATA = (Path(__file__).resolve().parents[3] / '..' / 'shared' / 'data' / 'mmaction2'
                    / 'tests' / 'data')
PAIRS = [('PyAVInit', 'PyAVDecode'), ('DecordInit', 'DecordDecode'),
         ('OpenCVInit', 'OpenCVDecode')]


def _decode(init, decode, filename, frame_inds):
    results = PIPELINES.build(dict(type=init))(dict(filename=str(filename)))
    results['frame_inds'] = np.asarray(frame_inds)
    return PIPELINES.build(dict(type=decode))(results)


@pytest.mark.parametrize('init, decode', PAIRS)
def test_video_steps_add_and_remove_the_documented_keys(videos, reference_frames, init, decode):
    results = PIPELINES.build(dict(type=init))(dict(filename=str(videos['gop12.mp4'])))
    assert results['total_frames'] == len(reference_frames['gop12.mp4'])
    assert results['avg_fps'] == pytest.approx(25.0)
    assert 'fps' not in results
    results['frame_inds'] = np.array([[1, 2], [30, 59]])  # 2-D like some samplers produce
    results = PIPELINES.build(dict(type=decode))(results)
    assert 'video_reader' in results and results['video_reader'] is None  # as MMAction2
    assert len(results['imgs']) == 4
    assert results['original_shape'] == results['img_shape'] == (48, 64)
    for img, idx in zip(results['imgs'], [1, 2, 30, 59]):
        assert np.array_equal(img, reference_frames['gop12.mp4'][idx])


def test_all_backends_give_the_same_frames_on_demo(demo_video):
    frame_inds = SampleFrames(clip_len=1, num_clips=8, test_mode=True)(
        dict(total_frames=280, start_index=0))['frame_inds']
    outputs = [_decode(init, decode, demo_video, frame_inds)['imgs'] for init, decode in PAIRS]
    for imgs in outputs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(outputs[0], imgs))


def test_total_frames_is_corrected_when_the_stream_is_shorter(videos, reference_frames):
    real = len(reference_frames['vfr.mkv'])
    results = OpenCVInit()(dict(filename=str(videos['vfr.mkv'])))
    assert results['total_frames'] > real  # OpenCV's estimate
    results['frame_inds'] = np.array([results['total_frames'] - 1])
    results = PIPELINES.build(dict(type='OpenCVDecode'))(results)
    assert results['total_frames'] == real
    assert np.array_equal(results['imgs'][0], reference_frames['vfr.mkv'][-1])


def test_decode_needs_the_reader_of_its_own_backend(videos):
    results = DecordInit()(dict(filename=str(videos['gop12.mp4'])))
    results['frame_inds'] = np.array([0])
    with pytest.raises(TypeError, match='PyAVInit'):
        PyAVDecode()(results)


def test_decode_options_reach_the_reader(videos, reference_frames):
    results = PyAVInit()(dict(filename=str(videos['gop12.mp4'])))
    results['frame_inds'] = np.array([17])
    results = PyAVDecode(mode='efficient', multi_thread=True)(results)
    assert np.array_equal(results['imgs'][0], reference_frames['gop12.mp4'][12])


def test_decord_decode_mode_reaches_the_reader(videos, reference_frames):
    pytest.importorskip('decord', reason='decord is not installed')
    reference = reference_frames['gop12.mp4']
    results = DecordInit()(dict(filename=str(videos['gop12.mp4']), frame_inds=np.array([17])))
    reader = results['video_reader']
    results = PIPELINES.build(dict(type='DecordDecode', mode='efficient'))(results)
    assert reader.mode == 'efficient'
    assert any(np.array_equal(results['imgs'][0], reference[key]) for key in (12, 24))


@pytest.mark.parametrize('cfg', [
    dict(type='PyAVInit'), dict(type='PyAVDecode', multi_thread=True, mode='efficient'),
    dict(type='DecordInit', num_threads=3), dict(type='DecordDecode', mode='efficient'),
    dict(type='OpenCVInit', num_threads=2), dict(type='OpenCVDecode'),
    dict(type='TorchCodecInit', num_threads=0), dict(type='TorchCodecDecode'),
    dict(type='TorchCodecInit', device='cpu'),
    dict(type='RawFrameDecode', decoding_backend='pillow'),
])
def test_repr_shows_every_argument_and_builds_the_same_step(cfg):
    step = PIPELINES.build(dict(cfg))
    text = repr(step)
    for key, value in cfg.items():
        if key != 'type':
            assert f'{key}={value!r}' in text, (text, key)
    rebuilt = eval(text, {cfg['type']: PIPELINES.get(cfg['type'])})
    assert type(rebuilt) is type(step) and repr(rebuilt) == text
    assert rebuilt.__dict__ == step.__dict__


@pytest.mark.parametrize('cfg, match', [
    (dict(type='PyAVInit', io_backend='petrel'), 'io_backend'),
    (dict(type='PyAVDecode', mode='fast'), 'mode'),
    (dict(type='DecordInit', num_threads=-2), 'num_threads'),
    (dict(type='RawFrameDecode', decoding_backend='tifffile'), 'decoding_backend'),
    (dict(type='TorchCodecInit', device='gpu'), "device must be 'cpu', 'cuda' or 'cuda:N'"),
    (dict(type='TorchCodecInit', device='cuda:x'), "device must be"),
])
def test_invalid_arguments_are_named(cfg, match):
    with pytest.raises(ValueError, match=match):
        PIPELINES.build(cfg)


def test_torchcodec_gpu_decoding_is_an_option_of_the_reader(videos, reference_frames):
    import torch
    if not torch.cuda.is_available():  # CPU machines: a clear refusal, before any worker runs
        with pytest.raises(ValueError, match=r"device='cuda:0' decodes on a CUDA GPU, and none "
                                             r"is visible here; use device='cpu'"):
            PIPELINES.build(dict(type='TorchCodecInit', device='cuda:0'))
    step = PIPELINES.build(dict(type='TorchCodecInit', device='cpu', num_threads=0))
    assert step._reader_kwargs() == dict(num_threads=0, device='cpu')
    pytest.importorskip('torchcodec.decoders', reason='torchcodec (and FFmpeg) not installed',
                        exc_type=ImportError)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    results = PIPELINES.build(dict(type='TorchCodecInit', device=device))(
        dict(filename=str(videos['gop12.mp4'])))
    results['frame_inds'] = np.array([17])
    results = PIPELINES.build(dict(type='TorchCodecDecode'))(results)
    assert results['imgs'][0].dtype == np.uint8
    assert np.abs(results['imgs'][0].astype(int)
                  - reference_frames['gop12.mp4'][17].astype(int)).mean() < 3


def test_torchcodec_init_decodes_avi_and_mpeg_ts_files_with_pyav(videos, reference_frames,
                                                                  caplog):
    # torchcodec seeks wrongly in these (see test_video_readers); the pipeline gives PyAV's
    # frames instead, warning once per kind of file, whether or not torchcodec is installed
    init = PIPELINES.build(dict(type='TorchCodecInit'))
    for name in ['mpeg4.avi', 'mpeg4.avi', 'gop12.ts']:
        with caplog.at_level('WARNING', logger='actionkit.datasets.pipelines.decoding'):
            results = init(dict(filename=str(videos[name])))
        assert results['video_reader'].backend == 'pyav'
        assert results['video_reader'].stands_in_for == 'torchcodec'
        results['frame_inds'] = np.array([29, 0, 13])
        results = PIPELINES.build(dict(type='TorchCodecDecode'))(results)
        assert all(np.array_equal(frame, reference_frames[name][index])
                   for frame, index in zip(results['imgs'], [29, 0, 13]))
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        f'TorchCodecInit: torchcodec can return wrong frames from {kind} files with B-frames: '
        f'{videos[name]} and the other such files are decoded with PyAV (the same frames)'
        for kind, name in (('AVI', 'mpeg4.avi'), ('MPEG-TS', 'gop12.ts'))]


def test_opencv_init_accepts_the_num_threads_of_mmaction_configs():
    assert PIPELINES.build(dict(type='OpenCVInit', num_threads=1)).num_threads == 1
    assert 'num_threads=1' in repr(PIPELINES.build(dict(type='DecordInit', num_threads=1)))


@pytest.mark.parametrize('init', ['PyAVInit', 'DecordInit', 'OpenCVInit'])
def test_missing_and_broken_videos_raise_data_errors(tmp_path, init):
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00' * 100 + b'not a video' * 50)
    for path in (tmp_path / 'missing.mp4', broken):
        with pytest.raises(DataError) as info:
            PIPELINES.build(dict(type=init))(dict(filename=str(path)))
        assert str(path) in str(info.value)


# --------------------------------------------------------------------------- rawframes
@pytest.fixture
def frame_dir():
    path = SHARED_TEST_DATA / 'imgs'
    if not path.is_dir():
        pytest.skip(f'shared test data not found: {path}')
    return path


def _rawframes(frame_dir, frame_inds, modality='RGB', tmpl='img_{:05}.jpg', **extra):
    results = dict(frame_dir=str(frame_dir), filename_tmpl=tmpl, modality=modality,
                   frame_inds=np.asarray(frame_inds), **extra)
    return results


def _bgr_to_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_rawframes_rgb_with_offset_and_repeats(frame_dir):
    results = RawFrameDecode()(_rawframes(frame_dir, [1, 3, 3], offset=2))
    assert [img.shape for img in results['imgs']] == [(240, 320, 3)] * 3
    assert np.array_equal(results['imgs'][0], _bgr_to_rgb(frame_dir / 'img_00003.jpg'))
    assert np.array_equal(results['imgs'][1], _bgr_to_rgb(frame_dir / 'img_00005.jpg'))
    assert np.array_equal(results['imgs'][1], results['imgs'][2])
    assert results['imgs'][1] is not results['imgs'][2]
    assert results['original_shape'] == results['img_shape'] == (240, 320)


def test_rawframes_flow_reads_x_then_y_as_grayscale(frame_dir):
    results = RawFrameDecode()(_rawframes(frame_dir, [2, 4, 2], 'Flow', '{}_{:05d}.jpg'))
    imgs = results['imgs']
    assert len(imgs) == 6 and all(img.ndim == 2 for img in imgs)
    x2 = cv2.imread(str(frame_dir / 'x_00002.jpg'), cv2.IMREAD_GRAYSCALE)
    y4 = cv2.imread(str(frame_dir / 'y_00004.jpg'), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(imgs[0], x2) and np.array_equal(imgs[3], y4)
    assert np.array_equal(imgs[4], x2) and np.array_equal(imgs[5], imgs[1])


def test_pillow_backend_matches_cv2(frame_dir):
    results = _rawframes(frame_dir, [1, 2])
    by_cv2 = RawFrameDecode()(dict(results))['imgs']
    by_pillow = RawFrameDecode(decoding_backend='pillow')(dict(results))['imgs']
    for a, b in zip(by_cv2, by_pillow):
        assert a.shape == b.shape and np.abs(a.astype(int) - b).mean() < 1.0


def test_optional_jpeg_backends_say_how_to_install(frame_dir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, 'simplejpeg', None)
    with pytest.raises(ImportError, match='pip install simplejpeg'):
        RawFrameDecode(decoding_backend='simplejpeg')(_rawframes(frame_dir, [1]))


@pytest.fixture
def broken_frame_dir(tmp_path, frame_dir):
    """A copy of the first 4 frames, with frame 3 missing and the caller breaking frame 2."""
    for i in (1, 2, 4):
        shutil.copy(frame_dir / f'img_{i:05}.jpg', tmp_path)
    return tmp_path


def test_missing_frame_names_the_file(broken_frame_dir):
    with pytest.raises(DataError) as info:
        RawFrameDecode()(_rawframes(broken_frame_dir, [1, 3]))
    assert 'img_00003.jpg' in str(info.value) and str(broken_frame_dir) in str(info.value)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match='frame folder not found') as info:
        RawFrameDecode()(_rawframes(tmp_path / 'nope', [1]))
    assert str(tmp_path / 'nope') in str(info.value)


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'empty'])
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_corrupt_jpegs_raise_decode_errors(broken_frame_dir, damage, backend):
    path = broken_frame_dir / 'img_00002.jpg'
    data = path.read_bytes()
    path.write_bytes({'garbage': b'\xff\xd8' + bytes(range(256)) * 8,
                      'truncated': data[:len(data) // 2], 'empty': b''}[damage])
    with pytest.raises(DecodeError) as info:
        RawFrameDecode(decoding_backend=backend)(_rawframes(broken_frame_dir, [1, 2]))
    assert str(path) in str(info.value)


def test_grayscale_jpeg_in_an_rgb_folder_gets_three_channels(broken_frame_dir):
    gray = cv2.imread(str(broken_frame_dir / 'img_00001.jpg'), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(broken_frame_dir / 'img_00002.jpg'), gray)
    for backend in ('cv2', 'pillow'):
        imgs = RawFrameDecode(decoding_backend=backend)(
            _rawframes(broken_frame_dir, [1, 2]))['imgs']
        assert imgs[1].shape == imgs[0].shape == (240, 320, 3)
        assert np.array_equal(imgs[1][..., 0], imgs[1][..., 2])


def test_rawframes_need_their_keys(frame_dir):
    with pytest.raises(KeyError, match='filename_tmpl'):
        RawFrameDecode()(dict(frame_dir=str(frame_dir), modality='RGB',
                              frame_inds=np.array([1])))
    with pytest.raises(ValueError, match='modality'):
        RawFrameDecode()(_rawframes(frame_dir, [1], modality='Audio'))


# ------------------------------------------------------------------ ArrayDecode / ImageDecode
def test_array_decode_picks_rgb_frames_with_offset():
    array = np.arange(6 * 4 * 5 * 3, dtype=np.uint8).reshape(6, 4, 5, 3)
    out = PIPELINES.build(dict(type='ArrayDecode'))(
        dict(array=array, frame_inds=np.array([[0, 2, 2]]), modality='RGB', offset=1))
    assert [img.tolist() for img in out['imgs']] == [array[i].tolist() for i in (1, 3, 3)]
    assert out['imgs'][1] is not out['imgs'][2]  # copies, safe to change in place
    assert out['img_shape'] == out['original_shape'] == (4, 5)


def test_array_decode_flow_gives_x_then_y():
    array = np.random.randint(0, 255, (3, 4, 5, 2), dtype=np.uint8)
    out = PIPELINES.build(dict(type='ArrayDecode'))(
        dict(array=array, frame_inds=np.array([2, 0]), modality='Flow'))
    expected = [array[2, ..., 0], array[2, ..., 1], array[0, ..., 0], array[0, ..., 1]]
    assert all(np.array_equal(a, b) for a, b in zip(out['imgs'], expected, strict=True))


@pytest.mark.parametrize('results, error, match', [
    (dict(array=np.zeros((3, 4, 5, 3), np.uint8), frame_inds=np.array([3]), modality='RGB'),
     IndexError, 'frame index 3 is outside the array of 3 frames'),
    (dict(array=np.zeros((3, 4, 5), np.uint8), frame_inds=np.array([0]), modality='RGB'),
     ValueError, r'T x H x W x 3, got shape \(3, 4, 5\)'),
    (dict(array=np.zeros((3, 4, 5, 3), np.uint8), frame_inds=np.array([0])),
     KeyError, 'modality'),
])
def test_array_decode_errors_say_what_is_wrong(results, error, match):
    with pytest.raises(error, match=match):
        PIPELINES.build(dict(type='ArrayDecode'))(results)


def test_image_decode_reads_one_rgb_image(tmp_path):
    img = np.zeros((6, 8, 3), np.uint8)
    img[..., 2] = 200  # blue (RGB order)
    cv2.imwrite(str(tmp_path / 'a.png'), img[..., ::-1])
    out = PIPELINES.build(dict(type='ImageDecode'))(dict(filename=str(tmp_path / 'a.png')))
    assert len(out['imgs']) == 1 and np.array_equal(out['imgs'][0], img)
    assert out['img_shape'] == (6, 8)
    with pytest.raises(DataError, match='missing.png'):
        PIPELINES.build(dict(type='ImageDecode'))(dict(filename=str(tmp_path / 'missing.png')))
