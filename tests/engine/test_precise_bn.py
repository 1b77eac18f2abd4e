"""Precise BN: batch-norm statistics recomputed as MMAction2 0.x's update_bn_stats averages them."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from actionkit.engine.precise_bn import PreciseBNHook, update_bn_stats

sys.path.insert(0, str(Path(__file__).resolve().parent))


class _BNOnly(nn.Module):
    """A batch norm on the input itself, so its statistics are those of the batches."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(1)
        self.fc = nn.Linear(1, 2)

    def forward(self, imgs: torch.Tensor, label: Any = None, return_loss: bool = True,
                **kwargs: Any) -> Any:
        out = self.fc(self.bn(imgs))
        if return_loss:
            return {'loss_cls': nn.functional.cross_entropy(out, label.view(-1))}
        return out.detach().numpy()


class _Fixed(Dataset):
    def __init__(self, values: list[float]) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> dict:
        return {'imgs': torch.tensor([self.values[i]]), 'label': torch.tensor([i % 2])}


# batches [0, 2] and [4, 8]: means 1 and 6, unbiased variances 2 and 8; a third batch [100, 100]
# must not be seen with num_iters=2
VALUES = [0.0, 2.0, 4.0, 8.0, 100.0, 100.0]


def _loader() -> DataLoader:
    return DataLoader(_Fixed(VALUES), batch_size=2, shuffle=False)


def test_stats_are_the_average_of_the_per_batch_stats() -> None:
    model = _BNOnly()
    model.bn.momentum = 0.3
    update_bn_stats(model, _loader(), num_iters=2)
    # mean of the batch means (1+6)/2; mean of the batch variances (2+8)/2 (MMAction2's
    # averaging; the variance of all four values would be 35/3)
    assert model.bn.running_mean.item() == pytest.approx(3.5)
    assert model.bn.running_var.item() == pytest.approx(5.0)
    assert model.bn.momentum == 0.3 and model.training


def test_too_few_batches_and_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match='num_iters=4 is more than the 3 batches'):
        update_bn_stats(_BNOnly(), _loader(), num_iters=4)
    with pytest.raises(ValueError, match='num_iters=4 is more than the 3'):
        PreciseBNHook(_loader(), num_iters=4)
    with pytest.raises(ValueError, match='interval'):
        PreciseBNHook(_loader(), num_iters=1, interval=0)
    with pytest.raises(TypeError, match='DataLoader'):
        PreciseBNHook([1, 2], num_iters=1)


def test_hook_respects_the_interval() -> None:
    model = _BNOnly()
    hook = PreciseBNHook(_loader(), num_iters=1, interval=2)
    trainer = SimpleNamespace(model=model, device=torch.device('cpu'), epoch=0)
    hook.after_epoch(trainer)  # epoch 1 of every 2: nothing
    assert model.bn.running_mean.item() == 0.0 and model.bn.running_var.item() == 1.0
    trainer.epoch = 1
    hook.after_epoch(trainer)  # epoch 2: the first batch [0, 2]
    assert model.bn.running_mean.item() == pytest.approx(1.0)
    assert model.bn.running_var.item() == pytest.approx(2.0)


def test_train_model_runs_precise_bn_from_the_config(tmp_path: Path) -> None:
    from engine_toys import ToyRecognizer

    from actionkit.apis.train import train_model
    from actionkit.config import Config
    from actionkit.datasets import build_dataset
    data = dict(videos_per_gpu=8, workers_per_gpu=0,
                train=dict(type='ToyDataset', num_samples=8, jitter=0.0))
    cfg = Config(dict(model=dict(type='ToyRecognizer'), data=data,
                      optimizer=dict(type='SGD', lr=0.1), lr_config=None, total_epochs=1,
                      precise_bn=dict(num_iters=1, interval=1), work_dir=str(tmp_path), seed=0,
                      gpu_ids=[0], log_config=dict(interval=1, hooks=[])))
    model = ToyRecognizer(with_bn=True)
    trainer = train_model(model, [build_dataset(data['train'])], cfg)
    # the statistics are now those of the final fc1 over the whole (unjittered) data set, one
    # batch of 8 (the running averages of training would be ~0.1 of the way there)
    dataset = build_dataset(data['train'])
    x = torch.stack([dataset[i]['imgs'] for i in range(8)])
    with torch.no_grad():
        feats = trainer.model.fc1(x)
    assert torch.allclose(model.bn.running_mean, feats.mean(0), atol=1e-5)
    assert torch.allclose(model.bn.running_var, feats.var(0), atol=1e-5)


def _ddp_worker(out_dir: str) -> None:
    from actionkit.datasets.builder import build_dataloader
    from actionkit.engine.dist import get_dist_info, wrap_model
    torch.set_num_threads(1)
    rank, _ = get_dist_info()
    model = wrap_model(_BNOnly(), torch.device('cpu'), distributed=True)
    # the sampler gives rank 0 samples 0, 2 (values 0, 4) and rank 1 samples 1, 3 (2, 8)
    loader = build_dataloader(_Fixed(VALUES[:4]), videos_per_gpu=2, workers_per_gpu=0,
                              dist=True, shuffle=False)
    update_bn_stats(model, loader, num_iters=1)
    bn = model.module.bn
    Path(out_dir, f'rank{rank}.txt').write_text(f'{bn.running_mean.item()} '
                                                f'{bn.running_var.item()}')


@pytest.mark.slow
def test_ranks_average_their_statistics_under_ddp(tmp_path: Path) -> None:
    from actionkit.engine.dist import launch
    launch(_ddp_worker, nprocs=2, args=(str(tmp_path),), timeout=120)
    # rank 0: mean 2, var 8; rank 1: mean 5, var 18; both ranks end with (3.5, 13)
    for rank in (0, 1):
        mean, var = map(float, (tmp_path / f'rank{rank}.txt').read_text().split())
        assert mean == pytest.approx(3.5) and var == pytest.approx(13.0)
