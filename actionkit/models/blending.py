"""Mini-batch blending: mixup and cutmix, applied by a recognizer to each training batch.

A recognizer whose ``train_cfg`` holds ``blending=dict(type='MixupBlending', num_classes=400,
alpha=0.2)`` mixes every training batch before the forward pass; hard labels become soft ones.
The registry, ``BLENDINGS``, is in :mod:`actionkit.models.builder`; MMAction2 0.x code imports
it (and these classes) from ``actionkit.datasets``, which still gives them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.distributions.beta import Beta

from ..utils.checks import check_positive_int
from .builder import BLENDINGS

__all__ = ['BaseMiniBatchBlending', 'MixupBlending', 'CutmixBlending', 'RandomBatchAugment']


class BaseMiniBatchBlending:
    """Turn hard labels into one-hot ones and blend a batch (subclasses say how).

    Args:
        num_classes (int): the number of classes.
        alpha (float): the Beta(alpha, alpha) distribution the mixing ratio is drawn from.
    """

    def __init__(self, num_classes: int, alpha: float = 0.2) -> None:
        check_positive_int(type(self).__name__, 'num_classes', num_classes, minimum=2)
        if not alpha > 0:
            raise ValueError(f'{type(self).__name__}: alpha must be > 0, got {alpha!r}')
        self.num_classes = num_classes
        # the mixing ratio is drawn on the CPU whatever the default device (a model built
        # under torch.device('meta') or 'cuda' gets the same sampler)
        concentration = torch.tensor(float(alpha), device='cpu')
        self.beta = Beta(concentration, concentration)

    def __call__(self, imgs: torch.Tensor, label: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Blend ``imgs`` ``[B, N, C, (T,) H, W]`` and hard ``label`` ``[B, 1]``.

        Returns:
            The blended images (same shape) and soft labels ``[B, 1, num_classes]``.
        """
        if label.dtype.is_floating_point:
            raise TypeError(f'{type(self).__name__} takes hard (integer) labels, got {label.dtype}')
        one_hot = F.one_hot(label, num_classes=self.num_classes).to(imgs.dtype)
        return self.do_blending(imgs, one_hot)

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise TypeError(f'{type(self).__name__} does not define do_blending()')


@BLENDINGS.register_module()
class MixupBlending(BaseMiniBatchBlending):
    """mixup (https://arxiv.org/abs/1710.09412): ``lam * x + (1 - lam) * x[perm]``."""

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        lam = self.beta.sample()
        perm = torch.randperm(imgs.size(0), device=imgs.device)
        return lam * imgs + (1 - lam) * imgs[perm], lam * label + (1 - lam) * label[perm]


@BLENDINGS.register_module()
class CutmixBlending(BaseMiniBatchBlending):
    """CutMix (https://arxiv.org/abs/1905.04899): paste a box from another sample of the batch.

    The label weight is the area actually kept after the box is clipped to the frame.
    """

    @staticmethod
    def rand_bbox(img_size: torch.Size, lam: torch.Tensor) -> tuple[int, int, int, int]:
        height, width = img_size[-2], img_size[-1]
        cut = torch.sqrt(1.0 - lam)
        cut_w, cut_h = int(width * cut), int(height * cut)
        cx = int(torch.randint(width, (1,)))
        cy = int(torch.randint(height, (1,)))
        x1, x2 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
        y1, y2 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
        return x1, y1, x2, y2

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        perm = torch.randperm(imgs.size(0), device=imgs.device)
        x1, y1, x2, y2 = self.rand_bbox(imgs.size(), self.beta.sample())
        imgs = imgs.clone()
        imgs[..., y1:y2, x1:x2] = imgs[perm][..., y1:y2, x1:x2]
        kept = 1.0 - (x2 - x1) * (y2 - y1) / (imgs.size(-1) * imgs.size(-2))
        return imgs, kept * label + (1 - kept) * label[perm]


@BLENDINGS.register_module()
class RandomBatchAugment(BaseMiniBatchBlending):
    """MMAction2 1.x's random choice among batch blendings, once per batch.

    Args:
        augments (dict | list[dict]): the blending configs (``MixupBlending``,
            ``CutmixBlending``); all must have the same ``num_classes``.
        probs (float | list[float] | None): the probability of each blending; what they leave
            up to 1 is the probability of no blending (labels still become one-hot). None:
            the blendings are equally likely and one is always applied. Default: None.
    """

    def __init__(self, augments: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                 probs: float | Sequence[float] | None = None) -> None:
        if isinstance(augments, Mapping):
            augments = [augments]
        if not augments:
            raise ValueError('RandomBatchAugment: augments is empty')
        self.augments: list[BaseMiniBatchBlending | None] = [BLENDINGS.build(a) for a in augments]
        classes = {a.num_classes for a in self.augments}
        if len(classes) != 1:
            raise ValueError(f'RandomBatchAugment: the augments disagree on num_classes: '
                             f'{sorted(classes)}')
        self.num_classes = classes.pop()
        if probs is None:
            weights = [1.0] * len(self.augments)
        else:
            weights = [float(probs)] if isinstance(probs, (int, float)) else list(probs)
            if len(weights) != len(self.augments) or min(weights) < 0 or sum(weights) > 1:
                raise ValueError(f'RandomBatchAugment: probs must be {len(self.augments)} '
                                 f'non-negative numbers summing to at most 1, got {probs!r}')
            self.augments.append(None)
            weights.append(1.0 - sum(weights))
        self.probs = torch.tensor(weights, dtype=torch.float64)

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        choice = self.augments[int(torch.multinomial(self.probs, 1))]
        if choice is None:
            return imgs, label
        return choice.do_blending(imgs, label)
