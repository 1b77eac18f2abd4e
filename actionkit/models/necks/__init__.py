"""Necks (the ``NECKS`` registry), between a backbone and a head.

No neck is shipped yet (MMAction2's TPN is not ported); recognizers accept ``neck=None`` and
any module registered with ``@NECKS.register_module()`` whose ``forward(feats, labels=None)``
returns ``(features, aux_losses)``.
"""
__all__: list[str] = []
