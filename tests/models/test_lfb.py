"""Long-term feature banks: LFB sampling, FBOHead (avg / max / non-local), LFBInferHead."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.models.builder import HEADS
from actionkit.models.detectors.lfb import LFB
from actionkit.utils.safe_pickle import UnsafePickleError

SHARED_LFB = Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' / 'mmaction2' / \
    'tests' / 'data' / 'lfb'


def _bank(tmp_path, bank, mode='train'):
    torch.save(bank, tmp_path / f'lfb_{mode}.pkl', _use_new_zipfile_serialization=False)
    return tmp_path


def _lfb(path, **kwargs):
    return LFB(str(path), **{'lfb_channels': 2, 'dataset_modes': 'train', 'device': 'cpu',
                             **kwargs})


def test_lfb_samples_the_window_around_the_key_second(tmp_path):
    bank = {'v': {7: [torch.tensor([70., 70.])],  # outside the window
                  8: [torch.tensor([1., 2.]), torch.tensor([3., 4.]), torch.tensor([5., 6.])],
                  11: [torch.tensor([9., -9.])],
                  12: [torch.tensor([80., 80.])]}}  # outside: window 4 at 10 is 8..11
    lfb = _lfb(_bank(tmp_path, bank), max_num_sampled_feat=2, window_size=4)
    np.random.seed(0)
    out = lfb['v,0010']
    assert out.shape == (8, 2)
    # second 8 -> rows 0, 1: two different features of its three; 9, 10 -> zeros; 11 -> row 6
    rows = {tuple(r) for r in out[:2].tolist()}
    assert len(rows) == 2 and rows <= {(1., 2.), (3., 4.), (5., 6.)}
    assert out[2:6].abs().sum() == 0
    assert out[6].tolist() == [9., -9.] and out[7].tolist() == [0., 0.]
    assert len(lfb) == 1
    # odd window: 3 at 12 -> seconds 11, 12, 13
    odd = _lfb(tmp_path, max_num_sampled_feat=1, window_size=3)
    assert odd['v,12'].tolist() == [[9., -9.], [80., 80.], [0., 0.]]
    with pytest.raises(KeyError, match="'w' is not in the bank"):
        lfb['w,10']


def test_lfb_refusals_name_the_cause(tmp_path):
    with pytest.raises(ValueError, match="device='lmdb' is not supported"):
        LFB(str(tmp_path), device='lmdb')
    with pytest.raises(ValueError, match='window_size must be a positive int'):
        LFB(str(tmp_path), window_size=0)
    missing = LFB(str(tmp_path / 'nope'), device='cpu')  # builds; the bank is read on use
    with pytest.raises(FileNotFoundError, match='nope does not exist'):
        missing['v,1']
    with pytest.raises(FileNotFoundError, match='lfb_val.pkl does not exist'):
        LFB(str(tmp_path), device='cpu', dataset_modes=('val',))['v,1']


class _Hostile:
    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_hostile_bank_is_refused_and_runs_nothing(tmp_path):
    hostile = _Hostile()
    hostile.marker = tmp_path / 'ran'
    torch.save({'v': {1: [hostile]}}, tmp_path / 'lfb_train.pkl')
    with pytest.raises(UnsafePickleError, match='lfb_train.pkl'):
        _lfb(tmp_path)['v,1']
    assert not (tmp_path / 'ran').exists()


@pytest.mark.skipif(not SHARED_LFB.is_dir(), reason='MMAction2 test data not present')
def test_mmaction2_unittest_bank_loads():
    lfb = LFB(str(SHARED_LFB), max_num_sampled_feat=5, window_size=60, lfb_channels=16,
              dataset_modes=('unittest',), device='cpu')
    assert len(lfb) == 1 and sorted(lfb.lfb) == ['video_1']
    seconds = lfb.lfb['video_1']
    assert len(seconds) == 61 and all(len(f) == 19 for f in seconds.values())
    out = lfb['video_1,930']
    assert out.shape == (300, 16)
    # every sampled row is one of the bank's features of its second
    first = min(seconds)
    row = out[(first - (930 - 30)) * 5]
    assert any(torch.equal(row, f) for f in seconds[first])


def _fbo_head(tmp_path, fbo_cfg):
    bank = {'v': {10: [torch.tensor([1., 2.]), torch.tensor([3., 9.])],
                  11: [torch.tensor([5., -1.])]}}
    return HEADS.build(dict(type='FBOHead', fbo_cfg=fbo_cfg, lfb_cfg=dict(
        lfb_prefix_path=str(_bank(tmp_path, bank)), max_num_sampled_feat=2, window_size=2,
        lfb_channels=2, dataset_modes='train', device='cpu')))


def _roi_feature():
    # one RoI, 1 channel, T=2, H=1, W=2: time mean [2, 3], then spatial max 3
    # (spatial max first, then mean, would give 4.5)
    return torch.tensor([[1., 6.], [3., 0.]]).reshape(1, 1, 2, 1, 2)


@pytest.mark.parametrize('kind, expected', [('avg', [2.25, 2.5]), ('max', [5., 9.])])
def test_fbo_avg_max_over_the_bank(tmp_path, kind, expected):
    # window 2 at 11 -> seconds 10 (both features) and 11 (one, then a zero row):
    # avg (1 + 3 + 5 + 0) / 4, (2 + 9 - 1 + 0) / 4; max 5, 9
    head = _fbo_head(tmp_path, dict(type=kind))
    out = head(_roi_feature(), torch.tensor([[0., 0, 0, 1, 1]]), [{'img_key': 'v,0011'}])
    assert out.shape == (1, 3, 1, 1, 1)
    assert out.flatten().tolist() == [3.] + expected
    assert list(head.state_dict()) == []


def test_fbo_non_local_shape_and_mmaction_keys(tmp_path):
    head = _fbo_head(tmp_path, dict(type='non_local', st_feat_channels=1, lt_feat_channels=2,
                                    latent_channels=3, num_st_feat=1, num_lt_feat=4,
                                    num_non_local_layers=2))
    head.init_weights()
    head.eval()
    rois = torch.tensor([[0., 0, 0, 1, 1], [1., 0, 0, 1, 1], [0., 1, 1, 2, 2]])
    x = torch.randn(3, 1, 2, 2, 2)
    out = head(x, rois, [{'img_key': 'v,11'}, {'img_key': 'v,10'}])
    assert out.shape == (3, 1 + 3, 1, 1, 1)
    assert torch.equal(out[:, :1], head.pool(x))  # the short-term feature comes first
    layer = [f'fbo.non_local_layer_1.{m}.conv.{p}' for m in
             ('st_feat_conv', 'lt_feat_conv', 'global_conv') for p in ('weight', 'bias')]
    assert list(head.state_dict())[:12] == [
        'fbo.st_feat_conv.weight', 'fbo.st_feat_conv.bias', 'fbo.lt_feat_conv.weight',
        'fbo.lt_feat_conv.bias', *layer, 'fbo.non_local_layer_1.ln.weight',
        'fbo.non_local_layer_1.ln.bias']
    assert len(head.state_dict()) == 24
    assert head.state_dict()['fbo.non_local_layer_2.ln.weight'].shape == (3, 1, 1, 1)
    with pytest.raises(ValueError, match='num_non_local_layers must be an int >= 1'):
        _fbo_head(tmp_path, dict(type='non_local', st_feat_channels=1, lt_feat_channels=2,
                                 latent_channels=3, num_st_feat=1, num_lt_feat=4,
                                 num_non_local_layers=0))
    with pytest.raises(KeyError, match="got 'mean'"):
        _fbo_head(tmp_path, dict(type='mean'))


def test_lfb_infer_head_writes_a_bank_lfb_reads(tmp_path):
    head = HEADS.build(dict(type='LFBInferHead', lfb_prefix_path=str(tmp_path / 'bank'),
                            dataset_mode='val', use_half_precision=True))
    assert not (tmp_path / 'bank').exists()  # made when the file is written
    x = torch.arange(2 * 2 * 2 * 1 * 2, dtype=torch.float32).reshape(2, 2, 2, 1, 2)
    rois = torch.tensor([[1., 0, 0, 1, 1], [0., 0, 0, 1, 1]])
    assert head(x, rois, [{'img_key': 'a,5'}, {'img_key': 'b,0007'}]) is x
    # RoI 0 (clip 1 -> 'b,0007'): channel 0 = [0, 1 | 2, 3] -> time mean [1, 2] -> max 2
    # channel 1 = [4, 5 | 6, 7] -> [5, 6] -> 6; RoI 1: 10, 14
    path = head.dump()
    assert path.endswith('lfb_val.pkl')
    lfb = LFB(str(tmp_path / 'bank'), max_num_sampled_feat=1, window_size=1, lfb_channels=2,
              dataset_modes='val', device='cpu')
    assert lfb.lfb['b'][7][0].dtype == torch.float16
    assert lfb['b,7'].tolist() == [[2., 6.]] and lfb['a,5'].tolist() == [[10., 14.]]


def test_fast_rcnn_trains_with_the_bank_and_infers_one(tmp_path):
    from torch import nn

    from actionkit.models import build_model

    bank = {'v': {10: [torch.tensor([1., 2.])], 12: [torch.tensor([3., 9.])]}}
    _bank(tmp_path, bank)

    def detector(shared_head, in_channels):
        return build_model(dict(
            type='FastRCNN', backbone=nn.Conv3d(3, 8, kernel_size=1, stride=(1, 4, 4)),
            roi_head=dict(type='AVARoIHead', shared_head=shared_head,
                          bbox_roi_extractor=dict(type='SingleRoIExtractor3D', output_size=2,
                                                  featmap_stride=4),
                          bbox_head=dict(type='BBoxHeadAVA', in_channels=in_channels,
                                         num_classes=4, topk=(1,))),
            train_cfg=dict(rcnn=dict(
                assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=.9, neg_iou_thr=.9,
                              min_pos_iou=.9),
                sampler=dict(type='RandomSampler', num=8, pos_fraction=1, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                pos_weight=1.)),
            test_cfg=dict(rcnn=dict(action_thr=.002))))

    torch.manual_seed(0)
    model = detector(dict(type='FBOHead', fbo_cfg=dict(type='max'), lfb_cfg=dict(
        lfb_prefix_path=str(tmp_path), max_num_sampled_feat=1, window_size=3, lfb_channels=2,
        dataset_modes='train', device='cpu')), in_channels=8 + 2)
    batch = dict(img=torch.randn(2, 3, 4, 32, 32),
                 img_metas=[{'img_key': 'v,11'}, {'img_key': 'v,13'}],
                 proposals=[torch.tensor([[2., 2., 20., 20.]]), torch.tensor([[0., 0., 31., 31.]])],
                 gt_bboxes=[torch.tensor([[2., 2., 20., 20.]]), torch.tensor([[0., 0., 31., 31.]])],
                 gt_labels=[torch.tensor([[0., 1., 0., 1.]]), torch.tensor([[0., 0., 1., 0.]])])
    out = model.train_step(batch)
    assert torch.isfinite(out['loss'])
    out['loss'].backward()
    assert model.backbone.weight.grad.abs().sum() > 0

    infer = detector(dict(type='LFBInferHead', lfb_prefix_path=str(tmp_path / 'new'),
                          dataset_mode='test'), in_channels=8).eval()
    props = torch.tensor([[8., 8., 24., 24.], [0., 0., 16., 32.]])
    with torch.no_grad():
        infer(img=[torch.randn(1, 3, 4, 32, 64)], return_loss=False,
              img_metas=[[dict(img_shape=(32, 64), img_key='w,0902')]], proposals=[[props]])
    infer.roi_head.shared_head.dump()
    written = LFB(str(tmp_path / 'new'), lfb_channels=8, dataset_modes='test', device='cpu')
    assert [f.shape for f in written.lfb['w'][902]] == [(8,), (8,)]
