"""Plot training curves or compute training speed from ``*.log.json`` training logs.

Usage:
    python tools/analysis/analyze_logs.py plot_curve LOG.json [LOG.json ...]
        [--keys loss_cls top1_acc] [--title T] [--legend L ...] [--backend B] [--style S]
        [--out curve.png]
    python tools/analysis/analyze_logs.py cal_train_time LOG.json [...] [--include-outliers]

``plot_curve`` draws one panel per key against the training iteration, one curve per log (and
per mode when a key is logged in both training and validation records, e.g. ``top1_acc``);
``val/top1_acc`` picks the validation values only. Without ``--out`` the plot is shown on
screen. Reads actionkit's and MMAction2's logs (same format). Needs matplotlib
(``pip install 'actionkit[plot]'``).
"""
from __future__ import annotations

import argparse
import sys

from actionkit.analysis.logs import curve_panels, load_json_logs, train_time_stats
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Analyze JSON training logs')
    tasks = parser.add_subparsers(dest='task', required=True, metavar='{plot_curve,cal_train_time}')
    plot = tasks.add_parser('plot_curve', help='plot metrics against the iteration')
    plot.add_argument('json_logs', nargs='+', help='training logs (*.log.json)')
    plot.add_argument('--keys', nargs='+', default=['top1_acc'],
                      help='metrics to plot, one panel each (val/NAME or train/NAME picks a '
                           'mode); default: top1_acc')
    plot.add_argument('--title', help='title of the figure')
    plot.add_argument('--legend', nargs='+', default=None,
                      help='one label per log and key, log by log (default: file names)')
    plot.add_argument('--backend', default=None, help='matplotlib backend to show the plot')
    plot.add_argument('--style', default='dark',
                      help='plot style: dark, darkgrid, white, whitegrid, ticks, default or a '
                           'matplotlib style name')
    plot.add_argument('--out', default=None, help='save to this file (.png, .pdf, .svg)')
    timing = tasks.add_parser('cal_train_time', help='average time per training iteration')
    timing.add_argument('json_logs', nargs='+', help='training logs (*.log.json)')
    timing.add_argument('--include-outliers', action='store_true',
                        help='count the first record of each epoch too (it includes the data '
                             'loader start-up)')
    return parser.parse_args(argv)


def plot_curve(args: argparse.Namespace) -> None:
    """Draw the curves of ``args.keys`` and save or show them."""
    from actionkit.visualization import plot_curves

    logs = load_json_logs(args.json_logs)
    panels = curve_panels(logs, args.keys, args.legend)
    for key, curves in panels.items():
        print(f'plot curve of {key}: {", ".join(label for label, _, _ in curves)}')
    plot_curves(panels, title=args.title, out=args.out, style=args.style,
                backend=args.backend)
    if args.out:
        print(f'save curve to: {args.out}')


def cal_train_time(args: argparse.Namespace) -> None:
    """Print the slowest/fastest epoch and the mean iteration time of each log."""
    for log in load_json_logs(args.json_logs):
        stats = train_time_stats(log, include_outliers=args.include_outliers)
        print(f'{"-" * 5}Analyze train time of {log.path}{"-" * 5}')
        print(f'slowest epoch {stats.slowest_epoch}, average time is {stats.slowest_time:.4f}')
        print(f'fastest epoch {stats.fastest_epoch}, average time is {stats.fastest_time:.4f}')
        print(f'time std over epochs is {stats.std_over_epochs:.4f}')
        print(f'average iter time: {stats.mean_iter_time:.4f} s/iter')
        print()


def main(argv: list[str] | None = None) -> int:
    """Run the task; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        plot_curve(args) if args.task == 'plot_curve' else cal_train_time(args)
    except (OSError, ValueError, KeyError, ImportError) as err:
        return report_error(err, 'analyze_logs')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
