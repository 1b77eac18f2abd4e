"""``VideoDataset``: clips stored as video files."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .annotations import AnnotationRecords, load_delimited_video_list, load_video_list
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
        delimiter (str | None): MMAction2 1.x: the field separator of the list (e.g.
            ``','``); None (and ``' '``) splits on blanks as described above.
        data_root (str | None): MMAction2 1.x; see :class:`BaseDataset`.
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 start_index: int = 0, data_prefix: str | os.PathLike | None = None,
                 test_mode: bool = False, multi_class: bool = False,
                 num_classes: int | None = None, modality: str = 'RGB',
                 sample_by_class: bool = False, power: float = 0,
                 dynamic_length: bool = False, delimiter: str | None = None,
                 data_root: str | os.PathLike | None = None) -> None:
        if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
            raise TypeError(f'VideoDataset: delimiter must be a non-empty str or None, got '
                            f'{delimiter!r}')
        self.delimiter = None if delimiter == ' ' else delimiter
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         multi_class=multi_class, num_classes=num_classes,
                         start_index=start_index, modality=modality,
                         sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length, data_root=data_root)

    def load_annotations(self) -> AnnotationRecords:
        """Read the video list (or a ``.json`` list of dicts)."""
        if self.ann_file.endswith('.json'):
            return self.load_json_annotations()
        if self.delimiter is not None:
            return load_delimited_video_list(self.ann_file, self.delimiter, self.multi_class,
                                             self.num_classes, self.data_prefix)
        return load_video_list(self.ann_file, multi_class=self.multi_class,
                               num_classes=self.num_classes, data_prefix=self.data_prefix)
