"""Config files: Python, JSON or YAML, with ``_base_`` inheritance, as in MMAction2 0.x.

A config file is a set of top-level variables. ``_base_`` (a path or a list of paths,
relative to the file) names files whose variables are loaded first and merged in order; the
child's dicts are then merged into them key by key. ``_delete_=True`` in a child dict replaces
the base dict instead of merging into it. Every file runs on its own: a file cannot read the
variables of its bases (as with mmcv 1.x, which MMAction2 0.x configs are written for).

Example:
    >>> cfg = Config(dict(model=dict(backbone=dict(depth=50))))
    >>> cfg.merge_from_dict({'model.backbone.depth': 101})
    >>> cfg.model.backbone.depth
    101
"""
from __future__ import annotations

import argparse
import builtins
import copy
import difflib
import importlib
import json
import keyword
import logging
import math
import os
import sys
import types
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = ['Config', 'ConfigDict', 'DictAction']

logger = logging.getLogger(__name__)

BASE_KEY = '_base_'
DELETE_KEY = '_delete_'
RESERVED_KEYS = ('filename', 'text', 'pretty_text')
_FORMATS = ('.py', '.json', '.yaml', '.yml')
_LINE_WIDTH = 100
_INDENT = '    '


def _close_matches(key: Any, candidates: Any) -> str:
    close = difflib.get_close_matches(str(key), [str(c) for c in candidates], n=3, cutoff=0.6)
    return f' Did you mean {", ".join(map(repr, close))}?' if close else ''


def _may_add(key: Any, siblings: Any, allow_new_keys: bool | None) -> bool:
    """Whether an override may add ``key`` beside ``siblings`` (see ``merge_from_dict``)."""
    if allow_new_keys is None:
        return not _close_matches(key, siblings)
    return allow_new_keys


def _convert(value: Any) -> Any:
    """Turn dicts into ConfigDicts, also inside lists and tuples."""
    if isinstance(value, ConfigDict):
        return value
    if isinstance(value, dict):
        return ConfigDict(value)
    if type(value) in (list, tuple):
        return type(value)(_convert(item) for item in value)
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
        super().__setitem__(key, _convert(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            hint = '' if name.startswith('__') else _close_matches(name, self)
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
            raise AttributeError(f'config has no key {name!r}.{_close_matches(name, self)}') \
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
        return _to_plain(self)


def _to_plain(value: Any, tuples_as_lists: bool = False) -> Any:
    if isinstance(value, range) and tuples_as_lists:
        return list(value)
    if isinstance(value, dict):
        return {k: _to_plain(v, tuples_as_lists) for k, v in value.items()}
    if type(value) in (list, tuple):
        items = [_to_plain(v, tuples_as_lists) for v in value]
        return items if tuples_as_lists or type(value) is list else tuple(items)
    return value


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
                     'not visible in it (as in MMAction2 0.x with mmcv 1.x).')
        err.add_note(note)
        raise
    dropped = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    return {name: value for name, value in namespace.items()
            if not (name.startswith('_') and name != BASE_KEY) and not isinstance(value, dropped)}


def _read_data(source: str, path: str, file_format: str) -> dict[str, Any]:
    """Parse a JSON or YAML config."""
    if file_format == '.json':
        try:
            data = json.loads(source)
        except json.JSONDecodeError as err:
            raise ValueError(f'invalid JSON in config file {path}, line {err.lineno}: '
                             f'{err.msg}') from None
    else:
        import yaml

        try:
            data = yaml.safe_load(source)
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
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    logger.debug('reading config file %s', path)
    with open(path, encoding='utf-8') as f:
        source = f.read()
    return _load_source(source, path, file_format, os.path.dirname(path), chain + (path,))


def _load_source(source: str, path: str, file_format: str, base_dir: str,
                 chain: tuple[str, ...]) -> _Loaded:
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
    merged = _merge(raw, base_cfg, prefix='', child_file=path, origins=origins)
    origins.update(dict.fromkeys(raw, path))
    texts.append(f'{path}\n{source}')
    return _Loaded(merged, '\n'.join(texts), origins)


def _strip_delete(value: Any) -> Any:
    """Drop ``_delete_`` flags that have nothing to act on."""
    if isinstance(value, dict):
        return {k: _strip_delete(v) for k, v in value.items() if k != DELETE_KEY}
    if type(value) in (list, tuple):
        return type(value)(_strip_delete(v) for v in value)
    return value


def _merge(child: Mapping, base: Mapping, prefix: str, child_file: str,
           origins: Mapping[str, str]) -> dict[str, Any]:
    """Merge ``child`` into a copy of ``base`` (mmcv's rules; a dict/non-dict clash raises)."""
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
                value = _merge(value, old, f'{dotted}.', child_file, origins)
                merged[key] = value
                continue
        elif isinstance(old, dict) and value is not None:
            _raise_clash(dotted, value, old, child_file, origins)
        merged[key] = _strip_delete(value)
    return merged


def _raise_clash(dotted: str, value: Any, old: Any, child_file: str,
                 origins: Mapping[str, str]) -> None:
    base_file = origins.get(dotted.split('.')[0], 'its base')
    fix = (f'add {DELETE_KEY}=True to the dict in {child_file} to replace the base value'
           if isinstance(value, dict) else
           f'a base dict can only be merged with a dict (add {DELETE_KEY}=True to that dict to '
           f'replace the base dict instead) or be replaced by None')
    raise TypeError(f'cannot merge config key {dotted!r}: it is a {type(value).__name__} in '
                    f'{child_file} but a {type(old).__name__} in {base_file}; {fix}')


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
# writing
# ---------------------------------------------------------------------------------------------
class _Writer:
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
        return _Writer(strict=False, taken=set(map(str, self._cfg_dict))).document(self._cfg_dict)

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
                    value = _strip_delete(value)
                node[index] = _convert(value)
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
                                     and _may_add(part, node, allow_new_keys)):
            raise KeyError(f'cannot override {full!r}{source}: {where} has no key '
                           f'{part!r}.{_close_matches(part, node)} Keys there: '
                           f'{sorted(map(str, node))}. Only a last key part that is not close '
                           'to an existing one is added.')
        return part

    def _merge_override(self, value: Mapping, old: Mapping, full_key: str,
                        allow_new_keys: bool | None) -> dict[str, Any]:
        value = dict(value)
        if value.pop(DELETE_KEY, False):
            return _strip_delete(value)
        merged = dict(old)
        for key, item in value.items():
            if key not in old and not _may_add(key, old, allow_new_keys):
                raise KeyError(f'cannot override {full_key}.{key!r}: {full_key!r} has no key '
                               f'{key!r}.{_close_matches(key, old)} Only keys that are not '
                               'close to an existing one are added.')
            if isinstance(item, dict) and isinstance(old.get(key), dict):
                item = self._merge_override(item, old[key], f'{full_key}.{key}', allow_new_keys)
            merged[key] = _strip_delete(item)
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
            text = _Writer(strict=True, taken=set(map(str, self._cfg_dict))).document(
                self._cfg_dict)
        elif file_format == '.json':
            try:
                plain = _to_plain(self._cfg_dict, tuples_as_lists=True)
                text = json.dumps(plain, indent=4) + '\n'
            except TypeError as err:
                raise TypeError(f'cannot write the config as JSON: {err}') from None
        else:
            import yaml

            text = yaml.safe_dump(_to_plain(self._cfg_dict, tuples_as_lists=True),
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


# ---------------------------------------------------------------------------------------------
# command-line overrides
# ---------------------------------------------------------------------------------------------
_CLOSING = {'(': ')', '[': ']'}


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
    """
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
    values = [parse_option_value(part) for part in parts]
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
