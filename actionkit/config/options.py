"""Command-line overrides: ``--cfg-options KEY=VALUE ...`` parsed into a dict of literals.

Values are parsed, never evaluated (see :func:`parse_option_value`). Both names are also
importable from :mod:`actionkit.config`.
"""
from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ['DictAction', 'parse_option_value', 'merge_dotted']

_CLOSING = {'(': ')', '[': ']'}
MAX_OPTION_DEPTH = 50  # configs nest lists two or three levels deep


def _split_top_level(text: str, quotes: bool = True) -> list[str]:
    """Split at commas outside brackets and quotes; raise ValueError on unbalanced brackets.

    A quote that is never closed (an apostrophe: ``it's``) is taken as a plain character.
    """
    parts, expected, quote, start = [], [], '', 0
    for i, char in enumerate(text):
        if quote:
            quote = '' if char == quote else quote
        elif quotes and char in '\'"':
            quote = char
        elif char in _CLOSING:
            expected.append(_CLOSING[char])
        elif char in ')]':
            if not expected or expected.pop() != char:
                raise ValueError(f'unbalanced {char!r} at position {i} in {text!r}')
        elif char == ',' and not expected:
            parts.append(text[start:i])
            start = i + 1
    if quote:
        return _split_top_level(text, quotes=False)
    if expected:
        raise ValueError(f'missing {expected[-1]!r} in {text!r}')
    parts.append(text[start:])
    return parts


def _parse_scalar(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '\'"':
        return text[1:-1]
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    if text == 'None':
        return None
    return text


def parse_option_value(text: str) -> Any:
    """Parse one ``--cfg-options`` value: numbers, booleans, None, lists, tuples, strings.

    ``'1'`` -> 1, ``'1.5'`` -> 1.5, ``'True'`` -> True, ``'None'`` -> None, ``'1,5'`` ->
    [1, 5], ``'[1,2]'`` -> [1, 2], ``'(1,2)'`` -> (1, 2), ``'[(1,2),[a,b]]'`` ->
    [(1, 2), ['a', 'b']]; anything else stays a string. Nothing is evaluated.

    Raises:
        ValueError: unbalanced brackets, or lists nested more than ``MAX_OPTION_DEPTH`` deep.
    """
    return _parse_value(text, 0)


def _parse_value(text: str, depth: int) -> Any:
    if depth > MAX_OPTION_DEPTH:
        raise ValueError(f'the value nests lists or tuples more than {MAX_OPTION_DEPTH} levels '
                         'deep')
    text = text.strip()
    parts = _split_top_level(text)
    is_tuple = False
    if len(parts) == 1 and text[:1] in _CLOSING and text[-1:] == _CLOSING[text[0]]:
        try:
            parts = _split_top_level(text[1:-1]) if text[1:-1].strip() else []
        except ValueError:  # e.g. '(a)(b)': the first bracket does not close at the end
            return text
        is_tuple = text[0] == '('
    elif len(parts) == 1:
        return _parse_scalar(text)
    if parts and not parts[-1].strip():  # a trailing comma: '1,' or '(1,)'
        parts = parts[:-1]
    values = [_parse_value(part, depth + 1) for part in parts]
    return tuple(values) if is_tuple else values


class DictAction(argparse.Action):
    """argparse action turning ``KEY=VALUE`` pairs into a dict (``--cfg-options``).

    Values are parsed by :func:`parse_option_value`. Use with ``nargs='+'``:

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        >>> parser.parse_args(['--cfg-options', 'a=1', 'b=[1,2]']).cfg_options
        {'a': 1, 'b': [1, 2]}
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in [values] if isinstance(values, str) else (values or []):
            key, sep, raw = str(item).partition('=')
            if not sep or not key:
                parser.error(f'{option_string or self.dest} expects KEY=VALUE pairs, '
                             f'got {item!r}')
            try:
                options[key] = parse_option_value(raw)
            except ValueError as err:
                parser.error(f'{option_string or self.dest} {key}: {err}')
        setattr(namespace, self.dest, options)


def merge_dotted(target: dict, options: Mapping[str, Any]) -> dict:
    """Merge ``key=value`` options into ``target`` in place, a dotted key setting a nested value.

    ``DictAction`` keeps keys as typed; for ``--eval-options`` (keyword arguments of
    ``dataset.evaluate``) ``metric_options.top_k_accuracy.topk=1,3`` becomes
    ``metric_options=dict(top_k_accuracy=dict(topk=(1, 3)))``, merged into what ``target``
    already holds there.

    Returns:
        ``target``.
    """
    for key, value in options.items():
        *parents, last = str(key).split('.')
        node = target
        for part in parents:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, Mapping) else {}
            node = node[part]
        node[last] = value
    return target
