"""Fuse the scores of several models (e.g. RGB + optical flow) and report their accuracy.

Usage:
    python tools/analysis/report_accuracy.py --scores R1.pkl R2.pkl [...]
        --datalist test_list.txt [--coefficients 1 1] [--apply-softmax] [--top-k 1 5]
        [--allow-pickle]

Each scores file is the ``--out`` of ``tools/test.py`` for the same test list (.pkl, .json or
.yaml). The fused score is ``sum_i coefficient_i * scores_i`` (after a softmax per model with
``--apply-softmax``). The labels are the last field of each line of ``--datalist``. Each model
is reported alone too, so the gain of the fusion shows.
"""
from __future__ import annotations

import argparse
import sys

from actionkit.analysis.fusion import fusion_accuracy, read_list_labels
from actionkit.analysis.results import load_results
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Fuse several score files and report the '
                                     'accuracy')
    parser.add_argument('--scores', nargs='+', required=True, help='results files to fuse')
    parser.add_argument('--coefficients', nargs='+', type=float, default=None,
                        help='one weight per scores file (default: all 1)')
    parser.add_argument('--datalist', required=True,
                        help='the test annotation list (label = last field of each line)')
    parser.add_argument('--apply-softmax', action='store_true',
                        help='softmax each model\'s scores before fusing')
    parser.add_argument('--top-k', nargs='+', type=int, default=[1, 5],
                        help='k of the top-k accuracies')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='unpickle any object in .pkl files (trusted files only)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the table; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        if args.coefficients is not None and len(args.coefficients) != len(args.scores):
            raise ValueError(f'--coefficients needs one value per --scores file: got '
                             f'{len(args.scores)} files and {len(args.coefficients)} values')
        coefficients = args.coefficients or [1.0] * len(args.scores)
        score_sets = [load_results(path, allow_pickle=args.allow_pickle)
                      for path in args.scores]
        labels = read_list_labels(args.datalist)
        rows = []
        if len(score_sets) > 1:
            for i, (path, scores) in enumerate(zip(args.scores, score_sets), start=1):
                alone = fusion_accuracy([scores], labels, None, args.apply_softmax, args.top_k,
                                        [path])
                rows.append((f'[{i}] {path}', alone))
        name = args.scores[0]
        if len(score_sets) > 1:
            terms = ' + '.join(f'{c:g} x [{i + 1}]' for i, c in enumerate(coefficients))
            name = f'fused: {terms}'
        rows.append((name, fusion_accuracy(score_sets, labels, coefficients,
                                           args.apply_softmax, args.top_k, args.scores)))
    except (OSError, ValueError, TypeError, KeyError, ImportError) as err:
        return report_error(err, 'report_accuracy')
    columns = list(rows[-1][1])
    width = max(len(row[0]) for row in rows)
    print(f'{"scores":<{width}}  ' + '  '.join(f'{c:>19}' for c in columns))
    for row_name, metrics in rows:
        print(f'{row_name:<{width}}  ' + '  '.join(f'{metrics[c]:>19.4f}' for c in columns))
    fused = rows[-1][1]
    print(f'Mean Class Accuracy: {fused["mean_class_accuracy"]:.04f}')
    for k in args.top_k:
        print(f'Top {k} Accuracy: {fused[f"top{k}_acc"]:.04f}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
