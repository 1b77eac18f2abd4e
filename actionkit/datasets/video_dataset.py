"""``VideoDataset``: clips stored as video files."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .annotations import AnnotationRecords, load_video_list
from .base import BaseDataset
from .builder import DATASETS

__all__ = ['VideoDataset']


@DATASETS.register_module()
class VideoDataset(BaseDataset):
    """Video dataset for action recognition.

    The annotation list has one video a line: its path and label(s), e.g.
    ``some/path/000.mp4 1`` (``some/path/000.mp4 1 3 5`` for a multi-label list). A path with
    spaces is written before a TAB (see :mod:`actionkit.datasets.annotations`). A ``.json``
    list of dicts is read as well. The pipeline receives ``filename``, ``label``,
    ``modality`` and ``start_index``.

    Args:
        ann_file (str): the annotation list.
        pipeline (list[dict | callable]): the transforms.
        start_index (int): index of the first frame; decoded video frames count from 0.
        data_prefix (str | None): joined in front of every path.
        test_mode (bool): build a test/validation set (bad samples raise).
        multi_class (bool): several labels a line, given to the pipeline as a multi-hot
            tensor of length ``num_classes``.
        num_classes (int | None): number of classes (required with ``multi_class``).
        modality (str): ``'RGB'``, ``'Flow'`` or ``'Audio'``.
        sample_by_class (bool): see :class:`BaseDataset`.
        power (float): see :class:`BaseDataset`.
        dynamic_length (bool): see :class:`BaseDataset`.
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 start_index: int = 0, data_prefix: str | os.PathLike | None = None,
                 test_mode: bool = False, multi_class: bool = False,
                 num_classes: int | None = None, modality: str = 'RGB',
                 sample_by_class: bool = False, power: float = 0,
                 dynamic_length: bool = False) -> None:
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         multi_class=multi_class, num_classes=num_classes,
                         start_index=start_index, modality=modality,
                         sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length)

    def load_annotations(self) -> AnnotationRecords:
        """Read the video list (or a ``.json`` list of dicts)."""
        if self.ann_file.endswith('.json'):
            return self.load_json_annotations()
        return load_video_list(self.ann_file, multi_class=self.multi_class,
                               num_classes=self.num_classes, data_prefix=self.data_prefix)
