"""``tools/deployment/pytorch2onnx.py``: MMAction2 0.x's command line."""
from __future__ import annotations

import runpy
import sys

import numpy as np
import pytest
import torch
from export_models import REPO, SMALL_2D, TINY_MODELS, TSM_CONFIG, build_small, ort_outputs

from actionkit.engine.checkpoint import save_checkpoint
from actionkit.commands.export import main
from actionkit.models.builder import build_model

_OPTIONS = ['--cfg-options'] + [f'{k}={v}' for k, v in SMALL_2D.items()]


@pytest.fixture
def tsm_checkpoint(tmp_path):
    model, _ = build_small(TSM_CONFIG)
    path = tmp_path / 'tsm.pth'
    save_checkpoint(model, str(path))
    return model, str(path)


def test_export_verify_show(tsm_checkpoint, tmp_path, capsys):
    model, checkpoint = tsm_checkpoint
    out = tmp_path / 'tsm.onnx'
    code = main([str(TSM_CONFIG), checkpoint, '--shape', '2', '8', '3', '32', '32',
                 '--output-file', str(out), '--verify', '--show', '--exporter', 'torchscript',
                 *_OPTIONS])
    printed = capsys.readouterr().out
    assert code == 0
    assert 'graph' in printed and 'Conv' in printed  # --show
    assert f'Exported ONNX model: {out}' in printed
    assert 'exporter: torchscript' in printed and 'weights: inside the .onnx file' in printed
    assert 'verify: max abs diff' in printed and 'PASSED' in printed
    # the checkpoint's weights, not a fresh initialisation, are in the file
    x = torch.randn(2, 8, 3, 32, 32)
    with torch.no_grad():
        expected = model.forward_dummy(x)[0].numpy()
    np.testing.assert_allclose(ort_outputs(out, x)[0], expected, rtol=1e-4, atol=1e-5)


def test_wrong_shape_exits_with_the_explanation(tsm_checkpoint, tmp_path, capsys):
    _, checkpoint = tsm_checkpoint
    code = main([str(TSM_CONFIG), checkpoint, '--output-file', str(tmp_path / 'x.onnx'),
                 *_OPTIONS])  # the default --shape, 1 1 3 224 224, has S = 1
    err = capsys.readouterr().err
    assert code == 2
    assert '--shape 1 1 3 224 224 does not fit' in err and 'multiple of 8' in err
    assert 'Try: --shape 1 8 3 224 224' in err
    assert not (tmp_path / 'x.onnx').exists()


def test_a_checkpoint_of_another_model_is_refused(tmp_path, capsys):
    cfg, _ = TINY_MODELS['TEM']
    checkpoint = tmp_path / 'tem.pth'
    save_checkpoint(build_model(cfg), str(checkpoint))
    code = main([str(TSM_CONFIG), str(checkpoint), '--shape', '1', '8', '3', '32', '32',
                 '--output-file', str(tmp_path / 'x.onnx'), *_OPTIONS])
    assert code == 2 and 'does not match' in capsys.readouterr().err
    assert not (tmp_path / 'x.onnx').exists()


def test_is_localizer_on_a_recognizer_is_an_error(tsm_checkpoint, tmp_path, capsys):
    _, checkpoint = tsm_checkpoint
    code = main([str(TSM_CONFIG), checkpoint, '--is-localizer', '--shape', '1', '8', '3', '32',
                 '32', '--output-file', str(tmp_path / 'x.onnx'), *_OPTIONS])
    assert code == 2 and 'is a 2D recognizer' in capsys.readouterr().err


def test_localizer_default_shape_comes_from_the_model(tmp_path, capsys):
    cfg, shape = TINY_MODELS['BMN']
    config = tmp_path / 'bmn.py'
    config.write_text(f'model = {cfg!r}\n')
    torch.manual_seed(0)
    checkpoint = tmp_path / 'bmn.pth'
    save_checkpoint(build_model(cfg), str(checkpoint))
    code = main([str(config), str(checkpoint), '--is-localizer', '--verify', '--exporter',
                 'torchscript', '--output-file', str(tmp_path / 'bmn.onnx')])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f'input raw_feature: {list(shape)}' in printed
    assert 'outputs: confidence_map, start, end' in printed and 'PASSED' in printed
    code = main([str(config), str(checkpoint), '--softmax', '--output-file',
                 str(tmp_path / 'bmn2.onnx')])
    assert code == 2 and '--softmax is for recognizers' in capsys.readouterr().err


def test_verify_failure_exits_1(tsm_checkpoint, tmp_path, monkeypatch, capsys):
    from actionkit.export import onnx as export_onnx

    real = export_onnx.verify_onnx

    def impossible(*args, **kwargs):  # a negative tolerance: nothing passes
        kwargs.update(atol=-1.0, rtol=0.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(export_onnx, 'verify_onnx', impossible)
    _, checkpoint = tsm_checkpoint
    code = main([str(TSM_CONFIG), checkpoint, '--shape', '1', '8', '3', '32', '32', '--verify',
                 '--exporter', 'torchscript', '--output-file', str(tmp_path / 'x.onnx'),
                 *_OPTIONS])
    assert code == 1 and 'FAILED' in capsys.readouterr().out


def test_script_help_explains_shape(monkeypatch, capsys):
    script = REPO / 'tools' / 'deployment' / 'pytorch2onnx.py'
    monkeypatch.setattr(sys, 'argv', [str(script), '--help'])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(script), run_name='__main__')
    assert done.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())
    for flag in ('--shape', '--verify', '--show', '--softmax', '--is-localizer',
                 '--dynamic-export', '--opset-version', '--output-file', '--allow-pickle'):
        assert flag in text
    assert 'N S C H W' in text and 'num_segments' in text and 'N V C T H W' in text
