r"""BSN stage 2 (PGM): TEM results -> candidate proposals (CSV) -> BSP features (.npy).

Reads ``tem_results_dir``, ``pgm_proposals_dir``, ``pgm_features_dir``, ``pgm_proposals_cfg``
and ``pgm_features_{train,test}_cfg`` from a PGM config (e.g.
configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py) and processes the videos of
``ann_file_val`` (``--mode test``) or ``ann_file_train`` (``--mode train``).

Example:
    python tools/misc/bsn_proposal_generation.py \
        configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py --mode train
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from actionkit.config import Config
from actionkit.datasets.activitynet_dataset import load_activitynet_annotations
from actionkit.models.localizers.utils import (PROPOSAL_HEADER, generate_bsp_feature,
                                               generate_candidate_proposals)
from actionkit.utils.cli_main import run_main


def _run_in_workers(func: Callable[..., dict], video_infos: list[dict], num_workers: int,
                    *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
    """``func(video_indices, video_infos, *args, **kwargs)`` over ``num_workers`` chunks."""
    chunks = [list(c) for c in np.array_split(np.arange(len(video_infos)), max(1, num_workers))
              if len(c)]
    if len(chunks) <= 1:
        return func(range(len(video_infos)), video_infos, *args, **kwargs)
    results: dict[str, np.ndarray] = {}
    with ProcessPoolExecutor(len(chunks)) as pool:
        futures = [pool.submit(func, chunk, video_infos, *args, **kwargs) for chunk in chunks]
        for future in futures:
            results.update(future.result())
    return results


def generate_proposals(ann_file: str, tem_results_dir: str, pgm_proposals_dir: str,
                       pgm_proposals_thread: int = 1, **kwargs: Any) -> int:
    """Write ``<pgm_proposals_dir>/<video>.csv`` for every video; returns how many."""
    video_infos = load_activitynet_annotations(ann_file)
    proposals = _run_in_workers(generate_candidate_proposals, video_infos, pgm_proposals_thread,
                                tem_results_dir, **kwargs)
    os.makedirs(pgm_proposals_dir, exist_ok=True)
    for name, rows in proposals.items():
        np.savetxt(osp.join(pgm_proposals_dir, name + '.csv'), rows, header=PROPOSAL_HEADER,
                   delimiter=',', comments='')
    return len(proposals)


def generate_features(ann_file: str, tem_results_dir: str, pgm_proposals_dir: str,
                      pgm_features_dir: str, pgm_features_thread: int = 1,
                      **kwargs: Any) -> int:
    """Write ``<pgm_features_dir>/<video>.npy`` for every video; returns how many."""
    video_infos = load_activitynet_annotations(ann_file)
    features = _run_in_workers(generate_bsp_feature, video_infos, pgm_features_thread,
                               tem_results_dir, pgm_proposals_dir, **kwargs)
    os.makedirs(pgm_features_dir, exist_ok=True)
    for name, feature in features.items():
        np.save(osp.join(pgm_features_dir, name + '.npy'), feature)
    return len(features)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='BSN proposal generation module (PGM)')
    parser.add_argument('config', help='PGM config file')
    parser.add_argument('--mode', choices=['train', 'test'], default='test',
                        help='train: ann_file_train and pgm_features_train_cfg; '
                             'test: ann_file_val and pgm_features_test_cfg')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    ann_file = cfg.ann_file_train if args.mode == 'train' else cfg.ann_file_val
    features_cfg = dict(cfg.pgm_features_train_cfg if args.mode == 'train'
                        else cfg.pgm_features_test_cfg)
    num = generate_proposals(ann_file, cfg.tem_results_dir, cfg.pgm_proposals_dir,
                             **dict(cfg.pgm_proposals_cfg))
    print(f'wrote proposals of {num} videos to {cfg.pgm_proposals_dir}')
    num = generate_features(ann_file, cfg.tem_results_dir, cfg.pgm_proposals_dir,
                            cfg.pgm_features_dir, **features_cfg)
    print(f'wrote BSP features of {num} videos to {cfg.pgm_features_dir}')


if __name__ == '__main__':
    sys.exit(run_main(main))
