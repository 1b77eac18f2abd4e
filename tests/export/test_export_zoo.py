"""ONNX round trips of the 3D recognizers and the localizers (tiny configurations)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from export_models import TINY_MODELS, build_tiny, ort_outputs

from actionkit.export.onnx import ModelKind, model_kind, pytorch2onnx

# what forward_dummy returns for one sample of each kind of model
_OUTPUTS = {'BMN': ['confidence_map', 'start', 'end'], 'TEM': ['tem_output'],
            'PEM': ['pem_score']}


# C3D's fixed 4096-wide fc layers make its file 100 MB: ~15 s to export and check
_NAMES = [pytest.param(n, marks=pytest.mark.slow) if n == 'C3D' else n for n in sorted(TINY_MODELS)]


@pytest.mark.parametrize('name', _NAMES)
def test_round_trip(name, tmp_path):
    model, shape = build_tiny(name)
    out = tmp_path / 'model.onnx'
    # the TorchScript exporter takes ~1 s here, the dynamo one ~10 s; both were checked on
    # every model of this table (see docs/tutorials/6_export_model.md)
    result = pytorch2onnx(model, shape, output_file=str(out), exporter='torchscript',
                          verify=True)
    assert result.verification.passed, result.verification.message
    assert result.output_names == _OUTPUTS.get(name, ['cls_score'])

    x = torch.randn((2,) + shape[1:], generator=torch.Generator().manual_seed(3))
    if result.input_shape[0] != 2:  # static batch axis: run the exported batch size
        x = x[:shape[0]]
    with torch.no_grad():
        expected = model.forward_dummy(x)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = ort_outputs(out, x)
    assert len(got) == len(expected)
    for have, want in zip(got, expected):
        np.testing.assert_allclose(have, want.numpy(), rtol=1e-4, atol=1e-5)
    if model_kind(model) is ModelKind.RECOGNIZER_3D:  # one row per view, 4 classes
        assert got[0].shape == (x.shape[0] * x.shape[1], 4)


def test_3d_views_are_rows(tmp_path):
    model, _ = build_tiny('SlowOnly')
    out = tmp_path / 'slowonly.onnx'
    pytorch2onnx(model, (1, 3, 3, 4, 32, 32), output_file=str(out), exporter='torchscript')
    x = torch.randn(1, 3, 3, 4, 32, 32)
    (got,) = ort_outputs(out, x)
    assert got.shape == (3, 4)
    with torch.no_grad():  # each row is one view run alone
        for view in range(3):
            alone = model.forward_dummy(x[:, view:view + 1])[0].numpy()
            np.testing.assert_allclose(got[view:view + 1], alone, rtol=1e-4, atol=1e-5)


def test_localizer_shape_error_names_its_sizes():
    model, _ = build_tiny('BMN')
    with pytest.raises(ValueError) as err:
        pytorch2onnx(model, (1, 16, 9))
    message = str(err.value)
    assert 'BMN takes [N, 16, 8]' in message
    assert 'N feat_dim temporal_dim' in message and 'Try: --shape 1 16 8' in message
