"""actionkit's MViT, UniFormer and UniFormerV2 (backbone + head) against MMAction2 1.2.0's code.

    python benchmarks/mmaction1_models_check.py --mmaction-python /tmp/mm1env/bin/python \\
        [--mmaction-source .cache/mmaction2-1.2.0] [--families mvit uniformer uniformerv2]

(``benchmarks/setup_mmaction1_env.sh`` builds that interpreter.) In the MMAction2 interpreter,
for every config file of ``configs/recognition/{mvit,uniformer,uniformerv2}``: the backbone
and head are built from the config's ``model`` dict (mmengine's ``Config.fromfile``), their
parameters counted; then a copy shrunk for a CPU (smaller input size only: ``spatial_size``,
``temporal_size``, ``input_resolution``; the widths, depths, heads and every other argument
are the config's) gets random weights and BatchNorm statistics and scores a random clip in
eval mode. Here: the same dicts build actionkit's modules, which must count the same
parameters, load the 1.x state dicts with ``strict=True`` and give the same scores.

MMAction2 1.2.0's ``mmaction.models`` package imports every model family at once (and the
1.2.0 sdist lacks a localizer module it imports); the script imports only the backbone and
head modules it needs, by registering empty parent packages first. No checkpoint or CLIP
weights are downloaded: ``pretrained`` / ``init_cfg`` / ``clip_pretrained`` are dropped.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]

_MMACTION_SCRIPT = r'''
import importlib, sys, types, warnings
warnings.filterwarnings('ignore')
import torch
import mmaction
from mmengine.config import Config
root = mmaction.__path__[0] + '/models'
for name in ('mmaction.models', 'mmaction.models.backbones', 'mmaction.models.heads',
             'mmaction.models.utils', 'mmaction.models.losses'):
    mod = types.ModuleType(name)
    mod.__path__ = [root + name[len('mmaction.models'):].replace('.', '/')]
    sys.modules[name] = mod
CLASSES = {}
for module, names in (('losses.cross_entropy_loss', []), ('backbones.mvit', ['MViT']),
                      ('backbones.uniformer', ['UniFormer']),
                      ('backbones.uniformerv2', ['UniFormerV2']), ('heads.mvit_head', ['MViTHead']),
                      ('heads.uniformer_head', ['UniFormerHead']),
                      ('heads.i3d_head', ['I3DHead']), ('heads.timesformer_head',
                                                        ['TimeSformerHead'])):
    mod = importlib.import_module('mmaction.models.' + module)
    CLASSES.update({n: getattr(mod, n) for n in names})
UNUSED = ('pretrained', 'init_cfg', 'channel_map')


def build(cfg):
    args = {k: v for k, v in cfg.items() if k != 'type' and k not in UNUSED}
    if cfg['type'] == 'UniFormerV2':
        args['clip_pretrained'] = False
    if cfg['type'] == 'MViT':
        args.pop('pretrained_type', None)
    return CLASSES[cfg['type']](**args), args


def shrink(cfg):
    small = dict(cfg)
    if cfg['type'] == 'MViT':
        small.update(spatial_size=64, temporal_size=8)
        return small, (1, 3, 8, 64, 64)
    if cfg['type'] == 'UniFormer':
        return small, (1, 3, 8, 64, 64)
    small['input_resolution'] = 4 * cfg.get('patch_size', 16)
    t = cfg.get('t_size', 8) * (2 if cfg.get('temporal_downsample') else 1)
    return small, (1, 3, t, small['input_resolution'], small['input_resolution'])


def randomize(module, gen):
    with torch.no_grad():
        for key, value in module.state_dict().items():
            if not value.is_floating_point():
                continue
            if key.endswith('running_var'):
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
            else:
                value.copy_(torch.randn(value.shape, generator=gen) * 0.05)


_TINY = dict(embed_dims=16, num_layers=4, num_heads=1, downscale_indices=[1, 2])
EXTRA = {  # arguments no 1.x config sets: (backbone, head, input shape)
    'mvit-variants-a': (dict(type='MViT', arch=_TINY, spatial_size=64, temporal_size=8,
                             use_abs_pos_embed=True, rel_pos_embed=False,
                             residual_pooling=False, with_cls_token=False,
                             output_cls_token=False, out_scales=[0, 1, 2],
                             patch_cfg=dict(kernel_size=(2, 6, 6), padding=(0, 1, 1))),
                        dict(type='MViTHead', num_classes=5, in_channels=64,
                             with_cls_token=False), (1, 3, 9, 80, 72)),
    'mvit-variants-b': (dict(type='MViT', arch='tiny', spatial_size=64, temporal_size=8,
                             use_abs_pos_embed=True, dim_mul_in_attention=False,
                             out_scales=[-1, 1], patch_cfg=dict(stride=4, padding=3)),
                        dict(type='MViTHead', num_classes=5, in_channels=768),
                        (1, 3, 12, 96, 96)),
    'uniformerv2-variants': (dict(type='UniFormerV2', input_resolution=64, patch_size=16,
                                  width=64, layers=3, heads=4, t_size=8, no_lmhra=False,
                                  double_lmhra=False, temporal_downsample=True,
                                  return_list=[0, 2], n_layers=2, n_dim=64, n_head=4,
                                  mlp_factor=2.5, clip_pretrained=False),
                             dict(type='UniFormerHead', num_classes=5, in_channels=64),
                             (2, 3, 8, 64, 64)),
}


class _Model(dict):
    __getattr__ = dict.__getitem__


counted, checked = {}, {}  # configs repeat backbones: count and run each one once
for i, path in enumerate(sys.argv[2:]):
    if path in EXTRA:
        model = _Model(backbone=EXTRA[path][0], cls_head=EXTRA[path][1])
    else:
        model = Config.fromfile(path).model
    key = repr((model.backbone, model.cls_head))
    if key not in counted:
        backbone, bargs = build(model.backbone)
        head, hargs = build(model.cls_head)
        counted[key] = (sum(p.numel() for p in backbone.parameters())
                        + sum(p.numel() for p in head.parameters()), bargs, hargs)
        del backbone, head
    count, bargs, hargs = counted[key]
    small, shape = shrink(model.backbone)
    if path in EXTRA:
        shape = EXTRA[path][2]
    key = repr((small, model.cls_head))
    record = dict(kinds=(model.backbone['type'], model.cls_head['type']), backbone=bargs,
                  head=hargs, count=count, same_as=checked.get(key))
    if key not in checked:
        checked[key] = i
        gen = torch.Generator().manual_seed(0)
        backbone, sargs = build(small)
        head, _ = build(model.cls_head)
        randomize(backbone, gen)
        randomize(head, gen)
        backbone.eval(), head.eval()
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            scores = head(backbone(x))
        record.update(small=sargs, input=x, scores=scores, std=scores.std().item(),
                      state=dict(backbone=backbone.state_dict(), head=head.state_dict()))
        del backbone, head
    torch.save(record, f'{sys.argv[1]}/{i}.pt')
'''


def _ours(kind: str, args: dict, registry) -> torch.nn.Module:
    args = {k: v for k, v in args.items() if k != 'average_clips'}  # a recognizer setting here
    return registry.build(dict(type=kind, **args))


def check(record: dict) -> tuple[float | None, int, int]:
    """Build ours from ``record``'s dicts; return (max |score diff| or None when an earlier
    config ran the same models, our count, 1.x count)."""
    from actionkit.models import BACKBONES, HEADS

    kinds = record['kinds']
    count = sum(p.numel() for p in _ours(kinds[0], record['backbone'], BACKBONES).parameters())
    head = _ours(kinds[1], record['head'], HEADS)
    count += sum(p.numel() for p in head.parameters())
    if record['same_as'] is not None:
        return None, count, record['count']
    backbone = _ours(kinds[0], record['small'], BACKBONES)
    backbone.load_state_dict(record['state']['backbone'], strict=True)
    head.load_state_dict(record['state']['head'], strict=True)
    backbone.eval(), head.eval()
    with torch.no_grad():
        scores = head(backbone(record['input']))
    return (scores - record['scores']).abs().max().item(), count, record['count']


EXTRA = ('mvit-variants-a', 'mvit-variants-b', 'uniformerv2-variants')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mmaction-python', required=True)
    parser.add_argument('--mmaction-source', default=str(REPO / '.cache' / 'mmaction2-1.2.0'))
    parser.add_argument('--families', nargs='+', default=['mvit', 'uniformer', 'uniformerv2'])
    args = parser.parse_args()
    configs = Path(args.mmaction_source) / 'mmaction' / '.mim' / 'configs' / 'recognition'
    paths = [str(p) for family in args.families for p in sorted((configs / family).glob('*.py'))]
    paths += [name for name in EXTRA if name.split('-')[0] in args.families]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / 'mm1.py'
        script.write_text(_MMACTION_SCRIPT)
        env = dict(os.environ, PYTHONPATH='')
        subprocess.run([args.mmaction_python, str(script), tmp, *paths], check=True, env=env)
        worst, wrong = 0.0, 0
        for i, path in enumerate(paths):
            record = torch.load(Path(tmp) / f'{i}.pt', weights_only=False)
            diff, ours, theirs = check(record)
            wrong += ours != theirs
            name = (f'{Path(path).parent.name}/{Path(path).stem}' if path.endswith('.py')
                    else path)
            ran = (f'same models as {Path(paths[record["same_as"]]).stem}' if diff is None
                   else f'strict load ok, max |score diff| {diff:.2e} (score std '
                   f'{record["std"]:.2e})')
            print(f'{name}: params {ours} (1.x {theirs}{"" if ours == theirs else ", DIFFERENT"})'
                  f', {ran}', flush=True)
            worst = max(worst, diff or 0.0)
    print(f'{len(paths)} configs, worst max |score diff| {worst:.2e}')
    sys.exit(0 if worst < 1e-4 and not wrong else 1)


if __name__ == '__main__':
    main()
