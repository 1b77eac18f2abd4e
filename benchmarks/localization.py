"""Benchmark: BMN and BSN vs. a sliding-window baseline on the synthetic localization set (CPU).

Writes the synthetic ActivityNet-layout dataset (feature sequences with known action
segments), builds the models, the datasets and their pipelines from
``configs/localization/bmn/bmn_synthetic.py`` and ``configs/localization/bsn/bsn_*_synthetic.py``
and trains them with short explicit loops (Adam and the step schedules of the configs; batches
are made here so that ``gt_bbox`` / ``bsp_feature`` stay lists of per-video arrays). BSN runs
its three stages: TEM, then PGM (candidate proposals and BSP features written to disk), then
PEM. The proposals of the validation videos are scored with AR@AN
(``ActivityNetDataset.evaluate``), next to uniform multi-scale sliding windows, which ignore
the features. Prints AR@1/5/10/100, AUC and the train / test times.

Run:
    python benchmarks/localization.py                          # 1-3 minutes on 2 cores
    python benchmarks/localization.py --epochs 2 --num-videos 40   # a quick smoke run
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actionkit.config import Config
from actionkit.datasets import build_dataloader, build_dataset
from actionkit.datasets.synthetic_localization import make_synthetic_localization
from actionkit.datasets.pipelines.localization import LoadProposals
from actionkit.models import build_model
from actionkit.models.localizers.utils import (PROPOSAL_HEADER, generate_bsp_feature,
                                               generate_candidate_proposals,
                                               sliding_window_proposals)

CONFIGS = Path(__file__).resolve().parents[1] / 'configs' / 'localization'
CONFIG = CONFIGS / 'bmn' / 'bmn_synthetic.py'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(CONFIG))
    parser.add_argument('--num-videos', type=int, default=240, help='75%% train, 25%% val')
    parser.add_argument('--epochs', type=int, default=None, help='default: the config\'s')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (1 is fastest on a loaded machine)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', default=None, help='keep the data here (default: temp)')
    parser.add_argument('--no-bsn', action='store_true', help='skip the three BSN stages')
    return parser.parse_args(argv)


def load_config(path: str, paths: dict[str, Any]) -> Config:
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({'data.train.ann_file': paths['ann_file_train'],
                         'data.train.data_prefix': paths['data_root'],
                         'data.test.ann_file': paths['ann_file_val'],
                         'data.test.data_prefix': paths['data_root']})
    return cfg


def train(model: torch.nn.Module, samples: list[dict], cfg: Config, epochs: int, seed: int,
          keys: tuple[str, ...] = ('raw_feature', 'gt_bbox')) -> list[float]:
    """Adam with the config's lr, weight decay and step decay; mean loss of each epoch.

    The first of ``keys`` is stacked into a batch tensor, the others stay per-video lists.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.optimizer.lr,
                                 weight_decay=cfg.optimizer.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.lr_config.step)
    batch_size = cfg.data.videos_per_gpu
    generator = torch.Generator().manual_seed(seed)
    epoch_losses = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(samples), generator=generator).tolist()
        losses = []
        for i in range(0, len(order) - batch_size + 1, batch_size):  # drop_last
            batch = [samples[j] for j in order[i:i + batch_size]]
            data = {key: [s[key] for s in batch] for key in keys}
            if keys[0] == 'raw_feature':
                data['raw_feature'] = torch.stack(data['raw_feature'])
            outputs = model.train_step(data, optimizer)
            optimizer.zero_grad()
            outputs['loss'].backward()
            optimizer.step()
            losses.append(outputs['log_vars']['loss'])
        scheduler.step()
        epoch_losses.append(float(np.mean(losses)))
    return epoch_losses


@torch.no_grad()
def predict(model: torch.nn.Module, dataset: Any) -> list[dict[str, Any]]:
    model.eval()
    results = []
    for batch in build_dataloader(dataset, 1, 0, shuffle=False):
        results.extend(model(**batch, return_loss=False))
    return results


def sliding_windows(dataset: Any) -> list[dict[str, Any]]:
    """Windows over the part of each video the features cover (where BMN proposes too)."""
    results = []
    for info in dataset.video_infos:
        covered = info['feature_frame'] / info['duration_frame'] * info['duration_second']
        results.append(dict(video_name=info['video_name'],
                            proposal_list=sliding_window_proposals(covered)))
    return results


def run_bsn(paths: dict[str, Any], train_samples: list[dict], val_set: Any, work_dir: str,
            seed: int) -> tuple[list[dict], float, float]:
    """TEM -> PGM -> PEM with the synthetic BSN configs; returns the val proposals and the
    train / test times (PGM counts in both: it runs on the train and the val videos)."""
    tem_cfg = Config.fromfile(str(CONFIGS / 'bsn' / 'bsn_tem_synthetic.py'))
    pgm_cfg = Config.fromfile(str(CONFIGS / 'bsn' / 'bsn_pgm_synthetic.py'))
    pem_cfg = Config.fromfile(str(CONFIGS / 'bsn' / 'bsn_pem_synthetic.py'))
    dirs = {name: os.path.join(work_dir, name) for name in ('tem', 'proposals', 'features')}
    full_set = build_dataset(dict(tem_cfg.data.test, ann_file=paths['ann_file_full'],
                                  data_prefix=paths['data_root']))
    train_names = {s['video_meta']['video_name'] for s in train_samples}
    start = time.perf_counter()
    tem = build_model(tem_cfg.model)
    train(tem, train_samples, tem_cfg, tem_cfg.total_epochs, seed)
    tem_results = predict(tem, full_set)
    full_set.dump_results(tem_results, dirs['tem'], output_format='csv')
    infos = {'train': [i for i in full_set.video_infos if i['video_name'] in train_names],
             'val': list(val_set.video_infos)}
    for split, top_k in (('train', pgm_cfg.pgm_features_train_cfg.top_k),
                         ('val', pgm_cfg.pgm_features_test_cfg.top_k)):
        videos = range(len(infos[split]))
        proposals = generate_candidate_proposals(
            videos, infos[split], dirs['tem'], pgm_cfg.temporal_scale,
            pgm_cfg.pgm_proposals_cfg.peak_threshold)
        os.makedirs(dirs['proposals'], exist_ok=True)
        for name, rows in proposals.items():
            np.savetxt(os.path.join(dirs['proposals'], name + '.csv'), rows,
                       header=PROPOSAL_HEADER, delimiter=',', comments='')
        features = generate_bsp_feature(videos, infos[split], dirs['tem'], dirs['proposals'],
                                        top_k=top_k)
        os.makedirs(dirs['features'], exist_ok=True)
        for name, feature in features.items():
            np.save(os.path.join(dirs['features'], name + '.npy'), feature)
    load = LoadProposals(pgm_cfg.pgm_features_train_cfg.top_k, dirs['proposals'],
                         dirs['features'])
    pem_samples = [{k: torch.from_numpy(np.asarray(v)) for k, v in load(dict(
        video_name=info['video_name'])).items() if k != 'video_name'} for info in infos['train']]
    pem = build_model(pem_cfg.model)
    train(pem, pem_samples, pem_cfg, pem_cfg.total_epochs, seed,
          keys=('bsp_feature', 'reference_temporal_iou'))
    train_time = time.perf_counter() - start
    start = time.perf_counter()
    load = LoadProposals(pgm_cfg.pgm_features_test_cfg.top_k, dirs['proposals'],
                         dirs['features'])
    results = []
    pem.eval()
    with torch.no_grad():
        for info in infos['val']:
            sample = load(dict(video_name=info['video_name']))
            results += pem(**{k: torch.from_numpy(sample[k])[None] for k in (
                'bsp_feature', 'tmin', 'tmax', 'tmin_score', 'tmax_score')},
                video_meta=[info], return_loss=False)
    return results, train_time, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    tmp = None if args.work_dir else tempfile.TemporaryDirectory()
    work_dir = args.work_dir or tmp.name  # type: ignore[union-attr]
    cfg = Config.fromfile(args.config)
    start = time.perf_counter()
    paths = make_synthetic_localization(os.path.join(work_dir, 'synthetic_localization'),
                                        args.num_videos, temporal_dim=cfg.temporal_dim,
                                        feat_dim=cfg.feat_dim, seed=args.seed)
    cfg = load_config(args.config, paths)
    train_set, val_set = build_dataset(cfg.data.train), build_dataset(cfg.data.test)
    samples = [train_set[i] for i in range(len(train_set))]
    data_time = time.perf_counter() - start

    model = build_model(cfg.model)
    epochs = args.epochs or cfg.total_epochs
    start = time.perf_counter()
    losses = train(model, samples, cfg, epochs, args.seed)
    train_time = time.perf_counter() - start
    start = time.perf_counter()
    bmn_results = predict(model, val_set)
    test_time = time.perf_counter() - start

    rows = [('sliding windows', val_set.evaluate(sliding_windows(val_set), logger='silent'),
             '-', '-'),
            ('BMN', val_set.evaluate(bmn_results, logger='silent'), f'{train_time:.1f}',
             f'{1000 * test_time / len(val_set):.1f}')]
    if not args.no_bsn:
        bsn_results, bsn_train, bsn_test = run_bsn(paths, samples, val_set, work_dir, args.seed)
        rows.append(('BSN (TEM+PGM+PEM)', val_set.evaluate(bsn_results, logger='silent'),
                     f'{bsn_train:.1f}', f'{1000 * bsn_test / len(val_set):.1f}'))
    print(f'synthetic localization: {len(train_set)} train / {len(val_set)} val videos, '
          f'T={cfg.temporal_dim}, feat_dim={cfg.feat_dim}; data {data_time:.1f} s; BMN '
          f'{epochs} epochs, batch {cfg.data.videos_per_gpu}, {torch.get_num_threads()} '
          f'thread(s); train loss {losses[0]:.3f} -> {losses[-1]:.3f}')
    print('| method            | AR@1  | AR@5  | AR@10 | AR@100 | AUC   | train s '
          '| test ms/video |')
    print('|-------------------|-------|-------|-------|--------|-------|---------|---------------|')
    for name, metrics, train_s, test_ms in rows:
        print(f'| {name:<18}| {metrics["AR@1"]:.3f} | {metrics["AR@5"]:.3f} | '
              f'{metrics["AR@10"]:.3f} | {metrics["AR@100"]:.3f}  | {metrics["auc"]:5.2f} | '
              f'{train_s:>7} | {test_ms:>13} |')
    if tmp is not None:
        tmp.cleanup()


if __name__ == '__main__':
    main()
