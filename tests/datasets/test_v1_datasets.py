"""MMAction2 1.x dataset arguments (``data_prefix=dict(...)``, ``data_root``, ``delimiter``,
the audio defaults), built through ``build_dataset`` as a 1.x config's ``dataset`` dict reads."""
import json

import numpy as np
import pytest
import torch

from actionkit.datasets import build_dataset
from actionkit.datasets.base import resolve_data_paths
from actionkit.datasets.errors import AnnotationError
from actionkit.datasets.loader import collate


def _write(path, text):
    path.write_text(text, encoding='utf-8')
    return str(path)


def test_resolve_data_paths_joins_root_like_mmengine():
    # relative ann_file and prefix get the root; absolute ones stay; '' prefix is the root
    assert resolve_data_paths('X', 'a.txt', dict(video='v'), 'root', 'video') == (
        'root/a.txt', 'root/v', True)
    assert resolve_data_paths('X', '/abs/a.txt', dict(video='/abs/v'), 'root', 'video') == (
        '/abs/a.txt', '/abs/v', True)
    assert resolve_data_paths('X', 'a.txt', dict(video=''), 'root', 'video')[1] == 'root/'
    assert resolve_data_paths('X', 'a.txt', dict(video=''), None, 'video')[1] is None
    assert resolve_data_paths('X', 'a.txt', 'p', None, 'video') == ('a.txt', 'p', False)
    with pytest.raises(ValueError, match=r"X: data_prefix .*dict\(img=...\), got keys "
                                         r"\['video'\]"):
        resolve_data_paths('X', 'a.txt', dict(video='v'), None, 'img')


def test_video_dataset_v1_prefix_root_and_delimiter(tmp_path):
    _write(tmp_path / 'list.txt', 'a.mp4 3\nsub/b.mp4 1\n')
    dataset = build_dataset(dict(type='VideoDataset', ann_file='list.txt', pipeline=[],
                                 data_root=str(tmp_path), data_prefix=dict(video='videos'),
                                 test_mode=True))
    assert dataset.from_v1 and dataset.start_index == 0
    assert dataset[1] == dict(filename=f'{tmp_path}/videos/sub/b.mp4', label=1,
                              modality='RGB', start_index=0)
    # 1.x's ',' lists (UniFormerV2's Kinetics-710 files): a path with spaces stays whole
    _write(tmp_path / 'comma.txt', 'my clip.mp4,4\nc.mp4\n')
    dataset = build_dataset(dict(type='VideoDataset', ann_file=str(tmp_path / 'comma.txt'),
                                 pipeline=[], data_prefix=dict(video='v'), delimiter=','))
    assert [dataset[i]['filename'] for i in range(2)] == ['v/my clip.mp4', 'v/c.mp4']
    assert [dataset[i]['label'] for i in range(2)] == [4, -1]  # no label: -1, as in 1.x
    _write(tmp_path / 'bad.txt', 'a.mp4,1\nb.mp4,x\n')
    with pytest.raises(AnnotationError, match=r'bad.txt:2: labels must be ints'):
        build_dataset(dict(type='VideoDataset', ann_file=str(tmp_path / 'bad.txt'),
                           pipeline=[], delimiter=','))
    _write(tmp_path / 'multi.txt', 'a.mp4,1,2\n')
    with pytest.raises(AnnotationError, match=r'multi.txt:1: 2 labels .*multi_class=True'):
        build_dataset(dict(type='VideoDataset', ann_file=str(tmp_path / 'multi.txt'),
                           pipeline=[], delimiter=','))
    multi = build_dataset(dict(type='VideoDataset', ann_file=str(tmp_path / 'multi.txt'),
                               pipeline=[], delimiter=',', multi_class=True, num_classes=4))
    assert multi[0]['label'].tolist() == [0., 1., 1., 0.]


def test_rawframe_dataset_v1_img_prefix(tmp_path):
    _write(tmp_path / 'list.txt', 'f1 5 20 12\n')
    dataset = build_dataset(dict(type='RawframeDataset', ann_file=str(tmp_path / 'list.txt'),
                                 pipeline=[], data_prefix=dict(img='frames'), with_offset=True,
                                 filename_tmpl='{:05}.jpg', modality='Flow'))
    assert dataset[0] == dict(frame_dir='frames/f1', offset=5, total_frames=20, label=12,
                              filename_tmpl='{:05}.jpg', modality='Flow', start_index=1)
    with pytest.raises(ValueError, match=r"RawframeDataset: .*dict\(img=...\)"):
        build_dataset(dict(type='RawframeDataset', ann_file=str(tmp_path / 'list.txt'),
                           pipeline=[], data_prefix=dict(video='frames')))


def test_audio_dataset_v1_defaults(tmp_path):
    _write(tmp_path / 'list.txt', 'clip_1.npy 30 2\nclip_2 40 1\n')
    v1 = build_dataset(dict(type='AudioDataset', ann_file='list.txt', pipeline=[],
                            data_root=str(tmp_path), data_prefix=dict(audio='feats')))
    # 1.x appends no suffix and counts frames from 0
    assert v1[1] == dict(audio_path=f'{tmp_path}/feats/clip_2', total_frames=40, label=1,
                         modality='Audio', start_index=0)
    with_suffix = build_dataset(dict(type='AudioDataset', ann_file=str(tmp_path / 'list.txt'),
                                     pipeline=[], data_prefix=dict(audio='f'), suffix='.npy'))
    assert [with_suffix[i]['audio_path'] for i in range(2)] == ['f/clip_1.npy', 'f/clip_2.npy']
    old = build_dataset(dict(type='AudioDataset', ann_file=str(tmp_path / 'list.txt'),
                             pipeline=[], data_prefix='f'))
    assert (old[1]['audio_path'], old[1]['start_index']) == ('f/clip_2.wav', 1)  # 0.x unchanged


def test_activitynet_dataset_v1_feature_path(tmp_path):
    ann = {'v_a': dict(duration_second=10.0, duration_frame=100, feature_frame=96,
                       annotations=[dict(segment=[1.0, 4.0], label='x')])}
    _write(tmp_path / 'anet.json', json.dumps(ann))
    dataset = build_dataset(dict(type='ActivityNetDataset', ann_file='anet.json', pipeline=[],
                                 data_root=str(tmp_path), data_prefix=dict(video='feat')))
    sample = dataset[0]
    assert sample['feature_path'] == f'{tmp_path}/feat/v_a.csv'
    assert sample['data_prefix'] == f'{tmp_path}/feat'
    zero_x = build_dataset(dict(type='ActivityNetDataset', ann_file=str(tmp_path / 'anet.json'),
                                pipeline=[], data_prefix=str(tmp_path)))
    assert 'feature_path' not in zero_x[0]


class _FakeInit:
    """Stands for DecordInit: a 'video' of 20 frames, frame i filled with i."""

    def __call__(self, results):
        results['total_frames'] = 20
        return results


class _FakeDecode:
    """Stands for DecordDecode; counts its calls."""

    calls = 0

    def __call__(self, results):
        type(self).calls += 1
        results['imgs'] = [np.full((2, 2, 3), i, np.uint8) for i in results['frame_inds']]
        return results


def test_repeat_aug_dataset_decodes_once_and_gives_num_repeats_samples(tmp_path):
    _write(tmp_path / 'list.txt', 'a.mp4 1\nb.mp4 2\n')
    pipeline = [_FakeInit(), dict(type='SampleFrames', clip_len=2, frame_interval=3),
                _FakeDecode(), dict(type='FormatShape', input_format='NCHW'),
                dict(type='PackActionInputs')]
    dataset = build_dataset(dict(type='RepeatAugDataset', ann_file=str(tmp_path / 'list.txt'),
                                 pipeline=pipeline, data_prefix=dict(video=''), num_repeats=3))
    np.random.seed(0)
    _FakeDecode.calls = 0
    samples = dataset[0]
    assert _FakeDecode.calls == 1 and len(samples) == 3
    firsts = [int(s['imgs'][0, 0, 0, 0]) for s in samples]
    assert [int(s['imgs'][1, 0, 0, 0]) for s in samples] == [f + 3 for f in firsts]
    assert len(set(firsts)) > 1  # three draws of the sampler
    once = build_dataset(dict(type='RepeatAugDataset', ann_file=str(tmp_path / 'list.txt'),
                              pipeline=pipeline, num_repeats=2, sample_once=True))[1]
    assert torch.equal(once[0]['imgs'], once[1]['imgs']) and once[0]['label'].tolist() == [2]
    batch = collate([dataset[0], dataset[1]])
    assert batch['imgs'].shape == (6, 2, 3, 2, 2)  # 2 indices x 3 repeats, [T, C, H, W] each
    assert batch['label'].tolist() == [[1]] * 3 + [[2]] * 3
    with pytest.raises(ValueError, match='must start with a video init step'):
        build_dataset(dict(type='RepeatAugDataset', ann_file=str(tmp_path / 'list.txt'),
                           pipeline=pipeline[1:]))
