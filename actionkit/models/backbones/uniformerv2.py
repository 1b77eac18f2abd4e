"""UniFormerV2: a CLIP image ViT armed with local temporal relation aggregators and a global
video query decoder.

Li et al., "UniFormerV2: Spatiotemporal Learning by Arming Image ViTs with Video UniFormer",
https://arxiv.org/abs/2211.09552.

UniFormerV2 is not in MMAction2 0.x; this follows MMAction2 1.x's ``UniFormerV2`` (arguments,
defaults and state-dict keys: ``conv1.weight``, ``class_embedding``, ``positional_embedding``,
``ln_pre.weight``, ``transformer.resblocks.0.attn.in_proj_weight``, ``....lmhra1.pos_embed.1.
weight``, ``....mlp.c_fc.weight``, ``transformer.dpe.0.weight``, ``transformer.dec.0.ln_3.
weight``, ``transformer.temporal_cls_token``, ``transformer.balance``), so its checkpoints load
with ``strict=True``. Building never downloads: CLIP weights are read in ``init_weights``.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..builder import BACKBONES
from ..layers import constant_init, trunc_normal_init
from .init_cfg import load_inflated, load_init_cfg_checkpoint, pretrained_init_cfg
from .timesformer import DropPath, _linspace

__all__ = ['UniFormerV2']

logger = logging.getLogger(__name__)

_URL = 'https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv2/clipVisualEncoder/'
CLIP_VISUAL_ENCODERS = {  # the CLIP names 1.x's ``pretrained`` accepts, and their files
    'ViT-B/16': _URL + 'vit-base-p16-res224_clip-rgb_20221219-b8a5da86.pth',
    'ViT-L/14': _URL + 'vit-large-p14-res224_clip-rgb_20221219-9de7543e.pth',
    'ViT-L/14_336': _URL + 'vit-large-p14-res336_clip-rgb_20221219-d370f9e5.pth',
}


class QuickGELU(nn.Module):
    """CLIP's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def _clip_mlp(d_model: int, d_mlp: int, dropout: float | None = None) -> nn.Sequential:
    """CLIP's MLP with its keys ``c_fc``, ``gelu``, (``dropout``), ``c_proj``."""
    layers: list[tuple[str, nn.Module]] = [('c_fc', nn.Linear(d_model, d_mlp)),
                                           ('gelu', QuickGELU())]
    if dropout is not None:
        layers.append(('dropout', nn.Dropout(dropout)))
    return nn.Sequential(OrderedDict(layers + [('c_proj', nn.Linear(d_mlp, d_model))]))


class LocalMHRA(nn.Module):
    """Local temporal relation aggregator: BN, 1x1x1 reduction, depthwise temporal conv,
    1x1x1 expansion (zero-initialised, so a fresh one adds nothing)."""

    def __init__(self, d_model: int, dw_reduction: float = 1.5, pos_kernel_size: int = 3) -> None:
        super().__init__()
        reduced = int(d_model // dw_reduction)
        self.pos_embed = nn.Sequential(
            nn.BatchNorm3d(d_model), nn.Conv3d(d_model, reduced, 1),
            nn.Conv3d(reduced, reduced, (pos_kernel_size, 1, 1),
                      padding=(pos_kernel_size // 2, 0, 0), groups=reduced),
            nn.Conv3d(reduced, d_model, 1))
        nn.init.zeros_(self.pos_embed[3].weight)
        nn.init.zeros_(self.pos_embed[3].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pos_embed(x)


class ResidualAttentionBlock(nn.Module):
    """A CLIP ViT block over each frame, with Local MHRA before the attention (and before the
    MLP when ``double_lmhra``) on the patch tokens of the whole clip."""

    def __init__(self, d_model: int, n_head: int, drop_path: float = 0.0,
                 dw_reduction: float = 1.5, no_lmhra: bool = False,
                 double_lmhra: bool = True) -> None:
        super().__init__()
        self.no_lmhra, self.double_lmhra = no_lmhra, double_lmhra
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        if not no_lmhra:
            self.lmhra1 = LocalMHRA(d_model, dw_reduction)
            if double_lmhra:
                self.lmhra2 = LocalMHRA(d_model, dw_reduction)
        self.attn = nn.MultiheadAttention(d_model, n_head, batch_first=True)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = _clip_mlp(d_model, d_model * 4)
        self.ln_2 = nn.LayerNorm(d_model)

    def _local(self, lmhra: LocalMHRA, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """Add ``lmhra`` of the patch tokens of ``x`` ``[N*T, 1 + H*W, C]`` on ``grid``."""
        t, h, w = grid
        nt, length, c = x.shape
        patches = x[:, 1:].reshape(nt // t, t, h, w, c).permute(0, 4, 1, 2, 3)  # [N, C, T, H, W]
        patches = patches + self.drop_path(lmhra(patches))
        patches = patches.permute(0, 2, 3, 4, 1).reshape(nt, length - 1, c)
        return torch.cat((x[:, :1], patches), dim=1)

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """Args: x ``[N*T, 1 + H*W, C]`` (frames of a clip adjacent); grid ``(T, H, W)``."""
        if not self.no_lmhra:
            x = self._local(self.lmhra1, x, grid)
        y = self.ln_1(x)
        x = x + self.drop_path(self.attn(y, y, y, need_weights=False)[0])
        if not self.no_lmhra and self.double_lmhra:
            x = self._local(self.lmhra2, x, grid)
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Extractor(nn.Module):
    """Global UniBlock: a video query token cross-attends to the tokens of all frames."""

    def __init__(self, d_model: int, n_head: int, mlp_factor: float = 4.0,
                 dropout: float = 0.0, drop_path: float = 0.0) -> None:
        super().__init__()
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.attn = nn.MultiheadAttention(d_model, n_head, batch_first=True)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = _clip_mlp(d_model, round(mlp_factor * d_model), dropout)
        self.ln_2 = nn.LayerNorm(d_model)
        self.ln_3 = nn.LayerNorm(d_model)
        nn.init.xavier_uniform_(self.attn.in_proj_weight)
        for layer in (self.attn.out_proj, self.mlp.c_proj):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(self.mlp.c_fc.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Args: x the query ``[N, 1, C]``; y the clip's tokens ``[N, T*(1 + H*W), C]``."""
        q, kv = self.ln_1(x), self.ln_3(y)
        x = x + self.drop_path(self.attn(q, kv, kv, need_weights=False)[0])
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Transformer(nn.Module):
    """The ViT blocks, and the decoder fed by the blocks of ``return_list``."""

    def __init__(self, width: int, layers: int, heads: int, backbone_drop_path_rate: float,
                 t_size: int, dw_reduction: float, no_lmhra: bool, double_lmhra: bool,
                 return_list: Sequence[int], n_layers: int, n_dim: int, n_head: int,
                 mlp_factor: float, drop_path_rate: float, mlp_dropout: Sequence[float]) -> None:
        super().__init__()
        self.T, self.return_list = t_size, list(return_list)
        self.resblocks = nn.ModuleList([
            ResidualAttentionBlock(width, heads, rate, dw_reduction, no_lmhra, double_lmhra)
            for rate in _linspace(backbone_drop_path_rate, layers)])
        self.temporal_cls_token = nn.Parameter(torch.zeros(1, 1, n_dim))
        self.dpe = nn.ModuleList([nn.Conv3d(n_dim, n_dim, 3, padding=1, groups=n_dim)
                                  for _ in range(n_layers)])
        for conv in self.dpe:
            nn.init.zeros_(conv.bias)
        self.dec = nn.ModuleList([
            Extractor(n_dim, n_head, mlp_factor, mlp_dropout[i], rate)
            for i, rate in enumerate(_linspace(drop_path_rate, n_layers))])
        self.norm = nn.LayerNorm(n_dim)
        self.balance = nn.Parameter(torch.zeros(n_dim))
        self.sigmoid = nn.Sigmoid()

    def _decoder_input(self, j: int, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """The tokens of every frame ``[N, T*(1 + H*W), C]``, patches plus ``dpe[j]``."""
        t, h, w = grid
        nt, length, c = x.shape
        tokens = x.reshape(nt // t, t, length, c)
        patches = tokens[:, :, 1:].reshape(nt // t, t, h, w, c).permute(0, 4, 1, 2, 3)
        pos = self.dpe[j](patches).permute(0, 2, 3, 4, 1).reshape(nt // t, t, length - 1, c)
        tokens = torch.cat((tokens[:, :, :1], tokens[:, :, 1:] + pos), dim=2)
        return tokens.reshape(nt // t, t * length, c)

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """Args: x ``[N*T, 1 + H*W, width]``; grid ``(T, H, W)``. Returns ``[N, n_dim]``."""
        n = x.shape[0] // grid[0]
        query = self.temporal_cls_token.expand(n, -1, -1)
        j = 0
        for i, block in enumerate(self.resblocks):
            x = block(x, grid)
            if i in self.return_list:
                query = self.dec[j](query, self._decoder_input(j, x, grid))
                j += 1
        weight = self.sigmoid(self.balance)
        frame_cls = x[:, 0].reshape(n, grid[0], -1).mean(dim=1)  # [N, C]
        return self.norm((1 - weight) * query[:, 0] + weight * frame_cls)


@BACKBONES.register_module()
class UniFormerV2(nn.Module):
    """UniFormerV2 backbone (MMAction2 1.x); returns the video representation ``[N, n_dim]``.

    Args:
        input_resolution: the frame size the position embedding is built for.
        patch_size: side of the square patches.
        width, layers, heads: the CLIP ViT.
        backbone_drop_path_rate: stochastic depth of the last ViT block (linear from 0).
        t_size: frames per clip (halved when ``temporal_downsample``).
        kernel_size: temporal kernel of the patch embedding with ``temporal_downsample``.
        dw_reduction: channel reduction inside Local MHRA.
        temporal_downsample: a temporal stride of 2 in the patch embedding.
        no_lmhra: no Local MHRA; ``double_lmhra``: a second one before each MLP.
        return_list: the ViT blocks whose output feeds the decoder (``n_layers`` of them).
        n_layers, n_dim, n_head, mlp_factor, drop_path_rate, mlp_dropout: the decoder.
        clip_pretrained: ``init_weights`` loads the CLIP visual encoder named by
            ``pretrained`` (``'ViT-B/16'``, ``'ViT-L/14'``, ``'ViT-L/14_336'``, downloaded
            from OpenMMLab into the torch hub cache as 1.x does, or a path / URL), inflating
            its patch embedding.
        pretrained: the CLIP name or file with ``clip_pretrained``; else a checkpoint of this
            architecture.
        init_cfg: None, or 1.x's init list; a ``dict(type='Pretrained', checkpoint=...)``
            entry is loaded in ``init_weights`` (when ``clip_pretrained`` is False).

    Example:
        >>> model = UniFormerV2(input_resolution=32, patch_size=16, width=32, layers=2,
        ...                     heads=2, t_size=2, return_list=[1], n_layers=1, n_dim=32,
        ...                     n_head=2, mlp_dropout=[0.5], clip_pretrained=False)
        >>> model(torch.rand(1, 3, 2, 32, 32)).shape
        torch.Size([1, 32])
    """

    def __init__(self, input_resolution: int = 224, patch_size: int = 16, width: int = 768,
                 layers: int = 12, heads: int = 12, backbone_drop_path_rate: float = 0.0,
                 t_size: int = 8, kernel_size: int = 3, dw_reduction: float = 1.5,
                 temporal_downsample: bool = False, no_lmhra: bool = True,
                 double_lmhra: bool = False, return_list: Sequence[int] = (8, 9, 10, 11),
                 n_layers: int = 4, n_dim: int = 768, n_head: int = 12,
                 mlp_factor: float = 4.0, drop_path_rate: float = 0.0,
                 mlp_dropout: Sequence[float] = (0.5, 0.5, 0.5, 0.5),
                 clip_pretrained: bool = True, pretrained: str | None = None,
                 init_cfg: Any = None) -> None:
        super().__init__()
        self._check_args(input_resolution, patch_size, width, layers, return_list, n_layers,
                         n_dim, mlp_dropout, pretrained)
        self.pretrained, self.clip_pretrained = pretrained, clip_pretrained
        self.input_resolution, self.patch_size = input_resolution, patch_size
        self.init_cfg = pretrained_init_cfg('UniFormerV2', init_cfg)
        if temporal_downsample:
            self.conv1 = nn.Conv3d(3, width, (kernel_size, patch_size, patch_size),
                                   (2, patch_size, patch_size), ((kernel_size - 1) // 2, 0, 0),
                                   bias=False)
            t_size //= 2
        else:
            self.conv1 = nn.Conv3d(3, width, (1, patch_size, patch_size),
                                   (1, patch_size, patch_size), bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(
            scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(
            width, layers, heads, backbone_drop_path_rate, t_size, dw_reduction, no_lmhra,
            double_lmhra, return_list, n_layers, n_dim, n_head, mlp_factor, drop_path_rate,
            mlp_dropout)

    @staticmethod
    def _check_args(input_resolution: int, patch_size: int, width: int, layers: int,
                    return_list: Sequence[int], n_layers: int, n_dim: int,
                    mlp_dropout: Sequence[float], pretrained: Any) -> None:
        if input_resolution % patch_size:
            raise ValueError(f'UniFormerV2: input_resolution {input_resolution} must be a '
                             f'multiple of patch_size {patch_size}')
        if len(return_list) != n_layers or len(mlp_dropout) < n_layers:
            raise ValueError(f'UniFormerV2: return_list ({list(return_list)}) needs n_layers '
                             f'({n_layers}) entries and mlp_dropout at least as many '
                             f'(got {list(mlp_dropout)})')
        if not all(0 <= i < layers for i in return_list):
            raise ValueError(f'UniFormerV2: return_list {list(return_list)} must index the '
                             f'{layers} ViT layers')
        if n_dim != width:
            raise ValueError(f'UniFormerV2: n_dim ({n_dim}) must equal width ({width}): the '
                             'decoder reads the ViT tokens')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'UniFormerV2: pretrained must be a str or None, got {pretrained!r}')

    def init_weights(self, pretrained: str | None = None) -> None:
        """The CLIP weights with ``clip_pretrained``; else 1.x's initialisation (truncated
        normal std 0.02 for the linear layers, unit LayerNorms) and then ``pretrained`` or
        the ``init_cfg`` checkpoint."""
        pretrained = pretrained or self.pretrained
        if self.clip_pretrained:
            self._load_clip(pretrained)
            return
        for module in self.modules():
            if type(module) is nn.Linear:  # not the attention's out_proj, as in 1.x
                trunc_normal_init(module, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                constant_init(module, 1.0)
        entry = dict(type='Pretrained', checkpoint=pretrained) if pretrained else self.init_cfg
        if entry is not None:
            load_init_cfg_checkpoint(self, entry)

    def _load_clip(self, pretrained: str | None) -> None:
        if pretrained is None:
            logger.warning('UniFormerV2: clip_pretrained=True but pretrained is None: no CLIP '
                           'weights loaded, the backbone keeps its random initialisation '
                           "(name one of %s, or set clip_pretrained=False)",
                           sorted(CLIP_VISUAL_ENCODERS))
            return
        path = CLIP_VISUAL_ENCODERS.get(pretrained, pretrained)
        logger.info('UniFormerV2: loading the CLIP visual encoder %s', path)
        try:
            load_inflated(self, path)
        except OSError as error:
            raise OSError(f'UniFormerV2: could not read the CLIP visual encoder '
                          f'{pretrained!r} from {path}: {error}. Download that file yourself '
                          f'and pass its local path as pretrained, or set '
                          f'clip_pretrained=False to start from random weights') from error

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``[N, 3, T, H, W]`` with ``H = W = input_resolution``. Returns
        ``[N, n_dim]``."""
        size = self.input_resolution
        if x.dim() != 5 or x.shape[1] != 3 or tuple(x.shape[3:]) != (size, size):
            raise ValueError(f'UniFormerV2 takes (N, 3, T, {size}, {size}) clips; got shape '
                             f'{tuple(x.shape)}')
        x = self.conv1(x)  # [N, width, T, H, W]
        n, c, t, h, w = x.shape
        x = x.permute(0, 2, 3, 4, 1).reshape(n * t, h * w, c)
        cls = self.class_embedding.to(x.dtype).expand(n * t, 1, -1)
        x = self.ln_pre(torch.cat((cls, x), dim=1) + self.positional_embedding.to(x.dtype))
        return self.transformer(x, (t, h, w))
