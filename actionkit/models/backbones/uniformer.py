"""UniFormer (v1): convolutional relation aggregators in the shallow stages, self-attention in
the deep ones.

Li et al., "UniFormer: Unified Transformer for Efficient Spatiotemporal Representation
Learning", https://arxiv.org/abs/2201.04676.

UniFormer is not in MMAction2 0.x; this follows MMAction2 1.x's ``UniFormer`` (arguments,
defaults and state-dict keys: ``patch_embed1.proj.weight``, ``patch_embed1.norm.weight``,
``blocks1.0.pos_embed.weight``, ``blocks1.0.conv1.weight``, ``blocks1.0.attn.weight`` (the 5x5x5
depthwise aggregator), ``blocks3.0.attn.qkv.weight``, ``blocks3.0.mlp.fc1.weight``,
``norm.running_mean``), so its checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import constant_init, trunc_normal_init
from .init_cfg import load_inflated, load_init_cfg_checkpoint, pretrained_init_cfg
from .swin import Mlp
from .timesformer import DropPath, _linspace

__all__ = ['UniFormer']

logger = logging.getLogger(__name__)

_URL = 'https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv1/'
PRETRAINED_2D = {  # the ImageNet-1k names 1.x's ``pretrained`` accepts
    'uniformer_small_in1k': _URL + 'uniformer_small_in1k_20221219-fe0a7ae0.pth',
    'uniformer_base_in1k': _URL + 'uniformer_base_in1k_20221219-82c01015.pth',
}


def _conv(inp: int, oup: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1,) * 3,
          padding: tuple[int, int, int] = (0,) * 3, groups: int = 1) -> nn.Conv3d:
    return nn.Conv3d(inp, oup, kernel, stride, padding, groups=groups)


class CMlp(nn.Module):
    """:class:`Mlp` with 1x1x1 convolutions on ``[N, C, T, H, W]``."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = _conv(in_features, hidden_features, (1, 1, 1))
        self.act = nn.GELU()
        self.fc2 = _conv(hidden_features, in_features, (1, 1, 1))
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Attention(nn.Module):
    """Plain multi-head self-attention over ``[B, N, C]`` tokens (``qkv``, ``proj``)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop: float = 0.0,
                 proj_drop: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        attn = self.attn_drop(((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b, n, c)))


class CBlock(nn.Module):
    """Local block: depthwise 3x3x3 position encoding, then BN, 1x1x1, depthwise 5x5x5 and
    1x1x1 convolutions (the local relation aggregator), then a convolutional MLP."""

    def __init__(self, dim: int, mlp_ratio: float = 4.0, drop: float = 0.0,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.pos_embed = _conv(dim, dim, (3, 3, 3), padding=(1, 1, 1), groups=dim)
        self.norm1 = nn.BatchNorm3d(dim)
        self.conv1 = _conv(dim, dim, (1, 1, 1))
        self.conv2 = _conv(dim, dim, (1, 1, 1))
        self.attn = _conv(dim, dim, (5, 5, 5), padding=(2, 2, 2), groups=dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.BatchNorm3d(dim)
        self.mlp = CMlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` -> the same shape."""
        x = x + self.pos_embed(x)
        x = x + self.drop_path(self.conv2(self.attn(self.conv1(self.norm1(x)))))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class SABlock(nn.Module):
    """Global block: depthwise 3x3x3 position encoding, then pre-norm self-attention over all
    ``T*H*W`` tokens and an MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = False,
                 qk_scale: float | None = None, drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.pos_embed = _conv(dim, dim, (3, 3, 3), padding=(1, 1, 1), groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` -> the same shape."""
        x = x + self.pos_embed(x)
        b, c, t, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)  # [N, T*H*W, C]
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x.transpose(1, 2).reshape(b, c, t, h, w)


class PatchEmbed(nn.Module):
    """A ``patch_size`` strided Conv3d (3 frames, temporal stride 2 when ``temporal``; else 1),
    then LayerNorm over channels."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int,
                 temporal: bool = False) -> None:
        super().__init__()
        kernel_t, stride_t, pad_t = (3, 2, 1) if temporal else (1, 1, 0)
        self.proj = _conv(in_chans, embed_dim, (kernel_t, patch_size, patch_size),
                          (stride_t, patch_size, patch_size), (pad_t, 0, 0))
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` -> ``[N, embed_dim, T', H / p, W / p]``."""
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3).contiguous()


@BACKBONES.register_module()
class UniFormer(nn.Module):
    """UniFormer backbone (MMAction2 1.x); returns ``[N, embed_dim[-1], T/2, H/32, W/32]``.

    Args:
        depth: blocks per stage (two convolutional stages, two attention stages).
        img_size: the input size (1.x keeps it for reference; any multiple of 32 works).
        in_chans: input channels.
        embed_dim: channels per stage.
        head_dim: channels per attention head (heads = ``embed_dim[i] // head_dim``).
        mlp_ratio: MLP hidden width over the stage width.
        qkv_bias, qk_scale: attention settings.
        drop_rate, attn_drop_rate: dropout after projections / on attention weights.
        drop_path_rate: stochastic depth of the last block (linear from 0).
        pretrained2d: ``pretrained`` is an ImageNet UniFormer whose 2D kernels are inflated.
        pretrained: with ``pretrained2d``, ``'uniformer_small_in1k'`` or
            ``'uniformer_base_in1k'`` (downloaded from OpenMMLab as 1.x does) or a checkpoint
            path / URL; else a 3D checkpoint.
        init_cfg: None, or 1.x's init list; a ``dict(type='Pretrained', checkpoint=...)``
            entry is loaded in ``init_weights``.

    Example:
        >>> model = UniFormer(depth=[1, 1, 1, 1], embed_dim=[8, 16, 32, 64], head_dim=16)
        >>> model(torch.rand(1, 3, 4, 64, 64)).shape
        torch.Size([1, 64, 2, 2, 2])
    """

    def __init__(self, depth: Sequence[int] = (5, 8, 20, 7), img_size: int = 224,
                 in_chans: int = 3, embed_dim: Sequence[int] = (64, 128, 320, 512),
                 head_dim: int = 64, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0,
                 pretrained2d: bool = True, pretrained: str | None = None,
                 init_cfg: Any = None) -> None:
        super().__init__()
        if len(depth) != 4 or len(embed_dim) != 4:
            raise ValueError(f'UniFormer: depth and embed_dim need 4 entries (one per stage), '
                             f'got {list(depth)} and {list(embed_dim)}')
        if any(dim % head_dim for dim in embed_dim[2:]):
            raise ValueError(f'UniFormer: embed_dim {list(embed_dim)[2:]} of the attention '
                             f'stages must be multiples of head_dim {head_dim}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'UniFormer: pretrained must be a str or None, got {pretrained!r}')
        self.pretrained, self.pretrained2d, self.img_size = pretrained, pretrained2d, img_size
        self.init_cfg = pretrained_init_cfg('UniFormer', init_cfg)
        self.patch_embed1 = PatchEmbed(4, in_chans, embed_dim[0], temporal=True)
        for i in range(1, 4):
            setattr(self, f'patch_embed{i + 1}', PatchEmbed(2, embed_dim[i - 1], embed_dim[i]))
        self.pos_drop = nn.Dropout(p=drop_rate)
        rates = _linspace(drop_path_rate, sum(depth))
        for i, (n, dim) in enumerate(zip(depth, embed_dim)):
            if i < 2:
                blocks = [CBlock(dim, mlp_ratio, drop_rate, rate) for rate in rates[:n]]
            else:
                blocks = [SABlock(dim, dim // head_dim, mlp_ratio, qkv_bias, qk_scale, drop_rate,
                                  attn_drop_rate, rate) for rate in rates[:n]]
            setattr(self, f'blocks{i + 1}', nn.ModuleList(blocks))
            rates = rates[n:]
        self.norm = nn.BatchNorm3d(embed_dim[-1])

    def init_weights(self, pretrained: str | None = None) -> None:
        """1.x's initialisation (truncated normal std 0.02 for linear layers, zero biases,
        unit LayerNorms), then the pretrained weights: ``pretrained`` (inflated when
        ``pretrained2d``) or the ``init_cfg`` checkpoint."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_init(module, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                constant_init(module, 1.0)
        pretrained = pretrained or self.pretrained
        if pretrained and self.pretrained2d:
            path = PRETRAINED_2D.get(pretrained, pretrained)
            logger.info('UniFormer: inflating the 2D checkpoint %s', path)
            load_inflated(self, path)
        elif pretrained:
            load_init_cfg_checkpoint(self, dict(type='Pretrained', checkpoint=pretrained))
        elif self.init_cfg is not None:
            load_init_cfg_checkpoint(self, self.init_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, C, T, H, W]``. Returns ``[N, embed_dim[-1], T', H/32, W/32]``."""
        if x.dim() != 5:
            raise ValueError(f'UniFormer takes (N, C, T, H, W) clips; got shape '
                             f'{tuple(x.shape)}')
        x = self.pos_drop(self.patch_embed1(x))
        for i in range(1, 5):
            if i > 1:
                x = getattr(self, f'patch_embed{i}')(x)
            for block in getattr(self, f'blocks{i}'):
                x = block(x)
        return self.norm(x)
