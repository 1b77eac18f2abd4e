"""HVU's multi-tag metric: the mean average precision of each tag category.

HVU tags a video in several categories (action, attribute, concept, event, object, scene),
each with its own tag list, and many videos lack some categories. As MMAction2 0.x's
``HVUDataset.evaluate``, a category's mAP is computed only over the videos that have tags in
that category, on the score columns of that category.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .recognition import mean_average_precision

__all__ = ['category_start_indices', 'hvu_category_map']


def category_start_indices(category_nums: Sequence[int]) -> list[int]:
    """The first score column of each category, categories laid out back to back."""
    return [int(x) for x in np.concatenate([[0], np.cumsum(category_nums)[:-1]])]


def hvu_category_map(results: Sequence[Any], gt_labels: Sequence[Mapping[str, Sequence[int]]],
                     categories: Sequence[str],
                     category_nums: Sequence[int]) -> OrderedDict[str, float]:
    """``{'<category>_mAP': mAP}`` for each category, in order.

    Args:
        results: one score vector of ``sum(category_nums)`` entries per video.
        gt_labels: each video's tags, ``{category: [tag indices within the category]}``.
        categories: the category names, in score-column order.
        category_nums: the number of tags of each category.

    Returns:
        The mAP of each category over the videos tagged in it (NaN if no video is).
    """
    if len(categories) != len(category_nums):
        raise ValueError(f'{len(categories)} categories but {len(category_nums)} category_nums')
    if len(results) != len(gt_labels):
        raise ValueError(f'{len(results)} results for {len(gt_labels)} videos')
    width = int(sum(category_nums))
    scores = np.asarray([np.asarray(r, dtype=np.float64).reshape(-1) for r in results])
    if len(results) and scores.shape[1] != width:
        raise ValueError(f'each result needs sum(category_nums) = {width} scores, got '
                         f'{scores.shape[1]}')
    metrics: OrderedDict[str, float] = OrderedDict()
    for category, start, num in zip(categories, category_start_indices(category_nums),
                                    category_nums):
        tagged = [i for i, label in enumerate(gt_labels) if category in label]
        truth = np.zeros((len(tagged), num), dtype=np.float32)
        for row, i in enumerate(tagged):
            tags = gt_labels[i][category]
            if any(not 0 <= t < num for t in tags):
                raise ValueError(f'video {i}: a {category} tag in {list(tags)} is outside '
                                 f'[0, {num})')
            truth[row, list(tags)] = 1.0
        metrics[f'{category}_mAP'] = mean_average_precision(
            scores[tagged, start:start + num], truth) if tagged else float('nan')
    return metrics
