"""ResNet backbone for 2D recognizers (TSN), with MMAction2 0.x's state-dict key names.

Deep Residual Learning for Image Recognition, https://arxiv.org/abs/1512.03385.

Every conv + norm (+ activation) is a :class:`~actionkit.models.layers.ConvModule`, so keys
read ``conv1.conv.weight``, ``conv1.bn.running_mean``, ``layer1.0.conv1.conv.weight``,
``layer1.0.downsample.conv.weight``. ``init_weights`` loads ``pretrained``: a torchvision
ImageNet checkpoint (``torchvision://resnet50``, from the torch hub cache or downloaded there)
whose keys are mapped to ours, or an actionkit / MMAction2 checkpoint.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils import checkpoint as cp

from ...utils.checks import check_positive_int
from ..builder import BACKBONES
from ..layers import ConvModule, constant_init, freeze, kaiming_init

__all__ = ['BasicBlock', 'Bottleneck', 'make_res_layer', 'ResNet', 'canonical_resnet_key',
           'torchvision_resnet_key']

_LOG = logging.getLogger(__name__)

ConvWrapper = Callable[[nn.Module], nn.Module]
_STYLES = ('pytorch', 'caffe')
# attribute names under which wrapper modules (temporal shift, temporal pool, non-local)
# hold the wrapped module; they are not part of a plain ResNet's key names
_WRAPPER_ATTRS = ('net', 'block', 'net2')  # TSM, non-local, TIN wrappers
_TV_CONV_BN = re.compile(r'^(?P<prefix>(?:layer\d+\.\d+\.)?)conv(?P<idx>\d)\.'
                         r'(?P<part>conv|bn)\.(?P<param>\w+)$')
_TV_DOWNSAMPLE = re.compile(r'^(?P<prefix>layer\d+\.\d+\.)downsample\.'
                            r'(?P<part>conv|bn)\.(?P<param>\w+)$')


def canonical_resnet_key(key: str) -> str:
    """Drop the wrapper segments (``net``, ``block``) from a state-dict key.

    ``layer1.0.conv1.conv.net.weight`` (TSM's shift around a conv) and
    ``layer2.net.0.block.conv1.conv.weight`` (temporal pool, non-local) both become the
    plain ResNet key (``layer1.0.conv1.conv.weight``, ``layer2.0.conv1.conv.weight``).
    """
    return '.'.join(part for part in key.split('.') if part not in _WRAPPER_ATTRS)


def torchvision_resnet_key(key: str) -> str | None:
    """The torchvision ResNet key of one of our ResNet state-dict keys, or ``None``.

    ``conv1.conv.weight`` -> ``conv1.weight``; ``conv1.bn.running_var`` -> ``bn1.running_var``;
    ``layer1.0.conv2.bn.weight`` -> ``layer1.0.bn2.weight``;
    ``layer1.0.downsample.conv.weight`` -> ``layer1.0.downsample.0.weight``;
    ``layer1.0.downsample.bn.bias`` -> ``layer1.0.downsample.1.bias``. Wrapper segments are
    dropped first (:func:`canonical_resnet_key`); keys with no torchvision counterpart
    (non-local blocks, heads) give ``None``.
    """
    key = canonical_resnet_key(key)
    match = _TV_CONV_BN.match(key)
    if match:
        kind = 'conv' if match['part'] == 'conv' else 'bn'
        return f"{match['prefix']}{kind}{match['idx']}.{match['param']}"
    match = _TV_DOWNSAMPLE.match(key)
    if match:
        index = 0 if match['part'] == 'conv' else 1
        return f"{match['prefix']}downsample.{index}.{match['param']}"
    return None


def _check_style(owner: str, style: str) -> None:
    if style not in _STYLES:
        raise ValueError(f"{owner}: style must be 'pytorch' or 'caffe', got {style!r}")


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (ResNet-18/34).

    Args:
        inplanes (int): input channels.
        planes (int): output channels.
        stride (int): stride of the first conv. Default: 1.
        dilation (int): dilation of the first conv. Default: 1.
        downsample (nn.Module | None): applied to the identity branch. Default: None.
        style (str): 'pytorch' or 'caffe' (no effect on this block). Default: 'pytorch'.
        conv_cfg, norm_cfg, act_cfg (dict): layer configs.
        with_cp (bool): recompute the block in backward (``torch.utils.checkpoint``) to save
            memory. Default: False.
        conv1_wrapper (callable | None): wraps the conv of ``conv1`` (TSM's temporal shift
            passes itself here); the wrapped module becomes ``conv1.conv``. Default: None.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = 'pytorch',
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 with_cp: bool = False, conv1_wrapper: ConvWrapper | None = None) -> None:
        super().__init__()
        _check_style('BasicBlock', style)
        self.conv1 = ConvModule(inplanes, planes, kernel_size=3, stride=stride,
                                padding=dilation, dilation=dilation, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        if conv1_wrapper is not None:
            self.conv1.conv = conv1_wrapper(self.conv1.conv)
        self.conv2 = ConvModule(planes, planes, kernel_size=3, stride=1, padding=1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.style = style
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1, 3x3, 1x1 convs with a residual connection (ResNet-50/101/152).

    Args:
        inplanes (int): input channels.
        planes (int): channels of the 3x3 conv; the block outputs ``planes * 4``.
        stride (int): the block's stride, on the 3x3 conv ('pytorch' style) or on the first
            1x1 conv ('caffe' style). Default: 1.
        dilation (int): dilation of the 3x3 conv. Default: 1.
        downsample (nn.Module | None): applied to the identity branch. Default: None.
        style (str): 'pytorch' or 'caffe'. Default: 'pytorch'.
        conv_cfg, norm_cfg, act_cfg (dict): layer configs.
        with_cp (bool): recompute the block in backward to save memory. Default: False.
        conv1_wrapper (callable | None): wraps the conv of ``conv1`` (see
            :class:`BasicBlock`). Default: None.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = 'pytorch',
                 conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 with_cp: bool = False, conv1_wrapper: ConvWrapper | None = None) -> None:
        super().__init__()
        _check_style('Bottleneck', style)
        self.inplanes = inplanes
        self.planes = planes
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.conv1 = ConvModule(inplanes, planes, kernel_size=1, stride=self.conv1_stride,
                                bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        if conv1_wrapper is not None:
            self.conv1.conv = conv1_wrapper(self.conv1.conv)
        self.conv2 = ConvModule(planes, planes, kernel_size=3, stride=self.conv2_stride,
                                padding=dilation, dilation=dilation, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv3 = ConvModule(planes, planes * self.expansion, kernel_size=1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.style = style
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x))) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)


def make_downsample(block: type[nn.Module], inplanes: int, planes: int, stride: int,
                    conv_cfg: Mapping[str, Any] | None,
                    norm_cfg: Mapping[str, Any] | None) -> ConvModule | None:
    """The 1x1 conv + norm of a stage's first block, or ``None`` when shapes already match."""
    if stride == 1 and inplanes == planes * block.expansion:
        return None
    return ConvModule(inplanes, planes * block.expansion, kernel_size=1, stride=stride,
                      bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)


def make_res_layer(block: type[nn.Module], inplanes: int, planes: int, blocks: int,
                   stride: int = 1, dilation: int = 1, style: str = 'pytorch',
                   conv_cfg: Mapping[str, Any] | None = None,
                   norm_cfg: Mapping[str, Any] | None = None,
                   act_cfg: Mapping[str, Any] | None = None,
                   with_cp: bool = False) -> nn.Sequential:
    """Build one ResNet stage: ``blocks`` residual blocks, the first one strided.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        inplanes: input channels of the stage.
        planes: base channels (the stage outputs ``planes * block.expansion``).
        blocks: number of blocks.
        stride, dilation, style, conv_cfg, norm_cfg, act_cfg, with_cp: as for the blocks.

    Returns:
        ``nn.Sequential`` of the blocks (keys ``0.conv1...``, ``0.downsample...``).
    """
    downsample = make_downsample(block, inplanes, planes, stride, conv_cfg, norm_cfg)
    layers = [block(inplanes, planes, stride, dilation, downsample, style=style,
                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp)]
    for _ in range(1, blocks):
        layers.append(block(planes * block.expansion, planes, 1, dilation, style=style,
                            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                            with_cp=with_cp))
    return nn.Sequential(*layers)


@BACKBONES.register_module()
class ResNet(nn.Module):
    """ResNet backbone: ``[N, C, H, W]`` images to ``[N, feat_dim, H/32, W/32]`` features.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        pretrained (str | None): weights loaded by ``init_weights``: ``'torchvision://resnet50'``
            (from the torch hub cache), a local path, or ``None`` for random init.
        torchvision_pretrain (bool): ``pretrained`` has torchvision's key names (mapped to ours);
            False loads it as an actionkit / MMAction2 checkpoint. Default: True.
        in_channels (int): input channels; for flow (e.g. 10) an RGB ``conv1`` is averaged over
            its 3 channels and repeated. Default: 3.
        num_stages (int): stages, 1 to 4. Default: 4.
        out_indices (Sequence[int]): stages whose outputs are returned. Default: (3,).
        strides (Sequence[int]): stride of each stage's first block. Default: (1, 2, 2, 2).
        dilations (Sequence[int]): dilation of each stage. Default: (1, 1, 1, 1).
        style (str): 'pytorch' (stride on the 3x3 conv) or 'caffe' (on the first 1x1).
        frozen_stages (int): freeze the stem and stages ``1..frozen_stages`` (parameters fixed,
            norm layers in eval mode); -1 freezes nothing. Default: -1.
        conv_cfg (dict): conv layer config. Default: ``dict(type='Conv')``.
        norm_cfg (dict): norm layer config. Default: ``dict(type='BN2d', requires_grad=True)``.
        act_cfg (dict): activation config. Default: ``dict(type='ReLU', inplace=True)``.
        norm_eval (bool): keep every BatchNorm in eval mode during training (frozen running
            statistics). Default: False.
        partial_bn (bool): freeze every BatchNorm2d except the first (TSN's partial BN).
            Default: False.
        with_cp (bool): gradient checkpointing in the blocks. Default: False.
        base_channels (int): width of the stem and the first stage, doubled at each stage
            (an actionkit extension for small models; 64 is MMAction2's ResNet). Default: 64.
    """

    arch_settings: dict[int, tuple[type[nn.Module], tuple[int, ...]]] = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, pretrained: str | None = None,
                 torchvision_pretrain: bool = True, in_channels: int = 3, num_stages: int = 4,
                 out_indices: Sequence[int] = (3,), strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1), style: str = 'pytorch',
                 frozen_stages: int = -1, conv_cfg: Mapping[str, Any] = dict(type='Conv'),
                 norm_cfg: Mapping[str, Any] = dict(type='BN2d', requires_grad=True),
                 act_cfg: Mapping[str, Any] = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False, partial_bn: bool = False,
                 with_cp: bool = False, base_channels: int = 64) -> None:
        super().__init__()
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ValueError(f'{name}: depth must be one of {sorted(self.arch_settings)}, '
                             f'got {depth!r}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'{name}: pretrained must be a str or None, got {pretrained!r}')
        check_positive_int(name, 'in_channels', in_channels)
        if num_stages not in (1, 2, 3, 4):
            raise ValueError(f'{name}: num_stages must be 1, 2, 3 or 4, got {num_stages!r}')
        out_indices = tuple(out_indices)
        if not out_indices or not all(0 <= i < num_stages for i in out_indices):
            raise ValueError(f'{name}: out_indices must be stage indices in [0, {num_stages}), '
                             f'got {out_indices!r}')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f'{name}: strides and dilations need num_stages={num_stages} '
                             f'entries, got strides={strides!r}, dilations={dilations!r}')
        _check_style(name, style)
        check_positive_int(name, 'base_channels', base_channels)
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'{name}: frozen_stages must be in [-1, {num_stages}], '
                             f'got {frozen_stages!r}')
        self.depth = depth
        self.pretrained = pretrained
        self.torchvision_pretrain = torchvision_pretrain
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.out_indices = out_indices
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.style = style
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.partial_bn = partial_bn
        self.with_cp = with_cp
        self.base_channels = base_channels

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.inplanes = base_channels
        self._make_stem_layer()
        self.res_layers: list[str] = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            res_layer = self._make_res_layer(i, self.inplanes, planes, num_blocks,
                                             self.strides[i], self.dilations[i])
            self.inplanes = planes * self.block.expansion
            self.add_module(f'layer{i + 1}', res_layer)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = self.block.expansion * base_channels * 2**(len(self.stage_blocks) - 1)

    def _make_stem_layer(self) -> None:
        """The 7x7 stride-2 conv + norm + ReLU (``conv1``) and the 3x3 stride-2 max pool."""
        self.conv1 = ConvModule(self.in_channels, self.base_channels, kernel_size=7, stride=2,
                                padding=3, bias=False, conv_cfg=self.conv_cfg,
                                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _make_res_layer(self, stage: int, inplanes: int, planes: int, num_blocks: int,
                        stride: int, dilation: int) -> nn.Module:
        """Build stage ``stage`` (0-based); subclasses override this to wrap blocks."""
        return make_res_layer(self.block, inplanes, planes, num_blocks, stride=stride,
                              dilation=dilation, style=self.style, conv_cfg=self.conv_cfg,
                              norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                              with_cp=self.with_cp)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Load ``pretrained``, or initialise from scratch when it is ``None``.

        Raises:
            FileNotFoundError: a ``torchvision://`` checkpoint is not in the torch hub cache, or
                a local path does not exist (the message says which file to put where).
        """
        if self.pretrained is None:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    kaiming_init(module)
                elif isinstance(module, nn.BatchNorm2d):
                    constant_init(module, 1.0)
        elif self.torchvision_pretrain:
            self._load_torchvision_checkpoint()
        else:
            self._load_own_checkpoint(self.pretrained)

    def _load_own_checkpoint(self, filename: str) -> None:
        """Load an actionkit / MMAction2 checkpoint of a backbone or a whole recognizer (its
        ``backbone.`` keys), tolerating key names without TSM's wrappers."""
        from ..weights import load_backbone_checkpoint
        load_backbone_checkpoint(self, filename, canonical_resnet_key)

    def _load_torchvision_checkpoint(self, logger: logging.Logger | None = None) -> None:
        """Load a torchvision ResNet checkpoint (``pretrained``) into this backbone.

        torchvision's keys are mapped with :func:`torchvision_resnet_key`; ``fc.*`` is ignored.
        A 3-channel ``conv1`` loaded into ``in_channels != 3`` is averaged over its input
        channels and repeated (the cross-modality initialisation of TSN for flow).
        """
        from ..weights import read_checkpoint
        log = logger or _LOG
        checkpoint = read_checkpoint(self.pretrained, map_location='cpu')
        source = checkpoint.get('state_dict', checkpoint)
        used: set[str] = set()
        mismatched, not_found = [], []
        with torch.no_grad():
            for key, target in self.state_dict().items():
                tv_key = torchvision_resnet_key(key)
                if tv_key is None or tv_key not in source:
                    if not key.endswith('num_batches_tracked'):
                        not_found.append(key)
                    continue
                value = source[tv_key]
                if value.shape != target.shape:
                    value = self._adapt_stem_weight(key, value, target)
                if value is None:
                    mismatched.append(f'{key} <- {tv_key}: checkpoint {tuple(source[tv_key].shape)}'
                                      f', model {tuple(target.shape)}')
                    continue
                target.copy_(value)
                used.add(tv_key)
        unused = sorted(set(source) - used)
        log.info('%s: loaded %d tensors from %s', type(self).__name__, len(used), self.pretrained)
        if mismatched:
            log.warning('%s: skipped %d tensors whose shapes differ: %s', type(self).__name__,
                        len(mismatched), '; '.join(mismatched))
        if not_found:
            log.info('%s: %d tensors have no counterpart in %s (left as initialised): %s',
                     type(self).__name__, len(not_found), self.pretrained, not_found)
        if unused:
            log.info('%s: these checkpoint tensors were not used: %s', type(self).__name__,
                     unused)

    def _adapt_stem_weight(self, key: str, value: torch.Tensor,
                           target: torch.Tensor) -> torch.Tensor | None:
        """Average-and-repeat an RGB stem conv for ``in_channels != 3``; ``None`` if not that."""
        if (canonical_resnet_key(key) == 'conv1.conv.weight' and value.dim() == 4
                and value.shape[0] == target.shape[0] and value.shape[2:] == target.shape[2:]):
            _LOG.info('%s: conv1 averaged over its %d input channels and repeated %d times',
                        type(self).__name__, value.shape[1], target.shape[1])
            return value.mean(dim=1, keepdim=True).expand_as(target)
        return None

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Args:
            x: ``[N, in_channels, H, W]``.

        Returns:
            The output of the last stage in ``out_indices`` (``[N, feat_dim, H/32, W/32]`` by
            default), or a tuple of them when several stages are requested.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} takes an input of shape (N, C, H, W) with '
                             f'C = in_channels = {self.in_channels}. Got {tuple(x.shape)} instead!')
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    # ------------------------------------------------------------------ training mode
    def _freeze_stages(self) -> None:
        """Fix the stem and stages ``1..frozen_stages`` (no gradients, norm in eval mode)."""
        if self.frozen_stages >= 0:
            freeze(self.conv1)
        freeze(*(getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)))

    def _partial_bn(self) -> None:
        """Freeze every BatchNorm2d but the first: eval mode, no affine gradients."""
        _LOG.debug('%s: freezing BatchNorm2d except the first one', type(self).__name__)
        norms = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        for module in norms[1:]:
            module.eval()
            module.weight.requires_grad = False
            module.bias.requires_grad = False

    def train(self, mode: bool = True) -> 'ResNet':
        """Set the training mode, keeping frozen stages / norm_eval / partial BN in effect."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        if mode and self.partial_bn:
            self._partial_bn()
        return self
