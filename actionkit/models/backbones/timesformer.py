"""TimeSformer: a ViT over space-time patches, with divided, joint or space-only attention.

Bertasius et al., "Is Space-Time Attention All You Need for Video Understanding?",
https://arxiv.org/abs/2102.05095.

MMAction2 0.x built the encoder from mmcv's generic transformer layers; the plain modules here
reproduce that nesting, so checkpoint keys match (``transformer_layers.layers.0.attentions.0.
attn.in_proj_weight``, ``....attentions.0.temporal_fc.weight``, ``....ffns.0.layers.0.0.weight``,
``....ffns.0.norm.weight`` for divided attention, ``....norms.0.weight`` for the others).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import build_norm_layer, kaiming_init
from .weights3d import read_state_dict

__all__ = ['DropPath', 'TimeSformer']

logger = logging.getLogger(__name__)

_ATTENTION_TYPES = ('divided_space_time', 'space_only', 'joint_space_time')


def _linspace(end: float, num: int) -> list[float]:
    """``num`` evenly spaced rates from 0 to ``end`` (the stochastic depth schedule)."""
    return [end * i / (num - 1) for i in range(num)] if num > 1 else [0.0] * num


class DropPath(nn.Module):
    """Stochastic depth: zero whole samples with probability ``drop_prob`` while training."""

    def __init__(self, drop_prob: float = 0.1) -> None:
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = (keep + torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype,
                                  device=x.device)).floor()
        return x / keep * mask


class _FFN(nn.Module):
    """Linear-GELU-Linear with a residual; ``norm`` first when ``pre_norm`` (FFNWithNorm)."""

    def __init__(self, embed_dims: int, hidden: int, drop_path: float, pre_norm: bool) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, hidden), nn.GELU(), nn.Dropout(0.0)),
            nn.Linear(hidden, embed_dims), nn.Dropout(0.0))
        self.dropout_layer = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        if pre_norm:
            self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.pre_norm = pre_norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(self.norm(x) if self.pre_norm else x)
        return x + self.dropout_layer(out)


class _DividedTemporalAttention(nn.Module):
    """Attention of each patch over the same patch in the other frames (cls token untouched)."""

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int,
                 drop_path: float) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)
        self.proj_drop = nn.Dropout(0.0)
        self.dropout_layer = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.temporal_fc = nn.Linear(embed_dims, embed_dims)
        nn.init.zeros_(self.temporal_fc.weight)
        nn.init.zeros_(self.temporal_fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls_token, patches = x[:, :1], x[:, 1:]  # patches [B, P*T, M], frame index fastest
        b, pt, m = patches.shape
        t = self.num_frames
        query = self.norm(patches.reshape(b * (pt // t), t, m))  # [B*P, T, M]
        out = self.attn(query, query, query, need_weights=False)[0]
        out = self.temporal_fc(self.dropout_layer(self.proj_drop(out)))
        return torch.cat((cls_token, patches + out.reshape(b, pt, m)), dim=1)


class _DividedSpatialAttention(nn.Module):
    """Attention of each patch (and the cls token) over the patches of its own frame."""

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int,
                 drop_path: float) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)
        self.proj_drop = nn.Dropout(0.0)
        self.dropout_layer = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls_token, patches = x[:, :1], x[:, 1:]
        b, pt, m = patches.shape
        t = self.num_frames
        p = pt // t
        frames = patches.reshape(b, p, t, m).transpose(1, 2).reshape(b * t, p, m)
        query = torch.cat((cls_token.repeat(1, t, 1).reshape(b * t, 1, m), frames), dim=1)
        query = self.norm(query)  # [B*T, 1 + P, M]
        out = self.attn(query, query, query, need_weights=False)[0]
        out = self.dropout_layer(self.proj_drop(out))
        new_cls = out[:, 0].reshape(b, t, m).mean(dim=1, keepdim=True)
        new_patches = out[:, 1:].reshape(b, t, p, m).transpose(1, 2).reshape(b, pt, m)
        return x + torch.cat((new_cls, new_patches), dim=1)


class _MultiheadAttention(nn.Module):
    """mmcv's MultiheadAttention wrapper: ``identity + drop_path(attn(x))``."""

    def __init__(self, embed_dims: int, num_heads: int, drop_path: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)
        self.proj_drop = nn.Dropout(0.0)
        self.dropout_layer = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, query: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        out = self.attn(query, query, query, need_weights=False)[0]
        return identity + self.dropout_layer(self.proj_drop(out))


class _TransformerLayer(nn.Module):
    """One encoder layer with mmcv's ``attentions`` / ``ffns`` / ``norms`` lists."""

    def __init__(self, attention_type: str, embed_dims: int, num_heads: int, num_frames: int,
                 drop_path: float) -> None:
        super().__init__()
        self.divided = attention_type == 'divided_space_time'
        hidden = embed_dims * 4
        if self.divided:
            self.attentions = nn.ModuleList([
                _DividedTemporalAttention(embed_dims, num_heads, num_frames, drop_path),
                _DividedSpatialAttention(embed_dims, num_heads, num_frames, drop_path)])
            self.ffns = nn.ModuleList([_FFN(embed_dims, hidden, drop_path, pre_norm=True)])
            self.norms = nn.ModuleList()
        else:
            self.attentions = nn.ModuleList([_MultiheadAttention(embed_dims, num_heads,
                                                                 drop_path)])
            self.ffns = nn.ModuleList([_FFN(embed_dims, hidden, drop_path, pre_norm=False)])
            self.norms = nn.ModuleList([nn.LayerNorm(embed_dims, eps=1e-6) for _ in range(2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.divided:
            return self.ffns[0](self.attentions[1](self.attentions[0](x)))
        x = self.attentions[0](self.norms[0](x), identity=x)
        return x + self.ffns[0].dropout_layer(self.ffns[0].layers(self.norms[1](x)))


class _TransformerLayerSequence(nn.Module):
    def __init__(self, layers: list[_TransformerLayer]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class _PatchEmbed(nn.Module):
    """Each frame cut into ``patch_size`` squares, projected by a strided Conv2d."""

    def __init__(self, img_size: int | tuple[int, int], patch_size: int, in_channels: int,
                 embed_dims: int) -> None:
        super().__init__()
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if self.img_size[0] % patch_size or self.img_size[1] % patch_size:
            raise ValueError(f'TimeSformer: img_size {self.img_size} must be divisible by '
                             f'patch_size {patch_size}')
        self.num_patches = (self.img_size[0] // patch_size) * (self.img_size[1] // patch_size)
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)
        kaiming_init(self.projection, mode='fan_in', nonlinearity='linear')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(b * t, c, h, w)
        return self.projection(x).flatten(2).transpose(1, 2)  # [B*T, P, M]


@BACKBONES.register_module()
class TimeSformer(nn.Module):
    """TimeSformer backbone; returns the final cls token ``[N, embed_dims]``.

    Args:
        num_frames: frames per clip (T of the input).
        img_size: input height and width (an int or a pair).
        patch_size: side of the square patches.
        pretrained: a ViT checkpoint in MMAction2's layout (local path or hub-cache URL),
            loaded non-strictly in ``init_weights``; for divided attention its attention
            weights initialise both the temporal and the spatial attention.
        embed_dims: token width.
        num_heads: attention heads.
        num_transformer_layers: encoder depth.
        in_channels: input channels.
        dropout_ratio: dropout after the position and time embeddings.
        transformer_layers: must be ``None`` (custom mmcv layer configs are not supported).
        attention_type: ``'divided_space_time'``, ``'space_only'`` or ``'joint_space_time'``.
        norm_cfg: the final norm.

    Example:
        >>> model = TimeSformer(num_frames=2, img_size=32, patch_size=16, embed_dims=24,
        ...                     num_heads=2, num_transformer_layers=1)
        >>> model(torch.rand(1, 3, 2, 32, 32)).shape
        torch.Size([1, 24])
    """

    supported_attention_types = _ATTENTION_TYPES

    def __init__(self, num_frames: int, img_size: int | tuple[int, int], patch_size: int,
                 pretrained: str | None = None, embed_dims: int = 768, num_heads: int = 12,
                 num_transformer_layers: int = 12, in_channels: int = 3,
                 dropout_ratio: float = 0.0, transformer_layers: Mapping[str, Any] | None = None,
                 attention_type: str = 'divided_space_time',
                 norm_cfg: Mapping[str, Any] = dict(type='LN', eps=1e-6)) -> None:
        super().__init__()
        if attention_type not in _ATTENTION_TYPES:
            raise ValueError(f'TimeSformer: attention_type must be one of {_ATTENTION_TYPES}, '
                             f'got {attention_type!r}')
        if transformer_layers is not None:
            raise ValueError('TimeSformer: custom transformer_layers configs (mmcv layer '
                             'sequences) are not supported; leave transformer_layers=None')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'TimeSformer: pretrained must be a str or None, got {pretrained!r}')
        if embed_dims % num_heads:
            raise ValueError(f'TimeSformer: embed_dims ({embed_dims}) must be divisible by '
                             f'num_heads ({num_heads})')
        self.num_frames, self.pretrained = num_frames, pretrained
        self.embed_dims, self.in_channels = embed_dims, in_channels
        self.num_transformer_layers = num_transformer_layers
        self.attention_type = attention_type
        self.patch_embed = _PatchEmbed(img_size, patch_size, in_channels, embed_dims)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        self.drop_after_pos = nn.Dropout(p=dropout_ratio)
        if attention_type != 'space_only':
            self.time_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dims))
            self.drop_after_time = nn.Dropout(p=dropout_ratio)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        drop_paths = _linspace(0.1, num_transformer_layers)
        self.transformer_layers = _TransformerLayerSequence([
            _TransformerLayer(attention_type, embed_dims, num_heads, num_frames, dpr)
            for dpr in drop_paths])

    def init_weights(self, pretrained: str | None = None) -> None:
        """Truncated-normal cls token and position embedding, then load ``pretrained``."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if pretrained:
            self.pretrained = pretrained
        if isinstance(self.pretrained, str):
            logger.info('TimeSformer: loading %s', self.pretrained)
            state_dict = self._convert_vit(read_state_dict(self.pretrained))
            result = self.load_state_dict(state_dict, strict=False)
            if result.missing_keys:
                logger.info('TimeSformer: not in %s: %s', self.pretrained, result.missing_keys)

    def _convert_vit(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Map a ViT's pre-norm layer keys onto the divided-attention layout (0.x's rule)."""
        state_dict = {k[len('backbone.'):] if k.startswith('backbone.') else k: v
                      for k, v in state_dict.items()}
        if self.attention_type != 'divided_space_time':
            return state_dict
        renamed = {}
        for key, value in state_dict.items():
            key = key.replace('norms.0', 'attentions.0.norm').replace('norms.1', 'ffns.0.norm')
            renamed[key] = value
        for key in [k for k in renamed if 'attentions.0' in k]:
            renamed[key.replace('attentions.0', 'attentions.1')] = renamed[key].clone()
        return renamed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, C, T, H, W]``. Returns the normalised cls token ``[N, embed_dims]``."""
        h, w = self.patch_embed.img_size
        if x.dim() != 5 or tuple(x.shape[1:]) != (self.in_channels, self.num_frames, h, w):
            raise ValueError(f'TimeSformer takes (N, C, T, H, W) = (N, {self.in_channels}, '
                             f'{self.num_frames}, {h}, {w}); got shape {tuple(x.shape)}')
        b, t = x.shape[0], self.num_frames
        x = self.patch_embed(x)  # [B*T, P, M]
        cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
        x = self.drop_after_pos(torch.cat((cls_tokens, x), dim=1) + self.pos_embed)
        if self.attention_type != 'space_only':
            cls_token = x[:b, :1]  # the same vector in every row
            p, m = x.shape[1] - 1, x.shape[2]
            patches = x[:, 1:].reshape(b, t, p, m).transpose(1, 2).reshape(b * p, t, m)
            patches = self.drop_after_time(patches + self.time_embed)
            x = torch.cat((cls_token, patches.reshape(b, p * t, m)), dim=1)  # [B, 1 + P*T, M]
        x = self.transformer_layers(x)
        if self.attention_type == 'space_only':
            x = x.reshape(b, t, *x.shape[1:]).mean(dim=1)  # [B, 1 + P, M]
        return self.norm(x)[:, 0]
