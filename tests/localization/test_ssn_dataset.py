"""SSNDataset: the proposal list format, proposal pools, train/test samples, mAP."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actionkit.datasets import DATASETS
from actionkit.datasets.errors import AnnotationError
from actionkit.datasets.pipelines.localization import SampleProposalFrames
from actionkit.datasets.ssn_dataset import (SSNInstance, load_localize_proposal_file,
                                            perform_regression, temporal_nms)

TRAIN_CFG = dict(ssn=dict(
    assigner=dict(positive_iou_threshold=0.7, background_iou_threshold=0.01,
                  incomplete_iou_threshold=0.6, background_coverage_threshold=0.02,
                  incomplete_overlap_threshold=0.01),
    sampler=dict(num_per_video=8, positive_ratio=1, background_ratio=1, incomplete_ratio=6,
                 add_gt_as_proposals=True),
    loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.1)))
TEST_CFG = dict(ssn=dict(sampler=dict(test_interval=1, batch_size=16),
                         evaluater=dict(top_k=2000, nms=0.2, softmax_before_filter=True,
                                        cls_score_dict=None, cls_top_k=2)))


def _dataset(ann_file, pipeline=(), test_mode=False, **kwargs):
    return DATASETS.build(dict(type='SSNDataset', ann_file=str(ann_file), pipeline=list(pipeline),
                               train_cfg=TRAIN_CFG, test_cfg=TEST_CFG, data_prefix='frames',
                               test_mode=test_mode, **kwargs))


def test_parse_real_proposal_list(shared_data):
    videos = load_localize_proposal_file(str(shared_data / 'annotations' /
                                             'proposal_test_list.txt'))
    assert len(videos) == 1
    video_id, num_frames, gts, proposals = videos[0]
    assert (video_id, num_frames) == ('imgs', 5)
    assert gts == [['3', '1', '2'], ['3', '3', '5']] and len(proposals) == 10
    assert proposals[5] == ['3', '0.3333', '0.5000', '2', '4']


def test_parse_errors_name_the_line(tmp_path):
    bad = tmp_path / 'list.txt'
    bad.write_text('# 0\nvid\n10\n1\n1\n3 1 2 9\n0\n')
    with pytest.raises(AnnotationError, match=r'list.txt:6: expected 3 fields'):
        load_localize_proposal_file(str(bad))
    bad.write_text('vid\n10\n')
    with pytest.raises(AnnotationError, match=r'list.txt:1: expected a "# <index>" line'):
        load_localize_proposal_file(str(bad))


def test_pools_and_normalization_constants(shared_data):
    dataset = _dataset(shared_data / 'annotations' / 'proposal_test_list.txt')
    info = dataset.video_infos[0]
    assert info['frame_dir'].endswith('frames/imgs') and info['total_frames'] == 5
    # best_iou > 0.7: two proposals, plus the two gts
    assert len(dataset.positive_pool) == 4
    # best_iou < 0.6 with some overlap: six proposals; [2, 3) has none and covers 20%
    assert len(dataset.incomplete_pool) == 6 and len(dataset.background_pool) == 1
    assert (dataset.positive_per_video, dataset.background_per_video,
            dataset.incomplete_per_video) == (1, 1, 6)
    # the two positive proposals coincide with their gts: zero regression targets
    np.testing.assert_allclose(dataset.reg_norm_consts, [[0, 0], [0, 0]], atol=1e-12)
    with pytest.raises(FileNotFoundError, match='denormalize'):
        _dataset(shared_data / 'annotations' / 'proposal_normalized_list.txt')


def test_regression_targets_hand_computed():
    gt = SSNInstance(10, 30, 100, label=1)
    proposal = SSNInstance(14, 24, 100, label=1, best_iou=0.5)
    proposal.compute_regression_targets([SSNInstance(60, 70, 100), gt])
    # centres 19.5 (gt) and 18.5; sizes 20 and 10
    assert proposal.regression_targets == pytest.approx([0.1, np.log(2)])


def test_train_and_test_samples(shared_data):
    np.random.seed(0)
    sampler = SampleProposalFrames(1, 5, (2, 2), 0.5)
    dataset = _dataset(shared_data / 'annotations' / 'proposal_test_list.txt', [sampler],
                       reg_normalize_constants=[[0, 0], [1, 1]])
    sample = dataset[0]
    assert sample['proposal_type'].tolist() == [0] + [1] * 6 + [2]
    assert sample['proposal_labels'][-1] == 0 and set(sample['proposal_labels'][:-1]) == {3}
    assert sample['reg_targets'].shape == sample['proposal_scale_factor'].shape == (8, 2)
    assert len(sample['frame_inds']) == 8 * 9

    tester = _dataset(shared_data / 'annotations' / 'proposal_test_list.txt', test_mode=True,
                      reg_normalize_constants=[[0, 0], [1, 1]])
    sample = tester[0]
    assert sample['relative_proposal_list'].shape == (10, 2)
    np.testing.assert_allclose(sample['relative_proposal_list'][0], [0.2, 0.4])
    assert sample['proposal_tick_list'].shape == (10, 4)
    assert sample['scale_factor_list'].shape == (10, 2)


def test_evaluate_perfect_detections(shared_data):
    dataset = _dataset(shared_data / 'annotations' / 'proposal_test_list.txt', test_mode=True)
    rel = np.array([[p.start_frame / 5, p.end_frame / 5]
                    for p in dataset.video_infos[0]['proposals']])
    activity = np.full((10, 4), -5.0)
    completeness = np.full((10, 3), -5.0)
    for idx in (0, 8):  # the two proposals equal to the gts ([1, 2) and [3, 5)) of class 3
        activity[idx, 3] = 5.0
        completeness[idx, 2] = 2.0
    results = [dict(relative_proposal_list=rel, activity_scores=activity,
                    completeness_scores=completeness, bbox_preds=np.zeros((10, 3, 2)))]
    metrics = dataset.evaluate(results, logger='silent')
    assert list(metrics)[0] == 'mAP@0.10' and len(metrics) == 9
    assert all(v == pytest.approx(1.0) for v in metrics.values())
    with pytest.raises(KeyError, match='mAP'):
        dataset.evaluate(results, metrics='AR@AN')


def test_regression_and_nms_helpers():
    dets = np.array([[0.2, 0.4, 0.9, 0.5, np.log(2)]])
    np.testing.assert_allclose(perform_regression(dets)[0, :2], [0.2, 0.6])
    boxes = np.array([[0.0, 0.5, 0.9], [0.05, 0.5, 0.8], [0.6, 0.9, 0.7]])
    np.testing.assert_allclose(temporal_nms(boxes, 0.5), boxes[[0, 2]])


def test_ssn_configs_run_on_real_frames(shared_data):
    """The SSN train and test configs' pipelines on the shared rawframes, into an SSN with a
    tiny backbone."""
    import torch
    from torch import nn

    from actionkit.config import Config
    from actionkit.datasets import build_dataloader, build_dataset
    from actionkit.models import build_model

    class TinyBackbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=4)
            self.pool = nn.AdaptiveAvgPool2d(7)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.conv(x))

    np.random.seed(0)
    torch.manual_seed(0)
    root = Path(__file__).resolve().parents[2] / 'configs' / 'localization' / 'ssn'
    overrides = {'ann_file': str(shared_data / 'annotations' / 'proposal_test_list.txt'),
                 'data_prefix': str(shared_data), 'reg_normalize_constants': [[0, 0], [1, 1]],
                 # the shared list has no proposal the default assigner calls incomplete
                 'train_cfg.ssn.assigner.incomplete_iou_threshold': 0.6}
    train_cfg = Config.fromfile(str(root / 'ssn_r50_450e_thumos14_rgb_train.py'))
    train_cfg.merge_from_dict({f'data.train.{k}': v for k, v in overrides.items()},
                              allow_new_keys=True)
    train_set = build_dataset(train_cfg.data.train)
    batch = next(iter(build_dataloader(train_set, 1, 0, shuffle=False)))
    assert batch['imgs'].shape == (1, 8, 9, 3, 224, 224)  # N, proposals, segments, C, H, W
    model_cfg = train_cfg.model.to_dict() if hasattr(train_cfg.model, 'to_dict') else \
        dict(train_cfg.model)
    model_cfg['backbone'] = TinyBackbone()
    model_cfg['cls_head'] = dict(model_cfg['cls_head'], in_channels=8)
    model = build_model(model_cfg)
    out = model.train_step(batch, None)
    assert set(out['log_vars']) == {'loss_activity', 'loss_completeness', 'loss_reg', 'loss'}
    out['loss'].backward()

    test_cfg = Config.fromfile(str(root / 'ssn_r50_450e_thumos14_rgb_test.py'))
    test_cfg.merge_from_dict({f'data.test.{k}': v for k, v in overrides.items()},
                             allow_new_keys=True)
    test_set = build_dataset(test_cfg.data.test)
    batch = next(iter(build_dataloader(test_set, 1, 0, shuffle=False)))
    tester_cfg = dict(model_cfg, cls_head=dict(model_cfg['cls_head'], consensus=dict(
        type='STPPTest', stpp_stage=(1, 1, 1))), test_cfg=test_cfg.model.test_cfg)
    tester_cfg.pop('train_cfg', None)
    tester = build_model(tester_cfg)
    tester.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        results = tester.eval()(**batch, return_loss=False)
    assert results[0]['activity_scores'].shape == (10, 21)
    metrics = test_set.evaluate(results, logger='silent')
    assert all(0 <= v <= 1 for v in metrics.values())
