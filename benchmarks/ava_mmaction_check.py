"""actionkit's AVA detection parts against MMAction2 0.24.1's own code, head by head and whole.

    python benchmarks/ava_mmaction_check.py --mmaction-python /tmp/mmenv/bin/python

In the MMAction2 interpreter (mmcv 1.x without compiled ops, mmdet 2.x; ``mmaction_compat.py``
is sent ahead and gives it a pure-PyTorch ``mmcv.ops``: RoIAlign and RoIPool written sample by
sample from mmcv's kernels, independently of ours; ``benchmarks/roi_align.py
--torchvision-python`` compares ours with torchvision's ``roi_align``), each part is
built from the same keyword arguments, given random weights and BatchNorm statistics and run
on seeded random inputs:

- ``SingleRoIExtractor3D``: RoIAlign avg / max (temporal avg / max pool), RoIPool,
  ``with_global`` without temporal pooling, two pathways;
- ``BBoxHeadAVA``: scores, the loss dict (loss, recall/precision at 0.5 and top-k) and
  ``get_det_bboxes`` with a flip and a crop, for multi-label, focal and single-label heads;
- ``ACRNHead``; ``FBOHead`` with ``non_local`` / ``avg`` / ``max`` on a small written bank
  (``np.random`` seeded the same before each call, as LFB draws the features it keeps);
- whole ``FastRCNN`` detectors built from MMAction2's config files (SlowOnly-R50 AVA, the
  SlowFast ACRN context config, the LFB non-local config reading a written bank): test-mode
  results for one clip with proposals, and the training losses for two clips (dropout off).

Here: actionkit builds each part from the same arguments (the detectors from the same config
files), loads MMAction2's state dict with ``strict=True`` and runs the same inputs. Prints the
max |difference| of every output (and the largest |value|, for scale). ``--configs`` picks the
detectors (``none`` for the heads only).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
MMACTION_CONFIGS = REPO / '.cache' / 'mmaction2-0.24.1' / 'mmaction' / '.mim' / 'configs'
DETECTORS = {
    'slowonly': 'detection/ava/slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb.py',
    'acrn': 'detection/acrn/slowfast_acrn_kinetics_pretrained_r50_8x8x1_cosine_10e_ava22_rgb.py',
    'lfb_nl': 'detection/lfb/lfb_nl_kinetics_pretrained_slowonly_r50_4x16x1_20e_ava_rgb.py',
}
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

_MMACTION_SCRIPT = MMACTION_COMPAT + r'''
import warnings
warnings.filterwarnings('ignore')
import torch
from mmcv import Config
from mmaction.models import build_detector
from mmaction.models.heads import ACRNHead, BBoxHeadAVA, FBOHead
from mmaction.models.roi_extractors import SingleRoIExtractor3D
work, root = sys.argv[1], sys.argv[2]
detectors = [d.split('=') for d in sys.argv[3].split(',') if d]  # name=config path
exec(sys.argv[4])
classes = dict(SingleRoIExtractor3D=SingleRoIExtractor3D, BBoxHeadAVA=BBoxHeadAVA,
               ACRNHead=ACRNHead, FBOHead=FBOHead)
write_bank(work, 16, 'parts')
out = {}
for name, class_name, kwargs in part_cases(work):
    module = classes[class_name](**kwargs)
    randomise(module)
    out[name + '|state'] = {k: v.clone() for k, v in module.state_dict().items()}
    out[name] = run_part(name, module)
for name, path in detectors:
    cfg = Config.fromfile(root + '/' + path)
    prepare_config(cfg, work)
    model = build_detector(cfg.model)
    randomise(model)
    out['detector ' + name + '|state'] = {k: v.clone() for k, v in model.state_dict().items()}
    out['detector ' + name] = run_detector(model)
torch.save(out, work + '/mmaction.pth')
'''

_SHARED = r'''
import numpy as np
import torch

STRIDE = 16


def randomise(module):
    """Seeded weights of a sensible scale for every float entry (BatchNorm statistics too)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for key, value in module.state_dict().items():
            if not value.dtype.is_floating_point:
                continue
            if key.endswith('running_var'):
                value.copy_(torch.rand(value.shape, generator=g) + 0.5)
            elif value.dim() > 1:
                fan_in = value[0].numel()
                value.copy_(torch.randn(value.shape, generator=g) / fan_in ** 0.5)
            elif key.endswith('weight'):
                value.copy_(1 + 0.2 * torch.randn(value.shape, generator=g))
            else:
                value.copy_(0.2 * torch.randn(value.shape, generator=g))


def rois(num_imgs, size, seed):
    """Boxes in pixels of a ``size``-square image, one partly outside it, one tiny."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(num_imgs):
        xy = torch.rand(3, 2, generator=g) * size * 0.6
        wh = torch.rand(3, 2, generator=g) * size * 0.4 + 4
        boxes = torch.cat([xy, xy + wh], 1)
        boxes = torch.cat([boxes, torch.tensor([[size * 0.7, -6., size + 9., size * 0.5],
                                                [10., 12., 11.5, 12.8]])])
        out.append(torch.cat([torch.full((len(boxes), 1), float(i)), boxes], 1))
    return torch.cat(out)


def write_bank(work, channels, name):
    """``lfb_<name>.pkl``: video 'vid' with 0-3 features a second for seconds 895-915."""
    g = torch.Generator().manual_seed(3)
    bank = {'vid': {sec: [torch.randn(channels, generator=g) for _ in range(sec % 4)]
                    for sec in range(895, 916)}}
    torch.save(bank, '%s/lfb_%s.pkl' % (work, name))


def part_cases(work):
    lfb = dict(lfb_prefix_path=work, max_num_sampled_feat=3, window_size=8, lfb_channels=16,
               dataset_modes=('parts',), device='cpu')
    nl = dict(type='non_local', st_feat_channels=16, lt_feat_channels=16, latent_channels=8,
              num_st_feat=1, num_lt_feat=24, num_non_local_layers=2, st_feat_dropout_ratio=0.2,
              lt_feat_dropout_ratio=0.2, pre_activate=True)
    ex = 'SingleRoIExtractor3D'
    return [
        ('roi_align_avg', ex, dict(featmap_stride=STRIDE, output_size=8)),
        ('roi_align_max', ex, dict(featmap_stride=STRIDE, output_size=7, pool_mode='max',
                                   temporal_pool_mode='max', sampling_ratio=2)),
        ('roi_pool', ex, dict(roi_layer_type='RoIPool', featmap_stride=STRIDE, output_size=7)),
        ('roi_global', ex, dict(featmap_stride=STRIDE, output_size=4, with_global=True,
                                with_temporal_pool=False)),
        ('roi_two_pathways', ex, dict(featmap_stride=STRIDE, output_size=8)),
        ('bbox_multilabel', 'BBoxHeadAVA', dict(in_channels=16, num_classes=81,
                                                dropout_ratio=0, topk=(3, 5))),
        ('bbox_focal', 'BBoxHeadAVA', dict(in_channels=16, num_classes=81, focal_alpha=3.,
                                           focal_gamma=1., temporal_pool_type='max',
                                           dropout_ratio=0, topk=(3, 5))),
        ('bbox_single', 'BBoxHeadAVA', dict(in_channels=16, num_classes=11, multilabel=False,
                                            spatial_pool_type='avg', topk=(1, 3))),
        ('acrn', 'ACRNHead', dict(in_channels=32, out_channels=16, num_convs=2, stride=2)),
        ('fbo_nl', 'FBOHead', dict(lfb_cfg=lfb, fbo_cfg=nl)),
        ('fbo_avg', 'FBOHead', dict(lfb_cfg=lfb, fbo_cfg=dict(type='avg'))),
        ('fbo_max', 'FBOHead', dict(lfb_cfg=lfb, fbo_cfg=dict(type='max'),
                                    temporal_pool_type='max', spatial_pool_type='avg')),
    ]


def _bbox_part(module, num_classes):
    g = torch.Generator().manual_seed(5)
    r = rois(2, 128, 6)
    x = torch.randn(len(r), 16, 2, 4, 4, generator=g)
    scores, _ = module(x)
    labels = (torch.rand(len(r), num_classes, generator=g) < 0.3).float()
    labels[2] = 0  # a RoI without any action, left out of the loss
    losses = module.loss(scores, None, r, labels, torch.ones(len(r)))
    out = {'scores': scores, **{'loss|' + k: torch.as_tensor(v) for k, v in losses.items()}}
    boxes, det = module.get_det_bboxes(r, scores, (128, 96), flip=True,
                                       crop_quadruple=np.array([0.1, 0.05, 0.8, 0.9]))
    out.update(det_boxes=boxes, det_scores=det)
    return out


def run_part(name, module):
    module.eval()
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        if name.startswith('roi'):
            feat = torch.randn(2, 16, 4, 8, 8, generator=g)
            if name == 'roi_two_pathways':
                feat = (feat, torch.randn(2, 8, 2, 8, 8, generator=g))
            roi_feats, merged = module(feat, rois(2, 8 * STRIDE, 7))
            return {'roi_feats': roi_feats, 'feat': merged}
        if name.startswith('bbox'):
            return _bbox_part(module, module.num_classes)
        x = torch.randn(10, 16, 1, 4, 4, generator=g)
        r = rois(2, 64, 8)
        if name == 'acrn':
            feat = torch.randn(2, 16, 1, 4, 4, generator=g)
            return {'out': module(x, feat, r)}
        metas = [dict(img_key='vid,0905'), dict(img_key='vid,0912')]
        np.random.seed(0)
        return {'out': module(x, r, metas)}


def prepare_config(cfg, work):
    cfg.model.backbone.pretrained = None
    shared = cfg.model.roi_head.get('shared_head')
    if shared is not None and 'lfb_cfg' in shared:
        shared.lfb_cfg.lfb_prefix_path = work
        shared.lfb_cfg.dataset_modes = ('det',)
        shared.lfb_cfg.device = 'cpu'
        write_bank(work, shared.lfb_cfg.lfb_channels, 'det')


def run_detector(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    g = torch.Generator().manual_seed(9)
    clips = torch.randn(2, 3, 8 if 'SlowFast' in type(model.backbone).__name__ else 4, 96, 96,
                        generator=g) * 50
    boxes = [b[:, 1:] for b in rois(2, 96, 10).split(5)]
    boxes = [b.clamp(0, 95) for b in boxes]
    metas = [dict(img_shape=(96, 96), img_key='vid,0905', flip=True,
                  crop_quadruple=np.array([0.1, 0.05, 0.8, 0.9])),
             dict(img_shape=(96, 96), img_key='vid,0911')]
    gt_labels = [(torch.rand(3, 81, generator=g) < 0.2).float() for _ in range(2)]
    gt_bboxes = [boxes[0][:3] + 1, boxes[1][:3] - 1]
    out = {}
    model.eval()
    with torch.no_grad():
        np.random.seed(0)
        result = model(img=[clips[:1]], img_metas=[metas[:1]], proposals=[[boxes[0]]],
                       return_loss=False)
    # every class's rows (box, score) after action_thr, with the class index in front
    out['test'] = torch.as_tensor(np.concatenate(
        [np.concatenate([np.full((len(r), 1), c), np.asarray(r).reshape(-1, 5)], 1)
         for c, r in enumerate(result[0])]))
    model.train()
    np.random.seed(0)
    torch.manual_seed(0)
    losses = model(img=clips, img_metas=metas, proposals=boxes, gt_bboxes=gt_bboxes,
                   gt_labels=gt_labels, return_loss=True)
    out.update({'loss|' + k: torch.as_tensor(v).detach() for k, v in losses.items()})
    return out
'''


def _flatten(value, prefix=''):
    """``{key path: tensor}`` of nested dicts/lists of tensors."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flatten(item, f'{prefix}{key}.')
                .items()}
    if isinstance(value, (list, tuple)):
        return {k: v for i, item in enumerate(value)
                for k, v in _flatten(item, f'{prefix}{i}.').items()}
    return {prefix.rstrip('.'): torch.as_tensor(value)}


def _compare(name: str, theirs: dict, ours: dict) -> float:
    flat_t, flat_o = _flatten(theirs), _flatten(ours)
    worst = 0.0
    for key in sorted(set(flat_t) | set(flat_o)):
        a, b = flat_t.get(key), flat_o.get(key)
        if a is None or b is None:
            print(f'  {name}.{key}: only on the {"actionkit" if a is None else "MMAction2"} side')
            worst = float('inf')
            continue
        if a.shape != b.shape:
            print(f'  {name}.{key}: shape {tuple(a.shape)} (MMAction2) vs {tuple(b.shape)}')
            worst = float('inf')
            continue
        a, b = a.double(), b.double()
        diff = (a - b).abs().max().item() if a.numel() else 0.0
        worst = max(worst, diff)
        scale = a.abs().max().item() if a.numel() else 0.0
        print(f'  {name}.{key}: shape {tuple(a.shape)}, max |diff| {diff:.3g} '
              f'(max |value| {scale:.3g})')
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mmaction-python', required=True)
    parser.add_argument('--configs', default=','.join(DETECTORS),
                        help=f'detectors to compare, of {sorted(DETECTORS)}, or "none"')
    args = parser.parse_args()
    names = [] if args.configs == 'none' else args.configs.split(',')
    unknown = sorted(set(names) - set(DETECTORS))
    if unknown:
        parser.error(f'unknown --configs {unknown}; choose from {sorted(DETECTORS)}')
    torch.set_num_threads(1)
    shared: dict = {}
    exec(_SHARED, shared)  # noqa: S102 - the same definitions run on both sides
    from actionkit.config import Config
    from actionkit.models import build_model
    from actionkit.models.heads import ACRNHead, BBoxHeadAVA, FBOHead
    from actionkit.models.roi_extractors import SingleRoIExtractor3D
    classes = dict(SingleRoIExtractor3D=SingleRoIExtractor3D, BBoxHeadAVA=BBoxHeadAVA,
                   ACRNHead=ACRNHead, FBOHead=FBOHead)
    with tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, OMP_NUM_THREADS='1')
        detectors = ','.join(f'{n}={DETECTORS[n]}' for n in names)
        done = subprocess.run([args.mmaction_python, '-c', _MMACTION_SCRIPT, work,
                               str(MMACTION_CONFIGS), detectors, _SHARED], env=env, cwd=work)
        if done.returncode:
            sys.exit(f'the MMAction2 side failed (exit {done.returncode}); see above')
        theirs = torch.load(Path(work) / 'mmaction.pth', weights_only=False)
        shared['write_bank'](work, 16, 'parts')
        report = {}
        for name, class_name, kwargs in shared['part_cases'](work):
            module = classes[class_name](**kwargs)
            module.load_state_dict(theirs[name + '|state'], strict=True)
            print(f'{name}: strict load of MMAction2 state dict OK')
            report[name] = _compare(name, theirs[name], shared['run_part'](name, module))
        for name in names:
            cfg = Config.fromfile(str(MMACTION_CONFIGS / DETECTORS[name]))
            shared['prepare_config'](cfg, work)
            model = build_model(cfg.model)
            key = 'detector ' + name
            model.load_state_dict(theirs[key + '|state'], strict=True)
            print(f'{key} ({DETECTORS[name]}): strict load of MMAction2 state dict OK')
            report[key] = _compare(key, theirs[key], shared['run_detector'](model))
    print('\nmax |difference| per part:')
    for name, worst in report.items():
        print(f'  {name:20s} {worst:.3g}')
    sys.exit(0 if all(np.isfinite(v) for v in report.values()) else 1)


if __name__ == '__main__':
    main()
