"""Smoke tests over the model zoo.

* Every registered backbone runs forward and backward on a tiny clip, and every parameter that
  should learn gets a gradient.
* Every registered recognizer runs a training step (forward, losses, backward), a test forward
  and ``forward_dummy`` on a tiny clip.
* Every shipped config under ``configs/recognition`` builds, and its model maps the config's
  own test input shape to ``[1, num_classes]`` (checked on the ``meta`` device: shapes only,
  no memory, no compute).

A registered name whose inputs the generic cases cannot make runs the test named in
``ELSEWHERE`` instead; one with neither is skipped with a message asking for a spec.
"""
import importlib.util
from pathlib import Path

import pytest
import torch

from actionkit.config import Config
from actionkit.models import BACKBONES, RECOGNIZERS, C3D, build_model, turn_off_pretrained
from actionkit.models.recognizers.base import parse_losses

CONFIG_ROOT = Path(__file__).resolve().parents[2] / 'configs' / 'recognition'

_SLOW = dict(type='resnet3d', depth=18, pretrained=None, lateral=True, base_channels=16,
             conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1))
_FAST = dict(type='resnet3d', depth=18, pretrained=None, lateral=False, base_channels=2,
             conv1_kernel=(5, 7, 7))
_SWIN_ARCH = dict(embed_dims=8, depths=[1, 1], num_heads=[1, 2])

# registered name -> [(backbone config, input shape, head config)]: the head is the one a
# Recognizer uses with that backbone, sized for its output
TINY_BACKBONES = {
    'ResNet': [(dict(type='ResNet', depth=18), (2, 3, 32, 32),
                dict(type='TSNHead', in_channels=512))],
    'ResNetTSM': [(dict(type='ResNetTSM', depth=18, num_segments=2), (4, 3, 32, 32),
                   dict(type='TSMHead', in_channels=512, num_segments=2))],
    'ResNet3d': [(dict(type='ResNet3d', depth=18, pretrained=None, base_channels=8,
                       conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2),
                  (2, 3, 8, 32, 32), dict(type='I3DHead', in_channels=64))],
    'ResNet3dSlowOnly': [(dict(type='ResNet3dSlowOnly', depth=18, pretrained=None,
                               base_channels=8), (2, 3, 4, 32, 32),
                          dict(type='I3DHead', in_channels=64))],
    'ResNet3dSlowFast': [(dict(type='ResNet3dSlowFast', pretrained=None, slow_pathway=_SLOW,
                               fast_pathway=_FAST), (2, 3, 8, 32, 32),
                          dict(type='SlowFastHead', in_channels=128 + 16))],
    'ResNet2Plus1d': [(dict(type='ResNet2Plus1d', depth=18, pretrained=None, base_channels=8,
                            temporal_strides=(1, 2, 2, 2)), (2, 3, 8, 32, 32),
                       dict(type='I3DHead', in_channels=64))],
    'ResNet3dCSN': [(dict(type='ResNet3dCSN', depth=50, pretrained=None, pretrained2d=False,
                          stage_blocks=(1, 1, 1, 1), base_channels=4, bottleneck_mode=mode),
                     (2, 3, 8, 32, 32), dict(type='I3DHead', in_channels=128))
                    for mode in ('ir', 'ip')],
    'ResNetAudio': [(dict(type='ResNetAudio', depth=50, base_channels=4), (4, 1, 16, 16),
                     dict(type='AudioTSNHead', in_channels=128))],
    'C3D': [(dict(type='C3D', out_dim=C3D.flat_dim(16, 32, 32)), (2, 3, 16, 32, 32),
             dict(type='I3DHead', in_channels=4096, spatial_type=None))],
    'X3D': [(dict(type='X3D', gamma_w=0.5, gamma_b=1.5), (2, 3, 4, 32, 32),
             dict(type='X3DHead', in_channels=192))],
    'TimeSformer': [(dict(type='TimeSformer', num_frames=2, img_size=32, patch_size=16,
                          embed_dims=16, num_heads=2, num_transformer_layers=2,
                          attention_type=kind), (2, 3, 2, 32, 32),
                     dict(type='TimeSformerHead', in_channels=16))
                    for kind in ('divided_space_time', 'space_only', 'joint_space_time')],
    'MViT': [(dict(type='MViT', arch=dict(embed_dims=8, num_layers=3, num_heads=1,
                                          downscale_indices=[1, 2]), spatial_size=32,
                   temporal_size=4, out_scales=[1, 2], **variant), (2, 3, 4, 32, 32),
              dict(type='MViTHead', in_channels=32, with_cls_token=not variant))
             for variant in (dict(), dict(with_cls_token=False, output_cls_token=False))],
    'UniFormer': [(dict(type='UniFormer', depth=[1, 1, 1, 1], embed_dim=[8, 16, 32, 64],
                        head_dim=16), (2, 3, 4, 32, 32), dict(type='I3DHead', in_channels=64))],
    'UniFormerV2': [(dict(type='UniFormerV2', input_resolution=32, patch_size=16, width=16,
                          layers=2, heads=2, t_size=4, no_lmhra=False, double_lmhra=True,
                          return_list=[0, 1], n_layers=2, n_dim=16, n_head=2,
                          clip_pretrained=False), (2, 3, 4, 32, 32),
                     dict(type='UniFormerHead', in_channels=16))],
    # MMAction2 1.x's
    'C2D': [(dict(type='C2D', depth=18), (2, 3, 4, 32, 32), dict(type='I3DHead', in_channels=512))],
    'VisionTransformer': [(dict(type='VisionTransformer', img_size=32, patch_size=16,
                                embed_dims=16, depth=2, num_heads=2, num_frames=4, tubelet_size=2,
                                drop_path_rate=0.1), (2, 3, 4, 32, 32),
                           dict(type='TimeSformerHead', in_channels=16))],
    'OmniResNet': [(dict(type='OmniResNet', layers=(1, 1, 1, 1)), (2, 3, 4, 32, 32),
                    dict(type='I3DHead', in_channels=2048))],
    'MobileNetV2': [(dict(type='MobileNetV2', widen_factor=0.25), (2, 3, 32, 32),
                     dict(type='TSNHead', in_channels=1280))],
    'MobileNetV2TSM': [(dict(type='MobileNetV2TSM', widen_factor=0.25, num_segments=2),
                        (4, 3, 32, 32), dict(type='TSMHead', in_channels=1280, num_segments=2))],
    'ResNetTIN': [(dict(type='ResNetTIN', depth=18, num_segments=2, base_channels=16),
                   (4, 3, 32, 32), dict(type='TSMHead', in_channels=128, num_segments=2,
                                        is_shift=False))],
    'TANet': [(dict(type='TANet', depth=50, num_segments=3, base_channels=8), (6, 3, 32, 32),
               dict(type='TSMHead', in_channels=256, num_segments=3))],
    'SwinTransformer3D': [(dict(type='SwinTransformer3D', arch=_SWIN_ARCH, pretrained2d=False,
                                window_size=(2, 4, 4), out_indices=(1,)), (2, 3, 4, 32, 32),
                           dict(type='I3DHead', in_channels=16))],
    # skeletons [N, C, T, V, M]; the head averages the M persons
    'STGCN': [(dict(type='STGCN', in_channels=3, graph_cfg=dict(layout=layout, strategy=kind)),
               (2, 3, 8, nodes, 2), dict(type='STGCNHead', in_channels=256, num_person=2))
              for layout, nodes, kind in (('coco', 17, 'spatial'), ('ntu-rgb+d', 25, 'uniform'),
                                          ('openpose-18', 18, 'distance'),
                                          ('ntu_edge', 24, 'spatial'))],
    'AGCN': [(dict(type='AGCN', in_channels=3, graph_cfg=dict(layout='ntu-rgb+d',
                                                              strategy='agcn')),
              (2, 3, 8, 25, 1), dict(type='STGCNHead', in_channels=256, num_person=1))],
}
_GCN_BACKBONES = ('STGCN', 'AGCN')


SLOW_BACKBONES = ('C3D',)  # 78M parameters whatever the input: a few seconds per case


def _cases(registry, specs):
    for name in sorted(registry.module_dict):
        if not registry.module_dict[name].__module__.startswith('actionkit.'):
            continue  # a stand-in that another test module registered while being collected
        for i, spec in enumerate(specs.get(name, [None])):
            kind = spec[0]['type'] if spec else name
            label = name if kind == name else f'{name}-{kind}'
            yield pytest.param(name, spec, id=f'{label}-{i}',
                               marks=[pytest.mark.slow] if kind in SLOW_BACKBONES else [])


# registered names whose inputs the generic cases above cannot make (two streams, two
# sources, 1.x skeleton batches): the test that makes the same promise for them
ELSEWHERE = {
    'RGBPoseConv3D': ('test_skeleton_v1.py', 'test_rgbpose_train_step_reaches_every_parameter'),
    'MMRecognizer3D': ('test_skeleton_v1.py', 'test_rgbpose_train_step_reaches_every_parameter'),
    'RecognizerGCN': ('test_skeleton_v1.py',
                      'test_recognizer_gcn_train_step_reaches_every_parameter'),
    'RecognizerOmni': ('test_omnisource_v1.py',
                       'test_train_step_on_both_sources_reaches_every_parameter'),
}


def _require(name, spec, what):
    if spec is None and name in ELSEWHERE:
        filename, test = ELSEWHERE[name]
        loaded = importlib.util.spec_from_file_location(f'zoo_{Path(filename).stem}',
                                                        Path(__file__).parent / filename)
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
        getattr(module, test)()  # no fixtures: run it here
        return False
    if spec is None:
        pytest.skip(f'{what} {name!r} is registered but has no tiny spec in '
                    f'tests/models/test_zoo_smoke.py; add one')
    return True


def _outputs(features):
    if isinstance(features, (tuple, list)):  # MViT: a tuple of [patch tokens, cls token]
        return tuple(t for f in features for t in _outputs(f))
    return (features,)


@pytest.mark.parametrize('name,spec', list(_cases(BACKBONES, TINY_BACKBONES)))
def test_backbone_forward_backward(name, spec):
    if not _require(name, spec, 'backbone'):
        return
    cfg, shape, _ = spec
    torch.manual_seed(0)
    model = BACKBONES.build(cfg)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    model.train()
    features = _outputs(model(torch.rand(shape)))
    assert all(torch.isfinite(f).all() for f in features)
    sum(f.mean() for f in features).backward()
    missing = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f'{name}: parameters without a gradient: {missing}'


_2D_BACKBONES = ('ResNet', 'ResNetTSM', 'ResNetTIN', 'MobileNetV2', 'MobileNetV2TSM',
                 'TANet')
RECOGNIZER_SPECS = {
    'Recognizer3D': [(backbone, shape, head) for name, specs in TINY_BACKBONES.items()
                     if name not in _2D_BACKBONES + _GCN_BACKBONES + ('ResNetAudio',
                                                                      'OmniResNet')
                     for backbone, shape, head in specs],
    'AudioRecognizer': TINY_BACKBONES['ResNetAudio'],  # [N, clips, 1, T, F] as 2D's input
    'RecognizerAudio': TINY_BACKBONES['ResNetAudio'],  # MMAction2 1.x's name
    'SkeletonGCN': [spec for name in _GCN_BACKBONES for spec in TINY_BACKBONES[name]],
    'Recognizer2D': [spec for name in _2D_BACKBONES for spec in TINY_BACKBONES[name]]
    + [(dict(type='ResNet', depth=18), (4, 3, 32, 32),
        dict(type='TRNHead', in_channels=512, num_segments=2))],
}


@pytest.mark.parametrize('name,spec', list(_cases(RECOGNIZERS, RECOGNIZER_SPECS)))
def test_recognizer_train_test_and_dummy(name, spec):
    if not _require(name, spec, 'recognizer'):
        return
    backbone, shape, head = spec
    torch.manual_seed(0)
    num_classes = 3
    model = build_model(dict(type=name, backbone=backbone,
                             cls_head=dict(head, num_classes=num_classes),
                             test_cfg=dict(average_clips='prob')))
    if name == 'Recognizer3D':  # [N, views, C, T, H, W]; one view per sample to train
        imgs = torch.rand(shape).unsqueeze(1)
    elif name == 'SkeletonGCN':  # [N, C, T, V, M]
        imgs = torch.rand(shape)
    else:  # [N, frames, C, H, W] (audio: [N, clips, 1, T, F])
        imgs = torch.rand(shape).reshape(2, shape[0] // 2, *shape[1:])
    loss, log_vars = parse_losses(model(imgs, torch.tensor([[0], [2]])))
    loss.backward()
    assert torch.isfinite(loss) and 'top1_acc' in log_vars
    missing = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f'{name}: parameters without a gradient: {missing}'

    model.eval()
    scores = model(imgs, return_loss=False)
    assert scores.shape == (2, num_classes)
    (dummy,) = model.forward_dummy(imgs)
    assert dummy.shape[1] == num_classes and torch.isfinite(dummy).all()


# ------------------------------------------------------------------ shipped configs
CONFIGS = sorted(CONFIG_ROOT.glob('*/*.py'))


def _test_input(cfg):
    """``[1, views, ...]`` for one view of the config's validation (or test) pipeline."""
    split = cfg.data.get('val') or cfg.data['test']
    steps = {step['type']: step for step in split['pipeline']}
    sampling = steps.get('SampleFrames') or steps['DenseSampleFrames']
    crop = next(steps[k]['crop_size'] for k in ('CenterCrop', 'ThreeCrop', 'TenCrop')
                if k in steps)
    if steps['FormatShape']['input_format'] == 'NCTHW':
        return (1, 1, 3, sampling['clip_len'], crop, crop)
    return (1, sampling['num_clips'] * sampling['clip_len'], 3, crop, crop)


def test_configs_are_shipped():
    shipped = {path.parent.name for path in CONFIGS}
    assert {'i3d', 'slowonly', 'slowfast', 'r2plus1d', 'c3d', 'x3d', 'csn', 'timesformer',
            'swin', 'trn', 'tanet', 'tin', 'tpn'} <= shipped


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: f'{p.parent.name}/{p.stem}')
def test_config_builds_and_maps_its_input_to_scores(path):
    cfg = Config.fromfile(str(path))
    turn_off_pretrained(cfg.model)  # names checkpoints this machine does not have
    if cfg.model.get('cls_head') is None:  # a feature extractor (clip_feature_extraction.py)
        assert cfg.model.test_cfg.feature_extraction is True
        with torch.device('meta'):
            features = build_model(cfg.model)._do_test(torch.empty(_test_input(cfg)))
        assert tuple(features.shape) == (1, 2048)  # ResNet-50's pooled features, one video
        return
    with torch.device('meta'):
        model = build_model(cfg.model)
        (scores,) = model.forward_dummy(torch.empty(_test_input(cfg)))
    assert type(model).__name__ == cfg.model.type
    assert type(model.backbone).__name__ == cfg.model.backbone.type
    assert tuple(scores.shape) == (1, cfg.model.cls_head.num_classes)
