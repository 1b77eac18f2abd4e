"""Tests of checkpoint loading (actionkit.models.weights) and MMAction2 0.x key compatibility."""
import logging
import os
from argparse import Namespace

import numpy as np
import pytest
import torch
from torch import nn

from actionkit.models import build_model
from actionkit.models.weights import (CheckpointError, UnsafeCheckpointError, read_checkpoint,
                                      get_state_dict, load_checkpoint, load_state_dict,
                                      resolve_pretrained)

BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
R50_STAGES = (3, 4, 6, 3)


def _conv_module(prefix, shape):
    """The keys mmcv's ConvModule (conv without bias + BN) gives, with their shapes."""
    keys = {f'{prefix}.conv.weight': shape}
    keys.update({f'{prefix}.bn.{n}': (() if n == 'num_batches_tracked' else (shape[0],))
                 for n in BN_KEYS})
    return keys


def expected_r50_keys(num_classes=400, tsm=False):
    """The state-dict keys and shapes of MMAction2 0.x's TSN-R50 / TSM-R50 (blockres)."""
    conv1_conv = 'conv.net' if tsm else 'conv'
    keys = {f'backbone.{k}': v for k, v in _conv_module('conv1', (64, 3, 7, 7)).items()}
    inplanes = 64
    for stage, blocks in enumerate(R50_STAGES):
        planes = 64 * 2 ** stage
        for b in range(blocks):
            p = f'backbone.layer{stage + 1}.{b}'
            block_in = inplanes if b == 0 else planes * 4
            for key, shape in _conv_module(f'{p}.conv1', (planes, block_in, 1, 1)).items():
                keys[key.replace('conv1.conv.', f'conv1.{conv1_conv}.')] = shape
            keys.update(_conv_module(f'{p}.conv2', (planes, planes, 3, 3)))
            keys.update(_conv_module(f'{p}.conv3', (planes * 4, planes, 1, 1)))
            if b == 0:
                keys.update(_conv_module(f'{p}.downsample', (planes * 4, block_in, 1, 1)))
        inplanes = planes * 4
    keys['cls_head.fc_cls.weight'] = (num_classes, 2048)
    keys['cls_head.fc_cls.bias'] = (num_classes,)
    return keys


def tsn_r50_cfg(backbone='ResNet', head='TSNHead', pretrained=None, num_classes=400):
    return dict(type='Recognizer2D',
                backbone=dict(type=backbone, pretrained=pretrained, depth=50, norm_eval=False),
                cls_head=dict(type=head, num_classes=num_classes, in_channels=2048),
                train_cfg=None, test_cfg=dict(average_clips=None))


def torchvision_resnet50_state_dict():
    """Keys as torchvision names them; every tensor a distinct view of one small storage."""
    shapes = {'conv1.weight': (64, 3, 7, 7)}
    shapes.update({f'bn1.{n}': (64,) for n in BN_KEYS[:4]})
    inplanes = 64
    for stage, blocks in enumerate(R50_STAGES):
        planes = 64 * 2 ** stage
        for b in range(blocks):
            p = f'layer{stage + 1}.{b}'
            block_in = inplanes if b == 0 else planes * 4
            shapes[f'{p}.conv1.weight'] = (planes, block_in, 1, 1)
            shapes[f'{p}.conv2.weight'] = (planes, planes, 3, 3)
            shapes[f'{p}.conv3.weight'] = (planes * 4, planes, 1, 1)
            for i, width in ((1, planes), (2, planes), (3, planes * 4)):
                shapes.update({f'{p}.bn{i}.{n}': (width,) for n in BN_KEYS[:4]})
            if b == 0:
                shapes[f'{p}.downsample.0.weight'] = (planes * 4, block_in, 1, 1)
                shapes.update({f'{p}.downsample.1.{n}': (planes * 4,) for n in BN_KEYS[:4]})
        inplanes = planes * 4
    shapes['fc.weight'], shapes['fc.bias'] = (1000, 2048), (1000,)
    largest = max(int(np.prod(s)) for s in shapes.values())
    storage = torch.rand(largest + 3 * len(shapes)) + 0.5  # positive: valid running_var
    return {key: storage[3 * i:3 * i + int(np.prod(shape))].view(shape)
            for i, (key, shape) in enumerate(shapes.items())}


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    folder = tmp_path / 'torch' / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    return folder


def small_tsn(num_classes=5):
    # two stages of ResNet-18 (128 output channels): small files, fast builds
    backbone = dict(type='ResNet', depth=18, num_stages=2, out_indices=(1,), strides=(1, 2),
                    dilations=(1, 1))
    return build_model(dict(type='Recognizer2D', backbone=backbone,
                            cls_head=dict(type='TSNHead', num_classes=num_classes,
                                          in_channels=128),
                            test_cfg=dict(average_clips=None)))


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], msg=key)


@pytest.mark.parametrize('tsm', [False, True])
def test_r50_state_dict_matches_mmaction2(tsm, tmp_path):
    cfg = tsn_r50_cfg('ResNetTSM', 'TSMHead') if tsm else tsn_r50_cfg()
    model = build_model(cfg)
    expected = expected_r50_keys(tsm=tsm)
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert actual == expected
    # a few keys literally, as they appear in MMAction2 0.x checkpoints
    for key in ('backbone.conv1.conv.weight', 'backbone.conv1.bn.running_mean',
                'backbone.layer1.0.downsample.conv.weight', 'backbone.layer1.0.downsample.bn.bias',
                'cls_head.fc_cls.weight'):
        assert key in actual
    assert ('backbone.layer1.0.conv1.conv.net.weight' if tsm
            else 'backbone.layer1.0.conv1.conv.weight') in actual

    # saved in mmcv's layout by a DDP model, it loads strictly into a fresh model
    path = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {'epoch': 1, 'mmcv_version': '1.6.0', 'hook_msgs': {
        'best_score': np.float64(0.71)}},
        'state_dict': {f'module.{k}': v for k, v in model.state_dict().items()},
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.01}]}}, path)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():  # reuse the model (building R50 is slow) with other weights
        for value in model.state_dict().values():
            value.zero_()
    checkpoint = load_checkpoint(model, str(path), strict=True)
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['hook_msgs']['best_score'] == pytest.approx(0.71)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, saved[key], msg=key)


def test_torchvision_resnet50_from_hub_cache(torch_home, caplog):
    tv = torchvision_resnet50_state_dict()
    torch.save(tv, torch_home / 'resnet50-0676ba61.pth')
    assert resolve_pretrained('torchvision://resnet50') == str(torch_home / 'resnet50-0676ba61.pth')
    with caplog.at_level(logging.INFO):
        model = build_model(tsn_r50_cfg(pretrained='torchvision://resnet50'))
    backbone = model.backbone.state_dict()
    pairs = {'conv1.conv.weight': 'conv1.weight', 'conv1.bn.running_var': 'bn1.running_var',
             'layer1.0.conv1.conv.weight': 'layer1.0.conv1.weight',
             'layer1.0.conv2.bn.bias': 'layer1.0.bn2.bias',
             'layer3.5.conv3.bn.running_mean': 'layer3.5.bn3.running_mean',
             'layer4.0.downsample.conv.weight': 'layer4.0.downsample.0.weight',
             'layer4.0.downsample.bn.weight': 'layer4.0.downsample.1.weight'}
    for ours, theirs in pairs.items():
        torch.testing.assert_close(backbone[ours], tv[theirs], msg=ours)
    # every backbone tensor came from the file (all tv values are > 0.5; fresh init is not)
    for key, value in backbone.items():
        if not key.endswith('num_batches_tracked'):
            assert value.min() >= 0.5, key
    assert 'fc.weight' in caplog.text  # reported as unused

    # TSM: the shift wrappers do not get in the way
    tsm = build_model(tsn_r50_cfg('ResNetTSM', 'TSMHead', pretrained='torchvision://resnet50'))
    torch.testing.assert_close(tsm.backbone.layer2[1].conv1.conv.net.weight,
                               tv['layer2.1.conv1.weight'])


def test_missing_hub_file_error(torch_home):
    with pytest.raises(FileNotFoundError) as info:
        build_model(tsn_r50_cfg(pretrained='torchvision://resnet50'))
    message = str(info.value)
    assert 'resnet50-0676ba61.pth' in message
    assert str(torch_home) in message
    assert 'ACTIONKIT_OFFLINE' in message


def test_url_resolved_from_hub_cache(torch_home):
    url = 'https://download.openmmlab.com/mmaction/recognition/tsn/tsn_x.pth'
    with pytest.raises(FileNotFoundError, match='tsn_x.pth'):
        resolve_pretrained(url)
    (torch_home / 'tsn_x.pth').write_bytes(b'')
    assert resolve_pretrained(url) == str(torch_home / 'tsn_x.pth')
    with pytest.raises(ValueError, match="unknown open-mmlab checkpoint 'resnet50_caffe'"):
        resolve_pretrained('open-mmlab://resnet50_caffe')
    with pytest.raises(ValueError, match='unsupported'):
        resolve_pretrained('s3://bucket/resnet50.pth')
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        resolve_pretrained('/nowhere.pth')


def test_shape_mismatch_strict_and_not(tmp_path, caplog):
    source = small_tsn(num_classes=400)
    path = tmp_path / 'k400.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    target = small_tsn(num_classes=10)
    before = target.cls_head.fc_cls.weight.clone()
    with pytest.raises(RuntimeError) as info:
        load_checkpoint(target, str(path), strict=True)
    assert 'cls_head.fc_cls.weight (checkpoint [400, 128], model [10, 128])' in str(info.value)
    torch.testing.assert_close(target.cls_head.fc_cls.weight, before)  # nothing loaded

    with caplog.at_level(logging.WARNING):
        load_checkpoint(target, str(path), strict=False)
    assert '[400, 128]' in caplog.text and '[10, 128]' in caplog.text
    torch.testing.assert_close(target.cls_head.fc_cls.weight, before)
    torch.testing.assert_close(target.backbone.layer2[0].conv1.conv.weight,
                               source.backbone.layer2[0].conv1.conv.weight)


def test_load_state_dict_report():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    state = {'0.weight': torch.ones(3, 2), '0.bias': torch.ones(4), 'extra': torch.ones(1)}
    report = load_state_dict(model, state, strict=False)
    assert report.unexpected_keys == ['extra']
    assert report.shape_mismatches == [('0.bias', (4,), (3,))]
    assert '1.weight' in report.missing_keys
    assert not any('num_batches_tracked' in k for k in report.missing_keys)
    assert torch.all(model[0].weight == 1)


def test_safetensors_round_trip(tmp_path):
    safetensors_torch = pytest.importorskip('safetensors.torch')
    source = small_tsn()
    path = tmp_path / 'model.safetensors'
    safetensors_torch.save_file({k: v.contiguous() for k, v in source.state_dict().items()},
                                str(path))
    target = small_tsn()
    checkpoint = load_checkpoint(target, str(path), strict=True)
    assert 'state_dict' in checkpoint
    _assert_same_weights(target, source)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_malicious_pickle_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Evil(marker)}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(small_tsn(), str(path))
    message = str(info.value)
    assert str(path) in message and 'allow_pickle=True' in message
    assert '--allow-pickle' in message and 'execute' in message
    assert not marker.exists()


def test_allow_pickle_opt_in(tmp_path):
    path = tmp_path / 'namespace.pth'
    state = small_tsn().state_dict()
    torch.save({'state_dict': state, 'meta': {'args': Namespace(lr=0.1)}}, path)
    with pytest.raises(UnsafeCheckpointError):
        read_checkpoint(str(path))
    checkpoint = read_checkpoint(str(path), allow_pickle=True)
    assert checkpoint['meta']['args'].lr == 0.1


def test_truncated_and_garbage_files(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save({'state_dict': small_tsn().state_dict()}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='cut.pth.*truncated or corrupt'):
        load_checkpoint(small_tsn(), str(path))
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError, match='garbage.pth'):
        read_checkpoint(str(garbage))
    cut_st = tmp_path / 'cut.safetensors'
    cut_st.write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a":')
    pytest.importorskip('safetensors')
    with pytest.raises(CheckpointError, match='cut.safetensors'):
        read_checkpoint(str(cut_st))


def test_plain_state_dict_and_revise_keys(tmp_path):
    source = small_tsn()
    path = tmp_path / 'plain.pth'
    torch.save({f'model.{k}': v for k, v in source.state_dict().items()}, path)
    target = small_tsn()
    load_checkpoint(target, str(path), strict=True, revise_keys=[(r'^model\.', '')])
    _assert_same_weights(target, source)


def test_get_state_dict_unwraps_data_parallel():
    model = small_tsn()
    keys = list(get_state_dict(nn.DataParallel(model)))
    assert keys == list(model.state_dict())


def test_pretrained_2d_checkpoint_into_tsm(tmp_path, caplog):
    cfg = dict(type='ResNet', depth=18)
    plain = build_model(dict(type='Recognizer2D', backbone=cfg,
                             cls_head=dict(type='TSNHead', num_classes=3, in_channels=512)))
    path = tmp_path / 'r18.pth'
    torch.save({'state_dict': plain.state_dict()}, path)  # a whole TSN: backbone.* keys
    with caplog.at_level(logging.WARNING):
        tsm = build_model(dict(type='Recognizer2D', backbone=dict(
            type='ResNetTSM', depth=18, pretrained=str(path), torchvision_pretrain=False),
            cls_head=dict(type='TSMHead', num_classes=3, in_channels=512)))
    assert 'not loaded' not in caplog.text  # every backbone key found its wrapped name
    torch.testing.assert_close(tsm.backbone.layer1[0].conv1.conv.net.weight,
                               plain.backbone.layer1[0].conv1.conv.weight)


def test_numpy1_meta_loads_weights_only(tmp_path):
    """Checkpoints written under numpy 1 name numpy.core.* in their pickle; they still load."""
    import zipfile
    modern = tmp_path / 'modern.pth'
    torch.save({'meta': {'hook_msgs': {'best_score': np.float64(0.7)}},
                'state_dict': {'w': torch.ones(2)}}, modern)
    legacy = tmp_path / 'legacy.pth'
    with zipfile.ZipFile(modern) as zin, zipfile.ZipFile(legacy, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('data.pkl'):
                data = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
            zout.writestr(item, data)
    checkpoint = read_checkpoint(str(legacy))
    assert checkpoint['meta']['hook_msgs']['best_score'] == pytest.approx(0.7)
