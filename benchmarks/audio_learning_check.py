"""The audio learning check in one command: generate the synthetic chirp set (if absent),
train ``configs/synthetic/audioonly_r50_48x1x1_synthetic_audio_feature.py`` on it with
``tools/train.py --validate --seed 0``, and print the val top-1 after each epoch, the best,
the wall time and the machine load before and after.

    OMP_NUM_THREADS=1 python benchmarks/audio_learning_check.py [--data DIR] [--work-dir DIR]

The target (issue 18): at least 95 % val top-1 within 3 minutes on 2 CPU cores. Results go in
docs/benchmarks.md ("Audio learning check").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'configs' / 'synthetic' / 'audioonly_r50_48x1x1_synthetic_audio_feature.py'


def _load() -> str:
    with open('/proc/loadavg', encoding='ascii') as fin:
        return ' '.join(fin.read().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(REPO / 'data' / 'synthetic_audio'))
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'audio_learning_check'))
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / 'val_list_features.txt').is_file():
        from actionkit.datasets.synthetic_audio import make_synthetic_audio_dataset

        start = time.perf_counter()
        make_synthetic_audio_dataset(data, num_classes=4)
        print(f'generated {data} in {time.perf_counter() - start:.1f} s')
    options = []
    for split in ('train', 'val', 'test'):
        ann = data / ('train' if split == 'train' else 'val')
        options += [f'data.{split}.ann_file={ann}_list_features.txt',
                    f'data.{split}.data_prefix={data}']
    command = [sys.executable, str(REPO / 'tools' / 'train.py'), str(CONFIG), '--validate',
               '--seed', '0', '--work-dir', args.work_dir, '--cfg-options', *options]
    load_before = _load()
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, 'PYTHONPATH': str(REPO)},
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        return done.returncode
    logs = sorted(Path(args.work_dir).glob('*.log.json'))
    curve = [json.loads(line)['top1_acc'] for line in logs[-1].read_text().splitlines()
             if '"mode": "val"' in line]
    print(f'val top-1 per epoch: {" ".join(f"{acc:.3f}" for acc in curve)}')
    print(f'best {max(curve):.3f}; wall {wall:.0f} s (training + validation, including start-up); '
          f'load before {load_before}, after {_load()}')
    return 0 if max(curve) >= 0.95 else 1


if __name__ == '__main__':
    sys.exit(main())
