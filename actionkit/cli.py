"""The ``actionkit`` command: ``actionkit <command> [<subcommand>] [options]``.

Commands are entries of :data:`COMMANDS`, each a :class:`Subcommand`: a help line, a function
that adds its arguments to an ``argparse`` parser, and a function that runs it and returns the
exit status. Adding a command takes those two functions and one line in the table; the run
function should be a thin call into the package (``actionkit.apis`` …), importing it lazily so
that ``actionkit --help`` stays fast. A command with subcommands (``data``, in
:mod:`actionkit.commands.data`) uses a nested table.

Example:
    $ actionkit data synthetic --out data/synthetic --num-train 2500 --num-val 500
    $ python -m actionkit.cli data extract-frames data/videos data/rawframes --num-worker 2
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .utils.cli_main import run_main

__all__ = ['Subcommand', 'COMMANDS', 'add_subparsers', 'build_parser', 'main']

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subcommand:
    """One command of the CLI: ``add_arguments(parser)`` then ``run(args) -> exit status``."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _lazy(module: str, help: str) -> Subcommand:
    """A command whose ``add_arguments``/``run`` live in ``actionkit.commands.<module>``."""
    def load() -> Any:
        return importlib.import_module(f'actionkit.commands.{module}')

    return Subcommand(help, lambda parser: load().add_arguments(parser),
                      lambda args: load().run(args))


COMMANDS: dict[str, Subcommand] = {
    'train': _lazy('train', 'train a recognizer or localizer from a config file'),
    'test': _lazy('test', 'test (and evaluate) a checkpoint on a config\'s test set'),
    'demo': _lazy('demo', 'the synthetic-data demo: generate, train, test, infer'),
    'export': _lazy('export', 'export a model to ONNX (tools/deployment/pytorch2onnx.py)'),
    'extract-features': _lazy('extract_features', 'clip features of a video list for '
                              'localization (tools/misc/clip_feature_extraction.py)'),
    'data': _lazy('data', 'prepare data: synthetic set, file lists, frames, resized videos'),
}


def add_subparsers(parser: argparse.ArgumentParser, table: dict[str, Subcommand],
                    dest: str) -> None:
    """One sub-parser per entry of ``table``; the chosen name goes to ``args.<dest>``."""
    subparsers = parser.add_subparsers(dest=dest, metavar='<command>', required=True)
    for name, command in table.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``actionkit`` command."""
    parser = argparse.ArgumentParser(
        prog='actionkit', description='actionkit: video understanding with MMAction2 0.x '
        'configs and checkpoints')
    parser.add_argument('--log-level', default='INFO',
                        choices=['DEBUG', 'INFO', 'WARNING', 'ERROR'])
    add_subparsers(parser, COMMANDS, 'command')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``actionkit`` command line; returns the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    An error is one line on stderr and status 1; ``--debug`` or ``ACTIONKIT_DEBUG=1`` shows the
    traceback (see :func:`actionkit.utils.cli_main.run_main`).
    """
    return run_main(_run, None if argv is None else list(argv), prog='actionkit')


def _run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    return COMMANDS[args.command].run(args)


if __name__ == '__main__':
    sys.exit(main())
