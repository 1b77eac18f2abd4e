"""BSN: TEM, PGM (candidate proposals, BSP features, the tool) and PEM."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.models import build_model
from actionkit.models.localizers.utils import (bsp_feature, candidate_proposals,
                                               generate_bsp_feature,
                                               generate_candidate_proposals, load_tem_results)

REPO = Path(__file__).resolve().parents[2]
TEM = dict(type='TEM', temporal_dim=4, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=8,
           tem_match_threshold=0.5)
PEM = dict(type='PEM', pem_feat_dim=32, pem_hidden_dim=16, pem_u_ratio_m=1, pem_u_ratio_l=2,
           pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2,
           soft_nms_alpha=0.75, soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9,
           post_process_top_k=5)


def test_tem_keys_labels_and_forward():
    model = build_model(TEM)
    assert set(model.state_dict()) == {f'conv{i}.{p}' for i in (1, 2, 3)
                                       for p in ('weight', 'bias')}
    action, start, end = model.generate_labels([torch.tensor([[0.25, 0.75]])])
    # anchors [i/4, (i+1)/4]; boundary regions max(1/4, 0.1 * 0.5) wide
    np.testing.assert_allclose(action[0].numpy(), [0, 1, 1, 0])
    np.testing.assert_allclose(start[0].numpy(), [0.5, 0.5, 0, 0])
    np.testing.assert_allclose(end[0].numpy(), [0, 0, 0.5, 0.5])

    raw = torch.rand(2, 6, 4)
    losses = model(raw, gt_bbox=[torch.tensor([[0.25, 0.75]]), torch.tensor([[0., .5]])])
    assert set(losses) == {'loss_action', 'loss_start', 'loss_end'}
    sum(losses.values()).backward()
    assert model.conv1.weight.grad is not None

    results = model(raw, video_meta=[{'video_name': 'v_a'}, {'video_name': 'v_b'}],
                    return_loss=False)
    assert [name for name, _ in results] == ['v_a', 'v_b']
    table = results[0][1]
    assert table.shape == (4, 5)
    np.testing.assert_allclose(table[:, 3:], [[0, .25], [.25, .5], [.5, .75], [.75, 1]])
    with pytest.raises(ValueError, match='tem_feat_dim=6'):
        model(torch.rand(1, 5, 4), return_loss=False)


def test_pem_forward_train_and_test():
    torch.manual_seed(0)
    model = build_model(PEM)
    assert set(model.state_dict()) == {'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'}
    feats = [torch.rand(7, 32), torch.rand(5, 32)]
    ious = [torch.rand(7), torch.rand(5)]
    losses = model(feats, reference_temporal_iou=ious)
    pred = model.forward_dummy(torch.cat(feats)).view(-1)
    expected = torch.nn.functional.smooth_l1_loss(pred, torch.cat(ious))
    assert losses['temporal_iou_loss'].item() == pytest.approx(expected.item())
    losses['temporal_iou_loss'].backward()

    tmin = torch.tensor([[0.1, 0.2, 0.5]])
    tmax = torch.tensor([[0.4, 0.9, 0.8]])
    out = model(torch.rand(1, 3, 32), tmin=tmin, tmax=tmax, tmin_score=torch.ones(1, 3),
                tmax_score=torch.full((1, 3), 0.5), return_loss=False,
                video_meta=[dict(video_name='v_a', duration_frame=160, duration_second=16.)])
    assert out[0]['video_name'] == 'v_a' and 1 <= len(out[0]['proposal_list']) <= 3
    for proposal in out[0]['proposal_list']:
        assert 0 <= proposal['segment'][0] < proposal['segment'][1] <= 16.0
        assert proposal['score'] <= 0.5  # pem score (< 1) * 1 * 0.5


def test_candidate_proposals_hand_computed():
    tem = np.zeros((4, 5))
    tem[:, 1] = [0.9, 0.1, 0.6, 0.2]   # start peaks: 0, 2 (local max) and the end 3
    tem[:, 2] = [0.1, 0.3, 0.2, 0.8]   # end peaks: the ends 0, 3 and 1 (local max)
    info = dict(duration_frame=100, duration_second=10., feature_frame=100,
                annotations=[dict(segment=[1.25, 8.75])])
    props = candidate_proposals(tem, info, peak_threshold=0.5)
    expected = [[0.125, 0.875, 0.9, 0.8, 0.72, 1.0, 1.0],
                [0.625, 0.875, 0.6, 0.8, 0.48, 1 / 3, 1.0],
                [0.125, 0.375, 0.9, 0.3, 0.27, 1 / 3, 1.0]]
    np.testing.assert_allclose(props, expected, rtol=1e-6)


def test_generate_candidate_proposals_reads_temporal_scale_rows_of_a_longer_tem_result(
        tmp_path):
    # MMAction2 0.24.1 with 10 TEM rows and temporal_scale=5: bins 1/5 wide, peaks checked at
    # positions 1..3 against the maximum over all 10 rows, positions 0..4 read.
    tem = np.zeros((10, 5))
    tem[:, 1] = [0.2, 0.5, 0.1, 0.3, 0.9, 0.1, 0.1, 0.95, 0.1, 0.1]  # starts: 0, 1 (peak)
    tem[:, 2] = [0.1, 0.2, 0.6, 0.3, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1]   # ends: 0, 2 (peak)
    # (position 4 is a peak in both, but MMAction2 checks only 1..tscale-2)
    lines = ['action,start,end,tmin,tmax'] + [','.join(map(str, row)) for row in tem]
    (tmp_path / 'v_a.csv').write_text('\n'.join(lines) + '\n')
    infos = [dict(video_name='v_a', duration_frame=100, duration_second=10., feature_frame=100,
                  annotations=[dict(segment=[1.0, 5.0])])]
    got = generate_candidate_proposals([0], infos, str(tmp_path), temporal_scale=5,
                                       peak_threshold=0.5)
    # centres 0.1, 0.3 (starts) and 0.1, 0.5 (ends); gt [0.1, 0.5]
    expected = [[0.3, 0.5, 0.5, 0.6, 0.30, 0.5, 1.0],
                [0.1, 0.5, 0.2, 0.6, 0.12, 1.0, 1.0]]
    np.testing.assert_allclose(got['v_a'], expected, rtol=1e-6)
    with pytest.raises(ValueError, match='expected at least 11 rows'):
        generate_candidate_proposals([0], infos, str(tmp_path), temporal_scale=11,
                                     peak_threshold=0.5)


def _naive_bsp(tem, proposal, ratio=0.2, n_start=8, n_end=8, n_action=16, n_interp=3):
    """BSP feature of one proposal, point by point."""
    scale = len(tem)
    gap = tem[0, 4] - tem[0, 3]
    extend = int(scale / 4 + 10)
    points = ([-gap / 2 - (extend - 1 - i) * gap for i in range(extend)]
              + [gap / 2 + i * gap for i in range(scale)]
              + [gap / 2 + tem[-1, 4] + i * gap for i in range(extend)])
    values = [0.0] * extend + list(tem[:, 0]) + [0.0] * extend

    def region(lo, hi, num):
        step = (hi - lo) / (num - 1)
        samples = [np.interp(lo - step / 2 + step / n_interp * i, points, values)
                   for i in range(num * n_interp + 1)]
        return [np.mean(samples[i * n_interp:(i + 1) * n_interp + 1]) for i in range(num)]

    tmin, tmax = proposal[0], proposal[1]
    margin = (tmax - tmin) * ratio
    return np.array(region(tmin, tmax, n_action) + region(tmin - margin, tmin + margin, n_start)
                    + region(tmax - margin, tmax + margin, n_end))


def test_bsp_feature_matches_definition():
    rng = np.random.default_rng(0)
    tem = np.zeros((10, 5))
    tem[:, 0] = rng.random(10)
    tem[:, 3] = np.arange(10) / 10
    tem[:, 4] = np.arange(1, 11) / 10
    proposals = np.array([[0.05, 0.55], [0.3, 0.95], [0.0, 1.0]])
    features = bsp_feature(tem, proposals)
    assert features.shape == (3, 32)
    for row, proposal in zip(features, proposals):
        np.testing.assert_allclose(row, _naive_bsp(tem, proposal), rtol=1e-6, atol=1e-9)


def test_pgm_on_shared_files(shared_data, tmp_path):
    annotations = (shared_data / 'annotations' / 'action_test_anno.json').read_text()
    infos = [dict(v, video_name=k) for k, v in json.loads(annotations).items()]
    tem_dir = str(shared_data / 'tem_results')
    proposals = generate_candidate_proposals([0, 1], infos, tem_dir, temporal_scale=10,
                                             peak_threshold=0.5)
    assert set(proposals) == {'v_test1', 'v_test2'}
    for props in proposals.values():
        assert props.shape[1] == 7 and len(props) > 0
        assert np.all(props[:, 0] < props[:, 1])
        np.testing.assert_allclose(props[:, 4], props[:, 2] * props[:, 3], rtol=1e-6)
        assert np.all(np.diff(props[:, 4]) <= 0)
        assert np.all((props[:, 5] >= 0) & (props[:, 5] <= props[:, 6] + 1e-9))
    with pytest.raises(ValueError, match='expected at least 12 rows'):
        generate_candidate_proposals([0], infos, tem_dir, temporal_scale=12, peak_threshold=0.5)
    features = generate_bsp_feature([0], infos, tem_dir, str(shared_data / 'proposals'), top_k=4)
    assert features['v_test1'].shape == (4, 32)
    with pytest.raises(FileNotFoundError, match='v_test1'):
        generate_bsp_feature([0], infos, tem_dir, str(tmp_path))
    assert load_tem_results(str(shared_data / 'tem_results' / 'v_test2.csv')).shape == (10, 5)


def _load_tool():
    path = REPO / 'tools' / 'misc' / 'bsn_proposal_generation.py'
    spec = importlib.util.spec_from_file_location('bsn_proposal_generation', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bsn_pipeline_end_to_end(synthetic_loc, tmp_path):
    """TEM results -> the PGM tool -> LoadProposals -> PEM proposals -> AR@AN."""
    from actionkit.datasets import ActivityNetDataset
    from actionkit.datasets.pipelines.localization import LoadLocalizationFeature, LoadProposals

    torch.manual_seed(0)
    ann_file = synthetic_loc['ann_file_full']
    dataset = ActivityNetDataset(ann_file, [LoadLocalizationFeature(feat_dim=8)],
                                 data_prefix=synthetic_loc['data_root'], test_mode=True)
    tem = build_model(dict(TEM, temporal_dim=32, tem_feat_dim=8))
    with torch.no_grad():
        tem_results = [tem(torch.from_numpy(dataset[i]['raw_feature'])[None],
                           video_meta=[dataset.video_infos[i]], return_loss=False)[0]
                       for i in range(len(dataset))]
    tem_dir = tmp_path / 'tem_results'
    dataset.dump_results(tem_results, str(tem_dir), output_format='csv')
    assert len(list(tem_dir.glob('*.csv'))) == len(dataset)

    config = tmp_path / 'pgm.py'
    config.write_text(
        f'ann_file_train = {ann_file!r}\nann_file_val = {ann_file!r}\n'
        f'tem_results_dir = {str(tem_dir)!r}\n'
        f'pgm_proposals_dir = {str(tmp_path / "proposals")!r}\n'
        f'pgm_features_dir = {str(tmp_path / "features")!r}\n'
        'pgm_proposals_cfg = dict(pgm_proposals_thread=1, temporal_scale=32, peak_threshold=.5)\n'
        'pgm_features_test_cfg = dict(pgm_features_thread=2, top_k=40)\n'
        'pgm_features_train_cfg = dict(pgm_features_thread=1, top_k=20)\n')
    _load_tool().main([str(config), '--mode', 'test'])
    assert len(list((tmp_path / 'features').glob('*.npy'))) == len(dataset)

    load = LoadProposals(40, str(tmp_path / 'proposals'), str(tmp_path / 'features'))
    pem = build_model(PEM)
    results = []
    for info in dataset.video_infos:
        sample = load(dict(video_name=info['video_name']))
        assert sample['bsp_feature'].shape[1] == 32
        assert len(sample['bsp_feature']) == len(sample['tmin']) <= 40
        with torch.no_grad():
            results += pem(torch.from_numpy(sample['bsp_feature'])[None],
                           tmin=torch.from_numpy(sample['tmin'])[None],
                           tmax=torch.from_numpy(sample['tmax'])[None],
                           tmin_score=torch.from_numpy(sample['tmin_score'])[None],
                           tmax_score=torch.from_numpy(sample['tmax_score'])[None],
                           video_meta=[info], return_loss=False)
    metrics = dataset.evaluate(results, logger='silent')
    assert set(metrics) == {'auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'}
    assert 0 < metrics['AR@100'] <= 1
