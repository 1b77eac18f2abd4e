"""The config arguments every command line shares: ``--cfg-options`` and loading the file.

Example:
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument('config')
    >>> add_config_args(parser)
    >>> cfg = load_config(parser.parse_args(['my_config.py', '--cfg-options', 'a.b=1']))
"""
from __future__ import annotations

import argparse
import warnings

from .config import Config
from .options import DictAction

__all__ = ['add_config_args', 'load_config']


def add_config_args(parser: argparse.ArgumentParser, example: str = 'model.backbone.depth=18',
                    deprecated_options: bool = False) -> None:
    """Add ``--cfg-options KEY=VALUE ...`` (and MMAction2 0.x's ``--options`` spelling).

    Args:
        parser: the parser; it must also take a ``config`` argument for :func:`load_config`.
        example: the override shown in the help.
        deprecated_options: also accept ``--options``, the deprecated spelling some 0.x tools
            still take (it warns).
    """
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help=f'override config keys, e.g. {example}')
    if deprecated_options:
        parser.add_argument('--options', nargs='+', action=DictAction, default={},
                            help='deprecated spelling of --cfg-options (MMAction2 0.x)')


def load_config(args: argparse.Namespace) -> Config:
    """``Config.fromfile(args.config)`` with ``args.cfg_options`` merged in.

    ``args.options`` (the deprecated spelling) is merged first, with a ``DeprecationWarning``;
    ``--cfg-options`` wins where both name a key.
    """
    options = dict(getattr(args, 'options', None) or {})
    if options:
        warnings.warn('--options is deprecated; use --cfg-options', DeprecationWarning,
                      stacklevel=2)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict({**options, **(getattr(args, 'cfg_options', None) or {})})
    return cfg
