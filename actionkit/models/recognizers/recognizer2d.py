"""The 2D recognizer (TSN, TSM ...): a 2D backbone on every frame, a head over the frames.

Input ``imgs`` is ``[N, num_segs, C, H, W]``: ``N`` samples of ``num_segs`` frames (all clips,
crops and segments of a sample). The frames are folded into the batch for the backbone
(``[N * num_segs, C, H, W]``) and the head combines each sample's frames into one score.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..builder import RECOGNIZERS
from .base import BaseRecognizer

__all__ = ['Recognizer2D']


@RECOGNIZERS.register_module()
class Recognizer2D(BaseRecognizer):
    """2D recognizer; see :class:`BaseRecognizer` for the arguments.

    ``test_cfg`` keys: ``average_clips`` ('score', 'prob' or None: how the scores of the
    views of a sample are combined), ``max_testing_views`` (run the backbone on at most this
    many views at a time, a view being ``backbone.num_segments`` frames for TSM and one frame
    otherwise), ``feature_extraction`` (return pooled backbone features instead of scores),
    ``fcn_test`` (fully convolutional test, for heads that take ``fcn_test=True`` such as
    ``TPNHead``: the segments stay a time axis, ``[N, C, num_segs, H, W]``, and the head scores
    that map; with ``num_segs`` (default: ``backbone.num_segments``) and ``flip``).
    """

    def _fold(self, imgs: torch.Tensor, where: str) -> tuple[torch.Tensor, int, int]:
        if imgs.dim() != 5:
            raise ValueError(f'{type(self).__name__}.{where} takes imgs of shape '
                             f'(N, num_segs, C, H, W). Got {tuple(imgs.shape)} instead!')
        batches = imgs.shape[0]
        imgs = imgs.reshape((-1,) + imgs.shape[2:])  # [N * num_segs, C, H, W]
        return imgs, batches, imgs.shape[0] // batches

    @staticmethod
    def _segments_as_time(x: Any, num_segs: int) -> list[torch.Tensor]:
        """``[N * num_segs, C, H, W]`` features (one or several stages) as
        ``[N, C, num_segs, H, W]``."""
        feats = x if isinstance(x, (tuple, list)) else (x,)
        return [each.reshape((-1, num_segs) + each.shape[1:]).transpose(1, 2).contiguous()
                for each in feats]

    def _average_views(self, cls_score: torch.Tensor, batches: int) -> torch.Tensor:
        """Average the head's scores of each sample's views (``test_cfg.average_clips``)."""
        if cls_score.shape[0] % batches != 0:
            raise ValueError(f'the head returned {cls_score.shape[0]} scores for {batches} '
                             'samples; expected a multiple')
        return self.average_clip(cls_score, cls_score.shape[0] // batches)

    def _through_neck(self, x: Any, num_segs: int,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, dict, int]:
        """Run the neck on ``[N, C, num_segs, H, W]`` features; it merges the segments."""
        feats = self._segments_as_time(x, num_segs)
        if labels is None:
            x, aux_losses = self.neck(feats)
        else:
            x, aux_losses = self.neck(feats, labels.squeeze())
        return x.squeeze(2), dict(aux_losses or {}), 1

    def forward_train(self, imgs: torch.Tensor, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """Losses and accuracies of a batch.

        Args:
            imgs: ``[N, num_segs, C, H, W]``.
            labels: ``[N]`` / ``[N, 1]`` class indices or ``[N, num_classes]`` targets.
            **kwargs: passed to the head's loss.

        Returns:
            ``loss_cls``, ``top1_acc``, ``top5_acc`` (and the neck's auxiliary losses).
        """
        head = self._require_head('forward_train')
        imgs, _, num_segs = self._fold(imgs, 'forward_train')
        losses: dict[str, torch.Tensor] = {}
        x = self.extract_feat(imgs)
        if self.with_neck:
            x, aux_losses, num_segs = self._through_neck(x, num_segs, labels)
            losses.update(aux_losses)
        cls_score = head(x, num_segs)
        losses.update(head.loss(cls_score, labels.squeeze(), **kwargs))
        return losses

    def _views_per_chunk(self) -> int:
        frames_per_view = getattr(self.backbone, 'num_segments', 1)
        return self.max_testing_views * frames_per_view

    def _extract_test_feat(self, imgs: torch.Tensor) -> Any:
        """Backbone features, ``max_testing_views`` views at a time when it is set."""
        if self.max_testing_views is None:
            return self.extract_feat(imgs)
        step = self._views_per_chunk()
        chunks = [self.extract_feat(imgs[i:i + step]) for i in range(0, imgs.shape[0], step)]
        if isinstance(chunks[0], tuple):
            return tuple(torch.cat([c[i] for c in chunks]) for i in range(len(chunks[0])))
        return torch.cat(chunks)

    def _do_fcn_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """``test_cfg.fcn_test``: the head scores ``[N', C, num_segs, H, W]`` maps."""
        head = self._require_head('forward_test')
        imgs, batches, _ = self._fold(imgs, 'forward_test')
        num_segs = self.test_cfg.get('num_segs', getattr(self.backbone, 'num_segments', None))
        if not isinstance(num_segs, int) or num_segs < 1:
            raise ValueError('test_cfg.fcn_test needs test_cfg.num_segs (or a backbone with '
                             f'num_segments); got {num_segs!r}')
        if self.test_cfg.get('flip', False):
            imgs = torch.flip(imgs, [-1])
        feats = self._segments_as_time(self._extract_test_feat(imgs), num_segs)
        if self.with_neck:
            x, _ = self.neck(feats)
        else:
            x = feats[0] if len(feats) == 1 else feats
        return self._average_views(head(x, fcn_test=True), batches)

    def _do_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """Scores ``[N, num_classes]`` (or features ``[N, C]``) as a tensor."""
        imgs, batches, num_segs = self._fold(imgs, 'forward_test')
        x = self._extract_test_feat(imgs)
        if self.with_neck:
            x, _, num_segs = self._through_neck(x, num_segs)
        if self.feature_extraction:
            x = nn.functional.adaptive_avg_pool2d(x, 1) if x.dim() == 4 else x
            return x.reshape(batches, -1, x.shape[1]).mean(dim=1)  # [N, C]
        head = self._require_head('forward_test')
        return self._average_views(head(x, num_segs), batches)

    def forward_test(self, imgs: torch.Tensor) -> np.ndarray:
        """Class scores ``[N, num_classes]`` (or pooled features) as a numpy array."""
        fcn = self.test_cfg is not None and self.test_cfg.get('fcn_test', False) \
            and not self.feature_extraction
        with torch.no_grad():
            return (self._do_fcn_test(imgs) if fcn else self._do_test(imgs)).cpu().numpy()

    def forward_stage(self, imgs: torch.Tensor, stage: str) -> Any:
        """``mode='tensor'``: backbone features ``[N * num_segs, C, H, W]``, or the neck's
        output for ``stage='neck'`` (the backbone's without a neck)."""
        imgs, _, num_segs = self._fold(imgs, 'forward')
        x = self.extract_feat(imgs)
        if stage == 'neck' and self.with_neck:
            x = self._through_neck(x, num_segs)[0]
        return x

    def forward_dummy(self, imgs: torch.Tensor, softmax: bool = False) -> tuple[torch.Tensor]:
        """The pure tensor path: ``[N, num_segs, C, H, W]`` -> ``([N, num_classes],)``.

        No clip averaging; ``softmax=True`` returns probabilities. Used for FLOPs counting and
        ONNX export.
        """
        head = self._require_head('forward_dummy')
        imgs, _, num_segs = self._fold(imgs, 'forward_dummy')
        x = self.extract_feat(imgs)
        if self.with_neck:
            x, _, num_segs = self._through_neck(x, num_segs)
        outs = head(x, num_segs)
        if softmax:
            outs = nn.functional.softmax(outs, dim=1)
        return (outs,)

    def forward_gradcam(self, imgs: torch.Tensor) -> torch.Tensor:
        """The averaged scores as a tensor (for Grad-CAM)."""
        self._require_head('forward_gradcam')
        return self._do_test(imgs)
