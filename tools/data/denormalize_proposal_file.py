r"""Turn a proposal list with normalized times (``*normalized_*``) into frame numbers.

Usage:
    python tools/data/denormalize_proposal_file.py thumos14 --norm-proposal-file \
        data/thumos14/thumos14_tag_val_normalized_proposal_list.txt \
        --data-prefix data/thumos14/rawframes/val

Writes the list beside the input, with ``normalized_`` removed from its name, as SSN's
configs expect. The frame count of each video is the number of ``img_*`` frames in
``DATA_PREFIX/<video id>/``. The logic is in actionkit.datasets.prep.proposal_files.
"""
from __future__ import annotations

import argparse
import sys

from actionkit.datasets.prep.proposal_files import denormalize_proposal_file
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Denormalize proposal file')
    parser.add_argument('dataset', type=str, choices=['thumos14'],
                        help='dataset to be denormalize proposal file')
    parser.add_argument('--norm-proposal-file', type=str, required=True,
                        help='normalized proposal file to be denormalize')
    parser.add_argument('--data-prefix', type=str, required=True,
                        help='path to a directory where rawframes are held')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Convert; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    print(f'Converting from {args.norm_proposal_file}.')
    try:
        out = denormalize_proposal_file(args.norm_proposal_file, args.data_prefix)
    except (OSError, ValueError, KeyError) as err:
        return report_error(err, 'denormalize_proposal_file')
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
