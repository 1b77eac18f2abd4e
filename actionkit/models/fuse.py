"""Fold BatchNorm layers into the convolutions before them, for faster inference."""
from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .backbones.resnet_tsm import TemporalShift

__all__ = ['fuse_conv_bn']

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def _output_conv(child: nn.Module) -> nn.Conv1d | nn.Conv2d | nn.Conv3d | None:
    """The conv that produces ``child``'s output: ``child`` itself, or the conv that TSM's
    ``TemporalShift`` wrapper runs after shifting (the shift only moves values, so a BatchNorm
    after the wrapper folds into that conv)."""
    if isinstance(child, _CONVS):
        return child
    if isinstance(child, TemporalShift) and isinstance(child.net, _CONVS):
        return child.net
    return None


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """Fuse every conv followed directly by a BatchNorm (in registration order) into one conv.

    The BatchNorm is replaced by ``nn.Identity``, so the module tree (and forward code that
    calls ``self.bn``) stays valid. A conv inside TSM's ``TemporalShift`` wrapper is fused with
    the BatchNorm after the wrapper. Only for inference: the model must be in eval mode.
    """
    if module.training:
        raise ValueError('fuse_conv_bn folds running statistics; call model.eval() first')
    last_name, last_child, last_conv = None, None, None
    for name, child in list(module.named_children()):
        conv = _output_conv(child)
        if isinstance(child, _NORMS) and last_conv is not None and \
                last_conv.out_channels == child.num_features:
            fused = fuse_conv_bn_eval(last_conv, child)
            if last_child is last_conv:
                setattr(module, last_name, fused)
            else:  # the conv inside a TemporalShift wrapper
                last_child.net = fused
            setattr(module, name, nn.Identity())
            last_name, last_child, last_conv = None, None, None
        elif conv is not None:
            last_name, last_child, last_conv = name, child, conv
        else:
            fuse_conv_bn(child)
            last_name, last_child, last_conv = None, None, None
    return module
