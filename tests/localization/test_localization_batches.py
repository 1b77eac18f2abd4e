"""Localization samples batch through the standard data loader (``gt_bbox`` per video)."""
import torch

from actionkit.config import Config
from actionkit.datasets.builder import build_dataloader, build_dataset
from actionkit.datasets.synthetic_localization import make_synthetic_localization
from actionkit.models import build_model


def test_bmn_trains_on_batches_of_videos_with_different_segment_counts(tmp_path):
    cfg = Config.fromfile('configs/localization/bmn/bmn_synthetic.py')
    paths = make_synthetic_localization(tmp_path / 'loc', num_videos=8,
                                        temporal_dim=cfg.temporal_dim, feat_dim=cfg.feat_dim,
                                        seed=0)
    train = cfg.data.train
    train.ann_file, train.data_prefix = paths['ann_file_train'], paths['data_root']
    dataset = build_dataset(train)
    counts = [len(dataset[i]['gt_bbox'].value) for i in range(len(dataset))]
    assert len(set(counts)) > 1, 'the test needs videos with different segment counts'
    loader = build_dataloader(dataset, videos_per_gpu=3, workers_per_gpu=0, shuffle=False)
    batch = next(iter(loader))
    assert isinstance(batch['gt_bbox'], list) and len(batch['gt_bbox']) == 3
    assert isinstance(batch['video_meta'], list) and len(batch['video_meta']) == 3
    model = build_model(cfg.model)
    losses = model(**batch, return_loss=True)
    total = sum(value for key, value in losses.items() if 'loss' in key)
    assert torch.isfinite(total)
    total.backward()
