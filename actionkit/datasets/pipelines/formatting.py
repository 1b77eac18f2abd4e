"""The last pipeline steps: arrange the frames into the network's input layout and turn the
results into the plain dict of tensors a batch is made of.

actionkit has no ``DataContainer``: ``Collect`` puts the meta information under
``img_metas`` as a plain dict, and ``ToDataContainer`` is accepted and passes values through.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..builder import PIPELINES
from ..loader import NoStack

__all__ = ['to_tensor', 'ToTensor', 'Rename', 'ToDataContainer', 'ImageToTensor', 'Transpose',
           'Collect', 'FormatShape']

logger = logging.getLogger(__name__)

_INPUT_FORMATS = ('NCTHW', 'NCHW', 'NCHW_Flow', 'NPTCHW')


def to_tensor(data: Any) -> torch.Tensor:
    """Convert a tensor, array, sequence, int or float to a ``torch.Tensor``.

    An int becomes a ``LongTensor`` of one element and a float a ``FloatTensor`` of one
    element, as in MMAction2 0.x (so a single label becomes ``LongTensor[1]``).
    """
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data) if min(data.strides, default=0) < 0
                                else data)
    if isinstance(data, Sequence) and not isinstance(data, str):
        if data and all(isinstance(item, np.ndarray) for item in data):
            return torch.from_numpy(np.stack(data))  # e.g. a list of frames
        return torch.tensor(data)
    if isinstance(data, (bool, np.bool_)):
        raise TypeError(f'cannot convert a bool ({data!r}) to a tensor; use an int')
    if isinstance(data, (int, np.integer)):
        return torch.LongTensor([int(data)])
    if isinstance(data, (float, np.floating)):
        return torch.FloatTensor([float(data)])
    raise TypeError(f'cannot convert {type(data).__name__} to a tensor; expected a tensor, '
                    f'np.ndarray, sequence, int or float')


def _check_keys(keys: Any, owner: str, name: str = 'keys') -> tuple[str, ...]:
    if isinstance(keys, str) or not isinstance(keys, Sequence) or not all(
            isinstance(k, str) for k in keys):
        raise TypeError(f'{owner}: {name} must be a list or tuple of str, got {keys!r}')
    return tuple(keys)


def _require(results: Mapping[str, Any], keys: Sequence[str], owner: str) -> None:
    missing = [k for k in keys if k not in results]
    if missing:
        raise KeyError(f'{owner}: results has no key(s) {missing}; got keys {sorted(results)}')


@PIPELINES.register_module()
class ToTensor:
    """Convert ``results[key]`` to a ``torch.Tensor`` for each key (see :func:`to_tensor`).

    Required keys: the ones in ``keys``.
    Modified keys: the ones in ``keys``.

    Args:
        keys (Sequence[str]): the keys to convert.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = _check_keys(keys, type(self).__name__)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, self.keys, type(self).__name__)
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={list(self.keys)})'


@PIPELINES.register_module()
class Rename:
    """Rename keys: ``mapping`` maps old names to new ones; absent old names are skipped.

    Modified keys: the ones in ``mapping`` (renamed).

    Args:
        mapping (dict[str, str]): old name -> new name.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
            raise TypeError(f'Rename: mapping must be a dict of str -> str, got {mapping!r}')
        self.mapping = dict(mapping)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for old, new in self.mapping.items():
            if old in results:
                if new in results:
                    raise KeyError(f'Rename: cannot rename {old!r} to {new!r}, which already '
                                   f'exists in results')
                results[new] = results.pop(old)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mapping={self.mapping})'


@PIPELINES.register_module()
class ToDataContainer:
    """Mark fields as MMAction2's ``DataContainer`` did, for batching.

    actionkit batches plain values; the one thing that matters is ``stack``: a field with
    ``stack=False`` (e.g. localization's per-video ``gt_bbox``, whose length varies) is wrapped
    in :class:`~actionkit.datasets.loader.NoStack`, so the batch holds a list of them instead of
    a stacked tensor. ``cpu_only`` is accepted and has no effect.

    Required keys: the ``key`` of each field.
    Modified keys: the fields with ``stack=False`` (wrapped in ``NoStack``).

    Args:
        fields (Sequence[dict]): ``dict(key=..., stack=..., cpu_only=...)`` items; ``key``
            may be a list of keys.
    """

    def __init__(self, fields: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(fields, Mapping) or not all(
                isinstance(f, Mapping) and 'key' in f for f in fields):
            raise TypeError(f'ToDataContainer: fields must be a sequence of dicts with a "key", '
                            f'got {fields!r}')
        self.fields = tuple(dict(f) for f in fields)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for field in self.fields:
            keys = field['key'] if isinstance(field['key'], list) else [field['key']]
            _require(results, keys, type(self).__name__)
            if not field.get('stack', True):
                for key in keys:
                    results[key] = NoStack(results[key])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(fields={list(self.fields)})'


@PIPELINES.register_module()
class ImageToTensor:
    """Convert ``H x W x C`` images to ``C x H x W`` tensors.

    Required keys: the ones in ``keys``.
    Modified keys: the ones in ``keys``.

    Args:
        keys (Sequence[str]): the keys to convert.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = _check_keys(keys, type(self).__name__)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, self.keys, type(self).__name__)
        for key in self.keys:
            results[key] = to_tensor(np.asarray(results[key]).transpose(2, 0, 1))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={list(self.keys)})'


@PIPELINES.register_module()
class Transpose:
    """Transpose arrays: ``results[key] = results[key].transpose(order)``.

    Required keys: the ones in ``keys``.
    Modified keys: the ones in ``keys``.

    Args:
        keys (Sequence[str]): the keys to transpose.
        order (Sequence[int]): the new axis order.
    """

    def __init__(self, keys: Sequence[str], order: Sequence[int]) -> None:
        self.keys = _check_keys(keys, type(self).__name__)
        if not isinstance(order, Sequence) or sorted(order) != list(range(len(order))):
            raise ValueError(f'Transpose: order must be a permutation of 0..n-1, got {order!r}')
        self.order = tuple(order)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        _require(results, self.keys, type(self).__name__)
        for key in self.keys:
            results[key] = results[key].transpose(self.order)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={list(self.keys)}, order={list(self.order)})'


@PIPELINES.register_module()
class Collect:
    """Keep only ``keys``, and gather ``meta_keys`` into one plain dict under ``meta_name``.

    The result is a new dict with the keys in ``keys`` plus ``meta_name`` (when
    ``meta_keys`` is not empty); with ``nested=True`` every value is wrapped in a list.

    Required keys: the ones in ``keys`` and ``meta_keys``.
    Added keys: ``meta_name`` (``img_metas``).
    Removed keys: every key not in ``keys``.

    Args:
        keys (Sequence[str]): keys kept as they are (e.g. ``['imgs', 'label']``).
        meta_keys (Sequence[str]): keys gathered under ``meta_name``.
        meta_name (str): the key of the meta dict.
        nested (bool): wrap each value in a list (for compatibility).
    """

    def __init__(self, keys: Sequence[str],
                 meta_keys: Sequence[str] = ('filename', 'label', 'original_shape',
                                             'img_shape', 'pad_shape', 'flip_direction',
                                             'img_norm_cfg'),
                 meta_name: str = 'img_metas', nested: bool = False) -> None:
        self.keys = _check_keys(keys, type(self).__name__)
        self.meta_keys = _check_keys(meta_keys, type(self).__name__, 'meta_keys')
        if not isinstance(meta_name, str) or not meta_name:
            raise TypeError(f'Collect: meta_name must be a non-empty str, got {meta_name!r}')
        self.meta_name = meta_name
        self.nested = bool(nested)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in self.meta_keys if k not in results]
        if missing:
            raise KeyError(f'Collect: meta_keys {missing} are not in results (keys: '
                           f'{sorted(results)}); set meta_keys=[...] to the keys you need, '
                           f'or meta_keys=[] for none')
        _require(results, self.keys, type(self).__name__)
        data = {key: results[key] for key in self.keys}
        if self.meta_keys:
            data[self.meta_name] = {key: results[key] for key in self.meta_keys}
        if self.nested:
            data = {key: [value] for key, value in data.items()}
        return data

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keys={list(self.keys)}, '
                f'meta_keys={list(self.meta_keys)}, nested={self.nested})')


@PIPELINES.register_module()
class FormatShape:
    """Arrange the frames ``[M, H, W, C]`` (``M = crops x clips x clip_len``) for the network.

    * ``'NCHW'``: ``[M, C, H, W]`` (2D recognizers);
    * ``'NCTHW'``: ``[crops x clips, C, clip_len, H, W]`` (3D recognizers);
    * ``'NCHW_Flow'``: ``[crops x clips, clip_len x C, H, W]`` (stacked optical flow);
    * ``'NPTCHW'``: ``[num_proposals, clips x clip_len, C, H, W]`` (SSN).

    ``collapse=True`` drops the leading axis when it is 1.

    Required keys: ``imgs``, ``num_clips``, ``clip_len``.
    Optional keys: ``num_proposals``.
    Added keys: ``input_shape``.
    Modified keys: ``imgs``.

    Args:
        input_format (str): one of the layouts above.
        collapse (bool): squeeze the leading axis (needs ``num_clips == 1``).
    """

    def __init__(self, input_format: str, collapse: bool = False) -> None:
        if input_format not in _INPUT_FORMATS:
            raise ValueError(f'FormatShape: input_format must be one of {_INPUT_FORMATS}, got '
                             f'{input_format!r}')
        self.input_format = input_format
        self.collapse = bool(collapse)

    def _arrange(self, imgs: np.ndarray, results: Mapping[str, Any]) -> np.ndarray:
        num_clips, clip_len = results['num_clips'], results['clip_len']
        if self.input_format == 'NCHW':
            return np.transpose(imgs, (0, 3, 1, 2))
        if self.input_format == 'NPTCHW':
            imgs = imgs.reshape((results['num_proposals'], num_clips * clip_len)
                                + imgs.shape[1:])
            return np.transpose(imgs, (0, 1, 4, 2, 3))
        imgs = imgs.reshape((-1, num_clips, clip_len) + imgs.shape[1:])
        if self.input_format == 'NCTHW':
            imgs = np.transpose(imgs, (0, 1, 5, 2, 3, 4))  # crops, clips, C, T, H, W
            return imgs.reshape((-1, ) + imgs.shape[2:])
        imgs = np.transpose(imgs, (0, 1, 2, 5, 3, 4))  # NCHW_Flow: crops, clips, T, C, H, W
        return imgs.reshape((-1, imgs.shape[2] * imgs.shape[3]) + imgs.shape[4:])

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        keys = ('imgs', ) if self.input_format == 'NCHW' else ('imgs', 'num_clips', 'clip_len')
        _require(results, keys, 'FormatShape')
        imgs = results['imgs']
        if not isinstance(imgs, np.ndarray):
            imgs = np.array(imgs)
        if self.collapse and results.get('num_clips', 1) != 1:
            raise ValueError(f'FormatShape: collapse=True needs num_clips == 1, got '
                             f'{results["num_clips"]}')
        try:
            imgs = self._arrange(imgs, results)
        except ValueError as err:
            raise ValueError(f'FormatShape({self.input_format}): cannot arrange frames of shape '
                             f'{imgs.shape} with num_clips={results.get("num_clips")}, '
                             f'clip_len={results.get("clip_len")}: {err}') from err
        if self.collapse:
            if imgs.shape[0] != 1:
                raise ValueError(f'FormatShape: collapse=True needs a leading axis of 1, got '
                                 f'shape {imgs.shape}')
            imgs = imgs.squeeze(0)
        results['imgs'] = imgs
        results['input_shape'] = imgs.shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_format='{self.input_format}')"
