"""actionkit's audio models and feature pipeline against MMAction2 0.24.1's own code.

    python benchmarks/audio_mmaction_check.py --mmaction-python /tmp/mmenv/bin/python \\
        [--mmaction-source .cache/mmaction2-0.24.1]

In the MMAction2 interpreter (mmcv 1.x; ``mmaction_compat.py`` is sent ahead): the models of
MMAction2's two audio feature configs are built from MMAction2's config files, given random
weights and BatchNorm statistics, and run on a random ``[2, 3, 1, 128, 80]`` input (eval
scores with its ``average_clips='prob'``, and a train-mode loss on one clip); its
``LoadAudioFeature -> SampleFrames -> AudioFeatureSelector -> FormatAudioShape`` and
``SampleFrames -> AudioDecode -> AudioAmplify`` pipelines run on a few feature files and
waveforms whose lengths and frame counts do not divide evenly. Here: the models of actionkit's
configs of the same names load those state dicts with ``strict=True`` and the same steps run on
the same inputs. Prints the differences (0 means bit-identical).

An MMAction2 interpreter without a second torch: ``python3 -m venv /tmp/mmenv``, a ``.pth``
file in its site-packages naming this project venv's site-packages, then
``/tmp/mmenv/bin/pip install wheel setuptools einops`` and ``MMCV_WITH_OPS=0
/tmp/mmenv/bin/pip install --no-build-isolation mmcv==1.7.0``.
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
CONFIGS = ['audioonly/audioonly_r50_64x1x1_100e_kinetics400_audio_feature.py',
           'resnet/tsn_r18_64x1x1_100e_kinetics400_audio_feature.py']
# (feature rows, total_frames, num_clips): 64-frame test clips over uneven lengths
CASES = [(640, 300, 10), (333, 91, 10), (100, 250, 1), (1000, 64, 3), (127, 30, 4)]
MMACTION_COMPAT = Path(__file__).with_name('mmaction_compat.py').read_text()

_MMACTION_SCRIPT = MMACTION_COMPAT + r'''
import sys, warnings
warnings.filterwarnings('ignore')
import numpy as np, torch
from mmcv import Config
from mmaction.datasets.pipelines import Compose
from mmaction.models import build_model
work, root = sys.argv[1], sys.argv[2]
exec(sys.argv[3])  # CONFIGS, CASES, _randomise, _pipelines
out = {}
for name in CONFIGS:
    model = build_model(Config.fromfile(root + '/' + name).model)
    model.init_weights()
    x = _randomise(model)
    out[name + '|x'] = x
    model.eval()
    with torch.no_grad():
        out[name + '|scores'] = torch.as_tensor(model(x, return_loss=False))
        out[name + '|state'] = {k: v.clone() for k, v in model.state_dict().items()}
        model.train()
        model.cls_head.dropout.p = 0.0
        out[name + '|loss'] = model(x[:, :1], torch.tensor([[3], [7]]),
                                    return_loss=True)['loss_cls']
for key, value in _pipelines(Compose, work).items():
    out[key] = torch.as_tensor(value)
torch.save(out, work + '/mmaction.pth')
'''

_SHARED = r'''
CONFIGS = %r
CASES = %r


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
    return torch.rand(2, 3, 1, 128, 80, generator=g)


def _pipelines(Compose, work):
    out = {}
    for i, (rows, total, clips) in enumerate(CASES):
        path = '%%s/feat%%d.npy' %% (work, i)
        features = Compose([
            dict(type='LoadAudioFeature'),
            dict(type='SampleFrames', clip_len=64, frame_interval=1, num_clips=clips,
                 test_mode=True),
            dict(type='AudioFeatureSelector'),
            dict(type='FormatAudioShape', input_format='NCTF')])
        out['features%%d' %% i] = features(dict(audio_path=path, total_frames=total,
                                               start_index=1, modality='Audio'))['audios']
        wave = np.linspace(-1, 1, rows * 100, dtype=np.float32)
        decode = Compose([
            dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=clips,
                 test_mode=True),
            dict(type='AudioDecode'), dict(type='AudioAmplify', ratio=1.5)])
        out['waveform%%d' %% i] = decode(dict(audios=wave, length=len(wave), total_frames=total,
                                             start_index=1))['audios']
    return out
''' % (CONFIGS, CASES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--mmaction-python', required=True)
    parser.add_argument('--mmaction-source', default=str(REPO / '.cache' / 'mmaction2-0.24.1'),
                        help='an unpacked MMAction2 0.24.1 source tree (its sdist)')
    args = parser.parse_args()
    from actionkit.config import Config
    from actionkit.datasets.pipelines import Compose
    from actionkit.models import build_model

    work = tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    for i, (rows, _, _) in enumerate(CASES):
        np.save(f'{work}/feat{i}.npy', rng.random((rows, 80), dtype=np.float32))
    root = str(Path(args.mmaction_source) / 'mmaction' / '.mim' / 'configs'
               / 'recognition_audio')
    env = {**os.environ, 'PYTHONPATH': args.mmaction_source}
    done = subprocess.run([args.mmaction_python, '-c', _MMACTION_SCRIPT, work, root, _SHARED],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f'MMAction2 run failed:\n{done.stderr[-3000:]}', file=sys.stderr)
        return 1
    ref = torch.load(f'{work}/mmaction.pth', weights_only=False)
    shared = {'torch': torch, 'np': np}
    exec(_SHARED, shared)  # the same helpers the MMAction2 side ran
    for name in CONFIGS:
        model = build_model(Config.fromfile(str(REPO / 'configs' / 'recognition_audio' / name))
                            .model)
        model.load_state_dict(ref[name + '|state'], strict=True)
        x = ref[name + '|x']
        model.eval()
        scores = torch.as_tensor(model(x, return_loss=False))
        model.train()
        model.cls_head.dropout.p = 0.0
        with torch.no_grad():
            loss = model(x[:, :1], torch.tensor([[3], [7]]), return_loss=True)['loss_cls']
        print(f'{name}: strict load of {len(ref[name + "|state"])} keys; max |score diff| '
              f'{(scores - ref[name + "|scores"]).abs().max():.3g}; train loss diff '
              f'{(loss - ref[name + "|loss"]).abs():.3g}')
    ours = shared['_pipelines'](Compose, work)
    for key, value in ours.items():
        theirs = ref[key].numpy()
        same = value.shape == theirs.shape and np.array_equal(value, theirs)
        print(f'{key}: {value.shape} {"identical" if same else "DIFFERENT: " + str(theirs.shape)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
