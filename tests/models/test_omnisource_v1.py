"""OmniSource 1.x: ``RecognizerOmni``, ``OmniResNet`` and ``OmniHead``, with 1.x's keys."""
from __future__ import annotations

import pytest
import torch

from actionkit.models import build_model
from actionkit.models.backbones.resnet_omni import OmniResNet, inflate_2d_state_dict
from actionkit.models.data_preprocessor import ActionDataPreprocessor
from actionkit.models.data_sample import ActionDataSample

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def omni(layers=(1, 1, 1, 1), image_classes=7, video_classes=5, **head):
    """The OmniSource config's model, smaller (stages and classes)."""
    torch.manual_seed(0)
    model = build_model(dict(
        type='RecognizerOmni', backbone=dict(type='OmniResNet', layers=list(layers)),
        cls_head=dict(type='OmniHead', image_classes=image_classes,
                      video_classes=video_classes, in_channels=2048, average_clips='prob',
                      **head),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD,
                               format_shape='MIX2d3d')))
    return model.eval()


def v1_keys(layers, nl_head=True):
    """1.x's state-dict keys, written out from resnet_omni.py / omni_head.py's modules."""
    bn = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
    keys = ['backbone.conv1.weight'] + [f'backbone.bn1.{p}' for p in bn]
    for stage, blocks in enumerate(layers, 1):
        for b in range(blocks):
            pre = f'backbone.layer{stage}.{b}.'
            keys += [pre + f'conv{i}.weight' for i in (1, 2, 3)]
            keys += [pre + f'bn{i}.{p}' for i in (1, 2, 3) for p in bn]
            if b == 0:  # every stage's first block changes channels (or stride)
                keys += [pre + 'downsample.0.weight'] + [pre + f'downsample.1.{p}' for p in bn]
    keys += [f'cls_head.fc2d.2.{p}' for p in bn] + ['cls_head.fc2d.4.weight',
                                                     'cls_head.fc2d.4.bias']
    linear = ['weight', 'bias']
    if nl_head:  # pool, flatten, linear, BN, ReLU, dropout, linear
        keys += [f'cls_head.fc3d.2.{p}' for p in linear] + [f'cls_head.fc3d.3.{p}' for p in bn]
        keys += [f'cls_head.fc3d.6.{p}' for p in linear]
    else:  # pool, flatten, BN, dropout, linear
        keys += [f'cls_head.fc3d.2.{p}' for p in bn] + [f'cls_head.fc3d.4.{p}' for p in linear]
    return keys


def v1_parameter_count(layers, image_classes, video_classes):
    """Parameters of 1.x's model, by hand: 3D bottlenecks (``3 x 1 x 1`` first kernels in
    stages 3 and 4), BN weight + bias, the two head branches (non-linear video branch)."""
    total = 3 * 64 * 49 + 2 * 64
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        tk = 1 if stage < 2 else 3
        for b in range(blocks):
            total += inplanes * planes * tk + planes * planes * 9 + planes * 4 * planes
            total += 2 * (planes + planes + 4 * planes)
            if b == 0:
                total += inplanes * 4 * planes + 2 * 4 * planes
            inplanes = 4 * planes
    total += 2 * 2048 + 2048 * image_classes + image_classes
    hidden = 2 * video_classes
    total += 2048 * hidden + hidden + 2 * hidden + hidden * video_classes + video_classes
    return total


def test_the_omnisource_config_has_1x_parameters_and_keys():
    model = omni(layers=(3, 4, 6, 3), image_classes=1000, video_classes=400)
    assert sum(p.numel() for p in model.parameters()) == v1_parameter_count(
        (3, 4, 6, 3), 1000, 400) == 35648792  # what 1.2.0 builds from the config
    assert sorted(model.state_dict()) == sorted(v1_keys((3, 4, 6, 3)))
    sd = model.state_dict()
    assert sd['backbone.layer2.0.conv1.weight'].shape == (128, 256, 1, 1, 1)
    assert sd['backbone.layer3.0.conv1.weight'].shape == (256, 512, 3, 1, 1)
    assert model.backbone.bn1.momentum == 0.01
    assert model.cls_head.average_clips == 'prob'


def test_a_1x_keyed_state_dict_loads_strictly():
    model = omni(video_nl_head=False)
    gen = torch.Generator().manual_seed(1)
    state = {k: (torch.rand(v.shape, generator=gen) if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    assert sorted(state) == sorted(v1_keys((1, 1, 1, 1), nl_head=False))
    fresh = omni(video_nl_head=False)
    fresh.load_state_dict(state, strict=True)
    assert torch.equal(fresh.cls_head.fc3d[4].weight, state['cls_head.fc3d.4.weight'])
    with pytest.raises(RuntimeError, match='fc3d.6.weight'):  # the non-linear head's keys
        omni().load_state_dict(state, strict=True)


def test_image_and_video_shapes_in_every_mode():
    model = omni()
    image, clip = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 4, 64, 64)
    with torch.no_grad():
        assert model(image, mode='tensor').shape == (2, 2048, 2, 2)
        assert model(clip, mode='tensor').shape == (2, 2048, 4, 2, 2)
        assert model(image, mode='tensor', stage='head').shape == (2, 7)
        assert model(clip, mode='tensor', stage='head').shape == (2, 5)
        # 1.x predict: one dict per source; three views of each video are averaged
        samples = model(dict(inputs=torch.rand(2, 3, 3, 4, 64, 64),
                             data_samples=[ActionDataSample(), ActionDataSample()]),
                        mode='predict')
        assert [tuple(s.pred_score.shape) for s in samples] == [(5,), (5,)]
        assert torch.allclose(samples[0].pred_score.sum(), torch.tensor(1.0))  # 'prob'
        # actionkit's 0.x call: images [N, V, C, H, W], videos [N, V, C, T, H, W]
        assert model(torch.rand(2, 1, 3, 64, 64) * 255, return_loss=False).shape == (2, 7)
        assert model(torch.rand(2, 2, 3, 4, 64, 64) * 255, return_loss=False).shape == (2, 5)
    with pytest.raises(ValueError, match='4D .NCHW. or 5D'):
        model(torch.rand(1, 1, 3, 4, 64, 64), mode='tensor')


def _labelled(labels):
    out = []
    for label in labels:
        sample = ActionDataSample()
        sample.set_gt_label(torch.tensor([label]))
        out.append(sample)
    return out


def test_loss_names_each_source_and_the_0x_call_normalises():
    model = omni()
    video, image = torch.rand(2, 1, 3, 4, 64, 64), torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        losses = model(dict(inputs=video, data_samples=_labelled([0, 4])),
                       dict(inputs=image, data_samples=_labelled([6, 1, 2])), mode='loss')
        assert sorted(losses) == sorted(f'{k}_{i}' for k in ('loss_cls', 'top1_acc',
                                                              'top5_acc') for i in (0, 1))
        # the image loss by hand: cross entropy of the image branch's scores
        scores = model.cls_head(model.backbone(image))
        expected = torch.nn.functional.cross_entropy(scores, torch.tensor([6, 1, 2]))
        assert torch.allclose(losses['loss_cls_1'], expected)
        # the 0.x call runs the MIX2d3d preprocessor first: raw pixels give the scores of
        # the normalised batch
        raw = torch.rand(2, 1, 3, 64, 64) * 255
        normalised = (raw - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
        direct = model(dict(inputs=normalised[:, 0], data_samples=None), mode='predict')
        assert torch.allclose(torch.from_numpy(model(raw, return_loss=False)),
                              torch.stack([s.pred_score for s in direct]), atol=1e-6)
        train = model(raw, torch.tensor([[3], [4]]), return_loss=True)
        assert sorted(train) == ['loss_cls', 'top1_acc', 'top5_acc']
    with pytest.raises(ValueError, match='one view per sample'):
        model(dict(inputs=torch.rand(2, 2, 3, 4, 64, 64), data_samples=_labelled([0, 1])),
              mode='loss')


def test_an_image_runs_through_the_3d_kernels_summed_over_time():
    """The 2D route equals the 3D route on the middle frame of a clip of the image repeated
    5 times: stages 3 and 4 (one block each here) have ``3 x 1 x 1`` kernels, so the middle
    frame sees two frames either side, all equal, and a 3-tap kernel on equal frames is the
    sum of its taps. (Using only the middle tap, or averaging, would differ.)"""
    torch.manual_seed(0)
    backbone = OmniResNet(layers=[1, 1, 1, 1]).eval()
    with torch.no_grad():
        for module in backbone.modules():  # non-trivial BN statistics
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
        image = torch.rand(1, 3, 64, 64)
        as_image = backbone(image)
        as_clip = backbone(image.unsqueeze(2).expand(-1, -1, 5, -1, -1).contiguous())
    assert as_image.shape == (1, 2048, 2, 2) and as_clip.shape == (1, 2048, 5, 2, 2)
    assert torch.allclose(as_image, as_clip[:, :, 2], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(as_image, as_clip[:, :, 0], rtol=1e-4, atol=1e-5)  # edge frame


def test_2d_kernels_are_inflated_over_the_frames():
    own = {'conv1.weight': torch.zeros(2, 1, 1, 1, 1), 'l.weight': torch.zeros(2, 1, 3, 1, 1),
           'bn.bias': torch.zeros(2)}
    merged = inflate_2d_state_dict(own, {'l.weight': torch.tensor([[[[3.0]]], [[[6.0]]]]),
                                         'bn.bias': torch.tensor([1.0, 2.0]),
                                         'fc.weight': torch.ones(1)})
    assert merged['l.weight'][:, 0, :, 0, 0].tolist() == [[1.0] * 3, [2.0] * 3]
    assert merged['bn.bias'].tolist() == [1.0, 2.0] and 'fc.weight' not in merged
    assert torch.equal(merged['conv1.weight'], own['conv1.weight'])


def test_mix2d3d_normalises_1x_image_batches_at_their_channel_dim():
    pre = ActionDataPreprocessor(mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 5.0],
                                 format_shape='MIX2d3d')
    image = torch.tensor([10.0, 28.0, 40.0]).view(1, 3, 1, 1)  # [N, C, H, W]
    assert pre.preprocess(image)[0].flatten().tolist() == [0.0, 2.0, 2.0]


def test_pretrain_2d_reads_a_2d_resnet_file_and_inflates_it(tmp_path):
    torch.manual_seed(0)
    stem, wide = torch.rand(64, 3, 7, 7), torch.rand(256, 1024, 1, 1)
    path = tmp_path / 'resnet50_2d.pth'
    torch.save({'state_dict': {'conv1.weight': stem, 'layer3.1.conv1.weight': wide,
                               'bn1.running_var': torch.full((64,), 4.0),
                               'fc.weight': torch.rand(1000, 2048)}}, path)
    backbone = OmniResNet(layers=[1, 2, 2, 1], pretrain_2d=str(path))
    assert torch.equal(backbone.conv1.weight[:, :, 0], stem)  # temporal size 1: as it is
    inflated = backbone.layer3[1].conv1.weight  # [256, 1024, 3, 1, 1]: a third per frame
    assert torch.allclose(inflated[:, :, 1], wide / 3) and torch.allclose(inflated.sum(2), wide)
    assert backbone.bn1.running_var.tolist() == [4.0] * 64
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        OmniResNet(layers=[1, 1, 1, 1], pretrain_2d=str(tmp_path / 'missing.pth'))


def test_init_cfg_pretrained_loads_a_recognizers_backbone_entries(tmp_path):
    source = omni()
    with torch.no_grad():
        source.backbone.layer4[0].conv2.weight.fill_(0.25)
    path = tmp_path / 'omni_1x.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    backbone = OmniResNet(layers=[1, 1, 1, 1], init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    assert not torch.equal(backbone.layer4[0].conv2.weight, source.backbone.layer4[0].conv2.weight)
    backbone.init_weights()
    assert torch.equal(backbone.layer4[0].conv2.weight, source.backbone.layer4[0].conv2.weight)
    with pytest.raises(ValueError, match='unknown init_cfg type'):
        OmniResNet(init_cfg=dict(type='Pretrain', checkpoint=str(path)))


def test_train_step_on_both_sources_reaches_every_parameter():
    """The zoo smoke test's promise for RecognizerOmni: a video batch and an image batch
    together train the 3D and 2D kernels and both heads."""
    model = omni(layers=(1, 1, 1, 1)).train()
    losses = model(dict(inputs=torch.rand(2, 1, 3, 4, 32, 32), data_samples=_labelled([0, 4])),
                   dict(inputs=torch.rand(2, 3, 32, 32), data_samples=_labelled([6, 1])),
                   mode='loss')
    total = losses['loss_cls_0'] + losses['loss_cls_1']
    assert torch.isfinite(total)
    total.backward()
    missing = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing
