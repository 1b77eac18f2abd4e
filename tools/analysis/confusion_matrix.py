"""Draw the confusion matrix of a results file as a heat map with the class names.

Usage:
    python tools/analysis/confusion_matrix.py CONFIG RESULTS.pkl|json|yaml
        [--label-map label_map.txt] [--normalize true|pred|all] [--out cm.png]
        [--split test] [--title T] [--cfg-options k=v ...] [--allow-pickle]

RESULTS is the ``--out`` file of ``tools/test.py``; the true labels are read through the
config's ``data.<split>`` dataset (the test set by default), in the same order. Rows are the
true classes, columns the top-1 predictions; only classes that occur as a label or a prediction
are shown. ``--save-matrix cm.csv`` also writes the numbers. Needs matplotlib
(``pip install 'actionkit[plot]'``).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from actionkit.analysis.evaluate import (build_split_dataset, read_label_names,
                                         results_confusion_matrix)
from actionkit.analysis.results import load_results
from actionkit.config import add_config_args, load_config
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Plot the confusion matrix of a results file')
    parser.add_argument('config', help='the config the results were made with')
    parser.add_argument('results', help='results file (.pkl, .json or .yaml)')
    parser.add_argument('--label-map', help='class names, one a line (default: indices)')
    parser.add_argument('--normalize', choices=['true', 'pred', 'all'], default=None,
                        help='show fractions of each true class (rows), predicted class '
                             '(columns) or of all samples, instead of counts')
    parser.add_argument('--out', default='confusion_matrix.png', help='the image to write')
    parser.add_argument('--save-matrix', default=None, help='also write the matrix as CSV')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'],
                        help='the data section holding the labels')
    parser.add_argument('--title', default=None, help='figure title')
    add_config_args(parser, example='data.test.ann_file=list.txt')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='unpickle any object in a .pkl results file (trusted files only)')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Compute the matrix and write the image (and the CSV)."""
    from actionkit.visualization import plot_confusion_matrix

    cfg = load_config(args)
    results = load_results(args.results, allow_pickle=args.allow_pickle)
    labels = build_split_dataset(cfg, args.split).gt_labels()
    matrix, classes = results_confusion_matrix(results, labels, args.normalize, args.results)
    if args.label_map:
        names = read_label_names(args.label_map)
        if classes.max() >= len(names):
            raise ValueError(f'class {classes.max()} occurs but the label map {args.label_map} '
                             f'has only {len(names)} names')
        class_names = [names[c] for c in classes]
    else:
        class_names = [str(c) for c in classes]
    counts = matrix if args.normalize is None else None
    title = args.title or f'Confusion matrix, {len(labels)} samples' + {
        None: '', 'true': ' (each row sums to 1)', 'pred': ' (each column sums to 1)',
        'all': ' (all cells sum to 1)'}[args.normalize]
    plot_confusion_matrix(matrix, class_names, title=title, normalize=args.normalize,
                          out=args.out)
    print(f'confusion matrix of {len(labels)} samples, {len(classes)} classes -> {args.out}')
    if counts is not None:
        print(f'accuracy (trace / total): {np.trace(counts) / counts.sum():.4f}')
    if args.save_matrix:
        header = ','.join(['true\\pred'] + [f'"{n}"' for n in class_names])
        rows = [','.join([f'"{name}"'] + [f'{v:g}' for v in row])
                for name, row in zip(class_names, matrix)]
        with open(args.save_matrix, 'w', encoding='utf-8') as f:
            f.write('\n'.join([header] + rows) + '\n')


def main(argv: list[str] | None = None) -> int:
    """Run the tool; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError, TypeError, KeyError, ImportError) as err:
        return report_error(err, 'confusion_matrix')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
