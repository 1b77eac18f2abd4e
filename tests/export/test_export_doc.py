"""docs/tutorials/6_export_model.md stays true: blocks marked, options, paths and messages real."""
from __future__ import annotations

import re
import sys

import pytest
from export_models import REPO, TSM_CONFIG, build_small

from actionkit.commands.export import _summary, build_parser
from actionkit.export.onnx import ExportResult, check_input_shape
from actionkit.export.runtime import VerifyResult

DOC = REPO / 'docs' / 'tutorials' / '6_export_model.md'
TEXT = DOC.read_text(encoding='utf-8')
# options of NVIDIA's trtexec that the tutorial shows
_TRTEXEC = {'--onnx', '--saveEngine', '--fp16', '--minShapes', '--optShapes', '--maxShapes'}


def _text_block_after(marker: str) -> str:
    """The first ```text block after ``marker``."""
    rest = TEXT.split(marker, 1)[1]
    return rest.split('```text\n', 1)[1].split('\n```', 1)[0]


def test_every_code_block_is_marked():
    sys.path.insert(0, str(REPO / 'tests' / 'docs'))
    try:
        from doc_snippets import CHECKED_LANGUAGES, parse_blocks
    except ImportError:
        pytest.skip('tests/docs/doc_snippets.py (the docs\' test helpers) is not there')
    finally:
        sys.path.pop(0)
    unmarked = [b.where for b in parse_blocks(DOC)
                if b.lang in CHECKED_LANGUAGES and b.action is None]
    assert not unmarked, f'code blocks without a <!-- test: ... --> directive: {unmarked}'


def test_options_links_and_config_paths_exist():
    from actionkit.commands.test import build_parser as test_parser

    known = set(_TRTEXEC)
    for parser in (build_parser(), test_parser()):
        known |= {o for action in parser._actions for o in action.option_strings}
    for script in ('benchmarks/gpu_check_tensorrt.py', 'benchmarks/export.py'):
        known |= set(re.findall(r"'(--[a-z][\w-]*)'", (REPO / script).read_text()))
    used = set(re.findall(r'(?<![\w-])(--[A-Za-z][\w-]*[A-Za-z0-9])', TEXT))
    assert not used - known, f'options no command has: {sorted(used - known)}'
    for path in re.findall(r'(?<![\w/.])((?:configs|tools|benchmarks)/[\w./-]+\.py)', TEXT):
        assert (REPO / path).is_file(), path
    for link in re.findall(r'\]\(([^)#\s]+)', TEXT):
        assert re.match(r'^[a-z]+://', link) or (DOC.parent / link).exists(), link


def test_the_shape_error_shown_is_the_real_one():
    model, cfg = build_small(TSM_CONFIG)
    with pytest.raises(ValueError) as err:
        check_input_shape(model, (1, 1, 3, 224, 224), cfg)
    shown = _text_block_after('You do not have to work it out by hand')
    assert shown == f'error: {err.value}'


def test_the_summary_shown_is_the_real_format():
    result = ExportResult(
        output_file='tsm.onnx', exporter='dynamo', opset_version=20,
        input_shape=(1, 8, 3, 224, 224), input_names=['imgs'], output_names=['cls_score'],
        verification=VerifyResult(max_abs_diff=2.1e-6, passed=True, atol=1e-4, rtol=1e-4,
                                  batch_sizes=(1,)))
    assert _text_block_after('which ends with a summary like') == _summary(result)
