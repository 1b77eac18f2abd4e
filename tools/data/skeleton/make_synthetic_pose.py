"""Write the synthetic skeleton dataset (train.pkl, val.pkl) used by configs/synthetic/*_pose.py.

Example: python tools/data/skeleton/make_synthetic_pose.py data/synthetic_pose
"""
import argparse
import sys

from actionkit.datasets.synthetic_pose import make_synthetic_pose_dataset
from actionkit.utils.cli_main import run_main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', default='data/synthetic_pose')
    parser.add_argument('--num-train', type=int, default=600)
    parser.add_argument('--num-val', type=int, default=180)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    paths = make_synthetic_pose_dataset(args.out_dir, args.num_train, args.num_val,
                                        seed=args.seed)
    sys.stdout.write(f'wrote {paths["train"]} and {paths["val"]}\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
