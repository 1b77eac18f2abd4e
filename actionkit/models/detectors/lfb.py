"""``LFB``: the long-term feature bank of https://arxiv.org/abs/1812.05038 (MMAction2's format).

A bank file ``{lfb_prefix_path}/lfb_{mode}.pkl`` (written by ``torch.save``, as
:class:`~actionkit.models.heads.LFBInferHead` and MMAction2 do) maps a video id to a dict from
the second (int) to a list of RoI feature vectors ``[lfb_channels]``. ``lfb['vid,0902']`` gives
``[window_size * max_num_sampled_feat, lfb_channels]``: for each second of the window
``range(t - window_size // 2, t - window_size // 2 + window_size)``, up to
``max_num_sampled_feat`` of that second's features drawn without replacement with
``np.random.choice`` (MMAction2's draw), zeros where a second has fewer or none.

Difference from MMAction2: the files are read at the first look-up, not in ``__init__``, so a
config builds before its bank exists; they are read with ``torch.load(weights_only=True)``
(tensors and containers only; anything else raises ``UnsafePickleError`` naming the file).
"""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch

from ...utils.safe_pickle import load_safe_torch

__all__ = ['LFB']

_DEVICES = ('cpu', 'gpu', 'lmdb')


class LFB:
    """Long-term feature bank, sampled per ``img_key`` (``'video_id,timestamp'``).

    Args:
        lfb_prefix_path (str): folder holding ``lfb_{mode}.pkl``.
        max_num_sampled_feat (int): features sampled per second. Default: 5.
        window_size (int): seconds around the key frame. Default: 60.
        lfb_channels (int): channels of a stored feature. Default: 2048.
        dataset_modes (tuple[str] | str): which ``lfb_{mode}.pkl`` to load.
            Default: ``('train', 'val')``.
        device (str): ``'gpu'`` (CUDA) or ``'cpu'``; ``'lmdb'`` is refused. Default: ``'gpu'``.
        lmdb_map_size, construct_lmdb: accepted for MMAction2's signature (lmdb only).
    """

    def __init__(self, lfb_prefix_path: str, max_num_sampled_feat: int = 5,
                 window_size: int = 60, lfb_channels: int = 2048,
                 dataset_modes: Sequence[str] | str = ('train', 'val'), device: str = 'gpu',
                 lmdb_map_size: float = 4e9, construct_lmdb: bool = True) -> None:
        if not isinstance(lfb_prefix_path, (str, os.PathLike)):
            raise TypeError(f'LFB: lfb_prefix_path must be a path, got {lfb_prefix_path!r}')
        for name, value in (('max_num_sampled_feat', max_num_sampled_feat),
                            ('window_size', window_size), ('lfb_channels', lfb_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'LFB: {name} must be a positive int, got {value!r}')
        if isinstance(dataset_modes, str):
            dataset_modes = (dataset_modes,)
        if not dataset_modes or not all(isinstance(m, str) for m in dataset_modes):
            raise TypeError(f'LFB: dataset_modes must be a str or a tuple of str, '
                            f'got {dataset_modes!r}')
        if device not in _DEVICES:
            raise ValueError(f"LFB: device must be 'gpu', 'cpu' or 'lmdb', got {device!r}")
        if device == 'lmdb':
            raise ValueError("LFB: device='lmdb' is not supported by actionkit (it would need "
                             "the lmdb package and a second copy of the bank); use 'cpu' or "
                             "'gpu'")
        self.lfb_prefix_path = os.fspath(lfb_prefix_path)
        self.max_num_sampled_feat = max_num_sampled_feat
        self.window_size = window_size
        self.lfb_channels = lfb_channels
        self.dataset_modes = tuple(dataset_modes)
        self.device = device
        self._lfb: dict | None = None

    @property
    def lfb(self) -> dict:
        """The bank (``{video_id: {second: [features]}}``), read at the first use."""
        if self._lfb is None:
            self._lfb = self._load()
        return self._lfb

    def _load(self) -> dict:
        if not osp.isdir(self.lfb_prefix_path):
            raise FileNotFoundError(f'LFB: lfb prefix path {self.lfb_prefix_path} does not '
                                    f'exist')
        if self.device == 'gpu' and not torch.cuda.is_available():
            raise RuntimeError("LFB: device='gpu' but CUDA is not available; set "
                               "lfb_cfg.device='cpu'")
        location = 'cuda' if self.device == 'gpu' else 'cpu'
        bank: dict = {}
        for mode in self.dataset_modes:
            path = osp.normpath(osp.join(self.lfb_prefix_path, f'lfb_{mode}.pkl'))
            data = load_safe_torch(path, map_location=location, expected='feature banks')
            if not isinstance(data, dict):
                raise ValueError(f'{path}: a feature bank is a dict of videos, got '
                                 f'{type(data).__name__}')
            bank.update(data)
        return bank

    def sample_long_term_features(self, video_id: str, timestamp: int) -> torch.Tensor:
        """``[window_size * max_num_sampled_feat, lfb_channels]`` features around ``timestamp``."""
        if video_id not in self.lfb:
            raise KeyError(f'LFB: video {video_id!r} is not in the bank at '
                           f'{self.lfb_prefix_path} (modes {self.dataset_modes})')
        video = self.lfb[video_id]
        size, k = self.window_size, self.max_num_sampled_feat
        start = timestamp - size // 2
        out = torch.zeros(size * k, self.lfb_channels)
        for idx, sec in enumerate(range(start, start + size)):
            feats = video.get(sec)
            if feats is None or len(feats) == 0:
                continue
            picks = np.random.choice(range(len(feats)), min(len(feats), k), replace=False)
            for j, pick in enumerate(picks):
                out[idx * k + j] = feats[pick]
        return out

    def __getitem__(self, img_key: str) -> torch.Tensor:
        video_id, sep, timestamp = img_key.rpartition(',')
        if not sep:
            raise KeyError(f"LFB: img_key must be 'video_id,timestamp', got {img_key!r}")
        return self.sample_long_term_features(video_id, int(timestamp))

    def __len__(self) -> int:
        return len(self.lfb)
