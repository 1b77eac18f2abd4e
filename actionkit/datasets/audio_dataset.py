"""``AudioDataset`` (audio files) and ``AudioFeatureDataset`` (``.npy`` log-mel features).

The annotation list is MMAction2 0.x's: ``path total_frames label [label ...]`` a line, where
``total_frames`` is the frame count of the video the audio came from (``SampleFrames`` picks
frames of it and the audio steps cut the matching part of the track), e.g.::

    some/directory-1.wav 163 1
    some/directory-2.wav 122 1

With a ``data_prefix``, a path not ending with ``suffix`` gets it appended
(``clip_001 100 3`` with ``data_prefix='audio'`` reads ``audio/clip_001.wav``); without one,
paths are taken as written. Built from an MMAction2 1.x config (``data_prefix=dict(audio=...)``
or ``data_root``), no suffix is appended unless one is given and ``start_index`` defaults to
0, as in 1.x. A ``.json`` list of dicts is read as by :class:`BaseDataset`.
The pipeline receives ``audio_path``, ``total_frames``, ``label``, ``modality='Audio'`` and
``start_index``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .annotations import AnnotationRecords, load_audio_list
from .base import BaseDataset
from .builder import DATASETS

__all__ = ['AudioDataset', 'AudioFeatureDataset']


class _AudioListDataset(BaseDataset):
    """Shared part of the two audio datasets: the list format and the suffix rule."""

    default_suffix = ''
    prefix_key = 'audio'

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 suffix: str | None = None, data_prefix: str | os.PathLike | None = None,
                 test_mode: bool = False, multi_class: bool = False,
                 num_classes: int | None = None, start_index: int | None = None,
                 sample_by_class: bool = False, power: float = 0,
                 dynamic_length: bool = False,
                 data_root: str | os.PathLike | None = None) -> None:
        # MMAction2 1.x (a dict data_prefix or a data_root): frames count from 0 and the
        # list's paths are taken as written (1.x appends no suffix)
        from_v1 = isinstance(data_prefix, Mapping) or data_root is not None
        if start_index is None:
            start_index = 0 if from_v1 else 1
        if suffix is None:
            suffix = '' if from_v1 else self.default_suffix
        if not isinstance(suffix, str):
            raise TypeError(f'{type(self).__name__}: suffix must be a str, got {suffix!r}')
        self.suffix = suffix
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         multi_class=multi_class, num_classes=num_classes,
                         start_index=start_index, modality='Audio',
                         sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length, data_root=data_root)

    def load_annotations(self) -> AnnotationRecords:
        """Read the list (``path total_frames label ...``) or a ``.json`` list of dicts."""
        if self.ann_file.endswith('.json'):
            return self.load_json_annotations()
        return load_audio_list(self.ann_file, multi_class=self.multi_class,
                               num_classes=self.num_classes, data_prefix=self.data_prefix)

    def _with_suffix(self, path: str) -> str:
        if self.data_prefix is None or path.endswith(self.suffix):
            return path
        return path + self.suffix

    def get_info(self, idx: int) -> dict:
        """A fresh copy of record ``idx``, its ``audio_path`` with the suffix rule applied."""
        info = super().get_info(idx)
        if 'audio_path' in info:
            info['audio_path'] = self._with_suffix(info['audio_path'])
        return info

    def _path_of(self, idx: int) -> str | None:
        path = super()._path_of(idx)
        return None if path is None else self._with_suffix(path)


@DATASETS.register_module()
class AudioDataset(_AudioListDataset):
    """Audio files decoded on the fly (``AudioDecodeInit`` ...); see the module docstring.

    Args:
        ann_file (str): the annotation list.
        pipeline (list[dict | callable]): the transforms.
        suffix (str): appended to paths without it when ``data_prefix`` is set. Default:
            ``'.wav'``.
        data_prefix, test_mode, multi_class, num_classes, start_index, sample_by_class, power,
        dynamic_length, data_root: see :class:`BaseDataset` (``start_index`` defaults to 1, as
        there; 0 for a 1.x config).
    """

    default_suffix = '.wav'


@DATASETS.register_module()
class AudioFeatureDataset(_AudioListDataset):
    """Audio features extracted off-line (``LoadAudioFeature`` ...); see the module docstring.

    Args:
        ann_file (str): the annotation list.
        pipeline (list[dict | callable]): the transforms.
        suffix (str): appended to paths without it when ``data_prefix`` is set. Default:
            ``'.npy'``.
        data_prefix, test_mode, multi_class, num_classes, start_index, sample_by_class, power,
        dynamic_length: see :class:`BaseDataset`.
    """

    default_suffix = '.npy'
