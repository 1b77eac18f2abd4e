"""The training loop: logs, exact resume, bad samples, NaN stops, hooks, AMP, clipping."""
from __future__ import annotations

import importlib.util
import json
import logging
import random
import sys
import types
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from engine_toys import RecordingHook, ToyDataset, ToyRecognizer
from torch.utils.data import DataLoader

from actionkit.datasets.builder import build_dataloader
from actionkit.engine import (CheckpointHook, EvalHook, HookBase, Trainer, build_logger_hooks,
                              build_lr_hook, build_optimizer)

REPO = Path(__file__).resolve().parents[2]
ANALYZE_LOGS = REPO / '.cache' / 'mmaction2-0.24.1' / 'mmaction' / '.mim' / 'tools' / 'analysis' / \
    'analyze_logs.py'


def _seed(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _loader(dataset: Any, workers: int = 0, shuffle: bool = True, batch: int = 4) -> DataLoader:
    return build_dataloader(dataset, videos_per_gpu=batch, workers_per_gpu=workers,
                            shuffle=shuffle, seed=0 if shuffle else None)


def _trainer(work_dir: Path, epochs: int = 2, model: Any = None, dataset: Any = None,
             hooks: Sequence[HookBase] = (), workers: int = 0, log_interval: int = 2,
             val: bool = False, **kwargs: Any) -> Trainer:
    model = model if model is not None else ToyRecognizer()
    optimizer = build_optimizer(model, dict(type='SGD', lr=0.1, momentum=0.9,
                                            weight_decay=1e-4))
    all_hooks = [build_lr_hook(dict(policy='step', step=[2], warmup='linear', warmup_iters=3)),
                 CheckpointHook(interval=1),
                 *build_logger_hooks(dict(interval=log_interval,
                                          hooks=[dict(type='TextLoggerHook')]))]
    if val:
        all_hooks.append(EvalHook(_loader(ToyDataset(12, test_mode=True), shuffle=False)))
    all_hooks.extend(hooks)
    loader = _loader(dataset if dataset is not None else ToyDataset(24), workers)
    return Trainer(model, optimizer, [loader], max_epochs=epochs, work_dir=str(work_dir),
                   hooks=all_hooks, meta=dict(seed=0, config_name='toy.py'),
                   timestamp='20240101_000000', **kwargs)


def _json_lines(work_dir: Path) -> list[dict]:
    return [json.loads(line) for line in
            (work_dir / '20240101_000000.log.json').read_text().splitlines()]


def test_training_learns_and_writes_mmaction_logs(tmp_path: Path) -> None:
    _seed()
    trainer = _trainer(tmp_path, epochs=3, val=True, grad_clip=dict(max_norm=40, norm_type=2))
    trainer.run()
    lines = _json_lines(tmp_path)
    assert lines[0] == {'seed': 0, 'config_name': 'toy.py', 'hook_msgs': {}}
    train = [x for x in lines[1:] if x['mode'] == 'train']
    val = [x for x in lines[1:] if x['mode'] == 'val']
    assert [(x['epoch'], x['iter']) for x in train] == [
        (e, i) for e in (1, 2, 3) for i in (2, 4, 6)]
    assert list(train[0])[:4] == ['mode', 'epoch', 'iter', 'lr']
    assert 'memory' not in train[0]  # GPU memory only, as MMAction2: none on the CPU
    assert {'data_time', 'time', 'loss_cls', 'top1_acc', 'loss', 'grad_norm'} <= set(train[0])
    assert train[-1]['loss'] < train[0]['loss']
    # val lines: one after each epoch, the number of val batches as iter, no timing
    assert [(x['epoch'], x['iter']) for x in val] == [(1, 3), (2, 3), (3, 3)]
    assert 'time' not in val[0] and val[-1]['top1_acc'] >= 0.9
    # the lr of the logged (last) iteration: warmup 0.04 at iteration 2, step at epoch 3
    assert train[0]['lr'] == pytest.approx(0.04) and train[-1]['lr'] == pytest.approx(0.01)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ['20240101_000000.log.json', 'best_top1_acc_epoch_1.pth', 'epoch_1.pth',
                     'epoch_2.pth', 'epoch_3.pth', 'latest.pth']


@pytest.mark.skipif(not ANALYZE_LOGS.exists(), reason='MMAction2 0.24.1 sources not unpacked in '
                    '.cache/; this checks our .log.json with its tools/analysis/analyze_logs.py')
def test_mmaction_analyze_logs_reads_our_json_log(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib
    matplotlib.use('Agg')
    _seed()
    _trainer(tmp_path, epochs=2, val=True).run()
    seaborn = types.ModuleType('seaborn')
    seaborn.set_style = lambda style: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, 'seaborn', seaborn)
    spec = importlib.util.spec_from_file_location('analyze_logs', ANALYZE_LOGS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    log = str(tmp_path / '20240101_000000.log.json')
    log_dicts = module.load_json_logs([log])
    assert sorted(log_dicts[0]) == [1, 2]
    for keys in (['loss_cls', 'top1_acc'], ['loss']):
        out = tmp_path / f'{keys[0]}.png'
        args = types.SimpleNamespace(json_logs=[log], keys=keys, title=None, legend=None,
                                     backend='Agg', style='dark', out=str(out))
        module.plot_curve(log_dicts, args)
        assert out.stat().st_size > 0
    args = types.SimpleNamespace(json_logs=[log], include_outliers=False)
    module.cal_train_time(log_dicts, args)


class _StopBefore(HookBase):
    """Simulates Ctrl-C when training reaches ``epoch`` (1-based)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def before_epoch(self, trainer: Trainer) -> None:
        if trainer.epoch + 1 == self.epoch:
            raise KeyboardInterrupt


def _state(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = {f'model.{k}': v.clone() for k, v in trainer.model.state_dict().items()}
    for index, value in trainer.optimizer.state.items():
        state[f'momentum.{id(index)}'] = value['momentum_buffer'].clone()
    return state


@pytest.mark.parametrize('workers', [0, 2])
def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path: Path, workers: int) -> None:
    dataset = ToyDataset(20)  # 5 iterations an epoch, jitter from torch and numpy

    _seed(1)
    full = _trainer(tmp_path / 'full', epochs=3, dataset=dataset, workers=workers, val=True,
                    grad_clip=dict(max_norm=1.0, norm_type=2))
    full.run()

    _seed(1)
    first = _trainer(tmp_path / 'resumed', epochs=3, dataset=dataset, workers=workers, val=True,
                     grad_clip=dict(max_norm=1.0, norm_type=2), hooks=[_StopBefore(3)])
    with pytest.raises(KeyboardInterrupt):
        first.run()
    assert first.epoch == 2
    _seed(123)  # a different model init and RNG state: the checkpoint must restore everything
    second = _trainer(tmp_path / 'resumed', epochs=3, dataset=dataset, workers=workers, val=True,
                      grad_clip=dict(max_norm=1.0, norm_type=2))
    second.resume(str(tmp_path / 'resumed' / 'latest.pth'))
    assert (second.epoch, second.iter) == (2, 10)
    second.run()

    expected, got = full.model.state_dict(), second.model.state_dict()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    full_momentum = [s['momentum_buffer'] for s in full.optimizer.state.values()]
    resumed_momentum = [s['momentum_buffer'] for s in second.optimizer.state.values()]
    assert all(torch.equal(a, b) for a, b in zip(full_momentum, resumed_momentum))
    assert second.optimizer.param_groups[0]['lr'] == full.optimizer.param_groups[0]['lr']


def test_bad_samples_are_counted_warned_once_and_tolerated(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _seed()
    trainer = _trainer(tmp_path, epochs=2, dataset=ToyDataset(24, bad_indices=(5,)),
                       max_bad_sample_ratio=0.1)
    with caplog.at_level(logging.WARNING, logger='actionkit'):
        trainer.run()
    per_sample = [r for r in caplog.records if 'toy/clip_5.mp4' in r.getMessage()]
    summaries = [r for r in caplog.records if '1 of 24 samples were bad' in r.getMessage()]
    assert len(per_sample) == 1 and len(summaries) == 2
    assert trainer.iter == 12


def test_too_many_bad_samples_stop_the_run(tmp_path: Path) -> None:
    _seed()
    trainer = _trainer(tmp_path, epochs=1, dataset=ToyDataset(24, bad_indices=(3, 7)),
                       max_bad_sample_ratio=0.05)
    with pytest.raises(RuntimeError, match=r'2 of the 24 samples of epoch 1.*'
                                           r'max_bad_sample_ratio=0.05.*toy/clip_'):
        trainer.run()


def test_a_batch_of_only_bad_samples_is_skipped(tmp_path: Path) -> None:
    _seed()
    dataset = ToyDataset(12, bad_indices=(0, 1, 2, 3))
    model = ToyRecognizer()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, optimizer, [_loader(dataset, shuffle=False)], max_epochs=1,
                      work_dir=str(tmp_path), max_bad_sample_ratio=0.5)
    trainer.run()
    assert trainer.iter == 3 and model.calls == 2


def test_nan_loss_stops_with_the_iteration_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    _seed()
    trainer = _trainer(tmp_path, epochs=3, model=ToyRecognizer(nan_after=8))
    with pytest.raises(FloatingPointError) as info:
        trainer.run()
    message = str(info.value)
    assert 'epoch 2, iteration 3/6 (global iteration 9)' in message
    assert str(tmp_path / 'epoch_1.pth') in message and '--resume-from' in message
    latest = torch.load(tmp_path / 'latest.pth', weights_only=True)
    assert latest['meta']['epoch'] == 1
    assert all(torch.isfinite(v).all() for v in latest['state_dict'].values()
               if v.is_floating_point())


class _LegacyHook(HookBase):
    """Written against mmcv's hook names."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def before_run(self, runner: Any) -> None:
        self.calls.append('before_run')

    def before_train_epoch(self, runner: Any) -> None:
        self.calls.append('before_train_epoch')

    def after_iter(self, runner: Any) -> None:
        self.calls.append('after_iter')

    def after_run(self, runner: Any) -> None:
        self.calls.append('after_run')


def test_hook_points_order_priorities_and_mmcv_names(tmp_path: Path) -> None:
    model = ToyRecognizer()
    rec, legacy = RecordingHook(), _LegacyHook()
    order: list[str] = []

    class Tagged(HookBase):
        def __init__(self, tag: str, priority: int) -> None:
            self.tag, self.priority = tag, priority

        def before_train(self, trainer: Trainer) -> None:
            order.append(self.tag)

    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1),
                      [_loader(ToyDataset(8), batch=4)], max_epochs=1, work_dir=str(tmp_path),
                      hooks=[Tagged('low', 70), rec, legacy, Tagged('highest', 0)])
    trainer.register_hook(Tagged('very_high', 0), priority='VERY_HIGH')
    trainer.run()
    step = ['before_step', 'after_backward', 'after_step']
    assert rec.calls == ['before_train', 'before_epoch', *step, *step, 'after_epoch',
                         'after_train']
    assert legacy.calls == ['before_run', 'before_train_epoch', 'after_iter', 'after_iter',
                            'after_run']
    assert order == ['highest', 'very_high', 'low']
    with pytest.raises(ValueError, match='priority'):
        trainer.register_hook(RecordingHook(), priority='URGENT')


class _ScriptedEval(ToyDataset):
    """evaluate() returns the next score of a script (to steer the best checkpoint)."""

    scores: list[float] = []

    def evaluate(self, results: list, **kwargs: Any) -> OrderedDict:
        return OrderedDict(top1_acc=self.scores.pop(0), loss_val=0.0)


def _eval_trainer(tmp_path: Path, epochs: int, scores: list[float]) -> Trainer:
    _ScriptedEval.scores = list(scores)
    model = ToyRecognizer()
    val = _loader(_ScriptedEval(8, test_mode=True), shuffle=False)
    return Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1),
                   [_loader(ToyDataset(8))], max_epochs=epochs, work_dir=str(tmp_path),
                   hooks=[CheckpointHook(interval=1, max_keep_ckpts=1, meta=dict(config='x = 1')),
                          EvalHook(val)])


def test_best_checkpoint_is_kept_and_survives_a_resume(tmp_path: Path) -> None:
    trainer = _eval_trainer(tmp_path, 3, [0.5, 0.7, 0.6])
    trainer.run()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ['best_top1_acc_epoch_2.pth', 'epoch_3.pth', 'latest.pth']
    best = torch.load(tmp_path / 'best_top1_acc_epoch_2.pth', weights_only=True)
    assert best['meta']['hook_msgs']['best_score'] == pytest.approx(0.7)
    assert best['meta']['config'] == 'x = 1' and best['meta']['epoch'] == 2
    assert torch.load(tmp_path / 'latest.pth', weights_only=True)['meta']['epoch'] == 3
    # resume for epochs 4 and 5: 0.65 is not a new best, 0.9 is
    resumed = _eval_trainer(tmp_path, 5, [0.65, 0.9])
    resumed.resume(str(tmp_path / 'latest.pth'))
    resumed.run()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'best_top1_acc_epoch_5.pth', 'epoch_5.pth', 'latest.pth']


def test_save_best_rule_and_missing_metric(tmp_path: Path) -> None:
    val = _loader(_ScriptedEval(8, test_mode=True), shuffle=False)
    with pytest.raises(ValueError, match='rule'):
        EvalHook(val, save_best='f1_score')
    assert EvalHook(val, save_best='loss_val').rule == 'less'
    _ScriptedEval.scores = [0.1]
    model = ToyRecognizer()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1),
                      [_loader(ToyDataset(8))], max_epochs=1, work_dir=str(tmp_path),
                      hooks=[EvalHook(val, save_best='top5_acc')])
    with pytest.raises(KeyError, match="save_best='top5_acc'.*top1_acc"):
        trainer.run()


def test_val_workflow_logs_validation_losses(tmp_path: Path) -> None:
    _seed()
    model = ToyRecognizer()
    hooks = build_logger_hooks(dict(interval=3, hooks=[dict(type='TextLoggerHook')]))
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1),
                      [_loader(ToyDataset(12)), _loader(ToyDataset(8, seed=1), shuffle=False)],
                      max_epochs=2, work_dir=str(tmp_path), workflow=[('train', 1), ('val', 1)],
                      hooks=hooks, timestamp='20240101_000000')
    trainer.run()
    lines = _json_lines(tmp_path)
    assert [(x['mode'], x['epoch'], x['iter']) for x in lines] == [
        ('train', 1, 3), ('val', 1, 2), ('train', 2, 3), ('val', 2, 2)]
    assert {'loss_cls', 'top1_acc', 'loss'} <= set(lines[1])
    assert model.training


def test_workflow_and_epochs_are_validated(tmp_path: Path) -> None:
    model = ToyRecognizer()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = _loader(ToyDataset(8))
    with pytest.raises(ValueError, match='one per phase'):
        Trainer(model, opt, [loader], 1, str(tmp_path), workflow=[('train', 1), ('val', 1)])
    with pytest.raises(ValueError, match='mode'):
        Trainer(model, opt, [loader], 1, str(tmp_path), workflow=[('test', 1)])
    with pytest.raises(ValueError, match='total_epochs'):
        Trainer(model, opt, [loader], 0, str(tmp_path))


def test_grad_clip_bounds_the_update(tmp_path: Path) -> None:
    _seed()
    model = ToyRecognizer()
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=1.0),
                      [_loader(ToyDataset(4), batch=4)], 1, str(tmp_path),
                      grad_clip=dict(max_norm=1e-3, norm_type=2))
    trainer.run()
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert step.norm().item() == pytest.approx(1e-3, rel=1e-3)
    assert trainer.outputs['log_vars']['grad_norm'] > 1e-2


def test_mixed_precision_on_cpu_uses_bfloat16(tmp_path: Path) -> None:
    _seed()
    seen: list[torch.dtype] = []

    class Probe(ToyRecognizer):
        def scores(self, imgs: torch.Tensor) -> torch.Tensor:
            out = super().scores(imgs)
            seen.append(out.dtype)
            return out

    model = Probe()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1),
                      [_loader(ToyDataset(8))], 2, str(tmp_path), fp16=dict(loss_scale=512.))
    trainer.run()
    assert set(seen) == {torch.bfloat16}
    assert not trainer.scaler.is_enabled()
    assert np.isfinite(trainer.outputs['log_vars']['loss'])
    with pytest.raises(ValueError, match='float16 needs CUDA'):
        Trainer(model, trainer.optimizer, [_loader(ToyDataset(8))], 1, str(tmp_path),
                fp16=dict(dtype='float16'))
    with pytest.raises(ValueError, match='loss_scale'):
        Trainer(model, trainer.optimizer, [_loader(ToyDataset(8))], 1, str(tmp_path),
                fp16=dict(loss_scale='auto'))


def test_resuming_a_finished_run_says_so_and_trains_nothing(tmp_path: Path, caplog) -> None:
    _seed()
    _trainer(tmp_path, epochs=2).run()
    trained = torch.load(tmp_path / 'latest.pth', weights_only=True)
    again = _trainer(tmp_path, epochs=2)
    again.resume(str(tmp_path / 'latest.pth'))
    caplog.clear()  # the first run's lines, captured when an earlier test set the level to INFO
    with caplog.at_level(logging.INFO, logger='actionkit'):
        again.run()
    assert 'training is already finished: 2 of 2 epochs done' in caplog.text
    assert 'start training' not in caplog.text
    assert (again.epoch, again.iter) == (2, 12)
    after = torch.load(tmp_path / 'latest.pth', weights_only=True)
    assert after['meta']['epoch'] == 2 and after['meta']['iter'] == 12
    for key, value in trained['state_dict'].items():
        assert torch.equal(value, after['state_dict'][key]), key


def test_checkpoint_out_dir_is_out_dir_slash_the_work_dir_name_as_mmcv(tmp_path: Path) -> None:
    model = ToyRecognizer()
    loader = _loader(ToyDataset(8))
    hook = CheckpointHook(interval=1, max_keep_ckpts=2, out_dir=str(tmp_path / 'ckpts'))
    Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), [loader], max_epochs=3,
            work_dir=str(tmp_path / 'exp'), hooks=[hook], timestamp='t').run()
    assert sorted(p.name for p in (tmp_path / 'ckpts' / 'exp').iterdir()) == [
        'epoch_2.pth', 'epoch_3.pth', 'latest.pth']
    assert not list((tmp_path / 'exp').glob('*.pth'))
    with pytest.raises(ValueError, match='checkpoint_config.out_dir.*read-only'):
        CheckpointHook(out_dir='http://example.org/ckpts')
