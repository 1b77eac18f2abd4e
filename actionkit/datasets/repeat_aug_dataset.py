"""``RepeatAugDataset``: MMAction2 1.x's repeated augmentation (the MViT training configs).

Each index decodes its video once and gives ``num_repeats`` samples: the sampler runs once
per repeat (or once, with ``sample_once``), all the frames are decoded in one pass, and the
rest of the pipeline runs on each repeat's frames separately. The samples come back as a
:class:`~actionkit.datasets.loader.RepeatedSamples`, which ``collate`` puts into the batch one
by one (a batch of N indices holds ``N * num_repeats`` samples, as in 1.x).
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..utils.checks import check_positive_int
from .builder import DATASETS
from .loader import RepeatedSamples
from .video_dataset import VideoDataset

__all__ = ['RepeatAugDataset']


def _kind(step: Any) -> str:
    kind = step.get('type') if isinstance(step, Mapping) else type(step).__name__
    return kind if isinstance(kind, str) else getattr(kind, '__name__', repr(kind))


@DATASETS.register_module()
class RepeatAugDataset(VideoDataset):
    """A training video dataset that gives ``num_repeats`` augmented samples per index.

    The pipeline must start with a video init step, a sampler and the matching decode step
    (1.x: ``DecordInit``, ``SampleFrames``, ``DecordDecode``); any backend works here.

    Args:
        ann_file (str): the video list.
        pipeline (list[dict | callable]): the transforms (see above).
        data_prefix (str | dict | None): as in :class:`VideoDataset` (1.x:
            ``dict(video=...)``).
        num_repeats (int): samples per index.
        sample_once (bool): sample the frames once and augment them ``num_repeats`` times.
        multi_class, num_classes, start_index, modality, data_root: as in
            :class:`VideoDataset`.
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 data_prefix: str | os.PathLike | Mapping | None = None, num_repeats: int = 4,
                 sample_once: bool = False, multi_class: bool = False,
                 num_classes: int | None = None, start_index: int = 0, modality: str = 'RGB',
                 data_root: str | os.PathLike | None = None) -> None:
        kinds = [_kind(step) for step in list(pipeline)[:3]]
        if len(kinds) < 3 or not kinds[0].endswith('Init') or not kinds[2].endswith('Decode'):
            raise ValueError(f'RepeatAugDataset: the pipeline must start with a video init '
                             f'step, a sampler and a decode step (e.g. DecordInit, '
                             f'SampleFrames, DecordDecode), got {kinds}')
        self.num_repeats = check_positive_int('RepeatAugDataset', 'num_repeats', num_repeats)
        self.sample_once = bool(sample_once)
        super().__init__(ann_file, pipeline, start_index=start_index, data_prefix=data_prefix,
                         test_mode=False, multi_class=multi_class, num_classes=num_classes,
                         modality=modality, data_root=data_root)

    def prepare_train_frames(self, idx: int) -> RepeatedSamples | None:
        """Decode once, then run the rest of the pipeline on each repeat's frames."""
        init, sampler, decode, *rest = self.pipeline.transforms
        results = init(self._results(idx))
        start = dict(total_frames=results['total_frames'], start_index=results['start_index'])
        draws = [sampler(dict(start)) for _ in range(1 if self.sample_once else
                                                     self.num_repeats)]
        if self.sample_once:
            draws = draws * self.num_repeats
        inds = [np.asarray(draw['frame_inds']).reshape(-1) for draw in draws]
        results.update(draws[-1])
        results['frame_inds'] = np.concatenate(inds)
        results = decode(results)
        imgs = results.pop('imgs')
        bounds = np.cumsum([0] + [len(i) for i in inds])
        samples = RepeatedSamples()
        for repeat in range(self.num_repeats):
            one = copy.deepcopy(results)
            one['imgs'] = imgs[bounds[repeat]:bounds[repeat + 1]]
            for step in rest:
                one = step(one)
                if one is None:
                    return None
            samples.append(one)
        return samples
