"""Every pipeline step's docstring lists the results keys it requires, adds, modifies and
removes; run each step and check that it does exactly what its docstring says."""
from __future__ import annotations

import copy
import re

import cv2
import numpy as np
import pytest

from actionkit.datasets import PIPELINES
from actionkit.datasets.pipelines import augmentations, crops, decoding, formatting, sampling

_KINDS = ('Required', 'Optional', 'Added', 'Modified', 'Removed')
_LINE = re.compile(r'^\s*(%s) keys(?: \(also\))?:(.*)$' % '|'.join(_KINDS))

# step -> the config it is built from for this test (random steps made to always act)
CONFIGS = {
    'SampleFrames': dict(clip_len=2, num_clips=2),
    'DenseSampleFrames': dict(clip_len=2, num_clips=2),
    'UntrimmedSampleFrames': dict(), 'UniformSampleFrames': dict(clip_len=4),
    'PyAVInit': dict(), 'DecordInit': dict(), 'OpenCVInit': dict(),
    'PyAVDecode': dict(), 'DecordDecode': dict(), 'OpenCVDecode': dict(),
    'RawFrameDecode': dict(), 'ArrayDecode': dict(), 'ImageDecode': dict(),
    'Resize': dict(scale=(-1, 12)), 'RandomRescale': dict(scale_range=(10, 14)),
    'RandomCrop': dict(size=16), 'RandomResizedCrop': dict(), 'CenterCrop': dict(crop_size=16),
    'MultiScaleCrop': dict(input_size=16, scales=(1, 0.75)), 'ThreeCrop': dict(crop_size=24),
    'TenCrop': dict(crop_size=16), 'Flip': dict(flip_ratio=1.0),
    'Normalize': dict(mean=[1, 2, 3], std=[4, 5, 6]), 'ColorJitter': dict(), 'Fuse': dict(),
    'FormatShape': dict(input_format='NCHW'),
    'ToTensor': dict(keys=['imgs']), 'ImageToTensor': dict(keys=['img']),
    'Transpose': dict(keys=['img'], order=[1, 0, 2]),
}
# sample values a step needs instead of the shared ones (given the frame folder)
OVERRIDES = {'ImageDecode': lambda folder: dict(filename=str(folder / 'img_00001.jpg'))}
# steps whose keys depend on their arguments; they have their own tests in test_formatting.py
ARGUMENT_DEPENDENT = {'Collect', 'Rename', 'ToDataContainer', 'Compose'}
# steps in the video-decoding pairs: which Init makes the reader a Decode step needs
INIT_OF = {'PyAVDecode': 'PyAVInit', 'DecordDecode': 'DecordInit',
           'OpenCVDecode': 'OpenCVInit'}


def documented_keys(cls) -> dict[str, set[str]]:
    """``{'Required': {...}, 'Added': {...}, ...}`` parsed from the class docstring."""
    keys = {kind: set() for kind in _KINDS}
    kind = None
    for line in (cls.__doc__ or '').splitlines():
        match = _LINE.match(line)
        if match:
            kind, text = match.group(1), match.group(2)
        elif kind and line.startswith(' ' * 8) and line.strip():
            text = line  # a continuation line
        else:
            kind = None
            continue
        keys[kind] |= set(re.findall(r'``(\w+)``', text))
    return keys


def _our_steps() -> dict[str, type]:
    modules = (sampling, decoding, crops, augmentations, formatting)
    return {name: cls for name, cls in PIPELINES.module_dict.items()
            if any(cls.__module__ == m.__name__ for m in modules)}


@pytest.fixture(scope='module')
def frame_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('frames')
    rng = np.random.default_rng(0)
    for i in range(1, 11):
        cv2.imwrite(str(folder / f'img_{i:05}.jpg'), rng.integers(0, 255, (24, 32, 3),
                                                                  dtype=np.uint8))
    return folder


def _sample_values(videos, frame_folder) -> dict:
    rng = np.random.default_rng(1)
    return dict(
        imgs=[rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(3)],
        img=rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
        array=rng.integers(0, 256, (12, 24, 32, 3), dtype=np.uint8),
        img_shape=(24, 32), modality='RGB', total_frames=40, start_index=0,
        filename=str(videos['gop12.mp4']), frame_inds=np.array([1, 5, 9]),
        frame_dir=str(frame_folder), filename_tmpl='img_{:05}.jpg', offset=1,
        frame_bytes={path.name: path.read_bytes() for path in frame_folder.glob('*.jpg')},
        num_clips=1, clip_len=3, num_proposals=1, label=1,
        scale_factor=np.array([1.0, 1.0], dtype=np.float32),
        crop_quadruple=np.array([0, 0, 1, 1], dtype=np.float32),
        keypoint=np.ones((1, 3, 2, 2), dtype=np.float32) * 5,
        keypoint_score=np.ones((1, 3, 2), dtype=np.float32),
        gt_bboxes=np.array([[1., 1., 10., 10.]]), proposals=np.array([[2., 2., 8., 8.]]),
        lazy=dict(original_shape=(24, 32), crop_bbox=np.array([2, 2, 30, 22], np.float32),
                  flip=True, flip_direction='horizontal', interpolation=None),
    )


def _inputs(name, keys, values, step_keys):
    results = {}
    for key in keys:
        if key == 'video_reader':
            init = PIPELINES.build(dict(type=INIT_OF[name]))
            results['video_reader'] = init(dict(filename=values['filename']))['video_reader']
        elif key in step_keys:
            results[key] = copy.deepcopy(values[key])
        else:
            raise AssertionError(f'{name}: no sample value for documented key {key!r}')
    return results


def _run(step, results):
    before = dict(results)
    out = step(results)
    changed = {k for k in before if k in out and out[k] is not before[k]}
    return before, out, changed


def test_every_step_documents_its_keys():
    steps = _our_steps()
    assert set(steps) - ARGUMENT_DEPENDENT - {'TorchCodecInit', 'TorchCodecDecode'} <= set(
        CONFIGS), 'add new steps to CONFIGS'
    for name, cls in steps.items():
        if name in ARGUMENT_DEPENDENT:
            continue
        keys = documented_keys(cls)
        assert keys['Required'], f'{name} documents no Required keys'
        assert keys['Modified'] <= keys['Required'] | keys['Optional'] | keys['Added'], (
            f'{name} modifies keys it does not take')


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_step_does_what_its_docstring_says(name, videos, frame_folder):
    cls = PIPELINES.get(name)
    doc = documented_keys(cls)
    values = _sample_values(videos, frame_folder)
    values.update(OVERRIDES.get(name, lambda folder: {})(frame_folder))
    step_keys = set(values)
    config_keys = set(CONFIGS[name].get('keys', ()))
    required = (doc['Required'] - {'keys'}) | config_keys
    build = dict(type=name, **CONFIGS[name])

    # 1. only the required keys: the step runs, adds exactly "Added", removes exactly "Removed"
    results = _inputs(name, required, values, step_keys)
    before, out, changed = _run(PIPELINES.build(build), results)
    assert set(out) - set(before) == doc['Added'], name
    assert set(before) - set(out) == doc['Removed'], name
    assert changed <= doc['Modified'] | config_keys, (name, changed - doc['Modified'])
    assert changed or not doc['Modified'] & required, f'{name} changed none of its keys'

    # 2. with the optional keys too: nothing undocumented appears or changes
    results = _inputs(name, required | doc['Optional'], values, step_keys)
    before, out, changed = _run(PIPELINES.build(build), results)
    assert set(out) - set(before) <= doc['Added'], name
    assert changed <= doc['Modified'] | config_keys, (name, changed - doc['Modified'])


@pytest.mark.parametrize('name', sorted(INIT_OF.values()))
def test_video_init_writes_avg_fps_not_fps(name, videos):
    doc = documented_keys(PIPELINES.get(name))
    assert 'avg_fps' in doc['Added'] and 'fps' not in doc['Added']
    out = PIPELINES.build(dict(type=name))(dict(filename=str(videos['gop12.mp4'])))
    assert 'fps' not in out and out['avg_fps'] > 0
    out['video_reader'].close()


def test_docstring_parser_reads_continuation_lines():
    class Step:
        """Something.

        Required keys: ``a``, ``b``.
        Modified keys: ``a``, ``c``,
            ``d``.
        Added keys: ``e`` (only sometimes ``f``).

        Args:
            x: ``not_a_key``.
        """

    keys = documented_keys(Step)
    assert keys['Required'] == {'a', 'b'} and keys['Modified'] == {'a', 'c', 'd'}
    assert keys['Added'] == {'e', 'f'} and not keys['Removed']
