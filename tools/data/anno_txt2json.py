"""Convert a txt annotation list (rawframes or videos) to MMAction2's JSON list.

Usage:
    python tools/data/anno_txt2json.py ANNOFILE [--format rawframes|videos] [--output OUT.json]

``frame_dir total_frames label [label ...]`` (rawframes) or ``path label [label ...]`` (videos)
lines become ``{"frame_dir", "total_frames", "label": [...]}`` / ``{"filename", "label": [...]}``
records; the output defaults to ANNOFILE with ``.txt`` replaced by ``.json``. The logic is in
actionkit.datasets.prep.annotations_json.
"""
from __future__ import annotations

import argparse
import sys

from actionkit.datasets.prep.annotations_json import FORMATS, convert_annotation_list
from actionkit.utils.cli_main import report_error, run_main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='Convert txt annotation list to json')
    parser.add_argument('annofile', type=str, help='the txt annotation file to convert')
    parser.add_argument('--format', type=str, default='rawframes', choices=list(FORMATS),
                        help='the format of the txt annotation file')
    parser.add_argument('--output', type=str, default=None,
                        help='the output file (default: annofile with .txt replaced by .json)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Convert; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        out = convert_annotation_list(args.annofile, args.format, args.output)
    except (OSError, ValueError) as err:
        return report_error(err, 'anno_txt2json')
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
