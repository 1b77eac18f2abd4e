"""Find the unreadable videos (or frame folders) of a dataset and write a list without them.

Usage:
    python tools/analysis/check_videos.py CONFIG [--split train|val|test]
        [--decoder pyav|decord|opencv|torchcodec] [--num-processes N] [--num-frames 5]
        [--output-file clean_list.txt] [--invalid-file invalid-video.txt]
        [--cfg-options k=v ...]

Every sample of ``data.<split>`` is opened with the decoder of its pipeline (or ``--decoder``)
and a few frames spread over the clip are decoded. The unreadable ones are printed with the
reason and written to ``--invalid-file`` (``path<TAB>reason``); ``--output-file`` gets the
annotation list without them (default: ``clean_<list name>`` in the current folder), to use as
the new ``ann_file``. Exit status: 0 when every sample is readable, 3 when some are not, 1 on
errors. Nothing is deleted.
"""
from __future__ import annotations

import argparse
import os
import sys

from actionkit.analysis.videos import DECODERS, check_dataset, write_bad_list, write_clean_list
from actionkit.config import add_config_args, load_config
from actionkit.utils.progress import ProgressBar
from actionkit.utils.cli_main import report_error, run_main

EXIT_BAD_SAMPLES = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Check that the videos of a dataset decode')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'],
                        help='which data section to check')
    parser.add_argument('--decoder', default=None, choices=sorted(DECODERS),
                        help="video decoder (default: the one in the split's pipeline)")
    parser.add_argument('--num-processes', type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help='worker processes')
    parser.add_argument('--num-frames', type=int, default=5,
                        help='frames decoded per video: first, last and evenly spaced')
    parser.add_argument('--output-file', default=None,
                        help='the annotation list without the bad samples '
                             '(default: clean_<list name>)')
    parser.add_argument('--invalid-file', default='invalid-video.txt',
                        help='where to list the bad samples with the reasons')
    add_config_args(parser, example='data.train.ann_file=list.txt', deprecated_options=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Check the split; return 0 (all readable), 3 (some are not) or 1 (error)."""
    args = parse_args(argv)
    try:
        cfg = load_config(args)
        bar: ProgressBar | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            bar = bar or ProgressBar(total, desc='checking ')
            bar.update()

        report = check_dataset(cfg, args.split, args.decoder, args.num_processes,
                               args.num_frames, progress)
        out_file = args.output_file or f'clean_{os.path.basename(report.ann_file)}'
        kept = write_clean_list(report, out_file)
        write_bad_list(report, args.invalid_file)
    except (OSError, ValueError, TypeError, KeyError, ImportError) as err:
        return report_error(err, 'check_videos')
    for bad in report.bad:
        print(f'unreadable: {bad.path}: {bad.reason}')
    print(f'Checked {report.total} samples of {report.ann_file} with {report.decoder}: '
          f'{len(report.bad)} unreadable (listed in {args.invalid_file}).')
    print(f'Clean list with {kept} samples: {out_file}')
    return EXIT_BAD_SAMPLES if report.bad else 0


if __name__ == '__main__':
    sys.exit(run_main(main))
