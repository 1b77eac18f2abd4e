"""The web-data datasets of OmniSource (https://arxiv.org/abs/2003.13042), as in MMAction2 0.x.

``ImageDataset`` is a list of images with labels (pipelines start with ``ImageDecode`` and
turn the image into a clip with ``BuildPseudoClip``); ``RawVideoDataset`` is a list of
untrimmed videos cut into numbered clips (``part_0.mp4``, ``part_1.mp4``, ...), of which a
random one (or a random positive one) is loaded each time.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import random
from collections.abc import Sequence
from typing import Any

from ..utils.bounded_read import MAX_ANNOTATION_BYTES
from ..utils.fileio import read_text
from .base import BaseDataset
from .builder import DATASETS
from .errors import AnnotationError
from .video_dataset import VideoDataset

__all__ = ['ImageDataset', 'RawVideoDataset']

SAMPLING_STRATEGIES = ('positive', 'random')


@DATASETS.register_module()
class ImageDataset(VideoDataset):
    """Images with labels, one a line: ``path/to/image1.jpg 1`` (``... 1 3 5`` multi-label).

    The pipeline receives ``filename``, ``label``, ``modality`` and ``start_index`` (0;
    MMAction2 passes None, which no image step reads). The arguments are ``VideoDataset``'s
    without ``start_index``.
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 multi_class: bool = False, num_classes: int | None = None,
                 modality: str = 'RGB', sample_by_class: bool = False, power: float = 0,
                 dynamic_length: bool = False) -> None:
        super().__init__(ann_file, pipeline, start_index=0, data_prefix=data_prefix,
                         test_mode=test_mode, multi_class=multi_class, num_classes=num_classes,
                         modality=modality, sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length)


@DATASETS.register_module()
class RawVideoDataset(BaseDataset):
    """Untrimmed videos cut into clips; each sample is one clip of a video.

    A line reads ``video_dir label num_clips [positive clip indices...]``, e.g.
    ``some/path/D32_1gwq35E 66 10 0 1 2``: ten clips ``part_0.mp4`` ... ``part_9.mp4`` in
    ``some/path/D32_1gwq35E``, the first three showing the action. A ``.json`` list of dicts
    with those keys (``video_dir``, ``label``, ``num_clips``, ``positive_clip_inds``) works
    too. The pipeline receives the record plus ``filename`` (the chosen clip).

    Args:
        ann_file (str): the annotation list.
        pipeline (list[dict | callable]): the transforms.
        clipname_tmpl (str): clip file names, formatted with the clip index; one starting
            with a letter is joined to ``video_dir`` as a path, otherwise appended to it.
            Default: ``'part_{}.mp4'``.
        sampling_strategy (str): ``'positive'`` (a random positive clip; videos without one
            are dropped) or ``'random'`` (any clip). Default: ``'positive'``.
        data_prefix, test_mode, num_classes, modality, sample_by_class, power,
            dynamic_length: see ``BaseDataset`` (single-label only).
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 clipname_tmpl: str = 'part_{}.mp4', sampling_strategy: str = 'positive',
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 num_classes: int | None = None, modality: str = 'RGB',
                 sample_by_class: bool = False, power: float = 0,
                 dynamic_length: bool = False) -> None:
        if sampling_strategy not in SAMPLING_STRATEGIES:
            raise ValueError(f'RawVideoDataset: sampling_strategy must be one of '
                             f'{SAMPLING_STRATEGIES}, got {sampling_strategy!r}')
        if not isinstance(clipname_tmpl, str) or not clipname_tmpl:
            raise TypeError(f'RawVideoDataset: clipname_tmpl must be a non-empty str, got '
                            f'{clipname_tmpl!r}')
        self.sampling_strategy, self.clipname_tmpl = sampling_strategy, clipname_tmpl
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         num_classes=num_classes, start_index=0, modality=modality,
                         sample_by_class=sample_by_class, power=power,
                         dynamic_length=dynamic_length)
        if sampling_strategy == 'positive':
            self.video_infos = [x for x in self.video_infos if x['positive_clip_inds']]

    def load_annotations(self) -> list[dict]:
        if self.ann_file.endswith('.json'):
            return self.load_json_annotations()
        infos = []
        text = read_text(self.ann_file, MAX_ANNOTATION_BYTES, 'annotation file', AnnotationError)
        for line_no, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            try:
                label, num_clips, *positives = (int(x) for x in fields[1:])
            except ValueError:
                raise AnnotationError(f'{self.ann_file}:{line_no}: expected "video_dir '
                                      f'label num_clips [positive clips...]" with '
                                      f'integers, got {line.strip()!r}') from None
            infos.append(dict(video_dir=self._prefixed(fields[0]), label=label,
                              num_clips=num_clips, positive_clip_inds=positives))
        return infos

    def load_json_annotations(self) -> list[dict]:
        infos = json.loads(read_text(self.ann_file, MAX_ANNOTATION_BYTES, 'annotation file',
                                     AnnotationError))
        for i, info in enumerate(infos):
            if 'video_dir' not in info:
                raise AnnotationError(f'{self.ann_file}: record {i} has no "video_dir"')
            info['video_dir'] = self._prefixed(info['video_dir'])
        return infos

    def _prefixed(self, path: str) -> str:
        return osp.join(self.data_prefix, path) if self.data_prefix is not None else path

    def sample_clip(self, results: dict) -> dict:
        """Choose the clip (``filename``) to load, following ``sampling_strategy``."""
        if self.sampling_strategy == 'positive':
            index = random.choice(results['positive_clip_inds'])
        else:
            index = random.randint(0, results['num_clips'] - 1)
        clipname = self.clipname_tmpl.format(index)
        results['filename'] = osp.join(results['video_dir'], clipname) \
            if self.clipname_tmpl[0].isalpha() else results['video_dir'] + clipname
        return results

    def _results(self, idx: int) -> dict:
        return self.sample_clip(super()._results(idx))
