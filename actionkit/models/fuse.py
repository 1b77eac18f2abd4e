"""Fold BatchNorm layers into the convolutions before them, for faster inference."""
from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ['fuse_conv_bn']

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """Fuse every conv followed directly by a BatchNorm (in registration order) into one conv.

    The BatchNorm is replaced by ``nn.Identity``, so the module tree (and forward code that
    calls ``self.bn``) stays valid. Only for inference: the model must be in eval mode.
    """
    if module.training:
        raise ValueError('fuse_conv_bn folds running statistics; call model.eval() first')
    last_name, last_conv = None, None
    for name, child in list(module.named_children()):
        if isinstance(child, _NORMS) and last_conv is not None and \
                last_conv.out_channels == child.num_features:
            setattr(module, last_name, fuse_conv_bn_eval(last_conv, child))
            setattr(module, name, nn.Identity())
            last_name, last_conv = None, None
        elif isinstance(child, _CONVS):
            last_name, last_conv = name, child
        else:
            fuse_conv_bn(child)
            last_name, last_conv = None, None
    return module
