"""Parsing JSON and YAML as plain data, with the memory bombs of both formats refused.

* YAML aliases (``*name``) are refused: nested aliases expand a few hundred bytes into
  gigabytes, and an alias of its own ancestor into an endless structure. Configs and
  annotation files do not need them.
* Nesting deeper than :data:`MAX_DEPTH` levels is refused (YAML while composing, JSON after
  parsing; a nesting too deep for the JSON parser itself is reported the same way).

A refusal is a ``ValueError`` naming the file (and the line where the parser knows it).
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ['MAX_DEPTH', 'load_json', 'load_yaml', 'check_depth']

MAX_DEPTH = 100  # configs nest about 6 levels deep


def _too_deep(source: str, max_depth: int, where: str = '') -> ValueError:
    return ValueError(f'{source}{where}: nested more than {max_depth} levels deep; refusing '
                      'it as a possible memory or recursion bomb')


def check_depth(data: Any, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """Return ``data`` if its lists and dicts nest at most ``max_depth`` levels, else raise."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if not isinstance(node, (dict, list, tuple)):
            continue
        if depth > max_depth:
            raise _too_deep(source, max_depth)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list, tuple)))
    return data


def load_json(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)`` with the nesting checked; ``source`` names the file in errors.

    A syntax error propagates as ``json.JSONDecodeError`` (callers word it their way).
    """
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep(source, max_depth) from None
    return check_depth(data, source, max_depth)


def load_yaml(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse YAML with the safe loader, refusing aliases and deep nesting.

    A syntax error propagates as ``yaml.YAMLError`` (callers word it their way).
    """
    import yaml

    class PlainLoader(yaml.SafeLoader):  # the pure-Python one: its composer can be hooked
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            line = f':{event.start_mark.line + 1}' if event.start_mark else ''
            if isinstance(event, yaml.AliasEvent):
                raise ValueError(f'{source}{line}: YAML aliases (*{event.anchor}) are not '
                                 'accepted: they can expand a small file into gigabytes; write '
                                 'the value out')
            self.depth += 1
            if self.depth > max_depth:
                raise _too_deep(source, max_depth, line)
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = PlainLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
