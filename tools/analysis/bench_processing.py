"""Benchmark the data loading of a config's train pipeline (decoding and augmentation only).

Usage:
    python tools/analysis/bench_processing.py CONFIG [--num-videos 256] [--workers 0]
        [--cfg-options k=v ...]
    python -m cProfile -o program.prof tools/analysis/bench_processing.py CONFIG
        (then e.g. ``snakeviz program.prof`` to see where the time goes)

Loads the first ``--num-videos`` records of ``data.train.ann_file`` through the training data
loader (``data.videos_per_gpu`` a batch, no model) and prints videos/s, after 5 untimed
batches. The logic is in actionkit.analysis.data_benchmark.
"""
from __future__ import annotations

import argparse
import logging
import sys

from actionkit.analysis.data_benchmark import benchmark_dataloading
from actionkit.config import add_config_args, load_config
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Benchmark dataloading')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--num-videos', type=int, default=256,
                        help='records of the training list to load (MMAction2: 256)')
    parser.add_argument('--workers', type=int, default=0,
                        help='data loader workers (MMAction2: 0, loading in this process)')
    add_config_args(parser, example='data.videos_per_gpu=4')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        cfg = load_config(args)
        result = benchmark_dataloading(cfg, args.num_videos, args.workers)
    except (OSError, ValueError, TypeError, KeyError, ImportError) as err:
        return report_error(err, 'bench_processing')
    print(f'{"batch":>5} {"workers":>7} {"batches":>7} {"videos":>6} {"seconds":>8} '
          f'{"videos/s":>9} {"bad":>4}')
    print(f'{result.batch_size:>5} {result.workers:>7} {result.num_batches:>7} '
          f'{result.num_videos:>6} {result.seconds:>8.2f} {result.videos_per_s:>9.1f} '
          f'{result.bad_samples:>4}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
