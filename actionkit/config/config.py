"""Config files: Python, JSON or YAML, with ``_base_`` inheritance, as in MMAction2 0.x.

A config file is a set of top-level variables. ``_base_`` (a path or a list of paths,
relative to the file) names files whose variables are loaded first and merged in order; the
child's dicts are then merged into them key by key. ``_delete_=True`` in a child dict replaces
the base dict instead of merging into it. Every file runs on its own: a file cannot read the
variables of its bases (as with mmcv 1.x, which MMAction2 0.x configs are written for), except
through mmengine's ``{{_base_.KEY}}`` (MMAction2 1.x), which stands for the value its bases give
``KEY`` (:mod:`actionkit.config.base_refs`).

Example:
    >>> cfg = Config(dict(model=dict(backbone=dict(depth=50))))
    >>> cfg.merge_from_dict({'model.backbone.depth': 101})
    >>> cfg.model.backbone.depth
    101

This module loads files and holds :class:`Config`; the pieces it is built from live beside it:
:mod:`actionkit.config.configdict` (``ConfigDict`` and the merge rules),
:mod:`actionkit.config.writer` (Python source for ``pretty_text`` / ``dump``) and
:mod:`actionkit.config.options` (``DictAction`` and ``parse_option_value`` for
``--cfg-options``). Users import them all from :mod:`actionkit.config`.
"""
from __future__ import annotations

import builtins
import copy
import importlib
import json
import logging
import os
import types
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from .base_refs import fill_base_refs, mark_base_refs
from .configdict import (DELETE_KEY, ConfigDict, close_matches, may_add, merge_into_base,
                         strip_delete, to_config_value, to_plain)
from .writer import SourceWriter
from ..utils.bounded_read import MAX_CONFIG_BYTES, read_file_text
from ..utils.plain_data import load_json, load_yaml

__all__ = ['Config']

logger = logging.getLogger(__name__)

BASE_KEY = '_base_'
RESERVED_KEYS = ('filename', 'text', 'pretty_text')
_FORMATS = ('.py', '.json', '.yaml', '.yml')


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def _read_python(source: str, path: str) -> dict[str, Any]:
    """Execute a Python config in a fresh namespace and keep its config variables."""
    try:
        code = compile(source, path, 'exec')
    except SyntaxError as err:
        raise SyntaxError(f'invalid Python in config file {path}, line {err.lineno}: {err.msg}',
                          (path, err.lineno, err.offset, err.text)) from None
    namespace: dict[str, Any] = {'__file__': path, '__name__': '__config__',
                                 '__builtins__': builtins}
    try:
        exec(code, namespace)
    except Exception as err:
        note = f'(raised while executing config file {path})'
        if isinstance(err, NameError):
            note += ('\nEach config file runs on its own: the variables of its _base_ files are '
                     'not visible in it (as in MMAction2 0.x with mmcv 1.x); a whole value can '
                     'be taken from them with {{_base_.KEY}} (as in MMAction2 1.x).')
        err.add_note(note)
        raise
    dropped = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    return {name: value for name, value in namespace.items()
            if not (name.startswith('_') and name != BASE_KEY) and not isinstance(value, dropped)}


def _read_data(source: str, path: str, file_format: str) -> dict[str, Any]:
    """Parse a JSON or YAML config."""
    if file_format == '.json':
        try:
            data = load_json(source, f'config file {path}')
        except json.JSONDecodeError as err:
            raise ValueError(f'invalid JSON in config file {path}, line {err.lineno}: '
                             f'{err.msg}') from None
    else:
        import yaml

        try:
            data = load_yaml(source, f'config file {path}')
        except yaml.YAMLError as err:
            mark = getattr(err, 'problem_mark', None)
            where = f', line {mark.line + 1}' if mark is not None else ''
            raise ValueError(f'invalid YAML in config file {path}{where}: {err}') from None
        data = {} if data is None else data
    if not isinstance(data, dict):
        raise TypeError(f'config file {path} must hold a mapping at the top level, '
                        f'got {type(data).__name__}')
    return data


def _check_format(file_format: str, path: str) -> str:
    file_format = file_format.lower()
    if file_format not in _FORMATS:
        raise ValueError(f'unsupported config format {file_format!r} for {path}: expected one '
                         f'of {", ".join(_FORMATS)}')
    return file_format


class _Loaded:
    """A loaded config tree: the merged dict, the text of its files, and which file set each key."""

    def __init__(self, cfg: dict[str, Any], text: str, origins: dict[str, str]) -> None:
        self.cfg, self.text, self.origins = cfg, text, origins


def _load_file(path: str, chain: tuple[str, ...] = ()) -> _Loaded:
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    file_format = _check_format(os.path.splitext(path)[1], path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    logger.debug('reading config file %s', path)
    source = read_file_text(path, MAX_CONFIG_BYTES, 'config file')
    return _load_source(source, path, file_format, os.path.dirname(path), chain + (path,))


def _load_source(source: str, path: str, file_format: str, base_dir: str,
                 chain: tuple[str, ...]) -> _Loaded:
    text = source
    source, refs = mark_base_refs(source)  # {{_base_.KEY}} (mmengine's)
    if file_format == '.py':
        raw = _read_python(source, path)
    else:
        raw = _read_data(source, path, file_format)
    bases = raw.pop(BASE_KEY, [])
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, (list, tuple)) or not all(isinstance(b, str) for b in bases):
        raise TypeError(f'{BASE_KEY} in config file {path} must be a path or a list of paths, '
                        f'got {bases!r}')
    base_cfg: dict[str, Any] = {}
    origins: dict[str, str] = {}
    texts = []
    for base in bases:
        resolved = os.path.normpath(os.path.join(base_dir, os.path.expanduser(base)))
        if resolved in chain:
            cycle = ' -> '.join(chain[chain.index(resolved):] + (resolved,))
            raise ValueError(f'{BASE_KEY} files form a cycle: {cycle}')
        if not os.path.isfile(resolved):
            raise FileNotFoundError(f'config file {path} asks for {BASE_KEY} {base!r}, resolved '
                                    f'to {resolved}, which does not exist')
        loaded = _load_file(resolved, chain)
        for key in loaded.cfg:
            if key in base_cfg:
                raise KeyError(f'{key!r} is defined by two {BASE_KEY} files of {path}: '
                               f'{origins[key]} and {loaded.origins[key]}; duplicate keys are '
                               f'not allowed among bases')
        base_cfg.update(loaded.cfg)
        origins.update(loaded.origins)
        texts.append(loaded.text)
    raw = fill_base_refs(raw, refs, base_cfg, path)
    merged = merge_into_base(raw, base_cfg, prefix='', child_file=path, origins=origins)
    origins.update(dict.fromkeys(raw, path))
    texts.append(f'{path}\n{text}')
    return _Loaded(merged, '\n'.join(texts), origins)


def _import_custom_modules(spec: Any, filename: str | None) -> None:
    """Import the modules named by ``custom_imports`` so their registrations take effect."""
    where = f'custom_imports in {filename or "the config"}'
    if not isinstance(spec, Mapping):
        raise TypeError(f'{where} must be dict(imports=[...], allow_failed_imports=False), '
                        f'got {spec!r}')
    unknown = set(spec) - {'imports', 'allow_failed_imports'}
    if unknown:
        raise KeyError(f'{where} has unknown keys {sorted(unknown)}; expected imports, '
                       f'allow_failed_imports')
    imports = spec.get('imports', [])
    imports = [imports] if isinstance(imports, str) else imports
    if not isinstance(imports, (list, tuple)) or not all(isinstance(m, str) for m in imports):
        raise TypeError(f'{where}: imports must be a module name or a list of them, '
                        f'got {imports!r}')
    for name in imports:
        try:
            importlib.import_module(name)
        except ImportError as err:
            if not spec.get('allow_failed_imports', False):
                raise ImportError(f'{where}: cannot import {name!r}: {err}') from err
            warnings.warn(f'{where}: cannot import {name!r} ({err}); ignored because '
                          f'allow_failed_imports=True', UserWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------
class Config:
    """A config: a :class:`ConfigDict` plus the file it came from.

    Attribute and item access go to the dict (``cfg.model.backbone.depth``,
    ``cfg['data']``, ``cfg.get('load_from')``, ``for key in cfg``).

    Args:
        cfg_dict (dict, optional): the config's content. Default: empty.
        cfg_text (str, optional): its source text. Default: read from ``filename``.
        filename (str, optional): the file it was loaded from.
    """

    def __init__(self, cfg_dict: Mapping[str, Any] | None = None, cfg_text: str | None = None,
                 filename: str | os.PathLike | None = None) -> None:
        if cfg_dict is None:
            cfg_dict = {}
        elif not isinstance(cfg_dict, Mapping):
            raise TypeError(f'cfg_dict must be a dict, got {type(cfg_dict).__name__}')
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(f'{key!r} is reserved for the Config object and cannot be a '
                               f'config key (reserved: {", ".join(RESERVED_KEYS)})')
        filename = os.fspath(filename) if filename is not None else None
        if cfg_text is None:
            cfg_text = ''
            if filename is not None and os.path.isfile(filename):
                with open(filename, encoding='utf-8') as f:
                    cfg_text = f.read()
        object.__setattr__(self, '_cfg_dict', ConfigDict(cfg_dict))
        object.__setattr__(self, '_filename', filename)
        object.__setattr__(self, '_text', cfg_text)

    @staticmethod
    def fromfile(filename: str | os.PathLike, import_custom_modules: bool = True) -> Config:
        """Load a ``.py``, ``.json`` or ``.yaml``/``.yml`` config with its ``_base_`` files.

        Args:
            filename: path of the config file.
            import_custom_modules: import the modules listed in ``custom_imports``.

        Returns:
            Config: the merged config; ``text`` holds the source of every file read.

        Example:
            >>> cfg = Config.fromfile(
            ...     'configs/recognition/tsn/tsn_r50_1x1x3_100e_kinetics400_rgb.py')
            >>> cfg.model.backbone.depth
            50
        """
        loaded = _load_file(os.fspath(filename))
        if import_custom_modules and loaded.cfg.get('custom_imports'):
            _import_custom_modules(loaded.cfg['custom_imports'], os.fspath(filename))
        return Config(loaded.cfg, cfg_text=loaded.text, filename=filename)

    @staticmethod
    def fromstring(cfg_str: str, file_format: str = '.py') -> Config:
        """Load a config from its source text; ``_base_`` paths are relative to the cwd.

        Args:
            cfg_str: the config source.
            file_format: ``'.py'``, ``'.json'``, ``'.yaml'`` or ``'.yml'``.
        """
        if not isinstance(cfg_str, str):
            raise TypeError(f'cfg_str must be a str, got {type(cfg_str).__name__}')
        file_format = _check_format(file_format, '<string>')
        loaded = _load_source(cfg_str, '<string>', file_format, os.getcwd(), ())
        return Config(loaded.cfg, cfg_text=cfg_str)

    @property
    def filename(self) -> str | None:
        return self._filename

    @property
    def text(self) -> str:
        return self._text

    @property
    def pretty_text(self) -> str:
        """The config as readable Python source (values that cannot load back are repr'd)."""
        writer = SourceWriter(strict=False, taken=set(map(str, self._cfg_dict)))
        return writer.document(self._cfg_dict)

    def merge_from_dict(self, options: Mapping[str, Any], allow_list_keys: bool = True,
                        allow_new_keys: bool | None = None) -> None:
        """Override values by dotted key, e.g. ``{'model.backbone.depth': 101}``.

        Args:
            options: dotted key -> value. A dict value is merged into an existing dict
                (``_delete_=True`` replaces it).
            allow_list_keys: let integer parts index lists (``'data.train.pipeline.2.scale'``).
            allow_new_keys: whether a last key part that does not exist yet is added (its
                parent must exist). ``None`` (the default, what ``--cfg-options`` uses) adds it
                unless it looks like a typo of a key beside it (``model.backbone.with_cp`` is
                added; ``model.backbone.dpeth`` is refused, suggesting ``depth``); ``True``
                always adds; ``False`` never does.

        Raises:
            KeyError: a key does not exist (with close matches) or an index is out of range;
                the config is then left unchanged.
        """
        cfg_dict = copy.deepcopy(self._cfg_dict)
        for full_key, value in options.items():
            if not isinstance(full_key, str) or not full_key:
                raise KeyError(f'override keys must be dotted strings, got {full_key!r}')
            parts = full_key.split('.')
            node: Any = cfg_dict
            for depth, part in enumerate(parts):
                index = self._child_index(node, part, parts, depth, allow_list_keys,
                                          allow_new_keys)
                if depth < len(parts) - 1:
                    node = node[index]
                    continue
                old = node[index] if (isinstance(node, list) or index in node) else None
                if isinstance(value, dict) and isinstance(old, dict):
                    value = self._merge_override(value, old, full_key, allow_new_keys)
                elif isinstance(value, dict):
                    value = strip_delete(value)
                node[index] = to_config_value(value)
        object.__setattr__(self, '_cfg_dict', cfg_dict)

    def _child_index(self, node: Any, part: str, parts: list[str], depth: int,
                     allow_list_keys: bool, allow_new_keys: bool) -> Any:
        where = repr('.'.join(parts[:depth])) if depth else 'the top level'
        full = '.'.join(parts)
        source = f' (config file {self._filename})' if self._filename else ''
        if isinstance(node, list) and allow_list_keys:
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(f'cannot override {full!r}{source}: {where} is a list of '
                               f'{len(node)} items, expected an index 0..{len(node) - 1}, '
                               f'got {part!r}')
            return int(part)
        if not isinstance(node, dict):
            raise KeyError(f'cannot override {full!r}{source}: {where} is of type '
                           f'{type(node).__name__}, not a dict')
        if part not in node and not (depth == len(parts) - 1
                                     and may_add(part, node, allow_new_keys)):
            raise KeyError(f'cannot override {full!r}{source}: {where} has no key '
                           f'{part!r}.{close_matches(part, node)} Keys there: '
                           f'{sorted(map(str, node))}. Only a last key part that is not close '
                           'to an existing one is added.')
        return part

    def _merge_override(self, value: Mapping, old: Mapping, full_key: str,
                        allow_new_keys: bool | None) -> dict[str, Any]:
        value = dict(value)
        if value.pop(DELETE_KEY, False):
            return strip_delete(value)
        merged = dict(old)
        for key, item in value.items():
            if key not in old and not may_add(key, old, allow_new_keys):
                raise KeyError(f'cannot override {full_key}.{key!r}: {full_key!r} has no key '
                               f'{key!r}.{close_matches(key, old)} Only keys that are not '
                               'close to an existing one are added.')
            if isinstance(item, dict) and isinstance(old.get(key), dict):
                item = self._merge_override(item, old[key], f'{full_key}.{key}', allow_new_keys)
            merged[key] = strip_delete(item)
        return merged

    def dump(self, file: str | os.PathLike | None = None) -> str | None:
        """Write the config to ``file`` (format by its suffix), or return it as text.

        Without ``file`` the format follows ``self.filename`` (Python when unknown). A Python
        dump loads back equal, tuples included; classes and functions used as values are
        written as imports.
        """
        target = os.fspath(file) if file is not None else None
        suffix = os.path.splitext(target or self._filename or 'config.py')[1] or '.py'
        file_format = _check_format(suffix, target or str(self._filename))
        if file_format == '.py':
            text = SourceWriter(strict=True, taken=set(map(str, self._cfg_dict))).document(
                self._cfg_dict)
        elif file_format == '.json':
            try:
                plain = to_plain(self._cfg_dict, tuples_as_lists=True)
                text = json.dumps(plain, indent=4) + '\n'
            except TypeError as err:
                raise TypeError(f'cannot write the config as JSON: {err}') from None
        else:
            import yaml

            text = yaml.safe_dump(to_plain(self._cfg_dict, tuples_as_lists=True),
                                  sort_keys=False)
        if target is None:
            return text
        with open(target, 'w', encoding='utf-8') as f:
            f.write(text)
        return None

    def copy(self) -> Config:
        """A shallow copy: a new top-level dict whose nested values are shared."""
        return Config(self._cfg_dict.copy(), cfg_text=self._text, filename=self._filename)

    def __copy__(self) -> Config:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        return Config(copy.deepcopy(self._cfg_dict, memo), cfg_text=self._text,
                      filename=self._filename)

    def __getstate__(self) -> tuple[ConfigDict, str | None, str]:
        return self._cfg_dict, self._filename, self._text

    def __setstate__(self, state: tuple[ConfigDict, str | None, str]) -> None:
        for name, value in zip(('_cfg_dict', '_filename', '_text'), state):
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        if name in ('_cfg_dict', '_filename', '_text'):
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cfg_dict, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, name: Any) -> Any:
        return self._cfg_dict[name]

    def __setitem__(self, name: Any, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delitem__(self, name: Any) -> None:
        del self._cfg_dict[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __contains__(self, name: object) -> bool:
        return name in self._cfg_dict

    def __repr__(self) -> str:
        return f'Config (path: {self._filename}): {dict.__repr__(self._cfg_dict)}'
