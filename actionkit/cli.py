"""The ``actionkit`` command: ``actionkit <command> [<subcommand>] [options]``.

Commands are entries of :data:`COMMANDS`, each a :class:`Subcommand`: a help line, a function
that adds its arguments to an ``argparse`` parser, and a function that runs it and returns the
exit status. Adding a command takes those two functions and one line in the table; the run
function should be a thin call into the package (``actionkit.apis`` …), importing it lazily so
that ``actionkit --help`` stays fast. A command with subcommands (``data``) uses a nested table.

Example:
    $ actionkit data synthetic --out data/synthetic --num-train 2500 --num-val 500
    $ python -m actionkit.cli data extract-frames data/videos data/rawframes --num-worker 2
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .commands import data as data_commands

__all__ = ['Subcommand', 'COMMANDS', 'DATA_COMMANDS', 'build_parser', 'main']

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subcommand:
    """One command of the CLI: ``add_arguments(parser)`` then ``run(args) -> exit status``."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ----------------------------------------------------------------------------- data synthetic


def _add_synthetic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--out', default='data/synthetic', help='output folder')
    parser.add_argument('--num-train', type=int, default=2500, help='training clips')
    parser.add_argument('--num-val', type=int, default=500, help='validation clips')
    parser.add_argument('--size', type=int, default=64, help='frame height and width (even)')
    parser.add_argument('--frames', type=int, default=32, help='frames per clip')
    parser.add_argument('--difficulty', default='default', choices=['easy', 'default', 'hard'],
                        help='preset of the knobs below')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--layouts', nargs='+', default=['videos', 'rawframes'],
                        choices=['videos', 'rawframes'], help='which layouts to write')
    parser.add_argument('--workers', type=int, default=None,
                        help='processes (default: the CPU count; 1 = this process)')
    knobs = parser.add_argument_group('knobs (override the difficulty preset)')
    knobs.add_argument('--noise-std', type=float, help='pixel noise std (0-255)')
    knobs.add_argument('--texture-prob', type=float,
                       help='probability of a textured (vs gradient) background')
    knobs.add_argument('--object-size', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                       help='object half-size range, fraction of the frame')
    knobs.add_argument('--speed', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                       help='motion range, fraction of the frame travelled per clip')
    knobs.add_argument('--contrast', type=float, nargs=2, metavar=('LOW', 'HIGH'),
                       help='object/background colour distance range (0-255)')
    parser.add_argument('--fps', type=int, default=30, help='frame rate of the videos')
    parser.add_argument('--gop', type=int, default=8, help='key frame interval of the videos')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a dataset made with other parameters')


def _run_synthetic(args: argparse.Namespace) -> int:
    from .datasets.synthetic import (make_synthetic_dataset, synthetic_dataset_status,
                                     synthetic_params)

    knobs = dict(noise_std=args.noise_std, texture_prob=args.texture_prob,
                 object_size=tuple(args.object_size) if args.object_size else None,
                 speed=tuple(args.speed) if args.speed else None,
                 contrast=tuple(args.contrast) if args.contrast else None)
    common = dict(num_train=args.num_train, num_val=args.num_val, num_frames=args.frames,
                  size=args.size, difficulty=args.difficulty, seed=args.seed,
                  layouts=args.layouts, fps=args.fps, gop=args.gop, **knobs)
    params = synthetic_params(**common)
    status = synthetic_dataset_status(args.out, params)
    if status == 'complete':
        print(f'{args.out} already holds the synthetic dataset with these parameters; '
              f'nothing to do')
        return 0
    start = time.perf_counter()
    paths = make_synthetic_dataset(args.out, workers=args.workers, overwrite=args.overwrite,
                                   **common)
    elapsed = time.perf_counter() - start
    print(f'synthetic dataset: {args.num_train} train + {args.num_val} val clips of '
          f'{args.frames}x{args.size}x{args.size} ({args.difficulty}) in {elapsed:.1f} s')
    for key, path in paths.items():
        print(f'  {key:<22} {path}')
    return 0


# ----------------------------------------------------------------------------- data tools


def _add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('src_dir', help='source video folder')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--level', type=int, default=2, choices=[1, 2],
                        help='2: a sub-folder per class; 1: a flat folder')
    parser.add_argument('--ext', nargs='+', default=None, help='video extensions to look for')
    parser.add_argument('--num-worker', type=int, default=data_commands.default_workers(),
                        help='worker processes')
    parser.add_argument('--report-file', default=None,
                        help='JSON summary of the run (default: <out_dir>/<command>_report.json)')


def _add_resize_videos_arguments(parser: argparse.ArgumentParser) -> None:
    _add_batch_arguments(parser)
    parser.add_argument('--scale', '--new-short', dest='new_short', type=int, default=256,
                        help='short side of the output in pixels (0: keep the size)')
    parser.add_argument('--gop', type=int, default=16,
                        help='key frame interval; short GOPs make sparse sampling cheap')
    parser.add_argument('--dense', action='store_true',
                        help='MMAction2 flag for a GOP of 16 (the default here)')
    parser.add_argument('--fps', type=float, default=None, help='output frame rate')
    parser.add_argument('--crf', type=int, default=23, help='x264 quality (lower is better)')
    parser.add_argument('--to-mp4', action='store_true', help='name every output .mp4')


def _run_resize_videos(args: argparse.Namespace) -> int:
    from .datasets.prep.batches import VIDEO_EXTS, resize_videos_batch

    report = resize_videos_batch(args.src_dir, args.out_dir, level=args.level,
                                 exts=args.ext or VIDEO_EXTS, num_workers=args.num_worker,
                                 new_short=args.new_short, gop=16 if args.dense else args.gop,
                                 fps=args.fps, crf=args.crf, to_mp4=args.to_mp4)
    return data_commands.finish_batch('resize_videos', args, report)


# ----------------------------------------------------------------------------- the tables


DATA_COMMANDS: dict[str, Subcommand] = {
    'synthetic': Subcommand('generate the synthetic action dataset',
                            _add_synthetic_arguments, _run_synthetic),
    'build-file-list': Subcommand('write annotation lists: official splits or a folder split',
                                  data_commands.add_build_file_list_arguments,
                                  data_commands.run_build_file_list),
    'extract-frames': Subcommand('decode videos into RGB and optical-flow frame folders',
                                 data_commands.add_extract_frames_arguments,
                                 data_commands.run_extract_frames),
    'resize-videos': Subcommand('re-encode videos (smaller, short GOP)',
                                _add_resize_videos_arguments, _run_resize_videos),
}


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    _add_subparsers(parser, DATA_COMMANDS, 'data_command')


def _run_data(args: argparse.Namespace) -> int:
    return DATA_COMMANDS[args.data_command].run(args)


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
    'data': Subcommand('prepare data: synthetic set, file lists, frames, resized videos',
                       _add_data_arguments, _run_data),
}


def _add_subparsers(parser: argparse.ArgumentParser, table: dict[str, Subcommand],
                    dest: str) -> None:
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
    _add_subparsers(parser, COMMANDS, 'command')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``actionkit`` command line; returns the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        return COMMANDS[args.command].run(args)
    except (ValueError, ImportError, FileExistsError, FileNotFoundError) as err:
        logger.debug('actionkit %s failed', args.command, exc_info=True)
        print(f'actionkit {args.command}: error: {err}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
