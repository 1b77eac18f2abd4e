"""How fast a large annotation list loads, and how little memory DataLoader workers copy.

Writes a rawframe list (default 1,000,000 lines) to a temporary folder, times
``RawframeDataset`` loading it (target: <= 1 s), then draws random samples (default 200,000)
through a DataLoader with 4 workers and a pipeline that only reads the record, and reports
each worker's private memory (USS: Private_Clean + Private_Dirty of
/proc/PID/smaps_rollup) after the first batch and at the end (target: <= 20 MiB growth).

With ``--dict-baseline`` the same is measured for the records held as a Python list of dicts
(what MMAction2 0.x does), which the workers copy page by page as they touch it.

Usage:
    python benchmarks/annotations_memory.py [--lines 1000000] [--samples 200000] [--workers 4]
"""
from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import warnings

import numpy as np
from torch.utils.data import DataLoader, RandomSampler

from actionkit.datasets import RawframeDataset
from actionkit.datasets.base import BaseDataset
from actionkit.datasets.loader import collate


def read_record(results: dict) -> dict:
    """The trivial pipeline: look at the record, return two numbers."""
    return dict(label=results['label'], total_frames=results['total_frames'],
                name_length=len(results['frame_dir']))


class DictListDataset(BaseDataset):
    """The 0.x layout: ``video_infos`` as a Python list of dicts."""

    def __init__(self, records: RawframeDataset) -> None:
        self._source = records
        super().__init__(records.ann_file, [read_record])

    def load_annotations(self) -> list[dict]:
        return [dict(info) for info in self._source.video_infos]


def write_list(path: str, lines: int) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(30, 600, size=lines)
    labels = rng.integers(0, 400, size=lines)
    with open(path, 'w') as fout:
        for start in range(0, lines, 100_000):
            fout.write(''.join(
                f'kinetics400/rawframes_train/class_{labels[i]:03d}/video_{i:08d} '
                f'{frames[i]} {labels[i]}\n' for i in range(start, min(start + 100_000, lines))))


def uss_mib(pid: int) -> float:
    total_kib = 0
    with open(f'/proc/{pid}/smaps_rollup') as fin:
        for line in fin:
            if line.startswith(('Private_Clean:', 'Private_Dirty:')):
                total_kib += int(line.split()[1])
    return total_kib / 1024


def child_pids() -> list[int]:
    me = os.getpid()
    pids = []
    for task in os.listdir(f'/proc/{me}/task'):
        with open(f'/proc/{me}/task/{task}/children') as fin:
            pids.extend(int(pid) for pid in fin.read().split())
    return sorted(pids)


def run_workers(dataset: BaseDataset, samples: int, workers: int,
                batch_size: int) -> list[tuple[int, float, float]]:
    sampler = RandomSampler(dataset, replacement=True, num_samples=samples)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                        collate_fn=collate, prefetch_factor=2)
    before = set(child_pids())
    iterator = iter(loader)
    next(iterator)
    pids = [pid for pid in child_pids() if pid not in before]
    start = {pid: uss_mib(pid) for pid in pids}
    batches = len(loader) - 1
    end: dict[int, float] = {}
    for count, _ in enumerate(iterator, start=1):
        if count == batches - workers * 2:  # workers are still alive, almost all work done
            end = {pid: uss_mib(pid) for pid in pids}
    if not end:
        raise RuntimeError('too few samples to measure the workers: raise --samples')
    del iterator
    return [(pid, start[pid], end[pid]) for pid in pids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--lines', type=int, default=1_000_000)
    parser.add_argument('--samples', type=int, default=200_000)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--dict-baseline', action='store_true',
                        help='also measure the records as a list of dicts (slow, ~1 GB)')
    args = parser.parse_args()
    warnings.filterwarnings('ignore', message='This DataLoader will create')  # > CPU cores

    with tempfile.TemporaryDirectory() as tmp:
        ann_file = os.path.join(tmp, 'train_list.txt')
        write_list(ann_file, args.lines)
        size_mib = os.path.getsize(ann_file) / 2**20
        wall, cpu = [], []
        for _ in range(3):
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            dataset = RawframeDataset(ann_file, [read_record], data_prefix='data')
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        records = dataset.video_infos
        print(f'annotation list: {args.lines:,} lines, {size_mib:.1f} MiB on disk, '
              f'{records.nbytes / 2**20:.1f} MiB packed')
        print(f'{"load (RawframeDataset)":<24}{"first":>10}{"best of 3":>12}{"target":>10}')
        print(f'{"wall-clock (s)":<24}{wall[0]:>10.3f}{min(wall):>12.3f}{1.0:>10.1f}')
        print(f'{"CPU time (s)":<24}{cpu[0]:>10.3f}{min(cpu):>12.3f}{"":>10}')
        print()
        layouts = [('packed records', dataset)]
        if args.dict_baseline:
            layouts.append(('list of dicts (0.x)', DictListDataset(dataset)))
        print(f'{args.workers} workers, {args.samples:,} random samples, '
              f'batch {args.batch_size}: USS per worker (MiB)')
        print(f'{"records":<24}{"worker":>8}{"start":>10}{"end":>10}{"growth":>10}'
              f'{"target":>10}')
        for name, data in layouts:
            for number, (_, start, end) in enumerate(
                    run_workers(data, args.samples, args.workers, args.batch_size)):
                print(f'{name:<24}{number:>8}{start:>10.1f}{end:>10.1f}{end - start:>10.1f}'
                      f'{20.0:>10.1f}')


if __name__ == '__main__':
    main()
