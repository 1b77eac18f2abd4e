"""``RecognizerGCN`` (MMAction2 1.x): a 1.x graph backbone (``STGCN`` / ST-GCN++, ``AAGCN``)
and ``GCNHead`` over skeleton clips.

The backbone type is looked up in
:data:`~actionkit.models.backbones.gcn_units_v1.GCN_BACKBONES_V1` first (1.x's ``STGCN`` is
not 0.x's), then in ``BACKBONES`` (a user's own backbone).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..backbones.gcn_units_v1 import GCN_BACKBONES_V1
from ..builder import BACKBONES, RECOGNIZERS
from .recognizer3d import Recognizer3D

__all__ = ['RecognizerGCN']


def _build_gcn_backbone(backbone: Any) -> Any:
    if not isinstance(backbone, Mapping):
        return backbone
    kind = backbone.get('type')
    if isinstance(kind, str) and kind in GCN_BACKBONES_V1:
        return GCN_BACKBONES_V1.build(backbone)
    return BACKBONES.build(backbone)


@RECOGNIZERS.register_module()
class RecognizerGCN(Recognizer3D):
    """Skeleton recognizer of 1.x: ``[N, V, M, T, J, C]`` inputs (``V`` views / clips of
    ``M`` persons, ``T`` frames, ``J`` joints) to class scores.

    The views are folded into the batch for the backbone; at test time the head's scores of a
    sample's views are averaged (``GCNHead.average_clips``, ``'prob'`` by default). See
    :class:`Recognizer3D` for the other arguments and the 0.x / 1.x calls.

    Example:
        >>> model = RecognizerGCN(
        ...     backbone=dict(type='STGCN', graph_cfg=dict(layout='coco', mode='spatial'),
        ...                   base_channels=8, num_stages=2),
        ...     cls_head=dict(type='GCNHead', num_classes=5, in_channels=8))
        >>> model(torch.rand(2, 3, 2, 8, 17, 3), return_loss=False).shape
        (2, 5)
    """

    input_key = 'keypoint'

    def __init__(self, backbone: Any, cls_head: Any = None, neck: Any = None,
                 train_cfg: Any = None, test_cfg: Any = None,
                 data_preprocessor: Any = None) -> None:
        super().__init__(_build_gcn_backbone(backbone), cls_head, neck, train_cfg, test_cfg,
                         data_preprocessor)
