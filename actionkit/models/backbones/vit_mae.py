"""``VisionTransformer``: the plain video ViT of VideoMAE / VideoMAEv2 (MMAction2 1.x).

VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised Video
Pre-Training, https://arxiv.org/abs/2203.12602; VideoMAE V2, https://arxiv.org/abs/2303.16727.

A clip ``[N, C, T, H, W]`` is cut into ``tubelet_size x patch_size x patch_size`` tubes (one
Conv3d), a fixed sinusoid (or learned) position table is added, and a stack of pre-norm
transformer blocks runs over all tokens jointly; the output is the mean token after a
LayerNorm (``use_mean_pooling``), the first token, or the token map ``[N, C, T', H', W']``
(``return_feat_map``). Parameter names are MMAction2 1.x's (``patch_embed.projection``,
``blocks.{i}.attn.qkv`` with ``q_bias`` / ``v_bias``, ``blocks.{i}.mlp.layers.0.0`` /
``layers.1``, ``fc_norm``), so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...utils.checks import check_positive_int
from ..builder import BACKBONES
from ..layers import build_norm_layer, constant_init, trunc_normal_init
from .timesformer import DropPath, _linspace

__all__ = ['VisionTransformer', 'sinusoid_table']


def sinusoid_table(num_positions: int, dims: int) -> torch.Tensor:
    """The fixed position table ``[1, num_positions, dims]`` of "Attention Is All You Need":
    ``sin(p / 10000^(2i/d))`` at even ``2i``, ``cos`` of the same angle at ``2i + 1``."""
    index = torch.arange(dims, dtype=torch.float64)
    rates = torch.pow(10000.0, -(index - index % 2) / dims)
    angles = torch.arange(num_positions, dtype=torch.float64)[:, None] * rates[None]
    table = torch.where(index.long() % 2 == 0, angles.sin(), angles.cos())
    return table.float().unsqueeze(0)


class _PatchEmbed(nn.Module):
    """Tubes to tokens: ``[N, C, T, H, W]`` -> ``[N, T' * H' * W', embed_dims]``."""

    def __init__(self, in_channels: int, embed_dims: int, tubelet_size: int,
                 patch_size: int) -> None:
        super().__init__()
        size = (tubelet_size, patch_size, patch_size)
        self.projection = nn.Conv3d(in_channels, embed_dims, kernel_size=size, stride=size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x).flatten(2).transpose(1, 2)


class _Attention(nn.Module):
    """Multi-head self-attention with a q and v bias but no k bias (the VideoMAE form)."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool,
                 qk_scale: float | None, attn_drop_rate: float, drop_rate: float) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'VisionTransformer: embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads})')
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dims = x.shape  # [N, L, C]
        bias = None
        if hasattr(self, 'q_bias'):
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)
        q, k, v = qkv.reshape(n, length, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        attn = self.attn_drop(((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(n, length, dims)
        return self.proj_drop(self.proj(x))


class _Mlp(nn.Module):
    """Linear-GELU-Linear under mmcv's FFN names (``layers.0.0``, ``layers.1``)."""

    def __init__(self, embed_dims: int, hidden: int, drop_rate: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, hidden), nn.GELU(), nn.Dropout(drop_rate)),
            nn.Linear(hidden, embed_dims), nn.Dropout(drop_rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class _Block(nn.Module):
    """Pre-norm block: ``x + a(norm1(x))``, ``x + m(norm2(x))``, each optionally scaled by a
    learned ``gamma`` (``init_values > 0``) and dropped per sample (stochastic depth)."""

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float, qkv_bias: bool,
                 qk_scale: float | None, drop_rate: float, attn_drop_rate: float,
                 drop_path_rate: float, init_values: float,
                 norm_cfg: Mapping[str, Any]) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = _Attention(embed_dims, num_heads, qkv_bias, qk_scale, attn_drop_rate,
                               drop_rate)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = _Mlp(embed_dims, int(embed_dims * mlp_ratio), drop_rate)
        if init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(embed_dims))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(embed_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attn, mlp = self.attn(self.norm1(x)), None
        if hasattr(self, 'gamma_1'):
            x = x + self.drop_path(self.gamma_1 * attn)
            mlp = self.gamma_2 * self.mlp(self.norm2(x))
        else:
            x = x + self.drop_path(attn)
            mlp = self.mlp(self.norm2(x))
        return x + self.drop_path(mlp)


@BACKBONES.register_module()
class VisionTransformer(nn.Module):
    """The VideoMAE ViT (MMAction2 1.x ``VisionTransformer``; arguments and defaults are 1.x's).

    Args:
        img_size (int): the training frame side (sets the position table; other sizes
            interpolate it bicubically per frame). Default: 224.
        patch_size (int): spatial side of a tube. Default: 16.
        in_channels (int): input channels. Default: 3.
        embed_dims (int): token width. Default: 768.
        depth (int): number of blocks. Default: 12.
        num_heads (int): attention heads. Default: 12.
        mlp_ratio (float): MLP hidden width / ``embed_dims``. Default: 4.
        qkv_bias (bool): learn a q and a v bias. Default: True.
        qk_scale (float | None): attention scale; None for ``head_dim ** -0.5``.
        drop_rate, attn_drop_rate (float): dropout after projections / on attention.
        drop_path_rate (float): stochastic depth of the last block (linear from 0).
        norm_cfg (dict): the norm layers. Default: ``dict(type='LN', eps=1e-6)``.
        init_values (float): initial ``gamma`` of the residual branches (0: no gamma).
        use_learnable_pos_emb (bool): a learned position table instead of the sinusoid one
            (which is a buffer, saved in checkpoints as in 1.x). Default: False.
        num_frames (int): frames of a clip. Default: 16.
        tubelet_size (int): temporal side of a tube. Default: 2.
        use_mean_pooling (bool): return ``fc_norm`` of the mean token; else ``norm`` of the
            first token. Default: True.
        pretrained (str | None): a checkpoint of the backbone (or of a recognizer).
        return_feat_map (bool): return ``[N, C, T', H', W']`` tokens instead. Default: False.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_channels: int = 3,
                 embed_dims: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4., qkv_bias: bool = True, qk_scale: float | None = None,
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.,
                 norm_cfg: Mapping[str, Any] = dict(type='LN', eps=1e-6),
                 init_values: float = 0., use_learnable_pos_emb: bool = False,
                 num_frames: int = 16, tubelet_size: int = 2, use_mean_pooling: bool = True,
                 pretrained: str | None = None, return_feat_map: bool = False) -> None:
        super().__init__()
        for arg, value in (('img_size', img_size), ('patch_size', patch_size),
                           ('in_channels', in_channels), ('embed_dims', embed_dims),
                           ('depth', depth), ('num_heads', num_heads),
                           ('num_frames', num_frames), ('tubelet_size', tubelet_size)):
            check_positive_int('VisionTransformer', arg, value)
        if img_size % patch_size or num_frames % tubelet_size:
            raise ValueError(f'VisionTransformer: img_size ({img_size}) must be a multiple of '
                             f'patch_size ({patch_size}) and num_frames ({num_frames}) of '
                             f'tubelet_size ({tubelet_size})')
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        self.pretrained = pretrained
        self.return_feat_map = return_feat_map
        self.patch_embed = _PatchEmbed(in_channels, embed_dims, tubelet_size, patch_size)
        grid = img_size // patch_size
        self.grid_size = (grid, grid)
        num_patches = grid * grid * (num_frames // tubelet_size)
        if use_learnable_pos_emb:
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, embed_dims))
            nn.init.trunc_normal_(self.pos_embed, std=.02)
        else:
            self.register_buffer('pos_embed', sinusoid_table(num_patches, embed_dims))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = _linspace(drop_path_rate, depth)
        self.blocks = nn.ModuleList(
            _Block(embed_dims, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate,
                   attn_drop_rate, rates[i], init_values, norm_cfg) for i in range(depth))
        if use_mean_pooling:
            self.norm = nn.Identity()
            self.fc_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        else:
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
            self.fc_norm = None

    def init_weights(self) -> None:
        """Truncated-normal (std 0.02) linear weights, zero biases, unit LayerNorms; or the
        ``pretrained`` checkpoint."""
        if self.pretrained:
            from ..weights import load_backbone_checkpoint
            load_backbone_checkpoint(self, self.pretrained, lambda key: key)
            return
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_init(module, std=0.02, bias=0.0)
            elif isinstance(module, nn.LayerNorm):
                constant_init(module, 1.0, bias=0.0)

    def _position_table(self, h: int, w: int) -> torch.Tensor:
        """The position table for an ``h x w`` token grid (bicubic per frame when it is not
        the training grid)."""
        if (h, w) == self.grid_size:
            return self.pos_embed
        table = self.pos_embed.reshape(-1, *self.grid_size, self.embed_dims).permute(0, 3, 1, 2)
        table = F.interpolate(table, size=(h, w), mode='bicubic', align_corners=False)
        return table.permute(0, 2, 3, 1).reshape(1, -1, self.embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` -> ``[N, embed_dims]`` (or ``[N, C, T', H', W']``)."""
        if x.dim() != 5:
            raise ValueError('VisionTransformer takes clips of shape (N, C, T, H, W); got '
                             f'{tuple(x.shape)}')
        n, h, w = x.shape[0], x.shape[3] // self.patch_size, x.shape[4] // self.patch_size
        tokens = self.patch_embed(x)  # [N, T' * h * w, C]
        table = self._position_table(h, w)
        if table.shape[1] != tokens.shape[1]:
            raise ValueError(f'VisionTransformer: {tokens.shape[1]} tokens from a clip of shape '
                             f'{tuple(x.shape)} but the position table has {table.shape[1]}; '
                             'give clips of num_frames frames')
        tokens = self.pos_drop(tokens + table)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        if self.return_feat_map:
            return tokens.reshape(n, -1, h, w, self.embed_dims).permute(0, 4, 1, 2, 3)
        if self.fc_norm is not None:
            return self.fc_norm(tokens.mean(dim=1))
        return tokens[:, 0]

