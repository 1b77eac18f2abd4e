"""A registry maps the ``type`` names written in config files to classes.

Registries are used only at the config boundary: a config dict such as
``dict(type='ResNet', depth=50)`` is turned into an object by ``REGISTRY.build``.
Inside the package, code calls classes directly.

Example:
    >>> BACKBONES = Registry('backbone')
    >>> @BACKBONES.register_module()
    ... class Tiny:
    ...     def __init__(self, width=8):
    ...         self.width = width
    >>> BACKBONES.build(dict(type='Tiny', width=4)).width
    4
"""
from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ['Registry', 'build_from_cfg', 'build_in_config']


class Registry:
    """A named mapping from strings to classes (or functions).

    Args:
        name (str): what is registered, used in error messages (``'backbone'``).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module_dict: dict[str, Any] = {}
        self._refused: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def module_dict(self) -> dict[str, Any]:
        return self._module_dict

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return key in self._module_dict

    def __repr__(self) -> str:
        return f'Registry(name={self._name!r}, items={sorted(self._module_dict)})'

    def get(self, key: str) -> Any:
        """Return the object registered as ``key``, or ``None``."""
        return self._module_dict.get(key)

    def register_module(self, name: str | None = None, force: bool = False,
                        module: Any = None) -> Callable[[Any], Any] | Any:
        """Register a class or function, as a decorator or directly.

        Args:
            name: the key; defaults to the object's ``__name__``.
            force: replace an existing entry instead of raising.
            module: register this object now instead of returning a decorator.
        """
        if name is not None and not isinstance(name, str):
            raise TypeError(f'name must be a str or None, got {type(name).__name__}')

        def _register(obj: Any) -> Any:
            key = name or obj.__name__
            if not force and key in self._module_dict and self._module_dict[key] is not obj:
                raise KeyError(f'{key!r} is already registered in the {self._name} registry '
                               f'(by {self._module_dict[key]!r}); pass force=True to replace it')
            self._module_dict[key] = obj
            return obj

        if module is not None:
            return _register(module)
        return _register

    def refuse(self, name: str, reason: str) -> None:
        """Name a type that MMAction2 has and actionkit does not build, with the reason: a
        config naming it gets that reason instead of "not registered"."""
        self._refused[name] = reason

    def _lookup(self, key: str) -> Any:
        if key in self._module_dict:
            return self._module_dict[key]
        if key in self._refused:
            raise ValueError(f'{self._name} type {key!r} is not supported: {self._refused[key]}')
        close = difflib.get_close_matches(key, self._module_dict, n=3, cutoff=0.6)
        hint = f' Did you mean {", ".join(map(repr, close))}?' if close else ''
        raise KeyError(f'{key!r} is not registered in the {self._name} registry.{hint} '
                       f'Registered names: {sorted(self._module_dict)}')

    def build(self, cfg: Any, **default_args: Any) -> Any:
        """Build an object from ``cfg``.

        ``cfg['type']`` may be a registered name or the class itself; the other
        keys (plus ``default_args`` for keys ``cfg`` lacks) are passed to it.
        An object that is not a mapping is taken as already built and returned.
        """
        return build_from_cfg(cfg, self, default_args)


def build_from_cfg(cfg: Any, registry: Registry,
                   default_args: Mapping[str, Any] | None = None) -> Any:
    """Build ``cfg`` with ``registry``; see :meth:`Registry.build`."""
    if not isinstance(cfg, Mapping):
        if cfg is None or isinstance(cfg, (str, bytes, int, float, list, tuple)):
            raise TypeError(f'cannot build a {registry.name} from {cfg!r}: expected a dict with '
                            'a "type" key (or an object already built)')
        return cfg  # an object already built
    if 'type' not in cfg:
        raise KeyError(f'a {registry.name} config needs a "type" key, got keys {sorted(cfg)}')
    args = dict(cfg)
    for key, value in (default_args or {}).items():
        args.setdefault(key, value)
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        obj_cls = registry._lookup(obj_type)
    elif callable(obj_type):
        obj_cls = obj_type
    else:
        raise TypeError(f'"type" must be a str or a class, got {type(obj_type).__name__}')
    try:
        return obj_cls(**args)
    except (TypeError, ValueError, KeyError) as err:
        name = getattr(obj_cls, '__name__', repr(obj_cls))
        message = err.args[0] if len(err.args) == 1 and isinstance(err.args[0], str) else str(err)
        explained = _explain_signature_error(obj_cls, message) if isinstance(err, TypeError) \
            else None
        if explained is not None:
            raise TypeError(f'{name} (in the {registry.name} registry): {explained}') from err
        if message.startswith(f'{name}'):
            raise
        raise type(err)(f'{name} (in the {registry.name} registry): {message}') from err


_UNEXPECTED = re.compile(r"^(\S+)\(\) got an unexpected keyword argument '(\w+)'$")
_MISSING = re.compile(r"^(\S+)\(\) missing \d+ required (?:positional|keyword-only) "
                      r"arguments?: (.+)$")


def _explain_signature_error(obj_cls: Any, message: str) -> str | None:
    """Say which config key was misspelt or left out when ``obj_cls(**args)`` rejected them.

    Only Python's own messages for a call that does not match the signature are rewritten;
    a TypeError raised inside ``__init__`` is left alone.
    """
    unexpected, missing = _UNEXPECTED.match(message), _MISSING.match(message)
    if unexpected is None and missing is None:
        return None
    # only the call of obj_cls itself: a call inside __init__ (e.g. a norm layer built from a
    # nested config) keeps Python's message, which names that callee
    callee = (unexpected or missing).group(1)
    own = getattr(getattr(obj_cls, '__init__', None), '__qualname__', None) \
        if isinstance(obj_cls, type) else getattr(obj_cls, '__qualname__', None)
    if callee not in (own, getattr(obj_cls, '__qualname__', None)):
        return None
    try:
        params = [p for p in inspect.signature(obj_cls).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    names = [p.name for p in params]
    if unexpected is not None:
        key = unexpected.group(2)
        if key in names:  # the message came from some other call inside __init__
            return None
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ''
        return f"unknown argument '{key}' in its config{hint} (it takes: {', '.join(names)})"
    wanted = re.findall(r"'(\w+)'", missing.group(2))
    if not wanted or not set(wanted) <= set(names):
        return None
    return (f"its config lacks the required argument(s) {', '.join(repr(w) for w in wanted)} "
            f"(it takes: {', '.join(names)})")


def build_in_config(build: Callable[..., Any], cfg: Mapping[str, Any], section: str,
                    filename: str | None, *args: Any, **kwargs: Any) -> Any:
    """``build(cfg[section], *args, **kwargs)``, its errors naming the config file and key.

    A new key (``--cfg-options model.cls_head.new_key=1`` adds one, as mmcv does) reaches the
    class only at build time; the error then names the file and the dotted key, e.g.
    ``configs/x.py: model.cls_head.new_key: TSNHead (in the head registry): unknown argument
    'new_key' ...``.
    """
    try:
        return build(cfg[section], *args, **kwargs)
    except (TypeError, ValueError, KeyError, FileNotFoundError) as err:
        message = err.args[0] if len(err.args) == 1 and isinstance(err.args[0], str) else str(err)
        unknown = re.search(r"unknown argument '(\w+)'", message)
        paths = _key_paths(cfg[section], unknown.group(1), section) if unknown else []
        where = f"{filename or 'the config'}: {' / '.join(paths) or section}"
        raise type(err)(f'{where}: {message}') from err


def _key_paths(node: Any, key: str, prefix: str) -> list[str]:
    """The dotted paths of every ``key`` in the dicts and lists under ``node``."""
    if isinstance(node, Mapping):
        found = [f'{prefix}.{key}'] if key in node else []
        for name, value in node.items():
            found += _key_paths(value, key, f'{prefix}.{name}')
        return found
    if isinstance(node, (list, tuple)):
        return [path for index, value in enumerate(node)
                for path in _key_paths(value, key, f'{prefix}.{index}')]
    return []
