"""GradCAM (actionkit.analysis.gradcam) on tiny 2D and 3D recognizers: the localization map is
checked against MMAction2 0.24.1's definition computed by hand with torch.autograd.grad (no
hooks), and the blending against its formula."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from actionkit.analysis.gradcam import GradCAM
from actionkit.config import Config
from actionkit.models import build_model

pytest.importorskip('matplotlib')

NORM = dict(mean=[100.0, 110.0, 120.0], std=[50.0, 60.0, 70.0], to_bgr=False)


def _tsn():
    torch.manual_seed(0)
    model = build_model(dict(
        type='Recognizer2D',
        backbone=dict(type='ResNet', depth=18, num_stages=2, out_indices=(1, ), strides=(1, 2),
                      dilations=(1, 1)),
        cls_head=dict(type='TSNHead', num_classes=5, in_channels=128),
        test_cfg=dict(average_clips=None)))
    model.cfg = Config(dict(img_norm_cfg=NORM))
    return model.eval()


def _slowonly():
    torch.manual_seed(0)
    model = build_model(dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None, base_channels=8),
        cls_head=dict(type='I3DHead', num_classes=4, in_channels=64),
        test_cfg=dict(average_clips='prob')))
    # no img_norm_cfg: taken from the test pipeline's Normalize
    model.cfg = Config(dict(data=dict(test=dict(pipeline=[dict(type='Normalize', **NORM)]))))
    return model.eval()


def _manual_map(model, layer, imgs, class_index, b, t, h, w, two_d):
    """MMAction2's map from the layer's output and d score / d output, without hooks."""
    seen = []
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out))
    scores = model(imgs.clone().requires_grad_(True), gradcam=True)
    handle.remove()
    score = scores[torch.arange(len(scores)), class_index].sum()
    act = seen[-1]
    grad = torch.autograd.grad(score, act)[0]
    if not two_d:  # [b, c, tg, h', w'] -> [b, tg, c, h', w']
        act, grad = act.permute(0, 2, 1, 3, 4), grad.permute(0, 2, 1, 3, 4)
    tg = act.shape[0] // b if two_d else act.shape[1]
    c = act.shape[1] if two_d else act.shape[2]
    act = act.reshape(b, tg, c, *act.shape[-2:]).detach()
    weights = grad.reshape(b, tg, c, -1).mean(-1)[..., None, None]
    cam = torch.relu((weights * act).sum(2))  # [b, tg, h', w']
    cam = F.interpolate(cam[:, None], size=(t, h, w), mode='trilinear', align_corners=False)[:, 0]
    low = cam.reshape(b, -1).min(1)[0].reshape(b, 1, 1, 1)
    high = cam.reshape(b, -1).max(1)[0].reshape(b, 1, 1, 1)
    return (cam - low) / (high - low + 1e-20), scores.detach()


def test_2d_map_and_blending_follow_mmaction2():
    model = _tsn()
    imgs = torch.randn(2, 3, 3, 16, 16)  # [B, T, C, H, W]
    gradcam = GradCAM(model, 'backbone/layer2/1/conv2')
    blended, preds = gradcam(dict(imgs=imgs, label=torch.tensor([1, 3])))
    top = preds.argmax(1)
    expected, scores = _manual_map(model, model.backbone.layer2[1].conv2, imgs, top, 2, 3, 16,
                                   16, two_d=True)
    torch.testing.assert_close(preds.detach(), scores)
    cam, _ = gradcam._calculate_localization_map(dict(imgs=imgs), use_labels=False)
    assert cam.shape == (2, 3, 16, 16)
    torch.testing.assert_close(cam, expected, rtol=1e-5, atol=1e-6)
    assert torch.allclose(cam.reshape(2, -1).max(1)[0], torch.ones(2))
    # blending: alpha * viridis(map) + (1 - alpha) * (imgs * std + mean) / 255
    import matplotlib
    heat = torch.from_numpy(matplotlib.colormaps['viridis'](cam.numpy())[..., :3])
    frames = (imgs.permute(0, 1, 3, 4, 2) * torch.tensor(NORM['std'])
              + torch.tensor(NORM['mean'])) / 255.
    assert blended.shape == (2, 3, 16, 16, 3)
    torch.testing.assert_close(blended, 0.5 * heat + 0.5 * frames.double(), rtol=1e-5,
                               atol=1e-6)
    only_frames, _ = gradcam(dict(imgs=imgs), alpha=0.0)
    torch.testing.assert_close(only_frames, frames.double(), rtol=1e-5, atol=1e-6)


def test_use_labels_explains_the_given_class():
    model = _tsn()
    imgs = torch.randn(1, 2, 3, 16, 16)
    gradcam = GradCAM(model, 'backbone.layer2.1.conv2')  # dotted names work too
    _, preds = gradcam(dict(imgs=imgs))
    other = int(preds.argmin(1))
    cam, _ = gradcam._calculate_localization_map(dict(imgs=imgs,
                                                      label=torch.tensor([[other]])), True)
    expected, _ = _manual_map(model, model.backbone.layer2[1].conv2, imgs,
                              torch.tensor([other]), 1, 2, 16, 16, two_d=True)
    torch.testing.assert_close(cam, expected, rtol=1e-5, atol=1e-6)


def test_3d_map_covers_every_clip_and_frame():
    model = _slowonly()
    imgs = torch.randn(1, 2, 3, 4, 32, 32)  # [B, clips, C, T, H, W]
    layer = model.backbone.layer4[1].conv2.conv
    gradcam = GradCAM(model, 'backbone/layer4/1/conv2/conv')
    blended, preds = gradcam(dict(imgs=imgs), alpha=0.3)
    assert preds.shape == (1, 4) and blended.shape == (2, 4, 32, 32, 3)
    top = preds.argmax(1)
    # Recognizer3D folds the clips into the batch: b = B * clips = 2 maps
    expected, _ = _manual_map(model, layer, imgs, top, 2, 4, 32, 32, two_d=False)
    cam, _ = gradcam._calculate_localization_map(dict(imgs=imgs), use_labels=False)
    torch.testing.assert_close(cam, expected, rtol=1e-5, atol=1e-6)
    import matplotlib
    heat = torch.from_numpy(matplotlib.colormaps['viridis'](cam.numpy())[..., :3])
    # clip k of the batch is blended frame by frame: [B * clips, T, H, W, C]
    frames = (imgs[0].permute(0, 2, 3, 4, 1) * torch.tensor(NORM['std'])
              + torch.tensor(NORM['mean'])) / 255.
    torch.testing.assert_close(blended, 0.3 * heat + 0.7 * frames.double(), rtol=1e-5,
                               atol=1e-6)


def test_gradcam_errors():
    model = _tsn()
    with pytest.raises(ValueError, match="no layer 'backbone/layer9'.*children"):
        GradCAM(model, 'backbone/layer9')
    with pytest.raises(TypeError, match='Recognizer2D and Recognizer3D'):
        GradCAM(torch.nn.Linear(2, 2), 'weight')
    model.cfg = Config(dict())
    with pytest.raises(ValueError, match='img_norm_cfg'):
        GradCAM(model, 'backbone/layer2')
    with pytest.raises(ValueError, match='alpha'):
        GradCAM(_tsn(), 'backbone/layer2')(dict(imgs=torch.randn(1, 1, 3, 16, 16)), alpha=2)
