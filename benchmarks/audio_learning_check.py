"""The audio learning check in one command: generate the synthetic chirp set (if absent),
train ``configs/synthetic/audioonly_r50_48x1x1_synthetic_audio_feature.py`` on it with
``tools/train.py --validate --seed 0``, and print the val top-1 after each epoch, the best,
the wall time and the machine load before and after.

    OMP_NUM_THREADS=1 python benchmarks/audio_learning_check.py [--data DIR] [--work-dir DIR]

The target (issue 18): at least 95 % val top-1 within 3 minutes on 2 CPU cores. Results go in
docs/benchmarks.md ("Audio learning check").
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from learning_check import REPO, train_and_report

CONFIG = REPO / 'configs' / 'synthetic' / 'audioonly_r50_48x1x1_synthetic_audio_feature.py'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=str(REPO / 'data' / 'synthetic_audio'))
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'audio_learning_check'))
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / 'val_list_features.txt').is_file():
        from actionkit.datasets.synthetic_audio import make_synthetic_audio_dataset

        start = time.perf_counter()
        make_synthetic_audio_dataset(data, num_classes=4)
        print(f'generated {data} in {time.perf_counter() - start:.1f} s')
    options = []
    for split in ('train', 'val', 'test'):
        ann = data / ('train' if split == 'train' else 'val')
        options += [f'data.{split}.ann_file={ann}_list_features.txt',
                    f'data.{split}.data_prefix={data}']
    return train_and_report(CONFIG, args.work_dir, options)


if __name__ == '__main__':
    sys.exit(main())
