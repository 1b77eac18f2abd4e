"""MViTv2: multiscale vision transformer with pooling attention.

Li et al., "MViTv2: Improved Multiscale Vision Transformers for Classification and Detection",
https://arxiv.org/abs/2112.01526.

MViT is not in MMAction2 0.x; this follows MMAction2 1.x's ``MViT`` (arguments, defaults and
state-dict keys: ``patch_embed.projection.weight``, ``blocks.0.attn.qkv.weight``,
``....attn.pool_q.weight``, ``....attn.norm_q.weight``, ``....attn.rel_pos_t``, ``....mlp.fc1.
weight``, ``blocks.1.proj.weight``, ``norm3.weight``), so its checkpoints load with
``strict=True``.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..builder import BACKBONES
from ..layers import build_norm_layer, constant_init, trunc_normal_init
from .init_cfg import load_init_cfg_checkpoint, pretrained_init_cfg
from .swin import Mlp
from .timesformer import DropPath, _linspace
from .weights3d import read_state_dict, strip_prefix

__all__ = ['MViT', 'resize_pos_embed']

logger = logging.getLogger(__name__)

Size3 = tuple[int, int, int]


def _triple(value: int | Sequence[int]) -> Size3:
    return (value,) * 3 if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def resize_pos_embed(pos_embed: torch.Tensor, src_shape: Size3, dst_shape: Size3,
                     mode: str = 'trilinear', num_extra_tokens: int = 1) -> torch.Tensor:
    """Interpolate ``[1, extra + T*H*W, C]`` absolute position embeddings to ``dst_shape``."""
    if tuple(src_shape) == tuple(dst_shape):
        return pos_embed
    extra, grid = pos_embed[:, :num_extra_tokens], pos_embed[:, num_extra_tokens:]
    grid = grid.reshape(1, *src_shape, -1).permute(0, 4, 1, 2, 3)
    grid = F.interpolate(grid, size=tuple(dst_shape), mode=mode, align_corners=False)
    return torch.cat((extra, grid.flatten(2).transpose(1, 2)), dim=1)


def _rel_pos_lookup(table: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """``[q_size, k_size, C]`` embeddings of the (stride-scaled) offsets between positions."""
    length = 2 * max(q_size, k_size) - 1
    if table.shape[0] != length:  # a table learnt at another resolution
        table = F.interpolate(table.t().unsqueeze(0), size=length, mode='linear')[0].t()
    q_ratio, k_ratio = max(k_size / q_size, 1.0), max(q_size / k_size, 1.0)
    offsets = (torch.arange(q_size, device=table.device)[:, None] * q_ratio
               - torch.arange(k_size, device=table.device)[None, :] * k_ratio
               + (k_size - 1) * k_ratio)
    return table[offsets.long()]


def _rel_pos_bias(q: torch.Tensor, q_shape: Size3, k_shape: Size3, tables: Sequence[torch.Tensor],
                  with_cls_token: bool) -> torch.Tensor:
    """The decomposed (t, h, w) relative position term ``[B, heads, Lq, Lk]`` of the logits."""
    b, heads, _, c = q.shape
    r_q = q[:, :, int(with_cls_token):].reshape(b, heads, *q_shape, c)
    rel_t, rel_h, rel_w = (
        torch.einsum(f'bn{eq}c,{ax}kc->bn{eq}k', r_q, _rel_pos_lookup(table, qs, ks))
        for eq, ax, table, qs, ks in zip(('thw',) * 3, 'thw', tables, q_shape, k_shape))
    bias = (rel_t[..., :, None, None] + rel_h[..., None, :, None]
            + rel_w[..., None, None, :])  # [B, heads, qt, qh, qw, kt, kh, kw]
    bias = bias.reshape(b, heads, q_shape[0] * q_shape[1] * q_shape[2], -1)
    return F.pad(bias, (1, 0, 1, 0)) if with_cls_token else bias


def _pool_tokens(x: torch.Tensor, pool: nn.Module, in_size: Size3, with_cls_token: bool,
                 norm: nn.Module | None = None) -> tuple[torch.Tensor, Size3]:
    """Pool the ``T*H*W`` tokens of ``[B, heads, L, C]`` (or ``[B, L, C]``) on their grid."""
    squeeze = x.dim() == 3
    if squeeze:
        x = x.unsqueeze(1)
    b, heads, _, c = x.shape
    if with_cls_token:
        cls_token, x = x[:, :, :1], x[:, :, 1:]
    grid = x.reshape(b * heads, *in_size, c).permute(0, 4, 1, 2, 3)  # [B*heads, C, T, H, W]
    grid = pool(grid)
    out_size: Size3 = tuple(grid.shape[2:])  # type: ignore[assignment]
    x = grid.reshape(b, heads, c, -1).transpose(2, 3)
    if with_cls_token:
        x = torch.cat((cls_token, x), dim=2)
    if norm is not None:
        x = norm(x)
    return (x.squeeze(1) if squeeze else x), out_size


class MultiScaleAttention(nn.Module):
    """Multi-head attention whose q, k and v are pooled (depthwise Conv3d + norm) per head."""

    def __init__(self, in_dims: int, out_dims: int, num_heads: int, qkv_bias: bool,
                 norm_cfg: Mapping[str, Any], pool_kernel: Size3, stride_q: Size3,
                 stride_kv: Size3, rel_pos_embed: bool, residual_pooling: bool,
                 input_size: Size3, rel_pos_zero_init: bool, with_cls_token: bool) -> None:
        super().__init__()
        self.num_heads, self.out_dims, self.with_cls_token = num_heads, out_dims, with_cls_token
        head_dim = out_dims // num_heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(in_dims, out_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(out_dims, out_dims)
        for name, stride in (('q', stride_q), ('k', stride_kv), ('v', stride_kv)):
            self.add_module(f'pool_{name}', nn.Conv3d(
                head_dim, head_dim, pool_kernel, stride=stride,
                padding=[k // 2 for k in pool_kernel], groups=head_dim, bias=False))
            self.add_module(f'norm_{name}', build_norm_layer(norm_cfg, head_dim)[1])
        self.residual_pooling, self.rel_pos_embed = residual_pooling, rel_pos_embed
        self.rel_pos_zero_init = rel_pos_zero_init
        if rel_pos_embed:
            if input_size[1] != input_size[2]:
                raise ValueError(f'MViT: relative position embeddings need a square token grid, '
                                 f'got {input_size[1]}x{input_size[2]}')
            size = input_size[1]
            rel_dim = 2 * max(size // stride_q[1], size // stride_kv[1]) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(rel_dim, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(rel_dim, head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))

    def init_weights(self) -> None:
        """Truncated-normal relative position tables unless ``rel_pos_zero_init``."""
        if self.rel_pos_embed and not self.rel_pos_zero_init:
            for table in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                nn.init.trunc_normal_(table, std=0.02)

    def forward(self, x: torch.Tensor, in_size: Size3) -> tuple[torch.Tensor, Size3]:
        """Args: x ``[B, L, in_dims]`` on grid ``in_size``. Returns ``[B, L', out_dims]``."""
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        cls = self.with_cls_token
        q, q_shape = _pool_tokens(q, self.pool_q, in_size, cls, self.norm_q)
        k, k_shape = _pool_tokens(k, self.pool_k, in_size, cls, self.norm_k)
        v, _ = _pool_tokens(v, self.pool_v, in_size, cls, self.norm_v)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.rel_pos_embed:
            tables = (self.rel_pos_t, self.rel_pos_h, self.rel_pos_w)
            attn = attn + _rel_pos_bias(q, q_shape, k_shape, tables, cls)
        out = attn.softmax(dim=-1) @ v  # [B, heads, Lq, head_dim]
        if self.residual_pooling:
            out = (torch.cat((out[:, :, :1], out[:, :, 1:] + q[:, :, 1:]), dim=2) if cls
                   else out + q)
        return self.proj(out.transpose(1, 2).reshape(b, -1, self.out_dims)), q_shape


class MultiScaleBlock(nn.Module):
    """Pre-norm pooling attention and MLP; the skip path is projected and max-pooled to fit."""

    def __init__(self, in_dims: int, out_dims: int, num_heads: int, mlp_ratio: float,
                 qkv_bias: bool, drop_path: float, norm_cfg: Mapping[str, Any],
                 qkv_pool_kernel: Size3, stride_q: Size3, stride_kv: Size3,
                 rel_pos_embed: bool, residual_pooling: bool, with_cls_token: bool,
                 dim_mul_in_attention: bool, input_size: Size3, rel_pos_zero_init: bool) -> None:
        super().__init__()
        self.with_cls_token, self.dim_mul_in_attention = with_cls_token, dim_mul_in_attention
        attn_dims = out_dims if dim_mul_in_attention else in_dims
        self.norm1 = build_norm_layer(norm_cfg, in_dims)[1]
        self.attn = MultiScaleAttention(
            in_dims, attn_dims, num_heads, qkv_bias, norm_cfg, qkv_pool_kernel, stride_q,
            stride_kv, rel_pos_embed, residual_pooling, input_size, rel_pos_zero_init,
            with_cls_token)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, attn_dims)[1]
        self.mlp = Mlp(attn_dims, int(attn_dims * mlp_ratio), out_features=out_dims)
        self.proj = nn.Linear(in_dims, out_dims) if in_dims != out_dims else None
        if any(s > 1 for s in stride_q):
            kernel = [s + 1 if s > 1 else s for s in stride_q]
            self.pool_skip = nn.MaxPool3d(kernel, stride_q, [k // 2 for k in kernel])
            self.init_out_size: Size3 = tuple(  # type: ignore[assignment]
                size // s for size, s in zip(input_size, stride_q))
        else:
            self.pool_skip = None
            self.init_out_size = input_size

    def forward(self, x: torch.Tensor, in_size: Size3) -> tuple[torch.Tensor, Size3]:
        """Args: x ``[B, L, in_dims]`` on grid ``in_size``. Returns ``[B, L', out_dims]``."""
        x_norm = self.norm1(x)
        x_attn, out_size = self.attn(x_norm, in_size)
        skip = self.proj(x_norm) if self.dim_mul_in_attention and self.proj is not None else x
        if self.pool_skip is not None:
            skip = _pool_tokens(skip, self.pool_skip, in_size, self.with_cls_token)[0]
        x = skip + self.drop_path(x_attn)
        x_norm = self.norm2(x)
        skip = self.proj(x_norm) if not self.dim_mul_in_attention and self.proj is not None else x
        return skip + self.drop_path(self.mlp(x_norm)), out_size


def _corner_padding(size: Size3, kernel: Size3, stride: Size3, dilation: Size3,
                    mode: str) -> list[int]:
    """``F.pad`` amounts (last axis first) of mmcv's ``AdaptivePadding`` ('corner' / 'same')."""
    pads = []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((0, total) if mode == 'corner' else (total // 2, total - total // 2))
    return [p for pair in reversed(pads) for p in pair]


class _PatchEmbed3D(nn.Module):
    """A Conv3d over the clip, tokens out; ``padding`` may be 'corner' or 'same' as in 1.x."""

    def __init__(self, in_channels: int, embed_dims: int, input_size: Size3,
                 kernel_size: int | Sequence[int] = (2, 4, 4),
                 stride: int | Sequence[int] | None = (2, 4, 4),
                 padding: int | Sequence[int] | str = 'corner', dilation: int = 1,
                 bias: bool = True, norm_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.kernel, self.dilation = _triple(kernel_size), _triple(dilation)
        self.stride = _triple(stride) if stride is not None else self.kernel
        self.pad_mode = padding if isinstance(padding, str) else None
        if self.pad_mode not in (None, 'corner', 'same'):
            raise ValueError(f"MViT: patch_cfg padding must be an int, a triple, 'corner' or "
                             f"'same', got {padding!r}")
        conv_pad = (0, 0, 0) if self.pad_mode else _triple(padding)  # type: ignore[arg-type]
        self.projection = nn.Conv3d(in_channels, embed_dims, self.kernel, self.stride, conv_pad,
                                    self.dilation, bias=bias)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg is not None else None
        self.init_out_size = self._grid(input_size)

    def _grid(self, size: Size3) -> Size3:
        if self.pad_mode:
            pads = _corner_padding(size, self.kernel, self.stride, self.dilation, self.pad_mode)
            size = tuple(n + pads[4 - 2 * i] + pads[5 - 2 * i]  # type: ignore[assignment]
                         for i, n in enumerate(size))
        pad = self.projection.padding
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1  # type: ignore[return-value]
                     for n, p, d, k, s in zip(size, pad, self.dilation, self.kernel, self.stride))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Size3]:
        """``[B, C, T, H, W]`` -> tokens ``[B, T'*H'*W', embed_dims]`` and ``(T', H', W')``."""
        if self.pad_mode:
            x = F.pad(x, _corner_padding(tuple(x.shape[2:]), self.kernel, self.stride,
                                         self.dilation, self.pad_mode))
        x = self.projection(x)
        out_size: Size3 = tuple(x.shape[2:])  # type: ignore[assignment]
        x = x.flatten(2).transpose(1, 2)
        return (self.norm(x) if self.norm is not None else x), out_size


_LINEAR_INIT = dict(std=0.02, bias=0.02)  # 1.x's default init_cfg: Linear, LayerNorm biases 0.02


@BACKBONES.register_module()
class MViT(nn.Module):
    """MViTv2 backbone (MMAction2 1.x).

    Args:
        arch: ``'tiny'``, ``'small'``, ``'base'``, ``'large'``, or a dict with ``embed_dims``,
            ``num_layers``, ``num_heads``, ``downscale_indices`` (and optionally
            ``dim_mul_indices``).
        spatial_size, temporal_size: the input size the position tables are built for.
        in_channels: input channels.
        pretrained: a checkpoint (path or URL) loaded in ``init_weights``.
        pretrained_type: ``None`` (same architecture) or ``'maskfeat'`` (a MaskFeat
            pre-training checkpoint: its ``backbone.`` entries, relative position tables of
            another length interpolated).
        out_scales: the scales (0 .. 3) whose normalised output is returned.
        drop_path_rate: stochastic depth of the last block (linear from 0).
        use_abs_pos_embed: add a learned absolute position embedding (interpolated with
            ``interpolate_mode`` for other input sizes).
        pool_kernel: kernel of the q/k/v pooling convolutions.
        dim_mul, head_mul: widening of the channels / heads at each downscale.
        adaptive_kv_stride: k/v pooling stride of the first block (halved at each downscale).
        rel_pos_embed: decomposed relative position embeddings in every attention.
        residual_pooling: add the pooled query to the attention output.
        dim_mul_in_attention: widen in the attention (True) or in the MLP before it (False).
        with_cls_token: prepend a cls token; ``output_cls_token`` also returns it.
        rel_pos_zero_init: leave the relative position tables at zero.
        mlp_ratio, qkv_bias, norm_cfg: block settings.
        patch_cfg: the patch embedding's ``kernel_size``, ``stride``, ``padding`` (an int, a
            triple, ``'corner'`` or ``'same'``), ``dilation``, ``bias``, ``norm_cfg``.
        init_cfg: None, or 1.x's init list; a ``dict(type='Pretrained', checkpoint=...)``
            entry is loaded in ``init_weights``.

    Returns (forward): one entry per ``out_scales`` item, ``[patch tokens [N, C, T, H, W],
    cls token [N, C]]`` when ``output_cls_token`` else the patch tokens.

    Example:
        >>> arch = dict(embed_dims=8, num_layers=2, num_heads=1, downscale_indices=[1])
        >>> model = MViT(arch=arch, spatial_size=32, temporal_size=4)
        >>> patches, cls_token = model(torch.rand(1, 3, 4, 32, 32))[-1]
        >>> patches.shape, cls_token.shape
        (torch.Size([1, 16, 2, 4, 4]), torch.Size([1, 16]))
    """

    arch_zoo = {
        'tiny': dict(embed_dims=96, num_layers=10, num_heads=1, downscale_indices=[1, 3, 8]),
        'small': dict(embed_dims=96, num_layers=16, num_heads=1, downscale_indices=[1, 3, 14]),
        'base': dict(embed_dims=96, num_layers=24, num_heads=1, downscale_indices=[2, 5, 21]),
        'large': dict(embed_dims=144, num_layers=48, num_heads=2,
                      downscale_indices=[2, 8, 44]),
    }
    num_extra_tokens = 1

    def __init__(self, arch: str | Mapping[str, Any] = 'base', spatial_size: int = 224,
                 temporal_size: int = 16, in_channels: int = 3, pretrained: str | None = None,
                 pretrained_type: str | None = None, out_scales: int | Sequence[int] = -1,
                 drop_path_rate: float = 0.0, use_abs_pos_embed: bool = False,
                 interpolate_mode: str = 'trilinear', pool_kernel: Sequence[int] = (3, 3, 3),
                 dim_mul: int = 2, head_mul: int = 2,
                 adaptive_kv_stride: Sequence[int] = (1, 8, 8), rel_pos_embed: bool = True,
                 residual_pooling: bool = True, dim_mul_in_attention: bool = True,
                 with_cls_token: bool = True, output_cls_token: bool = True,
                 rel_pos_zero_init: bool = False, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 norm_cfg: Mapping[str, Any] = dict(type='LN', eps=1e-6),
                 patch_cfg: Mapping[str, Any] = dict(kernel_size=(3, 7, 7), stride=(2, 4, 4),
                                                     padding=(1, 3, 3)),
                 init_cfg: Any = None) -> None:
        super().__init__()
        settings = self._arch_settings(arch)
        self.embed_dims, self.num_layers = settings['embed_dims'], settings['num_layers']
        self.num_heads = settings['num_heads']
        self.downscale_indices = list(settings['downscale_indices'])
        self.dim_mul_indices = list(settings.get('dim_mul_indices', self.downscale_indices))
        self.num_scales = len(self.downscale_indices) + 1
        self.stage_indices = {index - 1: i for i, index in enumerate(self.downscale_indices)}
        self.stage_indices[self.num_layers - 1] = self.num_scales - 1
        self.out_scales = self._check_out_scales(out_scales)
        if pretrained_type not in (None, 'maskfeat'):
            raise ValueError(f"MViT: pretrained_type must be None or 'maskfeat', "
                             f'got {pretrained_type!r}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'MViT: pretrained must be a str or None, got {pretrained!r}')
        if output_cls_token and not with_cls_token:
            raise ValueError('MViT: output_cls_token=True needs with_cls_token=True')
        self.init_cfg = (dict(type='Pretrained', checkpoint=pretrained) if pretrained
                         else pretrained_init_cfg('MViT', init_cfg))
        self.pretrained_type, self.rel_pos_zero_init = pretrained_type, rel_pos_zero_init
        self.use_abs_pos_embed, self.interpolate_mode = use_abs_pos_embed, interpolate_mode
        self.with_cls_token, self.output_cls_token = with_cls_token, output_cls_token
        unknown = set(patch_cfg) - {'kernel_size', 'stride', 'padding', 'dilation', 'bias',
                                    'norm_cfg'}
        if unknown:
            raise ValueError(f'MViT: unknown patch_cfg keys {sorted(unknown)}')
        self.patch_embed = _PatchEmbed3D(in_channels, self.embed_dims,
                                         (temporal_size, spatial_size, spatial_size),
                                         **patch_cfg)
        self.patch_resolution = self.patch_embed.init_out_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        if use_abs_pos_embed:
            num_patches = self.patch_resolution[0] * self.patch_resolution[1] * \
                self.patch_resolution[2]
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, self.embed_dims))
        block_args = dict(mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, norm_cfg=norm_cfg,
                          qkv_pool_kernel=_triple(pool_kernel), rel_pos_embed=rel_pos_embed,
                          residual_pooling=residual_pooling, with_cls_token=with_cls_token,
                          dim_mul_in_attention=dim_mul_in_attention,
                          rel_pos_zero_init=rel_pos_zero_init)
        self.blocks = nn.ModuleList()
        self._build_blocks(block_args, drop_path_rate, dim_mul, head_mul,
                           _triple(adaptive_kv_stride), dim_mul_in_attention, norm_cfg)

    @classmethod
    def _arch_settings(cls, arch: str | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(arch, str):
            if arch.lower() not in cls.arch_zoo:
                raise ValueError(f'MViT: arch {arch!r} is not one of {sorted(cls.arch_zoo)}')
            return dict(cls.arch_zoo[arch.lower()])
        essential = {'embed_dims', 'num_layers', 'num_heads', 'downscale_indices'}
        if not isinstance(arch, Mapping) or not essential <= set(arch):
            raise ValueError(f'MViT: a custom arch must be a dict with the keys '
                             f'{sorted(essential)}, got {arch!r}')
        return dict(arch)

    def _check_out_scales(self, out_scales: int | Sequence[int]) -> list[int]:
        scales = [out_scales] if isinstance(out_scales, int) else list(out_scales)
        checked = []
        for index in scales:
            if not isinstance(index, int) or not -self.num_scales <= index < self.num_scales:
                raise ValueError(f'MViT: out_scales must be ints in [-{self.num_scales}, '
                                 f'{self.num_scales - 1}], got {out_scales!r}')
            checked.append(index % self.num_scales)
        return sorted(checked)

    def _build_blocks(self, block_args: dict[str, Any], drop_path_rate: float, dim_mul: int,
                      head_mul: int, stride_kv: Size3, dim_mul_in_attention: bool,
                      norm_cfg: Mapping[str, Any]) -> None:
        """The blocks, widened and downscaled at the arch's indices, and the scale norms."""
        dims, num_heads, input_size = self.embed_dims, self.num_heads, self.patch_resolution
        for i, drop_path in enumerate(_linspace(drop_path_rate, self.num_layers)):
            if i in self.downscale_indices or i in self.dim_mul_indices:
                num_heads *= head_mul
            stride_q = (1, 1, 1)
            if i in self.downscale_indices:
                stride_q = (1, 2, 2)
                stride_kv = tuple(max(s // 2, 1) for s in stride_kv)  # type: ignore[assignment]
            widen = (i in self.dim_mul_indices if dim_mul_in_attention
                     else i + 1 in self.dim_mul_indices)
            out_dims = dims * dim_mul if widen else dims
            block = MultiScaleBlock(dims, out_dims, num_heads, drop_path=drop_path,
                                    stride_q=stride_q, stride_kv=stride_kv,
                                    input_size=input_size, **block_args)
            self.blocks.append(block)
            input_size, dims = block.init_out_size, out_dims
            if self.stage_indices.get(i, -1) in self.out_scales:
                self.add_module(f'norm{self.stage_indices[i]}', build_norm_layer(norm_cfg,
                                                                                 dims)[1])

    def init_weights(self, pretrained: str | None = None) -> None:
        """1.x's initialisation (truncated normal std 0.02 for convolutions and linear
        layers, linear and LayerNorm biases 0.02, relative position tables truncated normal),
        then the ``pretrained`` / ``init_cfg`` checkpoint if any."""
        entry = dict(type='Pretrained', checkpoint=pretrained) if pretrained else self.init_cfg
        if entry is None or self.pretrained_type == 'maskfeat':
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Conv3d)):
                    trunc_normal_init(module, std=0.02)
                elif isinstance(module, nn.Linear):
                    trunc_normal_init(module, **_LINEAR_INIT)
                elif isinstance(module, nn.LayerNorm):
                    constant_init(module, 1.0, bias=0.02)
                elif isinstance(module, MultiScaleAttention):
                    module.init_weights()
        if self.use_abs_pos_embed:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if entry is not None and self.pretrained_type == 'maskfeat':
            self._load_maskfeat(entry['checkpoint'])
        elif entry is not None:
            load_init_cfg_checkpoint(self, entry)

    def _load_maskfeat(self, path: str) -> None:
        """A MaskFeat checkpoint's backbone; relative position tables of another length are
        linearly interpolated to this model's."""
        state_dict = strip_prefix(read_state_dict(path), 'backbone.')
        own = self.state_dict()
        for key in [k for k in state_dict if 'attn.rel_pos' in k and k in own]:
            table, length = state_dict[key], own[key].shape[0]
            if table.shape[1] == own[key].shape[1] and table.shape[0] != length:
                state_dict[key] = F.interpolate(table.t().unsqueeze(0), size=length,
                                                mode='linear')[0].t()
                logger.info('MViT: %s interpolated from %d to %d rows', key, table.shape[0],
                            length)
        result = self.load_state_dict(state_dict, strict=False)
        logger.info('MViT: loaded %s; missing %s, unexpected %s', path, result.missing_keys,
                    result.unexpected_keys)

    def forward(self, x: torch.Tensor) -> tuple[Any, ...]:
        """Args: x ``[N, C, T, H, W]``. Returns the ``out_scales`` outputs (see the class)."""
        if x.dim() != 5:
            raise ValueError(f'MViT takes (N, C, T, H, W) clips; got shape {tuple(x.shape)}')
        x, size = self.patch_embed(x)  # [N, T*H*W, C]
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if self.use_abs_pos_embed:
            x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, size,
                                     self.interpolate_mode, self.num_extra_tokens)
        if not self.with_cls_token:
            x = x[:, 1:]
        outs = []
        for i, block in enumerate(self.blocks):
            x, size = block(x, size)
            stage = self.stage_indices.get(i, -1)
            if stage in self.out_scales:
                x = getattr(self, f'norm{stage}')(x)
                tokens = x.transpose(1, 2)  # [N, C, L]
                patches = tokens[:, :, int(self.with_cls_token):].reshape(*tokens.shape[:2],
                                                                          *size)
                outs.append([patches, tokens[:, :, 0]] if self.output_cls_token else patches)
        return tuple(outs)
