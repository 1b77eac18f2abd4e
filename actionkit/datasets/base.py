"""``BaseDataset``: annotation records in, pipeline results out (MMAction2 0.x semantics).

A dataset holds its annotation records packed (see :mod:`actionkit.datasets.annotations`) and
builds the results dict of one sample only in ``__getitem__``. Subclasses implement
``load_annotations()``, returning :class:`~actionkit.datasets.annotations.AnnotationRecords`
or, as in MMAction2 0.x, a list of dicts (kept as it is: easy for custom datasets, but each
DataLoader worker then slowly copies it).

Bad samples: in train mode a :class:`~actionkit.datasets.errors.DataError` raised while
loading or decoding sample ``idx`` is logged and turned into a
:class:`~actionkit.datasets.errors.BadSample`, which :func:`actionkit.datasets.loader.collate`
sets aside; in test mode it propagates.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import pickle
import warnings
from abc import ABCMeta, abstractmethod
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..evaluation import recognition as _metrics
from .annotations import AnnotationRecords, load_json_list
from .errors import AnnotationError, BadSample, DataError
from .loader import note_sample
from .pipelines import compose as _compose

__all__ = ['BaseDataset', 'log_function', 'resolve_data_paths']

logger = logging.getLogger(__name__)

_MODALITIES = ('RGB', 'Flow', 'Audio', 'Pose')
_METRICS = ('top_k_accuracy', 'mean_class_accuracy', 'mean_average_precision',
            'mmit_mean_average_precision')


class BaseDataset(Dataset, metaclass=ABCMeta):
    """Base class of the recognition datasets.

    Args:
        ann_file (str): the annotation file.
        pipeline (list[dict | callable]): the transforms, built with ``Compose``.
        data_prefix (str | dict | None): joined in front of every path with ``os.path.join``
            (so absolute paths in the list stay as they are). An existing directory is first
            resolved with ``os.path.realpath``, as MMAction2 0.x does. None: paths as given.
            MMAction2 1.x's dict form (``dict(video=...)``, ``dict(img=...)``,
            ``dict(audio=...)``: the class's ``prefix_key``) marks the dataset as built from a
            1.x config (``self.from_v1``); see :func:`resolve_data_paths`.
        test_mode (bool): build a test/validation set; bad samples then raise.
        multi_class (bool): records have several labels; the pipeline receives them as a
            multi-hot ``float32`` tensor of length ``num_classes``.
        num_classes (int | None): number of classes; needed when ``multi_class`` and for the
            mAP metrics; when given, labels are checked against it.
        start_index (int): index of the first frame (1 for rawframes, 0 for videos).
        modality (str): ``'RGB'``, ``'Flow'``, ``'Audio'`` or ``'Pose'``.
        sample_by_class (bool): compute ``class_prob`` for class-balanced sampling
            (single-label only; used by ``ClassSpecificDistributedSampler``).
        power (float): ``class_prob`` is proportional to ``class_frequency ** power``:
            1 samples every clip equally, 0 every class equally.
        dynamic_length (bool): let the class-balanced sampler change the epoch length.
        data_root (str | None): MMAction2 1.x (mmengine): joined in front of a relative
            ``ann_file`` and of the relative ``data_prefix``.
    """

    prefix_key = 'video'  # the key of MMAction2 1.x's dict-valued data_prefix

    def __init__(self, ann_file: str | os.PathLike, pipeline: Sequence[Any],
                 data_prefix: str | os.PathLike | None = None, test_mode: bool = False,
                 multi_class: bool = False, num_classes: int | None = None,
                 start_index: int = 1, modality: str = 'RGB', sample_by_class: bool = False,
                 power: float = 0, dynamic_length: bool = False,
                 data_root: str | os.PathLike | None = None) -> None:
        super().__init__()
        ann_file, data_prefix, self.from_v1 = resolve_data_paths(
            type(self).__name__, ann_file, data_prefix, data_root, self.prefix_key)
        _check_args(ann_file, data_prefix, multi_class, num_classes, start_index, modality,
                    sample_by_class, power)
        self.ann_file = os.fspath(ann_file)
        if data_prefix is not None:
            data_prefix = os.fspath(data_prefix)
            if os.path.isdir(data_prefix):
                data_prefix = os.path.realpath(data_prefix)
        self.data_prefix = data_prefix
        self.test_mode = bool(test_mode)
        self.multi_class = bool(multi_class)
        self.num_classes = num_classes
        self.start_index = start_index
        self.modality = modality
        self.sample_by_class = bool(sample_by_class)
        self.power = power
        self.dynamic_length = bool(dynamic_length)

        self.pipeline = _compose.Compose(pipeline)
        self.video_infos = self.load_annotations()
        if self.sample_by_class:
            self.class_prob = self._class_prob()

    # --- records --------------------------------------------------------------------------

    @abstractmethod
    def load_annotations(self) -> AnnotationRecords | list[dict]:
        """Read ``self.ann_file``; return packed records (or a list of record dicts)."""

    def load_json_annotations(self) -> AnnotationRecords:
        """Read a JSON list of record dicts (``frame_dir``/``filename``, ``label`` list, ...)."""
        return load_json_list(self.ann_file, multi_class=self.multi_class,
                              num_classes=self.num_classes, data_prefix=self.data_prefix)

    @property
    def video_infos(self) -> Sequence[dict]:
        """The records as a sequence of dicts, for MMAction2 0.x compatibility.

        Packed records behave as MMAction2's list: they compare equal to it and changes to
        ``video_infos[i]`` stick (see :class:`AnnotationRecords`). Each record touched this
        way is kept as a dict, so looping over all of a large dataset costs the memory the
        packing saves; prefer ``len(dataset)``, :meth:`get_info` and :meth:`gt_labels`.
        """
        return self._video_infos

    @video_infos.setter
    def video_infos(self, infos: AnnotationRecords | Sequence[dict]) -> None:
        if not isinstance(infos, (AnnotationRecords, Sequence)) or isinstance(infos, str):
            raise TypeError(f'{type(self).__name__}.load_annotations() must return '
                            f'AnnotationRecords or a list of dicts, got {type(infos).__name__}')
        self._video_infos = infos

    def get_info(self, idx: int) -> dict:
        """A fresh copy of record ``idx`` (safe to change)."""
        infos = self._video_infos
        if isinstance(infos, AnnotationRecords):
            return infos.record(idx)
        return copy.deepcopy(infos[idx])

    def gt_labels(self) -> list:
        """Every record's label (int, or list of ints for multi-label records)."""
        infos = self._video_infos
        if isinstance(infos, AnnotationRecords):
            if infos.label_offsets is None and not infos.edited:
                labels = infos.labels.tolist()
                return [[label] for label in labels] if infos.multi_label else labels
            return [infos.label(i) for i in range(len(infos))]
        return [info['label'] for info in infos]

    def check_label_range(self, num_classes: int) -> None:
        """Refuse a label outside ``[0, num_classes)`` (the model's classes), now, not mid-epoch.

        The lists are read again with ``num_classes`` set, so the error is the parser's own,
        naming the file and line (or JSON record); custom datasets that return dicts get the
        record index instead.

        Raises:
            AnnotationError: the first out-of-range label, naming the annotation file.
        """
        labels = self.gt_labels()
        flat = np.asarray([v for label in labels for v in (
            label if isinstance(label, (list, tuple)) else [label])], dtype=np.int64)
        if not len(flat) or (flat.min() >= 0 and flat.max() < num_classes):
            return
        if isinstance(self._video_infos, AnnotationRecords):
            saved = self.num_classes
            self.num_classes = num_classes
            try:
                self.load_annotations()  # raises the parser's error, naming the line
            finally:
                self.num_classes = saved
        for index, label in enumerate(labels):
            for value in (label if isinstance(label, (list, tuple)) else [label]):
                if not 0 <= value < num_classes:
                    raise AnnotationError(
                        f'{self.ann_file}: record {index} (counting from 0): label {value} '
                        f'is out of range for the model\'s num_classes={num_classes} '
                        f'(0 <= label < {num_classes})')

    def _path_of(self, idx: int) -> str | None:
        infos = self._video_infos
        if isinstance(infos, AnnotationRecords):
            return infos.path(idx)
        info = infos[idx]
        return info.get('frame_dir', info.get('filename')) if isinstance(info, Mapping) else None

    def parse_by_class(self) -> dict[int, list[dict]]:
        """Group the records by label (slow for large datasets: it builds every dict)."""
        by_class: dict[int, list[dict]] = defaultdict(list)
        for idx, label in enumerate(self.gt_labels()):
            by_class[label].append(self.get_info(idx))
        return by_class

    @property
    def video_infos_by_class(self) -> dict[int, list[dict]]:
        """MMAction2 0.x's records grouped by label; see :meth:`parse_by_class`."""
        return self.parse_by_class()

    def _class_prob(self) -> dict[int, float]:
        labels = self.gt_labels()
        if labels and not isinstance(labels[0], (int, np.integer)):
            raise ValueError('sample_by_class needs single-label records, got labels like '
                             f'{labels[0]!r}')
        classes, counts = np.unique(np.asarray(labels, dtype=np.int64), return_counts=True)
        prob = (counts / counts.sum()) ** self.power
        prob = prob / prob.sum()
        return {int(c): float(p) for c, p in zip(classes, prob)}

    @staticmethod
    def label2array(num: int, label: int | Sequence[int]) -> np.ndarray:
        """A multi-hot ``float32`` vector of length ``num`` with ones at ``label``."""
        arr = np.zeros(num, dtype=np.float32)
        arr[label] = 1.
        return arr

    # --- samples --------------------------------------------------------------------------

    def _results(self, idx: int) -> dict:
        """The results dict the pipeline starts from (subclasses add their keys)."""
        results = self.get_info(idx)
        results['modality'] = self.modality
        results['start_index'] = self.start_index
        if self.multi_class and isinstance(results['label'], list):
            onehot = torch.zeros(self.num_classes)
            onehot[results['label']] = 1.
            results['label'] = onehot
            results['num_classes'] = self.num_classes
        return results

    def prepare_train_frames(self, idx: int) -> Any:
        """Run the pipeline on training sample ``idx``."""
        return self.pipeline(self._results(idx))

    def prepare_test_frames(self, idx: int) -> Any:
        """Run the pipeline on test sample ``idx``."""
        return self.pipeline(self._results(idx))

    def __len__(self) -> int:
        return len(self._video_infos)

    def __getitem__(self, idx: int) -> Any:
        """The pipeline's output for sample ``idx``, or a ``BadSample`` (train mode only)."""
        note_sample(idx, self._path_of(idx))  # in a loader worker: named if the worker dies
        sample = self._load(idx)
        note_sample(-1, None)
        return sample

    def _load(self, idx: int) -> Any:
        if self.test_mode:
            return self.prepare_test_frames(idx)
        try:
            sample = self.prepare_train_frames(idx)
        except DataError as err:
            return self._bad_sample(idx, err.path, str(err))
        if sample is None:  # a pipeline step returned None: 0.x's way of skipping a sample
            return self._bad_sample(idx, None, 'a pipeline step returned None')
        return sample

    def _bad_sample(self, idx: int, path: str | None, reason: str) -> BadSample:
        path = path or self._path_of(idx)
        logger.warning('skipping sample %d (%s): %s', idx, path, reason)
        return BadSample(int(idx), path, reason)

    # --- results --------------------------------------------------------------------------

    def evaluate(self, results: list, metrics: str | Sequence[str] = 'top_k_accuracy',
                 metric_options: Mapping[str, Any] | None = dict(top_k_accuracy=dict(topk=(1, 5))),
                 logger: logging.Logger | str | None = None,
                 **deprecated_kwargs: Any) -> OrderedDict:
        """Score ``results`` (one ``[num_classes]`` score array per sample) against the labels.

        Args:
            results: the model outputs in dataset order.
            metrics: any of ``'top_k_accuracy'``, ``'mean_class_accuracy'``,
                ``'mean_average_precision'``, ``'mmit_mean_average_precision'``.
            metric_options: per-metric options, e.g.
                ``dict(top_k_accuracy=dict(topk=(1, 5)))``.
            logger: where to log the numbers (a logger, a logger name, ``'silent'``, or None
                for this module's logger).
            deprecated_kwargs: the pre-0.9 form ``topk=(1, 5)``; merged into
                ``metric_options['top_k_accuracy']`` with a warning.

        Returns:
            OrderedDict: ``top{k}_acc``, ``mean_class_accuracy``, ``mean_average_precision``,
            ``mmit_mean_average_precision`` as asked.
        """
        metric_options = copy.deepcopy(dict(metric_options or {}))
        if deprecated_kwargs:
            warnings.warn(f'evaluate(**{sorted(deprecated_kwargs)}) is deprecated: metric '
                          'options go in metric_options, e.g. '
                          'metric_options=dict(top_k_accuracy=dict(topk=(1, 5))) (on the '
                          'command line: --eval-options metric_options.top_k_accuracy.topk=1,5)',
                          stacklevel=2)
            metric_options['top_k_accuracy'] = dict(
                metric_options.get('top_k_accuracy', {}), **deprecated_kwargs)
        if not isinstance(results, list):
            raise TypeError(f'results must be a list, got {type(results).__name__}')
        if len(results) != len(self):
            raise ValueError(f'got {len(results)} results for a dataset of {len(self)} samples')
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        for metric in metrics:
            if metric not in _METRICS:
                raise KeyError(f'metric {metric!r} is not supported; choose from {_METRICS}')
        log = log_function(logger)
        gt_labels = self.gt_labels()
        eval_results: OrderedDict[str, float] = OrderedDict()
        for metric in metrics:
            log(f'Evaluating {metric} ...')
            known = set(eval_results)
            if metric == 'top_k_accuracy':
                topk = metric_options.get('top_k_accuracy', {}).get('topk', (1, 5))
                topk = (topk,) if isinstance(topk, int) else topk
                if not isinstance(topk, (tuple, list)) or not all(
                        isinstance(k, int) for k in topk):
                    raise TypeError(f'topk must be an int or a tuple of ints, got {topk!r}')
                for k, acc in zip(topk, _metrics.top_k_accuracy(results, gt_labels, tuple(topk))):
                    eval_results[f'top{k}_acc'] = float(acc)
            elif metric == 'mean_class_accuracy':
                eval_results[metric] = float(_metrics.mean_class_accuracy(results, gt_labels))
            else:
                if self.num_classes is None:
                    raise ValueError(f'metric {metric!r} needs num_classes; set it in the '
                                     'dataset config')
                arrays = [self.label2array(self.num_classes, label) for label in gt_labels]
                eval_results[metric] = float(getattr(_metrics, metric)(results, arrays))
            log('\n'.join(f'{name}\t{value:.4f}' for name, value in eval_results.items()
                          if name not in known))
        return eval_results

    @staticmethod
    def dump_results(results: Any, out: str | os.PathLike) -> None:
        """Write ``results`` to ``out``: ``.json``, ``.yaml``/``.yml`` or ``.pkl``/``.pickle``.

        JSON and YAML need no pickles to exchange results: numpy arrays and scalars are
        written as (nested) lists and numbers. The file is written atomically (a temporary
        file, then a rename), so a killed run never leaves half a results file. Results
        holding NaN or inf are refused: nothing is written.
        """
        from ..utils.atomic import temp_path

        out = os.fspath(out)
        suffix = os.path.splitext(out)[1].lower()
        if suffix not in ('.pkl', '.pickle', '.json', '.yaml', '.yml'):
            raise ValueError(f'cannot dump results to {out!r}: the suffix must be one of '
                             '.json, .yaml, .yml, .pkl, .pickle')
        bad = _count_nonfinite(results)
        if bad:
            raise ValueError(f'not writing {out}: {bad} of {len(results)} results hold NaN or '
                             'inf scores (non-finite model weights or inputs?)')
        temp = temp_path(Path(out).absolute(), directory=False)
        try:
            if suffix in ('.pkl', '.pickle'):
                with open(temp, 'wb') as fout:
                    pickle.dump(results, fout)
            else:
                with open(temp, 'w', encoding='utf-8') as fout:
                    if suffix == '.json':
                        json.dump(_to_builtin(results), fout)
                    else:
                        import yaml
                        yaml.safe_dump(_to_builtin(results), fout)
            os.replace(temp, out)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def _count_nonfinite(results: Any) -> int:
    """How many entries of ``results`` hold a NaN or inf number (arrays, lists, dicts)."""
    def finite(item: Any) -> bool:
        if isinstance(item, Mapping):
            return all(finite(value) for value in item.values())
        if isinstance(item, (list, tuple)) and item and not isinstance(item[0], (int, float)):
            return all(finite(value) for value in item)
        try:
            arr = np.asarray(item)
        except (TypeError, ValueError):
            return True
        return arr.dtype.kind not in 'fc' or bool(np.isfinite(arr).all())

    return sum(not finite(item) for item in results) if isinstance(results, Sequence) else 0


def resolve_data_paths(owner: str, ann_file: Any, data_prefix: Any, data_root: Any,
                       key: str) -> tuple[Any, Any, bool]:
    """Turn MMAction2 1.x's ``data_root`` / dict-valued ``data_prefix`` into 0.x's paths.

    mmengine joins ``data_root`` in front of a relative ``ann_file`` and of every relative
    prefix; 1.x datasets then read their one prefix from ``data_prefix[key]``. A 0.x call
    (``data_prefix`` a path or None, no ``data_root``) is returned unchanged.

    Returns:
        tuple: ``(ann_file, data_prefix (str | None), from_v1)``; ``from_v1`` is True when
        ``data_prefix`` was a dict or ``data_root`` was given.

    Raises:
        ValueError: a dict ``data_prefix`` without ``key`` (other keys are ignored, as 1.x
            reads only its own).
        TypeError: a prefix or ``data_root`` that is not a path.
    """
    if not isinstance(data_prefix, Mapping) and data_root is None:
        return ann_file, data_prefix, False
    if data_root is not None and not isinstance(data_root, (str, os.PathLike)):
        raise TypeError(f'{owner}: data_root must be a path or None, got {data_root!r}')
    if isinstance(data_prefix, Mapping):
        if key not in data_prefix:  # 1.x reads only this key; mmengine merges in others
            raise ValueError(f'{owner}: data_prefix (MMAction2 1.x form) must be '
                             f'dict({key}=...), got keys {sorted(data_prefix)}')
        data_prefix = data_prefix[key]
    root = None if data_root is None else os.fspath(data_root)
    if root and isinstance(ann_file, (str, os.PathLike)) and not os.path.isabs(ann_file):
        ann_file = os.path.join(root, ann_file)
    if data_prefix is not None and not isinstance(data_prefix, (str, os.PathLike)):
        raise TypeError(f'{owner}: data_prefix[{key!r}] must be a path, got {data_prefix!r}')
    if root:
        data_prefix = os.path.join(root, data_prefix or '')
    return ann_file, (os.fspath(data_prefix) or None) if data_prefix is not None else None, True


def _check_args(ann_file: Any, data_prefix: Any, multi_class: bool, num_classes: Any,
                start_index: Any, modality: Any, sample_by_class: bool, power: Any) -> None:
    if not isinstance(ann_file, (str, os.PathLike)):
        raise TypeError(f'ann_file must be a path, got {type(ann_file).__name__}')
    if data_prefix is not None and not isinstance(data_prefix, (str, os.PathLike)):
        raise TypeError(f'data_prefix must be a path or None, got {data_prefix!r}')
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 1):
        raise ValueError(f'num_classes must be a positive int or None, got {num_classes!r}')
    if multi_class and num_classes is None:
        raise ValueError('multi_class=True needs num_classes (the length of the multi-hot '
                         'label)')
    if multi_class and sample_by_class:
        raise ValueError('sample_by_class works only with single-label data '
                         '(multi_class=False)')
    if not isinstance(start_index, int) or start_index < 0:
        raise ValueError(f'start_index must be an int >= 0, got {start_index!r}')
    if modality not in _MODALITIES:
        raise ValueError(f'modality must be one of {_MODALITIES}, got {modality!r}')
    if not isinstance(power, (int, float)):
        raise TypeError(f'power must be a number, got {power!r}')


def log_function(target: logging.Logger | str | None,
                 default: logging.Logger = logger) -> Callable[[str], None]:
    """Where ``evaluate(logger=...)`` logs, as MMAction2 0.x's ``logger`` argument reads.

    Args:
        target: a ``logging.Logger``, a logger name, ``'silent'`` (nowhere) or None
            (``default``).
        default: the logger of None, usually the calling module's.

    Returns:
        A function logging one message at INFO level.
    """
    if target == 'silent':
        return lambda msg: None
    if isinstance(target, logging.Logger):
        return target.info
    if isinstance(target, str):
        return logging.getLogger(target).info
    if target is None:
        return default.info
    raise TypeError(f"logger must be a logging.Logger, a name, 'silent' or None, got {target!r}")


def _to_builtin(obj: Any) -> Any:
    """Numpy arrays/scalars and tensors to lists/numbers, recursively (for JSON and YAML)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return {key: _to_builtin(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple, set, range)):
        return [_to_builtin(value) for value in obj]
    return obj
