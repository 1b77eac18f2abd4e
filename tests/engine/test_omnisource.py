"""OmniSource: auxiliary loaders in the one Trainer, as MMAction2 0.x's OmniSourceRunner, and
its data sets (ImageDataset, RawVideoDataset, BuildPseudoClip)."""
from __future__ import annotations

import random
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from actionkit.engine.trainer import Trainer


class _Tagged(Dataset):
    """Sample i of source s holds the value 100 * s + i."""

    def __init__(self, source: int, size: int) -> None:
        self.source, self.size = source, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        return {'imgs': torch.tensor([100.0 * self.source + i]), 'label': torch.tensor([0])}


class _Recorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 2)
        self.seen: list[int] = []

    def forward(self, imgs: torch.Tensor, label: Any = None, return_loss: bool = True,
                **kwargs: Any) -> Any:
        self.seen.extend(int(v) for v in imgs.flatten().tolist())
        return OrderedDict(loss_cls=F.cross_entropy(self.fc(imgs * 0), label.view(-1)))


def _loader(source: int, size: int, batch: int = 1) -> DataLoader:
    return DataLoader(_Tagged(source, size), batch_size=batch, shuffle=False)


def test_auxiliary_rounds_follow_train_ratio(tmp_path: Path) -> None:
    model = _Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, optimizer, [_loader(0, 4)], max_epochs=1, work_dir=str(tmp_path),
                      aux_loaders=[_loader(1, 3), _loader(2, 2)], train_ratio=[2, 1, 2])
    steps = []
    trainer.optimizer.step = lambda *a, **k: steps.append(trainer.iter)  # count the updates
    trainer.run()
    # a round after main iterations 0 and 2 (iter % 2 == 0): one aux0 batch, two aux1 batches;
    # aux1 (two batches) starts over in the second round, aux0 continues
    assert model.seen == [0, 100, 200, 201, 1, 2, 101, 200, 201, 3]
    assert trainer.iter == 4 and steps == [0, 0, 0, 0, 1, 2, 2, 2, 2, 3]
    assert {'loss_cls', 'loss_cls/aux0', 'loss_cls/aux1'} <= set(trainer.log_buffer.val_history)


def test_train_ratio_and_workflow_are_checked(tmp_path: Path) -> None:
    model = _Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match='train_ratio must hold one positive int per training '
                                         r'data set \(2\)'):
        Trainer(model, optimizer, [_loader(0, 2)], 1, str(tmp_path),
                aux_loaders=[_loader(1, 2)], train_ratio=[1])
    with pytest.raises(ValueError, match="workflow \\[\\('train', 1\\)\\] only"):
        Trainer(model, optimizer, [_loader(0, 2), _loader(0, 2)], 1, str(tmp_path),
                workflow=[('train', 1), ('val', 1)], aux_loaders=[_loader(1, 2)])


def test_train_model_with_omnisource_config(tmp_path: Path) -> None:
    from actionkit.apis.train import train_model
    from actionkit.config import Config
    cfg = Config(dict(
        omnisource=True,
        data=dict(videos_per_gpu=2, workers_per_gpu=0, omni_videos_per_gpu=[2, 1],
                  train_ratio=[1, 3]),
        optimizer=dict(type='SGD', lr=0.1), lr_config=None, total_epochs=1,
        work_dir=str(tmp_path), seed=0, gpu_ids=[0], log_config=dict(interval=1, hooks=[])))
    model = _Recorder()
    trainer = train_model(model, [_Tagged(0, 4), _Tagged(1, 5)], cfg)
    assert [loader.batch_size for loader in (trainer.data_loader, *trainer.aux_loaders)] == \
        [2, 1]
    # 2 main batches of 2, each followed by 3 aux batches of 1: 4 + 6 samples
    main = [v for v in model.seen if v < 100]
    aux = [v for v in model.seen if v >= 100]
    assert sorted(main) == [0, 1, 2, 3] and len(aux) == 6 and trainer.iter == 2
    cfg.data.train_ratio = [1, 2, 3]
    with pytest.raises(ValueError, match='train_ratio'):
        train_model(_Recorder(), [_Tagged(0, 4), _Tagged(1, 5)], cfg)


def test_image_dataset_and_pseudo_clips(tmp_path: Path) -> None:
    import cv2

    from actionkit.datasets import ImageDataset
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    image[..., 2] = 200  # red in RGB (BGR on disk)
    cv2.imwrite(str(tmp_path / 'a.png'), image)
    (tmp_path / 'list.txt').write_text('a.png 3\n')
    ds = ImageDataset(str(tmp_path / 'list.txt'),
                      [dict(type='ImageDecode'), dict(type='BuildPseudoClip', clip_len=3)],
                      data_prefix=str(tmp_path))
    out = ds[0]
    assert out['label'] == 3 and out['clip_len'] == 3 and out['num_clips'] == 1
    assert len(out['imgs']) == 3 and all(np.array_equal(im, out['imgs'][0]) for im in out['imgs'])
    assert out['imgs'][0][0, 0].tolist() == [200, 0, 0]
    assert out['imgs'][1] is not out['imgs'][0]  # copies, so later steps may change one
    with pytest.raises(ValueError, match='one image'):
        ds.pipeline.transforms[1](dict(imgs=[image, image]))


def test_raw_video_dataset_samples_clips(tmp_path: Path) -> None:
    from actionkit.datasets import RawVideoDataset
    (tmp_path / 'raw.txt').write_text('vids/a 66 10 3\nvids/b 4 5\nvids/c 2 4 0 1\n')
    ds = RawVideoDataset(str(tmp_path / 'raw.txt'), [], data_prefix='root')
    # b has no positive clip: dropped with the 'positive' strategy
    assert [info['video_dir'] for info in ds.video_infos] == ['root/vids/a', 'root/vids/c']
    assert ds[0]['filename'] == 'root/vids/a/part_3.mp4' and ds[0]['label'] == 66
    random.seed(0)
    assert {ds[1]['filename'] for _ in range(20)} == {'root/vids/c/part_0.mp4',
                                                      'root/vids/c/part_1.mp4'}
    ds = RawVideoDataset(str(tmp_path / 'raw.txt'), [], clipname_tmpl='_{}.mp4',
                         sampling_strategy='random')
    assert len(ds) == 3
    assert {ds[1]['filename'] for _ in range(40)} == {f'vids/b_{i}.mp4' for i in range(5)}
    (tmp_path / 'bad.txt').write_text('vids/a 66 x\n')
    with pytest.raises(ValueError, match=r'bad.txt:1: expected'):
        RawVideoDataset(str(tmp_path / 'bad.txt'), [])
