"""``LFBInferHead``: collects the RoI features that make a long-term feature bank.

A shared head of ``AVARoIHead`` used by MMAction2's ``lfb_slowonly_r50_ava_infer.py``: it
returns its input unchanged and keeps each RoI's feature pooled to ``[C]`` (half precision with
``use_half_precision``) under its ``img_key``. :meth:`LFBInferHead.dump` writes
``{lfb_prefix_path}/lfb_{dataset_mode}.pkl`` with ``torch.save`` as
``{video_id: {second: [features]}}``, the format :class:`~actionkit.models.detectors.lfb.LFB`
reads. As in MMAction2 the file is also written when the head is garbage-collected (after
``tools/test.py``); unlike MMAction2 the folder is made when the file is written, not when the
head is built, and a single process writes the file directly (no per-rank parts).
"""
from __future__ import annotations

import logging
import os
import os.path as osp
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from .fbo_head import pool_roi_feature

__all__ = ['LFBInferHead']

logger = logging.getLogger(__name__)


@HEADS.register_module()
class LFBInferHead(nn.Module):
    """Identity on the RoI features that records them for the bank.

    Args:
        lfb_prefix_path (str): folder of the bank file.
        dataset_mode (str): ``'train'`` (default), ``'val'`` or ``'test'`` (names the file).
        use_half_precision (bool): store float16 features. Default: True.
        temporal_pool_type (str): ``'avg'`` (default) or ``'max'``.
        spatial_pool_type (str): ``'max'`` (default) or ``'avg'``.
        pretrained: only ``None``.
    """

    def __init__(self, lfb_prefix_path: str, dataset_mode: str = 'train',
                 use_half_precision: bool = True, temporal_pool_type: str = 'avg',
                 spatial_pool_type: str = 'max', pretrained: str | None = None) -> None:
        super().__init__()
        if not isinstance(lfb_prefix_path, (str, os.PathLike)):
            raise TypeError(f'LFBInferHead: lfb_prefix_path must be a path, got '
                            f'{lfb_prefix_path!r}')
        if not isinstance(dataset_mode, str) or not dataset_mode:
            raise TypeError(f'LFBInferHead: dataset_mode must be a str, got {dataset_mode!r}')
        if pretrained is not None:
            raise ValueError('LFBInferHead: pretrained is not supported')
        self.lfb_prefix_path = os.fspath(lfb_prefix_path)
        self.dataset_mode = dataset_mode
        self.use_half_precision = bool(use_half_precision)
        self.pool = pool_roi_feature(temporal_pool_type, spatial_pool_type)
        self.all_features: list[torch.Tensor] = []
        self.all_metadata: list[str] = []

    def init_weights(self) -> None:
        """No parameters."""

    def forward(self, x: torch.Tensor, rois: torch.Tensor, img_metas: Sequence[Mapping],
                **kwargs: Any) -> torch.Tensor:
        features = self.pool(x).detach()
        if self.use_half_precision:
            features = features.half()
        self.all_metadata += [img_metas[int(i)]['img_key'] for i in rois[:, 0].tolist()]
        self.all_features += [f.reshape(-1).cpu() for f in features]
        return x

    def bank(self) -> dict[str, dict[int, list[torch.Tensor]]]:
        """The collected features as ``{video_id: {second: [features]}}``."""
        lfb: dict[str, dict[int, list[torch.Tensor]]] = {}
        for feature, key in zip(self.all_features, self.all_metadata):
            video_id, _, timestamp = key.rpartition(',')
            lfb.setdefault(video_id, {}).setdefault(int(timestamp), []).append(feature)
        return lfb

    def dump(self) -> str:
        """Write ``lfb_{dataset_mode}.pkl`` and return its path."""
        os.makedirs(self.lfb_prefix_path, exist_ok=True)
        path = osp.normpath(osp.join(self.lfb_prefix_path, f'lfb_{self.dataset_mode}.pkl'))
        lfb = self.bank()
        torch.save(lfb, path)
        logger.info('%d features from %d videos stored in %s', len(self.all_features),
                    len(lfb), path)
        self.all_features, self.all_metadata = [], []
        return path

    def __del__(self) -> None:
        if getattr(self, 'all_features', None):
            try:
                self.dump()
            except Exception:  # noqa: BLE001 - no exception may leave __del__
                logger.exception('LFBInferHead: could not write the feature bank')
