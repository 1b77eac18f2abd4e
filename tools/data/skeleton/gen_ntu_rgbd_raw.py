"""NTU RGB+D (60 or 120) raw .skeleton files to PoseDataset pickles, one folder per benchmark.

Example:
    python tools/data/skeleton/gen_ntu_rgbd_raw.py --data-path data/ntu/nturgb+d_skeletons_60 \\
        --out-folder data/ntu/nturgb+d_skeletons_60_3d --task ntu60
"""
import argparse
import logging
import sys
from pathlib import Path

from actionkit.datasets.prep.ntu_skeleton import convert_ntu_skeletons
from actionkit.utils.cli_main import run_main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-path', default='data/ntu/nturgb+d_skeletons_60/',
                        help='the folder of .skeleton files')
    parser.add_argument('--ignored-sample-path',
                        default='NTU_RGBD_samples_with_missing_skeletons.txt',
                        help='sample names to skip, one a line (skipped when absent)')
    parser.add_argument('--out-folder', default='data/ntu/nturgb+d_skeletons_60_3d')
    parser.add_argument('--task', default='ntu60', choices=['ntu60', 'ntu120'])
    parser.add_argument('--no-pre-norm', action='store_true',
                        help='keep the camera coordinates (no centring or alignment)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    ignored_file = Path(args.ignored_sample_path)
    ignored = ignored_file.read_text().split() if ignored_file.is_file() else []
    for path in convert_ntu_skeletons(args.data_path, args.out_folder, args.task, ignored,
                                      pre_norm=not args.no_pre_norm):
        sys.stdout.write(f'wrote {path}\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
