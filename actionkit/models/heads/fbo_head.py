"""``FBOHead``: the feature bank operator of Long-Term Feature Banks (arXiv 1812.05038).

A shared head of ``AVARoIHead``. Each RoI feature ``[K, C, T, H, W]`` is pooled over time
then space to ``[K, C, 1, 1, 1]`` (the short-term feature); the long-term features of the
RoI's key frame are sampled from :class:`~actionkit.models.detectors.lfb.LFB` as
``[K, lfb_channels, window_size * max_num_sampled_feat, 1, 1]``; the operator (``'avg'`` /
``'max'`` over the bank, or ``'non_local'`` attention of the short-term on the long-term
features) gives a second feature concatenated after the short-term one on channels.

Keys as MMAction2's: ``roi_head.shared_head.fbo.st_feat_conv.*``, ``.fbo.lt_feat_conv.*``,
``.fbo.non_local_layer_{i}.{st_feat_conv,lt_feat_conv,global_conv,out_conv}.conv.*`` and
``.fbo.non_local_layer_{i}.ln.*`` (the bank holds no parameters).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..builder import HEADS
from ..detectors.lfb import LFB
from ..layers import ConvModule, constant_init, kaiming_init

__all__ = ['FBOHead', 'FBONonLocal', 'FBOAvg', 'FBOMax', 'NonLocalLayer', 'pool_roi_feature']


def pool_roi_feature(temporal_pool_type: str, spatial_pool_type: str) -> nn.Sequential:
    """Temporal pool to ``T=1`` then spatial pool to ``1x1`` (``'avg'`` or ``'max'`` each)."""
    pools = {'avg': nn.AdaptiveAvgPool3d, 'max': nn.AdaptiveMaxPool3d}
    for name, kind in (('temporal_pool_type', temporal_pool_type),
                       ('spatial_pool_type', spatial_pool_type)):
        if kind not in pools:
            raise ValueError(f"{name} must be 'avg' or 'max', got {kind!r}")
    return nn.Sequential(pools[temporal_pool_type]((1, None, None)),
                         pools[spatial_pool_type]((None, 1, 1)))


def _conv1x1(in_channels: int, out_channels: int) -> ConvModule:
    return ConvModule(in_channels, out_channels, 1, conv_cfg=dict(type='Conv3d'),
                      norm_cfg=None, act_cfg=None)


class NonLocalLayer(nn.Module):
    """Attention of ``num_st_feat`` short-term on ``num_lt_feat`` long-term features.

    ``softmax(theta^T phi / sqrt(latent))`` weights ``g``; with ``pre_activate`` the result is
    layer-normed (if ``pre_activate_with_ln``) and ReLU'd before ``out_conv``, otherwise
    ``out_conv`` is followed by the layer norm; then dropout.
    """

    def __init__(self, st_feat_channels: int, lt_feat_channels: int, latent_channels: int,
                 num_st_feat: int, num_lt_feat: int, use_scale: bool = True,
                 pre_activate: bool = True, pre_activate_with_ln: bool = True,
                 conv_cfg: Mapping | None = None, norm_cfg: Mapping | None = None,
                 dropout_ratio: float = 0.2, zero_init_out_conv: bool = False) -> None:
        super().__init__()
        if conv_cfg not in (None, dict(type='Conv3d')) or norm_cfg is not None:
            raise ValueError('NonLocalLayer: only conv_cfg=Conv3d and norm_cfg=None are '
                             'supported (MMAction2 never sets them)')
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'NonLocalLayer: dropout_ratio must be in [0, 1), got '
                             f'{dropout_ratio!r}')
        self.latent_channels = latent_channels
        self.num_st_feat, self.num_lt_feat = num_st_feat, num_lt_feat
        self.use_scale, self.pre_activate = use_scale, pre_activate
        self.pre_activate_with_ln = pre_activate_with_ln
        self.dropout_ratio = dropout_ratio
        self.zero_init_out_conv = zero_init_out_conv
        self.st_feat_conv = _conv1x1(st_feat_channels, latent_channels)
        self.lt_feat_conv = _conv1x1(lt_feat_channels, latent_channels)
        self.global_conv = _conv1x1(lt_feat_channels, latent_channels)
        ln_channels = latent_channels if pre_activate else st_feat_channels
        self.ln = nn.LayerNorm([ln_channels, num_st_feat, 1, 1])
        self.relu = nn.ReLU()
        self.out_conv = _conv1x1(latent_channels, st_feat_channels)
        if dropout_ratio > 0:
            self.dropout = nn.Dropout(dropout_ratio)

    def init_weights(self) -> None:
        """Kaiming for the convolutions; ``out_conv`` zeroed with ``zero_init_out_conv``."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
        if self.zero_init_out_conv:
            constant_init(self.out_conv.conv, 0, bias=0)

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        n, c = st_feat.size(0), self.latent_channels
        theta = self.st_feat_conv(st_feat).view(n, c, self.num_st_feat)
        phi = self.lt_feat_conv(lt_feat).view(n, c, self.num_lt_feat)
        g = self.global_conv(lt_feat).view(n, c, self.num_lt_feat)
        weights = torch.matmul(theta.transpose(1, 2), phi)
        if self.use_scale:
            weights = weights / c ** 0.5
        out = torch.matmul(g, weights.softmax(dim=-1).transpose(1, 2))
        out = out.view(n, c, self.num_st_feat, 1, 1)
        if self.pre_activate:
            if self.pre_activate_with_ln:
                out = self.ln(out)
            out = self.relu(out)
        out = self.out_conv(out)
        if not self.pre_activate:
            out = self.ln(out)
        if self.dropout_ratio > 0:
            out = self.dropout(out)
        return out


class FBONonLocal(nn.Module):
    """1x1 projections of both features to ``latent_channels``, then residual non-local layers."""

    def __init__(self, st_feat_channels: int, lt_feat_channels: int, latent_channels: int,
                 num_st_feat: int, num_lt_feat: int, num_non_local_layers: int = 2,
                 st_feat_dropout_ratio: float = 0.2, lt_feat_dropout_ratio: float = 0.2,
                 pre_activate: bool = True, zero_init_out_conv: bool = False) -> None:
        super().__init__()
        if isinstance(num_non_local_layers, bool) or not isinstance(num_non_local_layers, int) \
                or num_non_local_layers < 1:
            raise ValueError(f'FBONonLocal: num_non_local_layers must be an int >= 1, got '
                             f'{num_non_local_layers!r}')
        for name, ratio in (('st_feat_dropout_ratio', st_feat_dropout_ratio),
                            ('lt_feat_dropout_ratio', lt_feat_dropout_ratio)):
            if not 0 <= ratio < 1:
                raise ValueError(f'FBONonLocal: {name} must be in [0, 1), got {ratio!r}')
        self.st_feat_dropout_ratio = st_feat_dropout_ratio
        self.lt_feat_dropout_ratio = lt_feat_dropout_ratio
        self.pre_activate = pre_activate
        self.st_feat_conv = nn.Conv3d(st_feat_channels, latent_channels, kernel_size=1)
        self.lt_feat_conv = nn.Conv3d(lt_feat_channels, latent_channels, kernel_size=1)
        if st_feat_dropout_ratio > 0:
            self.st_feat_dropout = nn.Dropout(st_feat_dropout_ratio)
        if lt_feat_dropout_ratio > 0:
            self.lt_feat_dropout = nn.Dropout(lt_feat_dropout_ratio)
        if not pre_activate:
            self.relu = nn.ReLU()
        self.non_local_layers = []
        for idx in range(num_non_local_layers):
            name = f'non_local_layer_{idx + 1}'
            self.add_module(name, NonLocalLayer(
                latent_channels, latent_channels, latent_channels, num_st_feat, num_lt_feat,
                pre_activate=pre_activate, zero_init_out_conv=zero_init_out_conv))
            self.non_local_layers.append(name)

    def init_weights(self) -> None:
        kaiming_init(self.st_feat_conv)
        kaiming_init(self.lt_feat_conv)
        for name in self.non_local_layers:
            getattr(self, name).init_weights()

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        st_feat = self.st_feat_conv(st_feat)
        if self.st_feat_dropout_ratio > 0:
            st_feat = self.st_feat_dropout(st_feat)
        lt_feat = self.lt_feat_conv(lt_feat)
        if self.lt_feat_dropout_ratio > 0:
            lt_feat = self.lt_feat_dropout(lt_feat)
        for name in self.non_local_layers:
            st_feat = st_feat + getattr(self, name)(st_feat, lt_feat)
            if not self.pre_activate:
                st_feat = self.relu(st_feat)
        return st_feat


class FBOAvg(nn.Module):
    """The mean of the long-term features over the bank axis."""

    def init_weights(self) -> None:
        """No parameters."""

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        return lt_feat.mean(dim=2, keepdim=True)


class FBOMax(nn.Module):
    """The maximum of the long-term features over the bank axis."""

    def init_weights(self) -> None:
        """No parameters."""

    def forward(self, st_feat: torch.Tensor, lt_feat: torch.Tensor) -> torch.Tensor:
        return lt_feat.amax(dim=2, keepdim=True)


@HEADS.register_module()
class FBOHead(nn.Module):
    """Short-term RoI feature concatenated with its feature bank operator output.

    Args:
        lfb_cfg (dict): arguments of :class:`~actionkit.models.detectors.lfb.LFB`.
        fbo_cfg (dict): ``type`` ``'non_local'`` (default; :class:`FBONonLocal`'s arguments),
            ``'avg'`` or ``'max'``.
        temporal_pool_type (str): ``'avg'`` (default) or ``'max'``.
        spatial_pool_type (str): ``'max'`` (default) or ``'avg'``.
        pretrained: only ``None`` (load weights through the detector's checkpoint).
    """

    fbo_dict = {'non_local': FBONonLocal, 'avg': FBOAvg, 'max': FBOMax}

    def __init__(self, lfb_cfg: Mapping[str, Any], fbo_cfg: Mapping[str, Any],
                 temporal_pool_type: str = 'avg', spatial_pool_type: str = 'max',
                 pretrained: str | None = None) -> None:
        super().__init__()
        if not isinstance(lfb_cfg, Mapping) or not isinstance(fbo_cfg, Mapping):
            raise TypeError('FBOHead: lfb_cfg and fbo_cfg must be dicts')
        if pretrained is not None:
            raise ValueError('FBOHead: pretrained is not supported; load the detector\'s '
                             'checkpoint instead')
        fbo_cfg = dict(copy.deepcopy(fbo_cfg))
        fbo_type = fbo_cfg.pop('type', 'non_local')
        if fbo_type not in self.fbo_dict:
            raise KeyError(f'FBOHead: fbo_cfg type must be one of {sorted(self.fbo_dict)}, '
                           f'got {fbo_type!r}')
        self.lfb_cfg = copy.deepcopy(dict(lfb_cfg))
        self.fbo_cfg = fbo_cfg
        self.lfb = LFB(**self.lfb_cfg)
        self.fbo = self.fbo_dict[fbo_type](**fbo_cfg)
        self.pool = pool_roi_feature(temporal_pool_type, spatial_pool_type)

    def init_weights(self) -> None:
        self.fbo.init_weights()

    def sample_lfb(self, rois: torch.Tensor, img_metas: Sequence[Mapping]) -> torch.Tensor:
        """``[K, lfb_channels, window * max_num_sampled_feat, 1, 1]`` for the RoIs' key frames."""
        feats = [self.lfb[img_metas[int(i)]['img_key']] for i in rois[:, 0].tolist()]
        return torch.stack(feats).transpose(1, 2)[..., None, None].contiguous()

    def forward(self, x: torch.Tensor, rois: torch.Tensor, img_metas: Sequence[Mapping],
                **kwargs: Any) -> torch.Tensor:
        st_feat = self.pool(x)
        lt_feat = self.sample_lfb(rois, img_metas).to(st_feat)
        return torch.cat([st_feat, self.fbo(st_feat, lt_feat)], dim=1)
