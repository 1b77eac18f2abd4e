"""actionkit's models against MMAction2 1.2.0's on 1.x config files and 1.x checkpoints.

    python benchmarks/mmaction1_model_check.py --mmaction1-python /tmp/mm1env/bin/python \\
        [--configs-root .cache/mmaction2-1.2.0/mmaction/.mim/configs] [--keys-only] \\
        [--configs recognition/tsn/tsn_....py ...]

``/tmp/mm1env`` comes from ``sh benchmarks/setup_mmaction1_env.sh``. Two passes:

* keys (every config under ``recognition``, ``recognition_audio`` and ``skeleton``): in the
  1.x interpreter each config's ``model`` is built (``pretrained`` and ``init_cfg`` off) and its
  state-dict keys and shapes written out with the model dict; here ``build_model`` gets that
  same dict, unchanged, and the keys and shapes are compared.
* outputs (``--configs``, default: one config per shared family plus VideoMAE / VideoMAEv2):
  1.x's model gets random weights and BatchNorm statistics, is saved as mmengine's runner does
  (``meta``, ``state_dict``, ``message_hub`` with real ``HistoryBuffer`` scalars,
  ``optimizer``, ``param_schedulers``) and scores a random input with
  ``model(inputs, mode='tensor', stage='head')`` (per-view scores) and ``mode='predict'``
  (``pred_score`` per sample). Here the checkpoint loads with ``load_checkpoint(...,
  strict=True)`` (no ``allow_pickle``) and the same calls run on the same input.

Prints, per config, ``SAME`` / the keys that differ, and the max |difference| of each output
relative to the largest |score|.
"""
from __future__ import annotations

import argparse
import json
import logging
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = [
    'recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py',
    'recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py',
    'recognition/tin/tin_kinetics400-pretrained-tsm-r50_1x1x8-50e_kinetics400-rgb.py',
    'recognition/tanet/tanet_imagenet-pretrained-r50_8xb8-1x1x8-50e_sthv1-rgb.py',
    'recognition/trn/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv1-rgb.py',
    'recognition/i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
    'recognition/slowonly/slowonly_r50_8xb16-4x16x1-256e_kinetics400-rgb.py',
    'recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py',
    'recognition/x3d/x3d_s_13x6x1_facebook-kinetics400-rgb.py',
    'recognition/r2plus1d/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py',
    'recognition/csn/ircsn_ig65m-pretrained-r50-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb.py',
    'recognition/c3d/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py',
    'recognition/tpn/tpn-slowonly_r50_8xb8-8x8x1-150e_kinetics400-rgb.py',
    'recognition/swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py',
    'recognition/videomae/vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py',
    'recognition/videomaev2/vit-small-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400.py',
    'recognition_audio/resnet/tsn_r18_8xb320-64x1x1-100e_kinetics400-audio-feature.py',
    'skeleton/posec3d/slowonly_r50_8xb16-u48-240e_ntu60-xsub-keypoint.py',
    'skeleton/stgcn/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d.py',
    'skeleton/stgcnpp/stgcnpp_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py',
    'skeleton/2s-agcn/2s-agcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.py',
    'skeleton/posec3d/rgbpose_conv3d/rgbpose_conv3d.py',
]

# the start of a script for the MMAction2 1.x interpreter: its registries, the missing DRN
# module stubbed (also used by mmaction1_omni_check.py)
MM1_PREAMBLE = r'''
import pickle, sys, types, warnings
warnings.filterwarnings('ignore')
import importlib.metadata
sys.modules.setdefault('importlib_metadata', importlib.metadata)
for name in ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn'):
    stub = types.ModuleType(name)  # missing from the 1.2.0 sdist; not needed here
    stub.__path__ = []
    stub.DRN = type('DRN', (), {})
    sys.modules[name] = stub
import torch
from mmengine.config import Config
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
register_all_modules()
'''

# run by the MMAction2 1.x interpreter: argv = configs root, output folder, keys-only flag,
# then the configs
_MM1_SCRIPT = MM1_PREAMBLE + r'''
import glob, json, os
from mmengine.logging import MessageHub
root, out, keys_only, configs = sys.argv[1], sys.argv[2], sys.argv[3] == '1', sys.argv[4:]

def plain(node):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == 'init_cfg':
                continue
            out[k] = None if k == 'pretrained' else plain(v)
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(plain(v) for v in node)
    return node

def input_for(cfg, model_cfg):
    fmt = (model_cfg.get('data_preprocessor') or {}).get('format_shape', 'NCHW')
    backbone = model_cfg['backbone']
    pipeline = cfg.get('train_pipeline') or cfg.get('test_pipeline') or []
    sampler = next((s for s in pipeline if 'Sample' in s['type']), {})
    clip_len, clips = sampler.get('clip_len', 1), sampler.get('num_clips', 1)
    if isinstance(clip_len, dict):  # MMUniformSampleFrames: frames per modality
        clip_len = clip_len.get('RGB', 8)
    if model_cfg['type'] == 'RecognizerAudio':
        return torch.randn(1, 1, 1, 64, 80)
    if model_cfg['type'] == 'MMRecognizer3D':  # RGBPoseConv3D: rgb 8 frames, pose 32
        return dict(imgs=torch.rand(1, 2, 3, 8, 64, 64) * 2 - 1,
                    heatmap_imgs=torch.rand(1, 2, 17, 32, 16, 16))
    if model_cfg['type'] == 'RecognizerGCN':  # (N, clips, persons, T, joints, C)
        layout = backbone['graph_cfg']['layout']
        joints = {'coco': 17, 'nturgb+d': 25, 'openpose': 18}[layout]
        return torch.randn(1, 2, 2, 16, joints, backbone.get('in_channels', 3))
    channels = backbone.get('in_channels', 3)
    side = 64
    if backbone['type'] in ('C3D',):
        side = 112
    if backbone['type'] == 'VisionTransformer':
        side, clip_len = 112, backbone.get('num_frames', 16)
    if fmt == 'NCHW' and model_cfg['type'] != 'Recognizer3D':
        return torch.rand(1, clip_len * clips, channels, side, side) * 2 - 1
    return torch.rand(1, 2, channels, clip_len, side, side) * 2 - 1

def flat(scores):
    # a dict of scores per stream (RGBPoseHead) as one tensor, streams in name order
    if isinstance(scores, dict):
        return torch.cat([scores[k] for k in sorted(scores)], dim=-1)
    return scores

def randomize(model, gen):
    state = model.state_dict()
    for key, value in state.items():
        if not value.is_floating_point():
            continue
        if key.endswith('running_var'):
            value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
        elif key.endswith('pos_embed'):
            continue
        else:
            value.copy_((torch.rand(value.shape, generator=gen) * 2 - 1) * 0.1)

def checkpoint_of(model, model_cfg):
    hub = MessageHub.get_instance('check')
    hub.update_scalar('train/loss', 1.25)
    hub.update_info('epoch', 3)
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    meta = dict(epoch=3, iter=30, mmengine_version='0.10.7', seed=0,
                cfg=f'model = {model_cfg!r}', experiment_name='check')
    return dict(meta=meta, state_dict=model.state_dict(), message_hub=hub.state_dict(),
                optimizer=optim.state_dict(),
                param_schedulers=[dict(milestones=__import__('collections').Counter([2]),
                                       gamma=0.1, by_epoch=True)])

if keys_only:
    configs = sorted(os.path.relpath(p, root) for sub in ('recognition', 'recognition_audio',
                     'skeleton') for p in glob.glob(f'{root}/{sub}/*/*.py'))
results = {}
for rel in configs:
    try:
        cfg = Config.fromfile(os.path.join(root, rel))
        model_cfg = plain(cfg.model.to_dict())
        model = MODELS.build(model_cfg)
        shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
        entry = dict(model=model_cfg, keys=shapes)
        if not keys_only:
            gen = torch.Generator().manual_seed(0)
            randomize(model, gen)
            model.eval()
            torch.manual_seed(0)
            inputs = input_for(cfg, model_cfg)
            with torch.no_grad():
                head = flat(model(dict(inputs) if isinstance(inputs, dict) else inputs,
                                  mode='tensor', stage='head'))
                batch = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
                samples = model(dict(inputs) if isinstance(inputs, dict) else inputs,
                                [ActionDataSample() for _ in range(batch.shape[0])],
                                mode='predict')
            path = os.path.join(out, rel.replace('/', '__') + '.pth')
            torch.save(checkpoint_of(model, model_cfg), path)
            entry.update(checkpoint=path, inputs=inputs, head=head,
                         pred=torch.stack([flat(s.pred_score) for s in samples]))
        results[rel] = entry
    except Exception as err:
        results[rel] = dict(error=f'{type(err).__name__}: {err}'[:300])
    print(rel, 'error' if 'error' in results[rel] else 'built', flush=True, file=sys.stderr)
with open(os.path.join(out, 'results.pkl'), 'wb') as fout:
    pickle.dump(results, fout)
'''


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def _flat(scores: torch.Tensor | dict) -> torch.Tensor:
    """A dict of scores per stream (``RGBPoseHead``) as one tensor, streams in name order."""
    if isinstance(scores, dict):
        return torch.cat([scores[k] for k in sorted(scores)], dim=-1)
    return scores


def _compare(rel: str, entry: dict, keys_only: bool) -> str:
    from actionkit.models import build_model
    from actionkit.models.data_sample import ActionDataSample
    from actionkit.models.weights import load_checkpoint
    if 'error' in entry:
        return f'{rel}: 1.x cannot build it ({entry["error"]})'
    try:
        ours = build_model(entry['model'])
    except Exception as err:  # noqa: BLE001 -- reported per config
        return f'{rel}: not built here: {type(err).__name__}: {str(err)[:200]}'
    own = {k: list(v.shape) for k, v in ours.state_dict().items()}
    theirs = entry['keys']
    diff = sorted(set(own) ^ set(theirs)) + [k for k in own if k in theirs and own[k] != theirs[k]]
    line = f'{rel}: keys ' + ('SAME' if not diff else f'DIFFER {diff[:6]} ({len(diff)})')
    if keys_only or diff:
        return line
    load_checkpoint(ours, entry['checkpoint'], strict=True)
    ours.eval()
    start = time.perf_counter()
    with torch.no_grad():
        head = _flat(ours(entry['inputs'], mode='tensor', stage='head'))
        pred = ours(entry['inputs'], [ActionDataSample()], mode='predict')
    pred = torch.stack([_flat(s.pred_score) for s in pred])
    return (f'{line}, strict load OK, head {_relative(head, entry["head"]):.1e}, '
            f'predict {_relative(pred, entry["pred"]):.1e} ({time.perf_counter() - start:.1f} s)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mmaction1-python', required=True)
    parser.add_argument('--configs-root',
                        default=str(REPO / '.cache/mmaction2-1.2.0/mmaction/.mim/configs'))
    parser.add_argument('--configs', nargs='*', default=DEFAULT_CONFIGS)
    parser.add_argument('--keys-only', action='store_true')
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / 'mm1_side.py'
        script.write_text(_MM1_SCRIPT)
        subprocess.run([args.mmaction1_python, str(script), args.configs_root, tmp,
                        '1' if args.keys_only else '0', *args.configs], check=True)
        with open(Path(tmp) / 'results.pkl', 'rb') as fin:
            results = pickle.load(fin)  # our own file, written just now
        lines = [_compare(rel, entry, args.keys_only) for rel, entry in results.items()]
    print('\n'.join(lines))
    print(json.dumps({'configs': len(lines), 'keys SAME': sum('keys SAME' in x for x in lines)}))


if __name__ == '__main__':
    sys.exit(main())
