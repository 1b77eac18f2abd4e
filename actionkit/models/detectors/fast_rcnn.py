"""``FastRCNN``: the spatio-temporal action detector of MMAction2 0.x's AVA configs.

A video backbone, then an :class:`~.roi_head.AVARoIHead` on the person boxes (proposals from a
person detector, or the ground truth). MMAction2 builds it through mmdet's
``TwoStageDetector``; this one needs neither mmdet nor compiled ops. Keys: ``backbone.*``,
``roi_head.bbox_head.*``.

Batches (``Collect`` of MMAction2's AVA pipelines): training ``img`` ``[N, C, T, H, W]``,
``proposals`` / ``gt_bboxes`` / ``gt_labels`` lists (one tensor per clip), ``img_metas``;
testing ``img``, ``proposals`` and ``img_metas`` each wrapped in a list (``nested=True``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...registry import Registry
from ..builder import BACKBONES, HEADS, NECKS
from ..recognizers.base import parse_losses

__all__ = ['DETECTORS', 'FastRCNN']

DETECTORS = Registry('detector')


@DETECTORS.register_module()
class FastRCNN(nn.Module):
    """Backbone + RoI head action detector.

    Args:
        backbone (dict | nn.Module): e.g. ``ResNet3dSlowOnly``.
        roi_head (dict | nn.Module): an ``AVARoIHead`` config.
        train_cfg (dict | None): ``rcnn`` holds the assigner, sampler and ``pos_weight``.
        test_cfg (dict | None): ``rcnn.action_thr``.
        neck (dict | None): optional neck.
        pretrained (str | None): accepted for compatibility (the backbone's own
            ``pretrained`` loads weights).
    """

    def __init__(self, backbone: Mapping | nn.Module, roi_head: Mapping | nn.Module,
                 train_cfg: Mapping | None = None, test_cfg: Mapping | None = None,
                 neck: Mapping | None = None, pretrained: str | None = None,
                 init_cfg: Any = None) -> None:
        super().__init__()
        self.backbone = BACKBONES.build(backbone)
        if neck is not None:
            self.neck = NECKS.build(neck)
        rcnn_train = None if train_cfg is None else train_cfg.get('rcnn')
        rcnn_test = None if test_cfg is None else test_cfg.get('rcnn')
        if isinstance(roi_head, Mapping):
            roi_head = dict(roi_head, train_cfg=rcnn_train, test_cfg=rcnn_test)
        self.roi_head = HEADS.build(roi_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_weights()

    @property
    def with_neck(self) -> bool:
        """Whether the detector has a neck."""
        return getattr(self, 'neck', None) is not None

    def init_weights(self) -> None:
        """Initialise (or load the pretrained weights of) the backbone, neck and head."""
        for part in (self.backbone, getattr(self, 'neck', None), self.roi_head):
            if part is not None and hasattr(part, 'init_weights'):
                part.init_weights()

    def extract_feat(self, img: torch.Tensor) -> Any:
        """Backbone (and neck) features of ``img`` ``[N, C, T, H, W]``."""
        x = self.backbone(img)
        return self.neck(x) if self.with_neck else x

    def forward_train(self, img: torch.Tensor, img_metas: Sequence[Mapping],
                      gt_bboxes: Sequence[torch.Tensor], gt_labels: Sequence[torch.Tensor],
                      proposals: Sequence[torch.Tensor] | None = None,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """Losses of a batch; without ``proposals`` the ground-truth boxes are the proposals."""
        x = self.extract_feat(img)
        proposal_list = gt_bboxes if proposals is None else proposals
        return self.roi_head.forward_train(x, img_metas, proposal_list, gt_bboxes, gt_labels)

    def simple_test(self, img: torch.Tensor, img_metas: Sequence[Mapping],
                    proposals: Sequence[torch.Tensor], rescale: bool = False) -> list:
        """Detections of one clip: ``[per-class arrays [m, 5]]``."""
        return self.roi_head.simple_test(self.extract_feat(img), proposals, img_metas,
                                         rescale=rescale)

    def forward_test(self, img: Sequence[torch.Tensor], img_metas: Sequence[Sequence[Mapping]],
                     proposals: Sequence[Sequence[torch.Tensor]], **kwargs: Any) -> list:
        """Test a clip given as MMAction2's nested lists (one augmentation only)."""
        if len(img) != 1:
            raise ValueError(f'FastRCNN tests one view (no test-time augmentation); got '
                             f'{len(img)}')
        return self.simple_test(img[0], img_metas[0], proposals[0], **kwargs)

    def forward(self, img: Any, img_metas: Any = None, return_loss: bool = True,
                **kwargs: Any) -> Any:
        """Train (a dict of losses) or test (MMAction2's per-class result arrays).

        Tensors inside lists (the per-clip boxes) are moved to the model's device. A test
        batch from actionkit's ``collate`` (``[clip][view]`` lists) is turned into MMAction2's
        ``[view][clip]`` form first.
        """
        kwargs.pop('bad_samples', None)
        device = next(self.parameters()).device
        img = _to_device(img, device)
        kwargs = {key: _to_device(value, device) for key, value in kwargs.items()}
        if img_metas is None:
            img_metas = [{} for _ in range(len(img))]
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        if isinstance(img, (list, tuple)) and img and isinstance(img[0], (list, tuple)):
            img, img_metas, kwargs['proposals'] = _views_first(img, img_metas,
                                                               kwargs.get('proposals'))
        return self.forward_test(img, img_metas, **kwargs)

    def train_step(self, data_batch: Mapping[str, Any], optimizer: Any = None,
                   **kwargs: Any) -> dict[str, Any]:
        """One training forward: ``dict(loss, log_vars, num_samples)``."""
        losses = self(**data_batch)
        loss, log_vars = parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data_batch['img']))

    def val_step(self, data_batch: Mapping[str, Any], optimizer: Any = None,
                 **kwargs: Any) -> dict[str, Any]:
        """Like :meth:`train_step`."""
        return self.train_step(data_batch)


def _to_device(value: Any, device: torch.device) -> Any:
    """Tensors (also in lists, and in the loader's ``NoStack`` wrappers) on ``device``."""
    value = getattr(value, 'value', value)  # NoStack, duck-typed: models never import datasets
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, (list, tuple)):
        return [_to_device(v, device) for v in value]
    return value


def _views_first(img: Sequence, img_metas: Sequence, proposals: Sequence | None) -> tuple:
    """``[clip][view]`` test inputs (actionkit's collate) -> MMAction2's ``[view][clip]``."""
    if any(len(views) != 1 for views in img):
        raise ValueError('FastRCNN tests one view per clip (no test-time augmentation)')
    imgs = [torch.stack([views[0] for views in img])]
    metas = [[views[0] if isinstance(views, (list, tuple)) else views for views in img_metas]]
    props = None if proposals is None else [[views[0] for views in proposals]]
    return imgs, metas, props
