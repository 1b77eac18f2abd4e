"""Multigrid training: MMAction2 0.x's long-cycle schedule, lr, SubBatchNorm3D and a toy run.

The schedules below are worked by hand from the arithmetic of MMAction2's
LongShortCycleHook._get_long_cycle_schedule (see each test's comment).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actionkit.engine.hooks import HOOKS, HookBase
from actionkit.engine.multigrid import (LongShortCycleHook, RelativeStepLrUpdaterHook,
                                        ShortCycleSampler, long_cycle_schedule,
                                        multigrid_base_shape, relative_step_lrs, stage_pipeline)
from actionkit.models.sub_batchnorm3d import SubBatchNorm3D

MG = dict(long_cycle=True, short_cycle=False, epoch_factor=1.0,
          long_cycle_factors=[[0.5, 0.5], [1, 1]], short_cycle_factors=[0.5, 0.7071],
          default_s=(8, 8))


def test_long_cycle_schedule_without_short_cycle() -> None:
    # T=4, S=8: size 256. Cycle 0: t=2, s=4, batch 256/(2*16)=8; cycle 1: [1, 4, 8].
    # Milestones [0, 4]: cycle 0 gets 4*8/9 = 32/9 epochs, cycle 1 4/9 (4/9 iterations each,
    # 8/9 in all: a saving of 4.5); fine-tuning (6-4)/4.5*1 = 4/9. Stretched by 6/(40/9) =
    # 1.35: ends 4.8 -> 5, 5.4 -> 5, 6.0 -> 6.
    schedule, epochs = long_cycle_schedule(MG, 4, 8, [4], 6)
    assert schedule == [(0, [8, 2, 4], 5), (0, [1, 4, 8], 5), (1, [1, 4, 8], 6)]
    assert epochs == 6
    # lrs: 0.1*8, 0.1*1, 0.1*0.1*1, the fine-tuning split at (5+6)//2 with the last * gamma
    steps, lrs = relative_step_lrs(schedule, 0.1, 0.1)
    assert steps == [5, 5, 5, 6]
    assert lrs == pytest.approx([0.8, 0.1, 0.1, 0.001])


def test_short_cycle_counts_in_the_batch_averages_and_epoch_factor_stretches() -> None:
    # short sizes round(8*0.5)=4 and round(8*0.7071)=6: cycle 0 batches 8, round(256/72)=4, 8
    # (average 20/3); cycle 1: 4, round(256/144)=2, 1 (average 7/3). Epochs 4*(20/3)/9 = 80/27
    # and 28/27; fine-tuning 2/4.5*7/3 = 28/27; stretch 6/(136/27): ends 3.53 -> 4, 4.76 -> 5, 6
    schedule, epochs = long_cycle_schedule(dict(MG, short_cycle=True), 4, 8, [4], 6)
    assert schedule == [(0, [8, 2, 4], 4), (0, [1, 4, 8], 5), (1, [1, 4, 8], 6)]
    assert epochs == 6
    # epoch_factor 1.5: 9 epochs, every end stretched by 1.5 (7.2 -> 7, 8.1 -> 8, 9)
    schedule, epochs = long_cycle_schedule(dict(MG, epoch_factor=1.5), 4, 8, [4], 6)
    assert [end for *_, end in schedule] == [7, 8, 9] and epochs == 9


def test_the_slowfast_multigrid_config_schedule() -> None:
    from actionkit.config import Config
    root = Path(__file__).resolve().parents[2]
    cfg = Config.fromfile(str(root / 'configs/recognition/slowfast/'
                                     'slowfast_multigrid_r50_8x8x1_358e_kinetics400_rgb.py'))
    t, interval, s = multigrid_base_shape(cfg.data.train.pipeline)
    assert (t, interval, s) == (32, 2, 224)
    schedule, epochs = long_cycle_schedule(cfg.multigrid, t, s, cfg.lr_config.step,
                                           cfg.total_epochs)
    assert epochs == 358  # int(239 * 1.5), the 358e of the file name
    # shapes: t = 8, 16, 16, 32; s = round(224*.7071) = 158 or 224; batch 32*224^2/(t*s^2)
    assert [shape for _, shape, _ in schedule[:4]] == [[8, 8, 158], [4, 16, 158],
                                                       [2, 16, 224], [1, 32, 224]]
    assert [step for step, _, _ in schedule] == [0] * 4 + [1] * 4 + [2] * 4 + [3]
    assert schedule[-1][2] == 358 and schedule[3][2] == 158


def test_stage_pipeline_keeps_the_span_and_resizes_the_last_resize() -> None:
    pipeline = [dict(type='SampleFrames', clip_len=32, frame_interval=2),
                dict(type='Resize', scale=(-1, 256)), dict(type='Resize', scale=(224, 224))]
    stage = stage_pipeline(pipeline, 8, 158)
    assert stage[0] == dict(type='SampleFrames', clip_len=8, frame_interval=8)
    assert stage[1]['scale'] == (-1, 256) and stage[2]['scale'] == (158, 158)
    assert pipeline[0]['clip_len'] == 32  # the config is not changed
    with pytest.raises(ValueError, match='does not divide'):
        stage_pipeline(pipeline, 5, 100)
    with pytest.raises(ValueError, match='square scale'):
        multigrid_base_shape(pipeline[:2])


def test_relative_step_lr_warms_up_then_steps() -> None:
    hook = RelativeStepLrUpdaterHook([40, 50], [0.8, 0.1], warmup_epochs=34,
                                     warmuplr_start=0.01)
    trainer = type('T', (), {'max_epochs': 60})()
    expected = {0: 0.01, 17: 0.01 + 17 * 0.79 / 34, 34: 0.8, 35: 0.8, 40: 0.1, 60: 0.1}
    for epoch, lr in expected.items():
        trainer.epoch = epoch
        assert hook.get_lr(trainer, 123.0) == pytest.approx(lr)


def test_sub_batchnorm3d_splits_and_aggregates() -> None:
    bn = SubBatchNorm3D(1, num_splits=2, momentum=1.0)
    assert list(bn.state_dict()) == [
        'weight', 'bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked',
        'split_bn.running_mean', 'split_bn.running_var', 'split_bn.num_batches_tracked']
    # [N, C] -> [N/2, 2C]: sample i goes to split i % 2, so split 0 holds samples 0, 2 (values
    # 0, 2) and split 1 samples 1, 3 (4, 8)
    x = torch.tensor([0.0, 4.0, 2.0, 8.0]).view(4, 1, 1, 1, 1)
    out = bn.train()(x)
    # split 0: mean 1, biased var 1 -> -1, +1; split 1: mean 6, biased var 4 -> -1, +1
    assert out.flatten().tolist() == pytest.approx([-1.0, -1.0, 1.0, 1.0], abs=1e-4)
    assert bn.split_bn.running_mean.tolist() == [1.0, 6.0]
    assert bn.split_bn.running_var.tolist() == [2.0, 8.0]  # unbiased
    bn.aggregate_stats()
    # mean of the means 3.5; mean of the variances 5 + mean squared deviation 6.25
    assert bn.bn.running_mean.item() == 3.5 and bn.bn.running_var.item() == 11.25
    bn.eval()
    one_std_above = torch.full((1, 1, 1, 1, 1), 3.5 + 11.25 ** 0.5)
    assert bn(one_std_above).item() == pytest.approx(1.0, abs=1e-5)
    bn.set_num_splits(4)  # a multiple: tiled
    assert bn.split_bn.running_mean.tolist() == [1.0, 6.0, 1.0, 6.0]
    bn.set_num_splits(3)  # not a multiple: afresh
    assert bn.split_bn.running_mean.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match='does not split into 3'):
        bn.train()(x)


def test_short_cycle_sampler_batch_sizes() -> None:
    # crop 224, default_s 224, factors 0.5 and 0.7071: (1/0.5)^2 = 4, (1/0.7071)^2 = 2.0001 -> 2
    sampler = ShortCycleSampler(range(20), 2, dict(short_cycle_factors=[0.5, 0.7071],
                                                   default_s=(224, 224)), 224)
    assert sampler.batch_sizes == [8, 4, 2]
    batches = list(sampler)
    # 0-7 (cycle 0), 8-11 (cycle 1), 12-13 (cycle 2); the last 6 do not fill a cycle-0 batch
    assert [len(b) for b in batches] == [8, 4, 2]
    assert batches[0][0] == (0, 0) and batches[1][0] == (8, 1) and batches[2] == [(12, 2),
                                                                                  (13, 2)]
    assert len(sampler) == 4  # floor(20 / (14/3)), as MMAction2 counts (one more than yielded)


class _LrProbe(HookBase):
    lrs: list[float] = []

    def before_step(self, trainer: Any) -> None:
        self.lrs.append(trainer.optimizer.param_groups[0]['lr'])


class _TinyVideoNet(nn.Module):
    """conv -> SubBatchNorm3D -> pool -> fc; records the clip shape and splits per call."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 1)
        self.norm = SubBatchNorm3D(4)
        self.fc = nn.Linear(4, 10)
        self.seen: list[tuple] = []

    def forward(self, imgs: torch.Tensor, label: Any = None, return_loss: bool = True,
                **kwargs: Any) -> Any:
        self.seen.append((tuple(imgs.shape), self.norm.num_splits))
        x = self.norm(self.conv(imgs.flatten(0, 1)))  # [N, 4, T, H, W]
        scores = self.fc(x.mean((2, 3, 4)))
        if not return_loss:
            return scores.softmax(1).detach().numpy()
        return OrderedDict(loss_cls=F.cross_entropy(scores, label.view(-1)))


def test_a_toy_multigrid_run_follows_the_schedule(tmp_path: Path,
                                                  synthetic_data: dict[str, str]) -> None:
    from actionkit.apis.train import train_model
    from actionkit.config import Config
    from actionkit.datasets import build_dataset
    pipeline = [dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
                dict(type='RawFrameDecode'),
                dict(type='Resize', scale=(16, 16), keep_ratio=False),
                dict(type='Normalize', mean=[128.0] * 3, std=[64.0] * 3),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                dict(type='ToTensor', keys=['imgs', 'label'])]
    train = dict(type='RawframeDataset', ann_file=synthetic_data['train_list_rawframes'],
                 data_prefix=synthetic_data['rawframes_root'], pipeline=pipeline)
    # T=4, S=16, steps [1], 2 epochs: cycle 0 [8, 2, 8] gets 8/9 epochs, cycle 1 [1, 4, 16]
    # 1/9, fine-tuning 2/9; stretched by 18/11: ends 16/11 -> 1, 18/11 -> 2, 2
    cfg = Config(dict(
        data=dict(videos_per_gpu=2, workers_per_gpu=0, train=train),
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9), lr_config=dict(policy='step', step=[1]),
        total_epochs=2, multigrid=dict(MG, default_s=(16, 16)), work_dir=str(tmp_path), seed=0,
        gpu_ids=[0], log_config=dict(interval=1, hooks=[]), checkpoint_config=dict(interval=1)))
    model = _TinyVideoNet()
    HOOKS.register_module(name='_LrProbe', force=True, module=_LrProbe)
    cfg.custom_hooks = [dict(type='_LrProbe')]
    _LrProbe.lrs.clear()
    trainer = train_model(model, [build_dataset(train)], cfg)
    hook = next(h for h in trainer.hooks if isinstance(h, LongShortCycleHook))
    assert hook.schedule == [(0, [8, 2, 8], 1), (0, [1, 4, 16], 2), (1, [1, 4, 16], 2)]
    # epoch 1: 30 clips in batches of 2*8 (drop_last): one batch of 2 frames at 8x8, 8 splits;
    # epoch 2: 15 batches of 2 clips of 4 frames at 16x16, one split
    assert model.seen == [((16, 1, 3, 2, 8, 8), 8)] + [((2, 1, 3, 4, 16, 16), 1)] * 15
    # the lr warms up from 0.01 towards 0.1*8 over 34 epochs
    assert _LrProbe.lrs == pytest.approx([0.01] + [0.01 + 0.79 / 34] * 15)
    # the evaluation statistics were aggregated from the splits after the last epoch
    norm = model.norm
    assert torch.allclose(norm.bn.running_mean, norm.split_bn.running_mean)
