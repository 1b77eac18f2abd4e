"""The values of the shipped configs.

Every config under ``configs/`` with a namesake in MMAction2 0.24.1 must load (both with our
``Config``) to the same values, key by key, except for the differences listed, with their reason,
in ``DELIBERATE``. Our own configs (no namesake) get tests of the values that matter. The 0.24.1
configs come from the sdist that ``scripts/test.sh`` downloads; without it those tests skip.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actionkit.config import Config
from actionkit.datasets.synthetic import SYNTHETIC_CLASSES
from actionkit.datasets.synthetic_pose import IMG_SHAPE, SYNTHETIC_POSE_CLASSES

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / 'configs'
MMACTION_CONFIGS = ROOT / '.cache' / 'mmaction2-0.24.1' / 'mmaction' / '.mim' / 'configs'
SHIPPED = sorted(p.relative_to(OURS).as_posix() for p in OURS.rglob('*.py'))
PAIRED = [rel for rel in SHIPPED if (MMACTION_CONFIGS / rel).is_file()]
needs_mmaction = pytest.mark.skipif(
    not MMACTION_CONFIGS.is_dir(), reason=f'MMAction2 0.24.1 configs not found at '
    f'{MMACTION_CONFIGS} (scripts/test.sh downloads them)')

_PYAV_NOT_DECORD = {'DecordInit': 'PyAVInit', 'DecordDecode': 'PyAVDecode'}
# relative path -> {dotted key: (the reason, their value -> ours)}; a key allowed here must
# still differ (a stale entry fails), and every other key must be equal.
_VIDEO_PIPELINES = [f'{p}.{i}.type' for p in (
    'train_pipeline', 'val_pipeline', 'test_pipeline', 'data.train.pipeline',
    'data.val.pipeline', 'data.test.pipeline') for i in (0, 2)]
DELIBERATE: dict[str, dict[str, tuple[str, Any]]] = {
    # 0.24.1's work_dir says 100e in a 50-epoch config (a leftover); ours is the file's name
    'recognition/tsm/tsm_r50_1x1x8_50e_kinetics400_rgb.py': {
        'work_dir': ('named after the file', './work_dirs/tsm_r50_1x1x8_50e_kinetics400_rgb/')},
    'recognition/tsm/tsm_r50_video_1x1x8_50e_kinetics400_rgb.py': {
        # PyAV is a core dependency, Decord an optional extra: the shipped video TSM runs
        # (webcam demo, docs/data_preparation.md) without it
        **{key: ('PyAV, not Decord', _PYAV_NOT_DECORD) for key in _VIDEO_PIPELINES},
        # 0.24.1 names it ..._video_2d_...; ours is the file's name
        'work_dir': ('named after the file',
                     './work_dirs/tsm_r50_video_1x1x8_50e_kinetics400_rgb/')},
    # 0.24.1 names MelLogSpectrogram, which its registry lacks (the config cannot run there);
    # ours is MelSpectrogram, and its test pipeline decodes with AudioDecode, not a second
    # AudioDecodeInit (docs/getting_started.md, audio differences)
    'recognition_audio/resnet/tsn_r50_64x1x1_100e_kinetics400_audio.py': {
        **{f'{p}.4.type': ('MelSpectrogram is registered', 'MelSpectrogram') for p in (
            'train_pipeline', 'val_pipeline', 'test_pipeline', 'data.train.pipeline',
            'data.val.pipeline', 'data.test.pipeline')},
        **{f'{p}.2.type': ('decode, not open twice', 'AudioDecode')
           for p in ('test_pipeline', 'data.test.pipeline')}},
}
# module-level helper names that only ours define (0.24.1 writes the same values inline, so
# the pipelines and models that use them are compared as usual)
HELPERS = {
    'localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py': {'video_meta_keys'},
    'localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py': {'video_meta_keys'},
    'localization/bsn/bsn_pgm_400x100_activitynet_feature.py': {'bsp_cfg'},
    'localization/ssn/ssn_r50_450e_thumos14_rgb_test.py': {'test_keys'},
    'localization/ssn/ssn_r50_450e_thumos14_rgb_train.py': {'proposal_keys'},
    # the class count, used by the head and the three datasets
    **{f'recognition/tsn/hvu/tsn_r18_1x1x8_100e_hvu_{cate}_rgb.py': {'num_classes'}
       for cate in ('attribute', 'concept', 'event', 'object', 'scene')},
    # one pipeline for training and testing
    **{f'skeleton/{rel}.py': {'pipeline'} for rel in (
        '2s-agcn/2sagcn_80e_ntu60_xsub_bone_3d', '2s-agcn/2sagcn_80e_ntu60_xsub_keypoint_3d',
        'stgcn/stgcn_80e_babel120', 'stgcn/stgcn_80e_babel120_wfl', 'stgcn/stgcn_80e_babel60',
        'stgcn/stgcn_80e_babel60_wfl', 'stgcn/stgcn_80e_ntu60_xsub_keypoint',
        'stgcn/stgcn_80e_ntu60_xsub_keypoint_3d')},
    # the heatmap step (joints or limbs), the decode/crop steps and the format/collect steps
    # the three pipelines share; NTU-120's class_prob is its train dataset's
    **{f'skeleton/posec3d/{rel}.py': names for rel, names in {
        'slowonly_kinetics400_pretrained_r50_u48_120e_hmdb51_split1_keypoint': {
            'heatmaps', 'shared', 'tail'},
        'slowonly_kinetics400_pretrained_r50_u48_120e_ucf101_split1_keypoint': {
            'heatmaps', 'shared', 'tail'},
        'slowonly_r50_u48_240e_gym_keypoint': {'heatmaps'},
        'slowonly_r50_u48_240e_gym_limb': {'heatmaps', 'shared', 'tail'},
        'slowonly_r50_u48_240e_ntu120_xsub_keypoint': {'class_prob', 'heatmaps'},
        'slowonly_r50_u48_240e_ntu120_xsub_limb': {'class_prob', 'heatmaps', 'shared', 'tail'},
        'slowonly_r50_u48_240e_ntu60_xsub_keypoint': {'heatmaps'},
        'slowonly_r50_u48_240e_ntu60_xsub_limb': {'heatmaps', 'shared', 'tail'}}.items()},
}


def differences(ours: Any, theirs: Any, prefix: str = '') -> dict[str, tuple[Any, Any]]:
    """``{dotted key: (ours, theirs)}`` for every leaf that differs (types count: 1 != 1.0)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(ours) | set(theirs), key=str):
            dotted = f'{prefix}{key}'
            if key not in ours or key not in theirs:
                found[dotted] = (ours.get(key, '<missing>'), theirs.get(key, '<missing>'))
            else:
                found.update(differences(ours[key], theirs[key], f'{dotted}.'))
        return found
    if isinstance(ours, (list, tuple)) and type(ours) is type(theirs) and \
            len(ours) == len(theirs):
        found = {}
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found.update(differences(a, b, f'{prefix}{i}.'))
        return found
    if type(ours) is not type(theirs) or ours != theirs:
        return {prefix.rstrip('.'): (ours, theirs)}
    return {}


def _allowed(rel: str, key: str, ours: Any, theirs: Any) -> bool:
    if key in HELPERS.get(rel, ()) and theirs == '<missing>':
        return True
    entry = DELIBERATE.get(rel, {}).get(key)
    if entry is None:
        return False
    expected = entry[1]
    return (expected.get(theirs) if isinstance(expected, dict) else expected) == ours


@needs_mmaction
@pytest.mark.parametrize('rel', PAIRED)
def test_shipped_config_equals_mmaction2(rel: str) -> None:
    ours = Config.fromfile(OURS / rel).to_dict()
    theirs = Config.fromfile(MMACTION_CONFIGS / rel).to_dict()
    found = differences(ours, theirs)
    unexplained = {k: v for k, v in found.items() if not _allowed(rel, k, *v)}
    assert not unexplained, f'{rel} differs from MMAction2 0.24.1 (ours, theirs): {unexplained}'
    stale = set(DELIBERATE.get(rel, {})) - set(found)
    assert not stale, f'{rel}: DELIBERATE lists {stale}, which no longer differ'


@needs_mmaction
def test_the_comparison_covers_the_shipped_configs() -> None:
    # a rename on either side must not quietly drop configs from the comparison
    assert len(PAIRED) >= 66
    assert set(DELIBERATE) | set(HELPERS) <= set(PAIRED)
    own = sorted(set(SHIPPED) - set(PAIRED))
    assert own == sorted(OWN_CONFIGS), 'a config without a 0.24.1 namesake needs value tests'


def test_the_comparison_sees_a_changed_value() -> None:
    cfg = {'data': {'train': {'pipeline': [{'type': 'Normalize', 'mean': [123.675, 116.28,
                                                                          103.53]}]}}}
    typo = {'data': {'train': {'pipeline': [{'type': 'Normalize', 'mean': [123.675, 116.82,
                                                                           103.53]}]}}}
    assert differences(cfg, typo) == {'data.train.pipeline.0.mean.1': (116.28, 116.82)}
    assert differences({'lr': 1}, {'lr': 1.0}) == {'lr': (1, 1.0)}
    assert differences({'a': 1}, {'b': 1}) == {'a': (1, '<missing>'), 'b': ('<missing>', 1)}


# ---------------------------------------------------------------------- our own configs
IMAGENET = ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])
SYNTHETIC_NORM = ([127.5, 127.5, 127.5], [64.0, 64.0, 64.0])  # frames in [0, 255] -> ~[-2, 2]
OWN_CONFIGS = {
    '_base_/models/ssn_r50.py': None, '_base_/models/swin_tiny.py': None,
    '_base_/omnisource/slowonly_r50_8x8x1_256e_minikinetics.py': None,
    '_base_/omnisource/tsn_r50_1x1x8_100e_minikinetics.py': None,
    'localization/bmn/bmn_synthetic.py': None, 'localization/bsn/bsn_pem_synthetic.py': None,
    'localization/bsn/bsn_pgm_synthetic.py': None, 'localization/bsn/bsn_tem_synthetic.py': None,
    'recognition/swin/swin_tiny_patch244_window877_kinetics400_1k.py': IMAGENET,
    'synthetic/audioonly_r50_48x1x1_synthetic_audio_feature.py': None,
    'synthetic/posec3d_slowonly_r18_synthetic_pose.py': None,
    'synthetic/slowonly_r18_8x4x1_synthetic_video.py': SYNTHETIC_NORM,
    'synthetic/stgcn_synthetic_pose.py': None,
    'synthetic/tsm_r18_1x1x8_synthetic_video.py': SYNTHETIC_NORM,
    'synthetic/tsn_r18_1x1x8_synthetic_video.py': SYNTHETIC_NORM,
    'synthetic/videomae_vit-tiny_8x4x1_synthetic_video.py': None,  # its data_preprocessor
}


def _steps(cfg: Config, type_name: str) -> list[dict]:
    return [step for split in ('train', 'val', 'test') if split in cfg.data
            for step in cfg.data[split].pipeline if step.type == type_name]


@pytest.mark.parametrize('rel', sorted(rel for rel, norm in OWN_CONFIGS.items() if norm))
def test_own_config_normalisation(rel: str) -> None:
    cfg = Config.fromfile(OURS / rel)
    steps = _steps(cfg, 'Normalize')
    assert len(steps) == len([s for s in ('train', 'val', 'test') if s in cfg.data]) >= 2
    mean, std = OWN_CONFIGS[rel]
    for step in steps:
        assert (step.mean, step.std, step.to_bgr) == (mean, std, False), rel


@pytest.mark.parametrize('rel', ['synthetic/tsm_r18_1x1x8_synthetic_video.py',
                                 'synthetic/tsn_r18_1x1x8_synthetic_video.py'])
def test_synthetic_2d_configs(rel: str) -> None:
    cfg = Config.fromfile(OURS / rel)
    head, backbone = cfg.model.cls_head, cfg.model.backbone
    assert head.num_classes == len(SYNTHETIC_CLASSES) == 10
    assert head.in_channels == backbone.base_channels * 8 == 128  # ResNet-18's last stage
    assert backbone.depth == 18 and backbone.pretrained is None
    samplers = _steps(cfg, 'SampleFrames')
    assert [(s.clip_len, s.num_clips, s.get('test_mode', False)) for s in samplers] == [
        (1, 8, False), (1, 8, True), (1, 8, True)][:len(samplers)]
    if cfg.model.backbone.type == 'ResNetTSM':
        assert backbone.num_segments == head.num_segments == 8
    assert not _steps(cfg, 'Flip')  # left/right motions are different classes
    assert cfg.model.test_cfg.average_clips == 'prob'


def test_synthetic_3d_config() -> None:
    cfg = Config.fromfile(OURS / 'synthetic' / 'slowonly_r18_8x4x1_synthetic_video.py')
    assert cfg.model.cls_head.num_classes == len(SYNTHETIC_CLASSES)
    assert cfg.model.cls_head.in_channels == cfg.model.backbone.base_channels * 8
    assert [(s.clip_len, s.frame_interval, s.num_clips) for s in _steps(cfg, 'SampleFrames')
            ][0] == (8, 4, 1)
    assert {s.input_format for s in _steps(cfg, 'FormatShape')} == {'NCTHW'}
    assert not _steps(cfg, 'Flip')


def test_synthetic_vit_config() -> None:
    # MMAction2 1.x style: uint8 frames, normalised by the model's data_preprocessor
    cfg = Config.fromfile(OURS / 'synthetic' / 'videomae_vit-tiny_8x4x1_synthetic_video.py')
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    assert backbone.type == 'VisionTransformer' and backbone.get('pretrained') is None
    assert head.num_classes == len(SYNTHETIC_CLASSES) and head.in_channels == backbone.embed_dims
    pre = cfg.model.data_preprocessor
    assert (pre.type, pre.mean, pre.std, pre.format_shape) == (
        'ActionDataPreprocessor', *SYNTHETIC_NORM, 'NCTHW')
    assert not _steps(cfg, 'Normalize') and not _steps(cfg, 'Flip')
    samplers = _steps(cfg, 'SampleFrames')
    assert {(s.clip_len, s.num_clips) for s in samplers} == {(backbone.num_frames, 1)}
    assert backbone.img_size % backbone.patch_size == 0


@pytest.mark.parametrize('rel', ['localization/bmn/bmn_synthetic.py',
                                 'localization/bsn/bsn_tem_synthetic.py'])
def test_synthetic_localization_feature_sizes(rel: str) -> None:
    # the features `make_synthetic_localization(..., temporal_dim=32, feat_dim=16)` writes
    cfg = Config.fromfile(OURS / rel)
    model = cfg.model
    feat_dim = model.get('feat_dim', model.get('tem_feat_dim'))
    assert feat_dim == 16
    assert {s.feat_dim for s in _steps(cfg, 'LoadLocalizationFeature')} == {16}
    assert model.get('temporal_dim', 32) == 32


def test_synthetic_posec3d_config() -> None:
    cfg = Config.fromfile(OURS / 'synthetic' / 'posec3d_slowonly_r18_synthetic_pose.py')
    head, backbone = cfg.model.cls_head, cfg.model.backbone
    assert head.num_classes == len(SYNTHETIC_POSE_CLASSES) == 6
    assert backbone.in_channels == 17  # one heatmap a COCO joint
    assert head.in_channels == backbone.base_channels * 2 ** (backbone.num_stages - 1) == 64
    assert [(s.clip_len, s.get('num_clips', 1), s.get('test_mode', False))
            for s in _steps(cfg, 'UniformSampleFrames')] == [
        (16, 1, False), (16, 1, True), (16, 1, True)]
    targets = _steps(cfg, 'GeneratePoseTarget')
    assert {(t.with_kp, t.with_limb, t.sigma) for t in targets} == {(True, False, 0.6)}
    crops = [s.scale for s in _steps(cfg, 'Resize') if not s.get('keep_ratio', True)]
    assert crops == [(32, 32)] and {s.crop_size for s in _steps(cfg, 'CenterCrop')} == {32}
    assert not _steps(cfg, 'Flip')  # "stepping right" and "stepping left" are two classes
    assert cfg.model.test_cfg.average_clips == 'prob'


def test_synthetic_stgcn_config() -> None:
    cfg = Config.fromfile(OURS / 'synthetic' / 'stgcn_synthetic_pose.py')
    head = cfg.model.cls_head
    assert head.num_classes == len(SYNTHETIC_POSE_CLASSES) == 6
    assert cfg.model.backbone.graph_cfg.layout == 'coco'  # the 17 joints the set draws
    assert head.num_person == 1
    assert {s.num_person for s in _steps(cfg, 'FormatGCNInput')} == {1}
    assert [(s.clip_len, s.get('test_mode', False))
            for s in _steps(cfg, 'UniformSampleFrames')] == [(20, False), (20, True), (20, True)]
    height, width = IMG_SHAPE  # keypoints in pixels of that frame, scores in [0, 1]
    for step in _steps(cfg, 'PoseNormalize'):
        assert step.mean == (width / 2, height / 2, 0.5)
        assert (step.min_value, step.max_value) == ((0., 0., 0.), (width, height, 1.))
    assert len(_steps(cfg, 'PoseNormalize')) == 3
    assert not _steps(cfg, 'Flip')


def test_synthetic_audio_feature_config() -> None:
    cfg = Config.fromfile(
        OURS / 'synthetic' / 'audioonly_r50_48x1x1_synthetic_audio_feature.py')
    head, backbone = cfg.model.cls_head, cfg.model.backbone
    # rising, falling, up-down, down-up: benchmarks/audio_learning_check.py makes num_classes=4
    assert head.num_classes == 4
    assert (backbone.depth, backbone.in_channels) == (50, 1)  # one log-mel "channel"
    assert head.in_channels == backbone.base_channels * 32 == 256  # ResNet-50's 4th stage
    samplers = _steps(cfg, 'SampleFrames')
    assert [(s.clip_len, s.frame_interval, s.num_clips, s.get('test_mode', False))
            for s in samplers] == [(48, 1, 1, False), (48, 1, 1, True), (48, 1, 1, True)]
    # 2 s are 60 video frames and 126 feature rows: 48 frames cover int(48 * 126 / 60) = 100
    assert {s.fixed_length for s in _steps(cfg, 'AudioFeatureSelector')} == {100}
    assert {s.input_format for s in _steps(cfg, 'FormatAudioShape')} == {'NCTF'}
    assert cfg.model.test_cfg.average_clips == 'prob'
