"""``{{_base_.KEY}}`` in a config file: the value its ``_base_`` files give ``KEY``.

mmengine (MMAction2 1.x) lets a file take a value from its bases this way, e.g.
``val_evaluator = {{_base_.test_evaluator}}`` or ``lr = {{_base_.optim_wrapper.optimizer.lr}}``.
Before a file is parsed, each reference is replaced by a quoted placeholder (valid Python, JSON
and YAML); once its bases are merged, each placeholder becomes a copy of the value the dotted
key names there (list items by index too, ``{{_base_.train_pipeline.0}}``, which mmengine
does not allow). As with mmengine, a reference is a whole value: ``{{_base_.lr}} * 2`` is
refused.

Example:
    >>> text, refs = mark_base_refs("lr = {{_base_.optimizer.lr}}\\n")
    >>> text
    "lr = '__actionkit_base_ref_0__'\\n"
    >>> fill_base_refs({'lr': '__actionkit_base_ref_0__'}, refs, {'optimizer': {'lr': 0.1}},
    ...                'cfg.py')
    {'lr': 0.1}
"""
from __future__ import annotations

import copy
import re
from typing import Any

from ..utils.checks import close_matches

__all__ = ['mark_base_refs', 'fill_base_refs']

_REF = re.compile(r'\{\{\s*_base_\.([\w.]+?)\s*\}\}')
_PLACEHOLDER = '__actionkit_base_ref_{}__'


def mark_base_refs(text: str) -> tuple[str, dict[str, str]]:
    """Replace each ``{{_base_.KEY}}`` by a quoted placeholder; return the text and
    placeholder -> dotted key."""
    refs: dict[str, str] = {}

    def mark(match: re.Match) -> str:
        placeholder = _PLACEHOLDER.format(len(refs))
        refs[placeholder] = match.group(1)
        return repr(placeholder)

    return _REF.sub(mark, text), refs


def _lookup(base: Any, key: str, path: str) -> Any:
    node = base
    for depth, part in enumerate(key.split('.')):
        where = '.'.join(key.split('.')[:depth]) or 'the _base_ files'
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            hint = close_matches(part, node) if isinstance(node, dict) else ''
            raise KeyError(f'config file {path}: {{{{_base_.{key}}}}} names nothing: {where} '
                           f'has no {part!r}.{hint}')
    return copy.deepcopy(node)


def fill_base_refs(value: Any, refs: dict[str, str], base: dict[str, Any], path: str) -> Any:
    """``value`` with every placeholder replaced by what its key names in ``base``."""
    if not refs:
        return value
    if isinstance(value, str) and value in refs:
        return _lookup(base, refs[value], path)
    if isinstance(value, str) and _PLACEHOLDER.split('{')[0] in value:
        raise ValueError(f'config file {path}: a {{{{_base_.KEY}}}} reference can only stand '
                         f'for a whole value, not be computed with (got {value!r}); set the '
                         'value itself instead')
    if isinstance(value, dict):
        return {k: fill_base_refs(v, refs, base, path) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fill_base_refs(v, refs, base, path) for v in value)
    return value
