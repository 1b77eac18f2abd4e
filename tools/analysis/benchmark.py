"""Measure the inference speed of a recognizer on its config's test data (videos/s).

Usage:
    python tools/analysis/benchmark.py CONFIG [--checkpoint CKPT] [--num-iters 200]
        [--num-warmup 5] [--log-interval 10] [--device cpu|cuda:0] [--fuse-conv-bn]
        [--workers N] [--threads N] [--cfg-options k=v ...]

One video at a time goes through the test pipeline (data loading, decoding, transforms) and
the model. Prints the end-to-end rate and the model's forward rate alone. Random weights unless
``--checkpoint`` is given.
"""
from __future__ import annotations

import argparse
import sys

import torch

from actionkit.analysis.benchmark import benchmark_inference
from actionkit.config import add_config_args, load_config
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Benchmark the inference speed of a '
                                     'recognizer')
    parser.add_argument('config', help='test config file')
    parser.add_argument('--checkpoint', default=None, help='weights (default: random)')
    parser.add_argument('--num-iters', type=int, default=200, help='videos to time')
    parser.add_argument('--num-warmup', type=int, default=5, help='untimed videos first')
    parser.add_argument('--log-interval', type=int, default=10,
                        help='print the running rate every N videos (0: only the result)')
    parser.add_argument('--device', default='cuda:0',
                        help='cuda:0 (falls back to cpu without CUDA) or cpu')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold BatchNorm into the convolutions (slightly faster)')
    parser.add_argument('--workers', type=int, default=None,
                        help='data loader workers (default: data.workers_per_gpu)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice, one per core)')
    add_config_args(parser, example='data.test.ann_file=list.txt')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)

    def report(done: int, rate: float, forward_rate: float) -> None:
        print(f'Done video [{done:>4}/{args.num_iters}], {rate:.2f} videos/s '
              f'(forward only {forward_rate:.2f} videos/s)', flush=True)

    if args.threads is not None:
        if args.threads < 1:
            print(f'benchmark: error: --threads must be >= 1, got {args.threads}',
                  file=sys.stderr)
            return 1
        torch.set_num_threads(args.threads)
    try:
        cfg = load_config(args)
        result = benchmark_inference(cfg, args.checkpoint, args.num_iters, args.num_warmup,
                                     args.device, args.fuse_conv_bn, args.workers,
                                     args.log_interval, report)
    except (OSError, ValueError, TypeError, KeyError, ImportError) as err:
        return report_error(err, 'benchmark')
    print(f'input per video: {list(result.input_shape)}, torch threads: '
          f'{torch.get_num_threads()}')
    print(f'{"videos":>8} {"videos/s":>10} {"forward videos/s":>17} {"ms/video":>9}')
    print(f'{result.num_videos:>8} {result.videos_per_s:>10.2f} '
          f'{result.forward_videos_per_s:>17.2f} '
          f'{1000 * result.total_time / result.num_videos:>9.1f}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
