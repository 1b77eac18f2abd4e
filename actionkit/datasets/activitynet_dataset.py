"""``ActivityNetDataset``: feature sequences of untrimmed videos for temporal localization.

The annotation file is ActivityNet-style JSON, one entry per video::

    {
        "v_--1DO2V4K74": {
            "duration_second": 211.53, "duration_frame": 6337, "feature_frame": 6336,
            "fps": 30.0, "rfps": 29.9579,
            "annotations": [{"segment": [30.03, 205.23], "label": "Rock climbing"}]
        },
        ...
    }

and ``data_prefix`` holds one feature CSV per video, ``<video_name>.csv`` (a header row, then
one row per time step). Each sample's results dict is the video's entry plus ``video_name`` and
``data_prefix``. ``evaluate`` computes AR@AN of proposals (``{'video_name', 'proposal_list':
[{'segment': [t0, t1], 'score': s}]}`` per video); ``dump_results`` writes them as an
ActivityNet result JSON, or TEM results as per-video CSVs.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import os.path as osp
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..evaluation.localization import average_recall_at_avg_proposals
from ..utils.bounded_read import MAX_ANNOTATION_BYTES
from ..utils.fileio import is_remote, read_text
from .base import BaseDataset, log_function
from .builder import DATASETS
from .errors import AnnotationError

__all__ = ['ActivityNetDataset', 'load_activitynet_annotations']

logger = logging.getLogger(__name__)

_TEM_HEADER = 'action,start,end,tmin,tmax'
_DEFAULT_AR_OPTIONS = {'AR@AN': dict(max_avg_proposals=100,
                                     temporal_iou_thresholds=np.linspace(0.5, 0.95, 10))}


def _check_segments(ann_file: str, video_name: str, info: Mapping[str, Any]) -> int:
    """Validate a video's segments; return how many end after the video (allowed, clipped)."""
    duration = info.get('duration_second', info.get('duration'))
    past_end = 0
    for k, ann in enumerate(info.get('annotations', [])):
        segment = ann.get('segment') if isinstance(ann, Mapping) else None
        try:
            start, end = (float(t) for t in segment)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise AnnotationError(f'{ann_file}: video {video_name!r}, annotation {k}: expected '
                                  f'{{"segment": [start, end], "label": ...}}, got {ann!r}'
                                  ) from None
        if start < 0 or end < start:
            raise AnnotationError(f'{ann_file}: video {video_name!r}, annotation {k}: segment '
                                  f'{[start, end]} must satisfy 0 <= start <= end')
        if duration is not None and start >= float(duration):
            raise AnnotationError(f'{ann_file}: video {video_name!r}, annotation {k}: segment '
                                  f'{[start, end]} starts after the video ends '
                                  f'(duration {duration} s)')
        past_end += duration is not None and end > float(duration)
    return past_end


def load_activitynet_annotations(ann_file: str) -> list[dict[str, Any]]:
    """Read an ActivityNet-style annotation JSON into a list of video dicts.

    Each dict is the file's entry plus ``video_name``. Segments are checked: a segment with
    ``start < 0``, ``end < start`` or starting after the video's duration raises; one that only
    ends after the duration is kept (labels clip it) and counted in a warning.

    Raises:
        FileNotFoundError: no such file.
        AnnotationError: malformed JSON or entries, naming the file and the video.
    """
    if not is_remote(ann_file) and not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} not found')
    text = read_text(ann_file, MAX_ANNOTATION_BYTES, 'annotation file', AnnotationError)
    try:
        database = json.loads(text)
    except json.JSONDecodeError as err:
        raise AnnotationError(f'{ann_file}:{err.lineno}: not valid JSON ({err.msg})') from err
    if not isinstance(database, Mapping):
        raise AnnotationError(f'{ann_file}: expected a JSON object mapping video names to '
                              f'their info, got a {type(database).__name__}')
    video_infos, past_end = [], 0
    for video_name, info in database.items():
        if not isinstance(info, Mapping):
            raise AnnotationError(f'{ann_file}: video {video_name!r}: expected an object, got '
                                  f'{info!r}')
        past_end += _check_segments(ann_file, video_name, info)
        video_infos.append(dict(info, video_name=video_name))
    if past_end:
        logger.warning('%s: %d segments end after their video; they are clipped to it when '
                       'labels are made', ann_file, past_end)
    return video_infos


@DATASETS.register_module()
class ActivityNetDataset(BaseDataset):
    """ActivityNet-style dataset of per-video feature sequences, for BSN / BMN.

    Args:
        ann_file (str): the annotation JSON.
        pipeline (list[dict | callable]): the transforms.
        data_prefix (str | dict | None): the folder of the feature CSVs (MMAction2 1.x:
            ``dict(video=...)``; the samples then also carry 1.x's ``feature_path``).
            Default: None.
        test_mode (bool): build a test/validation set (bad samples raise). Default: False.
        data_root (str | None): MMAction2 1.x; see :class:`BaseDataset`.
    """

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 data_prefix: str | os.PathLike | Mapping | None = None, test_mode: bool = False,
                 data_root: str | os.PathLike | None = None) -> None:
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         data_root=data_root)

    def load_annotations(self) -> list[dict[str, Any]]:
        """Read the annotation JSON (see :func:`load_activitynet_annotations`)."""
        return load_activitynet_annotations(self.ann_file)

    def _results(self, idx: int) -> dict:
        results = self.get_info(idx)
        results['data_prefix'] = self.data_prefix
        if self.from_v1:
            results['feature_path'] = self._path_of(idx)
        return results

    def _path_of(self, idx: int) -> str | None:
        name = self.video_infos[idx]['video_name']
        return osp.join(self.data_prefix, name + '.csv') if self.data_prefix else name

    # --- results --------------------------------------------------------------------------

    def _import_ground_truth(self) -> dict[str, np.ndarray]:
        """Video id (name without ``v_``) -> ``[K, 3]`` rows ``[t_start, t_end, label]``."""
        ground_truth = {}
        for info in self.video_infos:
            rows = [[*ann['segment'], ann.get('label')] for ann in info.get('annotations', [])]
            ground_truth[info['video_name'][2:]] = np.array(rows, dtype=object).reshape(-1, 3)
        return ground_truth

    @staticmethod
    def proposals2json(results: Sequence[Mapping[str, Any]],
                       show_progress: bool = False) -> dict[str, list]:
        """``{video id (name without 'v_'): proposal_list}``."""
        return {result['video_name'][2:]: result['proposal_list'] for result in results}

    @staticmethod
    def _import_proposals(results: Sequence[Mapping[str, Any]]
                          ) -> tuple[dict[str, np.ndarray], int]:
        """Video id -> ``[P, 3]`` rows ``[t_start, t_end, score]``, and the total count."""
        proposals, num_proposals = {}, 0
        for result in results:
            rows = [[*p['segment'], p['score']] for p in result['proposal_list']]
            proposals[result['video_name'][2:]] = np.array(rows, dtype=float).reshape(-1, 3)
            num_proposals += len(rows)
        return proposals, num_proposals

    def dump_results(self, results: Any, out: str | os.PathLike,  # type: ignore[override]
                     output_format: str | None = None, version: str = 'VERSION 1.3') -> None:
        """Write proposals or TEM results.

        Args:
            results: proposals (``[{'video_name', 'proposal_list'}]``) for ``'json'``, or TEM
                results (``[(video_name, [T, 5] array)]``) for ``'csv'``.
            out (str): a ``.json`` file, or for ``'csv'`` a folder that gets one
                ``<video_name>.csv`` per video (header ``action,start,end,tmin,tmax``).
            output_format (str | None): 'json' or 'csv'; None picks 'json' for a ``.json``
                ``out``, the generic pickle/YAML writer for ``.pkl``/``.yaml`` and 'csv'
                otherwise.
            version (str): the ``version`` field of the JSON.
        """
        out = os.fspath(out)
        if output_format is None:
            suffix = osp.splitext(out)[1].lower()
            if suffix in ('.pkl', '.pickle', '.yaml', '.yml'):
                BaseDataset.dump_results(results, out)
                return
            output_format = 'json' if suffix == '.json' else 'csv'
        if output_format == 'json':
            payload = {'version': version, 'results': self.proposals2json(results),
                       'external_data': {}}
            with open(out, 'w', encoding='utf-8') as f:
                json.dump(payload, f)
        elif output_format == 'csv':
            os.makedirs(out, exist_ok=True)
            for video_name, outputs in results:
                np.savetxt(osp.join(out, video_name + '.csv'), outputs, header=_TEM_HEADER,
                           delimiter=',', comments='')
        else:
            raise ValueError(f"output_format must be 'json' or 'csv', got {output_format!r}")

    def evaluate(self, results: list,  # type: ignore[override]
                 metrics: str | Sequence[str] = 'AR@AN',
                 metric_options: dict | None = _DEFAULT_AR_OPTIONS,
                 logger: logging.Logger | str | None = None,
                 **deprecated_kwargs: Any) -> OrderedDict:
        """Average recall of the proposals at an average number of proposals per video.

        Args:
            results (list[dict]): ``{'video_name', 'proposal_list'}`` per video, dataset order.
            metrics (str | Sequence[str]): only ``'AR@AN'``.
            metric_options (dict): ``{'AR@AN': dict(max_avg_proposals=100,
                temporal_iou_thresholds=np.linspace(0.5, 0.95, 10))}``.
            logger: where to log the numbers (a logger, a name, 'silent' or None).
            deprecated_kwargs: the pre-0.9 form; merged into ``metric_options['AR@AN']``.

        Returns:
            OrderedDict: ``auc``, ``AR@1``, ``AR@5``, ``AR@10``, ``AR@100`` (recall in [0, 1]
            averaged over the thresholds; with ``max_avg_proposals=100`` ``AR@k`` is the
            recall at k proposals per video).
        """
        metric_options = copy.deepcopy(dict(metric_options or {}))
        if deprecated_kwargs:
            warnings.warn(f'evaluate(**{sorted(deprecated_kwargs)}) is deprecated: pass '
                          "metric_options={'AR@AN': {...}}", stacklevel=2)
            metric_options['AR@AN'] = dict(metric_options.get('AR@AN', {}), **deprecated_kwargs)
        if not isinstance(results, list):
            raise TypeError(f'results must be a list, got {type(results).__name__}')
        if len(results) != len(self):
            raise ValueError(f'got {len(results)} results for a dataset of {len(self)} videos')
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        for metric in metrics:
            if metric != 'AR@AN':
                raise KeyError(f"metric {metric!r} is not supported; ActivityNetDataset "
                               "evaluates 'AR@AN'")
        log = log_function(logger, default=logging.getLogger(__name__))
        ground_truth = self._import_ground_truth()
        proposals, num_proposals = self._import_proposals(results)
        options = metric_options.get('AR@AN', {})
        thresholds = np.asarray(options.get('temporal_iou_thresholds',
                                            np.linspace(0.5, 0.95, 10)), dtype=float)
        max_avg = options.get('max_avg_proposals', 100)
        recall, _, _, auc = average_recall_at_avg_proposals(
            ground_truth, proposals, num_proposals, max_avg_proposals=max_avg,
            temporal_iou_thresholds=thresholds)
        eval_results: OrderedDict[str, float] = OrderedDict()
        eval_results['auc'] = float(auc)
        for k in (1, 5, 10, 100):
            eval_results[f'AR@{k}'] = float(np.mean(recall[:, k - 1]))
        log('\n'.join(f'{name}\t{value:.4f}' for name, value in eval_results.items()))
        return eval_results
