"""``tools/test.py --onnx``: scoring a test set with an exported recognizer."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from actionkit.export import runtime
from actionkit.export.runtime import (META_SOFTMAX, PipelineViews, average_views,
                                      describe_test_pipeline, run_exported)
from actionkit.models.recognizers.base import BaseRecognizer

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)


def _pipeline(*steps, sampler=None, fmt='NCHW'):
    sampler = sampler or dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=4,
                              test_mode=True)
    return [sampler, dict(type='RawFrameDecode'), *steps, dict(type='Normalize', **NORM),
            dict(type='FormatShape', input_format=fmt),
            dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
            dict(type='ToTensor', keys=['imgs'])]


# ---- reading the test pipeline ----------------------------------------------------------------
@pytest.mark.parametrize('steps,sampler,fmt,modality,single,full,tta', [
    ([dict(type='CenterCrop', crop_size=32)], None, 'NCHW', 'RGB',
     (4, 3, 32, 32), (4, 3, 32, 32), ()),
    ([dict(type='ThreeCrop', crop_size=(40, 30))], None, 'NCHW', 'RGB',
     (4, 3, 30, 40), (12, 3, 30, 40), ('ThreeCrop (3 crops)',)),
    ([dict(type='TenCrop', crop_size=224)],
     dict(type='SampleFrames', clip_len=1, num_clips=8, twice_sample=True), 'NCHW', 'RGB',
     (8, 3, 224, 224), (160, 3, 224, 224),
     ('SampleFrames(twice_sample=True)', 'TenCrop (10 crops)')),
    ([dict(type='Resize', scale=(64, 48), keep_ratio=False)],
     dict(type='SampleFrames', clip_len=16, num_clips=10), 'NCTHW', 'RGB',
     (1, 3, 16, 48, 64), (10, 3, 16, 48, 64), ('10 clips per video (num_clips=10) of a 3D model',)),
    ([dict(type='CenterCrop', crop_size=224)],
     dict(type='SampleFrames', clip_len=5, num_clips=25), 'NCHW_Flow', 'Flow',
     (25, 10, 224, 224), (25, 10, 224, 224), ()),
])
def test_describe_test_pipeline(steps, sampler, fmt, modality, single, full, tta):
    cfg = dict(data=dict(test=dict(pipeline=_pipeline(*steps, sampler=sampler, fmt=fmt),
                                   modality=modality)))
    views = describe_test_pipeline(cfg)
    assert views.sample_shape(single_view=True) == single
    assert views.sample_shape() == full
    assert views.tta == tta


def test_describe_test_pipeline_falls_back_to_val_and_top_level():
    val = dict(data=dict(val=dict(pipeline=_pipeline(dict(type='ThreeCrop', crop_size=8)))))
    assert describe_test_pipeline(val).num_crops == 3
    top = dict(test_pipeline=_pipeline(dict(type='CenterCrop', crop_size=8)))
    assert describe_test_pipeline(top).sample_shape() == (4, 3, 8, 8)
    assert describe_test_pipeline(dict(model=dict())) is None


# ---- averaging, like the PyTorch path ---------------------------------------------------------
@pytest.mark.parametrize('average_clips', ['score', 'prob', None])
def test_average_views_matches_the_recognizers_average_clip(average_clips):
    scores = torch.randn(6, 5)  # 2 videos x 3 views
    owner = SimpleNamespace(test_cfg=dict(average_clips=average_clips))
    expected = BaseRecognizer.average_clip(owner, scores, 3).numpy()
    got = average_views(scores.numpy(), 2, average_clips)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # an export with --softmax gives probabilities: 'prob' only averages them
    probs = torch.softmax(scores, dim=1).numpy()
    if average_clips == 'prob':
        np.testing.assert_allclose(average_views(probs, 2, 'prob', softmax_applied=True),
                                   expected, rtol=1e-6, atol=1e-7)


def test_average_views_checks_its_input():
    with pytest.raises(ValueError, match='average_clips'):
        average_views(np.zeros((2, 3)), 2, 'max')
    with pytest.raises(ValueError, match=r'shape \(5, 3\) for 2 videos'):
        average_views(np.zeros((5, 3)), 2, 'score')


# ---- the loop, with a stand-in runtime --------------------------------------------------------
class _FakeExported:
    """Returns ``views`` rows per sample: the first 3 numbers of each view."""

    def __init__(self, input_shape, views=1, max_batch_size=None, metadata=None):
        self.path, self.input_name = 'fake.onnx', 'imgs'
        self.input_shape, self.views = input_shape, views
        self.max_batch_size, self.metadata = max_batch_size, metadata or {}
        self.calls = []

    def __call__(self, x):
        self.calls.append(x.shape[0])
        return x.reshape(x.shape[0] * self.views, -1)[:, :3].copy()


class _Loader(list):
    def __init__(self, batches):
        super().__init__(dict(imgs=b) for b in batches)
        self.dataset = range(sum(len(b) for b in batches))


def _cfg(average_clips='score', steps=(dict(type='CenterCrop', crop_size=2),), model=None):
    model = model or dict(type='Recognizer2D', test_cfg=dict(average_clips=average_clips))
    return dict(model=model, data=dict(test=dict(pipeline=_pipeline(*steps))))


def _patch(monkeypatch, fake):
    monkeypatch.setattr(runtime, 'load_exported', lambda backend, path: fake)


def test_static_batches_are_split_and_padded(monkeypatch):
    fake = _FakeExported((2, 4, 3, 2, 2))
    _patch(monkeypatch, fake)
    batches = [torch.randn(3, 4, 3, 2, 2), torch.randn(1, 4, 3, 2, 2)]
    results = run_exported('onnx', 'fake.onnx', _Loader(batches), cfg=_cfg(), show=False)
    assert fake.calls == [2, 2, 2]  # 3 -> 2 + (1 padded to 2); 1 -> padded to 2
    expected = [v.reshape(-1)[:3].numpy() for b in batches for v in b]
    assert len(results) == 4
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_dynamic_batches_respect_the_engines_maximum_and_average_views(monkeypatch):
    fake = _FakeExported((None, 2, 3, 1, 2), views=2, max_batch_size=2)
    _patch(monkeypatch, fake)
    batch = torch.randn(3, 2, 3, 1, 2)
    results = run_exported('tensorrt', 'fake.engine', _Loader([batch]), cfg=_cfg('score'),
                           show=False)
    assert fake.calls == [2, 1]
    views = batch.reshape(3, 2, -1)[:, :, :3]
    np.testing.assert_allclose(np.stack(results), views.mean(dim=1).numpy(), rtol=1e-6)


def test_softmax_exports_are_not_softmaxed_twice(monkeypatch):
    probs = np.array([[0.2, 0.3, 0.5]], dtype=np.float32)
    _patch(monkeypatch, _FakeExported((1, 1, 3), metadata={META_SOFTMAX: 'true'}))
    monkeypatch.setattr(runtime, '_run_padded', lambda model, imgs: probs)
    results = run_exported('onnx', 'x.onnx', _Loader([torch.zeros(1, 1, 3)]),
                           cfg=_cfg('prob'), show=False)
    np.testing.assert_allclose(results[0], probs[0], rtol=1e-6)


def test_shape_mismatch_with_multi_view_tta_says_what_to_do(monkeypatch):
    _patch(monkeypatch, _FakeExported((1, 4, 3, 32, 32)))
    cfg = _cfg(steps=(dict(type='ThreeCrop', crop_size=32),))
    with pytest.raises(ValueError) as err:
        run_exported('onnx', 'fake.onnx', _Loader([torch.zeros(2, 12, 3, 32, 32)]), cfg=cfg,
                     show=False)
    message = str(err.value)
    assert '[2, 12, 3, 32, 32]' in message and '[1, 4, 3, 32, 32]' in message
    assert 'ThreeCrop (3 crops)' in message
    assert 'CenterCrop instead of ThreeCrop/TenCrop' in message
    assert '--shape 1 4 3 32 32' in message  # single view
    assert '--shape 1 12 3 32 32' in message  # every view at once


def test_shape_mismatch_without_tta_suggests_the_batch_shape(monkeypatch):
    _patch(monkeypatch, _FakeExported((None, 8, 3, 224, 224)))
    with pytest.raises(ValueError) as err:
        run_exported('onnx', 'fake.onnx', _Loader([torch.zeros(1, 4, 3, 32, 32)]),
                     cfg=_cfg(), show=False)
    assert '[?, 8, 3, 224, 224]' in str(err.value)
    assert '--shape 1 4 3 32 32' in str(err.value)
    assert 'multi-view' not in str(err.value)


def test_localizers_and_configs_without_average_clips_are_refused(monkeypatch):
    _patch(monkeypatch, _FakeExported((1, 16, 8)))
    with pytest.raises(ValueError, match="localizer 'BMN'"):
        run_exported('onnx', 'x.onnx', _Loader([]), cfg=dict(model=dict(type='BMN')))
    with pytest.raises(KeyError, match='average_clips'):
        run_exported('onnx', 'x.onnx', _Loader([]),
                     cfg=dict(model=dict(type='Recognizer2D', test_cfg=dict())))
    with pytest.raises(ValueError, match="backend must be one of"):
        run_exported('openvino', 'x.onnx', _Loader([]))


def test_onnx_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        runtime.OnnxModel(str(tmp_path / 'missing.onnx'))
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'not a protobuf')
    with pytest.raises(ValueError, match='not an ONNX model onnxruntime can load'):
        runtime.OnnxModel(str(bad))


def test_views_describe_is_readable():
    text = PipelineViews(num_clips=8, num_crops=3, height=224, width=224).describe()
    assert text == 'num_clips=8 clip_len=1, 3 crops, crop 224x224, FormatShape NCHW'
