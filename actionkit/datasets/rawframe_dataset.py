"""``RawframeDataset``: clips stored as folders of extracted frames."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .annotations import AnnotationRecords, load_rawframe_list
from .base import BaseDataset
from .builder import DATASETS

__all__ = ['RawframeDataset']


@DATASETS.register_module()
class RawframeDataset(BaseDataset):
    """Rawframe dataset for action recognition.

    The annotation list has one clip a line: the frame folder, the number of frames and the
    label(s), e.g. ``some/directory-1 163 1`` (``some/directory-1 163 1 3 5`` for a
    multi-label list). With ``with_offset=True`` a clip of a longer video is given by its
    first frame: ``some/directory-1 12 163 3`` (folder, offset, total_frames, label). A
    folder name with spaces is written before a TAB (see :mod:`actionkit.datasets.annotations`).
    A ``.json`` list of dicts is read as well.

    The pipeline receives ``frame_dir``, ``total_frames``, ``label`` (and ``offset``) plus
    ``filename_tmpl``, ``modality`` and ``start_index``.

    Args:
        ann_file (str): the annotation list.
        pipeline (list[dict | callable]): the transforms.
        data_prefix (str | None): joined in front of every ``frame_dir``.
        test_mode (bool): build a test/validation set (bad samples raise).
        filename_tmpl (str): frame file names, formatted with the frame index.
        with_offset (bool): lines give a start ``offset`` before ``total_frames``.
        multi_class (bool): several labels a line, given to the pipeline as a multi-hot
            tensor of length ``num_classes``.
        num_classes (int | None): number of classes (required with ``multi_class``).
        start_index (int): index of the first frame file.
        modality (str): ``'RGB'`` or ``'Flow'``.
        sample_by_class (bool): see :class:`BaseDataset`.
        power (float): see :class:`BaseDataset`.
        dynamic_length (bool): see :class:`BaseDataset`.
        data_root (str | None): MMAction2 1.x; see :class:`BaseDataset` (the 1.x
            ``data_prefix`` is ``dict(img=...)``).
    """

    prefix_key = 'img'

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 filename_tmpl: str = 'img_{:05}.jpg', with_offset: bool = False,
                 multi_class: bool = False, num_classes: int | None = None,
                 start_index: int = 1, modality: str = 'RGB', sample_by_class: bool = False,
                 power: float = 0., dynamic_length: bool = False,
                 data_root: str | os.PathLike | None = None) -> None:
        if not isinstance(filename_tmpl, str):
            raise TypeError(f'filename_tmpl must be a str such as "img_{{:05}}.jpg", got '
                            f'{filename_tmpl!r}')
        self.filename_tmpl = filename_tmpl
        self.with_offset = bool(with_offset)
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         multi_class=multi_class, num_classes=num_classes,
                         start_index=start_index, modality=modality,
                         sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length, data_root=data_root)

    def load_annotations(self) -> AnnotationRecords:
        """Read the rawframe list (or a ``.json`` list of dicts)."""
        if self.ann_file.endswith('.json'):
            return self.load_json_annotations()
        return load_rawframe_list(self.ann_file, with_offset=self.with_offset,
                                  multi_class=self.multi_class, num_classes=self.num_classes,
                                  data_prefix=self.data_prefix)

    def _results(self, idx: int) -> dict:
        results = super()._results(idx)
        results['filename_tmpl'] = self.filename_tmpl
        return results
