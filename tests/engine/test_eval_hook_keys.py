"""The ``evaluation`` dict is split once, by EvalHook's own arguments (EVAL_HOOK_KEYS), in
training (apis/train.py) and in tools/analysis/eval_metric.py (analysis/evaluate.py)."""
import pytest
import torch
from torch.utils.data import DataLoader

from actionkit.analysis import evaluate as analysis_evaluate
from actionkit.config import Config
from actionkit.engine.hooks import EVAL_HOOK_KEYS, EvalHook


def _loader():
    return DataLoader(torch.zeros(2, 1))


def test_greater_and_less_keys_are_hook_arguments_as_in_mmcv():
    with pytest.raises(ValueError, match='cannot tell'):
        EvalHook(_loader(), save_best='mean_f1')
    hook = EvalHook(_loader(), save_best='mean_f1', greater_keys=['f1'])
    assert hook.rule == 'greater' and hook.key_indicator == 'mean_f1'
    assert EvalHook(_loader(), save_best='mean_err', less_keys=('err',)).rule == 'less'
    with pytest.raises(TypeError, match='greater_keys'):
        EvalHook(_loader(), greater_keys='f1')


def test_eval_metric_drops_exactly_the_hook_keys(monkeypatch):
    seen = {}

    class _Dataset:
        def __len__(self):
            return 1

        def evaluate(self, results, **kwargs):
            seen.update(kwargs)
            return {'top1_acc': 1.0}

    monkeypatch.setattr(analysis_evaluate, 'build_split_dataset', lambda cfg, split: _Dataset())
    cfg = Config(dict(evaluation=dict(interval=5, save_best='auto', greater_keys=['acc'],
                                      less_keys=['loss'], gpu_collect=True,
                                      metrics=['top_k_accuracy'], metric_options={'k': 1})))
    analysis_evaluate.evaluate_results(cfg, [0])
    assert seen == dict(metrics=['top_k_accuracy'], metric_options={'k': 1})
    assert {'interval', 'greater_keys', 'less_keys', 'gpu_collect'} <= set(EVAL_HOOK_KEYS)
