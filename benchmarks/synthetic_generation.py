"""How fast the synthetic dataset is generated, per stage and end to end.

Prints two tables: the time per clip of each stage (render in numpy, H.264 encode with PyAV,
JPEG rawframes with OpenCV) in one process, and end-to-end ``make_synthetic_dataset`` runs for
each layout and worker count, with the disk space used.

    python benchmarks/synthetic_generation.py                         # ~1-2 min on 2 cores
    python benchmarks/synthetic_generation.py --clips 4000 --workers 2  # the demo's size
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2

from actionkit.datasets.synthetic import make_synthetic_dataset, render_synthetic_clip
from actionkit.datasets.prep.video_io import write_video


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file()) / 2 ** 20


def stage_times(frames: int, size: int, repeats: int, work: Path) -> list[tuple[str, float]]:
    """Milliseconds per clip of each generation stage, in this process."""
    clips = [render_synthetic_clip(i % 10, i, frames, size) for i in range(repeats)]
    start = time.perf_counter()
    for i in range(repeats):
        render_synthetic_clip(i % 10, i, frames, size)
    render = time.perf_counter() - start
    start = time.perf_counter()
    for i, clip in enumerate(clips):
        write_video(work / f'{i}.mp4', clip, gop=8, crf=20, preset='ultrafast')
    encode = time.perf_counter() - start
    start = time.perf_counter()
    for i, clip in enumerate(clips):
        folder = work / f'frames{i}'
        folder.mkdir()
        for j, frame in enumerate(clip, start=1):
            cv2.imwrite(str(folder / f'img_{j:05d}.jpg'), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
    jpeg = time.perf_counter() - start
    return [(name, 1000 * seconds / repeats) for name, seconds in
            (('render (numpy)', render), ('encode H.264 (PyAV)', encode),
             ('write JPEG rawframes', jpeg))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clips', type=int, default=1000, help='clips per end-to-end run')
    parser.add_argument('--frames', type=int, default=32)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--workers', type=int, nargs='+', default=[os.cpu_count() or 1])
    parser.add_argument('--layouts', nargs='+', default=['videos+rawframes', 'videos'],
                        help="layout sets to time, e.g. 'videos' 'videos+rawframes'")
    parser.add_argument('--stage-repeats', type=int, default=50)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix='actionkit-bench-'))
    try:
        print(f'\nper clip, {args.frames} frames at {args.size}x{args.size}, one process')
        print(f'| {"stage":<22} | {"ms / clip":>9} |\n|{"-" * 24}|{"-" * 11}|')
        for name, ms in stage_times(args.frames, args.size, args.stage_repeats, work):
            print(f'| {name:<22} | {ms:>9.1f} |')
        print(f'\nmake_synthetic_dataset, {args.clips} clips of {args.frames}x{args.size}x'
              f'{args.size} (default difficulty)')
        print(f'| {"layouts":<17} | {"workers":>7} | {"seconds":>7} | {"clips/s":>7} | '
              f'{"disk MB":>7} |\n|{"-" * 19}|{"-" * 9}|{"-" * 9}|{"-" * 9}|{"-" * 9}|')
        for layouts in args.layouts:
            for workers in args.workers:
                out = work / f'{layouts}-{workers}'
                num_val = args.clips // 5
                start = time.perf_counter()
                make_synthetic_dataset(out, num_train=args.clips - num_val, num_val=num_val,
                                       num_frames=args.frames, size=args.size,
                                       layouts=layouts.split('+'), workers=workers)
                seconds = time.perf_counter() - start
                print(f'| {layouts:<17} | {workers:>7} | {seconds:>7.1f} | '
                      f'{args.clips / seconds:>7.1f} | {_disk_mb(out):>7.1f} |')
                shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
