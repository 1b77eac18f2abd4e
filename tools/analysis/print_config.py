"""Print a config file with its ``_base_`` files merged and the overrides applied.

Usage:
    python tools/analysis/print_config.py CONFIG [--cfg-options KEY=VALUE ...]
"""
from __future__ import annotations

import argparse
import sys

from actionkit.config import add_config_args, load_config
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    add_config_args(parser, example='model.backbone.depth=101 data.train.pipeline.2.scale="(1,2)"',
                    deprecated_options=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the config; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        cfg = load_config(args)
    except (OSError, ValueError, TypeError, KeyError, ImportError, SyntaxError) as err:
        return report_error(err, 'print_config')
    print(f'Config:\n{cfg.pretty_text}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
