"""Video Swin Transformer: shifted-window self-attention over 3D patches.

Liu et al., "Video Swin Transformer", https://arxiv.org/abs/2106.13230.

Swin is not in MMAction2 0.x; this follows MMAction2 1.x's ``SwinTransformer3D`` (arguments and
state-dict keys: ``patch_embed.proj.weight``, ``layers.0.blocks.0.attn.qkv.weight``,
``....attn.relative_position_bias_table``, ``....mlp.fc1.weight``, ``layers.0.downsample.
reduction.weight``, ``norm3.weight``), so its Kinetics checkpoints load with ``strict=True``.
With ``pretrained2d=True`` an ImageNet Swin checkpoint is inflated as 1.x does.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import reduce
from operator import mul
from typing import Any

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn

from ..builder import BACKBONES
from ..layers import (build_activation_layer, build_norm_layer, constant_init, freeze,
                      trunc_normal_init)
from .weights3d import load_3d_state_dict, read_state_dict
from .timesformer import DropPath, _linspace

__all__ = ['SwinTransformer3D']

logger = logging.getLogger(__name__)

Size3 = tuple[int, int, int]


def _window_partition(x: torch.Tensor, ws: Size3) -> torch.Tensor:
    """``[B, D, H, W, C]`` -> ``[B * num_windows, wd * wh * ww, C]``."""
    b, d, h, w, c = x.shape
    x = x.view(b, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, reduce(mul, ws), c)


def _window_reverse(windows: torch.Tensor, ws: Size3, b: int, d: int, h: int,
                    w: int) -> torch.Tensor:
    """The inverse of :func:`_window_partition`: back to ``[B, D, H, W, C]``."""
    x = windows.view(b, d // ws[0], h // ws[1], w // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def _fit_window(size: Size3, window: Size3, shift: Size3) -> tuple[Size3, Size3]:
    """Shrink the window (and drop the shift) along axes no longer than the window."""
    ws, ss = list(window), list(shift)
    for i in range(3):
        if size[i] <= window[i]:
            ws[i], ss[i] = size[i], 0
    return tuple(ws), tuple(ss)  # type: ignore[return-value]


def _shift_mask(dp: int, hp: int, wp: int, ws: Size3, ss: Size3,
                device: torch.device) -> torch.Tensor:
    """``[num_windows, N, N]``: -100 between tokens that the cyclic shift made neighbours."""
    region = torch.zeros((1, dp, hp, wp, 1), device=device)
    label = 0
    for ds in (slice(-ws[0]), slice(-ws[0], -ss[0]), slice(-ss[0], None)):
        for hs in (slice(-ws[1]), slice(-ws[1], -ss[1]), slice(-ss[1], None)):
            for wsl in (slice(-ws[2]), slice(-ws[2], -ss[2]), slice(-ss[2], None)):
                region[:, ds, hs, wsl, :] = label
                label += 1
    windows = _window_partition(region, ws).squeeze(-1)
    diff = windows.unsqueeze(1) - windows.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


class WindowAttention3D(nn.Module):
    """Multi-head self-attention inside a window, with a learned relative position bias."""

    def __init__(self, embed_dims: int, window_size: Size3, num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop: float = 0.0,
                 proj_drop: float = 0.0) -> None:
        super().__init__()
        self.embed_dims, self.window_size, self.num_heads = embed_dims, window_size, num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        wd, wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1), num_heads))
        coords = torch.stack(torch.meshgrid(torch.arange(wd), torch.arange(wh), torch.arange(ww),
                                            indexing='ij')).flatten(1)  # [3, N]
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # [N, N, 3]
        rel = rel + torch.tensor([wd - 1, wh - 1, ww - 1])
        rel = rel * torch.tensor([(2 * wh - 1) * (2 * ww - 1), 2 * ww - 1, 1])
        self.register_buffer('relative_position_index', rel.sum(-1))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x ``[B * num_windows, N, C]``; mask ``[num_windows, N, N]`` or None."""
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, heads, N, C / heads]
        index = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1)
        bias = bias.unsqueeze(0)  # [1, heads, N, N]
        if mask is not None:
            nw = mask.shape[0]
            bias = (bias.unsqueeze(0) + mask[None, :, None]).expand(b // nw, -1, -1, -1, -1)
            bias = bias.reshape(b, self.num_heads, n, n)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias.to(q.dtype),
            dropout_p=self.attn_drop if self.training else 0.0, scale=self.scale)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, c)))


class Mlp(nn.Module):
    """``fc1``, activation, dropout, ``fc2``, dropout (``out_features`` defaults to the input's;
    also the MLP of MViT and UniFormer)."""

    def __init__(self, in_features: int, hidden_features: int,
                 act_cfg: Mapping[str, Any] = dict(type='GELU'), drop: float = 0.0,
                 out_features: int | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SwinTransformerBlock3D(nn.Module):
    """(Shifted-)window attention and an MLP, each pre-normed with a residual."""

    def __init__(self, embed_dims: int, num_heads: int, window_size: Size3, shift_size: Size3,
                 mlp_ratio: float, qkv_bias: bool, qk_scale: float | None, drop: float,
                 attn_drop: float, drop_path: float, act_cfg: Mapping[str, Any],
                 norm_cfg: Mapping[str, Any], with_cp: bool) -> None:
        super().__init__()
        if not all(0 <= s < w for s, w in zip(shift_size, window_size)):
            raise ValueError(f'shift_size {shift_size} must lie in [0, window_size {window_size})')
        self.window_size, self.shift_size, self.with_cp = window_size, shift_size, with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = WindowAttention3D(embed_dims, window_size, num_heads, qkv_bias, qk_scale,
                                      attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), act_cfg, drop)

    def _attend(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        ws, ss = _fit_window((d, h, w), self.window_size, self.shift_size)
        x = self.norm1(x)
        pads = [(ws[i] - size % ws[i]) % ws[i] for i, size in enumerate((d, h, w))]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        _, dp, hp, wp, _ = x.shape
        shifted = any(s > 0 for s in ss)
        if shifted:
            x = torch.roll(x, shifts=(-ss[0], -ss[1], -ss[2]), dims=(1, 2, 3))
        windows = self.attn(_window_partition(x, ws), mask=mask if shifted else None)
        x = _window_reverse(windows.view(-1, *ws, c), ws, b, dp, hp, wp)
        if shifted:
            x = torch.roll(x, shifts=ss, dims=(1, 2, 3))
        return x[:, :d, :h, :w, :].contiguous() if any(pads) else x

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop_path(self.mlp(self.norm2(x)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Args: x ``[B, D, H, W, C]``; mask from :func:`_shift_mask`."""
        if self.with_cp and x.requires_grad:
            x = x + self.drop_path(cp.checkpoint(self._attend, x, mask, use_reentrant=False))
            return x + cp.checkpoint(self._feed_forward, x, use_reentrant=False)
        x = x + self.drop_path(self._attend(x, mask))
        return x + self._feed_forward(x)


class PatchMerging(nn.Module):
    """Concatenate each 2x2 spatial neighbourhood, normalise, project 4C -> 2C."""

    def __init__(self, embed_dims: int, norm_cfg: Mapping[str, Any] = dict(type='LN')) -> None:
        super().__init__()
        self.out_embed_dims = 2 * embed_dims
        self.reduction = nn.Linear(4 * embed_dims, 2 * embed_dims, bias=False)
        self.norm = build_norm_layer(norm_cfg, 4 * embed_dims)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D, H, W, C]`` -> ``[B, D, ceil(H/2), ceil(W/2), 2C]``."""
        h, w = x.shape[2], x.shape[3]
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2],
                       x[:, :, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    """One stage: ``depth`` blocks alternating plain and shifted windows, then a merge."""

    def __init__(self, embed_dims: int, depth: int, num_heads: int, window_size: Size3,
                 mlp_ratio: float, qkv_bias: bool, qk_scale: float | None, drop: float,
                 attn_drop: float, drop_paths: Sequence[float], act_cfg: Mapping[str, Any],
                 norm_cfg: Mapping[str, Any], downsample: bool, with_cp: bool) -> None:
        super().__init__()
        self.window_size = window_size
        self.shift_size: Size3 = tuple(s // 2 for s in window_size)  # type: ignore[assignment]
        self.blocks = nn.ModuleList([
            SwinTransformerBlock3D(embed_dims, num_heads, window_size,
                                   (0, 0, 0) if i % 2 == 0 else self.shift_size, mlp_ratio,
                                   qkv_bias, qk_scale, drop, attn_drop, drop_paths[i], act_cfg,
                                   norm_cfg, with_cp)
            for i in range(depth)])
        self.downsample = PatchMerging(embed_dims, norm_cfg) if downsample else None
        self.out_embed_dims = 2 * embed_dims if downsample else embed_dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, D, H, W]`` -> ``[B, D, H, W, C]`` (not yet merged)."""
        _, _, d, h, w = x.shape
        ws, ss = _fit_window((d, h, w), self.window_size, self.shift_size)
        x = x.permute(0, 2, 3, 4, 1)
        padded = [-(-size // ws[i]) * ws[i] for i, size in enumerate((d, h, w))]
        mask = _shift_mask(*padded, ws, ss, x.device) if any(ss) else None
        for block in self.blocks:
            x = block(x, mask)
        return x


class PatchEmbed3D(nn.Module):
    """Non-overlapping ``patch_size`` cubes projected by a strided Conv3d, optionally normed."""

    def __init__(self, patch_size: Size3, in_channels: int, embed_dims: int,
                 norm_cfg: Mapping[str, Any] | None) -> None:
        super().__init__()
        self.patch_size, self.embed_dims = patch_size, embed_dims
        self.proj = nn.Conv3d(in_channels, embed_dims, patch_size, stride=patch_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W]`` (padded up to whole patches) -> ``[B, M, T/pt, H/ph, W/pw]``."""
        pt, ph, pw = self.patch_size
        t, h, w = x.shape[2:]
        x = F.pad(x, (0, -w % pw, 0, -h % ph, 0, -t % pt))
        x = self.proj(x)
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        return x


@BACKBONES.register_module()
class SwinTransformer3D(nn.Module):
    """Video Swin Transformer backbone (MMAction2 1.x).

    Args:
        arch: ``'tiny'``, ``'small'``, ``'base'``, ``'large'`` (or ``'t'``/``'s'``/``'b'``/
            ``'l'``), or a dict with ``embed_dims``, ``depths`` and ``num_heads``.
        pretrained: a checkpoint (local path or hub-cache URL) loaded in ``init_weights``.
        pretrained2d: ``pretrained`` is a 2D (ImageNet) Swin to inflate.
        patch_size: (t, h, w) patch size.
        in_channels: input channels.
        window_size: (t, h, w) attention window.
        mlp_ratio: MLP hidden width over token width.
        qkv_bias: bias in the qkv projection.
        qk_scale: attention scale (default ``head_dim ** -0.5``).
        drop_rate, attn_drop_rate: dropout after projections / on attention weights.
        drop_path_rate: stochastic depth of the last block (linear from 0).
        act_cfg, norm_cfg: layer configs.
        patch_norm: normalise the patch embeddings.
        frozen_stages: freeze the patch embedding and stages ``1..frozen_stages`` (-1: nothing).
        with_cp: gradient checkpointing in every block.
        out_indices: stages whose (normalised) output is returned.
        out_after_downsample: take each output after the stage's patch merging.

    Example:
        >>> model = SwinTransformer3D(arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
        ...                           pretrained2d=False, window_size=(2, 4, 4), out_indices=(1,))
        >>> model(torch.rand(1, 3, 4, 32, 32)).shape
        torch.Size([1, 32, 2, 4, 4])
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(embed_dims=96, depths=[2, 2, 6, 2],
                                            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['s', 'small'], dict(embed_dims=96, depths=[2, 2, 18, 2],
                                             num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['b', 'base'], dict(embed_dims=128, depths=[2, 2, 18, 2],
                                            num_heads=[4, 8, 16, 32])),
        **dict.fromkeys(['l', 'large'], dict(embed_dims=192, depths=[2, 2, 18, 2],
                                             num_heads=[6, 12, 24, 48])),
    }

    def __init__(self, arch: str | Mapping[str, Any], pretrained: str | None = None,
                 pretrained2d: bool = True, patch_size: int | Sequence[int] = (2, 4, 4),
                 in_channels: int = 3, window_size: Sequence[int] = (8, 7, 7),
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: float | None = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.1,
                 act_cfg: Mapping[str, Any] = dict(type='GELU'),
                 norm_cfg: Mapping[str, Any] = dict(type='LN'), patch_norm: bool = True,
                 frozen_stages: int = -1, with_cp: bool = False,
                 out_indices: Sequence[int] = (3,), out_after_downsample: bool = False) -> None:
        super().__init__()
        settings = self._arch_settings(arch)
        self.embed_dims, self.depths = settings['embed_dims'], list(settings['depths'])
        self.num_heads = list(settings['num_heads'])
        self.num_layers = len(self.depths)
        if not out_indices or max(out_indices) >= self.num_layers or min(out_indices) < 0:
            raise ValueError(f'SwinTransformer3D: out_indices must be in 0..{self.num_layers - 1}'
                             f', got {tuple(out_indices)}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'SwinTransformer3D: pretrained must be a str or None, '
                            f'got {pretrained!r}')
        self.pretrained, self.pretrained2d = pretrained, pretrained2d
        self.patch_size: Size3 = ((patch_size,) * 3 if isinstance(patch_size, int)
                                  else tuple(patch_size))  # type: ignore[assignment]
        self.window_size: Size3 = tuple(window_size)  # type: ignore[assignment]
        self.in_channels, self.frozen_stages = in_channels, frozen_stages
        self.out_indices, self.out_after_downsample = tuple(out_indices), out_after_downsample
        self.patch_embed = PatchEmbed3D(self.patch_size, in_channels, self.embed_dims,
                                        norm_cfg if patch_norm else None)
        self.pos_drop = nn.Dropout(p=drop_rate)
        rates = _linspace(drop_path_rate, sum(self.depths))
        self.layers = nn.ModuleList()
        dims = [self.embed_dims]
        for i, (depth, heads) in enumerate(zip(self.depths, self.num_heads)):
            layer = BasicLayer(dims[-1], depth, heads, self.window_size, mlp_ratio, qkv_bias,
                               qk_scale, drop_rate, attn_drop_rate, rates[:depth], act_cfg,
                               norm_cfg, i < self.num_layers - 1, with_cp)
            rates = rates[depth:]
            self.layers.append(layer)
            dims.append(layer.out_embed_dims)
        self.num_features = dims[1:] if out_after_downsample else dims[:-1]
        for i in self.out_indices:
            norm = (build_norm_layer(norm_cfg, self.num_features[i])[1] if norm_cfg
                    else nn.Identity())
            self.add_module(f'norm{i}', norm)
        self.feat_dim = self.num_features[self.out_indices[-1]]

    def _arch_settings(self, arch: str | Mapping[str, Any]) -> Mapping[str, Any]:
        if isinstance(arch, str):
            if arch.lower() not in self.arch_zoo:
                raise ValueError(f'SwinTransformer3D: arch must be one of '
                                 f'{sorted(self.arch_zoo)} or a dict, got {arch!r}')
            return self.arch_zoo[arch.lower()]
        keys = {'embed_dims', 'depths', 'num_heads'}
        if not isinstance(arch, Mapping) or set(arch) != keys:
            raise ValueError(f'SwinTransformer3D: a custom arch must be a dict with keys '
                             f'{sorted(keys)}, got {arch!r}')
        if len(arch['depths']) != len(arch['num_heads']) or not 1 <= len(arch['depths']) <= 4:
            raise ValueError(f'SwinTransformer3D: depths and num_heads need the same length '
                             f'(1 to 4), got {arch!r}')
        return arch

    def init_weights(self) -> None:
        """Truncated-normal linears, unit LayerNorms; then inflate or load ``pretrained``."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=0.02, bias=0.0)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, 1.0, bias=0.0)
        if self.pretrained is None:
            return
        logger.info('SwinTransformer3D: loading %s', self.pretrained)
        if self.pretrained2d:
            self.inflate_weights(read_state_dict(self.pretrained))
        else:
            load_3d_state_dict(self, self.pretrained)

    def inflate_weights(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load a 2D Swin: patch weights repeated over time (divided by ``pt``), bias tables
        resized (bicubic) to the window and repeated over its ``2 * wd - 1`` offsets, ``norm``
        renamed ``norm3``."""
        sd = {k: v for k, v in state_dict.items()
              if 'relative_position_index' not in k and 'attn_mask' not in k}
        pt = self.patch_size[0]
        sd['patch_embed.proj.weight'] = sd['patch_embed.proj.weight'].unsqueeze(2).repeat(
            1, 1, pt, 1, 1) / pt
        own = self.state_dict()
        wd, wh, ww = self.window_size
        for key in [k for k in sd if 'relative_position_bias_table' in k]:
            table = sd[key]
            if key not in own or table.shape[1] != own[key].shape[1]:
                logger.warning('inflate: %s has %s heads; not loaded', key, table.shape[1])
                del sd[key]
                continue
            size = (2 * wh - 1) * (2 * ww - 1)
            if table.shape[0] != size:
                side = int(table.shape[0] ** 0.5)
                table = F.interpolate(table.permute(1, 0).view(1, -1, side, side),
                                      size=(2 * wh - 1, 2 * ww - 1), mode='bicubic')
                table = table.view(-1, size).permute(1, 0)
            sd[key] = table.repeat(2 * wd - 1, 1)
        if hasattr(self, 'norm3') and 'norm.weight' in sd:
            sd['norm3.weight'], sd['norm3.bias'] = sd.pop('norm.weight'), sd.pop('norm.bias')
        result = self.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)
        logger.info('inflate: missing %s; unused %s', result.missing_keys,
                    sorted(set(sd) - set(own)))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args: x ``[N, C, T, H, W]``. Returns ``[N, C_i, T', H', W']`` per out index."""
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f'SwinTransformer3D takes (N, C, T, H, W) with C = '
                             f'{self.in_channels}; got shape {tuple(x.shape)}')
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x.contiguous())  # [B, D, H, W, C]
            if self.out_after_downsample and layer.downsample is not None:
                x = layer.downsample(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(x).permute(0, 4, 1, 2, 3).contiguous())
            if not self.out_after_downsample and layer.downsample is not None:
                x = layer.downsample(x)
            x = x.permute(0, 4, 1, 2, 3)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            freeze(self.patch_embed)
        freeze(*self.layers[:max(min(self.frozen_stages, self.num_layers), 0)])

    def train(self, mode: bool = True) -> 'SwinTransformer3D':
        """Switch mode, keeping frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self
