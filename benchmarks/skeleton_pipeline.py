"""Skeleton pipelines in clips per second: PoseC3D's heatmap pipelines (where
``GeneratePoseTarget`` is the cost) and the GCN pipelines, on synthetic clips (one person,
COCO's 17 joints, 300 frames, a 320 x 240 frame).

    python benchmarks/skeleton_pipeline.py            # ~1 min on 2 cores
    python benchmarks/skeleton_pipeline.py --clips 20
    python benchmarks/skeleton_pipeline.py --mmaction-python /tmp/mmenv/bin/python

Each pipeline is the config's pipeline (``configs/skeleton/``), run in this process. With
``--mmaction-python`` (an interpreter with mmcv 1.x, set up as ``audio_mmaction_check.py``
describes) MMAction2 0.24.1 runs the pipeline of its own config of the same name on the same
clips in a separate process; the two sides alternate over ``--rounds`` rounds so that a busy
spell of a shared machine does not fall on one side only. ``clips/s`` is per second of wall
time, ``CPU clips/s`` per second of the process's CPU time (best round each).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIPELINES = {
    'PoseC3D joints, train (48 frames, 56 px)':
        ('posec3d/slowonly_r50_u48_240e_ntu60_xsub_keypoint.py', 'train'),
    'PoseC3D limbs, val (48 frames, 64 px)':
        ('posec3d/slowonly_r50_u48_240e_ntu60_xsub_limb.py', 'val'),
    'PoseC3D limbs, test (10 clips x 2 flips)':
        ('posec3d/slowonly_r50_u48_240e_ntu60_xsub_limb.py', 'test'),
    'ST-GCN, 300 frames':
        ('stgcn/stgcn_80e_ntu60_xsub_keypoint.py', 'train'),
}
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

_TIMER = r'''
def time_pipelines(Compose, load_cfg, pipelines, samples):
    """{name: (wall s, CPU s)} for all ``samples`` through each pipeline, after a warm-up."""
    import copy, time
    out = {}
    for name, (config, split) in pipelines.items():
        pipeline = Compose(load_cfg(config).data[split].pipeline)
        np.random.seed(0)
        pipeline(copy.deepcopy(samples[0]))
        wall, cpu = time.perf_counter(), time.process_time()
        for sample in samples:
            pipeline(copy.deepcopy(sample))
        out[name] = (time.perf_counter() - wall, time.process_time() - cpu)
    return out
'''

_MMACTION_SCRIPT = MMACTION_COMPAT + r'''
for _name, _value in (('Inf', np.inf), ('NaN', np.nan)):  # removed in numpy 2
    if not hasattr(np, _name):
        setattr(np, _name, _value)
import json, pickle, sys, warnings
warnings.filterwarnings('ignore')
from mmcv import Config
from mmaction.datasets.pipelines import Compose
root, work = sys.argv[1], sys.argv[2]
exec(sys.argv[3])
with open(work + '/samples.pkl', 'rb') as f:
    samples = pickle.load(f)
print(json.dumps(time_pipelines(Compose, lambda c: Config.fromfile(root + '/' + c),
                                json.loads(sys.argv[4]), samples)))
'''


def make_samples(clips: int) -> list[dict]:
    from actionkit.datasets.synthetic_pose import IMG_SHAPE, render_pose_clip

    samples = []
    for i in range(clips):
        kp, score = render_pose_clip(i % 6, i, num_frames=300)
        samples.append(dict(frame_dir=f'clip{i}', label=i % 6, img_shape=IMG_SHAPE,
                            original_shape=IMG_SHAPE, total_frames=300, keypoint=kp,
                            keypoint_score=score, start_index=0, modality='Pose'))
    return samples


def time_mmaction(python: str, source: str, work: str) -> dict | None:
    env = {**os.environ, 'PYTHONPATH': source}
    root = str(Path(source) / 'mmaction' / '.mim' / 'configs' / 'skeleton')
    done = subprocess.run([python, '-c', _MMACTION_SCRIPT, root, work, _TIMER,
                           json.dumps(PIPELINES)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f'MMAction2 run failed:\n{done.stderr[-3000:]}', file=sys.stderr)
        return None
    return {k: tuple(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clips', type=int, default=10)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--mmaction-python', default=None)
    parser.add_argument('--mmaction-source', default=str(REPO / '.cache' / 'mmaction2-0.24.1'))
    args = parser.parse_args()
    import numpy as np

    from actionkit.config import Config
    from actionkit.datasets.pipelines import Compose

    shared = {'np': np}
    exec(_TIMER, shared)
    samples = make_samples(args.clips)
    ours: dict[str, list] = {name: [] for name in PIPELINES}
    theirs: dict[str, list] = {name: [] for name in PIPELINES}
    with tempfile.TemporaryDirectory() as work:
        with open(f'{work}/samples.pkl', 'wb') as f:
            pickle.dump(samples, f)
        for _ in range(args.rounds):
            times = shared['time_pipelines'](
                Compose, lambda c: Config.fromfile(str(REPO / 'configs' / 'skeleton' / c)),
                PIPELINES, samples)
            for name, value in times.items():
                ours[name].append(value)
            mm = time_mmaction(args.mmaction_python, args.mmaction_source, work) \
                if args.mmaction_python else None
            for name, value in (mm or {}).items():
                theirs[name].append(value)

    def rates(values: list) -> list[str]:
        if not values:
            return ['-', '-']
        return [f'{args.clips / min(v[0] for v in values):.1f}',
                f'{args.clips / min(v[1] for v in values):.1f}']

    header = ['pipeline', 'clips/s', 'CPU clips/s', 'MMAction2 clips/s', 'MMAction2 CPU clips/s']
    print(f'{args.clips} clips, best of {args.rounds} rounds\n| ' + ' | '.join(header)
          + ' |\n|' + '---|' * len(header))
    for name in PIPELINES:
        print(f'| {name} | ' + ' | '.join(rates(ours[name]) + rates(theirs[name])) + ' |')


if __name__ == '__main__':
    main()
