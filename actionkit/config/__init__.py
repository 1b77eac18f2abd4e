"""Config files with ``_base_`` inheritance, as in MMAction2 0.x: ``from actionkit.config import
Config, DictAction``.

``config.py`` loads files and holds :class:`Config`; ``configdict.py`` holds ``ConfigDict`` and
the merge rules, ``writer.py`` the Python source for ``pretty_text`` / ``dump`` and
``options.py`` the ``--cfg-options`` parsing (``DictAction``, ``parse_option_value``) and
``arguments.py`` the arguments command lines share (``add_config_args``, ``load_config``).
"""
from .arguments import add_config_args, load_config
from .config import Config
from .configdict import ConfigDict
from .options import DictAction, parse_option_value

__all__ = ['Config', 'ConfigDict', 'DictAction', 'add_config_args', 'load_config',
           'parse_option_value']
