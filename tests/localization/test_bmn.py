"""BMN: sampling matrix, labels, forward/backward, proposals, state-dict keys, soft-NMS."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from actionkit.models import build_model
from actionkit.models.localizers.bmn import BMN, bm_sample_mask
from actionkit.models.localizers.utils import (post_processing, sliding_window_proposals,
                                               soft_nms)

TINY = dict(type='BMN', temporal_dim=8, boundary_ratio=0.5, num_samples=4,
            num_samples_per_bin=3, feat_dim=8, soft_nms_alpha=0.4, soft_nms_low_threshold=0.5,
            soft_nms_high_threshold=0.9, post_process_top_k=5, hidden_dim_1d=8,
            hidden_dim_2d=4, hidden_dim_3d=8)


def _naive_mask(tscale, ratio, num_samples, per_bin):
    """The sampling matrix by the definition: a loop over proposals, bins and points."""
    mask = np.zeros((tscale, num_samples, tscale, tscale))
    for start in range(tscale):
        for dur in range(tscale - start):
            length = dur + 1.0
            lo, hi = start - length * ratio, start + dur + length * ratio
            points = [lo + (hi - lo) / (num_samples * per_bin - 1.0) * i
                      for i in range(num_samples * per_bin)]
            for n in range(num_samples):
                for p in points[n * per_bin:(n + 1) * per_bin]:
                    frac, down = math.modf(p)
                    up = math.ceil(p)
                    if 0 <= int(down) < tscale:
                        mask[int(down), n, dur, start] += (1 - frac) / per_bin
                    if 0 <= int(up) < tscale:
                        mask[int(up), n, dur, start] += frac / per_bin
    return mask.reshape(tscale, -1)


@pytest.mark.parametrize('args', [(8, 0.5, 4, 3), (7, 0.2, 3, 2)])
def test_sample_mask_matches_definition(args):
    np.testing.assert_allclose(bm_sample_mask(*args), _naive_mask(*args), atol=1e-6)


def test_sample_mask_columns_of_inner_proposals_sum_to_one():
    mask = bm_sample_mask(10, 0.0, 4, 3).reshape(10, 4, 10, 10)
    # with boundary_ratio 0 every point of a proposal lies inside the sequence
    for start in range(10):
        for dur in range(10 - start):
            np.testing.assert_allclose(mask[:, :, dur, start].sum(axis=0), 1.0, rtol=1e-5)
        assert np.all(mask[:, :, 10 - start:, start] == 0)  # ends past the video: unused


def test_state_dict_keys_are_mmaction2s():
    model = build_model(TINY)
    keys = set(model.state_dict())
    for key in ('sample_mask', 'x_1d_b.0.weight', 'x_1d_b.2.bias', 'x_1d_s.0.weight',
                'x_1d_s.2.weight', 'x_1d_e.2.bias', 'x_1d_p.0.weight', 'x_3d_p.0.weight',
                'x_2d_p.0.weight', 'x_2d_p.2.weight', 'x_2d_p.4.weight', 'x_2d_p.6.bias'):
        assert key in keys
    assert 'bm_mask' not in keys
    assert model.state_dict()['sample_mask'].shape == (8, 4 * 8 * 8)
    assert model.x_3d_p[0].weight.shape == (8, 8, 4, 1, 1)
    # a checkpoint of this layout loads strictly into a fresh model
    build_model(TINY).load_state_dict(model.state_dict(), strict=True)


def test_generate_labels_hand_computed():
    model = BMN(**{**{k: v for k, v in TINY.items() if k != 'type'}, 'temporal_dim': 4})
    iou_map, start, end = model.generate_labels([torch.tensor([[0.25, 0.75]])])
    assert iou_map.shape == (1, 4, 4)
    # iou_map[duration index d, start s] is the proposal [s/4, (s+d+1)/4]
    assert iou_map[0, 1, 1].item() == pytest.approx(1.0)   # [0.25, 0.75]
    assert iou_map[0, 0, 1].item() == pytest.approx(0.5)   # [0.25, 0.5]
    assert iou_map[0, 3, 0].item() == pytest.approx(0.5)   # [0, 1]
    # anchor i is [(i - .5)/4, (i + 1.5)/4]; start region [-.125, .625], end [.375, 1.125]
    np.testing.assert_allclose(start[0].numpy(), [1.0, 1.0, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(end[0].numpy(), [0.0, 0.5, 1.0, 1.0], atol=1e-6)


def test_forward_train_backward_and_test():
    torch.manual_seed(0)
    model = build_model(TINY)
    raw = torch.rand(2, 8, 8)
    gt_bbox = [torch.tensor([[0.1, 0.4]]), np.array([[0.2, 0.3], [0.5, 0.9]])]
    losses = model(raw, gt_bbox=gt_bbox, return_loss=True)
    assert set(losses) == {'loss'} and losses['loss'].requires_grad
    losses['loss'].backward()
    assert model.x_2d_p[6].weight.grad is not None and model.x_1d_s[2].weight.grad is not None
    assert model.sample_mask.grad is None

    step = model.train_step(dict(raw_feature=raw, gt_bbox=gt_bbox), None)
    assert step['num_samples'] == 2 and set(step['log_vars']) == {'loss'}

    model.eval()
    meta = [dict(video_name='v_a', duration_frame=130, duration_second=13.0),
            dict(video_name='v_b', duration_frame=64, duration_second=3.2)]
    with torch.no_grad():
        outputs = model(raw, video_meta=meta, return_loss=False)
    assert [o['video_name'] for o in outputs] == ['v_a', 'v_b']
    for out, info in zip(outputs, meta):
        proposals = out['proposal_list']
        assert 0 < len(proposals) <= 5
        scores = [p['score'] for p in proposals]
        assert scores == sorted(scores, reverse=True)
        covered = info['duration_frame'] // 16 * 16 / info['duration_frame'] * \
            info['duration_second']
        for p in proposals:
            assert 0 <= p['segment'][0] < p['segment'][1] <= covered + 1e-9
    # the default-collated form of the meta (a dict of lists) works as well
    collated = {key: [m[key] for m in meta] for key in meta[0]}
    collated['duration_frame'] = torch.tensor([130, 64])
    with torch.no_grad():
        again = model(raw, video_meta=collated, return_loss=False)
    assert again == outputs


def test_forward_dummy_shapes_and_bad_input():
    model = build_model(TINY)
    confidence_map, start, end = model.forward_dummy(torch.rand(3, 8, 8))
    assert confidence_map.shape == (3, 2, 8, 8) and start.shape == end.shape == (3, 8)
    assert torch.all((confidence_map >= 0) & (confidence_map <= 1))
    with pytest.raises(ValueError, match=r'feat_dim=8, temporal_dim=8\].*\(1, 8, 9\).*v_x'):
        model(torch.rand(1, 8, 9), video_meta=[dict(video_name='v_x')], return_loss=False)
    with pytest.raises(ValueError, match='gt_bbox'):
        model(torch.rand(1, 8, 8), gt_bbox=None)


@pytest.mark.parametrize('bad', [dict(feat_dim=6), dict(hidden_dim_1d=10), dict(temporal_dim=0),
                                 dict(soft_nms_low_threshold=1.5), dict(boundary_ratio=-1)])
def test_constructor_validation(bad):
    args = {k: v for k, v in TINY.items() if k != 'type'}
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        BMN(**{**args, **bad})


def test_soft_nms_hand_computed():
    proposals = np.array([[0.0, 0.5, 0.9], [0.0, 0.4, 0.8], [0.6, 1.0, 0.7]])
    out = soft_nms(proposals, alpha=0.5, low_threshold=0.1, high_threshold=0.9, top_k=10)
    # best first; [0, .4] overlaps it with IoU .8 > .1 + .8 * .5: decayed by exp(-.64 / .5)
    np.testing.assert_allclose(out[0], [0.0, 0.5, 0.9])
    np.testing.assert_allclose(out[1], [0.6, 1.0, 0.7])
    np.testing.assert_allclose(out[2], [0.0, 0.4, 0.8 * math.exp(-0.64 / 0.5)])
    assert len(soft_nms(np.random.rand(20, 3) * [1, 0, 1] + [0, 1, 0], 0.4, 0.5, 0.9, 4)) == 5


def test_post_processing_converts_to_seconds():
    result = np.array([[0.1, 0.6, 0.5], [-0.1, 1.2, 0.9]])
    info = dict(duration_frame=100, duration_second=10.0)
    out = post_processing(result, info, 0.4, 0.5, 0.9, 10, feature_extraction_interval=16)
    # features cover 96 of 100 frames = 9.6 s; times are clipped to [0, 1] first
    assert out[0]['segment'] == pytest.approx([0.0, 9.6])
    assert out[1]['segment'] == pytest.approx([0.96, 5.76])
    assert [round(p['score'], 6) for p in out][0] == 0.9


def test_sliding_window_baseline_covers_the_video():
    windows = sliding_window_proposals(10.0, scales=(0.5, 0.2), overlap=0.5)
    segments = sorted(tuple(w['segment']) for w in windows)
    assert (0.0, 5.0) in segments and (5.0, 10.0) in segments and (8.0, 10.0) in segments
    assert all(0 <= s < e <= 10.0 + 1e-9 for s, e in segments)
    scores = [w['score'] for w in windows]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError, match='overlap'):
        sliding_window_proposals(1.0, overlap=1.0)


@pytest.mark.slow
def test_bmn_learns_on_synthetic_data(tmp_path):
    """80 Adam steps on 24 synthetic videos: proposals of held-out videos clearly improve,
    beyond the content-blind sliding windows."""
    from actionkit.datasets import ActivityNetDataset
    from actionkit.datasets.pipelines.localization import (GenerateLocalizationLabels,
                                                           LoadLocalizationFeature)
    from actionkit.datasets.synthetic_localization import make_synthetic_localization

    torch.manual_seed(0)
    paths = make_synthetic_localization(tmp_path, 32, temporal_dim=16, feat_dim=8, seed=5)
    pipeline = [LoadLocalizationFeature(feat_dim=8), GenerateLocalizationLabels()]
    train_set, val_set = (ActivityNetDataset(paths[key], pipeline, data_prefix=paths['data_root'],
                                             test_mode=True)
                          for key in ('ann_file_train', 'ann_file_val'))
    train = [train_set[i] for i in range(len(train_set))]
    val = [val_set[i] for i in range(len(val_set))]
    model = build_model(dict(TINY, temporal_dim=16, post_process_top_k=20, hidden_dim_1d=32,
                             hidden_dim_2d=16, hidden_dim_3d=32))

    def evaluate():
        model.eval()
        with torch.no_grad():
            results = [model(torch.from_numpy(s['raw_feature'])[None], video_meta=[s],
                             return_loss=False)[0] for s in val]
        model.train()
        return val_set.evaluate(results, logger='silent')

    before = evaluate()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(80):
        idx = torch.randint(len(train), (8, ), generator=generator).tolist()
        out = model.train_step(dict(
            raw_feature=torch.stack([torch.from_numpy(train[i]['raw_feature']) for i in idx]),
            gt_bbox=[train[i]['gt_bbox'] for i in idx]), optimizer)
        optimizer.zero_grad()
        out['loss'].backward()
        optimizer.step()
        losses.append(out['log_vars']['loss'])
    after = evaluate()
    windows = val_set.evaluate([dict(video_name=s['video_name'], proposal_list=(
        sliding_window_proposals(s['feature_frame'] / s['duration_frame'] * s['duration_second'])))
        for s in val], logger='silent')
    assert np.mean(losses[-10:]) < 0.75 * np.mean(losses[:10])
    assert after['AR@10'] > max(before['AR@10'], windows['AR@10']) + 0.1
    assert after['auc'] > before['auc'] + 5
