"""The ViT learning check in one command: generate the synthetic action set with 10 000
training clips (if absent; the demo's generator and seed, so its 500 validation clips are the
demo's), train ``configs/synthetic/videomae_vit-tiny_8x4x1_synthetic_video.py`` on it with
``tools/train.py --validate --seed 0``, and print the val top-1 after each epoch, the best, the
wall time and the machine load before and after.

    OMP_NUM_THREADS=1 python benchmarks/vit_learning_check.py [--data DIR] [--work-dir DIR]

The target (issue 20): at least 95 % val top-1 for a VideoMAE-style ViT at small width, from
scratch. Results go in docs/benchmarks.md ("ViT learning check").
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from learning_check import REPO, train_and_report

CONFIG = REPO / 'configs' / 'synthetic' / 'videomae_vit-tiny_8x4x1_synthetic_video.py'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(REPO / 'data' / 'synthetic_10k'))
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'vit_learning_check'))
    parser.add_argument('--num-train', type=int, default=10000)
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / 'val_list_videos.txt').is_file():
        from actionkit.datasets.synthetic import make_synthetic_dataset

        start = time.perf_counter()
        make_synthetic_dataset(data, num_train=args.num_train, num_val=500, layouts=['videos'])
        print(f'generated {data} in {time.perf_counter() - start:.1f} s')
    options = []
    for split in ('train', 'val', 'test'):
        ann = data / f'{"train" if split == "train" else "val"}_list_videos.txt'
        options += [f'data.{split}.ann_file={ann}', f'data.{split}.data_prefix={data / "videos"}']
    return train_and_report(CONFIG, args.work_dir, options)


if __name__ == '__main__':
    sys.exit(main())
