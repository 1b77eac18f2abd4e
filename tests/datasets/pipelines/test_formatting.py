"""FormatShape layouts, Collect / ToTensor and the small formatting steps."""
from __future__ import annotations

import numpy as np
import pytest

from actionkit.datasets.loader import NoStack
import torch

from actionkit.datasets import PIPELINES
from actionkit.datasets.pipelines import (Collect, FormatShape, ImageToTensor, Rename,
                                          ToDataContainer, ToTensor, Transpose, to_tensor)


def _frames(crops, clips, clip_len, h=4, w=5, c=3):
    """Frames whose pixel values encode (crop, clip, t, channel) so layouts can be checked."""
    imgs = np.zeros((crops * clips * clip_len, h, w, c), dtype=np.float32)
    for m in range(len(imgs)):
        crop, rest = divmod(m, clips * clip_len)
        clip, t = divmod(rest, clip_len)
        for ch in range(c):
            imgs[m, ..., ch] = crop * 1000 + clip * 100 + t * 10 + ch
    return imgs


def test_ncthw_groups_crops_and_clips():
    imgs = _frames(crops=2, clips=3, clip_len=4)
    out = FormatShape('NCTHW')(dict(imgs=imgs, num_clips=3, clip_len=4))
    assert out['imgs'].shape == (6, 3, 4, 4, 5) and out['input_shape'] == (6, 3, 4, 4, 5)
    for n in range(6):
        crop, clip = divmod(n, 3)
        for ch in range(3):
            for t in range(4):
                assert out['imgs'][n, ch, t, 0, 0] == crop * 1000 + clip * 100 + t * 10 + ch


def test_nchw_keeps_frames_in_order_and_accepts_lists():
    imgs = _frames(crops=1, clips=2, clip_len=3)
    out = FormatShape('NCHW')(dict(imgs=list(imgs), num_clips=2, clip_len=3))
    assert out['imgs'].shape == (6, 3, 4, 5)
    assert out['imgs'][4, 2, 0, 0] == 100 + 10 + 2


def test_nchw_flow_stacks_time_into_channels():
    imgs = _frames(crops=1, clips=2, clip_len=3, c=2)
    out = FormatShape('NCHW_Flow')(dict(imgs=imgs, num_clips=2, clip_len=3))
    assert out['imgs'].shape == (2, 6, 4, 5)
    # channel order: t0x, t0y, t1x, t1y, ...
    assert [out['imgs'][1, k, 0, 0] for k in range(6)] == [100, 101, 110, 111, 120, 121]


def test_nptchw_for_proposals():
    imgs = _frames(crops=2, clips=1, clip_len=3)
    out = FormatShape('NPTCHW')(dict(imgs=imgs, num_clips=1, clip_len=3, num_proposals=2))
    assert out['imgs'].shape == (2, 3, 3, 4, 5)
    assert out['imgs'][1, 2, 1, 0, 0] == 1000 + 20 + 1


def test_collapse_drops_the_leading_axis():
    imgs = _frames(crops=1, clips=1, clip_len=2)
    out = FormatShape('NCTHW', collapse=True)(dict(imgs=imgs, num_clips=1, clip_len=2))
    assert out['imgs'].shape == (3, 2, 4, 5)
    with pytest.raises(ValueError, match='num_clips'):
        FormatShape('NCTHW', collapse=True)(dict(imgs=_frames(1, 2, 1), num_clips=2,
                                                 clip_len=1))


def test_format_shape_errors():
    with pytest.raises(ValueError, match='input_format'):
        FormatShape('NTHWC')
    with pytest.raises(ValueError, match='num_clips=4'):
        FormatShape('NCTHW')(dict(imgs=_frames(1, 2, 3), num_clips=4, clip_len=3))


def test_collect_returns_a_plain_dict_with_metas():
    results = dict(imgs=np.zeros(3), label=2, filename='a.mp4', extra=1)
    out = Collect(keys=['imgs', 'label'], meta_keys=['filename'])(results)
    assert set(out) == {'imgs', 'label', 'img_metas'}
    assert out['img_metas'] == {'filename': 'a.mp4'} and type(out['img_metas']) is dict
    out = Collect(keys=['imgs'], meta_keys=[], nested=True)(results)
    assert set(out) == {'imgs'} and isinstance(out['imgs'], list)
    out = Collect(keys=['imgs'], meta_keys=('filename', ), meta_name='metas')(results)
    assert out['metas'] == {'filename': 'a.mp4'}


def test_collect_default_meta_keys_are_0x_and_missing_ones_are_named():
    assert Collect(keys=['imgs']).meta_keys == ('filename', 'label', 'original_shape',
                                                'img_shape', 'pad_shape', 'flip_direction',
                                                'img_norm_cfg')
    with pytest.raises(KeyError, match='pad_shape'):
        Collect(keys=['imgs'])(dict(imgs=1, filename='a', label=0, original_shape=(1, 1),
                                    img_shape=(1, 1)))
    with pytest.raises(TypeError, match='keys'):
        Collect(keys='imgs')


def test_to_tensor_conversions():
    assert to_tensor(3).dtype == torch.int64 and to_tensor(3).tolist() == [3]
    assert to_tensor(0.5).dtype == torch.float32
    assert to_tensor([1, 2]).tolist() == [1, 2]
    flipped = np.arange(6.)[::-1]
    assert to_tensor(flipped).tolist() == [5, 4, 3, 2, 1, 0]
    array = np.zeros((2, 2), dtype=np.float32)
    assert to_tensor(array).data_ptr() == array.ctypes.data  # no copy
    with pytest.raises(TypeError, match='str'):
        to_tensor('label')
    out = ToTensor(keys=['imgs', 'label'])(dict(imgs=np.ones((2, 3)), label=1))
    assert isinstance(out['imgs'], torch.Tensor) and out['label'].tolist() == [1]
    with pytest.raises(KeyError, match='label'):
        ToTensor(keys=['label'])(dict(imgs=1))


def test_rename_transpose_image_to_tensor_and_data_container():
    out = Rename({'imgs': 'frames', 'absent': 'x'})(dict(imgs=1))
    assert out == {'frames': 1}
    with pytest.raises(KeyError, match='already exists'):
        Rename({'a': 'b'})(dict(a=1, b=2))
    out = Transpose(keys=['x'], order=[2, 0, 1])(dict(x=np.zeros((2, 3, 4))))
    assert out['x'].shape == (4, 2, 3)
    with pytest.raises(ValueError, match='permutation'):
        Transpose(keys=['x'], order=[0, 0])
    out = ImageToTensor(keys=['img'])(dict(img=np.zeros((4, 5, 3))))
    assert tuple(out['img'].shape) == (3, 4, 5)
    value = np.zeros(3)
    out = ToDataContainer(fields=(dict(key='gt', stack=False), dict(key=['a', 'b'])))(
        dict(gt=value, a=1, b=2))
    assert isinstance(out['gt'], NoStack) and out['gt'].value is value  # kept per sample
    assert (out['a'], out['b']) == (1, 2)  # stacked fields are left as they are
    with pytest.raises(KeyError, match='gt'):
        ToDataContainer(fields=[dict(key='gt')])(dict())


def test_built_from_mmaction_configs():
    for cfg in (dict(type='FormatShape', input_format='NCHW_Flow'),
                dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                dict(type='ToTensor', keys=['imgs']),
                dict(type='ToDataContainer', fields=(dict(key='proposals', stack=False), )),
                dict(type='Rename', mapping=dict(imgs='img'))):
        assert type(PIPELINES.build(cfg)).__name__ == cfg['type']
