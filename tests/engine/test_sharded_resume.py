"""A run over a streaming (sharded) dataset, stopped after a mid-epoch checkpoint and resumed
from it, ends with exactly the weights of an uninterrupted run; the resumed epoch does not
decode the samples it had already trained on.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_toys import ToyRecognizer

from actionkit.datasets import PIPELINES, build_dataset
from actionkit.datasets.builder import build_dataloader
from actionkit.datasets.prep.shards import write_shards
from actionkit.engine import CheckpointHook, HookBase, Trainer, build_optimizer

_spec = importlib.util.spec_from_file_location(
    '_resume_tests', Path(__file__).with_name('test_mid_epoch_resume.py'))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
_seed, _Record, _KillAfter = _helpers._seed, _helpers._Record, _helpers._KillAfter
_DrawsLikeDropout = _helpers._DrawsLikeDropout

NUM = 24  # batches of 4: 6 iterations an epoch
STOP_AT = 8  # epoch 2, 2 of its 6 batches done


@PIPELINES.register_module(force=True)
class _CountDecodes:
    """Counts the samples decoded in this process (the test runs without workers)."""

    calls = 0

    def __call__(self, results: dict) -> dict:
        type(self).calls += 1
        return results


@pytest.fixture(scope='module')
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from actionkit.datasets.prep.video_io import write_video

    root = tmp_path_factory.mktemp('resume')
    (root / 'videos').mkdir()
    rng = np.random.default_rng(0)
    for index in range(NUM):
        label = index % 3
        frames = rng.integers(0, 60, (4, 8, 8, 3), dtype=np.uint8) + np.uint8(60 * label)
        write_video(root / 'videos' / f'v{index}.mp4', frames, gop=2)
    (root / 'list.txt').write_text(''.join(f'v{i}.mp4 {i % 3}\n' for i in range(NUM)))
    write_shards(root / 'list.txt', root / 'videos', root / 'shards', shard_size=5)
    return root / 'shards' / 'index.json'


def _trainer(index: Path, work_dir: Path, workers: int, hooks: list) -> Trainer:
    pipeline = [dict(type='PyAVInit'), dict(type='_CountDecodes'),
                dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=1),
                dict(type='PyAVDecode'), dict(type='Resize', scale=(2, 2), keep_ratio=False),
                dict(type='Flip', flip_ratio=0.5),
                # small inputs: the toy model's ReLUs stay alive, so the loss depends on them
                dict(type='Normalize', mean=[90.0] * 3, std=[50.0] * 3, to_bgr=False),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
                dict(type='ToTensor', keys=['imgs', 'label'])]
    dataset = build_dataset(dict(type='ShardedVideoDataset', ann_file=str(index),
                                 pipeline=pipeline, shuffle_buffer=4))
    loader = build_dataloader(dataset, videos_per_gpu=4, workers_per_gpu=workers, seed=3)
    model = ToyRecognizer(in_features=12)  # [3, 1, 2, 2] clips
    optimizer = build_optimizer(model, dict(type='SGD', lr=0.05, momentum=0.9))
    return Trainer(model, optimizer, [loader], max_epochs=3, work_dir=str(work_dir),
                   hooks=[_DrawsLikeDropout(), *hooks])


def _record_inputs(trainer: Trainer) -> dict[int, torch.Tensor]:
    """The clips of every training step, by iteration."""
    seen: dict[int, torch.Tensor] = {}
    step = trainer.run_step

    def run_step(batch: dict, log_suffix: str = '') -> None:
        seen[trainer.iter] = batch['imgs'].clone()
        step(batch, log_suffix)

    trainer.run_step = run_step
    return seen


@pytest.mark.parametrize('workers', [0, 2])
def test_killed_and_resumed_run_ends_with_the_same_weights(shards: Path, tmp_path: Path,
                                                           workers: int) -> None:
    _seed(1)
    full_record = _Record()
    full = _trainer(shards, tmp_path / 'full', workers, [full_record])
    assert len(full.data_loader) == 6
    full_inputs = _record_inputs(full)
    full.run()

    _seed(1)
    first = _trainer(shards, tmp_path / 'resumed', workers,
                     [CheckpointHook(interval=STOP_AT, by_epoch=False), _KillAfter(STOP_AT)])
    with pytest.raises(KeyboardInterrupt):
        first.run()
    checkpoint = tmp_path / 'resumed' / f'iter_{STOP_AT}.pth'
    state = torch.load(checkpoint, weights_only=True)['resume_state']
    loader_state = state['loader_state']
    assert (loader_state['epoch'], loader_state['batches_done']) == (1, 2)
    # batches of 4 over the workers in turn: 8 samples from one stream, or 4 + 4 from two
    assert loader_state['samples_consumed'] == ([8] if workers == 0 else [4, 4])

    _seed(99)  # another init and random state: the checkpoint restores everything
    record = _Record()
    second = _trainer(shards, tmp_path / 'resumed', workers, [record])
    second.resume(str(checkpoint))
    inputs = _record_inputs(second)
    _CountDecodes.calls = 0
    second.run()
    # the same clips, sampled and flipped the same way
    assert all(torch.equal(inputs[it], full_inputs[it]) for it in inputs)
    if workers == 0:  # the 8 samples trained on before the stop are not decoded again
        assert _CountDecodes.calls == 3 * NUM - STOP_AT * 4
    assert sorted(record.steps) == list(range(STOP_AT, 18))
    for it, step in record.steps.items():
        assert step == full_record.steps[it], it
    expected, got = full.model.state_dict(), second.model.state_dict()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_the_trainer_sets_the_epoch_of_a_streaming_dataset(shards: Path, tmp_path: Path) -> None:
    seen: set[tuple[int, int]] = set()

    class _Seen(HookBase):
        def after_step(self, trainer: Trainer) -> None:
            seen.add((trainer.epoch, trainer.data_loader.dataset.epoch))

    _seed(0)
    _trainer(shards, tmp_path, 0, [_Seen()]).run()
    assert seen == {(0, 0), (1, 1), (2, 2)}
