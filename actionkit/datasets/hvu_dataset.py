"""HVUDataset: videos or frame folders tagged in several categories (MMAction2 0.x's HVU)."""
from __future__ import annotations

import json
import os.path as osp
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..evaluation.hvu import category_start_indices, hvu_category_map
from ..utils.bounded_read import MAX_ANNOTATION_BYTES
from ..utils.fileio import read_text
from .base import BaseDataset, log_function
from .builder import DATASETS
from .errors import AnnotationError

__all__ = ['HVUDataset']


@DATASETS.register_module()
class HVUDataset(BaseDataset):
    """A JSON list of videos (``filename``) or frame folders (``frame_dir`` and
    ``total_frames``), each with tags per category::

        {"filename": "gD_G1b0wV5I_001015_001035.mp4",
         "label": {"concept": [250, 131], "object": [1570, 508], "action": [180]}}

    Every record also gets ``categories`` and ``category_nums`` (for ``LoadHVULabel``) and,
    for frame folders, ``filename_tmpl``, ``start_index`` and ``modality``.

    Args:
        ann_file (str): the ``.json`` annotation file.
        pipeline (list[dict | callable]): the transforms.
        tag_categories (list[str]): the categories, in score-column order.
        tag_category_nums (list[int]): tags per category.
        filename_tmpl (str | None): frame file names; needed for frame folders. Default: None.
        data_prefix (str | None), test_mode (bool), modality (str): see ``BaseDataset``.
        start_index (int): the first frame's index. Default: 0.
    """

    def __init__(self, ann_file: str, pipeline: Sequence[Any], tag_categories: Sequence[str],
                 tag_category_nums: Sequence[int], filename_tmpl: str | None = None,
                 data_prefix: str | None = None, test_mode: bool = False,
                 start_index: int = 0, modality: str = 'RGB') -> None:
        if len(tag_categories) != len(tag_category_nums):
            raise ValueError(f'HVUDataset: {len(tag_categories)} tag_categories but '
                             f'{len(tag_category_nums)} tag_category_nums')
        self.tag_categories, self.tag_category_nums = list(tag_categories), \
            list(tag_category_nums)
        self.filename_tmpl = filename_tmpl
        self.num_categories = len(self.tag_categories)
        self.num_tags = sum(self.tag_category_nums)
        self.category2num = dict(zip(self.tag_categories, self.tag_category_nums))
        self.start_idx = category_start_indices(self.tag_category_nums)
        self.category2startidx = dict(zip(self.tag_categories, self.start_idx))
        self.dataset_type: str | None = None
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         start_index=start_index, modality=modality)

    def load_annotations(self) -> list[dict]:
        if not self.ann_file.endswith('.json'):
            raise ValueError(f'HVUDataset needs a .json annotation file, got {self.ann_file}')
        return self.load_json_annotations()

    def load_json_annotations(self) -> list[dict]:
        text = read_text(self.ann_file, MAX_ANNOTATION_BYTES, 'annotation file', AnnotationError)
        try:
            video_infos = json.loads(text)
        except json.JSONDecodeError as err:
            raise AnnotationError(f'{self.ann_file}: not valid JSON ({err})') from err
        if not isinstance(video_infos, list) or not video_infos:
            raise AnnotationError(f'{self.ann_file}: expected a non-empty JSON list of videos')
        first = video_infos[0]
        if ('filename' in first) == ('frame_dir' in first):
            raise AnnotationError(f'{self.ann_file}: record 0 needs exactly one of "filename" '
                                  f'and "frame_dir"')
        path_key = 'filename' if 'filename' in first else 'frame_dir'
        self.dataset_type = 'video' if path_key == 'filename' else 'rawframe'
        if self.dataset_type == 'rawframe' and self.filename_tmpl is None:
            raise ValueError('HVUDataset: frame folders need filename_tmpl')
        for i, info in enumerate(video_infos):
            if path_key not in info or not isinstance(info.get('label'), dict):
                raise AnnotationError(f'{self.ann_file}: record {i} needs "{path_key}" and a '
                                      f'"label" dict of category -> tags')
            if self.data_prefix is not None:
                info[path_key] = osp.join(self.data_prefix, info[path_key])
            info['categories'] = self.tag_categories
            info['category_nums'] = self.tag_category_nums
            if self.dataset_type == 'rawframe':
                info.update(filename_tmpl=self.filename_tmpl, start_index=self.start_index,
                            modality=self.modality)
        return video_infos

    def evaluate(self, results: list, metrics: str | Sequence[str] = 'mean_average_precision',
                 metric_options: dict | None = None, logger: Any = None,
                 **deprecated_kwargs: Any) -> OrderedDict:
        """The mAP of each tag category (``'<category>_mAP'``), over the videos tagged in it.

        ``'mean_average_precision'`` is the only metric (scores of all tags together would
        mix videos whose categories are missing).
        """
        if not isinstance(results, list):
            raise TypeError(f'results must be a list, got {type(results).__name__}')
        if len(results) != len(self):
            raise ValueError(f'{len(results)} results for the {len(self)} videos of '
                             f'{self.ann_file}')
        metrics = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        if metrics != ['mean_average_precision']:
            raise KeyError(f"HVUDataset evaluates only 'mean_average_precision', got {metrics}")
        scores = hvu_category_map(results, [info['label'] for info in self.video_infos],
                                  self.tag_categories, self.tag_category_nums)
        log = log_function(logger)
        for name, value in scores.items():
            log(f'{name}\t{value:.4f}')
        return scores
