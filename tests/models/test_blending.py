import pytest
import torch

from actionkit.models.builder import BLENDINGS


def _batch(b=6, classes=5):
    imgs = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1, 1, 1)
    imgs = imgs.expand(b, 2, 3, 2, 8, 8).clone()
    label = torch.arange(b).remainder(classes).view(b, 1)
    return imgs, label


def test_mixup_mixes_images_and_labels_with_one_ratio():
    torch.manual_seed(0)
    blend = BLENDINGS.build(dict(type='MixupBlending', num_classes=6, alpha=0.2))
    imgs, label = _batch(classes=6)  # sample i is the constant i and has label i
    mixed, soft = blend(imgs, label)
    assert mixed.shape == imgs.shape and soft.shape == (6, 1, 6)
    assert torch.allclose(soft.sum(-1), torch.ones(6, 1))
    # the image mix and the label mix use the same ratio and partner
    expected = (soft[:, 0] * torch.arange(6.0)).sum(-1)
    assert torch.allclose(mixed[:, 0, 0, 0, 0, 0], expected, atol=1e-5)
    assert torch.allclose(mixed, mixed[:, :1, :1, :1, :1, :1].expand_as(mixed))


def test_cutmix_label_weight_equals_pasted_area():
    torch.manual_seed(1)
    blend = BLENDINGS.build(dict(type='CutmixBlending', num_classes=6, alpha=1.0))
    imgs, label = _batch(classes=6)
    mixed, soft = blend(imgs, label)
    for i in range(6):
        own = imgs[i, 0, 0, 0, 0, 0]
        kept_pixels = (mixed[i, 0, 0, 0] == own).float().mean()
        if soft[i, 0].max() < 1:  # the partner differs
            assert torch.isclose(soft[i, 0, label[i, 0]], kept_pixels, atol=1e-6)
    assert torch.allclose(soft.sum(-1), torch.ones(6, 1))


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_classes'):
        BLENDINGS.build(dict(type='MixupBlending', num_classes=1))
    with pytest.raises(ValueError, match='alpha'):
        BLENDINGS.build(dict(type='CutmixBlending', num_classes=3, alpha=0))
    with pytest.raises(TypeError, match='hard'):
        BLENDINGS.build(dict(type='MixupBlending', num_classes=3))(torch.zeros(2, 1, 3, 4, 4),
                                                                  torch.zeros(2, 1))


def test_recognizer_uses_blending_from_train_cfg():
    from actionkit.models import build_model
    model = build_model(dict(
        type='Recognizer2D', backbone=dict(type='ResNet', depth=18, base_channels=8),
        cls_head=dict(type='TSNHead', num_classes=4, in_channels=64),
        train_cfg=dict(blending=dict(type='MixupBlending', num_classes=4, alpha=0.2))))
    losses = model(torch.randn(2, 3, 3, 32, 32), torch.tensor([[1], [2]]))
    assert torch.isfinite(losses['loss_cls'])


def test_mmaction_import_paths_give_the_models_registry():
    """MMAction2 0.x code imports BLENDINGS and the classes from the datasets package."""
    import actionkit.datasets as datasets
    import actionkit.datasets.builder as data_builder
    from actionkit.models.blending import CutmixBlending, MixupBlending

    assert datasets.BLENDINGS is BLENDINGS and data_builder.BLENDINGS is BLENDINGS
    assert datasets.MixupBlending is MixupBlending and datasets.CutmixBlending is CutmixBlending
    assert BLENDINGS.get('CutmixBlending') is CutmixBlending
    with pytest.raises(AttributeError, match='NoSuchBlending'):
        datasets.NoSuchBlending  # noqa: B018
