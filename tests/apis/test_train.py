"""train_model and tools/train.py: config keys, work-dir contents, resume/load, test after."""
from __future__ import annotations

import ast
import importlib.util
import json
import logging
import os
import pickle
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from actionkit.apis.train import KNOWN_KEYS, check_config_keys, train_model
from actionkit.config import Config

REPO = Path(__file__).resolve().parents[2]
TOYS = REPO / 'tests' / 'engine'
MMACTION_CONFIGS = REPO / '.cache' / 'mmaction2-0.24.1' / 'mmaction' / '.mim' / 'configs'
sys.path.insert(0, str(TOYS))
from engine_toys import ToyRecognizer  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_package_logger() -> Iterator[None]:
    """train_model configures the package logger (no propagation to caplog's root handler);
    undo that so the other tests of the session can still use caplog."""
    logger = logging.getLogger('actionkit')
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


@pytest.fixture
def actionkit_logs() -> Iterator[list[str]]:
    """Messages of the package logger (train_model stops its propagation to the root)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger('actionkit')
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def _cfg(work_dir: Path, **overrides: Any) -> Config:
    data = dict(videos_per_gpu=4, workers_per_gpu=0,
                train=dict(type='ToyDataset', num_samples=24),
                val=dict(type='ToyDataset', num_samples=12, seed=0),
                test=dict(type='ToyDataset', num_samples=12, seed=0))
    cfg = dict(model=dict(type='ToyRecognizer'), data=data,
               optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
               optimizer_config=dict(grad_clip=dict(max_norm=40, norm_type=2)),
               lr_config=dict(policy='step', step=[2]), total_epochs=2,
               checkpoint_config=dict(interval=1), evaluation=dict(interval=1, metrics=['top1']),
               log_config=dict(interval=3, hooks=[dict(type='TextLoggerHook')]),
               work_dir=str(work_dir), seed=0, gpu_ids=[0], workflow=[('train', 1)])
    cfg.update(overrides)
    return Config(cfg)


def _datasets(cfg: Config) -> list:
    from actionkit.datasets import build_dataset
    return [build_dataset(cfg.data.train)]


def test_typos_of_runtime_keys_fail_and_other_unknown_keys_warn(
        actionkit_logs: list[str], caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(KeyError, match="'lr_confg'.*did you mean 'lr_config'"):
        check_config_keys({'lr_confg': {}, 'model': {}})
    with pytest.raises(KeyError, match="did you mean 'total_epochs'"):
        check_config_keys({'total_epoch': 3})
    with caplog.at_level(logging.WARNING, logger='actionkit'):
        check_config_keys({'my_video_root': 'data/', '_private': 1, 'model': {}})
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and 'my_video_root' in warned[0]


def _top_level_names(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob('*.py'):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    elts = target.elts if isinstance(target, ast.Tuple) else [target]
                    names.update(e.id for e in elts if isinstance(e, ast.Name))
    return names


def test_every_key_of_mmaction2_configs_is_known() -> None:
    if not MMACTION_CONFIGS.is_dir():
        pytest.skip(f'MMAction2 0.24.1 configs not unpacked at {MMACTION_CONFIGS}')
    names = _top_level_names(MMACTION_CONFIGS) - {'_base_'}
    assert len(names) > 50
    assert sorted(names - KNOWN_KEYS) == []


def test_no_key_of_our_configs_is_rejected() -> None:
    names = _top_level_names(REPO / 'configs') - {'_base_'}
    assert {'model', 'data', 'optimizer', 'lr_config', 'total_epochs'} <= names
    check_config_keys(dict.fromkeys(names))  # raises on a misspelt runtime key


def test_train_model_fills_the_work_dir_and_tests_after(tmp_path: Path,
                                                       actionkit_logs: list[str]) -> None:
    cfg = _cfg(tmp_path)
    torch.manual_seed(0)
    trainer = train_model(ToyRecognizer(), _datasets(cfg), cfg, validate=True,
                          test=dict(test_last=True, test_best=True), timestamp='20240101_000000',
                          meta=dict(seed=0))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ['20240101_000000.log.json', 'best_pred.pkl', 'best_top1_acc_epoch_1.pth',
                     'epoch_1.pth', 'epoch_2.pth', 'last_pred.pkl', 'latest.pth']
    with open(tmp_path / 'last_pred.pkl', 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 12 and preds[0].shape == (3,)
    assert any('testing results of the last checkpoint' in m for m in actionkit_logs)
    assert any(m.startswith('top1_acc: ') for m in actionkit_logs)
    assert trainer.epoch == 2
    lines = [json.loads(x) for x in (tmp_path / '20240101_000000.log.json').read_text().split('\n')
             if x]
    assert [x['mode'] for x in lines[1:]] == ['train', 'train', 'val', 'train', 'train', 'val']


class _ConvToy(ToyRecognizer):
    """The toy with a 2D and a 3D convolution in front, to see their weights' layout."""

    def __init__(self) -> None:
        super().__init__()
        self.conv2d = torch.nn.Conv2d(3, 3, 3)
        self.conv3d = torch.nn.Conv3d(3, 3, 3)


def test_channels_last_and_cudnn_benchmark_keys(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, 'benchmark', False)
    cfg = _cfg(tmp_path, total_epochs=1, channels_last=True, cudnn_benchmark=True)
    trainer = train_model(_ConvToy(), _datasets(cfg), cfg)
    assert trainer.model.conv2d.weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.model.conv3d.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert not trainer.model.conv2d.weight.is_contiguous()  # really re-strided
    assert torch.backends.cudnn.benchmark is True
    # same keys and values as a plain model: the checkpoint loads into one
    plain = _ConvToy()
    plain.load_state_dict(torch.load(tmp_path / 'latest.pth', weights_only=True)['state_dict'])
    assert torch.equal(plain.conv2d.weight, trainer.model.conv2d.weight)


def test_compile_key_passes_its_options_to_torch_compile(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[type, dict]] = []
    monkeypatch.setattr(torch.nn.Module, 'compile',
                        lambda self, **kwargs: calls.append((type(self), kwargs)))
    cfg = _cfg(tmp_path / 'a', total_epochs=1, compile=dict(mode='max-autotune-no-cudagraphs'))
    train_model(ToyRecognizer(), _datasets(cfg), cfg)
    assert calls == [(ToyRecognizer, {'mode': 'max-autotune-no-cudagraphs'})]
    cfg = _cfg(tmp_path / 'b', total_epochs=1, compile=True)
    train_model(ToyRecognizer(), _datasets(cfg), cfg)
    assert calls[-1] == (ToyRecognizer, {})
    cfg = _cfg(tmp_path / 'c', total_epochs=1, compile=False)
    train_model(ToyRecognizer(), _datasets(cfg), cfg)
    assert len(calls) == 2
    cfg = _cfg(tmp_path / 'd', total_epochs=1, compile='yes')
    with pytest.raises(TypeError, match="compile must be True, False or a dict.*'yes'"):
        train_model(ToyRecognizer(), _datasets(cfg), cfg)


def test_resume_auto_and_load_from(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path / 'run', total_epochs=1, resume_from='auto')
    train_model(ToyRecognizer(), _datasets(cfg), cfg)  # nothing to resume: starts afresh
    cfg.total_epochs = 2
    trainer = train_model(ToyRecognizer(), _datasets(cfg), cfg)
    assert trainer.epoch == 2 and trainer.iter == 12
    assert (tmp_path / 'run' / 'epoch_2.pth').exists()

    ckpt = torch.load(tmp_path / 'run' / 'epoch_1.pth', weights_only=True)
    cfg2 = _cfg(tmp_path / 'finetune', total_epochs=1, load_from=str(tmp_path / 'run' /
                                                                      'epoch_1.pth'))
    cfg2.optimizer.lr = 0.0  # no update: the weights stay the loaded ones
    cfg2.optimizer.weight_decay = 0.0
    trainer = train_model(ToyRecognizer(), _datasets(cfg2), cfg2)
    assert trainer.epoch == 1  # load_from restarts at epoch 1
    assert torch.equal(trainer.model.fc1.weight, ckpt['state_dict']['fc1.weight'])


def test_runtime_settings_are_validated(tmp_path: Path) -> None:
    for overrides, error, match in [
            (dict(optimizer_config=dict(grad_clip=None, cumulative_iters=2)), KeyError,
             'cumulative_iters'),
            (dict(momentum_config=dict(policy='cyclic')), ValueError, 'momentum_config'),
            (dict(lr_config=dict(policy='Cosine')), KeyError, 'CosineAnnealing'),
            (dict(work_dir=''), KeyError, 'work_dir')]:
        cfg = _cfg(tmp_path)
        cfg.update(overrides)
        with pytest.raises(error, match=match):
            train_model(ToyRecognizer(), _datasets(cfg), cfg)


def test_auto_scale_lr(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, total_epochs=1, auto_scale_lr=dict(enable=True, base_batch_size=16),
               lr_config=None)
    trainer = train_model(ToyRecognizer(), _datasets(cfg), cfg)
    assert trainer.optimizer.param_groups[0]['lr'] == pytest.approx(0.1 * 4 / 16)


def test_the_api_decides_auto_scale_lr_base_and_checkpoint_config(tmp_path: Path) -> None:
    # no base_batch_size: 8 GPUs x videos_per_gpu (4) = 32, whoever calls train_model
    cfg = _cfg(tmp_path, total_epochs=1, auto_scale_lr=dict(enable=True), lr_config=None)
    trainer = train_model(ToyRecognizer(), _datasets(cfg), cfg)
    assert trainer.optimizer.param_groups[0]['lr'] == pytest.approx(0.1 * 4 / 32)
    meta = torch.load(tmp_path / 'latest.pth', weights_only=True)['meta']
    assert 'ToyRecognizer' in meta['config'] and 'auto_scale_lr' in meta['config']
    # the config's own checkpoint_config.meta wins
    cfg = _cfg(tmp_path / 'b', total_epochs=1, checkpoint_config=dict(
        interval=1, meta=dict(config='mine', note='n')))
    train_model(ToyRecognizer(), _datasets(cfg), cfg)
    meta = torch.load(tmp_path / 'b' / 'latest.pth', weights_only=True)['meta']
    assert meta['config'] == 'mine' and meta['note'] == 'n'


def _run_tool(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='-1', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(TOYS), str(REPO), os.environ.get('PYTHONPATH',
                                                                               '')]))
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_tools_train_py(tmp_path: Path) -> None:
    config = tmp_path / 'toy_config.py'
    text = ("custom_imports = dict(imports=['engine_toys'])\n"
            "model = dict(type='ToyRecognizer')\n"
            "data = dict(videos_per_gpu=4, workers_per_gpu=0,\n"
            "            train=dict(type='ToyDataset', num_samples=16),\n"
            "            val=dict(type='ToyDataset', num_samples=8),\n"
            "            test=dict(type='ToyDataset', num_samples=8))\n"
            "optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)\n"
            "optimizer_config = dict(grad_clip=None)\n"
            "lr_config = dict(policy='CosineAnnealing', min_lr=0)\n"
            "total_epochs = 3\n"
            "checkpoint_config = dict(interval=1)\n"
            "evaluation = dict(interval=1, metrics=['top_k_accuracy'])\n"
            "log_config = dict(interval=2, hooks=[dict(type='TextLoggerHook')])\n"
            "log_level = 'INFO'\nworkflow = [('train', 1)]\nload_from = None\n"
            "resume_from = None\ndist_params = dict(backend='nccl')\n")
    config.write_text(text)
    work_dir = tmp_path / 'work'
    done = _run_tool([str(config), '--work-dir', str(work_dir), '--seed', '0', '--validate',
                      '--test-last', '--cfg-options', 'total_epochs=2'], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(p.name for p in work_dir.iterdir())
    logs = [n for n in names if n.endswith('.log')]
    assert len(logs) == 1
    stamp = logs[0][:-len('.log')]
    best = [n for n in names if n.startswith('best_top1_acc_epoch_')]
    assert len(best) == 1
    assert set(names) - set(best) == {'toy_config.py', f'{stamp}.log', f'{stamp}.log.json',
                                      'epoch_1.pth', 'epoch_2.pth', 'latest.pth', 'last_pred.pkl'}
    assert 'total_epochs = 2' in (work_dir / 'toy_config.py').read_text()
    first = json.loads((work_dir / f'{stamp}.log.json').read_text().splitlines()[0])
    assert first['seed'] == 0 and first['config_name'] == 'toy_config.py'
    assert first['work_dir'] == 'work' and 'PyTorch' in first['env_info']
    meta = torch.load(work_dir / 'latest.pth', weights_only=True)['meta']
    assert meta['epoch'] == 2 and 'ToyRecognizer' in meta['config'] and meta['seed'] == 0
    text_log = (work_dir / logs[0]).read_text()
    assert 'Epoch [2][4/4]' in text_log and 'testing results of the last checkpoint' in text_log

    # resume where it stopped, for one more epoch (in this process: main() takes argv)
    spec = importlib.util.spec_from_file_location('tools_train', REPO / 'tools' / 'train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)  # type: ignore[union-attr]
    assert tool.main([str(config), '--work-dir', str(work_dir), '--resume-from',
                      str(work_dir / 'latest.pth'), '--cfg-options', 'total_epochs=3',
                      'data.workers_per_gpu=0']) == 0
    assert torch.load(work_dir / 'latest.pth', weights_only=True)['meta']['epoch'] == 3


@pytest.mark.slow
def test_real_tsm_trains_on_synthetic_videos(synthetic_data: dict[str, str], tmp_path: Path,
                                             actionkit_logs: list[str]) -> None:
    """The whole chain: shipped config, VideoDataset + PyAV, ResNetTSM, evaluation, test."""
    from actionkit.datasets import build_dataset
    from actionkit.models import build_model

    config = REPO / 'configs' / 'synthetic' / 'tsm_r18_1x1x8_synthetic_video.py'
    if not config.exists():
        pytest.skip(f'{config} is not present')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({
        'data.videos_per_gpu': 4, 'data.workers_per_gpu': 0, 'total_epochs': 2,
        'data.val_dataloader.videos_per_gpu': 5, 'data.test_dataloader.videos_per_gpu': 5,
        'lr_config.warmup_iters': 4, 'log_config.interval': 4, 'work_dir': str(tmp_path)})
    for split, key in (('train', 'train_list_videos'), ('val', 'val_list_videos'),
                       ('test', 'val_list_videos')):
        cfg.data[split].ann_file = synthetic_data[key]
        cfg.data[split].data_prefix = synthetic_data['videos_root']
    cfg.seed, cfg.gpu_ids = 0, [0]
    torch.manual_seed(0)
    model = build_model(cfg.model)
    trainer = train_model(model, [build_dataset(cfg.data.train)], cfg, validate=True,
                          test=dict(test_last=True, test_best=True), timestamp='t')
    names = {p.name for p in tmp_path.iterdir()}
    assert {'epoch_1.pth', 'epoch_2.pth', 'latest.pth', 'last_pred.pkl', 'best_pred.pkl',
            't.log.json'} <= names
    assert any(n.startswith('best_top1_acc_epoch_') for n in names)
    lines = [json.loads(x) for x in (tmp_path / 't.log.json').read_text().splitlines()]
    train_lines = [x for x in lines if x.get('mode') == 'train']
    assert train_lines and all(np_isfinite(x['loss']) for x in train_lines)
    assert [x['epoch'] for x in lines if x.get('mode') == 'val'] == [1, 2]
    with open(tmp_path / 'last_pred.pkl', 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 10 and preds[0].shape == (10,)
    assert trainer.iter == 2 * 8  # 30 clips, batches of 4
    state = torch.load(tmp_path / 'latest.pth', weights_only=True)['state_dict']
    assert all(k.startswith(('backbone.', 'cls_head.')) for k in state)  # no DDP prefix
    assert state.keys() == build_model(cfg.model).state_dict().keys()


def np_isfinite(value: float) -> bool:
    return value == value and abs(value) != float('inf')


def test_seeding_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    from actionkit.apis.train import init_random_seed, set_random_seed, setup_multi_processes

    assert init_random_seed(5) == 5
    drawn = init_random_seed(None)
    assert isinstance(drawn, int) and 0 <= drawn < 2**31
    set_random_seed(3, deterministic=True)
    first = (torch.rand(2), np.random.rand(), random.random())
    set_random_seed(3)
    assert torch.equal(first[0], torch.rand(2)) and first[1:] == (np.random.rand(),
                                                                  random.random())
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('MKL_NUM_THREADS', raising=False)
    setup_multi_processes(dict(mp_start_method='fork', opencv_num_threads=0,
                               data=dict(workers_per_gpu=4)))
    assert os.environ['OMP_NUM_THREADS'] == '1' and os.environ['MKL_NUM_THREADS'] == '1'


def _auto_resume_worker(out_dir: str) -> None:
    """Each rank looks at its own view of the work dir; all must take rank 0's choice."""
    from actionkit.apis.train import auto_resume_checkpoint
    from actionkit.engine import get_rank

    rank = get_rank()
    chosen = auto_resume_checkpoint(os.path.join(out_dir, f'view{rank}'))
    Path(out_dir, f'chosen{rank}.txt').write_text(str(chosen))


@pytest.mark.slow
def test_auto_resume_takes_rank_0s_checkpoint_on_every_rank(tmp_path: Path) -> None:
    from actionkit.engine import launch
    from actionkit.engine.checkpoint import atomic_save

    for view, epochs in (('view0', (1, 2)), ('view1', (1,))):  # rank 1's view lags behind
        (tmp_path / view).mkdir()
        for epoch in epochs:
            atomic_save({'state_dict': {}, 'meta': {'epoch': epoch}},
                        str(tmp_path / view / f'epoch_{epoch}.pth'))
    launch(_auto_resume_worker, nprocs=2, args=(str(tmp_path),), timeout=120)
    expected = str(tmp_path / 'view0' / 'epoch_2.pth')
    assert [(tmp_path / f'chosen{r}.txt').read_text() for r in (0, 1)] == [expected] * 2
