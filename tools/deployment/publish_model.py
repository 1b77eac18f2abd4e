"""Prepare a checkpoint for release: CPU weights and meta only (no optimizer or resume state),
the first 8 hex digits of the file's SHA-256 added to its name.

    python tools/deployment/publish_model.py work_dirs/tsn/latest.pth tsn_r50_kinetics400.pth
    # -> tsn_r50_kinetics400-1a2b3c4d.pth
"""
from __future__ import annotations

import argparse
import sys

from actionkit.engine.checkpoint import publish_checkpoint
from actionkit.models.weights import CheckpointError
from actionkit.utils.cli_main import report_error, run_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename (the hash is added)')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='allow a legacy checkpoint that needs full unpickling (trusted '
                             'files only)')
    args = parser.parse_args(argv)
    try:
        final = publish_checkpoint(args.in_file, args.out_file, args.allow_pickle)
    except (OSError, ValueError, CheckpointError) as err:
        return report_error(err, 'publish_model.py')
    print(final)
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
