"""The 3D recognizer (I3D, SlowFast, X3D, TimeSformer, Swin …): one backbone pass per clip.

Input ``imgs`` is ``[N, V, C, T, H, W]``: ``N`` samples of ``V = num_clips * num_crops`` views,
each a ``C x T x H x W`` clip. The views are folded into the batch for the backbone
(``[N * V, C, T, H, W]``); at test time the head's scores of a sample's views are averaged
(``test_cfg.average_clips``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..builder import RECOGNIZERS
from .base import BaseRecognizer
from .foreign import is_foreign

__all__ = ['Recognizer3D']


@RECOGNIZERS.register_module()
class Recognizer3D(BaseRecognizer):
    """3D recognizer; see :class:`BaseRecognizer` for the arguments.

    ``test_cfg`` keys: ``average_clips`` ('score', 'prob' or None), ``max_testing_views``
    (run the backbone on at most this many clips at a time, to bound memory),
    ``feature_extraction`` (return backbone features averaged over views, ``[N, C]``).

    Example:
        >>> model = Recognizer3D(
        ...     backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None,
        ...                   base_channels=8),
        ...     cls_head=dict(type='I3DHead', num_classes=5, in_channels=64),
        ...     test_cfg=dict(average_clips='prob'))
        >>> model(torch.rand(2, 3, 3, 4, 32, 32), return_loss=False).shape
        (2, 5)
    """

    def __init__(self, backbone: Any, cls_head: Any = None, neck: Any = None,
                 train_cfg: Any = None, test_cfg: Any = None,
                 data_preprocessor: Any = None) -> None:
        if is_foreign(backbone):
            raise ValueError(f"Recognizer3D: backbone type {backbone['type']!r}: torchvision and "
                             'timm backbones give pooled image features and work with '
                             'Recognizer2D only (as in MMAction2)')
        super().__init__(backbone, cls_head, neck, train_cfg, test_cfg, data_preprocessor)

    def _fold(self, imgs: torch.Tensor, where: str) -> tuple[torch.Tensor, int, int]:
        """``[N, V, C, T, H, W]`` -> ``([N * V, C, T, H, W], N, V)``."""
        if imgs.dim() != 6:
            raise ValueError(f'{type(self).__name__}.{where} takes imgs of shape '
                             f'(N, num_clips * num_crops, C, T, H, W); got {tuple(imgs.shape)}')
        batches, views = imgs.shape[:2]
        return imgs.reshape((-1,) + imgs.shape[2:]), batches, views

    def forward_train(self, imgs: torch.Tensor, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """Losses and accuracies of a batch.

        Args:
            imgs: ``[N, 1, C, T, H, W]`` (one view per sample in training).
            labels: ``[N]`` / ``[N, 1]`` class indices or ``[N, num_classes]`` targets.
            **kwargs: passed to the head's loss.

        Returns:
            ``loss_cls``, ``top1_acc``, ``top5_acc`` (and the neck's auxiliary losses).
        """
        head = self._require_head('forward_train')
        imgs, batches, views = self._fold(imgs, 'forward_train')
        if views != 1 and labels.shape[0] == batches:
            raise ValueError(f'{type(self).__name__}.forward_train takes one view per sample; '
                             f'got {views} views for {batches} labels (imgs of shape '
                             f'(N, {views}, ...)): sample with num_clips=1 for training')
        losses: dict[str, torch.Tensor] = {}
        x = self.extract_feat(imgs)
        if self.with_neck:
            x, aux_losses = self.neck(x, labels.squeeze())
            losses.update(aux_losses or {})
        cls_score = head(x)
        losses.update(head.loss(cls_score, labels.squeeze(), **kwargs))
        return losses

    def _extract_test_feat(self, imgs: torch.Tensor) -> Any:
        """Backbone (and neck) features, ``max_testing_views`` clips at a time when it is set."""
        step = self.max_testing_views or imgs.shape[0]
        chunks = []
        for start in range(0, imgs.shape[0], step):
            feat = self.extract_feat(imgs[start:start + step])
            if self.with_neck:
                feat, _ = self.neck(feat)
            chunks.append(feat)
        if len(chunks) == 1:
            return chunks[0]
        if isinstance(chunks[0], tuple):
            return tuple(torch.cat([c[i] for c in chunks]) for i in range(len(chunks[0])))
        return torch.cat(chunks)

    @staticmethod
    def _pool_features(feat: Any, batches: int, views: int) -> torch.Tensor:
        """``[N * V, C, T, H, W]`` (or a tuple of them, or ``[N * V, C]``) -> ``[N, C]``."""
        parts = feat if isinstance(feat, tuple) else (feat,)
        pooled = []
        for part in parts:
            if part.dim() == 5:  # 3D CNN features
                part = nn.functional.adaptive_avg_pool3d(part, 1)
            elif part.dim() != 2:  # neither a feature map nor a token
                raise ValueError('feature extraction supports (N, C, T, H, W) and (N, C) '
                                 f'features; got {tuple(part.shape)}')
            pooled.append(part.reshape(part.shape[0], -1))
        return torch.cat(pooled, dim=1).reshape(batches, views, -1).mean(dim=1)

    def _do_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """Averaged scores ``[N, num_classes]`` (or features ``[N, C]``) as a tensor."""
        imgs, batches, views = self._fold(imgs, 'forward_test')
        feat = self._extract_test_feat(imgs)
        if self.feature_extraction:
            return self._pool_features(feat, batches, views)
        cls_score = self._require_head('forward_test')(feat)
        return self.average_clip(cls_score, views)

    def forward_test(self, imgs: torch.Tensor) -> np.ndarray:
        """Class scores ``[N, num_classes]`` (or pooled features) as a numpy array."""
        with torch.no_grad():
            return self._do_test(imgs).cpu().numpy()

    def forward_stage(self, imgs: torch.Tensor, stage: str) -> Any:
        """``mode='tensor'``: backbone features of every view ``[N * V, ...]``, or the neck's
        output for ``stage='neck'`` (the backbone's without a neck)."""
        x = self.extract_feat(self._fold(imgs, 'forward')[0])
        if stage == 'neck' and self.with_neck:
            x = self.neck(x)[0]
        return x

    def forward_dummy(self, imgs: torch.Tensor, softmax: bool = False) -> tuple[torch.Tensor]:
        """The pure tensor path: ``[N, V, C, T, H, W]`` -> ``([N * V, num_classes],)``.

        No clip averaging; ``softmax=True`` returns probabilities. Used for FLOPs counting and
        ONNX export.
        """
        head = self._require_head('forward_dummy')
        imgs, _, _ = self._fold(imgs, 'forward_dummy')
        x = self.extract_feat(imgs)
        if self.with_neck:
            x, _ = self.neck(x)
        outs = head(x)
        if softmax:
            outs = nn.functional.softmax(outs, dim=1)
        return (outs,)

    def forward_gradcam(self, imgs: torch.Tensor) -> torch.Tensor:
        """The averaged scores as a tensor (for Grad-CAM)."""
        self._require_head('forward_gradcam')
        return self._do_test(imgs)
