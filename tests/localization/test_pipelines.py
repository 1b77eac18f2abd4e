"""Localization pipeline steps: required/added keys, real files, bad files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from actionkit.datasets import PIPELINES
from actionkit.datasets.errors import DataError
from actionkit.datasets.pipelines.localization import (GenerateLocalizationLabels,
                                                       LoadLocalizationFeature, LoadProposals,
                                                       SampleProposalFrames)
from actionkit.datasets.ssn_dataset import SSNInstance


def test_registered():
    for name in ('LoadLocalizationFeature', 'GenerateLocalizationLabels', 'LoadProposals',
                 'SampleProposalFrames'):
        assert name in PIPELINES


def test_load_feature_on_real_csv(shared_data):
    prefix = str(shared_data / 'activitynet_features')
    results = PIPELINES.build(dict(type='LoadLocalizationFeature'))(
        dict(video_name='v_test1', data_prefix=prefix))
    reference = np.genfromtxt(shared_data / 'activitynet_features' / 'v_test1.csv',
                              delimiter=',', skip_header=1)
    assert results['raw_feature'].dtype == np.float32
    assert results['raw_feature'].shape == (400, reference.shape[0])  # [feat_dim, T]
    np.testing.assert_allclose(results['raw_feature'], reference.T, rtol=1e-6)
    assert LoadLocalizationFeature(feat_dim=400)(
        dict(video_name='v_test2', data_prefix=prefix))['raw_feature'].shape[0] == 400


def _write(path, text):
    path.write_text(text)
    return path


def test_load_feature_bad_files(tmp_path):
    _write(tmp_path / 'v_ok.csv', 'f0,f1,f2\n1,2,3\n4,5,6\n')
    _write(tmp_path / 'v_ragged.csv', 'f0,f1,f2\n1,2,3\n4,5\n')
    load = LoadLocalizationFeature(feat_dim=4)
    with pytest.raises(DataError, match=r"'v_ok'.*v_ok.csv has 3 columns, expected feat_dim=4"):
        load(dict(video_name='v_ok', data_prefix=str(tmp_path)))
    with pytest.raises(DataError, match=r"'v_ragged'.*v_ragged.csv:3 has 2 values"):
        LoadLocalizationFeature()(dict(video_name='v_ragged', data_prefix=str(tmp_path)))
    with pytest.raises(DataError, match=r"'v_gone'.*v_gone.csv not found") as info:
        LoadLocalizationFeature()(dict(video_name='v_gone', data_prefix=str(tmp_path)))
    assert info.value.path.endswith('v_gone.csv')
    with pytest.raises(ValueError, match='raw_feature_ext'):
        LoadLocalizationFeature(raw_feature_ext='.npy')


def test_generate_labels(shared_data):
    infos = json.loads((shared_data / 'annotations' / 'action_test_anno.json').read_text())
    results = GenerateLocalizationLabels()(dict(infos['v_test1'], video_name='v_test1'))
    np.testing.assert_allclose(results['gt_bbox'], [[0.3, 0.6]])
    # features cover 90 of 100 frames (9 of 10 s): seconds / 9, clipped to [0, 1]
    info = dict(duration_frame=100, duration_second=10., feature_frame=90,
                annotations=[dict(segment=[4.5, 9.5], label='a')])
    np.testing.assert_allclose(GenerateLocalizationLabels()(info)['gt_bbox'], [[0.5, 1.0]])
    with pytest.raises(DataError, match="'v_x' has no annotations"):
        GenerateLocalizationLabels()(dict(info, annotations=[], video_name='v_x'))


def test_load_proposals_on_real_files(shared_data, tmp_path):
    load = PIPELINES.build(dict(type='LoadProposals', top_k=5,
                                pgm_proposals_dir=str(shared_data / 'proposals'),
                                pgm_features_dir=str(shared_data / 'bsp_features')))
    results = load(dict(video_name='v_test1'))
    rows = np.loadtxt(shared_data / 'proposals' / 'v_test1.csv', delimiter=',', skiprows=1)[:5]
    assert results['bsp_feature'].shape == (5, 32) and results['bsp_feature'].dtype == np.float32
    for key, column in (('tmin', 0), ('tmax', 1), ('tmin_score', 2), ('tmax_score', 3),
                        ('reference_temporal_iou', 5)):
        np.testing.assert_allclose(results[key], rows[:, column], rtol=1e-6)
    # 9 proposals but 665 feature rows: the files do not belong together
    with pytest.raises(DataError, match='9 proposals'):
        LoadProposals(1000, str(shared_data / 'proposals'),
                      str(shared_data / 'bsp_features'))(dict(video_name='v_test1'))
    with pytest.raises(DataError, match='v_test2.npy not found'):
        LoadProposals(5, str(shared_data / 'proposals'),
                      str(shared_data / 'bsp_features'))(dict(video_name='v_test2'))


def test_sample_proposal_frames_val_mode_hand_computed():
    sampler = SampleProposalFrames(clip_len=1, body_segments=5, aug_segments=(2, 2),
                                   aug_ratio=0.5, mode='val')
    proposal = SSNInstance(10, 30, 100)
    results = sampler(dict(total_frames=100, start_index=1,
                           out_proposals=[(('vid', proposal), 0)]))
    # starting stage frames [0, 10): centres of 2 bins of 9; course [10, 30): 5 bins of 19;
    # ending [30, 39]: 2 bins of 9; plus start_index 1
    assert results['frame_inds'].tolist() == [3, 7, 12, 16, 20, 24, 28, 33, 37]
    assert results['num_clips'] == 9 and results['num_proposals'] == 1
    assert results['clip_len'] == 1 and results['frame_interval'] == 1


def test_sample_proposal_frames_train_and_test_modes():
    np.random.seed(0)
    sampler = SampleProposalFrames(clip_len=2, body_segments=3, aug_segments=(1, 1),
                                   aug_ratio=(0.5, 0.5), frame_interval=2)
    proposals = [(('v', SSNInstance(20, 60, 100)), 0), (('v', SSNInstance(0, 10, 100)), 2)]
    results = sampler(dict(total_frames=100, start_index=0, out_proposals=proposals))
    inds = results['frame_inds'].reshape(2, 5, 2)  # proposals x clips x clip_len
    assert np.all(inds[:, :, 1] - inds[:, :, 0] == 2)
    assert np.all((inds[0, 1:4, 0] >= 20) & (inds[0, 1:4, 0] < 60))  # course inside
    assert np.all((inds[0, 0, 0] >= 0) & (inds[0, 0, 0] < 20))       # starting before
    test = SampleProposalFrames(1, 5, (2, 2), 0.5, test_interval=6, mode='test')
    out = test(dict(total_frames=20, start_index=1))  # every 6th of frames 0..18
    assert out['frame_inds'].tolist() == [1, 7, 13, 19] and 'num_proposals' not in out
    with pytest.raises(ValueError, match='mode'):
        SampleProposalFrames(1, 5, (2, 2), 0.5, mode='eval')
    with pytest.raises(ValueError, match='out_proposals'):
        sampler(dict(total_frames=100, start_index=0))
