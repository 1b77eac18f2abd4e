"""RoIAlign / RoIPool (mmcv's definitions, pure PyTorch) and SingleRoIExtractor3D, against
hand-computed bilinear samples; and against torchvision when it is importable."""
from __future__ import annotations

import pytest
import torch

from actionkit.models.roi_extractors import SingleRoIExtractor3D, roi_align, roi_pool
from actionkit.models.roi_extractors import roi_ops


@pytest.fixture(autouse=True)
def pure_pytorch(monkeypatch):
    """Test our RoIAlign even where torchvision is installed."""
    monkeypatch.setattr(roi_ops, '_tv_roi_align', None)


def _ramp(n=4):
    """v[h, w] = 10 h + w: bilinear sampling gives 10 y + x exactly inside the map."""
    h = torch.arange(n, dtype=torch.float32)
    return (10 * h[:, None] + h[None, :])[None, None]  # [1, 1, n, n]


def _rois(*boxes):
    return torch.tensor(boxes, dtype=torch.float32)


def test_roi_align_one_bilinear_sample():
    feat = torch.tensor([[[[0., 1.], [2., 4.]]]])
    # aligned: the box 0.5..1.5 becomes 0..1; one sample at (0.5, 0.5) = (0+1+2+4) / 4
    out = roi_align(feat, _rois([0, .5, .5, 1.5, 1.5]), 1, sampling_ratio=1)
    assert out.item() == pytest.approx(1.75)
    # not aligned: the sample is at (1, 1), the corner value
    out = roi_align(feat, _rois([0, .5, .5, 1.5, 1.5]), 1, sampling_ratio=1, aligned=False)
    assert out.item() == pytest.approx(4.)


@pytest.mark.parametrize('roi,size,scale,mode,expected', [
    # [0.5, 2.5]^2 after the half-pixel shift: bins of 1, one sample each at 1 and 2
    ([0, 1, 1, 3, 3], 2, 1., 'avg', [[11, 12], [21, 22]]),
    # the same box at spatial_scale 0.5
    ([0, 2, 2, 6, 6], 2, .5, 'avg', [[11, 12], [21, 22]]),
    # [-0.5, 3.5]^2: adaptive grid ceil(4 / 2) = 2, samples at 0, 1 | 2, 3
    ([0, 0, 0, 4, 4], 2, 1., 'avg', [[5.5, 7.5], [25.5, 27.5]]),
    # one bin, grid 4: samples 0..3, mean 1.5 a side; max at (3, 3)
    ([0, 0, 0, 4, 4], 1, 1., 'avg', [[16.5]]),
    ([0, 0, 0, 4, 4], 1, 1., 'max', [[33.]]),
])
def test_roi_align_hand_worked(roi, size, scale, mode, expected):
    out = roi_align(_ramp(), _rois(roi), size, spatial_scale=scale, pool_mode=mode)
    torch.testing.assert_close(out, torch.tensor([[expected]], dtype=torch.float32))


def test_roi_align_edges_batch_index_and_gradient():
    feat = torch.cat([_ramp(), _ramp() + 100]).requires_grad_()
    out = roi_align(feat, _rois([0, 3, 3, 5, 5], [0, 5, 5, 7, 7], [1, 1, 1, 3, 3], [0, 2, 2, 2, 2]),
                    1, sampling_ratio=1, aligned=False)
    # sample at 4 (= W: clamped to the last cell, 33); at 6 (> W: 0); batch 1 adds 100;
    # a zero-size box not aligned is widened to 1: sample at 2.5
    torch.testing.assert_close(out.flatten(), torch.tensor([33., 0., 122., 27.5]))
    out.sum().backward()
    # (3, 3) of sample 0: 1 from the clamped sample, 1/4 from the sample at (2.5, 2.5)
    assert feat.grad[1, 0, 2, 2] == 1 and feat.grad[0, 0, 3, 3] == 1.25
    # aligned and empty: no sample at all -> 0
    empty = roi_align(_ramp(), _rois([0, 2, 2, 2, 2]), 2, pool_mode='max')
    torch.testing.assert_close(empty, torch.zeros(1, 1, 2, 2))
    assert roi_align(_ramp(), torch.zeros(0, 5), 2).shape == (0, 1, 2, 2)


def test_roi_ops_refuse_bad_input():
    with pytest.raises(ValueError, match=r'rois must be \[K, 5\]'):
        roi_align(_ramp(), torch.zeros(2, 4), 2)
    with pytest.raises(ValueError, match='batch indices \\[3.0\\].*1 samples'):
        roi_pool(_ramp(), _rois([3, 0, 0, 1, 1]), 2)
    with pytest.raises(ValueError, match='pool_mode'):
        roi_align(_ramp(), _rois([0, 0, 0, 1, 1]), 2, pool_mode='sum')


@pytest.mark.parametrize('roi,size,expected', [
    # x2 + 1 ends the box: 0..4, bins [0, 2) and [2, 4): maxima at (1|3, 1|3)
    ([0, 0, 0, 3, 3], 2, [[11, 13], [31, 33]]),
    ([0, 1, 1, 2, 2], 2, [[11, 12], [21, 22]]),
    # 0.5..2.5 (scaled end 2.5): bin size 1, cells floor(0.5)=0..ceil(1.5)=2 and 1..3
    ([0, .5, .5, 1.5, 1.5], 2, [[11, 12], [21, 22]]),
    ([0, 2, 2, 0, 0], 2, [[0, 0], [0, 0]]),  # inverted box: zeros
    # 2..6 on a 4x4 map: bins [2, 4) and [4, 6) -> clipped to empty: 0
    ([0, 2, 2, 5, 5], 2, [[33, 0], [0, 0]]),
])
def test_roi_pool_hand_worked(roi, size, expected):
    torch.testing.assert_close(roi_pool(_ramp(), _rois(roi), size),
                               torch.tensor([[expected]], dtype=torch.float32))


def test_roi_align_matches_torchvision_when_installed():
    tv_ops = pytest.importorskip('torchvision.ops')
    torch.manual_seed(0)
    feat = torch.randn(2, 3, 9, 11)
    rois = torch.tensor([[0, 1.3, 2.2, 7.9, 8.1], [1, 0, 0, 10, 8], [1, 4.4, 1.1, 4.9, 3.3],
                         [0, -3, -2, 20, 15]])
    for aligned in (True, False):
        for ratio in (0, 2):
            ours = roi_align(feat, rois, (3, 4), .7, ratio, 'avg', aligned)
            theirs = tv_ops.roi_align(feat, rois, (3, 4), .7, ratio, aligned)
            torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def _clip(t=2, offset=100.):
    frames = [_ramp() + i * offset for i in range(t)]
    return torch.stack(frames, dim=2)  # [1, 1, T, 4, 4]


def test_single_roi_extractor_3d_temporal_pool_and_global():
    rois = _rois([0, 1, 1, 3, 3])
    ext = SingleRoIExtractor3D(featmap_stride=1, output_size=2)
    roi_feats, feat = ext(_clip(), rois)
    assert roi_feats.shape == (1, 1, 1, 2, 2) and feat.shape == (1, 1, 1, 4, 4)
    torch.testing.assert_close(roi_feats[0, 0, 0], torch.tensor([[61., 62.], [71., 72.]]))
    ext = SingleRoIExtractor3D(featmap_stride=1, output_size=2, temporal_pool_mode='max')
    torch.testing.assert_close(ext(_clip(), rois)[0][0, 0, 0],
                               torch.tensor([[111., 112.], [121., 122.]]))
    ext = SingleRoIExtractor3D(featmap_stride=1, output_size=2, with_temporal_pool=False,
                               with_global=True)
    roi_feats, _ = ext(_clip(), rois)
    assert roi_feats.shape == (1, 2, 2, 2, 2)
    torch.testing.assert_close(roi_feats[0, 0, 1], torch.tensor([[111., 112.], [121., 122.]]))
    # the whole 4x4 frame averaged to 2x2
    torch.testing.assert_close(roi_feats[0, 1, 0], torch.tensor([[5.5, 7.5], [25.5, 27.5]]))


def test_single_roi_extractor_3d_pathways_and_roipool():
    slow, fast = _clip(1), _clip(2, offset=1000.)
    ext = SingleRoIExtractor3D('RoIPool', featmap_stride=2, output_size=1,
                               with_temporal_pool=False)
    # rois in input pixels (stride 2): 0..4 -> feature cells 0..2 (end (4+1)/2 = 2.5 -> 3)
    roi_feats, feat = ext((slow, fast), _rois([0, 0, 0, 4, 4]))
    assert feat.shape == (1, 2, 2, 4, 4)  # slow repeated to T=2, channels concatenated
    torch.testing.assert_close(roi_feats[0, :, :, 0, 0], torch.tensor([[22., 22.],
                                                                       [22., 1022.]]))
    with pytest.raises(ValueError, match="roi_layer_type must be one of"):
        SingleRoIExtractor3D('RoIWarp')
