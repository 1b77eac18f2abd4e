"""``ConfigDict``, the dict with attribute access that holds a config, and the rules for
merging a child config's dicts into its bases' (``_delete_``, dict/non-dict clashes).

:class:`~actionkit.config.Config` wraps a ConfigDict; import both from :mod:`actionkit.config`.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..utils.checks import close_matches

__all__ = ['DELETE_KEY', 'ConfigDict', 'close_matches', 'may_add', 'merge_into_base',
           'strip_delete', 'to_config_value', 'to_plain']

DELETE_KEY = '_delete_'


def may_add(key: Any, siblings: Any, allow_new_keys: bool | None) -> bool:
    """Whether an override may add ``key`` beside ``siblings`` (see ``merge_from_dict``)."""
    if allow_new_keys is None:
        return not close_matches(key, siblings)
    return allow_new_keys


def to_config_value(value: Any) -> Any:
    """Turn dicts into ConfigDicts, also inside lists and tuples."""
    if isinstance(value, ConfigDict):
        return value
    if isinstance(value, dict):
        return ConfigDict(value)
    if type(value) in (list, tuple):
        return type(value)(to_config_value(item) for item in value)
    return value


class ConfigDict(dict):
    """A dict whose keys can also be read and written as attributes.

    Nested dicts (also those inside lists and tuples) become ConfigDicts when stored.
    Reading a missing attribute raises ``AttributeError`` naming the key and close matches.
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, to_config_value(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            hint = '' if name.startswith('__') else close_matches(name, self)
            raise AttributeError(f'config has no key {name!r}.{hint}') from None

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):
            raise AttributeError(f'{name!r} is a method of ConfigDict; set the key with '
                                 f'cfg[{name!r}] = ... instead')
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f'config has no key {name!r}.{close_matches(name, self)}') \
                from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self if isinstance(k, str)})

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> ConfigDict:
        """A shallow copy (nested dicts are shared)."""
        return ConfigDict(self)

    def __copy__(self) -> ConfigDict:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigDict:
        new = ConfigDict()
        memo[id(self)] = new
        for key, value in self.items():
            dict.__setitem__(new, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return new

    def to_dict(self) -> dict[str, Any]:
        """A plain ``dict`` copy (nested ConfigDicts become dicts too)."""
        return to_plain(self)


def to_plain(value: Any, tuples_as_lists: bool = False) -> Any:
    if isinstance(value, range) and tuples_as_lists:
        return list(value)
    if isinstance(value, dict):
        return {k: to_plain(v, tuples_as_lists) for k, v in value.items()}
    if type(value) in (list, tuple):
        items = [to_plain(v, tuples_as_lists) for v in value]
        return items if tuples_as_lists or type(value) is list else tuple(items)
    return value


# ---------------------------------------------------------------------------------------------
# merging
# ---------------------------------------------------------------------------------------------
def strip_delete(value: Any) -> Any:
    """Drop ``_delete_`` flags that have nothing to act on."""
    if isinstance(value, dict):
        return {k: strip_delete(v) for k, v in value.items() if k != DELETE_KEY}
    if type(value) in (list, tuple):
        return type(value)(strip_delete(v) for v in value)
    return value


def merge_into_base(child: Mapping, base: Mapping, prefix: str, child_file: str,
           origins: Mapping[str, str]) -> dict[str, Any]:
    """Merge ``child`` into a copy of ``base`` with mmcv's rules: a child dict merges into a base
    dict (or replaces it with ``_delete_=True``); any other child value replaces the base value,
    a base dict included; a child dict over a base non-dict raises."""
    merged = dict(base)
    for key, value in child.items():
        dotted = f'{prefix}{key}'
        old = merged.get(key)
        if isinstance(value, dict):
            value = dict(value)
            replace = value.pop(DELETE_KEY, False)
            if key in merged and not replace:
                if not isinstance(old, dict):
                    _raise_clash(dotted, value, old, child_file, origins)
                value = merge_into_base(value, old, f'{dotted}.', child_file, origins)
                merged[key] = value
                continue
        merged[key] = strip_delete(value)
    return merged


def _raise_clash(dotted: str, value: Any, old: Any, child_file: str,
                 origins: Mapping[str, str]) -> None:
    base_file = origins.get(dotted.split('.')[0], 'its base')
    fix = f'add {DELETE_KEY}=True to the dict in {child_file} to replace the base value'
    raise TypeError(f'cannot merge config key {dotted!r}: it is a {type(value).__name__} in '
                    f'{child_file} but a {type(old).__name__} in {base_file}; {fix}')
