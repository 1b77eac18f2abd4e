"""``SkeletonGCN``: a GCN backbone (ST-GCN, 2s-AGCN) and ``STGCNHead`` on skeletons."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..builder import RECOGNIZERS
from .base import BaseRecognizer

__all__ = ['SkeletonGCN']


@RECOGNIZERS.register_module()
class SkeletonGCN(BaseRecognizer):
    """Skeleton-based recognizer: ``keypoint`` ``[N, C, T, V, M]`` to class scores.

    As in MMAction2 0.x, test scores are the head's raw scores (no clip averaging, so
    ``test_cfg`` may be None) and a data batch holds ``keypoint`` instead of ``imgs``.

    Args:
        backbone (dict | nn.Module): ``STGCN`` or ``AGCN``.
        cls_head (dict | nn.Module | None): ``STGCNHead``.
        train_cfg, test_cfg (dict | None): unused, kept for config compatibility.
    """

    input_key = 'keypoint'

    def __init__(self, backbone: Mapping[str, Any], cls_head: Mapping[str, Any] | None = None,
                 train_cfg: Mapping[str, Any] | None = None,
                 test_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(backbone, cls_head=cls_head, train_cfg=train_cfg, test_cfg=test_cfg)

    def forward(self, keypoint: torch.Tensor, label: torch.Tensor | None = None,
                return_loss: bool = True, **kwargs: Any) -> Any:
        """Train (a dict of losses) or test (a numpy array of scores); the batch key is
        ``keypoint``, as in MMAction2's ``BaseGCN``."""
        return super().forward(keypoint, label, return_loss=return_loss, **kwargs)

    def forward_train(self, keypoint: torch.Tensor, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """``keypoint`` ``[N, C, T, V, M]``, ``labels`` ``[N, 1]`` -> the head's losses."""
        head = self._require_head('forward_train')
        scores = head(self.extract_feat(keypoint))
        return dict(head.loss(scores, labels.squeeze(-1)))

    def forward_test(self, keypoint: torch.Tensor) -> np.ndarray:
        """``[N, num_classes]`` scores as a numpy array."""
        return self._require_head('forward_test')(self.extract_feat(keypoint)).detach().cpu() \
            .numpy()

    def forward_dummy(self, keypoint: torch.Tensor, softmax: bool = False
                      ) -> tuple[torch.Tensor]:
        """The tensor-in, tensor-out path (FLOPs counting, ONNX export)."""
        scores = self._require_head('forward_dummy')(self.extract_feat(keypoint))
        return (scores.softmax(dim=1) if softmax else scores, )

