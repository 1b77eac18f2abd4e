"""Compose, and whole MMAction2-style pipelines run end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from actionkit.datasets.pipelines import Compose

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)


def _val_pipeline(init, decode, clip_len=1, frame_interval=1, num_clips=8, fmt='NCHW'):
    return [dict(type=init),
            dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
                 num_clips=num_clips, test_mode=True),
            dict(type=decode), dict(type='Resize', scale=(-1, 40)),
            dict(type='CenterCrop', crop_size=32), dict(type='Normalize', **NORM),
            dict(type='FormatShape', input_format=fmt),
            dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
            dict(type='ToTensor', keys=['imgs', 'label'])]


def test_compose_runs_dicts_and_callables_in_order():
    calls = []

    def mark(results):
        calls.append(results['frame_inds'].tolist())
        return results

    pipeline = Compose([dict(type='SampleFrames', clip_len=1, num_clips=2, test_mode=True),
                        mark])
    out = pipeline(dict(total_frames=10, start_index=0))
    assert calls == [[2, 7]] and out['num_clips'] == 2
    assert 'SampleFrames' in repr(pipeline) and 'mark' in repr(pipeline)


def test_a_step_returning_none_ends_the_pipeline():
    after = []
    pipeline = Compose([lambda r: None, lambda r: after.append(r) or r])
    assert pipeline(dict()) is None and after == []


@pytest.mark.parametrize('transforms, error, match', [
    ('SampleFrames', TypeError, 'list'),
    ([42], TypeError, 'step 0'),
    ([dict(type='Nope')], KeyError, 'Nope'),
    ([dict(type='torchvision.ColorJitter')], ValueError, 'torchvision'),
    ([dict(type='SampleFrames', clip_len=1), dict(type='Imgaug', transforms='default')],
     ValueError, r"step 1 \('Imgaug'\): MMAction2 wraps the imgaug library"),
    ([dict(type='LoadKineticsPose')], ValueError, 'raw Kinetics-pose loader is not supported'),
])
def test_compose_rejects_bad_steps(transforms, error, match):
    with pytest.raises(error, match=match):
        Compose(transforms)


@pytest.mark.parametrize('init, decode', [('PyAVInit', 'PyAVDecode'),
                                          ('DecordInit', 'DecordDecode'),
                                          ('OpenCVInit', 'OpenCVDecode')])
def test_tsn_and_i3d_val_pipelines_give_the_same_tensors_on_every_backend(videos, init, decode):
    filename = str(videos['gop12.mp4'])
    tsn = Compose(_val_pipeline(init, decode))(dict(filename=filename, label=3, start_index=0,
                                                    modality='RGB'))
    reference = Compose(_val_pipeline('PyAVInit', 'PyAVDecode'))(
        dict(filename=filename, label=3, start_index=0, modality='RGB'))
    assert set(tsn) == {'imgs', 'label'}
    assert tsn['imgs'].shape == (8, 3, 32, 32) and tsn['imgs'].dtype == torch.float32
    assert tsn['label'].tolist() == [3]
    assert torch.equal(tsn['imgs'], reference['imgs'])
    i3d = Compose(_val_pipeline(init, decode, clip_len=8, frame_interval=2, num_clips=1,
                                fmt='NCTHW'))(dict(filename=filename, label=0, start_index=0,
                                                   modality='RGB'))
    assert i3d['imgs'].shape == (1, 3, 8, 32, 32)


def test_train_pipeline_is_reproducible_with_the_same_seeds(videos):
    import random

    cfg = [dict(type='PyAVInit'),
           dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=2),
           dict(type='PyAVDecode'), dict(type='Resize', scale=(-1, 40)),
           dict(type='RandomResizedCrop'), dict(type='Resize', scale=(24, 24), keep_ratio=False),
           dict(type='Flip', flip_ratio=0.5), dict(type='Normalize', **NORM),
           dict(type='FormatShape', input_format='NCTHW')]
    outputs = []
    for _ in range(2):
        np.random.seed(3)
        random.seed(3)
        outputs.append(Compose(cfg)(dict(filename=str(videos['gop12.mp4']), label=0,
                                         start_index=0, modality='RGB')))
    assert outputs[0]['frame_inds'].tolist() == outputs[1]['frame_inds'].tolist()
    assert np.array_equal(outputs[0]['imgs'], outputs[1]['imgs'])
    assert outputs[0]['imgs'].shape == (2, 3, 4, 24, 24)


def test_rawframe_pipeline_on_the_shared_frames(shared_video):
    from pathlib import Path

    frame_dir = Path(__file__).resolve().parents[3] / '..' / 'shared' / 'data' / 'mmaction2' \
        / 'tests' / 'data' / 'imgs'
    if not frame_dir.is_dir():
        pytest.skip(f'shared test data not found: {frame_dir}')
    pipeline = Compose([
        dict(type='SampleFrames', clip_len=1, num_clips=3, test_mode=True),
        dict(type='RawFrameDecode'), dict(type='Resize', scale=(-1, 64)),
        dict(type='ThreeCrop', crop_size=64), dict(type='Normalize', **NORM),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='Collect', keys=['imgs'], meta_keys=['frame_dir']),
        dict(type='ToTensor', keys=['imgs'])])
    out = pipeline(dict(frame_dir=str(frame_dir), total_frames=10, start_index=1,
                        filename_tmpl='img_{:05}.jpg', modality='RGB'))
    assert out['imgs'].shape == (9, 3, 64, 64)
    assert out['img_metas'] == {'frame_dir': str(frame_dir)}
