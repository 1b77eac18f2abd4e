"""Necks (the ``NECKS`` registry), between a backbone and a head.

MMAction2's TPN is shipped. Recognizers accept ``neck=None`` and any module registered with
``@NECKS.register_module()`` whose ``forward(feats, labels=None)`` returns
``(features, aux_losses)``.
"""
from .tpn import *  # noqa: F401,F403
