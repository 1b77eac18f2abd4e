"""Encode rawframe folders (img_00001.jpg, ...) into videos, in parallel.

Usage:
    python tools/data/build_videos.py SRC_DIR OUT_DIR [--fps 30] [--level 1|2]
        [--num-worker N] [--in-format jpg|png] [--start-idx 0] [--filename-tmpl img_%05d]
        [--vcodec mpeg4] [--ext mp4|avi] [--resume]

MMAction2's command line (``--num-gpu`` is accepted and ignored). Encoding uses PyAV, not the
ffmpeg executable; ``--vcodec libx264`` gives H.264. Prints a summary and the folders that
failed; exit status 1 when one did. The logic is in actionkit.datasets.prep.build_videos.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from actionkit.datasets.prep.build_videos import IN_FORMATS, VIDEO_EXTS, build_videos_batch
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='synthesize videos from rawframe folders')
    parser.add_argument('src_dir', type=str, help='source rawframe directory')
    parser.add_argument('out_dir', type=str, help='output video directory')
    parser.add_argument('--fps', type=int, default=30, help='fps of videos to be synthesized')
    parser.add_argument('--level', type=int, choices=[1, 2], default=2,
                        help='directory level of data (2: a sub-folder per class)')
    parser.add_argument('--num-worker', type=int, default=min(8, os.cpu_count() or 1),
                        help='number of workers to build videos (default: min(8, CPUs))')
    parser.add_argument('--in-format', type=str, default='jpg', choices=list(IN_FORMATS),
                        help='input format')
    parser.add_argument('--start-idx', type=int, default=0,
                        help='starting index of rawframes (the first of idx..idx+4 found)')
    parser.add_argument('--filename-tmpl', type=str, default='img_%05d',
                        help='filename template of rawframes')
    parser.add_argument('--vcodec', type=str, default='mpeg4', help='coding method of videos')
    parser.add_argument('--ext', type=str, default='mp4', choices=list(VIDEO_EXTS),
                        help='video file extensions')
    parser.add_argument('--num-gpu', type=int, default=8, help='MMAction2 flag; not used')
    parser.add_argument('--resume', action='store_true', default=False,
                        help='skip the videos that already exist instead of overwriting them')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the videos; return the exit status (1 when a folder failed or on error)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        report = build_videos_batch(
            args.src_dir, args.out_dir, fps=args.fps, level=args.level,
            num_workers=args.num_worker, in_format=args.in_format, start_idx=args.start_idx,
            filename_tmpl=args.filename_tmpl, vcodec=args.vcodec, ext=args.ext,
            resume=args.resume)
    except (OSError, ValueError) as err:
        return report_error(err, 'build_videos')
    total = len(report.done) + len(report.skipped) + len(report.failed)
    print(f'build_videos: {total} frame folders: {len(report.done)} done, '
          f'{len(report.skipped)} skipped (video exists), {len(report.failed)} failed')
    for folder, reason in report.failed:
        print(f'  FAILED {folder}: {reason}')
    if total == 0:
        print(f'build_videos: error: no frame folders under {args.src_dir} at --level '
              f'{args.level}', file=sys.stderr)
        return 1
    return 1 if report.failed else 0


if __name__ == '__main__':
    sys.exit(run_main(main))
