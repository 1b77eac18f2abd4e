"""Writing a config as Python source, for ``Config.pretty_text`` and ``Config.dump('x.py')``.

Dicts with identifier keys are written as ``dict(a=1)``, others as ``{1: 'a'}``; containers that
do not fit in the line width are broken over lines. Classes and functions used as values are
written as imports, so a dump loads back equal.
"""
from __future__ import annotations

import keyword
import math
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ['SourceWriter']

_LINE_WIDTH = 100
_INDENT = '    '


class SourceWriter:
    """Formats a config as Python source; ``strict`` raises on values that cannot load back."""

    def __init__(self, strict: bool, taken: set[str]) -> None:
        self.strict = strict
        self.imports: dict[int, tuple[str, str, str]] = {}  # id(obj) -> (module, name, alias)
        self.taken = set(taken)

    def fail(self, value: Any, key: str) -> str:
        if self.strict:
            raise TypeError(f'cannot write config key {key!r} to a Python config file: '
                            f'{type(value).__name__} value {value!r} does not load back')
        return repr(value)

    def importable(self, obj: Any, key: str) -> str:
        module_name, qualname = getattr(obj, '__module__', None), getattr(obj, '__qualname__', '')
        target: Any = sys.modules.get(module_name or '')
        for part in qualname.split('.'):
            target = getattr(target, part, None)
        if target is not obj or '<' in qualname:
            return self.fail(obj, key)
        if id(obj) not in self.imports:
            head = qualname.partition('.')[0]
            alias, n = head, 1
            while alias in self.taken:
                n += 1
                alias = f'{head}_{n}'
            self.taken.add(alias)
            self.imports[id(obj)] = (module_name, head, alias)
        alias = self.imports[id(obj)][2]
        return f'{alias}.{qualname.partition(".")[2]}' if '.' in qualname else alias

    def inline(self, value: Any, key: str) -> str:
        if isinstance(value, dict):
            if _identifier_keys(value):
                return 'dict(' + ', '.join(f'{k}={self.inline(v, f"{key}.{k}")}'
                                           for k, v in value.items()) + ')'
            return '{' + ', '.join(f'{self.inline(k, key)}: {self.inline(v, f"{key}.{k}")}'
                                   for k, v in value.items()) + '}'
        if type(value) in (list, tuple):
            items = [self.inline(v, f'{key}.{i}') for i, v in enumerate(value)]
            if type(value) is tuple:
                return '(' + ', '.join(items) + (',)' if len(items) == 1 else ')')
            return '[' + ', '.join(items) + ']'
        return self.scalar(value, key)

    def scalar(self, value: Any, key: str) -> str:
        if value is None or isinstance(value, (bool, int, str, bytes, range)):
            return repr(value)
        if isinstance(value, float):
            return repr(value) if math.isfinite(value) else f"float('{value}')"
        if type(value).__module__ == 'numpy' and hasattr(value, 'item') and not value.shape:
            return self.scalar(value.item(), key)
        if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            return self.importable(value, key)
        return self.fail(value, key)

    def block(self, value: Any, key: str, used: int, depth: int) -> str:
        """Format ``value``, breaking it over lines if it does not fit after ``used`` chars."""
        text = self.inline(value, key)
        is_container = isinstance(value, dict) or type(value) in (list, tuple)
        if used + len(text) <= _LINE_WIDTH or not is_container or not value:
            return text
        pad = _INDENT * (depth + 1)
        lines = []
        if isinstance(value, dict):
            named = _identifier_keys(value)
            for k, v in value.items():
                lead = f'{k}=' if named else f'{self.inline(k, key)}: '
                lines.append(pad + lead + self.block(v, f'{key}.{k}', len(pad + lead) + 1,
                                                     depth + 1) + ',')
            open_, close = ('dict(', ')') if named else ('{', '}')
        else:
            for i, v in enumerate(value):
                lines.append(pad + self.block(v, f'{key}.{i}', len(pad) + 1, depth + 1) + ',')
            open_, close = ('[', ']') if type(value) is list else ('(', ')')
        return open_ + '\n' + '\n'.join(lines) + '\n' + _INDENT * depth + close

    def document(self, cfg: Mapping[str, Any]) -> str:
        body = []
        for key, value in cfg.items():
            if self.strict and (not _identifier_keys([key]) or key.startswith('_')):
                raise ValueError(f'cannot write top-level config key {key!r} to a Python config '
                                 f'file: it is not a variable name that loads back')
            body.append(f'{key} = {self.block(value, str(key), len(str(key)) + 3, 0)}')
        head = [f'from {module} import {name}' + (f' as {alias}' if alias != name else '')
                for module, name, alias in self.imports.values()]
        return '\n'.join(head + ([''] if head else []) + body) + '\n'


def _identifier_keys(value: Iterable[Any]) -> bool:
    return all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k)
               for k in value)
