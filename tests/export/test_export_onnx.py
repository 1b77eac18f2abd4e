"""ONNX export of 2D recognizers: round trips through onnxruntime, exporters, shapes, checks."""
from __future__ import annotations

import copy

import numpy as np
import onnx
import pytest
import torch
from export_models import TINY_MODELS, build_tiny, ort_outputs
from torch import nn

from actionkit.export import onnx as export_onnx
from actionkit.export.onnx import (ExportWrapper, ModelKind, check_input_shape,
                                   pytorch2onnx, suggest_input_shape,
                                   verify_onnx)
from actionkit.export.runtime import META_EXPORTER, META_KIND, META_SOFTMAX
from actionkit.models import build_model
from actionkit.models.layers import revert_sync_batchnorm


def _metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def _reference(model, x, softmax=False):
    with torch.no_grad():
        return model.forward_dummy(x, softmax=softmax)[0].numpy()


@pytest.mark.slow
def test_tsm_round_trip_with_the_default_exporter_and_dynamic_batch(tsm, tmp_path):
    model, cfg = tsm
    out = tmp_path / 'tsm.onnx'
    result = pytorch2onnx(model, (1, 8, 3, 32, 32), output_file=str(out), verify=True, cfg=cfg,
                          dynamic_export=True)

    assert result.exporter == 'dynamo' and result.fallback_reason is None
    assert result.verification.passed, result.verification.message
    assert result.verification.batch_sizes == (1, 2)
    assert result.verification.max_abs_diff < 1e-4
    assert result.input_names == ['imgs'] and result.output_names == ['cls_score']
    # one file, weights inside
    assert result.external_data is None and not (tmp_path / 'tsm.onnx.data').exists()
    assert _metadata(out)[META_EXPORTER] == 'dynamo'
    # an input verify did not see: same scores as the PyTorch model
    x = torch.randn(3, 8, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    (got,) = ort_outputs(out, x)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, _reference(model, x), rtol=1e-4, atol=1e-5)


def test_tsn_dynamic_batch_and_softmax(tsn, tmp_path):
    model, cfg = tsn
    out = tmp_path / 'tsn.onnx'
    result = pytorch2onnx(model, (1, 8, 3, 32, 32), output_file=str(out), verify=True,
                          softmax=True, dynamic_export=True, exporter='torchscript', cfg=cfg)

    assert result.exporter == 'torchscript' and result.verification.passed
    assert result.verification.batch_sizes == (1, 2)
    meta = _metadata(out)
    assert meta[META_SOFTMAX] == 'true' and meta[META_KIND] == ModelKind.RECOGNIZER_2D.value
    for batch in (1, 3):  # batch sizes other than the exported one
        x = torch.randn(batch, 8, 3, 32, 32)
        (got,) = ort_outputs(out, x)
        assert got.shape == (batch, 5)
        np.testing.assert_allclose(got.sum(axis=1), np.ones(batch), rtol=1e-5)
        np.testing.assert_allclose(got, _reference(model, x, softmax=True), rtol=1e-4,
                                   atol=1e-6)


def test_static_export_rejects_another_batch_size(tmp_path):
    model, shape = build_tiny('TEM')
    out = tmp_path / 'tem.onnx'
    pytorch2onnx(model, shape, output_file=str(out), exporter='torchscript')
    assert ort_outputs(out, torch.randn(shape))[0].shape == (1, 3, 8)
    with pytest.raises(Exception, match='(?i)dimension|shape'):
        ort_outputs(out, torch.randn((2,) + shape[1:]))


def test_unreachable_opset_falls_back_to_torchscript(tmp_path):
    model, shape = build_tiny('PEM')
    out = tmp_path / 'pem.onnx'
    with pytest.warns(RuntimeWarning, match='TorchScript exporter'):
        result = pytorch2onnx(model, shape, opset_version=11, output_file=str(out),
                              verify=True)
    assert result.exporter == 'torchscript' and result.opset_version == 11
    assert 'opset' in result.fallback_reason
    assert result.verification.passed


def test_failing_dynamo_export_falls_back_and_says_why(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError('unsupported operator aten::frobnicate')

    monkeypatch.setattr(export_onnx, '_export_dynamo', broken)
    model, shape = build_tiny('PEM')
    with pytest.warns(RuntimeWarning, match='frobnicate'):
        result = pytorch2onnx(model, shape, output_file=str(tmp_path / 'a.onnx'), verify=True)
    assert result.exporter == 'torchscript' and 'frobnicate' in result.fallback_reason
    assert result.verification.passed
    # asking for the dynamo exporter only: no fallback
    with pytest.raises(RuntimeError, match='dynamo ONNX exporter failed.*frobnicate'):
        pytorch2onnx(model, shape, output_file=str(tmp_path / 'b.onnx'), exporter='dynamo')


def test_large_models_put_the_weights_in_one_data_file(tmp_path, monkeypatch):
    model, shape = build_tiny('TEM')
    out = tmp_path / 'tem.onnx'
    monkeypatch.setattr(export_onnx, '_EXTERNAL_DATA_BYTES', 0)
    result = pytorch2onnx(model, shape, output_file=str(out), exporter='torchscript',
                          verify=True)
    assert result.external_data == str(out) + '.data'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['tem.onnx', 'tem.onnx.data']
    assert result.verification.passed  # onnxruntime finds the data file
    # exporting again as one file removes the stale data file
    monkeypatch.undo()
    result = pytorch2onnx(model, shape, output_file=str(out), exporter='torchscript')
    assert result.external_data is None and not (tmp_path / 'tem.onnx.data').exists()


def test_verify_reports_a_mismatch(tmp_path):
    model, shape = build_tiny('PEM')
    out = tmp_path / 'pem.onnx'
    pytorch2onnx(model, shape, output_file=str(out), exporter='torchscript')
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.fc2.bias += 1.0
    wrapper = ExportWrapper(changed, ModelKind.LOCALIZER)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))  # verify's input
    with torch.no_grad():
        gap = (changed.forward_dummy(x) - model.forward_dummy(x)).abs().max().item()
    assert gap > 1e-3

    report = verify_onnx(wrapper, str(out), shape)
    assert not report.passed and 'output 0' in report.message
    assert report.max_abs_diff == pytest.approx(gap, rel=1e-4)
    # within a looser absolute tolerance it passes
    assert verify_onnx(wrapper, str(out), shape, atol=2 * gap).passed


def test_sync_batchnorm_is_exported_as_batchnorm():
    torch.manual_seed(0)
    sync = nn.SyncBatchNorm(4)
    sync.running_mean.uniform_(-1, 1)
    sync.running_var.uniform_(0.5, 2)
    sync.weight.data.uniform_(0.5, 2)
    net = nn.Sequential(nn.Conv3d(2, 4, 1), sync).eval()
    x = torch.randn(2, 2, 3, 4, 4)
    expected = net[1].weight[None, :, None, None, None] * (
        net[0](x) - net[1].running_mean[None, :, None, None, None]) / torch.sqrt(
        net[1].running_var[None, :, None, None, None] + net[1].eps) + \
        net[1].bias[None, :, None, None, None]
    converted = revert_sync_batchnorm(net)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in converted.modules())
    torch.testing.assert_close(converted(x), expected, rtol=1e-5, atol=1e-5)


def test_export_leaves_the_callers_sync_batchnorm_model_alone(tmp_path):
    model, shape = build_tiny('R(2+1)D')
    assert any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    result = pytorch2onnx(model, shape, output_file=str(tmp_path / 'r21d.onnx'),
                          exporter='torchscript', verify=True)
    assert result.verification.passed
    assert any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())


# ---- --shape checks and suggestions -----------------------------------------------------------
def test_tsm_shape_error_explains_and_suggests_from_the_test_pipeline(tsm):
    model, cfg = tsm
    with pytest.raises(ValueError) as err:
        check_input_shape(model, (1, 1, 3, 224, 224), cfg)
    message = str(err.value)
    assert '--shape 1 1 3 224 224 does not fit' in message
    assert 'multiple of 8' in message
    assert 'N S C H W' in message and 'num_segments' in message
    # the TSM config tests 8 segments, centre crop 224
    assert 'Try: --shape 1 8 3 224 224' in message


def test_tsn_shape_error_gives_single_view_and_full_tta_shapes(tsn):
    model, cfg = tsn
    with pytest.raises(ValueError) as err:
        check_input_shape(model, (1, 3, 224, 224), cfg)
    message = str(err.value)
    assert '4 numbers given; a 2D recognizer takes 5: N S C H W' in message
    # the TSN test pipeline: 25 clips x TenCrop 224
    assert 'Try: --shape 1 25 3 224 224' in message
    assert 'TenCrop (10 crops): --shape 1 250 3 224 224' in message


def test_channel_mismatch_is_named(tsn):
    model, cfg = tsn
    with pytest.raises(ValueError, match=r'C \(the 3rd number\) is 2; the backbone takes 3'):
        check_input_shape(model, (1, 3, 2, 32, 32), cfg)


def test_3d_shape_error_and_its_own_layout():
    model, shape = build_tiny('I3D')
    assert check_input_shape(model, shape) == shape
    with pytest.raises(ValueError) as err:
        check_input_shape(model, (1, 3, 8, 32, 32))
    assert 'a 3D recognizer takes 6: N V C T H W' in str(err.value)
    assert 'T = clip_len' in str(err.value)


def test_a_shape_the_model_cannot_run_reports_its_error():
    model, _ = build_tiny('C3D')  # its fc6 fixes T x H x W
    with pytest.raises(ValueError, match='the model fails on it: ValueError: C3D'):
        check_input_shape(model, (1, 1, 3, 16, 64, 64))


@pytest.mark.parametrize('shape', [(1, 0, 3, 32, 32), (1, -2, 3, 32, 32), ()])
def test_non_positive_shapes_are_refused(tsn, shape):
    with pytest.raises(ValueError, match='positive integers'):
        check_input_shape(tsn[0], shape)


def test_suggested_shapes(tsn, tsm):
    assert suggest_input_shape(tsn[0], tsn[1]) == (1, 25, 3, 224, 224)
    assert suggest_input_shape(tsn[0], tsn[1], single_view=False) == (1, 250, 3, 224, 224)
    assert suggest_input_shape(tsm[0]) == (1, 8, 3, 224, 224)  # no config: num_segments
    bmn, _ = build_tiny('BMN')
    assert suggest_input_shape(bmn) == TINY_MODELS['BMN'][1]
    pem, _ = build_tiny('PEM')
    assert suggest_input_shape(pem) == TINY_MODELS['PEM'][1]


def test_bad_arguments(tsn, tmp_path):
    model, _ = tsn
    with pytest.raises(ValueError, match="exporter must be one of"):
        pytorch2onnx(model, (1, 3, 3, 32, 32), exporter='tracing')
    with pytest.raises(ValueError, match='opset_version'):
        pytorch2onnx(model, (1, 3, 3, 32, 32), opset_version=3)
    bmn, shape = build_tiny('BMN')
    with pytest.raises(ValueError, match='softmax'):
        pytorch2onnx(bmn, shape, softmax=True, output_file=str(tmp_path / 'bmn.onnx'))
    with pytest.raises(TypeError, match='cannot export Linear'):
        pytorch2onnx(nn.Linear(2, 2), (1, 2))


def test_trn_exports_one_fixed_draw_of_its_random_relations(tmp_path, caplog):
    """TRN's multi-scale head scores a new random subset of frame tuples on every forward; the
    export fixes one seeded draw for tracing and verification, says so, and leaves the model
    as it was."""
    torch.manual_seed(0)
    model = build_model(dict(
        type='Recognizer2D', backbone=dict(type='ResNet', depth=18, base_channels=8),
        cls_head=dict(type='TRNHead', num_classes=5, in_channels=64, num_segments=4,
                      relation_type='TRNMultiScale', hidden_dim=16),
        test_cfg=dict(average_clips='prob'))).eval()
    consensus = model.cls_head.consensus
    result = pytorch2onnx(model, (1, 4, 3, 32, 32), output_file=str(tmp_path / 'trn.onnx'),
                          verify=True)
    assert result.verification.passed, result.verification.message
    assert 'fixed draw' in caplog.text and consensus.fixed_relations is None
    draw = consensus.sample_relations(torch.Generator().manual_seed(0))
    x = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        feats = model.extract_feat(x.reshape(-1, 3, 32, 32))
        consensus.fixed_relations = draw
        expected = model.cls_head(feats, 4).numpy()
    np.testing.assert_allclose(ort_outputs(tmp_path / 'trn.onnx', x)[0], expected,
                               rtol=1e-4, atol=1e-5)
