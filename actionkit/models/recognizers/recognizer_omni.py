"""``RecognizerOmni``: one backbone and head for images and videos (OmniSource, MMAction2 1.x).

The backbone (``OmniResNet``) and head (``OmniHead``) pick their image or video path from the
number of dims of what they get, so the recognizer only folds views into the batch:

* 1.x calls (``mode=...``) take what 1.x takes: images ``[N, C, H, W]``, videos
  ``[N, C, T, H, W]``, or videos with views ``[N, V, C, T, H, W]`` (folded to ``N * V``
  clips). ``predict`` / ``loss`` accept 1.x's form, ``model(dict(inputs=...,
  data_samples=...), ..., mode=...)`` with one dict per data source (``loss`` suffixes each
  source's entries ``_0``, ``_1`` ...; ``predict`` takes one source), as well as
  ``model(inputs, data_samples, mode=...)`` (one source).
* actionkit's 0.x call ``model(imgs, label, return_loss=...)`` takes the batches of its
  pipelines: images ``[N, V, C, H, W]`` (or ``[N, C, H, W]``) and videos
  ``[N, V, C, T, H, W]``; a ``data_preprocessor`` config normalises them first.

Test scores of a sample's ``V`` views are averaged as the head's ``average_clips`` says.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..builder import RECOGNIZERS
from .base import BaseRecognizer
from .v1_api import MODES, STAGES, labels_from_samples, write_predictions

__all__ = ['RecognizerOmni']


@RECOGNIZERS.register_module()
class RecognizerOmni(BaseRecognizer):
    """OmniSource's recognizer (1.x arguments; ``train_cfg`` / ``test_cfg`` as for the other
    recognizers, see :class:`BaseRecognizer`).

    Args:
        backbone (dict | nn.Module): a backbone taking 4D images and 5D videos.
        cls_head (dict | nn.Module): a head taking their 4D / 5D features.
        data_preprocessor (dict | nn.Module | None): 1.x's ``ActionDataPreprocessor``
            (``format_shape='MIX2d3d'`` in the OmniSource config).
    """

    def __init__(self, backbone: Any, cls_head: Any, data_preprocessor: Any,
                 train_cfg: Any = None, test_cfg: Any = None) -> None:
        if cls_head is None:
            raise ValueError('RecognizerOmni needs a cls_head')
        super().__init__(backbone, cls_head, None, train_cfg, test_cfg, data_preprocessor)

    # -- batches -------------------------------------------------------------------------------
    @staticmethod
    def _fold(imgs: torch.Tensor, image_views: bool) -> tuple[torch.Tensor, int]:
        """``(clips or images for the backbone, views per sample)``.

        6 dims are videos with views; 5 dims are images with views when ``image_views`` (0.x
        pipelines) and videos without (1.x); 4 dims are images.
        """
        if imgs.dim() == 6 or (imgs.dim() == 5 and image_views):
            return imgs.reshape((-1,) + imgs.shape[2:]), imgs.shape[1]
        if imgs.dim() in (4, 5):
            return imgs, 1
        raise ValueError('RecognizerOmni takes images (N, [V,] C, H, W) or videos '
                         f'(N, [V,] C, T, H, W); got {tuple(imgs.shape)}')

    def _losses(self, imgs: torch.Tensor, labels: torch.Tensor, **kwargs: Any
                ) -> dict[str, torch.Tensor]:
        head = self.cls_head
        return head.loss(head(self.extract_feat(imgs)), labels.squeeze(), **kwargs)

    # -- MMAction2 0.x calls -------------------------------------------------------------------
    def forward_train(self, imgs: torch.Tensor, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """``loss_cls`` and ``top{k}_acc`` of a batch of images or videos (one view each)."""
        clips, views = self._fold(imgs, image_views=True)
        if views != 1:
            raise ValueError(f'RecognizerOmni.forward_train takes one view per sample; got '
                             f'{views} (imgs of shape {tuple(imgs.shape)})')
        return self._losses(clips, labels, **kwargs)

    def _scores(self, imgs: torch.Tensor, image_views: bool) -> torch.Tensor:
        """Test scores ``[N, classes]``, the views of a sample averaged."""
        clips, views = self._fold(imgs, image_views)
        return self.average_clip(self.cls_head(self.extract_feat(clips)), views)

    def _do_test(self, imgs: torch.Tensor) -> torch.Tensor:
        return self._scores(imgs, image_views=True)

    def forward_test(self, imgs: torch.Tensor) -> np.ndarray:
        """Class scores ``[N, classes]`` as a numpy array."""
        with torch.no_grad():
            return self._do_test(imgs).cpu().numpy()

    def forward_dummy(self, imgs: torch.Tensor, softmax: bool = False) -> tuple[torch.Tensor]:
        """Scores of every view, ``([N * V, classes],)`` (probabilities with ``softmax``)."""
        scores = self.cls_head(self.extract_feat(self._fold(imgs, image_views=True)[0]))
        return (scores.softmax(dim=1) if softmax else scores,)

    def forward_gradcam(self, imgs: torch.Tensor) -> torch.Tensor:
        """The averaged scores as a tensor (for Grad-CAM)."""
        return self._do_test(imgs)

    # -- MMAction2 1.x calls -------------------------------------------------------------------
    def forward(self, *args: Any, mode: str | None = None, **kwargs: Any) -> Any:
        """1.x's ``model(*sources, mode=...)`` (each source a dict of ``inputs`` and
        ``data_samples``), or the calls of :meth:`BaseRecognizer.forward`."""
        if args and isinstance(args[0], Mapping):
            return self.forward_sources(args, mode)
        return super().forward(*args, mode=mode, **kwargs)

    def forward_sources(self, sources: Sequence[Mapping[str, Any]], mode: str | None) -> Any:
        """``mode='loss'``: every source's losses, suffixed ``_<index>``; ``'predict'``: the
        data samples of the one source, with scores."""
        if mode not in ('loss', 'predict'):
            raise ValueError("RecognizerOmni: data-source dicts take mode='loss' or 'predict' "
                             f"(mode='tensor' takes a tensor); got mode={mode!r}")
        for i, source in enumerate(sources):
            if not isinstance(source, Mapping) or 'inputs' not in source:
                raise TypeError(f'RecognizerOmni: data source {i} must be a dict with "inputs" '
                                f'and "data_samples", got {type(source).__name__}')
        if mode == 'predict':
            if len(sources) != 1:
                raise ValueError(f"RecognizerOmni: mode='predict' takes one data source, got "
                                 f'{len(sources)}')
            return self.forward_v1(sources[0]['inputs'], sources[0].get('data_samples'),
                                   'predict')
        losses = {}
        for i, source in enumerate(sources):
            losses.update(self._source_losses(source['inputs'], source.get('data_samples'), i))
        return losses

    def _source_losses(self, inputs: torch.Tensor, data_samples: Any, index: int
                       ) -> dict[str, torch.Tensor]:
        """The losses of one data source's batch, each name suffixed ``_<index>``."""
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f'RecognizerOmni.forward: inputs must be a tensor, '
                            f'got {type(inputs).__name__}')
        clips, _ = self._fold(inputs, image_views=False)
        labels = labels_from_samples(data_samples, 'RecognizerOmni')
        if clips.shape[0] != labels.shape[0]:
            raise ValueError(f"RecognizerOmni.forward(mode='loss'): {clips.shape[0]} clips or "
                             f'images (inputs of shape {tuple(inputs.shape)}) for '
                             f'{labels.shape[0]} data samples; training takes one view per '
                             'sample')
        return {f'{key}_{index}': value for key, value in self._losses(clips, labels).items()}

    def forward_v1(self, inputs: torch.Tensor, data_samples: Any = None, mode: str = 'tensor',
                   stage: str = 'backbone', **kwargs: Any) -> Any:
        """One source: ``'tensor'`` (backbone features of a 4D / 5D tensor; ``stage='head'``:
        the scores), ``'predict'`` (data samples with view-averaged scores) or ``'loss'``
        (``loss_cls_0``, ``top1_acc_0`` ..., as 1.x names one source's losses)."""
        if mode not in MODES:
            raise ValueError(f'RecognizerOmni.forward: mode must be one of {MODES}, '
                             f'got {mode!r}')
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f'RecognizerOmni.forward: inputs must be a tensor, '
                            f'got {type(inputs).__name__}')
        if mode == 'loss':
            return self._source_losses(inputs, data_samples, 0)
        if mode == 'predict':
            return write_predictions(self._scores(inputs, image_views=False), data_samples)
        if inputs.dim() not in (4, 5):
            raise ValueError(f"RecognizerOmni.forward(mode='tensor') takes a 4D (NCHW) or 5D "
                             f'(NCTHW) tensor; got {inputs.dim()}D')
        if stage not in STAGES:
            raise ValueError(f"RecognizerOmni.forward(mode='tensor'): stage must be one of "
                             f'{STAGES}, got {stage!r}')
        feats = self.extract_feat(inputs)
        return self.cls_head(feats) if stage == 'head' else feats
