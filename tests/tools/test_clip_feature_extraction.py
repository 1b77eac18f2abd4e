"""Tests of tools/misc/clip_feature_extraction.py (logic: actionkit/commands/extract_features.py)
and tools/misc/dist_clip_feature_extraction.sh, on generated videos and a tiny checkpoint."""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from actionkit.commands.extract_features import enable_feature_extraction, read_video_list
from actionkit.config import Config
from actionkit.datasets.builder import build_dataset
from actionkit.engine.checkpoint import save_checkpoint
from actionkit.models.builder import build_model
from actionkit.models.weights import CheckpointError
from actionkit.datasets.prep.video_io import write_video

REPO = Path(__file__).resolve().parents[2]
MISC = REPO / 'tools' / 'misc'
SHARED = REPO / '..' / 'shared' / 'data' / 'mmaction2'
MMACTION_TSN_CONFIG = (REPO / '.cache/mmaction2-0.24.1/mmaction/.mim/configs/recognition/tsn'
                       / 'tsn_r50_clip_feature_extraction_1x1x3_rgb.py')

# Two ResNet-18 stages (128 channels) on a 2D model; a 2-stage 3D ResNet-18 for Recognizer3D.
BACKBONES = {
    'Recognizer2D': dict(type='ResNet', depth=18, num_stages=2, out_indices=(1,),
                         strides=(1, 2), dilations=(1, 1), pretrained=None),
    'Recognizer3D': dict(type='ResNet3d', depth=18, num_stages=2, out_indices=(1,),
                         spatial_strides=(1, 2), temporal_strides=(1, 1), dilations=(1, 1),
                         pretrained=None, pretrained2d=False),
}
SAMPLING = {  # (clip_len, num_clips, input_format)
    'Recognizer2D': (1, 3, 'NCHW'),
    'Recognizer3D': (4, 2, 'NCTHW'),
}
CONFIG = """
model = dict(type={recognizer!r}, backbone={backbone!r}, test_cfg=None)
test_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len={clip_len}, frame_interval=1, num_clips={num_clips},
         test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='Normalize', mean=[128, 128, 128], std=[64, 64, 64], to_bgr=False),
    dict(type='FormatShape', input_format={input_format!r}),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(videos_per_gpu=1, workers_per_gpu=0,
            test=dict(type='VideoDataset', ann_file=None, data_prefix=None,
                      pipeline=test_pipeline))
dist_params = dict(backend='gloo')
"""


def load_tool() -> ModuleType:
    """Import ``tools/misc/clip_feature_extraction.py`` as a module (to call its ``main``)."""
    spec = importlib.util.spec_from_file_location('_clip_feature_extraction',
                                                  MISC / 'clip_feature_extraction.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_videos(root: Path) -> list[str]:
    """Three short clips of different lengths and content; one name has a space."""
    rng = np.random.default_rng(0)
    names = ['a.mp4', 'sub/b clip.mp4', 'c.mp4']
    for i, name in enumerate(names):
        frames = rng.integers(0, 256, size=(8 + 4 * i, 40, 48, 3), dtype=np.uint8)
        frames[:, :, : 16 * (i + 1)] = 40 * i  # a different flat block per video
        fade = np.linspace(0.2, 1.0, len(frames))[:, None, None, None]  # and a fade over time
        frames = (frames * fade).astype(np.uint8)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(root / name, frames, fps=8)
    return names


def make_setup(tmp_path: Path, recognizer: str = 'Recognizer2D') -> dict[str, str]:
    """Videos, their list, a config without a head and a checkpoint that has one."""
    videos = tmp_path / 'videos'
    names = make_videos(videos)
    video_list = tmp_path / 'video_list.txt'
    video_list.write_text('\n'.join(names) + '\n\n')  # a trailing blank line is skipped
    clip_len, num_clips, input_format = SAMPLING[recognizer]
    config = tmp_path / 'features.py'
    config.write_text(CONFIG.format(recognizer=recognizer, backbone=BACKBONES[recognizer],
                                    clip_len=clip_len, num_clips=num_clips,
                                    input_format=input_format))
    torch.manual_seed(0)
    head = dict(type='TSNHead' if recognizer == 'Recognizer2D' else 'I3DHead', num_classes=4,
                in_channels=128)
    trained = build_model(dict(type=recognizer, backbone=BACKBONES[recognizer], cls_head=head))
    for module in trained.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    checkpoint = tmp_path / 'trained.pth'
    save_checkpoint(trained, str(checkpoint))
    return dict(videos=str(videos), names=names, video_list=str(video_list),
                config=str(config), checkpoint=str(checkpoint), model=trained)


def direct_features(setup: dict, recognizer: str, cfg_options: dict | None = None
                    ) -> list[np.ndarray]:
    """The backbone's features pooled over space, time and clips, computed without the tool."""
    cfg = Config.fromfile(setup['config'])
    cfg.merge_from_dict(cfg_options or {})
    ann = Path(setup['checkpoint']).with_name('direct_list.txt')
    ann.write_text(''.join(f'{name}\t0\n' for name in setup['names']))
    cfg.data.test.update(ann_file=str(ann), data_prefix=setup['videos'], test_mode=True)
    dataset = build_dataset(cfg.data.test)
    backbone = setup['model'].backbone.eval()
    features = []
    with torch.no_grad():
        for i in range(len(dataset)):
            imgs = dataset[i]['imgs']  # 2D: [clips, C, H, W]; 3D: [clips, C, T, H, W]
            feat = backbone(imgs)
            dims = (2, 3) if recognizer == 'Recognizer2D' else (2, 3, 4)
            features.append(feat.mean(dim=dims).mean(dim=0).numpy())
    return features


@pytest.mark.parametrize('recognizer,suffix', [('Recognizer2D', '.pkl'),
                                               ('Recognizer3D', '.json')])
def test_features_equal_pooled_backbone_output(tmp_path, recognizer, suffix):
    setup = make_setup(tmp_path, recognizer)
    out = tmp_path / 'out' / f'features{suffix}'
    code = load_tool().main([setup['config'], setup['checkpoint'], '--video-list',
                             setup['video_list'], '--video-root', setup['videos'],
                             '--out', str(out)])
    assert code == 0
    if suffix == '.pkl':
        with open(out, 'rb') as fin:
            features = pickle.load(fin)
        assert all(isinstance(f, np.ndarray) and f.dtype == np.float32 for f in features)
    else:
        features = [np.asarray(f, dtype=np.float32) for f in json.loads(out.read_text())]
    assert len(features) == 3
    assert all(f.shape == (128,) for f in features)
    expected = direct_features(setup, recognizer)
    for got, want in zip(features, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # the videos differ, so do their features (the order is the list's)
    assert not np.allclose(features[0], features[2], atol=1e-3)


@pytest.mark.skipif(not SHARED.is_dir() or not MMACTION_TSN_CONFIG.is_file(),
                    reason='needs ../shared/data/mmaction2 and .cache/mmaction2-0.24.1 (MMAction2 '
                    "0.24.1's feature-extraction config)")
def test_mmaction2_config_on_real_videos(tmp_path):
    """MMAction2's own TSN feature config (DecordInit, no cls_head) on real H.264/MPEG-4 files;
    ResNet-18 and 2 clips instead of ResNet-50 and 25 keep it fast."""
    options = {'model.backbone.depth': 18, 'data.test.pipeline.1.num_clips': 2,
               'data.workers_per_gpu': 0}
    torch.manual_seed(0)
    model = build_model(dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18),
                             cls_head=dict(type='TSNHead', num_classes=400, in_channels=512)))
    checkpoint = tmp_path / 'tsn_r18.pth'
    save_checkpoint(model, str(checkpoint))
    names = ['demo/demo.mp4', 'tests/data/test.avi']
    (tmp_path / 'list.txt').write_text('\n'.join(names))
    out = tmp_path / 'features.pkl'
    load_tool().main([str(MMACTION_TSN_CONFIG), str(checkpoint), '--video-list',
                      str(tmp_path / 'list.txt'), '--video-root', str(SHARED), '--out', str(out),
                      '--cfg-options'] + [f'{k}={v}' for k, v in options.items()])
    features = pickle.loads(out.read_bytes())
    setup = dict(config=str(MMACTION_TSN_CONFIG), checkpoint=str(checkpoint), names=names,
                 videos=str(SHARED), model=model)
    expected = direct_features(setup, 'Recognizer2D', options)
    assert [f.shape for f in features] == [(512,), (512,)]
    for got, want in zip(features, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert not np.allclose(features[0], features[1], atol=1e-2)


def test_cfg_options_and_fuse_conv_bn(tmp_path):
    setup = make_setup(tmp_path)
    out = tmp_path / 'features.pkl'
    load_tool().main([setup['config'], setup['checkpoint'], '--video-list',
                      setup['video_list'], '--video-root', setup['videos'], '--out', str(out),
                      '--fuse-conv-bn', '--cfg-options', 'data.test.pipeline.1.num_clips=1'])
    features = pickle.loads(out.read_bytes())
    # one frame per video instead of three: the features follow the overridden pipeline
    expected = direct_features(setup, 'Recognizer2D', {'data.test.pipeline.1.num_clips': 1})
    three_clips = direct_features(setup, 'Recognizer2D')
    for got, want, other in zip(features, expected, three_clips):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # folded BN: float error
        assert not np.allclose(got, other, atol=1e-3)


def test_missing_checkpoint_and_video_list(tmp_path):
    setup = make_setup(tmp_path)
    tool = load_tool()
    base = [setup['config'], setup['checkpoint'], '--video-list', setup['video_list'],
            '--video-root', setup['videos'], '--out', str(tmp_path / 'f.pkl')]
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        tool.main([setup['config'], str(tmp_path / 'nope.pth')] + base[2:])
    with pytest.raises(FileNotFoundError, match='--video-list .*absent.txt'):
        tool.main(base[:3] + [str(tmp_path / 'absent.txt')] + base[4:])
    with pytest.raises(ValueError, match='--video-list is required'):
        tool.main(base[:2] + base[4:])
    with pytest.raises(ValueError, match='--out'):
        tool.main(base[:6])
    with pytest.raises(ValueError, match='must end in one of'):
        tool.main(base[:7] + [str(tmp_path / 'f.npy')])
    assert not (tmp_path / 'f.pkl').exists()


def test_read_video_list_names_missing_videos_with_their_line(tmp_path):
    (tmp_path / 'v').mkdir()
    (tmp_path / 'v' / 'ok.mp4').write_bytes(b'x')
    listing = tmp_path / 'list.txt'
    listing.write_text('ok.mp4\n\ngone.mp4\nok.mp4\t3\n')
    with pytest.raises(FileNotFoundError, match=r'list.txt:3: .*gone.mp4'):
        read_video_list(listing, tmp_path / 'v')
    listing.write_text('ok.mp4\n\nok.mp4\t3\n')
    assert read_video_list(listing, tmp_path / 'v') == ['ok.mp4', 'ok.mp4']
    listing.write_text('\n \n')
    with pytest.raises(ValueError, match='holds no video'):
        read_video_list(listing)


def test_checkpoint_lacking_backbone_weights_is_refused(tmp_path):
    setup = make_setup(tmp_path)
    state = {k: v for k, v in setup['model'].state_dict().items() if 'layer2' not in k}
    partial = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, partial)
    with pytest.raises(CheckpointError, match='missing keys.*layer2'):
        load_tool().main([setup['config'], str(partial), '--video-list', setup['video_list'],
                          '--video-root', setup['videos'], '--out', str(tmp_path / 'f.pkl')])


def test_config_checks():
    cfg = Config(dict(model=dict(type='Recognizer2D', backbone={}, test_cfg=dict(
        average_clips='prob'))))
    enable_feature_extraction(cfg)
    assert cfg.model.test_cfg == dict(average_clips='prob', feature_extraction=True)
    cfg = Config(dict(model=dict(type='Recognizer3D'), test_cfg=dict(average_clips=None)))
    enable_feature_extraction(cfg)  # the deprecated top-level test_cfg is the one in use
    assert cfg.test_cfg.feature_extraction is True and cfg.model.get('test_cfg') is None
    with pytest.raises(ValueError, match="'BMN'.*Recognizer2D"):
        enable_feature_extraction(Config(dict(model=dict(type='BMN'))))


def test_non_video_dataset_is_refused(tmp_path):
    setup = make_setup(tmp_path)
    with pytest.raises(ValueError, match="RawframeDataset.*'VideoDataset'"):
        load_tool().main([setup['config'], setup['checkpoint'], '--video-list',
                          setup['video_list'], '--out', str(tmp_path / 'f.pkl'),
                          '--cfg-options', 'data.test.type=RawframeDataset'])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_dist_script_two_processes_keep_list_order(tmp_path):
    """Two CPU ranks (gloo) split three videos; rank 0 writes them in list order."""
    setup = make_setup(tmp_path)
    out = tmp_path / 'features.pkl'
    env = dict(os.environ, PORT=str(29500 + os.getpid() % 1000), OMP_NUM_THREADS='1',
               PATH=f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}')
    done = subprocess.run(
        ['bash', str(MISC / 'dist_clip_feature_extraction.sh'), setup['config'],
         setup['checkpoint'], '2', '--video-list', setup['video_list'], '--video-root',
         setup['videos'], '--out', str(out)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    features = pickle.loads(out.read_bytes())
    expected = direct_features(setup, 'Recognizer2D')
    assert len(features) == 3
    for got, want in zip(features, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_dist_script_usage(tmp_path):
    done = subprocess.run(['bash', str(MISC / 'dist_clip_feature_extraction.sh'), 'cfg.py'],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and 'usage' in done.stderr


def test_a_head_of_another_label_set_does_not_matter(tmp_path):
    """A recognition config (with a 7-class head) and a checkpoint trained on 4 classes: the
    head never runs for features, so its mismatch is no error."""
    setup = make_setup(tmp_path)
    config = Path(setup['config'])
    config.write_text(config.read_text().replace(
        'test_cfg=None)', "cls_head=dict(type='TSNHead', num_classes=7, in_channels=128), "
        'test_cfg=None)'))
    out = tmp_path / 'features.pkl'
    code = load_tool().main([setup['config'], setup['checkpoint'], '--video-list',
                             setup['video_list'], '--video-root', setup['videos'],
                             '--out', str(out)])
    assert code == 0
    with open(out, 'rb') as fin:
        features = pickle.load(fin)
    for got, want in zip(features, direct_features(setup, 'Recognizer2D'), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
