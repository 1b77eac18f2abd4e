"""SubBatchNorm3D: batch norm over sub-batches, for multigrid training.

`A Multigrid Method for Efficiently Training Video Models <https://arxiv.org/abs/1912.00998>`_:
when the long cycle makes the batch ``num_splits`` times larger, the statistics are still
computed over groups of the base batch size. In training the batch ``[N, C, T, H, W]`` is seen
as ``[N / num_splits, C * num_splits, T, H, W]`` by ``split_bn``; in evaluation ``bn`` is used,
whose statistics :meth:`SubBatchNorm3D.aggregate_stats` sets from the splits'. One affine pair
(``weight``, ``bias``) serves both. The state-dict keys are MMAction2 0.x's: ``weight``,
``bias``, ``bn.running_mean`` …, ``split_bn.running_mean`` …

``norm_cfg=dict(type='SubBatchNorm3D', num_splits=2)`` builds it in a backbone.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ['SubBatchNorm3D', 'set_sub_bn_splits', 'aggregate_sub_bn_stats']


class SubBatchNorm3D(nn.Module):
    """Batch norm whose training statistics are computed per sub-batch.

    Args:
        num_features (int): channels ``C``.
        num_splits (int): sub-batches per batch. Default: 1.
        affine (bool): learn a per-channel scale and shift. Default: True.
        eps, momentum, track_running_stats: as for ``nn.BatchNorm3d``.
    """

    def __init__(self, num_features: int, num_splits: int = 1, affine: bool = True,
                 eps: float = 1e-5, momentum: float | None = 0.1,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        if isinstance(num_splits, bool) or not isinstance(num_splits, int) or num_splits < 1:
            raise ValueError(f'SubBatchNorm3D: num_splits must be an int >= 1, got '
                             f'{num_splits!r}')
        self.num_features, self.num_splits = num_features, num_splits
        self.num_features_split = num_features * num_splits
        self._bn_args = dict(eps=eps, momentum=momentum, affine=False,
                             track_running_stats=track_running_stats)
        self.bn = nn.BatchNorm3d(num_features, **self._bn_args)
        self.split_bn = nn.BatchNorm3d(self.num_features_split, **self._bn_args)
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))

    @torch.no_grad()
    def aggregate_stats(self) -> None:
        """Set ``bn``'s statistics to those of the union of the splits (equal-sized splits)."""
        if self.split_bn.track_running_stats:
            means = self.split_bn.running_mean.view(self.num_splits, -1)
            variances = self.split_bn.running_var.view(self.num_splits, -1)
            mean = means.mean(0)
            self.bn.running_mean.copy_(mean)
            self.bn.running_var.copy_(variances.mean(0) + ((means - mean) ** 2).mean(0))
            self.bn.num_batches_tracked.copy_(self.split_bn.num_batches_tracked)

    def set_num_splits(self, num_splits: int) -> None:
        """Use ``num_splits`` sub-batches from now on.

        As MMAction2's ``modify_subbn3d_num_splits``: when the new count is a multiple of the
        old one, the old split statistics are tiled; otherwise they start afresh (zeros, ones);
        ``num_batches_tracked`` restarts at 0.
        """
        new = nn.BatchNorm3d(self.num_features * num_splits, **self._bn_args)
        new = new.to(self.split_bn.running_mean.device)
        old = self.split_bn
        if old.track_running_stats:
            reps = new.num_features // old.num_features
            if new.num_features % old.num_features == 0:
                new.running_mean.copy_(old.running_mean.repeat(reps))
                new.running_var.copy_(old.running_var.repeat(reps))
        self.num_splits, self.num_features_split = num_splits, new.num_features
        self.split_bn = new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [N, C, T, H, W]
        if self.training:
            n, c, t, h, w = x.shape
            if n % self.num_splits:
                raise ValueError(f'SubBatchNorm3D: the batch of {n} does not split into '
                                 f'{self.num_splits} equal sub-batches')
            x = self.split_bn(x.reshape(n // self.num_splits, c * self.num_splits, t, h, w))
            x = x.reshape(n, c, t, h, w)
        else:
            x = self.bn(x)
        if self.affine:
            x = x * self.weight.view(-1, 1, 1, 1) + self.bias.view(-1, 1, 1, 1)
        return x


def _sub_bns(model: nn.Module) -> list[SubBatchNorm3D]:
    return [m for m in model.modules() if isinstance(m, SubBatchNorm3D)]


def set_sub_bn_splits(model: nn.Module, num_splits: int) -> int:
    """Give every :class:`SubBatchNorm3D` of ``model`` ``num_splits``; return how many."""
    found = _sub_bns(model)
    for module in found:
        module.set_num_splits(num_splits)
    return len(found)


def aggregate_sub_bn_stats(model: nn.Module) -> int:
    """:meth:`SubBatchNorm3D.aggregate_stats` for every one in ``model``; return how many."""
    found = _sub_bns(model)
    for module in found:
        module.aggregate_stats()
    return len(found)
