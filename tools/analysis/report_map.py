"""Report the ActivityNet detection mAP of class-agnostic proposals (BSN, BMN).

Usage:
    python tools/analysis/report_map.py --proposal results.json
        [--gt data/ActivityNet/anet_anno_val.json] [--cls cuhk17_top1]
        [--det-output det_result.json] [--cls-file cuhk_anet17_pred.json]

Each proposal of ``--proposal`` (``tools/test.py --out results.json`` of a BSN/BMN config)
takes the top-1 class of its video from the classifier results ``--cls-file`` (for
``cuhk17_top1``, MMAction2's ``cuhk_anet17_pred.json``, downloaded from
https://download.openmmlab.com/mmaction/localization/cuhk_anet17_pred.json); the labelled
detections go to ``--det-output`` and are scored at tIoU 0.5:0.05:0.95. MMAction2 fetches that
file itself; here it must be on disk (``--cls-file`` is our addition). The logic is in
actionkit.analysis.detection_map.
"""
from __future__ import annotations

import argparse
import logging
import sys

from actionkit.analysis.detection_map import CLS_FUNCS, report_detection_map
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Report detection mAP for ActivityNet '
                                     'proposal file')
    parser.add_argument('--proposal', type=str, required=True, help='proposal file')
    parser.add_argument('--gt', type=str, default='data/ActivityNet/anet_anno_val.json',
                        help='groundtruth file')
    parser.add_argument('--cls', type=str, default='cuhk17_top1', choices=list(CLS_FUNCS),
                        help='the way to assign label for each proposal')
    parser.add_argument('--det-output', type=str, default='det_result.json',
                        help='the path to store detection results')
    parser.add_argument('--cls-file', type=str, default='cuhk_anet17_pred.json',
                        help='the classifier results the labels come from')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the mAP; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    try:
        mAP, average_mAP = report_detection_map(args.proposal, args.gt, args.cls_file,
                                                args.det_output, args.cls)
    except (OSError, ValueError, KeyError) as err:
        return report_error(err, 'report_map')
    print('[RESULTS] Performance on ActivityNet detection task.\n'
          f'mAP: {mAP}\nAverage-mAP: {average_mAP}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
