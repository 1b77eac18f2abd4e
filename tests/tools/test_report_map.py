"""Tests of tools/analysis/report_map.py and actionkit/analysis/detection_map.py."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from actionkit.analysis.detection_map import CUHK17_URL, assign_top1_labels, top1_label

REPO = Path(__file__).resolve().parents[2]

GT = {'v_vid1': {'duration_second': 60.0, 'annotations': [{'segment': [10.0, 20.0],
                                                            'label': 'A'}]},
      'v_vid2': {'duration_second': 60.0, 'annotations': [{'segment': [0.0, 10.0],
                                                            'label': 'B'}]}}
CLASSES = {'results': {'vid1': [{'label': 'A', 'score': 0.9}, {'label': 'B', 'score': 0.1}],
                       'vid2': [{'label': 'A', 'score': 0.3}, {'label': 'B', 'score': 0.6}]}}
# BMN-style class-agnostic proposals (tools/test.py --out results.json of ActivityNetDataset)
PROPOSALS = {'version': 'VERSION 1.3', 'external_data': {}, 'results': {
    'vid1': [{'segment': [30.0, 40.0], 'score': 0.95}, {'segment': [10.0, 20.0], 'score': 0.9}],
    'vid2': [{'segment': [0.0, 8.25], 'score': 0.5},
             {'segment': [50.0, 60.0], 'score': 0.2, 'label': 'A'}]}}


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        '_report_map', REPO / 'tools' / 'analysis' / 'report_map.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_hand_made_case(tmp_path, capsys):
    """Class A: a false positive ranked above the true one (AP 0.5 at every tIoU);
    class B: one detection of tIoU 0.825 (AP 1 up to tIoU 0.8, then 0)."""
    det = tmp_path / 'out' / 'det_result.json'
    status = load_tool().main([
        '--proposal', _write(tmp_path / 'results.json', PROPOSALS),
        '--gt', _write(tmp_path / 'gt.json', GT),
        '--cls-file', _write(tmp_path / 'cuhk.json', CLASSES), '--det-output', str(det)])
    assert status == 0
    out = capsys.readouterr().out
    assert out.startswith('[RESULTS] Performance on ActivityNet detection task.\nmAP: ')
    expected = np.array([0.75] * 7 + [0.25] * 3)
    shown = out.split('mAP: ')[1].split('\nAverage-mAP')[0]
    assert np.allclose(np.array(re.findall(r'[0-9.]+', shown), dtype=float), expected)
    assert float(out.split('Average-mAP: ')[1]) == pytest.approx(0.6)
    detections = json.loads(det.read_text())['results']
    assert [d['label'] for d in detections['vid1']] == ['A', 'A']
    assert [d['label'] for d in detections['vid2']] == ['B', 'A']   # its own label is kept
    assert detections['vid2'][0]['segment'] == [0.0, 8.25]


def test_top1_and_errors(tmp_path, capsys):
    assert top1_label([{'label': 'x', 'score': 0.5}, {'label': 'y', 'score': 0.5},
                       {'label': 'z', 'score': 0.1}], 'f.json', 'v') == 'y'
    with pytest.raises(KeyError, match="cls.json: no class predictions for video 'vid2'"):
        assign_top1_labels(PROPOSALS, {'vid1': CLASSES['results']['vid1']}, 'cls.json')
    with pytest.raises(ValueError, match="f.json: video 'v'"):
        top1_label([{'label': 'x'}], 'f.json', 'v')
    args = ['--proposal', _write(tmp_path / 'p.json', PROPOSALS),
            '--gt', _write(tmp_path / 'gt.json', GT), '--det-output', str(tmp_path / 'd.json')]
    assert load_tool().main(args + ['--cls-file', str(tmp_path / 'missing.json')]) == 1
    assert CUHK17_URL in capsys.readouterr().err
    (tmp_path / 'broken.json').write_text('{"results": {')
    assert load_tool().main(args[:1] + [str(tmp_path / 'broken.json')] + args[2:]
                            + ['--cls-file', _write(tmp_path / 'c.json', CLASSES)]) == 1
    assert f'{tmp_path / "broken.json"}:1' in capsys.readouterr().err
