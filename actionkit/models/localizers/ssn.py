"""SSN: temporal action detection with Structured Segment Networks.

Paper: https://arxiv.org/abs/1704.06228. A 2-D backbone embeds single frames sampled from each
proposal's starting, course and ending stages; ``SSNHead`` pools them with structured temporal
pyramid pooling and predicts activity, completeness and location/duration regression.
Detections are evaluated with mAP at several tIoU thresholds (``SSNDataset.evaluate``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import LOCALIZERS, LOSSES
from ..losses.ssn_loss import get_cfg_value
from .base import BaseTAGClassifier

__all__ = ['SSN']


@LOCALIZERS.register_module()
class SSN(BaseTAGClassifier):
    """Structured Segment Network.

    Args:
        backbone (dict | nn.Module): 2-D backbone config (``BACKBONES``) or module, producing
            ``[B, C, 7, 7]`` feature maps when ``spatial_type`` pools.
        cls_head (dict | nn.Module): ``SSNHead`` config or module.
        in_channels (int): image channels. Default: 3.
        spatial_type (str | None): 'avg' or 'max' 7x7 pooling, or None for no pooling.
            Default: 'avg'.
        dropout_ratio (float): dropout after pooling. Default: 0.5.
        loss_cls (dict): loss config (``LOSSES``). Default: ``dict(type='SSNLoss')``.
        train_cfg (dict | None): needs ``ssn.sampler`` and ``ssn.loss_weight`` for training.
        test_cfg (dict | None): needs ``ssn.sampler.batch_size`` for testing.
    """

    def __init__(self, backbone: Mapping[str, Any] | nn.Module,
                 cls_head: Mapping[str, Any] | nn.Module, in_channels: int = 3,
                 spatial_type: str | None = 'avg', dropout_ratio: float = 0.5,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='SSNLoss'),
                 train_cfg: Any = None, test_cfg: Any = None) -> None:
        if spatial_type not in ('avg', 'max', None):
            raise ValueError(f"SSN: spatial_type must be 'avg', 'max' or None, got "
                             f'{spatial_type!r}')
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'SSN: dropout_ratio must be in [0, 1), got {dropout_ratio!r}')
        check_positive_int('SSN', 'in_channels', in_channels)
        super().__init__(backbone, cls_head, train_cfg, test_cfg)
        self.in_channels = in_channels
        self.spatial_type = spatial_type
        if spatial_type == 'avg':
            self.pool: nn.Module | None = nn.AvgPool2d((7, 7), stride=1, padding=0)
        elif spatial_type == 'max':
            self.pool = nn.MaxPool2d((7, 7), stride=1, padding=0)
        else:
            self.pool = None
        self.dropout_ratio = dropout_ratio
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.loss_cls = LOSSES.build(loss_cls)

    @property
    def is_test_prepared(self) -> bool:
        """Whether the head's fused test classifier is ready (MMAction2 0.x attribute)."""
        return getattr(self.cls_head, '_test_fc_params', None) is not None

    def forward_train(self, imgs: torch.Tensor, proposal_scale_factor: torch.Tensor,
                      proposal_type: torch.Tensor, proposal_labels: torch.Tensor,
                      reg_targets: torch.Tensor, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Losses of the sampled proposals.

        Args:
            imgs (torch.Tensor): ``[N, P, num_segments * clip_len, C, H, W]`` (``NPTCHW``).
            proposal_scale_factor (torch.Tensor): ``[N, P, 2]``.
            proposal_type (torch.Tensor): ``[N, P]`` 0 positive, 1 incomplete, 2 background.
            proposal_labels (torch.Tensor): ``[N, P]``.
            reg_targets (torch.Tensor): ``[N, P, 2]``.
        """
        if self.train_cfg is None:
            raise ValueError('SSN: training needs train_cfg with ssn.sampler and ssn.loss_weight')
        if imgs.dim() < 5 or imgs.shape[3] != self.in_channels:
            raise ValueError(f'SSN takes training imgs of shape [N, P, T, C={self.in_channels}, '
                             f'H, W], got {tuple(imgs.shape)}')
        x = self.extract_feat(imgs.reshape((-1, self.in_channels) + tuple(imgs.shape[4:])))
        if self.pool is not None:
            x = self.pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        activity_scores, completeness_scores, bbox_preds = self.cls_head(
            (x, proposal_scale_factor))
        return dict(**self.loss_cls(activity_scores, completeness_scores, bbox_preds,
                                    proposal_type, proposal_labels, reg_targets,
                                    self.train_cfg))

    def _frame_features(self, imgs: torch.Tensor, minibatch_size: int) -> torch.Tensor:
        """Pooled features ``[num_frames, C]`` of all sampled frames, crops averaged."""
        num_crops = imgs.shape[0]
        imgs = imgs.reshape((num_crops, -1, self.in_channels) + tuple(imgs.shape[3:]))
        output = []
        for idx in range(0, imgs.shape[1], minibatch_size):
            chunk = imgs[:, idx:idx + minibatch_size].reshape((-1, ) + tuple(imgs.shape[2:]))
            x = self.extract_feat(chunk)
            if self.pool is not None:
                x = self.pool(x)
            output.append(x.reshape((num_crops, x.size(0) // num_crops, -1)).mean(dim=0))
        return torch.cat(output, dim=0)

    def forward_test(self, imgs: torch.Tensor, relative_proposal_list: torch.Tensor,
                     scale_factor_list: torch.Tensor, proposal_tick_list: torch.Tensor,
                     reg_norm_consts: torch.Tensor, **kwargs: Any) -> list[dict[str, Any]]:
        """Scores of every proposal of one video.

        Returns:
            list[dict]: one dict with ``relative_proposal_list [P, 2]``,
            ``activity_scores [P, K + 1]``, ``completeness_scores [P, K]`` and
            ``bbox_preds [P, K, 2]`` (de-normalised; None without regression), numpy arrays.
        """
        if self.test_cfg is None:
            raise ValueError('SSN: testing needs test_cfg with ssn.sampler.batch_size')
        minibatch_size = int(get_cfg_value(self.test_cfg, 'ssn.sampler.batch_size'))
        with torch.no_grad():
            features = self._frame_features(imgs, minibatch_size)
            relative_proposal_list = relative_proposal_list.squeeze(0)
            proposal_tick_list = proposal_tick_list.squeeze(0)
            scale_factor_list = scale_factor_list.squeeze(0)
            reg_norm_consts = reg_norm_consts.squeeze(0).cpu().numpy()
            _, activity_scores, completeness_scores, bbox_preds = self.cls_head(
                (features, proposal_tick_list, scale_factor_list), test_mode=True)
        if bbox_preds is not None:
            bbox_preds = bbox_preds.view(-1, self.cls_head.num_classes, 2).clone()
            bbox_preds[:, :, 0] = bbox_preds[:, :, 0] * reg_norm_consts[1, 0] + \
                reg_norm_consts[0, 0]
            bbox_preds[:, :, 1] = bbox_preds[:, :, 1] * reg_norm_consts[1, 1] + \
                reg_norm_consts[0, 1]
            bbox_preds = bbox_preds.cpu().numpy()
        return [dict(relative_proposal_list=relative_proposal_list.cpu().numpy(),
                     activity_scores=activity_scores.cpu().numpy(),
                     completeness_scores=completeness_scores.cpu().numpy(),
                     bbox_preds=bbox_preds)]
