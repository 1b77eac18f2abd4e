"""``tools/test.py --onnx`` end to end on the synthetic dataset: same results as PyTorch."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from actionkit.commands.test import build_parser, run_test
from actionkit.engine.checkpoint import save_checkpoint
from actionkit.export.onnx import pytorch2onnx
from actionkit.models.builder import build_model

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
_R18 = dict(depth=18, pretrained=None, norm_eval=False)


def _config(tmp_path, synthetic_data, model, sampler, crop, fmt='NCHW', videos_per_gpu=3):
    pipeline = [sampler, dict(type='RawFrameDecode'), crop, dict(type='Normalize', **NORM),
                dict(type='FormatShape', input_format=fmt),
                dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                dict(type='ToTensor', keys=['imgs'])]
    test = dict(type='RawframeDataset', ann_file=synthetic_data['val_list_rawframes'],
                data_prefix=synthetic_data['rawframes_root'], pipeline=pipeline)
    path = tmp_path / 'config.py'
    data = dict(videos_per_gpu=videos_per_gpu, workers_per_gpu=0, test=test)
    path.write_text(f'model = {model!r}\ndata = {data!r}\n')
    return str(path)


def _test(config, checkpoint, out, *extra):
    args = build_parser().parse_args([config, checkpoint, '--out', str(out),
                                      '--eval', 'top_k_accuracy', *extra])
    metrics = run_test(args)
    return metrics, np.array(json.loads(out.read_text()))


def _compare(tmp_path, config_path, model, shape, dynamic=False):
    """PyTorch checkpoint vs its ONNX export through tools/test.py: same scores, same top-1."""
    ckpt = tmp_path / 'model.pth'
    save_checkpoint(model, str(ckpt))
    onnx_file = tmp_path / 'model.onnx'
    pytorch2onnx(model.eval(), shape, output_file=str(onnx_file), exporter='torchscript',
                 dynamic_export=dynamic)
    torch_metrics, torch_scores = _test(config_path, str(ckpt), tmp_path / 'torch.json')
    onnx_metrics, onnx_scores = _test(config_path, str(onnx_file), tmp_path / 'onnx.json',
                                      '--onnx')
    assert onnx_scores.shape == torch_scores.shape == (10, 10)  # 10 videos, 10 classes
    np.testing.assert_allclose(onnx_scores, torch_scores, rtol=1e-4, atol=1e-6)
    assert onnx_metrics == pytest.approx(torch_metrics)
    return onnx_scores


def test_tsn_static_batch_one_on_batches_of_three(tmp_path, synthetic_data):
    model_cfg = dict(type='Recognizer2D', backbone=dict(type='ResNet', **_R18),
                     cls_head=dict(type='TSNHead', num_classes=10, in_channels=512),
                     test_cfg=dict(average_clips='prob'))
    config = _config(tmp_path, synthetic_data, model_cfg,
                     dict(type='SampleFrames', clip_len=1, num_clips=4, test_mode=True),
                     dict(type='CenterCrop', crop_size=32))
    torch.manual_seed(0)
    scores = _compare(tmp_path, config, build_model(model_cfg), (1, 4, 3, 32, 32))
    np.testing.assert_allclose(scores.sum(axis=1), 1, rtol=1e-5)  # 'prob' averaging


def test_tsm_three_crops_exported_with_every_view(tmp_path, synthetic_data):
    model_cfg = dict(type='Recognizer2D',
                     backbone=dict(type='ResNetTSM', num_segments=4, **_R18),
                     cls_head=dict(type='TSMHead', num_classes=10, in_channels=512,
                                   num_segments=4),
                     test_cfg=dict(average_clips='score'))
    config = _config(tmp_path, synthetic_data, model_cfg,
                     dict(type='SampleFrames', clip_len=1, num_clips=4, test_mode=True),
                     dict(type='ThreeCrop', crop_size=32))
    torch.manual_seed(0)
    _compare(tmp_path, config, build_model(model_cfg), (1, 12, 3, 32, 32), dynamic=True)


def test_3d_two_clips_exported_with_both_views(tmp_path, synthetic_data):
    model_cfg = dict(type='Recognizer3D',
                     backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None,
                                   base_channels=8),
                     cls_head=dict(type='I3DHead', num_classes=10, in_channels=64),
                     test_cfg=dict(average_clips='prob'))
    config = _config(tmp_path, synthetic_data, model_cfg,
                     dict(type='SampleFrames', clip_len=4, num_clips=2, test_mode=True),
                     dict(type='CenterCrop', crop_size=32), fmt='NCTHW', videos_per_gpu=2)
    torch.manual_seed(0)
    _compare(tmp_path, config, build_model(model_cfg), (2, 2, 3, 4, 32, 32))


def test_single_view_export_against_a_three_crop_pipeline_is_refused(tmp_path, synthetic_data):
    model_cfg = dict(type='Recognizer2D', backbone=dict(type='ResNet', **_R18),
                     cls_head=dict(type='TSNHead', num_classes=10, in_channels=512),
                     test_cfg=dict(average_clips='prob'))
    config = _config(tmp_path, synthetic_data, model_cfg,
                     dict(type='SampleFrames', clip_len=1, num_clips=2, test_mode=True),
                     dict(type='ThreeCrop', crop_size=32), videos_per_gpu=1)
    onnx_file = tmp_path / 'model.onnx'
    torch.manual_seed(0)
    pytorch2onnx(build_model(model_cfg).eval(), (1, 2, 3, 32, 32), output_file=str(onnx_file),
                 exporter='torchscript')
    with pytest.raises(ValueError) as err:
        _test(config, str(onnx_file), tmp_path / 'onnx.json', '--onnx')
    message = str(err.value)
    assert '[1, 6, 3, 32, 32]' in message and '[1, 2, 3, 32, 32]' in message
    assert 'ThreeCrop' in message and '--shape 1 6 3 32 32' in message
