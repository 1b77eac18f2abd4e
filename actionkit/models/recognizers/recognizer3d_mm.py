"""``MMRecognizer3D`` (MMAction2 1.x): a multi-modal 3D recognizer (``RGBPoseConv3D`` +
``RGBPoseHead``) over a dict of inputs, ``{'imgs': [N, V, 3, T, H, W], 'heatmap_imgs':
[N, V, J, T', H', W']}``; its scores are a dict per stream (``'rgb'``, ``'pose'``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..builder import RECOGNIZERS
from ..multimodal_preprocessor import MultiModalDataPreprocessor
from .base import BaseRecognizer
from .v1_api import labels_from_samples

__all__ = ['MMRecognizer3D']


@RECOGNIZERS.register_module()
class MMRecognizer3D(BaseRecognizer):
    """Multi-modal 3D recognizer; see :class:`BaseRecognizer` for the arguments.

    The 1.x calls: ``mode='loss'`` (losses per stream), ``mode='predict'`` (each sample's
    ``pred_score`` is ``{'rgb': [K], 'pose': [K]}``, views averaged as ``average_clips``
    says), ``mode='tensor'`` (``stage='backbone'``: the two feature maps; ``'head'``: the
    per-view score dict). The 0.x test call returns the two streams' averaged scores, summed.
    """

    def __init__(self, backbone: Any, cls_head: Any = None, neck: Any = None,
                 train_cfg: Any = None, test_cfg: Any = None,
                 data_preprocessor: Any = None) -> None:
        if isinstance(data_preprocessor, Mapping) and \
                data_preprocessor.get('type') == 'MultiModalDataPreprocessor':
            args = {k: v for k, v in data_preprocessor.items() if k != 'type'}
            data_preprocessor = MultiModalDataPreprocessor(**args)
        super().__init__(backbone, cls_head, neck, train_cfg, test_cfg, data_preprocessor)

    def _fold(self, inputs: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int]:
        if not isinstance(inputs, Mapping) or not inputs:
            raise TypeError(f'MMRecognizer3D takes a dict of inputs (imgs, heatmap_imgs), got '
                            f'{type(inputs).__name__}')
        folded, batches = {}, None
        for name, value in inputs.items():
            if value.dim() != 6:
                raise ValueError(f'MMRecognizer3D: inputs[{name!r}] must be (N, views, C, T, H, '
                                 f'W), got {tuple(value.shape)}')
            batches = value.shape[0]
            folded[name] = value.reshape((-1,) + value.shape[2:])
        return folded, batches

    def _scores(self, inputs: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int]:
        folded, batches = self._fold(inputs)
        return self._require_head('forward')(self.backbone(**folded)), batches

    def forward_train(self, imgs: Any, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        scores, _ = self._scores(imgs)
        return self.cls_head.loss(scores, labels.squeeze(), **kwargs)

    def _averaged(self, imgs: Any) -> dict[str, torch.Tensor]:
        scores, batches = self._scores(imgs)
        return {name: self.average_clip(scores[name], scores[name].shape[0] // batches)
                for name in self.cls_head.loss_components}

    def forward_test(self, imgs: Any) -> np.ndarray:
        """The streams' averaged scores, summed, ``[N, num_classes]``."""
        with torch.no_grad():
            return sum(self._averaged(imgs).values()).cpu().numpy()

    def forward_dummy(self, imgs: Any, softmax: bool = False) -> tuple[dict[str, torch.Tensor]]:
        """Per-view scores of each stream (no averaging)."""
        scores, _ = self._scores(imgs)
        if softmax:
            scores = {k: v.softmax(dim=1) for k, v in scores.items()}
        return (scores,)

    def forward_stage(self, imgs: Any, stage: str) -> Any:
        """``mode='tensor'``: the backbone's (rgb, pose) features of every view."""
        return self.backbone(**self._fold(imgs)[0])

    def forward_v1(self, inputs: Any, data_samples: Any = None, mode: str = 'tensor',
                   stage: str = 'backbone', **kwargs: Any) -> Any:
        """1.x's forward; ``'predict'`` writes a score dict per sample."""
        if mode == 'loss':
            return self.forward_train(inputs, labels_from_samples(data_samples,
                                                                  'MMRecognizer3D'))
        if mode != 'predict':
            return super().forward_v1(inputs, data_samples, mode, stage, **kwargs)
        with torch.no_grad():
            scores = self._averaged(inputs)
        batches = next(iter(scores.values())).shape[0]
        if data_samples is None:
            from ..data_sample import ActionDataSample
            data_samples = [ActionDataSample() for _ in range(batches)]
        for i, sample in enumerate(data_samples):
            sample.pred_score = {name: value[i] for name, value in scores.items()}
        return list(data_samples)
