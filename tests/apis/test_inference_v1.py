"""init_recognizer / inference_recognizer on an MMAction2 1.x config: 1.x's return value."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from actionkit.apis import inference_recognizer, init_recognizer
from actionkit.apis.inference import is_v1_config
from actionkit.config import Config
from actionkit.models.data_sample import ActionDataSample

MEAN, STD = [100.0, 110.0, 120.0], [50.0, 60.0, 70.0]
PIPELINE = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]


def model_cfg() -> dict:
    return dict(type='Recognizer2D',
                backbone=dict(type='ResNet', depth=18, pretrained=None, base_channels=8),
                cls_head=dict(type='TSNHead', num_classes=6, in_channels=64, init_std=0.5,
                              average_clips='prob'),
                data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD,
                                       format_shape='NCHW'))


def v1_config(**top) -> Config:
    """A 1.x-layout config: the model normalises (data_preprocessor), the head averages."""
    cfg = dict(
        default_scope='mmaction',
        model=model_cfg(),
        test_dataloader=dict(batch_size=1, dataset=dict(type='VideoDataset', ann_file='x',
                                                         pipeline=PIPELINE)))
    cfg.update(top)
    return Config(cfg)


@pytest.fixture
def clip() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 40, 40, 3), dtype=np.uint8)


def test_v1_config_gives_an_action_data_sample_with_the_0x_scores(clip):
    torch.manual_seed(0)
    model = init_recognizer(v1_config(), device='cpu')
    result = inference_recognizer(model, clip)
    assert isinstance(result, ActionDataSample)
    assert result.pred_score.shape == (6,)
    assert result.pred_label.tolist() == [int(result.pred_score.argmax())]
    # the same weights under a 0.x config that normalises in its pipeline instead: the same
    # scores, returned as 0.x's top-5 pairs
    steps = [dict(step) for step in PIPELINE]
    steps.insert(4, dict(type='Normalize', mean=MEAN, std=STD, to_bgr=False))
    v0 = Config(dict(model=dict(model_cfg(), data_preprocessor=None), data=dict(test=dict(
        type='VideoDataset', ann_file='x', pipeline=steps))))
    del v0.model['data_preprocessor']
    v0.model.test_cfg = dict(average_clips='prob')
    del v0.model.cls_head['average_clips']
    old = init_recognizer(v0, device='cpu')
    old.load_state_dict(model.state_dict())
    top5 = inference_recognizer(old, clip)
    assert len(top5) == 5 and top5[0][0] == int(result.pred_label)
    for index, score in top5:
        assert score == pytest.approx(float(result.pred_score[index]), rel=1e-5)


def test_test_pipeline_wins_over_the_dataloader_pipeline_and_the_argument_wins_over_both(clip):
    torch.manual_seed(0)
    five = [dict(step) for step in PIPELINE]
    five[1] = dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=5,
                   test_mode=True)
    model = init_recognizer(v1_config(test_pipeline=five), device='cpu')
    seen = []
    model.backbone.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    inference_recognizer(model, clip)
    inference_recognizer(model, clip, PIPELINE)  # 1.x's third argument: a pipeline
    assert seen == [5, 3]


def test_v0_and_v1_configs_are_told_apart():
    assert is_v1_config(v1_config())
    assert not is_v1_config(Config(dict(model=dict(type='Recognizer2D'),
                                        data=dict(test=dict(pipeline=PIPELINE)),
                                        test_pipeline=PIPELINE)))
    with pytest.raises(ValueError, match='nor test_pipeline / test_dataloader.dataset.pipeline'):
        init_recognizer(Config(dict(model=dict(type='Recognizer2D'), default_scope='x')),
                        device='cpu')
