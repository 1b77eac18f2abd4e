"""Clips per second of the validation data pipelines, per video decoding backend.

Measures, single process, for each video x pipeline x backend:

* ``pipeline``: the whole validation pipeline (open, sample, decode, Resize (-1, 256),
  CenterCrop 224, Normalize, FormatShape, Collect, ToTensor);
* ``decode``: opening the video and decoding the same frames, nothing else -- the limit the
  pipeline can reach with that backend.

``clips/s`` is per second of wall-clock time; ``CPU clips/s`` per second of this process's CPU
time (all its threads), which other jobs on a shared machine do not inflate. The ratios
(``% of limit`` = pipeline / decode-only rate, ``x decord``, ``x MMAction2 best``) are of CPU
time. ``ceiling`` is the decode-only rate over MMAction2's best pipeline: the ratio this backend
would reach if every transform after decoding were free. Medians over ``--repeats`` clips, the
cells interleaved.

Pipelines: TSN 1x1x8 and 1x1x3 (test mode: 8 or 3 segments x 1 frame, NCHW) and I3D 32x2x1
(NCTHW). Videos: ``demo.mp4`` from the shared test data (when present) and two synthetic
340x256, 300-frame H.264 videos with a keyframe every 12 and every 250 frames.

Run ``python benchmarks/data_pipeline.py`` (about 2 minutes on 2 cores); ``--help`` for options.
``--backends pyav,decord,opencv,torchcodec`` adds torchcodec (decoding on the CPU).
With ``--mmaction-python /path/to/venv/bin/python`` the same pipelines are also timed with
MMAction2 0.x installed in that interpreter.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'demo' / 'demo.mp4'
MMACTION_SOURCE = REPO / '.cache' / 'mmaction2-0.24.1'
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
SAMPLERS = {
    'tsn-1x1x8': (dict(clip_len=1, frame_interval=1, num_clips=8), 'NCHW'),
    'tsn-1x1x3': (dict(clip_len=1, frame_interval=1, num_clips=3), 'NCHW'),
    'i3d-32x2x1': (dict(clip_len=32, frame_interval=2, num_clips=1), 'NCTHW'),
}
BACKENDS = {'pyav': ('PyAVInit', 'PyAVDecode'), 'decord': ('DecordInit', 'DecordDecode'),
            'opencv': ('OpenCVInit', 'OpenCVDecode'),
            'torchcodec': ('TorchCodecInit', 'TorchCodecDecode')}  # on the CPU


def pipeline_cfg(sampler: str, backend: str, decode_only: bool = False) -> list[dict]:
    """The validation pipeline config, MMAction2 0.x style."""
    init, decode = BACKENDS[backend]
    sample_args, input_format = SAMPLERS[sampler]
    steps = [dict(type=init), dict(type='SampleFrames', test_mode=True, **sample_args),
             dict(type=decode)]
    if decode_only:
        return steps
    return steps + [
        dict(type='Resize', scale=(-1, 256)),
        dict(type='CenterCrop', crop_size=224),
        dict(type='Normalize', **NORM),
        dict(type='FormatShape', input_format=input_format),
        dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
        dict(type='ToTensor', keys=['imgs']),
    ]


def make_videos(folder: Path) -> dict[str, str]:
    """The benchmark videos: demo.mp4 (if present) and the synthetic GOP-12 / GOP-250 ones."""
    from actionkit.datasets.pipelines.decoders.synthetic import write_video

    videos = {}
    if DEMO.exists():
        videos['demo.mp4'] = str(DEMO)
    else:
        print(f'note: {DEMO} not found; timing synthetic videos only', file=sys.stderr)
    for gop in (12, 250):
        path = folder / f'synthetic_340x256_300f_gop{gop}.mp4'
        if not path.exists():
            write_video(path, num_frames=300, width=340, height=256, fps=30, gop=gop)
        videos[f'gop{gop}.mp4'] = str(path)
    return videos


Samples = dict  # cell key -> list of (wall, CPU) seconds per clip


def build_cells(videos: dict[str, str], samplers: list[str], backends: list[str]) -> dict:
    """A warmed-up pipeline per (video, sampler, backend, kind)."""
    from actionkit.datasets.pipelines import Compose

    cells = {}
    for video in videos:
        for sampler in samplers:
            for backend in backends:
                for kind in ('pipeline', 'decode'):
                    cfg = pipeline_cfg(sampler, backend, decode_only=kind == 'decode')
                    cells[(video, sampler, backend, kind)] = Compose(cfg)
    for key, pipeline in cells.items():  # warm-up: imports, codec tables, page cache
        pipeline(dict(filename=videos[key[0]], label=0, start_index=0, modality='RGB'))
    return cells


def time_cells(cells: dict, videos: dict[str, str], repeats: int, samples: Samples) -> None:
    """Add ``repeats`` (wall, CPU) samples per clip to ``samples`` for every cell.

    Cells are interleaved so that load changes on a shared machine hit all of them alike.
    CPU time is this process's (all threads), which other jobs on the machine do not inflate.
    """
    for _ in range(repeats):
        for key, pipeline in cells.items():
            wall, cpu = time.perf_counter(), time.process_time()
            pipeline(dict(filename=videos[key[0]], label=0, start_index=0, modality='RGB'))
            samples.setdefault(key, []).append((time.perf_counter() - wall,
                                                time.process_time() - cpu))


def medians(samples: Samples) -> dict:
    """(median wall, median CPU) seconds per clip of every cell."""
    return {key: (statistics.median(t[0] for t in values),
                  statistics.median(t[1] for t in values)) for key, values in samples.items()}


def time_full_decodes(videos: dict[str, str], backends: list[str], repeats: int
                      ) -> dict[tuple[str, str], float]:
    """Median CPU seconds per frame of decoding every frame of each video to RGB, per backend.

    The cost of one frame of decoding, independent of how a backend plans sparse reads: what
    makes a decode-only limit high or low once the frames to decode are fixed.
    """
    from actionkit.datasets.pipelines.decoders import open_video

    result = {}
    for video, path in videos.items():
        for backend in backends:
            samples = []
            for _ in range(max(3, repeats // 5)):
                cpu = time.process_time()
                reader = open_video(path, backend)
                try:
                    count = len(reader)
                    reader.get_frames(range(count))
                finally:
                    reader.close()
                samples.append((time.process_time() - cpu) / count)
            result[(video, backend)] = statistics.median(samples)
    return result


# numpy aliases and a torchvision stand-in, sent ahead of the MMAction2 script
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

_MMACTION_SCRIPT = MMACTION_COMPAT + r'''
import json, statistics, sys, time, types
import numpy as np
from mmaction.datasets.pipelines import Compose
spec = json.loads(sys.argv[1])
out = {}
pipelines = {}
for key, (video, cfg) in spec['cells'].items():
    for step in cfg:  # JSON made tuples lists; MMAction2's Resize wants a tuple
        if isinstance(step.get('scale'), list):
            step['scale'] = tuple(step['scale'])
    pipelines[key] = (video, Compose(cfg))
    pipelines[key][1](dict(filename=video, label=0, start_index=0, modality='RGB'))
times = {key: [] for key in pipelines}
for _ in range(spec['repeats']):
    for key, (video, pipeline) in pipelines.items():
        wall, cpu = time.perf_counter(), time.process_time()
        pipeline(dict(filename=video, label=0, start_index=0, modality='RGB'))
        times[key].append((time.perf_counter() - wall, time.process_time() - cpu))
print(json.dumps(times))
'''


def time_mmaction(python: str, source: str | None, videos: dict[str, str],
                  samplers: list[str], backends: list[str], repeats: int,
                  samples: Samples) -> bool:
    """Add ``repeats`` (wall, CPU) samples per clip of MMAction2 0.x's own pipeline, run in
    ``python`` (a separate process), to ``samples``; False if that run failed."""
    cells = {}
    for video, path in videos.items():
        for sampler in samplers:
            for backend in backends:
                cfg = pipeline_cfg(sampler, backend)
                cfg[-1] = dict(type='ToTensor', keys=['imgs'])
                cells[f'{video}|{sampler}|{backend}'] = (path, cfg)
    spec = json.dumps({'cells': cells, 'repeats': repeats})
    env = dict(os.environ)
    if source:  # an unpacked MMAction2 source tree instead of an installed mmaction
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [source, env.get('PYTHONPATH')]))
    proc = subprocess.run([python, '-c', _MMACTION_SCRIPT, spec], capture_output=True,
                          text=True, check=False, env=env)
    if proc.returncode != 0:
        print(f'MMAction2 run failed:\n{proc.stderr[-2000:]}', file=sys.stderr)
        return False
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    for key, values in raw.items():
        samples.setdefault(tuple(key.split('|')), []).extend(tuple(v) for v in values)
    return True


def print_table(times: dict, mm_times: dict, videos: dict, samplers: list[str],
                backends: list[str]) -> None:
    """One row per video x pipeline x backend; ratios are of CPU time (see the module doc)."""
    header = ['video', 'pipeline', 'backend', 'clips/s', 'CPU clips/s', 'decode-only CPU',
              '% of limit', 'x decord']
    if mm_times:
        header += ['MMAction2 clips/s', 'MMAction2 CPU', 'x MMAction2 best', 'ceiling']
    rows = [header]
    for video in videos:
        for sampler in samplers:
            mm_best = min((mm_times[(video, sampler, b)][1] for b in backends
                           if (video, sampler, b) in mm_times), default=None)
            decord = times.get((video, sampler, 'decord', 'pipeline'))
            for backend in backends:
                (wall, cpu), (_, limit) = (times[(video, sampler, backend, kind)]
                                           for kind in ('pipeline', 'decode'))
                row = [video, sampler, backend, f'{1 / wall:.1f}', f'{1 / cpu:.1f}',
                       f'{1 / limit:.1f}', f'{100 * limit / cpu:.0f}%',
                       f'{decord[1] / cpu:.2f}' if decord else '-']
                if mm_times:
                    mm = mm_times.get((video, sampler, backend))
                    row += [f'{1 / mm[0]:.1f}' if mm else '-', f'{1 / mm[1]:.1f}' if mm else '-',
                            f'{mm_best / cpu:.2f}' if mm_best else '-',
                            f'{mm_best / limit:.2f}' if mm_best else '-']
                rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print(' | '.join(cell.ljust(w) for cell, w in zip(row, widths)))
        if i == 0:
            print('-|-'.join('-' * w for w in widths))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=15, help='clips timed per cell')
    parser.add_argument('--rounds', type=int, default=3,
                        help='split the clips into this many rounds, alternating with '
                             'MMAction2\'s process (default: %(default)s)')
    parser.add_argument('--backends', default='pyav,decord,opencv')
    parser.add_argument('--pipelines', default=','.join(SAMPLERS))
    parser.add_argument('--video-dir', default=None,
                        help='where to write the synthetic videos (default: a temp folder)')
    parser.add_argument('--mmaction-python', default=None,
                        help='a Python with mmcv 1.x (and MMAction2 0.x) installed, to time '
                             'MMAction2 too')
    parser.add_argument('--mmaction-source', default=str(MMACTION_SOURCE),
                        help='MMAction2 0.x source tree put on that Python\'s path '
                             '(default: %(default)s, if it exists)')
    args = parser.parse_args(argv)
    backends = args.backends.split(',')
    samplers = args.pipelines.split(',')
    for name, known in (('backend', BACKENDS), ('pipeline', SAMPLERS)):
        unknown = set(backends if name == 'backend' else samplers) - set(known)
        if unknown:
            parser.error(f'unknown {name}(s) {sorted(unknown)}; choose from {sorted(known)}')
    import actionkit.datasets  # noqa: F401  (fills the PIPELINES registry)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.video_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        videos = make_videos(folder)
        cells = build_cells(videos, samplers, backends)
        source = args.mmaction_source if Path(args.mmaction_source).is_dir() else None
        samples: Samples = {}
        mm_samples: Samples = {}
        mm_ok = bool(args.mmaction_python)
        # rounds alternate between the two processes, so that a slow spell of a shared
        # machine does not fall on one side of the comparison only
        rounds = max(1, min(args.rounds, args.repeats))
        for i in range(rounds):
            chunk = args.repeats // rounds + (i < args.repeats % rounds)
            time_cells(cells, videos, chunk, samples)
            if mm_ok:
                mm_ok = time_mmaction(args.mmaction_python, source, videos, samplers, backends,
                                      chunk, mm_samples)
        mm_times = medians(mm_samples) if mm_ok else {}
        print(f'# data pipeline, single process, {args.repeats} clips per cell (median) in '
              f'{rounds} rounds, {os.cpu_count()} CPUs')
        print_table(medians(samples), mm_times, videos, samplers, backends)
        full = time_full_decodes(videos, backends, args.repeats)
        print('\n# decoding every frame to RGB, CPU ms per frame (median)')
        print('video | ' + ' | '.join(backends))
        for video in videos:
            print(f'{video} | ' + ' | '.join(f'{1000 * full[(video, b)]:.2f}' for b in backends))


if __name__ == '__main__':
    main()
