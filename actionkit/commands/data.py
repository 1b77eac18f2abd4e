"""``actionkit data``: the synthetic set, ``tools/data/build_file_list.py``,
``tools/data/extract_frames.py`` and ``resize-videos``.

Each tool is a pair ``add_*_arguments(parser)`` / ``run_*(args) -> exit status`` (the shape
of the ``actionkit`` command table, :class:`actionkit.cli.Subcommand`) plus a ``*_main(argv)``
that the scripts in ``tools/data/`` call. The flags are MMAction2's (``build_file_list.py``,
``build_rawframes.py``), extended with the folder mode and options of actionkit's tools.

Example:
    $ python tools/data/build_file_list.py ucf101 data/ucf101/rawframes --level 2
    $ python tools/data/build_file_list.py data/mine/videos --format videos --split-ratio 0.8
    $ python tools/data/extract_frames.py data/ucf101/videos data/ucf101/rawframes \\
        --task both --flow-type farneback --new-short 256 --num-worker 8
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..cli import Subcommand, add_subparsers
from ..datasets.prep.splits import SPLIT_DATASETS
from ..utils.cli_main import report_error

__all__ = ['DATA_COMMANDS', 'add_arguments', 'run', 'add_build_file_list_arguments',
           'run_build_file_list', 'build_file_list_main',
           'add_extract_frames_arguments', 'run_extract_frames', 'extract_frames_main',
           'build_rawframes_main', 'finish_batch', 'default_workers']

logger = logging.getLogger(__name__)

# folder-mode options (None: not given) and dataset-mode options, to refuse the wrong mix
_FOLDER_ONLY = ('split_ratio', 'name', 'label_map', 'labels_from')
_DATASET_ONLY = ('num_split', 'subset', 'output_format', 'ann_dir')


def default_workers() -> int:
    """Worker processes of the batch tools by default: the CPU count, at most 8."""
    return min(8, os.cpu_count() or 1)


def add_build_file_list_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``build_file_list.py [DATASET] SRC_FOLDER``."""
    parser.usage = '%(prog)s [-h] [DATASET] SRC_FOLDER [options]'
    parser.add_argument('dataset', metavar='DATASET',
                        help=f'one of {", ".join(SPLIT_DATASETS)} to write the lists of its '
                        'official splits; leave it out to list a folder with a sub-folder per '
                        'class and split it at random (folder mode)')
    parser.add_argument('src_folder', metavar='SRC_FOLDER', nargs='?',
                        help='root folder of the videos or rawframe folders')
    parser.add_argument('--format', default=None, choices=['rawframes', 'videos'],
                        help='list frame folders or video files (default: rawframes for a '
                        'dataset, videos in folder mode)')
    parser.add_argument('--level', type=int, default=2, choices=[1, 2],
                        help='2: a sub-folder per class; 1: a flat folder')
    parser.add_argument('--rgb-prefix', default='img_', help='prefix of RGB frames')
    parser.add_argument('--flow-x-prefix', default='flow_x_', help='prefix of flow x frames')
    parser.add_argument('--flow-y-prefix', default='flow_y_', help='prefix of flow y frames')
    parser.add_argument('--shuffle', action='store_true', help='shuffle the lines')
    parser.add_argument('--seed', type=int, default=None, help='seed of the shuffle / split')
    parser.add_argument('--out-root-path', default=None,
                        help='dataset: the lists go to OUT_ROOT_PATH/DATASET (default data/); '
                        "folder mode: the output folder (default: SRC_FOLDER's parent)")
    parser.add_argument('--out-dir', default=None, help='the output folder itself')
    parser.add_argument('--ext', nargs='+', default=None, help='video extensions to look for')
    dataset = parser.add_argument_group('official splits (with DATASET)')
    dataset.add_argument('--num-split', type=int, default=None,
                         help='how many official splits to write (default: all)')
    dataset.add_argument('--subset', default=None, choices=['train', 'val', 'test'],
                         help='the subset to list, for single-split datasets (default train)')
    dataset.add_argument('--output-format', default=None, choices=['txt', 'json'],
                         help='plain lists (default) or MMAction2 JSON lists')
    dataset.add_argument('--ann-dir', default=None,
                         help='the official annotation files (default: '
                         'OUT_ROOT_PATH/DATASET/annotations)')
    folder = parser.add_argument_group('folder mode (without DATASET)')
    folder.add_argument('--split-ratio', type=float, default=None,
                        help='fraction of each class that goes to train (default 0.8; 1 = all)')
    folder.add_argument('--name', default=None, help='prefix of the list names, e.g. ucf101')
    folder.add_argument('--label-map', default=None,
                        help='file with one class name per line fixing the label order')
    folder.add_argument('--labels-from', default=None,
                        help='annotation list giving each video its label (for --level 1)')


def _refuse(args: argparse.Namespace, names: Sequence[str], mode: str) -> None:
    given = [f'--{n.replace("_", "-")}' for n in names if getattr(args, n) is not None]
    if given:
        raise ValueError(f'{", ".join(given)} only apply {mode}')


def _run_folder_mode(args: argparse.Namespace) -> int:
    from ..datasets.prep.batches import VIDEO_EXTS, build_file_list

    _refuse(args, _DATASET_ONLY, 'with a DATASET (official splits)')
    fmt = args.format or 'videos'
    out_dir = args.out_dir or args.out_root_path
    result = build_file_list(args.dataset, out_dir, format=fmt, level=args.level,
                             split_ratio=0.8 if args.split_ratio is None else args.split_ratio,
                             seed=args.seed or 0, shuffle=args.shuffle,
                             rgb_prefix=args.rgb_prefix, exts=args.ext or VIDEO_EXTS,
                             name=args.name or '', label_map=args.label_map,
                             labels_from=args.labels_from)
    classes = len(result['classes']) or 'unnamed'
    print(f'{classes} classes, {result["num_train"]} train and {result["num_val"]} val {fmt}')
    for key in ('train_list', 'val_list', 'label_map'):
        if result[key]:
            print(f'  {key:<11} {result[key]}')
    return 0


def run_build_file_list(args: argparse.Namespace) -> int:
    """Write the lists (official splits with a DATASET, a random split without)."""
    from ..datasets.prep.batches import VIDEO_EXTS
    from ..datasets.prep.file_lists import build_split_file_lists

    if args.src_folder is None:
        if args.dataset in SPLIT_DATASETS and not Path(args.dataset).is_dir():
            raise ValueError(f'{args.dataset}: SRC_FOLDER is missing (build_file_list.py '
                             f'{args.dataset} SRC_FOLDER)')
        return _run_folder_mode(args)
    if args.dataset not in SPLIT_DATASETS:
        raise ValueError(f'unknown DATASET {args.dataset!r}: official splits are read for '
                         f'{", ".join(SPLIT_DATASETS)} (give SRC_FOLDER alone for a folder '
                         'with a sub-folder per class)')
    _refuse(args, _FOLDER_ONLY, 'in folder mode (without a DATASET)')
    root = Path(args.out_root_path or 'data', args.dataset)
    result = build_split_file_lists(
        args.dataset, args.src_folder, ann_dir=args.ann_dir or root / 'annotations',
        out_dir=args.out_dir or root, format=args.format or 'rawframes', level=args.level,
        num_split=args.num_split, subset=args.subset or 'train', shuffle=args.shuffle,
        seed=args.seed, rgb_prefix=args.rgb_prefix, flow_x_prefix=args.flow_x_prefix,
        flow_y_prefix=args.flow_y_prefix, output_format=args.output_format or 'txt',
        exts=args.ext or VIDEO_EXTS)
    print(f'{args.dataset}: {len(result["classes"])} classes; label map {result["label_map"]}')
    for path, count in result['lists'].items():
        left_out, examples = result['missing'].get(path, (0, []))
        note = f' ({left_out} not found, e.g. {", ".join(examples)})' if left_out else ''
        print(f'  {count:>7} lines  {path}{note}')
    return 0


def add_extract_frames_arguments(parser: argparse.ArgumentParser, task: str = 'rgb',
                                 ext: list[str] | None = None) -> None:
    """The options of ``extract_frames.py SRC_DIR OUT_DIR`` (MMAction2's build_rawframes.py);
    ``task`` and ``ext`` are the defaults (``build_rawframes.py``: MMAction2's ``flow`` and
    ``avi``), and ``--help`` states them."""
    parser.add_argument('src_dir', help='source video folder (or frame folders, --input-frames)')
    parser.add_argument('out_dir', help='output rawframe folder')
    parser.add_argument('--task', default=task, choices=['rgb', 'flow', 'both'],
                        help='RGB frames, optical flow or both (default: %(default)s)')
    parser.add_argument('--flow-type', default='tvl1', choices=['tvl1', 'farneback', 'farn'],
                        help='tvl1 (default; needs opencv-contrib, checked before any video is '
                        'read) or farneback (core OpenCV)')
    parser.add_argument('--bound', type=float, default=20.0,
                        help='flow in pixels mapped to 0 and 255 (denseflow -b, default 20)')
    parser.add_argument('--level', type=int, default=2, choices=[1, 2],
                        help='2: a sub-folder per class; 1: a flat folder')
    parser.add_argument('--ext', nargs='+', default=ext,
                        help='video extensions to look for (default: '
                        + (' '.join(ext) if ext else 'all common ones') + ')')
    parser.add_argument('--mixed-ext', action='store_true',
                        help='videos of any common extension'
                        + ('' if ext else ' (what no --ext means here; MMAction2 flag)'))
    parser.add_argument('--num-worker', type=int, default=default_workers(),
                        help='worker processes (default: %(default)s, the CPU count; MMAction2: 8)')
    parser.add_argument('--new-short', type=int, default=0,
                        help='resize frames so the short side has this length (0: keep)')
    parser.add_argument('--new-width', type=int, default=0, help='resize to this width')
    parser.add_argument('--new-height', type=int, default=0, help='resize to this height')
    parser.add_argument('--out-format', default='jpg', choices=['jpg', 'png'])
    parser.add_argument('--rgb-prefix', default='img_', help='RGB frame file name prefix')
    parser.add_argument('--flow-x-prefix', default='flow_x_', help='flow x file name prefix')
    parser.add_argument('--flow-y-prefix', default='flow_y_', help='flow y file name prefix')
    parser.add_argument('--input-frames', action='store_true',
                        help='compute flow from the RGB frame folders in SRC_DIR')
    parser.add_argument('--resume', action='store_true',
                        help='MMAction2 flag: complete folders are always skipped here')
    parser.add_argument('--use-opencv', action='store_true',
                        help='MMAction2 flag: frames are always decoded with PyAV/OpenCV here')
    parser.add_argument('--report-file', default=None,
                        help='JSON summary of the run '
                        '(default: OUT_DIR/extract_frames_report.json)')


def run_extract_frames(args: argparse.Namespace) -> int:
    """Extract the frames; exit status 1 when a video failed."""
    from ..datasets.prep.batches import VIDEO_EXTS, extract_frames_batch

    report = extract_frames_batch(
        args.src_dir, args.out_dir, level=args.level,
        exts=VIDEO_EXTS if args.mixed_ext or not args.ext else args.ext,
        num_workers=args.num_worker, new_short=args.new_short, out_format=args.out_format,
        rgb_prefix=args.rgb_prefix, task=args.task, flow_type=args.flow_type, bound=args.bound,
        new_width=args.new_width, new_height=args.new_height, flow_x_prefix=args.flow_x_prefix,
        flow_y_prefix=args.flow_y_prefix, input_frames=args.input_frames)
    return finish_batch(getattr(args, 'batch_command', 'extract_frames'), args, report,
                        f' ({args.task})')


def finish_batch(command: str, args: argparse.Namespace, report: Any, detail: str = '') -> int:
    """Write a batch tool's JSON report (``--report-file``, default
    ``OUT_DIR/{command}_report.json``), print its summary and failures; exit status 1 when a
    video failed."""
    path = args.report_file or str(Path(args.out_dir, f'{command}_report.json'))
    report.write(path)
    total = len(report.done) + len(report.skipped) + len(report.failed)
    print(f'{command}{detail}: {total} videos: {len(report.done)} done, '
          f'{len(report.skipped)} skipped (already complete), {len(report.failed)} failed; '
          f'report: {path}')
    for video, reason in report.failed:
        print(f'  FAILED {video}: {reason}')
    if total == 0:
        level = f'--level {getattr(args, "level", "?")}'
        if getattr(args, 'input_frames', False):
            print(f'{command}: error: no RGB frame folders ({args.rgb_prefix}*) under '
                  f'{args.src_dir} ({level})', file=sys.stderr)
            return 1
        exts = 'any video extension' if getattr(args, 'mixed_ext', False) or not \
            getattr(args, 'ext', None) else f'extension(s) {", ".join(args.ext)}'
        print(f'{command}: error: no videos with {exts} under {args.src_dir} ({level}); set '
              '--ext (e.g. --ext mp4) or --mixed-ext', file=sys.stderr)
        return 1
    return 1 if report.failed else 0


def _main(prog: str, description: str, add: Callable[[argparse.ArgumentParser], None],
          run: Callable[[argparse.Namespace], int], argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add(parser)
    parser.add_argument('--log-level', default='INFO',
                        choices=['DEBUG', 'INFO', 'WARNING', 'ERROR'])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        return run(args)
    except (ValueError, ImportError, FileNotFoundError) as err:
        return report_error(err, prog)


def build_file_list_main(argv: Sequence[str] | None = None) -> int:
    """``tools/data/build_file_list.py``; returns the exit status."""
    return _main('build_file_list.py', 'Write annotation lists: the official splits of a '
                 'dataset, or a random split of a folder with a sub-folder per class.',
                 add_build_file_list_arguments, run_build_file_list, argv)


def extract_frames_main(argv: Sequence[str] | None = None) -> int:
    """``tools/data/extract_frames.py``; returns the exit status."""
    return _main('extract_frames.py', 'Decode videos into RGB and/or optical-flow frame '
                 'folders, in parallel and resumably.', add_extract_frames_arguments,
                 run_extract_frames, argv)


def _add_build_rawframes_arguments(parser: argparse.ArgumentParser) -> None:
    """extract_frames.py's options with the defaults of MMAction2's build_rawframes.py."""
    add_extract_frames_arguments(parser, task='flow', ext=['avi'])
    parser.set_defaults(batch_command='build_rawframes')
    parser.add_argument('--num-gpu', type=int, default=8,
                        help='MMAction2 flag (denseflow GPUs); flow runs on the CPU here')


def build_rawframes_main(argv: Sequence[str] | None = None) -> int:
    """``tools/data/build_rawframes.py``: MMAction2's name and defaults (``--task flow``,
    ``--ext avi``) for :func:`extract_frames_main`; returns the exit status."""
    return _main('build_rawframes.py', 'Decode videos into RGB and/or optical-flow frame '
                 'folders (MMAction2\'s build_rawframes.py command line).',
                 _add_build_rawframes_arguments, run_extract_frames, argv)

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
    from ..datasets.synthetic import (make_synthetic_dataset, synthetic_dataset_status,
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
    parser.add_argument('--num-worker', type=int, default=default_workers(),
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
    from ..datasets.prep.batches import VIDEO_EXTS, resize_videos_batch

    report = resize_videos_batch(args.src_dir, args.out_dir, level=args.level,
                                 exts=args.ext or VIDEO_EXTS, num_workers=args.num_worker,
                                 new_short=args.new_short, gop=16 if args.dense else args.gop,
                                 fps=args.fps, crf=args.crf, to_mp4=args.to_mp4)
    return finish_batch('resize_videos', args, report)


# ----------------------------------------------------------------------------- the tables


def _add_synthetic_audio_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('root', nargs='?', default='data/synthetic_audio', help='output folder')
    parser.add_argument('--num-classes', type=int, default=4, choices=[2, 3, 4])
    parser.add_argument('--train-per-class', type=int, default=40)
    parser.add_argument('--val-per-class', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)


def _run_synthetic_audio(args: argparse.Namespace) -> int:
    from ..datasets.synthetic_audio import make_synthetic_audio_dataset

    paths = make_synthetic_audio_dataset(args.root, num_classes=args.num_classes,
                                         train_per_class=args.train_per_class,
                                         val_per_class=args.val_per_class, seed=args.seed)
    for key, path in paths.items():
        print(f'  {key:<22} {path}')
    return 0


def _add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('ann_file', metavar='ANN_FILE', help='video list or rawframe list')
    parser.add_argument('data_prefix', metavar='DATA_PREFIX',
                        help="folder the list's paths are relative to")
    parser.add_argument('out_dir', metavar='OUT_DIR', help='output folder (shards + index.json)')
    size = parser.add_mutually_exclusive_group()
    size.add_argument('--shard-size', type=int, default=None, metavar='N',
                      help='samples a shard')
    size.add_argument('--max-bytes', default=None, metavar='B',
                      help='largest shard size, e.g. 268435456 or 256M (the default)')
    parser.add_argument('--rawframes', action='store_true',
                        help='ANN_FILE is a rawframe list: each frame folder is one sample')
    parser.add_argument('--with-offset', action='store_true',
                        help='the rawframe list has an offset column')
    parser.add_argument('--multi-class', action='store_true', help='several labels a line')


def _run_shard(args: argparse.Namespace) -> int:
    from ..datasets.prep.shards import parse_size, write_shards

    max_bytes = parse_size(args.max_bytes) if args.max_bytes is not None else None
    index = write_shards(args.ann_file, args.data_prefix, args.out_dir, rawframes=args.rawframes,
                         shard_size=args.shard_size, max_bytes=max_bytes,
                         with_offset=args.with_offset, multi_class=args.multi_class)
    print(f'{index["num_samples"]} samples in {len(index["shards"])} shards: '
          f'{os.path.join(args.out_dir, "index.json")}')
    return 0


def _audio_features() -> Any:
    return importlib.import_module('actionkit.datasets.prep.audio_features')


DATA_COMMANDS: dict[str, Subcommand] = {
    'synthetic': Subcommand('generate the synthetic action dataset',
                            _add_synthetic_arguments, _run_synthetic),
    'build-file-list': Subcommand('write annotation lists: official splits or a folder split',
                                  add_build_file_list_arguments, run_build_file_list),
    'extract-frames': Subcommand('decode videos into RGB and optical-flow frame folders',
                                 add_extract_frames_arguments, run_extract_frames),
    'resize-videos': Subcommand('re-encode videos (smaller, short GOP)',
                                _add_resize_videos_arguments, _run_resize_videos),
    'synthetic-audio': Subcommand(
        'generate the synthetic audio set (chirps; configs/synthetic/*audio*)',
        _add_synthetic_audio_arguments, _run_synthetic_audio),
    'shard': Subcommand('convert an annotation list to tar shards for streaming',
                        _add_shard_arguments, _run_shard),
    'build-audio-features': Subcommand(
        'audio (or video) files to log-mel .npy features (tools/data/build_audio_features.py)',
        lambda parser: _audio_features().add_arguments(parser),
        lambda args: _audio_features().run(args)),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``actionkit data <subcommand>`` parsers."""
    add_subparsers(parser, DATA_COMMANDS, 'data_command')


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``actionkit data`` subcommand; returns the exit status."""
    return DATA_COMMANDS[args.data_command].run(args)
