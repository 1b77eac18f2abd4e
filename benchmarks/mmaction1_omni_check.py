"""actionkit's OmniSource 1.x recognizer against MMAction2 1.2.0's, on images and videos.

    python benchmarks/mmaction1_omni_check.py --mmaction1-python /tmp/mm1env/bin/python \\
        [--configs-root .cache/mmaction2-1.2.0/mmaction/.mim/configs]

A sibling of ``mmaction1_model_check.py`` for ``RecognizerOmni``, whose 1.x calls differ
(one dict per data source; ``mode='tensor'`` cannot give scores). In the 1.x interpreter the
OmniSource config's model is built (PyTorch's default init, seed 0; random BatchNorm affine
parameters and statistics), put in
eval mode and run on an image batch ``[2, 3, 64, 64]`` and a video batch
``[2, 2, 3, 8, 64, 64]`` (two views): backbone features and head scores of each, the
``predict`` scores of each, and the ``loss`` of both sources in one call (the video's first
view: training takes one view per sample). Here the state dict
loads with ``strict=True`` and the same calls run; the max |difference| of each is printed.
"""
from __future__ import annotations

import argparse
import json
import logging
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from mmaction1_model_check import MM1_PREAMBLE  # benchmarks/, the script's folder

REPO = Path(__file__).resolve().parents[1]
CONFIG = 'recognition/omnisource/slowonly_r50_8xb16-8x8x1-256e_imagenet-kinetics400-rgb.py'

# run by the MMAction2 1.x interpreter: argv = config file, output file
_MM1_SCRIPT = MM1_PREAMBLE + r'''
cfg = Config.fromfile(sys.argv[1])
model_cfg = cfg.model.to_dict()
torch.manual_seed(0)
model = MODELS.build(model_cfg)  # PyTorch's default init of the convolutions and linears
gen = torch.Generator().manual_seed(0)
for key, value in model.state_dict().items():  # random BatchNorm entries and 1-dim biases
    span = dict(weight=(0.5, 1.5), bias=(-0.1, 0.1), running_mean=(-0.1, 0.1),
                running_var=(0.5, 1.5)).get(key.rsplit('.', 1)[-1])
    if span and value.dim() == 1:
        value.copy_(torch.rand(value.shape, generator=gen) * (span[1] - span[0]) + span[0])
model.eval()
image = torch.rand(2, 3, 64, 64, generator=gen) * 2 - 1
video = torch.rand(2, 2, 3, 8, 64, 64, generator=gen) * 2 - 1
labels = dict(image=[3, 999], video=[7, 399])

def samples(kind):
    return [ActionDataSample().set_gt_label(torch.tensor([x])) for x in labels[kind]]

out = dict(model=model_cfg, state_dict=model.state_dict(), image=image, video=video,
           labels=labels)
with torch.no_grad():
    for kind, x in (('image', image), ('video', video[:, 0])):
        out[kind + '_feat'] = model.extract_feat(x)
        out[kind + '_head'] = model.cls_head(out[kind + '_feat'])
    for kind, x in (('image', image), ('video', video)):
        pred = model(dict(inputs=x, data_samples=samples(kind)), mode='predict')
        out[kind + '_pred'] = torch.stack([s.pred_score for s in pred])
    out['loss'] = model(dict(inputs=video[:, :1], data_samples=samples('video')),
                        dict(inputs=image, data_samples=samples('image')), mode='loss')
with open(sys.argv[2], 'wb') as fout:
    pickle.dump(out, fout)
'''


def _ours(theirs: dict) -> dict[str, tuple[float, float]]:
    """Per output: (max |ours - 1.x's|, max |1.x's|)."""
    from actionkit.models import build_model
    from actionkit.models.data_sample import ActionDataSample
    model = build_model(theirs['model'])
    model.load_state_dict(theirs['state_dict'], strict=True)
    model.eval()

    def samples(kind: str) -> list:
        out = []
        for label in theirs['labels'][kind]:
            sample = ActionDataSample()
            sample.set_gt_label(torch.tensor([label]))
            out.append(sample)
        return out

    diffs = {}
    image, video = theirs['image'], theirs['video']
    with torch.no_grad():
        for kind, x in (('image', image), ('video', video[:, 0])):
            feat = model(x, mode='tensor')
            diffs[kind + '_feat'] = feat - theirs[kind + '_feat']
            diffs[kind + '_head'] = model(x, mode='tensor', stage='head') - theirs[kind + '_head']
        for kind, x in (('image', image), ('video', video)):
            pred = model(dict(inputs=x, data_samples=samples(kind)), mode='predict')
            diffs[kind + '_pred'] = torch.stack([s.pred_score for s in pred]) - theirs[
                kind + '_pred']
        loss = model(dict(inputs=video[:, :1], data_samples=samples('video')),
                     dict(inputs=image, data_samples=samples('image')), mode='loss')
    if sorted(loss) != sorted(theirs['loss']):
        raise SystemExit(f'loss names differ: ours {sorted(loss)}, 1.x {sorted(theirs["loss"])}')
    for key, value in loss.items():
        diffs['loss ' + key] = torch.as_tensor(value) - torch.as_tensor(theirs['loss'][key])
    scale = {key: theirs[key] for key in diffs if key in theirs}
    scale.update({'loss ' + key: torch.as_tensor(v) for key, v in theirs['loss'].items()})
    return {key: (float(value.abs().max()), float(scale[key].abs().max()))
            for key, value in diffs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mmaction1-python', required=True)
    parser.add_argument('--configs-root',
                        default=str(REPO / '.cache/mmaction2-1.2.0/mmaction/.mim/configs'))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        script, result = Path(tmp) / 'mm1_omni.py', Path(tmp) / 'omni.pkl'
        script.write_text(_MM1_SCRIPT)
        subprocess.run([args.mmaction1_python, str(script),
                        str(Path(args.configs_root) / CONFIG), str(result)], check=True)
        with open(result, 'rb') as fin:
            theirs = pickle.load(fin)  # our own file, written just now
    diffs = _ours(theirs)
    print(f'{CONFIG}: strict load OK')
    for kind in ('image', 'video'):  # how much the outputs depend on the input
        feat = theirs[kind + '_head']
        print(f'1.x {kind} scores, sample 0 vs 1: max|diff| '
              f'{float((feat[0] - feat[1]).abs().max()):.3g}')
    print(json.dumps({key: f'max|diff| {d:.1e} (max|1.x| {m:.3g})'
                      for key, (d, m) in diffs.items()}, indent=1))


if __name__ == '__main__':
    sys.exit(main())
