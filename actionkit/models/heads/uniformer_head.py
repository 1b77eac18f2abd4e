"""The UniFormerV2 classification head (MMAction2 1.x): dropout and a linear layer on the video
representation. With ``init_cfg=dict(type='Pretrained', ...)`` and a ``channel_map`` it starts
from the rows of a Kinetics-710 head that a Kinetics-400/600/700 class list selects. Keys:
``cls_head.fc_cls.weight`` / ``.bias``.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..backbones.init_cfg import pretrained_init_cfg
from ..backbones.weights3d import read_state_dict, strip_prefix
from ..builder import HEADS
from ..weights import load_state_dict
from .timesformer_head import TimeSformerHead

__all__ = ['UniFormerHead']

logger = logging.getLogger(__name__)

_DEFAULT_INIT = dict(type='TruncNormal', layer='Linear', std=0.02)  # 1.x's default init_cfg


def read_channel_map(path: str, num_classes: int) -> list[int]:
    """The JSON list of row indices in ``path``, checked to select ``num_classes`` rows."""
    try:
        with open(path, encoding='utf-8') as f:
            rows = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f'UniFormerHead: channel_map file not found: {path} (1.x '
                                'configs name it relative to the MMAction2 source folder)'
                                ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f'UniFormerHead: channel_map {path} is not JSON: {error}') from None
    if not isinstance(rows, list) or len(rows) != num_classes or not all(
            isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in rows):
        raise ValueError(f'UniFormerHead: channel_map {path} must be a JSON list of '
                         f'{num_classes} row indices (num_classes)')
    return rows


@HEADS.register_module()
class UniFormerHead(TimeSformerHead):
    """UniFormerV2 head: ``[N, in_channels]`` to ``[N, num_classes]`` scores.

    Args:
        num_classes (int): number of classes.
        in_channels (int): width of the representation.
        loss_cls (dict): the loss config. Default: ``dict(type='CrossEntropyLoss')``.
        dropout_ratio (float): dropout before ``fc_cls`` (0 for none). Default: 0.
        channel_map (str | None): a JSON list of the rows of a pretrained head to keep.
        init_cfg (dict): ``dict(type='TruncNormal', layer='Linear', std=0.02)`` (the
            default), or ``dict(type='Pretrained', checkpoint=..., prefix='cls_head.')``,
            which needs ``channel_map``.
        **kwargs: ``multi_class``, ``label_smooth_eps``, ``topk`` (see :class:`BaseHead`).

    Example:
        >>> UniFormerHead(num_classes=4, in_channels=8)(torch.rand(2, 8)).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: Mapping[str, Any] | nn.Module = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.0, channel_map: str | None = None,
                 init_cfg: Any = _DEFAULT_INIT, **kwargs: Any) -> None:
        pretrained = pretrained_init_cfg('UniFormerHead', init_cfg)
        std = init_cfg.get('std', 0.02) if isinstance(init_cfg, Mapping) else 0.02
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, init_std=std,
                         dropout_ratio=dropout_ratio, **kwargs)
        if pretrained is not None and channel_map is None:
            raise ValueError('UniFormerHead: a Pretrained init_cfg needs a channel_map (the '
                             'rows of the pretrained head to keep)')
        self.pretrained_cfg, self.channel_map = pretrained, channel_map

    def init_weights(self) -> None:
        """Truncated-normal ``fc_cls`` (zero bias), or the channel-mapped pretrained rows."""
        super().init_weights()
        if self.pretrained_cfg is None:
            return
        path = self.pretrained_cfg['checkpoint']
        logger.info('UniFormerHead: loading the rows %s selects from %s', self.channel_map, path)
        state_dict = strip_prefix(read_state_dict(path), 'cls_head.')
        rows = torch.as_tensor(read_channel_map(self.channel_map, self.num_classes))
        state_dict = {key: value[rows] for key, value in state_dict.items()
                      if key.startswith('fc_cls.')}
        load_state_dict(self, state_dict, strict=False, source=path)
