"""Mixup and CutMix configured in ``train_cfg.blending`` really reach the loss: the batch the
network sees is blended, the head's loss gets the matching soft labels, and the loss value is
the soft-label cross-entropy of the scores, worked out here by hand.

Every sample of the batch is a constant image (0, 1 or 4), so the blending ratio and the
permutation can be read back from what the network receives, independently of how the
blending draws them.
"""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from actionkit.models import build_model

VALUES = (0.0, 1.0, 4.0)
LABELS = torch.tensor([[0], [1], [3]])
NUM_CLASSES = 4


def _model(blending: str) -> torch.nn.Module:
    model = build_model(dict(
        type='Recognizer2D', backbone=dict(type='ResNet', depth=18, base_channels=8),
        cls_head=dict(type='TSNHead', num_classes=NUM_CLASSES, in_channels=64),
        train_cfg=dict(blending=dict(type=blending, num_classes=NUM_CLASSES, alpha=0.8))))
    return model.train()


def _record(model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch) -> dict:
    seen: dict = {}
    forward_train, loss = model.forward_train, model.cls_head.loss

    def recording_forward_train(imgs, labels, **kwargs):
        seen['imgs'] = imgs.detach().clone()
        return forward_train(imgs, labels, **kwargs)

    def recording_loss(cls_score, labels, **kwargs):
        seen['score'], seen['labels'] = cls_score.detach().clone(), labels.detach().clone()
        return loss(cls_score, labels, **kwargs)

    monkeypatch.setattr(model, 'forward_train', recording_forward_train)
    monkeypatch.setattr(model.cls_head, 'loss', recording_loss)
    return seen


def _batch() -> torch.Tensor:
    return torch.stack([torch.full((2, 3, 16, 16), v) for v in VALUES])  # [B, segs, C, H, W]


def _soft(kept: float, perm: tuple[int, ...]) -> torch.Tensor:
    one_hot = F.one_hot(LABELS[:, 0], NUM_CLASSES).float()
    return kept * one_hot + (1 - kept) * one_hot[list(perm)]


def _run_until_blended(model, seen, is_blended):
    for seed in range(50):
        torch.manual_seed(seed)
        losses = model(_batch(), LABELS.clone())
        if is_blended(seen['imgs']):
            return losses
    raise AssertionError('the batch the network saw was never blended')


def _hand_loss(score: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    return -(soft * F.log_softmax(score, dim=1)).sum(dim=1).mean()


def test_mixup_batch_and_soft_labels_reach_the_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model('MixupBlending')
    seen = _record(model, monkeypatch)
    losses = _run_until_blended(model, seen, lambda imgs: not torch.equal(imgs, _batch()))
    means = seen['imgs'].flatten(1)
    assert torch.allclose(means, means[:, :1].expand_as(means))  # still constant per sample
    got = means[:, 0].tolist()
    # find the permutation and ratio with got[i] = lam * v[i] + (1 - lam) * v[perm[i]]
    fits = []
    for perm in itertools.permutations(range(3)):
        moved = [i for i in range(3) if perm[i] != i]
        if not moved:
            continue
        i = moved[0]
        lam = (got[i] - VALUES[perm[i]]) / (VALUES[i] - VALUES[perm[i]])
        if all(abs(lam * VALUES[k] + (1 - lam) * VALUES[perm[k]] - got[k]) < 1e-4
               for k in range(3)):
            fits.append((lam, perm))
    assert len(fits) == 1 and 0 < fits[0][0] < 1, fits
    lam, perm = fits[0]
    soft = _soft(lam, perm)
    assert seen['labels'].reshape(3, NUM_CLASSES) == pytest.approx(soft, abs=1e-5)
    expected = float(_hand_loss(seen['score'], soft))
    assert float(losses['loss_cls'].detach()) == pytest.approx(expected, rel=1e-5)


def test_cutmix_batch_and_soft_labels_reach_the_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model('CutmixBlending')
    seen = _record(model, monkeypatch)
    losses = _run_until_blended(model, seen, lambda imgs: not torch.equal(imgs, _batch()))
    imgs = seen['imgs']
    pasted = imgs != _batch()
    box = pasted.flatten(0, 2).any(0)  # [H, W]: the same box in every sample and frame
    assert box.any()
    # the box holds another sample's value; outside it each sample keeps its own
    perm = tuple(VALUES.index(float(imgs[i][..., box].unique())) if pasted[i].any() else i
                 for i in range(3))
    assert sorted(perm) == [0, 1, 2] and perm != (0, 1, 2)
    kept = 1.0 - float(box.float().mean())
    for i in range(3):
        assert torch.all(imgs[i][..., ~box] == VALUES[i])
    soft = _soft(kept, perm)
    assert seen['labels'].reshape(3, NUM_CLASSES) == pytest.approx(soft, abs=1e-5)
    expected = float(_hand_loss(seen['score'], soft))
    assert float(losses['loss_cls'].detach()) == pytest.approx(expected, rel=1e-5)
