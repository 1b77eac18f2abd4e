"""End-to-end latency of ``inference_recognizer`` on one video, on the CPU, next to MMAction2 0.x.

Each run is one ``inference_recognizer(model, 'demo.mp4')`` call: open and decode the video,
preprocess, forward, top-5. A forward pre-hook and hook on the model split it into

* ``forward``: the model call, and
* ``pipeline``: everything else (decoding + preprocessing, and the few milliseconds of input
  handling and top-5).

Cases (random weights, as no checkpoint is needed to time them):

* ``tsn``: TSN-R50 with its video inference config, 25 clips x TenCrop: 250 crops of 224x224,
  decoded with OpenCV as the config says.
* ``tsm``: TSM-R50 1x1x8 with its test pipeline (8 segments, centre crop 224), decoded from the
  video (our video config names PyAV; MMAction2 0.x's ``inference_recognizer`` always swaps in
  OpenCV for video files).

Implementations, run interleaved (each repeat runs every one once, in a rotating order), so
that load changes on a shared machine hit all of them alike:

* ``MMAction2``: MMAction2 0.x's own ``init_recognizer`` / ``inference_recognizer`` in another
  Python (``--mmaction-python``), kept running as a server between runs;
* ``actionkit``: ``init_recognizer(cfg, device='cpu')`` and ``inference_recognizer`` as they
  are by default (conv-bn fusion on since issue 14);
* ``actionkit unfused``: the same with ``fuse_conv_bn=False`` (the defaults before issue 14);
* ``actionkit fast``: the opt-in speed settings: ``init_recognizer(..., fuse_conv_bn=True,
  channels_last=True, max_testing_views=10)`` and ``inference_recognizer(...,
  decoder='pyav')``.

Times are medians; ``CPU`` is the process's CPU time (all threads), which other jobs on the
machine inflate less than wall time. ``x MMAction2`` is the ratio of medians (lower is faster).

Run ``python benchmarks/inference.py --mmaction-python /tmp/mmenv/bin/python`` (about 2.5
minutes on a quiet 2-core machine, twice that under load; ``--cases tsm`` takes under one);
``--help`` for options. Without ``--mmaction-python`` only actionkit is timed.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'demo' / 'demo.mp4'
MMACTION_SOURCE = REPO / '.cache' / 'mmaction2-0.24.1'
# case -> (our config, MMAction2's config relative to its configs/ folder)
CASES = {
    'tsm': ('configs/recognition/tsm/tsm_r50_video_1x1x8_50e_kinetics400_rgb.py',
            'recognition/tsm/tsm_r50_video_1x1x8_50e_kinetics400_rgb.py'),
    'tsn': ('configs/recognition/tsn/tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py',
            'recognition/tsn/tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py'),
}
# implementation -> (init_recognizer options, inference_recognizer options)
OURS = {
    'actionkit': ({}, {}),
    'actionkit unfused': (dict(fuse_conv_bn=False), {}),
    'actionkit fast': (dict(fuse_conv_bn=True, channels_last=True, max_testing_views=10),
                       dict(decoder='pyav')),
}
MMACTION = 'MMAction2'


class ForwardTimer:
    """Wall and CPU seconds spent inside ``model``'s forward (a pre-hook and a hook)."""

    def __init__(self, model: Any) -> None:
        self.wall = self.cpu = 0.0
        self._start_times = (0.0, 0.0)
        model.register_forward_pre_hook(self._start)
        model.register_forward_hook(self._stop)

    def _start(self, module: Any, args: Any) -> None:
        self._start_times = (time.perf_counter(), time.process_time())

    def _stop(self, module: Any, args: Any, output: Any) -> None:
        self.wall += time.perf_counter() - self._start_times[0]
        self.cpu += time.process_time() - self._start_times[1]


def time_call(timer: ForwardTimer, call: Any) -> list[float]:
    """``[total wall, total CPU, forward wall, forward CPU]`` seconds of ``call()``."""
    timer.wall = timer.cpu = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return [time.perf_counter() - wall, time.process_time() - cpu, timer.wall, timer.cpu]


# numpy aliases and a torchvision stand-in, sent ahead of the MMAction2 script
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

# The MMAction2 side: build the models, then answer one JSON request per line on stdin.
_MMACTION_SERVER = MMACTION_COMPAT + r'''
import json, os, sys, time, types
from typing import Any
import numpy as np
import torch
import mmaction
from mmaction.apis import inference_recognizer, init_recognizer
# -- timer --

spec = json.loads(sys.argv[1])
torch.set_num_threads(spec['threads'])
torch.manual_seed(0)
roots = [os.path.join(os.path.dirname(mmaction.__file__), '.mim', 'configs'),
         os.path.join(os.path.dirname(os.path.dirname(mmaction.__file__)), 'configs')]
models = {}
for case, rel in spec['configs'].items():
    path = next((os.path.join(r, rel) for r in roots if os.path.isfile(os.path.join(r, rel))),
                None)
    if path is None:
        raise FileNotFoundError(f'{rel} is in none of {roots}')
    model = init_recognizer(path, None, device='cpu')
    models[case] = (model, ForwardTimer(model))
print('@@' + json.dumps({'ready': mmaction.__version__}), flush=True)
for line in sys.stdin:
    case = json.loads(line)['case']
    model, timer = models[case]
    times = time_call(timer, lambda: inference_recognizer(model, spec['video']))
    print('@@' + json.dumps(times), flush=True)
'''

class MMActionServer:
    """MMAction2 0.x in another Python, building the models once and timing calls on request."""

    def __init__(self, python: str, source: str | None, cases: list[str], video: str,
                 threads: int) -> None:
        env = dict(os.environ)
        if source:  # an unpacked MMAction2 source tree instead of an installed mmaction
            env['PYTHONPATH'] = os.pathsep.join(filter(None, [source, env.get('PYTHONPATH')]))
        spec = dict(configs={case: CASES[case][1] for case in cases}, video=video,
                    threads=threads)
        # the timer is this file's own code, so both sides measure alike
        script = (_MMACTION_SERVER.split('# -- timer --')[0] + inspect.getsource(ForwardTimer)
                  + '\n\n' + inspect.getsource(time_call)
                  + _MMACTION_SERVER.split('# -- timer --')[1])
        self.proc = subprocess.Popen([python, '-c', script, json.dumps(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        self.version = self._answer()['ready']

    def _answer(self) -> Any:
        for line in self.proc.stdout:
            if line.startswith('@@'):
                return json.loads(line[2:])
        raise RuntimeError(f'the MMAction2 process ended (exit code {self.proc.wait()}); '
                           'its error is above')

    def time(self, case: str) -> list[float]:
        """``[total wall, total CPU, forward wall, forward CPU]`` of one call."""
        self.proc.stdin.write(json.dumps({'case': case}) + '\n')
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def build_ours(cases: list[str], video: str) -> dict[tuple[str, str], Any]:
    """``(case, implementation) -> a function that times one call``."""
    import torch

    from actionkit.apis import inference_recognizer, init_recognizer

    runs = {}
    for case in cases:
        for impl, (init_options, call_options) in OURS.items():
            torch.manual_seed(0)
            model = init_recognizer(str(REPO / CASES[case][0]), device='cpu', **init_options)
            timer = ForwardTimer(model)

            def run(model: Any = model, timer: Any = timer, options: dict = call_options
                    ) -> list[float]:
                return time_call(timer, lambda: inference_recognizer(model, video, **options))
            runs[(case, impl)] = run
    return runs


def measure(cases: list[str], video: str, repeats: dict[str, int], warmup: dict[str, int],
            mm: MMActionServer | None) -> dict[tuple[str, str], list[list[float]]]:
    """Every run's times per ``(case, implementation)``; implementations interleaved."""
    runs = build_ours(cases, video)
    if mm is not None:
        for case in cases:
            runs[(case, MMACTION)] = lambda case=case: mm.time(case)
    times: dict[tuple[str, str], list[list[float]]] = {key: [] for key in runs}
    for case in cases:
        impls = [impl for (c, impl) in runs if c == case]
        for rep in range(warmup[case] + repeats[case]):
            shift = rep % len(impls)
            for impl in impls[shift:] + impls[:shift]:
                result = runs[(case, impl)]()
                if rep >= warmup[case]:
                    times[(case, impl)].append(result)
    return times


def print_table(times: dict[tuple[str, str], list[list[float]]], cases: list[str]) -> None:
    """One row per case x implementation: medians, and ratios to MMAction2's medians."""
    header = ['case', 'implementation', 'runs', 'total s', 'pipeline s', 'forward s',
              'total CPU s', 'pipeline CPU s', 'forward CPU s', 'x MMAction2', 'x MMAction2 CPU']
    rows = [header]
    for case in cases:
        medians = {}
        for (c, impl), values in times.items():
            if c != case or not values:
                continue
            total, cpu, fwd, fwd_cpu = (statistics.median(v[i] for v in values)
                                        for i in range(4))
            pipe = statistics.median(v[0] - v[2] for v in values)
            pipe_cpu = statistics.median(v[1] - v[3] for v in values)
            medians[impl] = (len(values), total, pipe, fwd, cpu, pipe_cpu, fwd_cpu)
        base = medians.get(MMACTION)
        for impl in [MMACTION, *OURS]:
            if impl not in medians:
                continue
            n, total, pipe, fwd, cpu, pipe_cpu, fwd_cpu = medians[impl]
            ratio = [f'{total / base[1]:.2f}', f'{cpu / base[4]:.2f}'] if base else ['-', '-']
            rows.append([case, impl, str(n)] + [f'{x:.2f}' for x in
                                                (total, pipe, fwd, cpu, pipe_cpu, fwd_cpu)]
                        + ratio)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print(' | '.join(cell.ljust(w) for cell, w in zip(row, widths)))
        if i == 0:
            print('-|-'.join('-' * w for w in widths))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cases', default='tsm,tsn', help='from: ' + ', '.join(CASES))
    parser.add_argument('--repeats', type=int, default=5, help='timed runs of tsm')
    parser.add_argument('--tsn-repeats', type=int, default=2,
                        help='timed runs of tsn (about 10-30 s each per implementation)')
    parser.add_argument('--threads', type=int, default=2, help='torch threads, both sides')
    parser.add_argument('--video', default=str(DEMO))
    parser.add_argument('--mmaction-python', default=None,
                        help='a Python with mmcv 1.x (and MMAction2 0.x) installed, to time '
                             'MMAction2 too, e.g. /tmp/mmenv/bin/python')
    parser.add_argument('--mmaction-source', default=str(MMACTION_SOURCE),
                        help="MMAction2 0.x source tree put on that Python's path "
                             '(default: %(default)s, if it exists)')
    args = parser.parse_args(argv)
    cases = args.cases.split(',')
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f'unknown case(s) {sorted(unknown)}; choose from {sorted(CASES)}')
    if not Path(args.video).is_file():
        parser.error(f'{args.video} not found (the shared test data holds demo.mp4)')
    video = Path(args.video).resolve()

    import torch

    torch.set_num_threads(args.threads)
    mm = None
    if args.mmaction_python:
        source = args.mmaction_source if Path(args.mmaction_source).is_dir() else None
        mm = MMActionServer(args.mmaction_python, source, cases, str(video), args.threads)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        times = measure(cases, str(video), repeats={'tsm': args.repeats, 'tsn': args.tsn_repeats},
                        warmup={'tsm': 1, 'tsn': 0}, mm=mm)
    finally:
        if mm is not None:
            mm.close()
    print(f'# inference_recognizer on {video.name}, CPU, {args.threads} threads, random weights; '
          f'medians; {os.cpu_count()} CPUs, load average {load:.1f} -> '
          f'{os.getloadavg()[0]:.1f}; torch {torch.__version__}'
          + (f'; MMAction2 {mm.version}' if mm else '')
          + f'; {time.perf_counter() - start:.0f} s')
    print_table(times, cases)


if __name__ == '__main__':
    main()
