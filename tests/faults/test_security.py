"""Security properties that hold for the whole code base, checked by reading it.

* No shell: nothing in ``actionkit/``, ``tools/`` or ``demo/`` runs a shell (``shell=True``,
  ``os.system``, ``os.popen``), so no user string (a path, a URL, a config value) can become a
  command.
* No evaluation: ``eval``/``exec`` appear only where the config loader executes Python config
  files, which is what a config file is (documented in docs/reliability.md).
* No silent unpickling: every ``torch.load`` passes ``weights_only=True`` and every
  ``pickle.load`` is one of the few listed below, each behind an explicit opt-in or reading a
  file this job just wrote. ``yaml`` is only read with the safe loader.
* ``--cfg-options`` values are parsed as literals, never evaluated.

The scan parses the source (``ast``), so comments, strings and method names such as
``model.eval()`` do not count.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_helpers import REPO

from actionkit.apis import init_recognizer
from actionkit.config import Config, parse_option_value
from actionkit.models.weights import load_checkpoint

SCANNED = ('actionkit', 'tools', 'demo')

# (file, finding) -> why it is acceptable
ALLOWED = {
    ('actionkit/config/config.py', 'exec'):
        'Python config files are executed; that is what they are (docs/reliability.md)',
    ('actionkit/models/weights.py', 'torch.load without weights_only=True'):
        'runs only when the caller passes allow_pickle=True (--allow-pickle)',
    ('actionkit/utils/safe_pickle.py', 'pickle.load'):
        'runs only when the caller passes allow_pickle=True (--allow-pickle)',
    ('actionkit/engine/dist.py', 'pickle.load'):
        'collect_results_cpu reads back the part files the ranks of this job just wrote',
}

_UNPICKLERS = {('pickle', 'load'), ('pickle', 'loads'), ('marshal', 'load'),
               ('marshal', 'loads'), ('shelve', 'open'), ('dill', 'load'), ('dill', 'loads')}
_SHELLS = {('os', 'system'), ('os', 'popen'), ('subprocess', 'getoutput'),
           ('subprocess', 'getstatusoutput')}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _findings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, finding)`` for every risky call in ``tree``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ('eval', 'exec'):
            yield node.lineno, func.id
        if _is_true(_keyword(node, 'shell')):
            yield node.lineno, 'shell=True'
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            continue
        pair = (func.value.id, func.attr)
        if pair in _SHELLS:
            yield node.lineno, f'{pair[0]}.{pair[1]}'
        elif pair in _UNPICKLERS:
            yield node.lineno, f'{pair[0]}.{pair[1]}'
        elif pair == ('torch', 'load') and not _is_true(_keyword(node, 'weights_only')):
            yield node.lineno, 'torch.load without weights_only=True'
        elif pair in (('np', 'load'), ('numpy', 'load')) and \
                _is_true(_keyword(node, 'allow_pickle')):
            yield node.lineno, 'np.load(allow_pickle=True)'
        elif pair in (('yaml', 'load'), ('yaml', 'load_all'), ('yaml', 'unsafe_load'),
                      ('yaml', 'full_load')):
            loader = _keyword(node, 'Loader')
            if not (isinstance(loader, ast.Attribute) and loader.attr in ('SafeLoader',
                                                                          'CSafeLoader')):
                yield node.lineno, f'yaml.{func.attr} without SafeLoader'


def _scan() -> dict[tuple[str, str], list[int]]:
    found: dict[tuple[str, str], list[int]] = {}
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob('*.py')):
            relative = path.relative_to(REPO).as_posix()
            tree = ast.parse(path.read_text(encoding='utf-8'), filename=relative)
            for line, finding in _findings(tree):
                found.setdefault((relative, finding), []).append(line)
    return found


def test_the_scanner_sees_what_it_looks_for() -> None:
    source = ('import os, subprocess, pickle, torch, yaml, numpy as np\n'
              'eval(x)\nexec(y)\nsubprocess.run(cmd, shell=True)\nos.system(c)\n'
              'pickle.loads(b)\ntorch.load(p)\ntorch.load(p, weights_only=False)\n'
              'torch.load(p, weights_only=True)\nyaml.load(f)\n'
              'yaml.load(f, Loader=yaml.SafeLoader)\nnp.load(p, allow_pickle=True)\n'
              'model.eval()\n"eval(x)"\n')
    found = [finding for _, finding in _findings(ast.parse(source))]
    assert sorted(found) == sorted([
        'eval', 'exec', 'shell=True', 'os.system', 'pickle.loads',
        'torch.load without weights_only=True', 'torch.load without weights_only=True',
        'yaml.load without SafeLoader', 'np.load(allow_pickle=True)'])


def test_no_shell_no_eval_no_silent_unpickling_in_the_code_base() -> None:
    found = _scan()
    unexpected = {f'{path}:{lines}: {finding}' for (path, finding), lines in found.items()
                  if (path, finding) not in ALLOWED}
    assert not unexpected, ('risky calls outside the reviewed list (see this test\'s ALLOWED '
                            f'for what is accepted and why): {sorted(unexpected)}')


def test_the_reviewed_exceptions_are_still_guarded() -> None:
    """The opt-ins that guard the allowed unpickling still default to off."""
    assert inspect.signature(load_checkpoint).parameters['allow_pickle'].default is False
    assert inspect.signature(init_recognizer).parameters['allow_pickle'].default is False
    from actionkit.analysis.results import load_results

    assert inspect.signature(load_results).parameters['allow_pickle'].default is False
    weights = (REPO / 'actionkit/models/weights.py').read_text()
    assert 'if allow_pickle:' in weights


_HOSTILE = ["__import__('os').system('touch {marker}')",
            "[__import__('os').system('touch {marker}')]",
            "(lambda: open('{marker}', 'w'))()",
            "{{'a': __import__('os').system('touch {marker}')}}"]


@pytest.mark.parametrize('command', ['train', 'test'])
@pytest.mark.parametrize('template', _HOSTILE, ids=['call', 'list', 'lambda', 'dict'])
def test_cfg_options_are_literals_never_code(tmp_path: Path, command: str,
                                             template: str) -> None:
    """The command lines of tools/train.py and tools/test.py (``actionkit train/test``)."""
    marker = tmp_path / 'ran'
    value = template.format(marker=marker)
    parser = argparse.ArgumentParser()
    importlib.import_module(f'actionkit.commands.{command}').add_arguments(parser)
    argv = ['config.py'] + (['checkpoint.pth'] if command == 'test' else [])
    args = parser.parse_args(argv + ['--cfg-options', f'work_dir={value}', 'model.depth=50'])
    parsed = args.cfg_options['work_dir']
    assert not marker.exists()
    assert 'system' in str(parsed) or 'open' in str(parsed)  # kept as text
    assert all(isinstance(item, str) for item in (parsed if isinstance(parsed, list)
                                                  else [parsed]))
    assert args.cfg_options['model.depth'] == 50
    cfg = Config(dict(work_dir='w', model=dict(depth=18)))
    cfg.merge_from_dict(args.cfg_options)
    assert cfg.model.depth == 50 and cfg.work_dir == parsed and not marker.exists()


def test_option_values_parse_to_plain_types_only() -> None:
    for text in ['1', '1.5', 'True', 'None', '[1,2]', '(1,(2,3))', "'quoted'", 'a,b',
                 'os.system', '__import__("os")']:
        value = parse_option_value(text)
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, (list, tuple)):
                stack.extend(item)
            else:
                assert item is None or isinstance(item, (bool, int, float, str)), (text, item)
