"""Measure the memory the default video pipeline needs for a few frames of a 4K clip.

Run in a fresh process, so that an earlier peak of the test process cannot hide ours. Linux
only: the peak is the kernel's high-water mark of this process's resident memory (``VmHWM``
in ``/proc/self/status``; ``ru_maxrss`` would also count the parent's memory before ``exec``),
reset after the warm-up through ``/proc/self/clear_refs``::

    python faults_4k_probe.py CLIP NUM_CLIPS

Runs the pipeline once on a tiny clip (so that FFmpeg, OpenCV and the allocators are warmed
up), then on ``CLIP`` (written beforehand by :func:`faults_media.write_4k_clip`, in another
process: encoding has its own peak), and prints one JSON line:
``{"rss_growth_bytes": ..., "frame_shape": [...], "original_shape": [...], "frames": ...}``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from faults_media import write_clip

from actionkit.datasets.pipelines.compose import Compose


def _pipeline(num_clips: int) -> Compose:
    return Compose([dict(type='PyAVInit'),
                    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_clips,
                         test_mode=True),
                    dict(type='PyAVDecode'),
                    dict(type='Resize', scale=(-1, 128))])


def _status_bytes(field: str) -> int:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(f'{field}:'):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    raise KeyError(f'no {field} in /proc/self/status')


def _reset_peak() -> int:
    """Reset the high-water mark to the current resident size (when allowed); return it."""
    try:
        Path('/proc/self/clear_refs').write_text('5')
    except OSError:
        return _status_bytes('VmHWM')
    return _status_bytes('VmRSS')


def main() -> None:
    clip, num_clips = Path(sys.argv[1]), int(sys.argv[2])
    small = write_clip(clip.with_name('warm-up.mp4'), num_frames=8)  # small: no new peak
    _pipeline(num_clips)(dict(filename=str(small), label=0, start_index=0, modality='RGB'))
    before = _reset_peak()
    results = _pipeline(num_clips)(dict(filename=str(clip), label=0, start_index=0,
                                        modality='RGB'))
    after = _status_bytes('VmHWM')
    print(json.dumps(dict(rss_growth_bytes=after - before,
                          frame_shape=list(results['imgs'][0].shape),
                          original_shape=list(results['original_shape']),
                          frames=len(results['imgs']))))


if __name__ == '__main__':
    main()
