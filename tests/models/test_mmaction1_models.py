"""MMAction2 1.x model dicts, the 1.x forward API, ActionDataPreprocessor and 1.x checkpoints."""
from __future__ import annotations

import math
import pickle
import sys
import types

import numpy as np
import pytest
import torch

from actionkit.models import build_model
from actionkit.models.backbones.vit_mae import VisionTransformer, sinusoid_table
from actionkit.models.blending import RandomBatchAugment
from actionkit.models.data_preprocessor import ActionDataPreprocessor
from actionkit.models.data_sample import ActionDataSample
from actionkit.models.weights import (MMEngineHistoryBuffer, UnsafeCheckpointError,
                                      checkpoint_version, load_checkpoint, read_checkpoint)

MEAN, STD = [10.0, 20.0, 30.0], [2.0, 4.0, 5.0]


def tsn(**extra):
    torch.manual_seed(0)
    cfg = dict(type='Recognizer2D',
               backbone=dict(type='ResNet', depth=18, pretrained=None, base_channels=8),
               cls_head=dict(type='TSNHead', num_classes=4, in_channels=64, dropout_ratio=0.0))
    cfg.update(extra)
    model = build_model(cfg)
    with torch.no_grad():  # scores far from uniform, so that a changed target moves the loss
        model.cls_head.fc_cls.weight.copy_(
            torch.randn(4, 64, generator=torch.Generator().manual_seed(0)))
    return model


def slowonly(**extra):
    torch.manual_seed(0)
    cfg = dict(type='Recognizer3D',
               backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None, base_channels=8),
               cls_head=dict(type='I3DHead', num_classes=5, in_channels=64, dropout_ratio=0.0,
                             average_clips='score'))
    cfg.update(extra)
    return build_model(cfg)


# ------------------------------------------------------------------ ActionDataPreprocessor
def test_preprocessor_normalises_channels_of_nchw_and_ncthw():
    # one sample, one view, 3 channels, 1 x 2 pixels: channel c holds (c+1) * 10 and 2 * that
    x = torch.tensor([[10, 20], [20, 40], [30, 60]], dtype=torch.uint8).reshape(1, 1, 3, 1, 2)
    out, _ = ActionDataPreprocessor(mean=MEAN, std=STD, format_shape='NCHW').preprocess(x)
    # (10-10)/2, (20-10)/2 | (20-20)/4, (40-20)/4 | (30-30)/5, (60-30)/5
    assert out.dtype == torch.float32
    assert out.flatten().tolist() == [0.0, 5.0, 0.0, 5.0, 0.0, 6.0]
    # NCTHW: channels at dim -4; the same numbers laid out [N, V, C, T=2, H=1, W=1]
    x3 = x.reshape(1, 1, 3, 2, 1, 1)
    out3, _ = ActionDataPreprocessor(mean=MEAN, std=STD, format_shape='NCTHW').preprocess(x3)
    assert out3.flatten().tolist() == [0.0, 5.0, 0.0, 5.0, 0.0, 6.0]
    # to_rgb reverses the channels before normalising: channel 0 now holds 30, 60
    flipped, _ = ActionDataPreprocessor(mean=MEAN, std=STD, to_rgb=True).preprocess(x)
    assert flipped.flatten().tolist() == [10.0, 25.0, 0.0, 5.0, -4.0, -2.0]


def test_preprocessor_stacks_lists_converts_without_stats_and_mixes_layouts():
    samples = [torch.full((2, 3, 4, 4), 7, dtype=torch.uint8) for _ in range(3)]
    out, _ = ActionDataPreprocessor().preprocess(samples)
    assert out.shape == (3, 2, 3, 4, 4) and out.dtype == torch.float32 and out.max() == 7
    mix = ActionDataPreprocessor(mean=MEAN, std=STD, format_shape='MIX2d3d')
    assert mix.preprocess(torch.full((1, 1, 3, 2, 2), 10.0))[0][0, 0, 0, 0, 0] == 0  # NCHW
    assert mix.preprocess(torch.full((1, 1, 3, 2, 2, 2), 30.0))[0][0, 0, 2, 0, 0, 0] == 0


@pytest.mark.parametrize('kwargs, message', [
    (dict(mean=MEAN), 'both mean and std'),
    (dict(mean=MEAN, std=[1.0, 0.0, 1.0]), 'std no zero'),
    (dict(format_shape='NTCHW'), 'format_shape must be one of'),
])
def test_preprocessor_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ActionDataPreprocessor(**kwargs)


def test_preprocessor_names_a_channel_mismatch_and_unequal_samples():
    pre = ActionDataPreprocessor(mean=MEAN, std=STD, format_shape='NCTHW')
    with pytest.raises(ValueError, match=r"has 8 channels .*check format_shape \('NCTHW'\)"):
        pre.preprocess(torch.zeros(1, 1, 3, 8, 4, 4).transpose(2, 3))  # C and T swapped
    with pytest.raises(ValueError, match='different shapes'):
        pre.preprocess([torch.zeros(1, 3, 2, 4, 4), torch.zeros(1, 3, 2, 5, 4)])


def test_random_batch_augment_validates_and_leaves_one_hot_labels_when_nothing_is_drawn():
    with pytest.raises(ValueError, match='summing to at most 1'):
        RandomBatchAugment([dict(type='MixupBlending', num_classes=4)], probs=[0.7, 0.6])
    with pytest.raises(ValueError, match='disagree on num_classes'):
        RandomBatchAugment([dict(type='MixupBlending', num_classes=4),
                            dict(type='CutmixBlending', num_classes=5)])
    never = RandomBatchAugment(dict(type='MixupBlending', num_classes=4), probs=0.0)
    imgs = torch.rand(2, 1, 3, 4, 4)
    out, label = never(imgs, torch.tensor([[1], [3]]))
    assert torch.equal(out, imgs)
    assert label.tolist() == [[[0, 1, 0, 0]], [[0, 0, 0, 1]]]


# ------------------------------------------------------------ 1.x model dicts, 0.x calls
def test_data_preprocessor_runs_in_the_0x_call_the_engine_makes():
    with_pre = tsn(data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD),
                   test_cfg=dict(average_clips='score'))
    plain = tsn(test_cfg=dict(average_clips='score'))
    plain.load_state_dict(with_pre.state_dict())
    with_pre.eval(), plain.eval()
    raw = torch.randint(0, 256, (2, 3, 3, 32, 32), dtype=torch.uint8)
    normed = (raw.float() - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    np.testing.assert_allclose(with_pre(raw, return_loss=False),
                               plain(normed, return_loss=False), rtol=1e-5, atol=1e-6)
    # the statistics are not checkpoint entries (as in 1.x): the state dicts have equal keys
    assert set(with_pre.state_dict()) == set(plain.state_dict())


def test_preprocessor_blending_reaches_the_loss():
    label = torch.tensor([[1], [3], [0], [2]])
    raw = torch.randint(0, 256, (4, 3, 3, 32, 32), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    losses = {}
    for prob in (0.0, 1.0):
        model = tsn(data_preprocessor=dict(
            type='ActionDataPreprocessor', mean=MEAN, std=STD,
            blending=dict(type='RandomBatchAugment', probs=[prob],
                          augments=[dict(type='MixupBlending', num_classes=4, alpha=0.2)])))
        torch.manual_seed(1)
        losses[prob] = model(raw, label, return_loss=True)
    plain = tsn(data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD))
    hard = plain(raw, label, return_loss=True)
    # nothing drawn: one-hot targets, the same cross-entropy as hard labels (and no accuracy
    # is logged for soft targets, as in 1.x); mixup drawn: another loss
    assert 'top1_acc' not in losses[0.0] and 'top1_acc' in hard
    assert torch.allclose(losses[0.0]['loss_cls'], hard['loss_cls'], atol=1e-6)
    assert not torch.allclose(losses[1.0]['loss_cls'], hard['loss_cls'], atol=1e-4)


def test_blending_in_train_cfg_and_data_preprocessor_is_refused():
    mixup = dict(type='MixupBlending', num_classes=4)
    with pytest.raises(ValueError, match='both in train_cfg .* and in data_preprocessor'):
        tsn(train_cfg=dict(blending=mixup),
            data_preprocessor=dict(type='ActionDataPreprocessor', blending=mixup))


def test_head_average_clips_is_used_unless_test_cfg_sets_it():
    model = slowonly()
    model.eval()
    clips = torch.rand(2, 3, 3, 4, 32, 32)
    per_view = model(clips, mode='tensor', stage='head').detach()  # [N * V, classes]
    scores = model(clips, return_loss=False)
    np.testing.assert_allclose(scores, per_view.reshape(2, 3, 5).mean(1).numpy(), rtol=1e-5)
    model.test_cfg = dict(average_clips='prob')  # 0.x's place wins
    probs = model(clips, return_loss=False)
    np.testing.assert_allclose(probs.sum(1), [1.0, 1.0], rtol=1e-5)
    with pytest.raises(ValueError, match="cls_head.average_clips must be 'score', 'prob'"):
        slowonly(cls_head=dict(type='I3DHead', num_classes=5, in_channels=64,
                               average_clips='mean'))


# ------------------------------------------------------------------- the 1.x forward API
def test_mode_tensor_stages_and_predict_and_loss_of_a_2d_recognizer():
    model = tsn(test_cfg=dict(average_clips='prob'))
    model.eval()
    x = torch.rand(2, 3, 3, 32, 32)  # 2 samples of 3 segments
    assert model(x, mode='tensor').shape == (6, 64, 1, 1)  # backbone features per frame
    assert model(x, mode='tensor', stage='neck').shape == (6, 64, 1, 1)  # no neck: the same
    head = model(x, None, 'tensor', stage='head')  # positional 1.x call
    assert head.shape == (2, 4)  # TSN's consensus over the segments
    samples = model(x, [ActionDataSample(), ActionDataSample()], mode='predict')
    expected = model(x, return_loss=False)
    for sample, row in zip(samples, expected):
        np.testing.assert_allclose(sample.pred_score.numpy(), row, rtol=1e-6)
        assert sample.pred_label.tolist() == [int(row.argmax())]
        assert sample.metainfo['num_classes'] == 4
    model.train()
    labelled = [ActionDataSample().set_gt_label(1), ActionDataSample().set_gt_label(3)]
    torch.manual_seed(0)
    loss_v1 = model(x, labelled, mode='loss')
    torch.manual_seed(0)
    loss_v0 = model(x, torch.tensor([[1], [3]]), return_loss=True)
    assert torch.equal(loss_v1['loss_cls'], loss_v0['loss_cls'])


def test_mode_api_refusals():
    model = slowonly()
    x = torch.rand(1, 1, 3, 4, 32, 32)
    with pytest.raises(ValueError, match="mode must be one of .*got 'train'"):
        model(x, mode='train')
    with pytest.raises(ValueError, match="stage must be one of .*got 'cls_head'"):
        model(x, mode='tensor', stage='cls_head')
    with pytest.raises(ValueError, match='data_samples\\[1\\] has no gt_label'):
        model(torch.rand(2, 1, 3, 4, 32, 32), [ActionDataSample().set_gt_label(0),
                                               ActionDataSample()], mode='loss')


def test_action_data_sample_formats_labels_as_1x_does():
    assert ActionDataSample().set_gt_label(np.int64(4)).gt_label.tolist() == [4]
    assert ActionDataSample().set_gt_label([1, 2]).gt_label.dtype == torch.long
    soft = torch.tensor([0.25, 0.75])
    assert ActionDataSample().set_gt_label(soft).gt_label is soft
    sample = ActionDataSample().set_pred_score(np.array([0.2, 0.8]))
    with pytest.raises(ValueError, match='pred_score has 3 entries but num_classes is 2'):
        sample.set_pred_score([0.1, 0.2, 0.7])


# ---------------------------------------------------------------- VisionTransformer (VideoMAE)
def test_sinusoid_table_by_hand():
    table = sinusoid_table(3, 4)[0]  # rates 1, 1, 1/100, 1/100
    p = 2.0
    assert table.shape == (3, 4)
    np.testing.assert_allclose(table[2].numpy(), [math.sin(p), math.cos(p), math.sin(p / 100),
                                                  math.cos(p / 100)], rtol=1e-6)
    assert table[0].tolist() == [0.0, 1.0, 0.0, 1.0]


def test_vision_transformer_keys_shapes_and_outputs():
    vit = VisionTransformer(img_size=32, patch_size=8, embed_dims=24, depth=2, num_heads=3,
                            num_frames=4, tubelet_size=2, init_values=0.1)
    keys = set(vit.state_dict())
    for key in ('patch_embed.projection.weight', 'pos_embed', 'blocks.1.attn.q_bias',
                'blocks.1.attn.v_bias', 'blocks.0.attn.qkv.weight',
                'blocks.0.mlp.layers.0.0.weight', 'blocks.0.mlp.layers.1.bias',
                'blocks.0.gamma_1', 'fc_norm.weight'):
        assert key in keys, key
    assert 'blocks.0.attn.qkv.bias' not in keys  # q and v biases only, as VideoMAE
    assert vit.pos_embed.shape == (1, 2 * 4 * 4, 24)
    vit.init_weights()
    vit.eval()
    x = torch.rand(2, 3, 4, 32, 32)
    assert vit(x).shape == (2, 24)
    assert vit(torch.rand(1, 3, 4, 48, 48)).shape == (1, 24)  # position table interpolated
    vit.return_feat_map = True
    assert vit(x).shape == (2, 24, 2, 4, 4)
    with pytest.raises(ValueError, match='give clips of num_frames frames'):
        vit(torch.rand(1, 3, 6, 32, 32))


def test_vision_transformer_attention_ignores_a_key_bias():
    # shifting every key by the same vector changes no softmax row: a k bias would do nothing,
    # which is why VideoMAE has none; the q bias does change the output
    vit = VisionTransformer(img_size=16, patch_size=8, embed_dims=8, depth=1, num_heads=2,
                            num_frames=2, tubelet_size=2)
    vit.init_weights()
    vit.eval()
    x = torch.rand(1, 3, 2, 16, 16)
    before = vit(x)
    with torch.no_grad():
        vit.blocks[0].attn.q_bias.add_(0.5)
    assert not torch.allclose(before, vit(x))


# ------------------------------------------------------------------------ 1.x checkpoints
def _fake_mmengine_history_buffer():
    """A class that pickles under mmengine's name, with a statistics method stored as
    ``getattr(HistoryBuffer, 'mean')`` as mmengine's instances do."""
    module = types.ModuleType('mmengine.logging.history_buffer')

    class HistoryBuffer:
        @classmethod
        def mean(cls):
            return 0.0

        def __init__(self):
            self._log_history = np.array([1.5, 1.25])
            self.statistics_methods = {'mean': HistoryBuffer.mean}

    HistoryBuffer.__module__ = module.__name__
    HistoryBuffer.__qualname__ = 'HistoryBuffer'
    module.HistoryBuffer = HistoryBuffer
    return module


@pytest.fixture
def mmengine_checkpoint(tmp_path, monkeypatch):
    module = _fake_mmengine_history_buffer()
    for name in ('mmengine', 'mmengine.logging'):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, module.__name__, module)

    def save(model, path, **meta):
        from collections import Counter
        torch.save(dict(meta=dict(mmengine_version='0.10.7', epoch=3, **meta),
                        state_dict=model.state_dict(),
                        message_hub=dict(log_scalars={'train/loss': module.HistoryBuffer()},
                                         runtime_info={'epoch': 3}),
                        optimizer=dict(state={}, param_groups=[]),
                        param_schedulers=[dict(milestones=Counter([2]), gamma=0.1)]),
                   str(path))
        return str(path)
    return save


def test_mmengine_checkpoint_loads_strict_without_unpickling_code(tmp_path, mmengine_checkpoint):
    source = slowonly()
    path = mmengine_checkpoint(source, tmp_path / 'v1.pth')
    sys.modules.pop('mmengine.logging.history_buffer')  # as here: mmengine not installed
    checkpoint = read_checkpoint(path)
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, MMEngineHistoryBuffer)
    assert buffer._log_history.tolist() == [1.5, 1.25]
    assert buffer.statistics_methods == {'mean': 'mean'}
    assert checkpoint['param_schedulers'][0]['milestones'] == {2: 1}
    assert checkpoint_version(checkpoint) == '1.x'
    target = slowonly(data_preprocessor=dict(type='ActionDataPreprocessor'))
    load_checkpoint(target, path, strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(value, target.state_dict()[key]), key


def test_getattr_in_a_checkpoint_is_refused_for_anything_but_history_buffers(tmp_path):
    from collections import Counter

    class Payload:
        def __reduce__(self):
            return getattr, (Counter, 'update')
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, str(path))
    with pytest.raises(UnsafeCheckpointError, match='needs full unpickling'):
        read_checkpoint(str(path))


def test_version_mismatch_says_which_is_which(tmp_path, mmengine_checkpoint):
    other = tsn()  # a 2D model's checkpoint ...
    path = mmengine_checkpoint(other, tmp_path / 'tsn_v1.pth',
                               cfg="model = dict(type='Recognizer2D', backbone=dict("
                                   "type='ResNet', depth=18))")
    with pytest.raises(RuntimeError) as err:  # ... into a 3D model built the 0.x way
        load_checkpoint(slowonly(), path, strict=True)
    text = str(err.value)
    assert 'MMAction2 1.x checkpoint (mmengine layout' in text
    assert 'built from an MMAction2 0.x config' in text and "backbone: 'ResNet'" in text
    # the reverse: an mmcv (0.x) checkpoint into a model with a 1.x data_preprocessor
    torch.save(dict(meta=dict(mmcv_version='1.7.0'), state_dict=other.state_dict()),
               str(tmp_path / 'tsn_v0.pth'))
    with pytest.raises(RuntimeError, match='MMAction2 0.x checkpoint .*MMAction2 1.x config'):
        load_checkpoint(slowonly(data_preprocessor=dict(type='ActionDataPreprocessor')),
                        str(tmp_path / 'tsn_v0.pth'), strict=True)
    # same version: the plain strict message, no hint
    with pytest.raises(RuntimeError) as same:
        load_checkpoint(slowonly(), str(tmp_path / 'tsn_v0.pth'), strict=True)
    assert 'MMAction2 0.x checkpoint' not in str(same.value)


def test_1x_names_of_audio_parts_build_the_same_modules():
    model = build_model(dict(
        type='RecognizerAudio',
        backbone=dict(type='ResNet', depth=18, in_channels=1, pretrained=None, base_channels=8),
        cls_head=dict(type='TSNAudioHead', num_classes=3, in_channels=64, average_clips='prob')))
    assert type(model).__name__ == 'AudioRecognizer'
    assert type(model.cls_head).__name__ == 'AudioTSNHead'
    model.eval()
    samples = model(torch.rand(2, 2, 1, 32, 16), mode='predict')
    assert [s.pred_score.shape for s in samples] == [(3,), (3,)]
    np.testing.assert_allclose([float(s.pred_score.sum()) for s in samples], [1, 1], rtol=1e-5)


def test_pickled_results_stay_plain(tmp_path):
    # ActionDataSample results can be pickled for --dump like 1.x's
    sample = ActionDataSample().set_pred_score(torch.tensor([0.1, 0.9]))
    again = pickle.loads(pickle.dumps(sample))
    assert again.pred_score.tolist() == pytest.approx([0.1, 0.9])


def test_c2d_runs_the_resnet_per_frame_and_halves_the_frames_once():
    from actionkit.models.backbones.c2d import C2D
    from actionkit.models.backbones.resnet import ResNet
    torch.manual_seed(0)
    c2d = C2D(depth=18, pretrained=None, base_channels=8)
    c2d.init_weights()
    c2d.eval()
    assert 'maxpool3d_1' in dict(c2d.named_modules()) and 'conv1.conv.weight' in c2d.state_dict()
    x = torch.rand(2, 3, 8, 64, 64)
    out = c2d(x)
    # stem /2, unpadded 3x3 pool /2 (31 -> 15 rows), then /2 three times: 15 -> 8 -> 4 -> 2
    assert out.shape == (2, 64, 4, 2, 2)
    # a frame repeated in time: C2D's output frames equal a 2D ResNet's stages on that frame
    # with the same weights, up to the unpadded stem pool (compared up to layer1 here)
    frame = x[:, :, :1].repeat(1, 1, 8, 1, 1)
    resnet = ResNet(depth=18, pretrained=None, base_channels=8)
    resnet.load_state_dict(c2d.state_dict())
    resnet.eval()
    with torch.no_grad():
        stem = torch.nn.functional.max_pool2d(resnet.conv1(x[:, :, 0]), 3, 2)
        expected = resnet.layer4(resnet.layer3(resnet.layer2(resnet.layer1(stem))))
        got = c2d(frame)
    for t in range(4):
        torch.testing.assert_close(got[:, :, t], expected, rtol=1e-5, atol=1e-5)


def test_test_step_preprocesses_a_1x_batch_and_predicts():
    model = tsn(data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD),
                test_cfg=dict(average_clips='prob'))
    model.eval()
    raw = [torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8) for _ in range(2)]
    samples = model.test_step(dict(inputs=raw, data_samples=[ActionDataSample().set_gt_label(2),
                                                            ActionDataSample()]))
    expected = model(torch.stack(raw), return_loss=False)  # the 0.x call, preprocessed too
    np.testing.assert_allclose(torch.stack([s.pred_score for s in samples]).numpy(), expected,
                               rtol=1e-6)
    assert samples[0].gt_label.tolist() == [2]


def test_gradcam_scores_see_the_normalised_input():
    with_pre = tsn(data_preprocessor=dict(type='ActionDataPreprocessor', mean=MEAN, std=STD),
                   test_cfg=dict(average_clips='score'))
    plain = tsn(test_cfg=dict(average_clips='score'))
    plain.load_state_dict(with_pre.state_dict())
    with_pre.eval(), plain.eval()
    raw = torch.randint(0, 256, (1, 3, 3, 32, 32), dtype=torch.uint8)
    normed = (raw.float() - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    torch.testing.assert_close(with_pre(raw, gradcam=True), plain(normed, gradcam=True))
