"""Losses of the boundary-based proposal generators: BSN's TEM and BMN.

* ``binary_logistic_regression_loss`` / ``BinaryLogisticRegressionLoss`` — a class-balanced
  binary log loss on per-position scores (BSN TEM, BMN's temporal evaluation part).
* ``BMNLoss`` — BMN's loss: temporal evaluation (start/end) + proposal evaluation regression
  (sampled MSE on the IoU map) + proposal evaluation classification (balanced log loss).

BMN paper: https://arxiv.org/abs/1907.09702; BSN paper: https://arxiv.org/abs/1806.02964.
"""
from __future__ import annotations

import torch
from torch import nn

from ..builder import LOSSES

__all__ = ['binary_logistic_regression_loss', 'BinaryLogisticRegressionLoss', 'BMNLoss']


def _balance_coefficients(ratio: torch.Tensor | float,
                          ratio_range: tuple[float, float]) -> tuple:
    """Weights of the negative and positive terms for ``ratio = entries / positives``."""
    if isinstance(ratio, torch.Tensor):
        ratio = torch.clamp(ratio, ratio_range[0], ratio_range[1])
    else:
        ratio = min(max(ratio, ratio_range[0]), ratio_range[1])
    coef_0 = 0.5 * ratio / (ratio - 1)
    coef_1 = 0.5 * ratio
    return coef_0, coef_1


def binary_logistic_regression_loss(reg_score: torch.Tensor, label: torch.Tensor,
                                    threshold: float = 0.5,
                                    ratio_range: tuple[float, float] = (1.05, 21),
                                    eps: float = 1e-5) -> torch.Tensor:
    """Class-balanced binary log loss.

    Positions whose ``label`` exceeds ``threshold`` are positives. With ``r = num_entries /
    num_positives`` clipped to ``ratio_range``, positives are weighted ``r / 2`` and negatives
    ``r / (2 (r - 1))``, so both classes contribute about equally.

    Args:
        reg_score (torch.Tensor): predicted probabilities, any shape.
        label (torch.Tensor): soft targets in [0, 1], same number of elements.
        threshold (float): positive threshold on ``label``.
        ratio_range (tuple[float, float]): clip range of the balancing ratio.
        eps (float): added inside the logarithms.

    Returns:
        torch.Tensor: the scalar loss.
    """
    label = label.reshape(-1).to(reg_score.device)
    reg_score = reg_score.contiguous().reshape(-1)
    if label.numel() != reg_score.numel():
        raise ValueError(f'binary_logistic_regression_loss: reg_score has {reg_score.numel()} '
                         f'elements but label has {label.numel()}')
    pmask = (label > threshold).float()
    num_positive = max(float(pmask.sum()), 1.0)
    coef_0, coef_1 = _balance_coefficients(label.numel() / num_positive, ratio_range)
    loss = (coef_1 * pmask * torch.log(reg_score + eps)
            + coef_0 * (1.0 - pmask) * torch.log(1.0 - reg_score + eps))
    return -torch.mean(loss)


@LOSSES.register_module()
class BinaryLogisticRegressionLoss(nn.Module):
    """Module form of :func:`binary_logistic_regression_loss` (BSN TEM's ``loss_cls``)."""

    def forward(self, reg_score: torch.Tensor, label: torch.Tensor, threshold: float = 0.5,
                ratio_range: tuple[float, float] = (1.05, 21),
                eps: float = 1e-5) -> torch.Tensor:
        """See :func:`binary_logistic_regression_loss`."""
        return binary_logistic_regression_loss(reg_score, label, threshold, ratio_range, eps)


@LOSSES.register_module()
class BMNLoss(nn.Module):
    """BMN loss: ``weight_tem * tem + weight_pem_reg * pem_reg + weight_pem_cls * pem_cls``.

    ``forward`` returns ``(loss, tem_loss, pem_reg_loss, pem_cls_loss)``.
    """

    @staticmethod
    def tem_loss(pred_start: torch.Tensor, pred_end: torch.Tensor, gt_start: torch.Tensor,
                 gt_end: torch.Tensor) -> torch.Tensor:
        """Temporal evaluation loss: balanced log loss of the start and end probabilities."""
        return (binary_logistic_regression_loss(pred_start, gt_start)
                + binary_logistic_regression_loss(pred_end, gt_end))

    @staticmethod
    def pem_reg_loss(pred_score: torch.Tensor, gt_iou_map: torch.Tensor, mask: torch.Tensor,
                     high_temporal_iou_threshold: float = 0.7,
                     low_temporal_iou_threshold: float = 0.3) -> torch.Tensor:
        """Proposal evaluation regression loss: half the MSE over a sampled set of map cells.

        All cells with IoU above ``high_temporal_iou_threshold`` are used; medium-IoU cells and
        low (but non-zero, inside ``mask``) cells are sampled at random to about as many as the
        high ones. As in MMAction2 0.x, when the high cells outnumber a group the sampling
        threshold goes negative and every cell outside that group is selected as well.
        """
        u_hmask = (gt_iou_map > high_temporal_iou_threshold).float()
        u_mmask = ((gt_iou_map <= high_temporal_iou_threshold)
                   & (gt_iou_map > low_temporal_iou_threshold)).float()
        u_lmask = ((gt_iou_map <= low_temporal_iou_threshold) & (gt_iou_map > 0.)).float() * mask
        num_h = torch.sum(u_hmask)
        r_m = num_h / torch.sum(u_mmask)
        u_smmask = ((u_mmask * torch.rand_like(gt_iou_map)) > (1. - r_m)).float()
        r_l = num_h / torch.sum(u_lmask)
        u_slmask = ((u_lmask * torch.rand_like(gt_iou_map)) > (1. - r_l)).float()
        weights = u_hmask + u_smmask + u_slmask
        # mean((w * (p - g))^2) * numel / sum(w), written out
        return 0.5 * torch.sum(((pred_score - gt_iou_map) * weights) ** 2) / torch.sum(weights)

    @staticmethod
    def pem_cls_loss(pred_score: torch.Tensor, gt_iou_map: torch.Tensor, mask: torch.Tensor,
                     threshold: float = 0.9, ratio_range: tuple[float, float] = (1.05, 21),
                     eps: float = 1e-5) -> torch.Tensor:
        """Proposal evaluation classification loss: balanced log loss, IoU > ``threshold``
        positive, the other cells inside ``mask`` negative."""
        pmask = (gt_iou_map > threshold).float()
        nmask = (gt_iou_map <= threshold).float() * mask
        num_positive = torch.clamp(torch.sum(pmask), min=1)
        num_entries = num_positive + torch.sum(nmask)
        coef_0, coef_1 = _balance_coefficients(num_entries / num_positive, ratio_range)
        loss_pos = coef_1 * torch.log(pred_score + eps) * pmask
        loss_neg = coef_0 * torch.log(1.0 - pred_score + eps) * nmask
        return -1 * torch.sum(loss_pos + loss_neg) / num_entries

    def forward(self, pred_bm: torch.Tensor, pred_start: torch.Tensor, pred_end: torch.Tensor,
                gt_iou_map: torch.Tensor, gt_start: torch.Tensor, gt_end: torch.Tensor,
                bm_mask: torch.Tensor, weight_tem: float = 1.0, weight_pem_reg: float = 10.0,
                weight_pem_cls: float = 1.0) -> tuple[torch.Tensor, ...]:
        """Compute the BMN loss.

        Args:
            pred_bm (torch.Tensor): ``[N, 2, D, T]`` confidence map (channel 0 regression,
                channel 1 classification), D the duration axis and T the start axis.
            pred_start (torch.Tensor): ``[N, T]`` start probabilities.
            pred_end (torch.Tensor): ``[N, T]`` end probabilities.
            gt_iou_map (torch.Tensor): ``[N, D, T]`` IoU of each (duration, start) proposal with
                the ground truth.
            gt_start (torch.Tensor): ``[N, T]`` start targets.
            gt_end (torch.Tensor): ``[N, T]`` end targets.
            bm_mask (torch.Tensor): ``[D, T]`` 1 where the proposal ends inside the video.
            weight_tem (float): weight of the temporal evaluation loss.
            weight_pem_reg (float): weight of the proposal regression loss.
            weight_pem_cls (float): weight of the proposal classification loss.

        Returns:
            tuple[torch.Tensor, ...]: ``(loss, tem_loss, pem_reg_loss, pem_cls_loss)``.
        """
        pred_bm_reg = pred_bm[:, 0].contiguous()
        pred_bm_cls = pred_bm[:, 1].contiguous()
        gt_iou_map = gt_iou_map * bm_mask
        pem_reg_loss = self.pem_reg_loss(pred_bm_reg, gt_iou_map, bm_mask)
        pem_cls_loss = self.pem_cls_loss(pred_bm_cls, gt_iou_map, bm_mask)
        tem_loss = self.tem_loss(pred_start, pred_end, gt_start, gt_end)
        loss = weight_tem * tem_loss + weight_pem_reg * pem_reg_loss + weight_pem_cls * pem_cls_loss
        return loss, tem_loss, pem_reg_loss, pem_cls_loss
