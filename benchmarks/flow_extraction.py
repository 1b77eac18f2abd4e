"""Frames per second of ``tools/data/extract_frames.py`` per task and optical-flow algorithm.

For each case, one video is extracted into a fresh folder with
:func:`actionkit.datasets.prep.flow.extract_rawframes` (decode, resize, flow, JPEG encode, write),
single process and one OpenCV thread, as each worker of the tool runs. ``frames/s`` counts
decoded video frames per second of wall-clock time; ``CPU frames/s`` per second of this
process's CPU time, which other jobs on a shared machine do not inflate. Medians over
``--repeats`` runs.

Cases: ``rgb`` (frames only), ``flow`` with ``farneback`` and, when OpenCV's contrib modules
are installed, ``tvl1``, at the video's size and at ``--new-short`` (default 128). The video is
``demo.mp4`` from the shared test data (340x256, 280 frames) when present, else a synthetic
340x256 clip of a moving square.

Run ``python benchmarks/flow_extraction.py`` (about 1.5 minutes on 2 shared cores without
TV-L1, whose 280 frames take minutes; ``--video`` a shorter clip then); ``--help`` for options.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from actionkit.datasets.prep.flow import check_flow_type, extract_rawframes
from actionkit.datasets.prep.video_io import video_info, write_video

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'demo' / 'demo.mp4'


def synthetic_video(path: Path, frames: int = 120) -> Path:
    """A 340x256 H.264 clip of a textured square moving right."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, size=(64, 64, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(texture, (5, 5), 0)
    clip = np.full((frames, 256, 340, 3), 60, dtype=np.uint8)
    for t in range(frames):
        left = (2 * t) % (340 - 64)
        clip[t, 96:160, left:left + 64] = texture
    write_video(path, clip, fps=30, gop=12)
    return path


def time_case(video: Path, work: Path, repeats: int, **options: object) -> tuple[float, float, int]:
    """Median wall and CPU seconds of one extraction, and the number of frames."""
    walls, cpus, frames = [], [], 0
    for run in range(repeats):
        target = work / f'run_{time.monotonic_ns()}_{run}'
        wall, cpu = time.perf_counter(), time.process_time()
        counts = extract_rawframes(video, target, **options)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        frames = max(counts['rgb'], counts['flow'] + 1)
    return statistics.median(walls), statistics.median(cpus), frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--video', default=None, help='video to extract (default: demo.mp4)')
    parser.add_argument('--repeats', type=int, default=3, help='runs per case (median)')
    parser.add_argument('--new-short', type=int, default=128, help='the resized case')
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = Path(args.video) if args.video else (
            DEMO if DEMO.is_file() else synthetic_video(work / 'square.mp4'))
        info = video_info(video)
        print(f'video: {video.name} ({info["width"]}x{info["height"]}); one process, '
              f'one OpenCV thread; median of {args.repeats}')
        cases = [('rgb', None), ('flow', 'farneback'), ('both', 'farneback')]
        try:
            cases.append(('flow', check_flow_type('tvl1')))
        except ImportError:
            print('(no TV-L1: OpenCV without its contrib modules)')
        print(f'{"task":<6} {"flow type":<10} {"size":<10} {"frames/s":>9} {"CPU frames/s":>13}')
        for new_short in (0, args.new_short):
            size = 'original' if new_short == 0 else f'short {new_short}'
            for task, flow_type in cases:
                wall, cpu, frames = time_case(video, work, args.repeats, task=task,
                                              flow_type=flow_type or 'farneback',
                                              new_short=new_short)
                print(f'{task:<6} {flow_type or "-":<10} {size:<10} {frames / wall:>9.1f} '
                      f'{frames / cpu:>13.1f}')


if __name__ == '__main__':
    main()
