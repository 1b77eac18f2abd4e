"""actionkit's skeleton models, pose pipelines and PoseDataset against MMAction2 0.24.1's code.

    python benchmarks/skeleton_mmaction_check.py --mmaction-python /tmp/mmenv/bin/python \\
        [--mmaction-source .cache/mmaction2-0.24.1] [--configs stgcn/stgcn_80e_babel60.py ...]

In the MMAction2 interpreter (mmcv 1.x; ``mmaction_compat.py`` is sent ahead), for each of the
16 ``configs/skeleton`` configs: the model is built from MMAction2's config file, given random
weights and BatchNorm statistics (every float entry of the state dict, the graph buffer ``A``
included) and run on a random input (eval scores, and a train-mode loss with dropout off);
then the config's train, val and test pipelines run step by step on a few synthetic pose
records (2-D COCO records for the configs that read them, 3-D NTU records for the others; 2
persons, off-image joints, zero scores, clips shorter and longer than ``clip_len``), with
``np.random`` and ``random`` seeded the same way before each record. ``PoseDataset`` also reads
the shared ``tests/data/annotations/sample.pkl`` (Kinetics pose boxes, no keypoints) with
``valid_ratio``/``box_thr`` filtering. Here: actionkit's config of the same name builds the
model, loads MMAction2's state dict with ``strict=True`` and runs the same inputs, and its own
pipelines run on the same records with the same seeds.

Prints, per config, the strict load, the max |score difference| and the loss difference, and
per pipeline step the max |difference| of every array both sides hold after that step (0 means
bit-identical; a key only one side holds, or a shape or dtype that differs, is printed).
See ``benchmarks/audio_mmaction_check.py`` for how the MMAction2 interpreter is set up.

MMAction2 0.24.1 was written for numpy 1. Under numpy 2 (NEP 50 promotion) its
``GeneratePoseTarget`` subtracts float64 keypoint scalars from its float32 grids in float64, and
its heatmaps move by up to ~2e-6; actionkit follows numpy 1's rules, so for a bit-for-bit
comparison give it a numpy-1 interpreter: ``python3 -m venv /tmp/mmenv-np1``, a ``.pth`` file in
its site-packages naming ``/tmp/mmenv``'s site-packages, then ``/tmp/mmenv-np1/bin/pip install
numpy==1.26.4``. (Under numpy 2 its ``RandomResizedCrop`` also leaves int32 sizes in
``img_shape`` where ours are 64-bit; the values are equal and nothing after it changes.)
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(str(p.relative_to(REPO / 'configs' / 'skeleton'))
                 for p in (REPO / 'configs' / 'skeleton').glob('*/*.py'))
SAMPLE_PKL = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'tests' / 'data' / 'annotations' \
    / 'sample.pkl'
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

_MMACTION_SCRIPT = MMACTION_COMPAT + r'''
for _name, _value in (('Inf', np.inf), ('NaN', np.nan)):  # removed in numpy 2; PoseCompact
    if not hasattr(np, _name):  # uses np.Inf
        setattr(np, _name, _value)
import pickle, sys, warnings
warnings.filterwarnings('ignore')
import numpy as np, torch
from mmcv import Config
from mmaction.datasets import PoseDataset
from mmaction.datasets.pipelines import Compose
from mmaction.models import build_model
work, root, configs = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
exec(sys.argv[4])  # _randomise, _model_input, _model_outputs, _run_steps
with open(work + '/records.pkl', 'rb') as f:
    records = pickle.load(f)
out, seen = {}, {}
for name in configs:
    cfg = Config.fromfile(root + '/' + name)
    model = build_model(cfg.model)
    _randomise(model)
    x = _model_input(cfg.model)
    out[name + '|x'] = x
    out[name + '|state'] = {k: v.clone() for k, v in model.state_dict().items()}
    out[name + '|scores'], out[name + '|loss'] = _model_outputs(model, x)
    for split in ('train', 'val', 'test'):
        pipeline = _pipeline_cfg(cfg.data[split])
        same = seen.setdefault(repr(pipeline), name + '|' + split)
        out[name + '|' + split] = same  # the first config and split with this pipeline
        if same == name + '|' + split:
            path = '%s/steps%d.pth' % (work, len(seen))
            torch.save(_run_steps(Compose, pipeline, records, name, split), path)
            out[name + '|' + split + '|file'] = path
dataset = PoseDataset(sys.argv[5], [], valid_ratio=0.2, box_thr='0.7', data_prefix='/data')
out['sample.pkl'] = [(r['filename'], list(r.get('anno_inds', []))) for r in dataset.video_infos]
torch.save(out, work + '/mmaction.pth')
'''

_SHARED = r'''
import random

LAYOUT_JOINTS = {'coco': 17, 'ntu-rgb+d': 25, 'ntu_edge': 24, 'openpose-18': 18,
                 'openpose-25': 25}
LABELS = torch.tensor([[3], [7]])


def _randomise(model):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not value.dtype.is_floating_point:
                continue
            if 'running_var' in key:
                value.copy_(torch.rand(value.shape, generator=g) + 0.5)
            else:
                value.copy_(torch.randn(value.shape, generator=g) * (0.05 if value.dim() > 1
                                                                     else 0.5))


def _model_input(model_cfg):
    g = torch.Generator().manual_seed(2)
    backbone = model_cfg['backbone']
    if model_cfg['type'] == 'SkeletonGCN':  # [N, C, T, V, M]
        joints = LAYOUT_JOINTS[backbone['graph_cfg']['layout']]
        persons = model_cfg['cls_head'].get('num_person', 2)
        return torch.randn(2, backbone['in_channels'], 30, joints, persons, generator=g)
    return torch.rand(2, 2, backbone['in_channels'], 8, 32, 32, generator=g)  # 2 clips


def _model_outputs(model, x):
    """(eval scores, train loss on one clip per sample with dropout off)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    model.eval()
    with torch.no_grad():
        scores = torch.as_tensor(model(x, return_loss=False))
        model.train()
        train_x = x if x.dim() == 5 else x[:, :1]
        loss = model(train_x, LABELS, return_loss=True)['loss_cls']
    return scores, loss


def _snapshot(results):
    """The arrays and numbers in a pipeline's results (what both sides can compare)."""
    snap = {}
    for key, value in results.items():
        if isinstance(value, torch.Tensor):
            value = value.numpy()
        if isinstance(value, np.ndarray) and value.dtype != object:
            snap[key] = value.copy()
        elif isinstance(value, (bool, int, float, np.number)) or (
                isinstance(value, tuple) and value
                and all(isinstance(v, (int, float, np.number)) for v in value)):
            snap[key] = np.asarray(value)
    return snap


def _pipeline_cfg(data_cfg):
    return (data_cfg['dataset'] if 'dataset' in data_cfg else data_cfg)['pipeline']


def _run_steps(Compose, pipeline_cfg, records, name, split):
    """``{name|split|record|step index|step name: snapshot}`` for each record the config reads
    (3-D records for the ntu-rgb+d GCN configs, 2-D ones for the others); a snapshot holds
    only the arrays that changed in that step."""
    three_d = 'ntu-rgb+d' in str(pipeline_cfg) or '_3d' in name or 'babel' in name
    pipeline = Compose(pipeline_cfg)
    out = {}
    for rec_name, record in records.items():
        if rec_name.startswith('3d') != three_d:
            continue
        for seed in (0, 1):
            np.random.seed(seed)
            random.seed(seed)
            results = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                       for k, v in record.items()}
            last = {}
            for i, transform in enumerate(pipeline.transforms):
                results = transform(results)
                key = '%s|%s|%s@%d|%02d %s' % (name, split, rec_name, seed, i,
                                               type(transform).__name__)
                snap = _snapshot(results)
                out[key] = {k: v for k, v in snap.items() if k not in last
                            or v.shape != last[k].shape or v.dtype != last[k].dtype
                            or not np.array_equal(v, last[k])}
                last = snap
            if split != 'train':
                break  # val and test are not random
    return out
'''


def make_records(seed: int = 0) -> dict[str, dict]:
    """Pose records as PoseDataset hands them to a pipeline (``start_index=0``,
    ``modality='Pose'``): 2-D COCO ones (a drawn movement; random joints partly off the frame
    with some zero scores; a 20-frame clip) and 3-D NTU ones (2 persons; 1 person, 350 frames).
    """
    from actionkit.datasets.synthetic_pose import IMG_SHAPE, render_pose_clip

    rng = np.random.default_rng(seed)
    base = dict(start_index=0, modality='Pose', label=3)
    kp, score = render_pose_clip(2, seed, num_frames=150)
    drawn = dict(base, frame_dir='drawn', img_shape=IMG_SHAPE, original_shape=IMG_SHAPE,
                 total_frames=150, keypoint=np.concatenate([kp, kp[:, ::-1] + 7.5]),
                 keypoint_score=np.concatenate([score, score[:, ::-1]]))
    shape = (320, 570)
    kp = (rng.random((2, 77, 17, 2)) * [700, 400] - [60, 40]).astype(np.float32)
    score = rng.random((2, 77, 17)).astype(np.float32)
    score[score < 0.1] = 0
    wild = dict(base, frame_dir='wild', img_shape=shape, original_shape=shape,
                total_frames=77, keypoint=kp, keypoint_score=score)
    kp = (rng.random((1, 20, 17, 2)) * [300, 200] + [100, 50]).astype(np.float32)
    short = dict(base, frame_dir='short', img_shape=shape, original_shape=shape,
                 total_frames=20, keypoint=kp,
                 keypoint_score=rng.random((1, 20, 17)).astype(np.float32))
    three_d = dict(base, frame_dir='3d_two', total_frames=120,
                   keypoint=rng.standard_normal((2, 120, 25, 3)).astype(np.float32))
    long = dict(base, frame_dir='3d_long', total_frames=350,
                keypoint=rng.standard_normal((1, 350, 25, 3)).astype(np.float32))
    return {'drawn': drawn, 'wild': wild, 'short': short, '3d_two': three_d, '3d_long': long}


def _array_diff(mine: np.ndarray, theirs: np.ndarray) -> tuple[float, str]:
    """(max |difference|, what else differs: shape, dtype or non-numeric content)."""
    if mine.shape != theirs.shape:
        return np.inf, f'shape {mine.shape} vs {theirs.shape}'
    if mine.dtype.kind in 'biuf' and theirs.dtype.kind in 'biuf':
        diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
        note = '' if mine.dtype == theirs.dtype else f'dtype {mine.dtype} vs {theirs.dtype}'
        return (float(diff.max()) if diff.size else 0.0), note
    return (0.0, '') if np.array_equal(mine, theirs) else (np.inf, 'different')


def compare_steps(ref: dict, ours: dict) -> list[str]:
    """One line per config and split: each step's max |difference| over every array and
    record (the worst record named when it is not 0), then whatever else differs."""
    table: dict[tuple[str, str], dict[str, tuple[float, str]]] = {}
    problems = []
    for key, theirs in ref.items():
        name, split, record, step = key.split('|')
        worst = table.setdefault((name, split), {}).setdefault(step, (0.0, ''))
        mine = ours.get(key)
        if mine is None:
            problems.append(f'{key}: not run here')
            continue
        for array in sorted(set(theirs) | set(mine)):
            if array not in mine or array not in theirs:
                side = 'in MMAction2' if array in theirs else 'here'
                problems.append(f'{key}: {array} only {side}')
                continue
            diff, note = _array_diff(mine[array], theirs[array])
            if note:
                problems.append(f'{key}: {array} {note}')
            if diff > worst[0]:
                worst = (diff, f'{array} of {record}')
        table[(name, split)][step] = worst
    lines = [f'{name} {split}: ' + ', '.join(
        f'{step[3:]} {diff:.3g}' + (f' ({where})' if diff else '')
        for step, (diff, where) in sorted(steps.items()))
        for (name, split), steps in table.items()]
    return lines + sorted(set(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mmaction-python', required=True)
    parser.add_argument('--mmaction-source', default=str(REPO / '.cache' / 'mmaction2-0.24.1'),
                        help='an unpacked MMAction2 0.24.1 source tree (its sdist)')
    parser.add_argument('--configs', nargs='*', default=CONFIGS,
                        help='configs under configs/skeleton (default: all %d)' % len(CONFIGS))
    parser.add_argument('--sample-pkl', default=str(SAMPLE_PKL))
    args = parser.parse_args()
    from actionkit.config import Config
    from actionkit.datasets import PoseDataset
    from actionkit.datasets.pipelines import Compose
    from actionkit.models import build_model

    work = tempfile.mkdtemp()
    records = make_records()
    with open(f'{work}/records.pkl', 'wb') as f:
        pickle.dump(records, f)
    root = str(Path(args.mmaction_source) / 'mmaction' / '.mim' / 'configs' / 'skeleton')
    env = {**os.environ, 'PYTHONPATH': args.mmaction_source}
    done = subprocess.run([args.mmaction_python, '-c', _MMACTION_SCRIPT, work, root,
                           ','.join(args.configs), _SHARED, args.sample_pkl],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f'MMAction2 run failed:\n{done.stderr[-3000:]}', file=sys.stderr)
        return 1
    ref = torch.load(f'{work}/mmaction.pth', weights_only=False)
    shared = {'torch': torch, 'np': np}
    exec(_SHARED, shared)  # the same helpers the MMAction2 side ran
    lines = []
    for name in args.configs:
        cfg = Config.fromfile(str(REPO / 'configs' / 'skeleton' / name))
        model = build_model(cfg.model)
        state = ref[name + '|state']
        model.load_state_dict(state, strict=True)
        scores, loss = shared['_model_outputs'](model, ref[name + '|x'])
        print(f'{name}: strict load of {len(state)} keys; max |score diff| '
              f'{(scores - ref[name + "|scores"]).abs().max():.3g}; train loss '
              f'{float(loss):.4f}, diff {(loss - ref[name + "|loss"]).abs():.3g}')
        for split in ('train', 'val', 'test'):
            first = ref[f'{name}|{split}']
            if first != f'{name}|{split}':
                lines.append(f'{name} {split}: the same pipeline as {first.replace("|", " ")}')
                continue
            steps = torch.load(ref[f'{first}|file'], weights_only=False)
            os.remove(ref[f'{first}|file'])
            pipeline = shared['_pipeline_cfg'](cfg.data[split])
            lines += compare_steps(steps, shared['_run_steps'](Compose, pipeline, records, name,
                                                               split))
    print('\n'.join(lines))
    dataset = PoseDataset(args.sample_pkl, [], valid_ratio=0.2, box_thr='0.7',
                          data_prefix='/data')
    mine = [(dataset[i]['filename'], list(dataset[i].get('anno_inds', [])))
            for i in range(len(dataset))]
    print(f'sample.pkl PoseDataset(valid_ratio=0.2, box_thr=0.7): {len(mine)} records here, '
          f'{len(ref["sample.pkl"])} in MMAction2; '
          f'{"identical" if mine == ref["sample.pkl"] else "DIFFERENT"} names and anno_inds')
    return 0


if __name__ == '__main__':
    sys.exit(main())
