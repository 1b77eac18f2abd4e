"""MMAction2 1.x config files: recognised by their keys, refused when mixed, translated at the
edge (actionkit.config.v1), and run by tools/train.py / tools/test.py with 1.x's flags."""
from __future__ import annotations

import copy
import glob
import importlib.util
import json
import re
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from actionkit.config import Config
from actionkit.commands.train import parse_args as parse_train_args
from actionkit.commands.v1 import check_flags
from actionkit.config.v1 import check_not_mixed, config_version, translate_v1

REPO = Path(__file__).resolve().parents[1]
TOYS = REPO / 'tests' / 'engine'
V1_CONFIGS = REPO / '.cache' / 'mmaction2-1.2.0' / 'mmaction' / '.mim' / 'configs'

V1 = dict(
    default_scope='mmaction',
    model=dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18),
               cls_head=dict(type='TSNHead', num_classes=4, in_channels=512),
               data_preprocessor=dict(type='ActionDataPreprocessor', mean=[0.0] * 3,
                                      std=[1.0] * 3, format_shape='NCHW')),
    dataset_type='VideoDataset',
    train_dataloader=dict(batch_size=8, num_workers=2, persistent_workers=True,
                          sampler=dict(type='DefaultSampler', shuffle=True),
                          dataset=dict(type='VideoDataset', ann_file='train.txt',
                                       data_prefix=dict(video='videos'), pipeline=[])),
    val_dataloader=dict(batch_size=4, num_workers=1,
                        sampler=dict(type='DefaultSampler', shuffle=False),
                        dataset=dict(type='VideoDataset', ann_file='val.txt',
                                     data_prefix=dict(video='videos'), pipeline=[],
                                     test_mode=True)),
    test_dataloader=dict(batch_size=1, num_workers=3,
                         dataset=dict(type='VideoDataset', ann_file='test.txt', pipeline=[])),
    val_evaluator=dict(type='AccMetric'),
    test_evaluator=dict(type='AccMetric', metric_list=('top_k_accuracy',),
                        metric_options=dict(top_k_accuracy=dict(topk=(1, 3)))),
    train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=10, val_begin=4, val_interval=3),
    val_cfg=dict(type='ValLoop'), test_cfg=dict(type='TestLoop'),
    optim_wrapper=dict(type='AmpOptimWrapper',
                       optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                       clip_grad=dict(max_norm=40, norm_type=2),
                       constructor='TSMOptimWrapperConstructor',
                       paramwise_cfg=dict(fc_lr5=True)),
    param_scheduler=[dict(type='MultiStepLR', begin=0, end=10, milestones=[4, 8])],
    default_hooks=dict(runtime_info=dict(type='RuntimeInfoHook'),
                       logger=dict(type='LoggerHook', interval=20, ignore_last=False),
                       checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=3,
                                       save_best='acc/top1')),
    env_cfg=dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='spawn',
                                                   opencv_num_threads=0),
                 dist_cfg=dict(backend='gloo')),
    log_processor=dict(type='LogProcessor', window_size=20, by_epoch=True),
    vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')],
    randomness=dict(seed=7, deterministic=True),
    auto_scale_lr=dict(enable=False, base_batch_size=64),
    load_from='pretrained.pth', resume=False,
)
V0 = dict(model=dict(type='Recognizer2D'), data=dict(videos_per_gpu=8),
          optimizer=dict(type='SGD', lr=0.1), lr_config=dict(policy='step', step=[4]),
          total_epochs=10, test_cfg=dict(average_clips='prob'))


def test_the_version_comes_from_the_keys() -> None:
    assert config_version(V1) == '1.x'
    assert config_version(V0) == '0.x'  # a 0.x top-level test_cfg is not a loop
    assert config_version(dict(model=dict(type='Recognizer2D'))) == '0.x'
    assert config_version(dict(train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1))) == \
        '1.x'
    # 1.x base files keep the optimizer in a helper variable beside optim_wrapper
    helper = dict(V1, optimizer=dict(type='Adam', lr=0.01))
    assert config_version(helper) == '1.x'


def test_a_config_mixing_both_names_the_keys_of_each_and_the_renames() -> None:
    mixed = dict(V1, lr_config=dict(policy='step', step=[4]), total_epochs=10)
    with pytest.raises(ValueError) as err:
        check_not_mixed(mixed, 'my_config.py')
    text = str(err.value)
    assert 'my_config.py mixes MMAction2 0.x keys (lr_config, total_epochs)' in text
    assert 'with MMAction2 1.x keys (train_dataloader, val_dataloader' in text
    assert 'train_cfg' in text.split('1.x keys')[1].split(')')[0]  # the loop train_cfg
    assert 'lr_config -> param_scheduler' in text
    assert "total_epochs -> train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=...)" in text
    with pytest.raises(ValueError, match=r'0.x keys \(data, optimizer, lr_config, total_epochs\)'
                                         r'.*1.x keys '
                                         r'\(param_scheduler\)'):
        config_version(dict(V0, param_scheduler=[]))


def test_translation_of_every_section() -> None:
    before = copy.deepcopy(V1)
    out, run = translate_v1(V1, 'v1.py')
    assert V1 == before  # the input is left as it was
    assert out['model'] == V1['model']  # passed through, data_preprocessor included
    data = out['data']
    assert (data['videos_per_gpu'], data['workers_per_gpu'], data['persistent_workers']) == \
        (8, 2, True)
    assert data['train'] == V1['train_dataloader']['dataset']
    assert data['val'] == V1['val_dataloader']['dataset']
    assert 'test' not in data  # training builds the loaders of its loops only
    assert data['train_dataloader'] == dict(shuffle=True)
    assert data['val_dataloader'] == dict(videos_per_gpu=4, workers_per_gpu=1,
                                          persistent_workers=False, shuffle=False)
    assert out['total_epochs'] == 10
    evaluation = out['evaluation']
    assert (evaluation['start'], evaluation['interval'], evaluation['eval_last']) == (6, 3, True)
    assert evaluation['save_best'] == 'top1_acc'
    assert evaluation['metric_aliases']['top1_acc'] == 'acc/top1'  # best_acc_top1_epoch_N.pth
    assert evaluation['metrics'] == ['top_k_accuracy', 'mean_class_accuracy']
    assert evaluation['metric_options'] == dict(top_k_accuracy=dict(topk=(1, 5)))
    assert out['optimizer'] == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4,
                                    paramwise_cfg=dict(fc_lr5=True),
                                    constructor='TSMOptimizerConstructor')
    assert out['optimizer_config'] == dict(grad_clip=dict(max_norm=40, norm_type=2))
    assert out['fp16'] == dict(loss_scale='dynamic')
    assert out['lr_config'] == dict(type='ParamSchedulerHook',
                                    schedulers=V1['param_scheduler'])
    assert out['checkpoint_config'] == dict(interval=2, max_keep_ckpts=3)
    aliases = dict(top1_acc='acc/top1', top5_acc='acc/top5', mean_class_accuracy='acc/mean1',
                   mean_average_precision='acc/mean_average_precision',
                   mmit_mean_average_precision='acc/mmit_mean_average_precision')
    assert out['log_config'] == dict(interval=20, hooks=[
        dict(type='TextLoggerHook', ignore_last=False, line_style='mmengine',
             metric_aliases=aliases),
        dict(type='V1WorkDirHook', ignore_last=False, metric_aliases=aliases),
        dict(type='TensorboardLoggerHook')])
    assert out['eval_config'] == dict(metrics=['top_k_accuracy'],
                                      metric_options=dict(top_k_accuracy=dict(topk=(1, 3))))
    assert out['load_from'] == 'pretrained.pth' and 'resume_from' not in out
    assert (out['cudnn_benchmark'], out['mp_start_method'], out['opencv_num_threads']) == \
        (True, 'spawn', 0)
    assert out['dist_params'] == dict(backend='gloo')
    assert out['auto_scale_lr'] == dict(enable=False, base_batch_size=64)
    assert out['dataset_type'] == 'VideoDataset'  # the file's helper variables stay
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler', 'default_hooks',
                'train_cfg', 'val_cfg', 'test_cfg', 'default_scope', 'randomness', 'resume'):
        assert key not in out
    assert run == dict(validate=True, seed=7, deterministic=True, diff_rank_seed=False)
    hooks = [dict(type='EmptyCacheHook', after_epoch=True), dict(type='MyHook', priority=10)]
    assert translate_v1(dict(V1, custom_hooks=hooks))[0]['custom_hooks'] == hooks[1:]

    test, _ = translate_v1(V1, 'v1.py', purpose='test')
    assert test['data']['test'] == V1['test_dataloader']['dataset']
    assert 'train' not in test['data'] and 'val' not in test['data']
    assert test['data']['test_dataloader'] == dict(videos_per_gpu=1, workers_per_gpu=3,
                                                   persistent_workers=False)


def _validated_epochs(train_cfg: dict, max_epochs: int) -> list[int]:
    """The 1-based epochs after which the engine's EvalHook validates, for a 1.x train_cfg."""
    from torch.utils.data import DataLoader

    from actionkit.engine.hooks import EvalHook

    cfg = dict(V1, train_cfg=dict(train_cfg, type='EpochBasedTrainLoop', max_epochs=max_epochs))
    evaluation = translate_v1(cfg)[0]['evaluation']
    hook = EvalHook(DataLoader([]), **{k: evaluation[k] for k in ('start', 'interval',
                                                                  'eval_last')})
    return [e for e in range(1, max_epochs + 1) if hook._due(e - 1, e == max_epochs)]


@pytest.mark.parametrize('train_cfg, max_epochs, expected', [
    # 1.x: after epoch e when e >= val_begin and (e % val_interval == 0 or e == max_epochs)
    (dict(val_begin=4, val_interval=3), 10, [6, 9, 10]),
    (dict(val_begin=1, val_interval=3), 10, [3, 6, 9, 10]),
    (dict(val_begin=1, val_interval=1), 4, [1, 2, 3, 4]),
    (dict(), 3, [1, 2, 3]),
    (dict(val_begin=5, val_interval=2), 9, [6, 8, 9]),
    (dict(val_begin=1, val_interval=5), 10, [5, 10]),
])
def test_when_validation_runs(train_cfg: dict, max_epochs: int, expected: list[int]) -> None:
    assert _validated_epochs(train_cfg, max_epochs) == expected


@pytest.mark.parametrize('resume, load_from, expected', [
    (True, 'ckpt.pth', dict(resume_from='ckpt.pth')),
    (True, None, dict(resume_from='auto')),
    (False, None, {}),
])
def test_resume_and_load_from(resume: bool, load_from: str | None,
                              expected: dict[str, Any]) -> None:
    out, _ = translate_v1(dict(V1, resume=resume, load_from=load_from))
    assert {k: out[k] for k in ('resume_from', 'load_from') if k in out} == expected


def test_no_validation_without_its_three_keys() -> None:
    out, run = translate_v1(dict(V1, val_evaluator=None))
    assert not run['validate'] and 'val' not in out['data']
    assert 'metrics' not in out['evaluation']


def test_anet_metric_and_plain_optim_wrapper() -> None:
    anet = dict(type='ANetMetric', metric_type='AR@AN',
                dump_config=dict(out='results.json', output_format='json'))
    out, _ = translate_v1(dict(V1, val_evaluator=anet, test_evaluator=anet,
                               optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.001))))
    assert out['evaluation']['metrics'] == ['AR@AN']
    assert out['eval_config'] == dict(metrics=['AR@AN'])
    assert out['output_config'] == dict(out='results.json', output_format='json')
    assert 'fp16' not in out and out['optimizer_config'] == dict(grad_clip=None)


@pytest.mark.parametrize('change, error, pattern', [
    (dict(default_hooks=dict(checkpont=dict(interval=1))), KeyError,
     r"default_hooks has an unknown key 'checkpont'. Did you mean 'checkpoint'"),
    (dict(val_evaluator=dict(type='AVAMetric')), ValueError,
     r"val_evaluator: type 'AVAMetric' is not supported \(MMAction2 1.x's detection configs "
     r"are not translated; actionkit runs MMAction2 0.x's AVA configs"),
    (dict(val_evaluator=dict(type='AccMetirc')), ValueError, r"Did you mean 'AccMetric'"),
    (dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=10)), ValueError,
     r'actionkit trains by epochs'),
    (dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1), clip_gard=None)), KeyError,
     r"optim_wrapper has an unknown key 'clip_gard'. Did you mean 'clip_grad'"),
    (dict(train_dataloader=dict(batch_size=2, dataset=dict(), sampler=dict(shufle=True))),
     KeyError, r"train_dataloader.sampler has an unknown key 'shufle'"),
    (dict(param_scheduler=[dict(milestones=[3])]), TypeError, r"with a 'type'"),
])
def test_bad_sections_name_the_key(change: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        translate_v1(dict(V1, **change))


@pytest.mark.skipif(not V1_CONFIGS.is_dir(), reason='the MMAction2 1.2.0 sdist is not in .cache '
                    '(scripts/test.sh downloads it)')
def test_every_1_2_0_config_translates_or_names_its_reason() -> None:
    """Each file either translates, or is refused for a reason this lists (detection,
    multimodal/retrieval, grounding, two-loader training) or
    for one of two mistakes of 1.2.0's own files, which 1.2.0 fails on too: a train_dataloader
    that is a tuple (posec3d gym-limb) and a test_dataloader given pipeline= (tsm sthv2 1x1x16;
    1.x passes it on to torch's DataLoader)."""
    reasons = ('not in actionkit', 'detection configs are not translated', 'text models',
               'several training loaders', 'must be a dict with a dataset',
               "test_dataloader has an unknown key 'pipeline'")
    translated = 0
    for path in sorted(glob.glob(str(V1_CONFIGS / '**' / '*.py'), recursive=True)):
        if '/_base_/' in path:
            continue
        cfg = Config.fromfile(path, import_custom_modules=False)
        if config_version(cfg, path) != '1.x':
            continue
        try:
            translate_v1(cfg, path)
            translate_v1(cfg, path, purpose='test')
            translated += 1
        except (ValueError, KeyError) as err:
            assert any(r in str(err) for r in reasons), f'{path}: {err}'
    assert translated >= 160


# ---------------------------------------------------------------------------------------------
# the command lines, end to end on the toy model and data set (tests/engine/engine_toys.py)
# ---------------------------------------------------------------------------------------------
TOY_V1 = """
custom_imports = dict(imports=['engine_toys'])
default_scope = 'mmaction'
model = dict(type='ToyRecognizer')
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='ToyDataset', num_samples=16))
val_dataloader = dict(batch_size=4, num_workers=0,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='ToyDataset', num_samples=8, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric', metric_list=('top_k_accuracy', ),
                     metric_options=dict(top_k_accuracy=dict(topk=(1, ))))
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_begin=1, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[1], by_epoch=True, begin=2, end=4, gamma=0.1)]
default_hooks = dict(runtime_info=dict(type='RuntimeInfoHook'),
                     timer=dict(type='IterTimerHook'),
                     logger=dict(type='LoggerHook', interval=2, ignore_last=False),
                     param_scheduler=dict(type='ParamSchedulerHook'),
                     checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                                     save_best='auto'),
                     sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
randomness = dict(seed=0)
log_level = 'INFO'
load_from = None
resume = False
"""


def _tool(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f'tools_{name}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
def toy_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(TOYS))
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '-1')
    path = tmp_path / 'toy_v1.py'
    path.write_text(TOY_V1)
    return path


def _lrs(work_dir: Path) -> dict[int, float]:
    """The logged lr per global iteration (1-based), from the JSON logs."""
    found = {}
    for log in work_dir.glob('*.log.json'):
        for line in log.read_text().splitlines()[1:]:
            entry = json.loads(line)
            if entry.get('mode') == 'train':
                found[(entry['epoch'] - 1) * 4 + entry['iter']] = entry['lr']
    return found


def _check_v1_layout(work: Path, last: str, val_steps: list[int]) -> None:
    """mmengine's places: {ts}/{ts}.log, {ts}/vis_data/scalars.json (and {ts}.json, the same
    lines), {ts}/vis_data/config.py and last_checkpoint (the newest checkpoint's path)."""
    (run,) = [p for p in work.iterdir() if p.is_dir() and p.name[:8].isdigit()]
    text = (run / f'{run.name}.log').read_text()  # the text log, in mmengine's lines
    assert re.search(r' - INFO - Epoch\(train\) \[1\]\[2/4\]  lr: \d\.\d{4}e-\d\d  eta: '
                     r'\d:\d\d:\d\d  time: \d+\.\d{4}  data_time: \d+\.\d{4}  '
                     r'grad_norm: \d+\.\d{4}  loss: \d+\.\d{4}  loss_cls: \d+\.\d{4}  '
                     r'top1_acc: \d\.\d{4}\n',
                     text), text[-3000:]
    assert re.search(rf' - INFO - Epoch\(val\) \[{val_steps[0]}\]\[\d+/\d+\]    acc/top1: '
                     r'\d\.\d{4}  acc/mean1: \d\.\d{4}\n', text), text[-3000:]
    assert not re.search(r' - INFO - (Epoch \[|Epoch\(val\).*top1_acc)', text)  # 0.x's lines
    scalars = (run / 'vis_data' / 'scalars.json').read_text()
    assert (run / 'vis_data' / f'{run.name}.json').read_text() == scalars
    assert 'param_scheduler' in (run / 'vis_data' / 'config.py').read_text()
    records = [json.loads(line) for line in scalars.splitlines()]
    train = [r for r in records if 'loss' in r]
    # 4 iterations an epoch, a line every 2 (ignore_last=False): steps are global iterations
    assert [r['step'] for r in train] == list(range(2, 17, 2))
    assert all(r['iter'] == r['step'] and r['epoch'] == (r['iter'] - 1) // 4 + 1 for r in train)
    assert train[0]['lr'] == pytest.approx(0.1 * (0.5 + 0.5 * 1 / 7), abs=1e-5)
    val = [r for r in records if 'loss' not in r]
    assert [r['step'] for r in val] == val_steps  # at the epoch, metrics under 1.x names
    # (ToyDataset.evaluate returns the mean class accuracy too)
    assert all(set(r) == {'acc/top1', 'acc/mean1', 'step'} for r in val), val
    assert (work / 'last_checkpoint').read_text() == str((work / last).resolve())


@pytest.mark.slow
def test_tools_train_and_test_with_a_1x_config(toy_config: Path, tmp_path: Path) -> None:
    work = tmp_path / 'work'
    train = _tool('train')
    assert train.main([str(toy_config), '--work-dir', str(work)]) == 0
    names = {p.name for p in work.iterdir()}
    # max_keep_ckpts=2; validation after epochs 2 and 4 (val_interval=2) picks the best
    assert {'epoch_3.pth', 'epoch_4.pth', 'latest.pth', 'toy_v1.py'} <= names
    assert 'epoch_1.pth' not in names and 'epoch_2.pth' not in names
    assert [n for n in names if n.startswith('best_acc_top1_epoch_')]  # 1.x's name
    _check_v1_layout(work, last='epoch_4.pth', val_steps=[2, 4])
    assert 'param_scheduler' in (work / 'toy_v1.py').read_text()  # the file as written
    meta = torch.load(work / 'latest.pth', weights_only=True)['meta']
    assert meta['epoch'] == 4 and meta['seed'] == 0  # randomness.seed
    # LinearLR over 8 iterations: 0.1 * (0.5 + 0.5 * k / 7) at iteration k (0-based), then
    # MultiStepLR from epoch 3 with its milestone 1 (relative to begin=2): x0.1 in epoch 4
    lrs = _lrs(work)
    assert lrs[2] == pytest.approx(0.1 * (0.5 + 0.5 * 1 / 7), abs=1e-5)  # logged rounded
    assert lrs[8] == pytest.approx(0.1)
    assert lrs[10] == pytest.approx(0.1) and lrs[14] == pytest.approx(0.01)

    # --resume (no value): the latest checkpoint of the work dir; one more epoch
    assert train.main([str(toy_config), '--work-dir', str(work), '--resume',
                       '--cfg-options', 'train_cfg.max_epochs=5',
                       'default_hooks.checkpoint.save_best=acc/top1']) == 0
    # the resumed run finds the best checkpoint by its 1.x name
    assert any('resumed best checkpoint' in log.read_text() and 'best_acc_top1_epoch_'
               in log.read_text() for log in work.glob('*/*.log'))
    assert torch.load(work / 'latest.pth', weights_only=True)['meta']['epoch'] == 5
    assert (work / 'last_checkpoint').read_text() == str((work / 'epoch_5.pth').resolve())

    # 0.x flags are refused for a 1.x file, naming the 1.x way
    with pytest.raises(SystemExit, match=r'--validate is an MMAction2 0.x flag.*val_dataloader'):
        train.main([str(toy_config), '--work-dir', str(work), '--validate'])

    dump, test_dir = tmp_path / 'out' / 'results.pkl', tmp_path / 'test_work'
    test = _tool('test')
    assert test.main([str(toy_config), str(work / 'latest.pth'), '--dump', str(dump),
                      '--work-dir', str(test_dir), '--show-dir', str(tmp_path / 'show')]) == 0
    with open(dump, 'rb') as f:
        records = pickle.load(f)
    assert len(records) == 8
    labels = [i % 3 for i in range(8)]  # ToyDataset: label = index % 3 (its classes)
    for record, label in zip(records, labels):
        assert set(record) == {'pred_score', 'pred_label', 'gt_label', 'num_classes'}
        assert record['pred_score'].shape == (record['num_classes'],)
        assert record['pred_label'].tolist() == [int(record['pred_score'].argmax())]
        assert record['gt_label'].tolist() == [label]
    hits = sum(r['pred_label'].item() == r['gt_label'].item() for r in records) / len(records)
    (metrics_file,) = test_dir.glob('*/*.json')
    assert json.loads(metrics_file.read_text())['top1_acc'] == pytest.approx(hits)
    # the toy's inputs are feature vectors, not frames: nothing to draw on (counted, skipped)
    assert not list((tmp_path / 'show').rglob('*.png'))
    with pytest.raises(SystemExit, match=r'--out is an MMAction2 0.x flag.*--dump'):
        test.main([str(toy_config), str(work / 'latest.pth'), '--out', str(tmp_path / 'r.pkl')])
    with pytest.raises(SystemExit, match=r'must be a \.pkl'):
        test.main([str(toy_config), str(work / 'latest.pth'), '--dump', 'r.json'])


def test_1x_flags_are_refused_for_a_0x_file(tmp_path: Path) -> None:
    path = tmp_path / 'old.py'
    path.write_text("model = dict(type='Recognizer2D')\ndata = dict(videos_per_gpu=1)\n"
                    "optimizer = dict(type='SGD', lr=0.1)\ntotal_epochs = 1\n")
    with pytest.raises(SystemExit, match=r'--amp is an MMAction2 1.x flag.*0.x config.*fp16'):
        _tool('train').main([str(path), '--amp'])
    # `--resume PATH` was an abbreviation of --resume-from for 0.x files and still means it
    args = parse_train_args([str(path), '--resume', 'a.pth'])
    assert check_flags(args, Config.fromfile(path), 'train') == '0.x'
    assert (args.resume_from, args.resume) == ('a.pth', None)
    with pytest.raises(SystemExit, match=r'--dump is an MMAction2 1.x flag.*--out'):
        _tool('test').main([str(path), 'x.pth', '--dump', 'r.pkl'])
    with pytest.raises(SystemExit, match=r'--work-dir is an MMAction2 1.x flag'):
        _tool('test').main([str(path), 'x.pth', '--work-dir', 'w', '--out', 'r.pkl'])


def test_a_mixed_file_is_refused_by_the_command_line(tmp_path: Path) -> None:
    base = tmp_path / 'old_runtime.py'
    base.write_text("lr_config = dict(policy='step', step=[4])\ntotal_epochs = 10\n")
    path = tmp_path / 'mixed.py'
    path.write_text(f"_base_ = ['{base.name}']\n" + TOY_V1.replace('custom_imports', '_unused'))
    with pytest.raises(ValueError, match=r'mixed.py mixes MMAction2 0.x keys \(lr_config, '
                                         r'total_epochs\)'):
        _tool('train').main([str(path)])


TSN_V1 = """
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, base_channels=4, pretrained=None, norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=10, in_channels=32, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.0,
                  average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[127.5, 127.5, 127.5],
                           std=[64.0, 64.0, 64.0], format_shape='NCHW'))
file_client_args = dict(io_backend='disk')
def pipeline(test_mode):
    # PyAV: decord cannot decode the synthetic set's 32x32 H.264 frames (a decord bug; our
    # reader names it and the sample is skipped)
    return [dict(type='PyAVInit', **file_client_args),
            dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=4,
                 test_mode=test_mode),
            dict(type='PyAVDecode'),
            dict(type='Resize', scale=(16, 16), keep_ratio=False),
            dict(type='FormatShape', input_format='NCHW'),
            dict(type='PackActionInputs')]
train_dataloader = dict(
    batch_size=5, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', ann_file=TRAIN, data_prefix=dict(video=ROOT),
                 pipeline=pipeline(False)))
val_dataloader = dict(
    batch_size=5, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', ann_file=VAL, data_prefix=dict(video=ROOT),
                 pipeline=pipeline(True), test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=2, by_epoch=True, milestones=[1])]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto'),
                     logger=dict(type='LoggerHook', interval=2))
default_scope = 'mmaction'
randomness = dict(seed=0)
"""


@pytest.mark.slow
def test_a_1x_tsn_trains_and_tests_on_synthetic_videos(synthetic_data: dict[str, str],
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1.x vocabulary all the way: data_preprocessor, 1.x head arguments, PyAVInit(
    io_backend), data_prefix=dict(video=...), PackActionInputs."""
    path = tmp_path / 'tsn_v1.py'
    path.write_text(TSN_V1.replace('TRAIN', repr(synthetic_data['train_list_videos']))
                    .replace('VAL', repr(synthetic_data['val_list_videos']))
                    .replace('ROOT', repr(synthetic_data['videos_root'])))
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '-1')
    work = tmp_path / 'work'
    assert _tool('train').main([str(path), '--work-dir', str(work)]) == 0
    assert (work / 'epoch_2.pth').is_file()
    dump, show = tmp_path / 'results.pkl', tmp_path / 'show'
    assert _tool('test').main([str(path), str(work / 'epoch_2.pth'), '--dump', str(dump),
                               '--work-dir', str(tmp_path / 'test'), '--show-dir', str(show),
                               '--interval', '3']) == 0
    with open(dump, 'rb') as f:
        records = pickle.load(f)
    assert len(records) == 10 and all(r['num_classes'] == 10 for r in records)
    # --show-dir: samples 0, 3, 6, 9 (--interval 3), each clip's 4 frames as 1.x names them,
    # the 16 x 16 frames the model saw with the labels drawn on them
    names = [Path(line.split()[0]).name
             for line in Path(synthetic_data['val_list_videos']).read_text().splitlines()]
    assert sorted(p.name for p in show.iterdir()) == sorted(f'{names[i]}_0' for i in (0, 3, 6, 9))
    frames = sorted((show / f'{names[3]}_0' / 'frames_0').iterdir())
    assert [p.name for p in frames] == ['0.png', '1.png', '2.png', '3.png']
    from PIL import Image
    assert np.asarray(Image.open(frames[0])).shape == (16, 16, 3)
    assert sorted(r['gt_label'].item() for r in records) == list(range(10))
    (metrics_file,) = (tmp_path / 'test').glob('*/*.json')
    metrics = json.loads(metrics_file.read_text())
    hits = sum(r['pred_label'].item() == r['gt_label'].item() for r in records) / 10
    assert metrics['top1_acc'] == pytest.approx(hits)


def test_base_references_take_the_value_of_the_bases(tmp_path: Path) -> None:
    (tmp_path / 'base.py').write_text(
        "test_evaluator = dict(type='AccMetric', metric_list=('top_k_accuracy',))\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05))\n"
        "train_pipeline = [dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8)]\n")
    (tmp_path / 'child.py').write_text(
        "_base_ = ['base.py']\n"
        "val_evaluator = {{_base_.test_evaluator}}\n"
        "base_lr = {{ _base_.optim_wrapper.optimizer.lr }}\n"
        "sampler = {{_base_.train_pipeline.1}}\n"
        "optim_wrapper = dict(optimizer=dict(lr=0.1))\n")
    cfg = Config.fromfile(tmp_path / 'child.py')
    assert cfg.val_evaluator == dict(type='AccMetric', metric_list=('top_k_accuracy',))
    assert cfg.val_evaluator is not cfg.test_evaluator  # a copy
    assert cfg.base_lr == 0.05 and cfg.sampler == dict(type='SampleFrames', clip_len=8)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1)
    assert '{{_base_.test_evaluator}}' in cfg.text  # the text as written
    (tmp_path / 'expr.py').write_text("_base_ = ['base.py']\n"
                                      "lr = {{_base_.optim_wrapper.optimizer.lr}} * 2\n")
    with pytest.raises(ValueError, match=r'expr.py: a \{\{_base_.KEY\}\} reference can only '
                                         r'stand for a whole value'):
        Config.fromfile(tmp_path / 'expr.py')
    (tmp_path / 'bad.py').write_text("_base_ = ['base.py']\nx = {{_base_.optim_wraper}}\n")
    with pytest.raises(KeyError, match=r"bad.py: \{\{_base_.optim_wraper\}\} names nothing: "
                                       r"the _base_ files has no 'optim_wraper'. Did you mean "
                                       r"'optim_wrapper'"):
        Config.fromfile(tmp_path / 'bad.py')
    (tmp_path / 'child.yaml').write_text("_base_: base.py\nval_evaluator: "
                                         "{{_base_.test_evaluator}}\n")
    assert Config.fromfile(tmp_path / 'child.yaml').val_evaluator.type == 'AccMetric'


def test_init_recognizer_reads_the_test_pipeline_of_a_1x_file(toy_config: Path) -> None:
    from actionkit.apis import init_recognizer

    pipeline = [dict(type='PyAVInit'), dict(type='SampleFrames', clip_len=1, num_clips=2)]
    toy_config.write_text(toy_config.read_text() + '\ntest_dataloader = dict(batch_size=1, '
                          f"dataset=dict(type='ToyDataset', pipeline={pipeline!r}))\n")
    model = init_recognizer(toy_config, device='cpu', fuse_conv_bn=False)
    assert model.cfg.data.test == dict(type='ToyDataset', pipeline=pipeline)
    assert 'test_dataloader' not in model.cfg and model.cfg.filename == str(toy_config)


def test_1x_train_flags_change_the_1x_config_as_1x_does(toy_config: Path) -> None:
    from actionkit.commands.v1 import v1_train_config

    args = parse_train_args([str(toy_config), '--amp', '--resume', 'w/epoch_3.pth',
                             '--no-validate', '--auto-scale-lr', '--seed', '5',
                             '--diff-rank-seed', '--deterministic'])
    source = Config.fromfile(toy_config)
    cfg = v1_train_config(args, source)
    assert source.optim_wrapper.type == 'AmpOptimWrapper'  # what the work dir's copy shows
    assert cfg.fp16 == dict(loss_scale='dynamic')
    assert cfg.resume_from == 'w/epoch_3.pth' and 'load_from' not in cfg
    assert 'val' not in cfg.data and not args.validate
    assert cfg.auto_scale_lr == dict(enable=True)
    assert (args.seed, args.diff_seed, args.deterministic) == (5, True, True)
    args = parse_train_args([str(toy_config), '--resume'])
    cfg = v1_train_config(args, Config.fromfile(toy_config))
    assert cfg.resume_from == 'auto' and args.validate


def test_train_model_asks_for_the_translation_of_a_1x_config() -> None:
    from actionkit.apis.train import check_config_types
    from actionkit.config.v1 import engine_config

    cfg = Config(copy.deepcopy(V1))
    with pytest.raises(KeyError, match=r"MMAction2 1.x config.*engine_config\(cfg, 'train'\)"):
        check_config_types(cfg)
    check_config_types(engine_config(cfg, 'train'))  # translated: accepted


def test_default_hooks_start_from_1x_defaults() -> None:
    out, _ = translate_v1({k: v for k, v in V1.items() if k != 'default_hooks'})
    assert out['checkpoint_config'] == dict(interval=1)
    assert out['log_config']['interval'] == 10 and out['evaluation']['save_best'] is None
    out, _ = translate_v1(dict(V1, default_hooks=dict(checkpoint=None)))
    assert out['checkpoint_config'] is None and out['log_config']['interval'] == 10
    assert out['evaluation']['save_best'] is None  # no checkpoint hook, no best checkpoint


def test_the_text_logger_refuses_an_unknown_line_style() -> None:
    from actionkit.engine.logging import TextLoggerHook

    with pytest.raises(ValueError, match=r"TextLoggerHook.line_style must be one of "
                                         r"\('mmcv', 'mmengine'\), got 'mmengin'"):
        TextLoggerHook(line_style='mmengin')


def test_the_1x_logger_out_dir_reaches_the_text_logger() -> None:
    logger = dict(type='LoggerHook', interval=5, out_dir='s3://bkt/logs', keep_local=False,
                  out_suffix='.log')
    out, _ = translate_v1(dict(V1, default_hooks=dict(logger=logger)))
    assert out['log_config']['hooks'][0] == dict(
        type='TextLoggerHook', ignore_last=True, line_style='mmengine',
        metric_aliases=out['log_config']['hooks'][1]['metric_aliases'], out_dir='s3://bkt/logs',
        out_suffix='.log', keep_local=False)
