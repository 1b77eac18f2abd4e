"""``LoadHVULabel``: HVU's per-category tags as multi-hot tensors (MMAction2 0.x)."""
from __future__ import annotations

from typing import Any

import torch

from ...evaluation.hvu import category_start_indices
from ..builder import PIPELINES

__all__ = ['LoadHVULabel']


@PIPELINES.register_module()
class LoadHVULabel:
    """Turn ``{category: [tags]}`` into the tensors ``HVULoss`` takes.

    The categories come from the results (``HVUDataset`` puts ``categories`` and
    ``category_nums`` in every record), read on the first call.

    Required keys: ``label`` (dict), ``categories``, ``category_nums``.
    Modified keys: ``label`` (multi-hot ``[num_tags]``).
    Added keys: ``mask`` (1 on the tags of every category the video has),
    ``category_mask`` (``[num_categories]``, 1 for those categories).
    """

    def __init__(self, **kwargs: Any) -> None:
        self.hvu_initialized = False
        self.kwargs = kwargs

    def init_hvu_info(self, categories: list[str], category_nums: list[int]) -> None:
        if len(categories) != len(category_nums):
            raise ValueError(f'LoadHVULabel: {len(categories)} categories but '
                             f'{len(category_nums)} category_nums')
        self.categories, self.category_nums = list(categories), list(category_nums)
        self.num_categories, self.num_tags = len(categories), int(sum(category_nums))
        starts = category_start_indices(category_nums)
        self.category2num = dict(zip(categories, category_nums))
        self.category2startidx = dict(zip(categories, starts))
        self.hvu_initialized = True

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if not self.hvu_initialized:
            self.init_hvu_info(results['categories'], results['category_nums'])
        onehot = torch.zeros(self.num_tags)
        onehot_mask = torch.zeros(self.num_tags)
        category_mask = torch.zeros(self.num_categories)
        for category, tags in results['label'].items():
            if category not in self.categories:  # a category this run does not train on
                continue
            start, num = self.category2startidx[category], self.category2num[category]
            if any(not 0 <= t < num for t in tags):
                raise ValueError(f'LoadHVULabel: a {category} tag in {list(tags)} is outside '
                                 f'[0, {num})')
            category_mask[self.categories.index(category)] = 1.
            onehot[[start + t for t in tags]] = 1.
            onehot_mask[start:start + num] = 1.
        results['label'], results['mask'] = onehot, onehot_mask
        results['category_mask'] = category_mask
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(hvu_initialized={self.hvu_initialized})'
