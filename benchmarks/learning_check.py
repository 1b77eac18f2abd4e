"""What the learning-check scripts share: train a config with ``tools/train.py --validate
--seed 0 --cfg-options …``, read the val top-1 after each epoch from the run's JSON log, and
print it with the wall time and the machine load before and after."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ['REPO', 'machine_load', 'train_and_report']

REPO = Path(__file__).resolve().parents[1]


def machine_load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    with open('/proc/loadavg', encoding='ascii') as fin:
        return ' '.join(fin.read().split()[:3])


def train_and_report(config: Path, work_dir: str, options: list[str],
                     target: float = 0.95) -> int:
    """Train, print the curve, the best, the wall time and the loads; 0 if ``target`` met."""
    command = [sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--validate',
               '--seed', '0', '--work-dir', work_dir, '--cfg-options', *options]
    load_before = machine_load()
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, 'PYTHONPATH': str(REPO)},
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr)
        return done.returncode
    logs = sorted(Path(work_dir).glob('*.log.json'))
    curve = [json.loads(line)['top1_acc'] for line in logs[-1].read_text().splitlines()
             if '"mode": "val"' in line]
    print(f'val top-1 per epoch: {" ".join(f"{acc:.3f}" for acc in curve)}')
    print(f'best {max(curve):.3f}; wall {wall:.0f} s (training + validation, including start-up); '
          f'load before {load_before}, after {machine_load()}')
    return 0 if max(curve) >= target else 1
