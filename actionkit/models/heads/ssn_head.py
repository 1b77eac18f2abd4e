"""The head of SSN (Structured Segment Networks, https://arxiv.org/abs/1704.06228).

A proposal is augmented by half its length before and after and sampled in three stages
(starting, course, ending). Structured temporal pyramid pooling (STPP) pools the features of
each stage over a small pyramid of parts; the activity classifier (``num_classes + 1`` outputs,
0 is background) reads the course stage, the completeness classifier and the location/duration
regressor read the whole pyramid.

* ``STPPTrain`` pools the per-segment features of sampled training proposals.
* ``STPPTest`` pools per-frame *scores*: at test time the three linear layers are fused into one
  (``prepare_test_fc``) and applied to every sampled frame once; each proposal then averages the
  scores of its frames, part by part.

Parameter names equal MMAction2 0.x's (``activity_fc``, ``completeness_fc``, ``regressor_fc``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import HEADS
from ..layers import normal_init

__all__ = ['parse_stage_config', 'STPPTrain', 'STPPTest', 'SSNHead']

# 0.x's SSNHead default consensus used these names, which its STPP classes never accepted
_LEGACY_CONSENSUS_KEYS = {'stpp_cfg': 'stpp_stage', 'num_seg': 'num_segments_list'}


def parse_stage_config(stage_cfg: int | tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """``(parts, number of multipliers)`` of one STPP stage: ``2 -> ((2,), 2)``,
    ``(1, 2) -> ((1, 2), 3)``."""
    if isinstance(stage_cfg, bool):
        raise ValueError('an STPP stage config must be an int or a tuple of ints, got '
                         f'{stage_cfg!r}')
    if isinstance(stage_cfg, int):
        return (stage_cfg, ), stage_cfg
    if isinstance(stage_cfg, (tuple, list)) and all(isinstance(x, int) for x in stage_cfg):
        return tuple(stage_cfg), sum(stage_cfg)
    raise ValueError(f'an STPP stage config must be an int or a tuple of ints, got {stage_cfg!r}')


def _parse_stages(stpp_stage: Any) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    if not isinstance(stpp_stage, (tuple, list)) or len(stpp_stage) != 3:
        raise ValueError('stpp_stage must be a 3-tuple (starting, course, ending), got '
                         f'{stpp_stage!r}')
    parsed = [parse_stage_config(stage) for stage in stpp_stage]
    return tuple(p[0] for p in parsed), tuple(p[1] for p in parsed)


def _part_ticks(left: float, right: float, num_parts: int) -> list[int]:
    """``num_parts + 1`` integer boundaries evenly spread on [left, right] (truncated)."""
    return torch.arange(left, right + 1e-5, (right - left) / num_parts).int().tolist()


class STPPTrain(nn.Module):
    """Structured temporal pyramid pooling over the segments of training proposals.

    Args:
        stpp_stage (tuple): pyramid of each stage (starting, course, ending); an int ``k`` is
            ``k`` equal parts, a tuple ``(1, 2)`` is a whole plus two halves.
            Default: ``(1, (1, 2), 1)``.
        num_segments_list (tuple[int]): segments sampled in each stage. Default: ``(2, 5, 2)``.
    """

    def __init__(self, stpp_stage: tuple = (1, (1, 2), 1),
                 num_segments_list: tuple[int, int, int] = (2, 5, 2)) -> None:
        super().__init__()
        self.stpp_stages, self.multiplier_list = _parse_stages(stpp_stage)
        self.num_multipliers = sum(self.multiplier_list)
        if len(num_segments_list) != 3 or any(n <= 0 for n in num_segments_list):
            raise ValueError('num_segments_list must be three positive ints, got '
                             f'{num_segments_list!r}')
        self.num_segments_list = tuple(num_segments_list)

    @staticmethod
    def _extract_stage_feature(stage_feat: torch.Tensor, stage_parts: tuple[int, ...],
                               num_multipliers: int, scale_factors: torch.Tensor | None,
                               num_samples: int) -> list[torch.Tensor]:
        """Mean of each pyramid part of ``stage_feat [P, L, C]``, divided by the stage's number
        of parts and scaled per proposal by ``scale_factors [P]`` when given."""
        feats = []
        stage_len = stage_feat.size(1)
        for stage_part in stage_parts:
            ticks = _part_ticks(0, stage_len, stage_part)
            for i in range(stage_part):
                part = stage_feat[:, ticks[i]:ticks[i + 1], :].mean(dim=1) / num_multipliers
                if scale_factors is not None:
                    part = part * scale_factors.view(num_samples, 1)
                feats.append(part)
        return feats

    def forward(self, x: torch.Tensor,
                scale_factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool the features of sampled proposals.

        Args:
            x (torch.Tensor): ``[P * num_segments, C, ...]`` per-segment features.
            scale_factors (torch.Tensor): ``[P, 2]`` share of the starting / ending augmentation
                that lies inside the video.

        Returns:
            tuple: ``course_feat [P, C]`` (activity) and ``stpp_feat [P, C * num_multipliers]``
            (completeness and regression).
        """
        x0 = self.num_segments_list[0]
        x1 = x0 + self.num_segments_list[1]
        num_segments = x1 + self.num_segments_list[2]
        x = x.reshape(-1, num_segments, x.size(1))
        num_samples = x.size(0)
        scale_factors = scale_factors.reshape(-1, 2)
        feats = self._extract_stage_feature(x[:, :x0, :], self.stpp_stages[0],
                                            self.multiplier_list[0], scale_factors[:, 0],
                                            num_samples)
        feats += self._extract_stage_feature(x[:, x0:x1, :], self.stpp_stages[1],
                                             self.multiplier_list[1], None, num_samples)
        feats += self._extract_stage_feature(x[:, x1:, :], self.stpp_stages[2],
                                             self.multiplier_list[2], scale_factors[:, 1],
                                             num_samples)
        return x[:, x0:x1, :].mean(dim=1), torch.cat(feats, dim=1)


class STPPTest(nn.Module):
    """Structured temporal pyramid pooling of per-frame scores at test time.

    Args:
        num_classes (int): action classes (without background).
        use_regression (bool): whether the scores include the regression outputs.
        stpp_stage (tuple): see :class:`STPPTrain`. Default: ``(1, (1, 2), 1)``.
    """

    def __init__(self, num_classes: int, use_regression: bool = True,
                 stpp_stage: tuple = (1, (1, 2), 1)) -> None:
        super().__init__()
        self.activity_score_len = num_classes + 1
        self.complete_score_len = num_classes
        self.reg_score_len = num_classes * 2
        self.use_regression = use_regression
        self.stpp_stage, multipliers = _parse_stages(stpp_stage)
        self.num_multipliers = sum(multipliers)
        reg_len = self.reg_score_len if use_regression else 0
        self.feat_dim = (self.activity_score_len
                         + self.num_multipliers * (self.complete_score_len + reg_len))
        self.activity_slice = slice(0, self.activity_score_len)
        self.complete_slice = slice(self.activity_slice.stop, self.activity_slice.stop
                                    + self.complete_score_len * self.num_multipliers)
        self.reg_slice = slice(self.complete_slice.stop,
                               self.complete_slice.stop + self.reg_score_len * self.num_multipliers)

    def _pyramid_scores(self, raw_scores: torch.Tensor, ticks: list[int],
                        scale_factors: torch.Tensor, score_len: int) -> torch.Tensor:
        """STPP of one proposal: the sum over parts of the part's mean score block."""
        out = torch.zeros(score_len, dtype=raw_scores.dtype)
        offset = 0
        num_stages = len(self.stpp_stage)
        for stage_idx, stage_cfg in enumerate(self.stpp_stage):
            if stage_idx == 0:
                scale = float(scale_factors[0])
            elif stage_idx == num_stages - 1:
                scale = float(scale_factors[1])
            else:
                scale = 1.0
            tick_left = ticks[stage_idx]
            tick_right = float(max(ticks[stage_idx] + 1, ticks[stage_idx + 1]))
            if tick_right <= 0 or tick_left >= raw_scores.size(0):
                offset += sum(stage_cfg)
                continue
            for num_parts in stage_cfg:
                part_ticks = _part_ticks(float(tick_left), tick_right, num_parts)
                for i in range(num_parts):
                    left, right = part_ticks[i], part_ticks[i + 1]
                    if right - left >= 1:
                        block = raw_scores[left:right, offset * score_len:(offset + 1) * score_len]
                        out += block.mean(dim=0).detach().cpu() * scale
                    offset += 1
        return out

    def forward(self, x: torch.Tensor, proposal_ticks: torch.Tensor,
                scale_factors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Pool the per-frame scores of every proposal.

        Args:
            x (torch.Tensor): ``[num_frames, feat_dim]`` fused scores of the sampled frames.
            proposal_ticks (torch.Tensor): ``[P, 4]`` frame indices of the augmented start, the
                start, the end and the augmented end of each proposal.
            scale_factors (torch.Tensor): ``[P, 2]``.

        Returns:
            tuple: activity ``[P, num_classes + 1]``, completeness ``[P, num_classes]`` and
            regression ``[P, 2 * num_classes]`` scores (None without regression), on the CPU.
        """
        if x.size(1) != self.feat_dim:
            raise ValueError(f'STPPTest expects scores with {self.feat_dim} columns, got '
                             f'{x.size(1)}')
        num_ticks = proposal_ticks.size(0)
        activity = torch.zeros((num_ticks, self.activity_score_len), dtype=x.dtype)
        complete = torch.zeros((num_ticks, self.complete_score_len), dtype=x.dtype)
        reg = (torch.zeros((num_ticks, self.reg_score_len), dtype=x.dtype)
               if self.use_regression else None)
        raw_activity = x[:, self.activity_slice]
        raw_complete = x[:, self.complete_slice]
        raw_reg = x[:, self.reg_slice] if self.use_regression else None
        for i in range(num_ticks):
            ticks = [int(t) for t in proposal_ticks[i]]
            activity[i] = raw_activity[ticks[1]:max(ticks[1] + 1, ticks[2]), :].mean(dim=0).cpu()
            complete[i] = self._pyramid_scores(raw_complete, ticks, scale_factors[i],
                                               self.complete_score_len)
            if reg is not None:
                reg[i] = self._pyramid_scores(raw_reg, ticks, scale_factors[i],
                                              self.reg_score_len)
        return activity, complete, reg


@HEADS.register_module()
class SSNHead(nn.Module):
    """SSN's classification head.

    Args:
        dropout_ratio (float): dropout before the classifiers. Default: 0.8.
        in_channels (int): feature channels. Default: 1024.
        num_classes (int): action classes (without background). Default: 20.
        consensus (dict): ``dict(type='STPPTrain', stpp_stage=..., num_segments_list=...)`` for
            training or ``dict(type='STPPTest', stpp_stage=...)`` for testing. The 0.x keys
            ``stpp_cfg`` / ``num_seg`` are read as ``stpp_stage`` / ``num_segments_list``.
        use_regression (bool): also predict location/duration offsets. Default: True.
        init_std (float): std of the normal initialisation. Default: 0.001.
    """

    def __init__(self, dropout_ratio: float = 0.8, in_channels: int = 1024,
                 num_classes: int = 20,
                 consensus: Mapping[str, Any] = dict(type='STPPTrain', standalong_classifier=True,
                                                     stpp_cfg=(1, 1, 1), num_seg=(2, 5, 2)),
                 use_regression: bool = True, init_std: float = 0.001) -> None:
        super().__init__()
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'SSNHead: dropout_ratio must be in [0, 1), got {dropout_ratio!r}')
        for name, value in (('in_channels', in_channels), ('num_classes', num_classes)):
            check_positive_int('SSNHead', name, value)
        self.dropout_ratio = dropout_ratio
        self.num_classes = num_classes
        self.use_regression = use_regression
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.consensus = self._build_consensus(consensus, num_classes, use_regression)
        self.in_channels_activity = in_channels
        self.in_channels_complete = self.consensus.num_multipliers * in_channels
        self.activity_fc = nn.Linear(in_channels, num_classes + 1)
        self.completeness_fc = nn.Linear(self.in_channels_complete, num_classes)
        if use_regression:
            self.regressor_fc = nn.Linear(self.in_channels_complete, num_classes * 2)
        self._test_fc_params: tuple[torch.Tensor, torch.Tensor] | None = None

    @staticmethod
    def _build_consensus(consensus: Mapping[str, Any], num_classes: int,
                         use_regression: bool) -> STPPTrain | STPPTest:
        if not isinstance(consensus, Mapping) or 'type' not in consensus:
            raise TypeError('SSNHead: consensus must be a dict with a "type" key, got '
                            f'{consensus!r}')
        args = {_LEGACY_CONSENSUS_KEYS.get(k, k): v for k, v in consensus.items()
                if k not in ('type', 'standalong_classifier')}
        if consensus['type'] == 'STPPTrain':
            args.pop('use_regression', None)
            return STPPTrain(**args)
        if consensus['type'] == 'STPPTest':
            args.pop('num_segments_list', None)
            args.setdefault('use_regression', use_regression)
            return STPPTest(num_classes=num_classes, **args)
        raise ValueError(f"SSNHead: consensus type must be 'STPPTrain' or 'STPPTest', got "
                         f"{consensus['type']!r}")

    def init_weights(self) -> None:
        """Normal(0, init_std) weights, zero biases."""
        normal_init(self.activity_fc, std=self.init_std)
        normal_init(self.completeness_fc, std=self.init_std)
        if self.use_regression:
            normal_init(self.regressor_fc, std=self.init_std)

    def prepare_test_fc(self, stpp_feat_multiplier: int) -> bool:
        """Fuse the three classifiers into one linear map applied per frame at test time.

        The completeness and regression weights ``[out, parts * C]`` are split per part into
        ``parts`` blocks of ``[out, C]``, and their biases divided by ``parts``, so that pooling
        the per-frame outputs part by part reproduces the classifiers' outputs. The fused
        weights are kept as plain tensors (not parameters: they are derived, and stay out of
        checkpoints).

        Returns:
            bool: True.
        """
        in_features = self.activity_fc.in_features
        weights = [self.activity_fc.weight.detach()]
        biases = [self.activity_fc.bias.detach()]
        layers = [self.completeness_fc] + ([self.regressor_fc] if self.use_regression else [])
        for layer in layers:
            out = layer.out_features
            weights.append(layer.weight.detach().view(out, stpp_feat_multiplier, in_features)
                           .transpose(0, 1).reshape(-1, in_features))
            biases.append(layer.bias.detach().view(1, -1).expand(stpp_feat_multiplier, out)
                          .reshape(-1) / stpp_feat_multiplier)
        self._test_fc_params = (torch.cat(weights), torch.cat(biases))
        return True

    def train(self, mode: bool = True) -> SSNHead:
        """Switch mode; entering training drops the fused test classifier (it goes stale)."""
        if mode:
            self._test_fc_params = None
        return super().train(mode)

    def test_fc(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the fused test-time classifier (``prepare_test_fc`` must have run)."""
        if self._test_fc_params is None:
            self.prepare_test_fc(self.consensus.num_multipliers)
        weight, bias = self._test_fc_params  # type: ignore[misc]
        return F.linear(x, weight.to(x.device), bias.to(x.device))

    def forward(self, x: tuple, test_mode: bool = False) -> tuple:
        """Training: ``x = (features, proposal_scale_factor)`` -> ``(activity_scores,
        complete_scores, bbox_preds [P, num_classes, 2] or None)``. Testing: ``x = (features,
        proposal_ticks, scale_factors)`` -> ``(per-frame scores, activity_scores,
        completeness_scores, bbox_preds)``."""
        if not test_mode:
            feats, proposal_scale_factor = x
            activity_feat, completeness_feat = self.consensus(feats, proposal_scale_factor)
            if self.dropout is not None:
                activity_feat = self.dropout(activity_feat)
                completeness_feat = self.dropout(completeness_feat)
            activity_scores = self.activity_fc(activity_feat)
            complete_scores = self.completeness_fc(completeness_feat)
            bbox_preds = None
            if self.use_regression:
                bbox_preds = self.regressor_fc(completeness_feat).view(-1, self.num_classes, 2)
            return activity_scores, complete_scores, bbox_preds
        feats, proposal_tick_list, scale_factor_list = x
        test_scores = self.test_fc(feats)
        activity, complete, bbox = self.consensus(test_scores, proposal_tick_list,
                                                  scale_factor_list)
        return test_scores, activity, complete, bbox
