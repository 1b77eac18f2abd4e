"""Score a results file again, with other metrics or options, without re-running the model.

Usage:
    python tools/analysis/eval_metric.py CONFIG RESULTS.pkl|json|yaml
        [--eval top_k_accuracy mean_class_accuracy ...] [--eval-options k=v ...]
        [--cfg-options k=v ...] [--allow-pickle]

RESULTS is the ``--out`` file of ``tools/test.py``; the ground truth is the config's
``data.test`` set. The config's ``evaluation`` settings are the defaults; ``--eval`` and
``--eval-options`` (keyword arguments of ``dataset.evaluate``, e.g.
``metric_options.top_k_accuracy.topk="(1,3)"``) override them.
"""
from __future__ import annotations

import argparse
import sys

from actionkit.analysis.evaluate import evaluate_results
from actionkit.analysis.results import load_results
from actionkit.config import DictAction, add_config_args, load_config
from actionkit.config.options import merge_dotted
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Evaluate the results saved in a '
                                     'pkl/json/yaml file')
    parser.add_argument('config', help='the config the results were made with')
    parser.add_argument('results', help='results file (.pkl, .json or .yaml)')
    parser.add_argument('--eval', nargs='+', metavar='METRIC',
                        help='metrics, e.g. top_k_accuracy mean_class_accuracy '
                             '(default: the config\'s evaluation.metrics)')
    add_config_args(parser, example='data.test.ann_file=list.txt')
    parser.add_argument('--eval-options', nargs='+', action=DictAction, default={},
                        help='keyword arguments of dataset.evaluate(), e.g. '
                             'metric_options.top_k_accuracy.topk="(1,3)"')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='unpickle any object in a .pkl results file (trusted files only)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the metrics; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        cfg = load_config(args)
        results = load_results(args.results, allow_pickle=args.allow_pickle)
        metrics = evaluate_results(cfg, results, args.eval, merge_dotted({}, args.eval_options))
    except (OSError, ValueError, TypeError, KeyError, ImportError) as err:
        return report_error(err, 'eval_metric')
    width = max([len('metric')] + [len(name) for name in metrics])
    print(f'{"metric":<{width}}  value')
    for name, value in metrics.items():
        shown = f'{value:.4f}' if isinstance(value, float) else str(value)
        print(f'{name:<{width}}  {shown}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
