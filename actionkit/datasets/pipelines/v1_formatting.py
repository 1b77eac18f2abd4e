"""MMAction2 1.x's last pipeline steps, producing the sample dict actionkit's engine takes.

MMAction2 1.x packs a sample as ``{'inputs': tensor, 'data_samples': ActionDataSample}`` for
its mmengine model API. actionkit has one engine, shaped as MMAction2 0.x's: a batch is a dict
of tensors named after the input (``imgs``, ``keypoint``, ``heatmap_imgs``, ``audios``) plus
``label``. ``PackActionInputs`` therefore writes exactly what 0.x's ``Collect`` + ``ToTensor``
would, and ``PackLocalizationInputs`` what the 0.x BMN / BSN pipelines collect. Either one
marks its pipeline as a 1.x pipeline (see :func:`.compose.is_v1_pipeline`).

``FormatShape`` in a 1.x pipeline is :class:`V1FormatShape`: 1.x's ``'NCHW'`` stacks optical
flow along channels when ``modality == 'Flow'`` (0.x spelled that ``'NCHW_Flow'``), and 1.x
adds ``'NCTHW_Heatmap'`` and the ``heatmap_imgs`` of RGB + pose pipelines.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..builder import PIPELINES
from ..loader import NoStack
from .compose import register_v1_variant
from .formatting import FormatShape, _check_keys, to_tensor

__all__ = ['PackActionInputs', 'PackLocalizationInputs', 'V1FormatShape']

_INPUT_KEYS = ('imgs', 'heatmap_imgs', 'keypoint', 'audios')  # 1.x's order of preference


@PIPELINES.register_module()
class PackActionInputs:
    """Pack a sample for the engine: its input tensor(s), ``label``, and the meta information.

    Without ``collect_keys`` the input is the first of ``imgs``, ``heatmap_imgs``,
    ``keypoint``, ``audios`` in the results (1.x's order); with it, every key listed (e.g.
    ``('imgs', 'heatmap_imgs')`` for RGBPoseConv3D). Each becomes a tensor under its own name, as
    0.x's ``Collect`` + ``ToTensor`` make it; ``label`` becomes ``LongTensor[1]`` (an int) or
    stays the multi-hot tensor. ``algorithm_keys`` present in the results are kept as tensors
    too. The ``meta_keys`` present are gathered as a plain dict under ``img_metas`` (which the
    recognizers ignore, as in 0.x).

    Required keys: the input key(s).
    Optional keys: ``label``, ``meta_keys``, ``algorithm_keys``.
    Removed keys: everything else.

    Args:
        collect_keys (Sequence[str] | None): the input keys to keep; None: the first found.
        meta_keys (Sequence[str]): keys gathered under ``img_metas`` when present.
        algorithm_keys (Sequence[str]): extra keys kept, as tensors, when present.
    """

    def __init__(self, collect_keys: Sequence[str] | None = None,
                 meta_keys: Sequence[str] = ('img_shape', 'img_key', 'video_id', 'timestamp'),
                 algorithm_keys: Sequence[str] = ()) -> None:
        name = type(self).__name__
        self.collect_keys = None if collect_keys is None else _check_keys(
            collect_keys, name, 'collect_keys')
        self.meta_keys = _check_keys(meta_keys, name, 'meta_keys')
        self.algorithm_keys = _check_keys(algorithm_keys, name, 'algorithm_keys')

    def _input_keys(self, results: Mapping[str, Any]) -> tuple[str, ...]:
        if self.collect_keys is not None:
            missing = [k for k in self.collect_keys if k not in results]
            if missing:
                raise KeyError(f'PackActionInputs: collect_keys {missing} are not in the '
                               f'results (keys: {sorted(results)})')
            return self.collect_keys
        for key in _INPUT_KEYS:
            if key in results:
                return (key, )
        raise KeyError(f'PackActionInputs: the results hold none of {_INPUT_KEYS} (keys: '
                       f'{sorted(results)}); name the input with collect_keys=(...)')

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        packed = {key: to_tensor(results[key]) for key in self._input_keys(results)}
        if 'label' in results:
            packed['label'] = to_tensor(results['label'])
        for key in self.algorithm_keys:
            if key in results:
                packed[key] = to_tensor(results[key])
        meta = {key: results[key] for key in self.meta_keys if key in results}
        if meta:
            packed['img_metas'] = meta
        return packed

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(collect_keys={self.collect_keys}, '
                f'meta_keys={self.meta_keys})')


@PIPELINES.register_module()
class PackLocalizationInputs:
    """Pack a localization sample as the 0.x BMN / BSN pipelines collect it.

    ``raw_feature`` becomes a tensor (stacked in a batch); each of ``keys`` present
    (``gt_bbox``, ``proposals``, ``bsp_feature``, ``reference_temporal_iou``, ``tmin`` ...)
    becomes a tensor kept per sample (a list in the batch, as 0.x's
    ``ToDataContainer(stack=False)``); the ``meta_keys`` present go under ``video_meta``.

    Required keys: ``raw_feature`` or ``bsp_feature``.
    Removed keys: everything else.

    Args:
        keys (Sequence[str]): the targets / proposal features to keep.
        meta_keys (Sequence[str]): keys gathered under ``video_meta`` when present.
    """

    def __init__(self, keys: Sequence[str] = (), meta_keys: Sequence[str] = ('video_name', )
                 ) -> None:
        self.keys = _check_keys(keys, type(self).__name__)
        self.meta_keys = _check_keys(meta_keys, type(self).__name__, 'meta_keys')

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'raw_feature' not in results and 'bsp_feature' not in results:
            raise KeyError(f"PackLocalizationInputs: the results hold neither 'raw_feature' "
                           f"nor 'bsp_feature' (keys: {sorted(results)})")
        packed: dict[str, Any] = {}
        if 'raw_feature' in results:
            packed['raw_feature'] = to_tensor(results['raw_feature'])
        for key in self.keys:
            if key in results:
                packed[key] = NoStack(to_tensor(results[key]))
        packed['video_meta'] = {key: results[key] for key in self.meta_keys if key in results}
        return packed

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={self.keys}, meta_keys={self.meta_keys})'


def _heatmap_layout(imgs: np.ndarray, num_clips: int, clip_len: int) -> np.ndarray:
    """``[crops*clips*T, K, H, W]`` heatmaps to ``[crops*clips, K, T, H, W]``."""
    imgs = imgs.reshape((-1, num_clips, clip_len) + imgs.shape[1:])
    imgs = np.transpose(imgs, (0, 1, 3, 2, 4, 5))
    return imgs.reshape((-1, ) + imgs.shape[2:])


@register_v1_variant('FormatShape')
class V1FormatShape(FormatShape):
    """``FormatShape`` as MMAction2 1.x defines it (in a 1.x pipeline).

    * ``'NCHW'`` with ``modality == 'Flow'``: ``[M / clip_len, clip_len x C, H, W]``;
    * ``'NCTHW_Heatmap'``: heatmaps ``[clips*T, K, H, W]`` (1.x's ``GeneratePoseTarget``) to
      ``[clips, K, T, H, W]``;
    * ``'NCTHW'``: also arranges ``heatmap_imgs`` (into ``heatmap_input_shape``) when the
      results hold them, with ``clip_len`` a dict ``{'RGB': ..., 'Pose': ...}``;
    * otherwise as :class:`~.formatting.FormatShape`.

    Args:
        input_format (str): ``'NCTHW'``, ``'NCHW'``, ``'NCTHW_Heatmap'`` or ``'NPTCHW'``.
        collapse (bool): squeeze the leading axis (needs ``num_clips == 1``).
    """

    _FORMATS = ('NCTHW', 'NCHW', 'NCTHW_Heatmap', 'NPTCHW')

    def __init__(self, input_format: str, collapse: bool = False) -> None:
        if input_format not in self._FORMATS:
            raise ValueError(f'FormatShape (MMAction2 1.x): input_format must be one of '
                             f'{self._FORMATS}, got {input_format!r}')
        super().__init__('NCTHW' if input_format == 'NCTHW_Heatmap' else input_format, collapse)
        self.input_format = input_format

    def _arrange(self, imgs: np.ndarray, results: Mapping[str, Any]) -> np.ndarray:
        clip_len = results.get('clip_len')
        if isinstance(clip_len, Mapping):
            clip_len = clip_len['RGB']
        if self.input_format == 'NCTHW_Heatmap':
            return _heatmap_layout(imgs, results['num_clips'], clip_len)
        if self.input_format == 'NCHW' and results.get('modality') == 'Flow':
            imgs = np.transpose(imgs, (0, 3, 1, 2))
            return imgs.reshape((-1, clip_len * imgs.shape[1]) + imgs.shape[2:])
        return super()._arrange(imgs, {**results, 'clip_len': clip_len})

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'imgs' in results:
            results = super().__call__(results)
        if self.input_format == 'NCTHW' and 'heatmap_imgs' in results:
            clip_len = results['clip_len']
            pose_len = clip_len['Pose'] if isinstance(clip_len, Mapping) else clip_len
            heatmaps = _heatmap_layout(np.asarray(results['heatmap_imgs']),
                                       results['num_clips'], pose_len)
            results['heatmap_imgs'] = heatmaps
            results['heatmap_input_shape'] = heatmaps.shape
        return results
