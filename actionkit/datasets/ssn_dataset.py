"""``SSNDataset``: rawframe videos with proposal lists, for Structured Segment Networks.

The annotation file lists, for every video, its ground-truth instances and its proposals::

    # 0
    video_validation_0000202      <- frame folder (joined to data_prefix)
    5666                          <- number of frames
    1                             <- frame-rate factor (frames = num_frames * this)
    3                             <- number of ground-truth instances
    8 130 185                     <- label start_frame end_frame
    ...
    5                             <- number of proposals
    8 0.0620 0.0620 790 5671      <- label best_iou overlap_self start_frame end_frame
    ...

A file whose name contains ``normalized_`` (times as fractions of the video) is replaced by the
same name without it, which must exist (convert it with ``tools/data``).

Training samples ``positive`` (IoU > ``positive_iou_threshold``, plus the ground truth),
``incomplete`` (mostly inside an action) and ``background`` proposals per video; testing scores
every proposal, and ``evaluate`` computes detection mAP at tIoU 0.1 … 0.9 (THUMOS'14).
"""
from __future__ import annotations

import copy
import logging
import os
import os.path as osp
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..utils.bounded_read import MAX_ANNOTATION_BYTES
from ..utils.checks import check_positive_int
from ..utils.fileio import read_text
from ..evaluation.localization import eval_ap, temporal_iou
from .base import BaseDataset, log_function
from .builder import DATASETS
from .errors import AnnotationError

__all__ = ['SSNInstance', 'SSNDataset', 'load_localize_proposal_file', 'perform_regression',
           'temporal_nms']

logger = logging.getLogger(__name__)


def _cfg(cfg: Any, path: str) -> Any:
    """``cfg['a']['b']`` for ``'a.b'``, for dicts and attribute-style configs alike."""
    value = cfg
    for key in path.split('.'):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif not isinstance(value, Mapping) and hasattr(value, key):
            value = getattr(value, key)
        else:
            raise KeyError(f'SSNDataset needs the config key {path!r} (in train_cfg/test_cfg); '
                           'see configs/localization/ssn/ssn_r50_450e_thumos14_rgb_train.py')
    return value


class SSNInstance:
    """A ground-truth instance or proposal ``[start_frame, end_frame)`` of a video.

    Args:
        start_frame (int): first frame.
        end_frame (int): end frame (exclusive), clipped to ``num_video_frames``.
        num_video_frames (int): frames in the video.
        label (int | None): class label (1-based; None -> -1).
        best_iou (float): best IoU with a ground-truth instance.
        overlap_self (float): share of the proposal inside a ground-truth instance.
    """

    def __init__(self, start_frame: int, end_frame: int, num_video_frames: int,
                 label: int | None = None, best_iou: float = 0,
                 overlap_self: float = 0) -> None:
        self.start_frame = start_frame
        self.end_frame = min(end_frame, num_video_frames)
        self.num_video_frames = num_video_frames
        self.label = label if label is not None else -1
        self.coverage = (end_frame - start_frame) / num_video_frames
        self.best_iou = best_iou
        self.overlap_self = overlap_self
        self.loc_reg: float | None = None
        self.size_reg: float | None = None
        self.regression_targets = [0., 0.]

    def compute_regression_targets(self, gt_list: Sequence[SSNInstance]) -> None:
        """Targets toward the best-overlapping gt: centre shift / length and log length ratio."""
        ious = [temporal_iou(self.start_frame, self.end_frame, gt.start_frame, gt.end_frame)
                for gt in gt_list]
        best_gt = gt_list[int(np.argmax(ious))]
        proposal_center = (self.start_frame + self.end_frame - 1) / 2
        gt_center = (best_gt.start_frame + best_gt.end_frame - 1) / 2
        proposal_size = self.end_frame - self.start_frame
        gt_size = best_gt.end_frame - best_gt.start_frame
        self.loc_reg = (gt_center - proposal_center) / proposal_size
        self.size_reg = float(np.log(gt_size / proposal_size))
        self.regression_targets = [self.loc_reg, self.size_reg]

    def __repr__(self) -> str:
        return (f'SSNInstance([{self.start_frame}, {self.end_frame}) of '
                f'{self.num_video_frames}, label={self.label}, best_iou={self.best_iou})')


def _parse_rows(filename: str, lines: list[tuple[int, str]], offset: int, count: int,
                width: int) -> list[list[str]]:
    rows = []
    for lineno, text in lines[offset:offset + count]:
        fields = text.split()
        if len(fields) != width:
            raise AnnotationError(f'{filename}:{lineno}: expected {width} fields, got {text!r}')
        rows.append(fields)
    if len(rows) != count:
        raise AnnotationError(f'{filename}: a video block ends early (expected {count} rows '
                              f'from line {lines[min(offset, len(lines) - 1)][0]})')
    return rows


def load_localize_proposal_file(filename: str) -> list[tuple[str, int, list, list]]:
    """Parse a proposal list into ``(video_id, num_frames, gt_rows, proposal_rows)`` per video.

    ``gt_rows`` are ``[label, start, end]`` and ``proposal_rows`` ``[label, best_iou,
    overlap_self, start, end]``, as strings.

    Raises:
        AnnotationError: a malformed block, naming the file and line.
    """
    blocks: list[list[tuple[int, str]]] = []
    lines = read_text(filename, MAX_ANNOTATION_BYTES, 'proposal file', AnnotationError)
    for lineno, line in enumerate(lines.splitlines(), start=1):
        text = line.strip()
        if text.startswith('#'):
            blocks.append([])
        elif text:
            if not blocks:
                raise AnnotationError(f'{filename}:{lineno}: expected a "# <index>" line '
                                      'before the first video')
            blocks[-1].append((lineno, text))
    videos = []
    for block in blocks:
        try:
            video_id = block[0][1]
            num_frames = int(float(block[1][1]) * float(block[2][1]))
            num_gts = int(block[3][1])
            gts = _parse_rows(filename, block, 4, num_gts, 3)
            num_proposals = int(block[4 + num_gts][1])
        except (IndexError, ValueError) as err:
            where = block[0][0] if block else '?'
            raise AnnotationError(f'{filename}:{where}: malformed video block ({err}); expected '
                                  'video id, frames, fps, #gts, gts, #proposals, proposals'
                                  ) from None
        proposals = _parse_rows(filename, block, 5 + num_gts, num_proposals, 5)
        videos.append((video_id, num_frames, gts, proposals))
    return videos


def perform_regression(detections: np.ndarray) -> np.ndarray:
    """Apply ``[..., center shift, log length ratio]`` (columns 3, 4) to ``[start, end]``."""
    starts, ends = detections[:, 0], detections[:, 1]
    centers = (starts + ends) / 2
    durations = ends - starts
    new_centers = centers + durations * detections[:, 3]
    new_durations = durations * np.exp(detections[:, 4])
    return np.concatenate((np.clip(new_centers - new_durations / 2, 0, 1)[:, None],
                           np.clip(new_centers + new_durations / 2, 0, 1)[:, None],
                           detections[:, 2:]), axis=1)


def temporal_nms(detections: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS of ``[start, end, score, ...]`` rows: drop IoU > ``threshold`` with a
    better one."""
    starts, ends, scores = detections[:, 0], detections[:, 1], detections[:, 2]
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        ious = temporal_iou(starts[order[1:]], ends[order[1:]], starts[i], ends[i])
        order = order[np.where(ious <= threshold)[0] + 1]
    return detections[keep, :]


def _softmax(x: np.ndarray, dim: int = 1) -> np.ndarray:
    e_x = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e_x / e_x.sum(axis=dim, keepdims=True)


@DATASETS.register_module()
class SSNDataset(BaseDataset):
    """Proposal dataset for SSN (MMAction2 0.x arguments).

    Args:
        ann_file (str): the proposal list.
        pipeline (list[dict | callable]): the transforms.
        train_cfg (dict): ``ssn.assigner`` (IoU thresholds) and ``ssn.sampler`` (proposals per
            video and ratios).
        test_cfg (dict): ``ssn.sampler.test_interval`` and ``ssn.evaluater`` (``top_k``,
            ``nms``).
        data_prefix (str | None): folder of the frame folders.
        test_mode (bool): build a test set. Default: False.
        filename_tmpl (str): frame file names. Default: 'img_{:05d}.jpg'.
        start_index (int): index of the first frame file. Default: 1.
        modality (str): 'RGB' or 'Flow'. Default: 'RGB'.
        video_centric (bool): sample proposals from the video itself (else from the whole
            dataset). Default: True.
        reg_normalize_constants (list | None): ``[[mean_loc, mean_size], [std_loc, std_size]]``
            of the regression targets; computed from the data when None.
        body_segments (int): segments of the course stage. Default: 5.
        aug_segments (tuple[int, int]): segments of the starting / ending stages. Default: (2, 2).
        aug_ratio (float | tuple[float, float]): length of the starting / ending stages as a
            share of the proposal. Default: (0.5, 0.5).
        clip_len (int): frames per clip. Default: 1.
        frame_interval (int): step between a clip's frames. Default: 1.
        filter_gt (bool): drop videos without ground truth (always done in training).
            Default: True.
        use_regression (bool): apply the predicted regression before NMS in ``evaluate``.
            Default: True.
        verbose (bool): log the pool sizes. Default: False.
    """

    def __init__(self, ann_file: str, pipeline: Sequence[Any], train_cfg: Any, test_cfg: Any,
                 data_prefix: str | None, test_mode: bool = False,
                 filename_tmpl: str = 'img_{:05d}.jpg', start_index: int = 1,
                 modality: str = 'RGB', video_centric: bool = True,
                 reg_normalize_constants: Sequence | None = None, body_segments: int = 5,
                 aug_segments: Sequence[int] = (2, 2),
                 aug_ratio: float | Sequence[float] = (0.5, 0.5), clip_len: int = 1,
                 frame_interval: int = 1, filter_gt: bool = True, use_regression: bool = True,
                 verbose: bool = False) -> None:
        for name, value in (('body_segments', body_segments), ('clip_len', clip_len),
                            ('frame_interval', frame_interval)):
            check_positive_int('SSNDataset', name, value)
        if len(aug_segments) != 2:
            raise ValueError(f'SSNDataset: aug_segments must be two ints, got {aug_segments!r}')
        aug_ratio = (aug_ratio, aug_ratio) if isinstance(aug_ratio, (int, float)) else aug_ratio
        if len(aug_ratio) != 2 or not all(isinstance(r, (int, float)) for r in aug_ratio):
            raise TypeError(f'SSNDataset: aug_ratio must be a number or a pair of numbers, got '
                            f'{aug_ratio!r}')
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode,
                         start_index=start_index, modality=modality)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.assigner = _cfg(train_cfg, 'ssn.assigner')
        self.sampler = _cfg(train_cfg, 'ssn.sampler')
        self.evaluater = dict(_cfg(test_cfg, 'ssn.evaluater'))
        self.test_interval = _cfg(test_cfg, 'ssn.sampler.test_interval')
        self.verbose = verbose
        self.filename_tmpl = filename_tmpl
        self.filter_gt = filter_gt
        self.use_regression = use_regression
        if filter_gt or not test_mode:
            kept = [info for info in self.video_infos if len(info['gts']) > 0]
            logger.info('%d out of %d videos are valid (have ground truth)', len(kept),
                        len(self.video_infos))
            self.video_infos = kept
        self.positive_pool: list = []
        self.background_pool: list = []
        self.incomplete_pool: list = []
        self.construct_proposal_pools()
        self.reg_norm_consts = (self._compute_reg_normalize_constants()
                                if reg_normalize_constants is None
                                else np.asarray(reg_normalize_constants, dtype=float))
        self.video_centric = video_centric
        self.body_segments = body_segments
        self.aug_segments = tuple(aug_segments)
        self.aug_ratio = tuple(aug_ratio)
        ratios = [float(_cfg(self.sampler, name))
                  for name in ('positive_ratio', 'background_ratio', 'incomplete_ratio')]
        num_per_video = int(_cfg(self.sampler, 'num_per_video'))
        self.positive_per_video = int(num_per_video * (ratios[0] / sum(ratios)))
        self.background_per_video = int(num_per_video * (ratios[1] / sum(ratios)))
        self.incomplete_per_video = (num_per_video - self.positive_per_video
                                     - self.background_per_video)
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        (logger.info if verbose else logger.debug)(
            'SSNDataset %s: %d positive, %d incomplete, %d background proposals in %d videos; '
            'per video %d/%d/%d; regression constants %s', self.proposal_file,
            len(self.positive_pool), len(self.incomplete_pool), len(self.background_pool),
            len(self.video_infos), self.positive_per_video, self.background_per_video,
            self.incomplete_per_video, np.round(self.reg_norm_consts, 5).tolist())

    def load_annotations(self) -> list[dict[str, Any]]:
        """Read the proposal list into ``frame_dir, video_id, total_frames, gts, proposals``."""
        self.proposal_file = self.ann_file
        if 'normalized_' in self.ann_file:
            self.proposal_file = self.ann_file.replace('normalized_', '')
            if not osp.exists(self.proposal_file):
                raise FileNotFoundError(f'{self.ann_file} is a normalized proposal list; '
                                        f'denormalize it to {self.proposal_file} first '
                                        '(tools/data/denormalize_proposal_file.py)')
        video_infos = []
        for video_id, num_frames, gt_rows, proposal_rows in load_localize_proposal_file(
                self.proposal_file):
            gts = [SSNInstance(int(x[1]), int(x[2]), num_frames, label=int(x[0]), best_iou=1.0)
                   for x in gt_rows if int(x[2]) > int(x[1]) and int(x[1]) < num_frames]
            proposals = [SSNInstance(int(x[3]), int(x[4]), num_frames, label=int(x[0]),
                                     best_iou=float(x[1]), overlap_self=float(x[2]))
                         for x in proposal_rows if int(x[4]) > int(x[3]) and int(x[3]) < num_frames]
            frame_dir = (osp.join(self.data_prefix, video_id) if self.data_prefix is not None
                         else video_id)
            video_infos.append(dict(frame_dir=frame_dir, video_id=video_id,
                                    total_frames=num_frames, gts=gts, proposals=proposals))
        return video_infos

    # --- proposal pools and sampling ------------------------------------------------------

    @staticmethod
    def get_positives(gts: list[SSNInstance], proposals: list[SSNInstance],
                      positive_threshold: float, with_gt: bool = True) -> list[SSNInstance]:
        """Proposals with ``best_iou > positive_threshold`` (plus the gts), with targets."""
        positives = [p for p in proposals if p.best_iou > positive_threshold]
        if with_gt:
            positives.extend(gts)
        for proposal in positives:
            proposal.compute_regression_targets(gts)
        return positives

    @staticmethod
    def get_negatives(proposals: list[SSNInstance], incomplete_iou_threshold: float,
                      background_iou_threshold: float, background_coverage_threshold: float = 0.01,
                      incomplete_overlap_threshold: float = 0.7
                      ) -> tuple[list[SSNInstance], list[SSNInstance]]:
        """``(incompletes, backgrounds)``: low IoU but mostly inside an action / low IoU and
        covering more than ``background_coverage_threshold`` of the video."""
        incompletes, backgrounds = [], []
        for p in proposals:
            if (p.best_iou < incomplete_iou_threshold
                    and p.overlap_self > incomplete_overlap_threshold):
                incompletes.append(p)
            elif (p.best_iou < background_iou_threshold
                  and p.coverage > background_coverage_threshold):
                backgrounds.append(p)
        return incompletes, backgrounds

    def _split(self, info: Mapping[str, Any]) -> tuple[list, list, list]:
        positives = self.get_positives(info['gts'], info['proposals'],
                                       _cfg(self.assigner, 'positive_iou_threshold'),
                                       _cfg(self.sampler, 'add_gt_as_proposals'))
        incompletes, backgrounds = self.get_negatives(
            info['proposals'], _cfg(self.assigner, 'incomplete_iou_threshold'),
            _cfg(self.assigner, 'background_iou_threshold'),
            _cfg(self.assigner, 'background_coverage_threshold'),
            _cfg(self.assigner, 'incomplete_overlap_threshold'))
        return positives, incompletes, backgrounds

    def construct_proposal_pools(self) -> None:
        """Pools of ``(video_id, SSNInstance)`` over the whole dataset."""
        for info in self.video_infos:
            positives, incompletes, backgrounds = self._split(info)
            self.positive_pool.extend((info['video_id'], p) for p in positives)
            self.incomplete_pool.extend((info['video_id'], p) for p in incompletes)
            self.background_pool.extend((info['video_id'], p) for p in backgrounds)

    @staticmethod
    def _draw(pool: list, num: int, proposal_type: int, video_id: str | None = None) -> list:
        if not pool:
            raise ValueError(f'SSNDataset: no proposal of type {proposal_type} to sample from')
        idx = np.random.choice(len(pool), num, replace=len(pool) < num)
        if video_id is None:
            return [(pool[i], proposal_type) for i in idx]
        return [((video_id, pool[i]), proposal_type) for i in idx]

    def _video_centric_sampling(self, record: Mapping[str, Any]) -> list:
        """``[((video_id, SSNInstance), type)]`` from the video, or the dataset pool if empty."""
        out = []
        for ptype, video_pool, num, dataset_pool in zip(
                (0, 1, 2), self._split(record),
                (self.positive_per_video, self.incomplete_per_video, self.background_per_video),
                (self.positive_pool, self.incomplete_pool, self.background_pool)):
            if video_pool:
                out.extend(self._draw(video_pool, num, ptype, record['video_id']))
            else:
                out.extend(self._draw(dataset_pool, num, ptype))
        return out

    def _random_sampling(self) -> list:
        """Proposals drawn from the whole dataset's pools."""
        return (self._draw(self.positive_pool, self.positive_per_video, 0)
                + self._draw(self.incomplete_pool, self.incomplete_per_video, 1)
                + self._draw(self.background_pool, self.background_per_video, 2))

    def _get_stage(self, proposal: SSNInstance, num_frames: int) -> tuple[float, float, list]:
        """Share of the starting / ending augmentation inside the video, and stage splits."""
        ori_clip_len = self.clip_len * self.frame_interval
        duration = proposal.end_frame - proposal.start_frame
        if duration <= 0:
            raise ValueError(f'SSNDataset: empty proposal {proposal!r}')
        valid_starting = max(0, proposal.start_frame - int(duration * self.aug_ratio[0]))
        valid_ending = min(num_frames - ori_clip_len + 1,
                           proposal.end_frame - 1 + int(duration * self.aug_ratio[1]))
        valid_starting_length = proposal.start_frame - valid_starting - ori_clip_len
        valid_ending_length = (valid_ending - proposal.end_frame + 1) - ori_clip_len
        starting_scale = (valid_starting_length + ori_clip_len + 1) / (duration * self.aug_ratio[0])
        ending_scale = (valid_ending_length + ori_clip_len + 1) / (duration * self.aug_ratio[1])
        aug_start, aug_end = self.aug_segments
        stage_split = [aug_start, aug_start + self.body_segments,
                       aug_start + self.body_segments + aug_end]
        return starting_scale, ending_scale, stage_split

    def _compute_reg_normalize_constants(self) -> np.ndarray:
        targets = []
        for info in self.video_infos:
            positives = self.get_positives(info['gts'], info['proposals'],
                                           _cfg(self.assigner, 'positive_iou_threshold'), False)
            targets.extend(list(p.regression_targets) for p in positives)
        if not targets:
            logger.warning('SSNDataset: no positive proposal; regression constants set to '
                           '[[0, 0], [1, 1]]')
            return np.array([[0., 0.], [1., 1.]])
        return np.array((np.mean(targets, axis=0), np.std(targets, axis=0)))

    def _base_results(self, idx: int) -> dict[str, Any]:
        results = copy.deepcopy(self.video_infos[idx])
        results.update(filename_tmpl=self.filename_tmpl, modality=self.modality,
                       start_index=self.start_index)
        return results

    def prepare_train_frames(self, idx: int) -> Any:
        """Sample proposals and their labels, scale factors and regression targets."""
        results = self._base_results(idx)
        results['out_proposals'] = (self._video_centric_sampling(self.video_infos[idx])
                                    if self.video_centric else self._random_sampling())
        scale_factors, types, labels, reg_targets = [], [], [], []
        mean, std = self.reg_norm_consts
        for (_, proposal), ptype in results['out_proposals']:
            starting_scale, ending_scale, _ = self._get_stage(proposal, proposal.num_video_frames)
            scale_factors.append([starting_scale, ending_scale])
            labels.append(int(proposal.label) if ptype in (0, 1) else 0)
            types.append(ptype)
            target = proposal.regression_targets
            if ptype == 0:
                target = ((target[0] - mean[0]) / std[0], (target[1] - mean[1]) / std[1])
            reg_targets.append(target)
        results['reg_targets'] = np.array(reg_targets, dtype=np.float32)
        results['proposal_scale_factor'] = np.array(scale_factors, dtype=np.float32)
        results['proposal_labels'] = np.array(labels)
        results['proposal_type'] = np.array(types)
        return self.pipeline(results)

    def prepare_test_frames(self, idx: int) -> Any:
        """Relative proposals, their sampled-frame ticks and scale factors."""
        results = self._base_results(idx)
        proposals, num_frames = results['proposals'], results['total_frames']
        ori_clip_len = self.clip_len * self.frame_interval
        num_sampled = len(np.arange(0, num_frames - ori_clip_len, self.test_interval))
        if not proposals:
            proposals.append(SSNInstance(0, num_frames - 1, num_frames))
        relative, ticks, scales = [], [], []
        for p in proposals:
            rel = (p.start_frame / num_frames, p.end_frame / num_frames)
            rel_duration = rel[1] - rel[0]
            starting_dur = rel_duration * self.aug_ratio[0]
            ending_dur = rel_duration * self.aug_ratio[1]
            real_start = max(0.0, rel[0] - starting_dur)
            real_end = min(1.0, rel[1] + ending_dur)
            relative.append(rel)
            ticks.append((np.array((real_start, *rel, real_end)) * num_sampled).astype(np.int32))
            scales.append(((rel[0] - real_start) / starting_dur, (real_end - rel[1]) / ending_dur))
        results['relative_proposal_list'] = np.array(relative, dtype=np.float32)
        results['scale_factor_list'] = np.array(scales, dtype=np.float32)
        results['proposal_tick_list'] = np.array(ticks, dtype=np.int32)
        results['reg_norm_consts'] = self.reg_norm_consts
        return self.pipeline(results)

    # --- evaluation -----------------------------------------------------------------------

    def results_to_detections(self, results: Sequence[Mapping[str, Any]], top_k: int = 2000,
                              **kwargs: Any) -> list[dict[str, np.ndarray]]:
        """Per class ``{video_id: [D, 5] rows [start, end, score, loc_reg, size_reg]}``.

        ``score = softmax(activity[1:]) * exp(completeness)``; with ``top_k > 0`` only the
        ``top_k`` best (proposal, class) pairs of each video are kept.
        """
        num_classes = results[0]['activity_scores'].shape[1] - 1
        detections: list[dict[str, np.ndarray]] = [dict() for _ in range(num_classes)]
        for idx in range(len(self)):
            video_id = self.video_infos[idx]['video_id']
            rel = np.asarray(results[idx]['relative_proposal_list'])
            rel = rel.reshape(-1, 2)
            reg = results[idx]['bbox_preds']
            reg = (np.zeros((len(rel), num_classes, 2), dtype=np.float32) if reg is None
                   else np.asarray(reg).reshape(-1, num_classes, 2))
            combined = (_softmax(np.asarray(results[idx]['activity_scores'])[:, 1:], dim=1)
                        * np.exp(np.asarray(results[idx]['completeness_scores'])))
            if top_k <= 0:
                for c in range(num_classes):
                    detections[c][video_id] = np.concatenate(
                        (rel, combined[:, c:c + 1], reg[:, c, :]), axis=1)
                continue
            for k in np.argsort(combined.ravel())[-top_k:]:
                c, p = k % num_classes, k // num_classes
                row = np.array([[rel[p, 0], rel[p, 1], combined[p, c], reg[p, c, 0],
                                 reg[p, c, 1]]])
                old = detections[c].get(video_id)
                detections[c][video_id] = row if old is None else np.vstack([old, row])
        return detections

    def get_all_gts(self) -> dict[int, dict[str, list]]:
        """Class index (label - 1) -> video id -> relative ``[start, end]`` of its instances."""
        gts: dict[int, dict[str, list]] = {}
        for info in self.video_infos:
            for gt in info['gts']:
                gts.setdefault(gt.label - 1, {}).setdefault(info['video_id'], []).append(
                    [gt.start_frame / info['total_frames'], gt.end_frame / info['total_frames']])
        return gts

    def evaluate(self, results: list, metrics: str | Sequence[str] = 'mAP',  # type: ignore
                 metric_options: Mapping[str, Any] | None = dict(
                     mAP=dict(eval_dataset='thumos14')),
                 logger: logging.Logger | str | None = None,
                 **deprecated_kwargs: Any) -> OrderedDict:
        """Detection mAP at tIoU 0.1, 0.2, …, 0.9 (``mAP@0.10`` …), over the classes with
        ground truth.

        Detections get the predicted regression (``use_regression``) and per-class NMS
        (``test_cfg.ssn.evaluater.nms``) before matching.
        """
        metric_options = copy.deepcopy(dict(metric_options or {}))
        if deprecated_kwargs:
            warnings.warn(f'evaluate(**{sorted(deprecated_kwargs)}) is deprecated: pass '
                          "metric_options={'mAP': {...}}", stacklevel=2)
            metric_options['mAP'] = dict(metric_options.get('mAP', {}), **deprecated_kwargs)
        if not isinstance(results, list):
            raise TypeError(f'results must be a list, got {type(results).__name__}')
        if len(results) != len(self):
            raise ValueError(f'got {len(results)} results for a dataset of {len(self)} videos')
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        for metric in metrics:
            if metric != 'mAP':
                raise KeyError(f"metric {metric!r} is not supported; SSNDataset evaluates 'mAP'")
        eval_dataset = metric_options.get('mAP', {}).get('eval_dataset', 'thumos14')
        if eval_dataset != 'thumos14':
            raise ValueError(f"mAP eval_dataset must be 'thumos14', got {eval_dataset!r}")
        detections = self.results_to_detections(results, **self.evaluater)
        for c, per_video in enumerate(detections):
            if self.use_regression:
                per_video = {k: perform_regression(v) for k, v in per_video.items()}
            detections[c] = {k: temporal_nms(v, self.evaluater['nms'])
                             for k, v in per_video.items()}
        all_gts = self.get_all_gts()
        plain = {c: [[video, c] + row[:3] for video, dets in per_video.items()
                     for row in dets.tolist()]
                 for c, per_video in enumerate(detections)}
        iou_range = np.arange(0.1, 1.0, .1)
        ap_values = eval_ap(plain, all_gts, iou_range)  # NaN rows: classes without gt
        if np.isnan(ap_values).all():
            raise ValueError('SSNDataset.evaluate: no class has ground truth')
        map_ious = np.nanmean(ap_values, axis=0)
        eval_results = OrderedDict((f'mAP@{iou:.02f}', float(v))
                                   for iou, v in zip(iou_range, map_ious))
        log = log_function(logger, default=logging.getLogger(__name__))
        log('\n'.join(f'{k}\t{v:.4f}' for k, v in eval_results.items()))
        return eval_results

    def dump_results(self, results: Any, out: str | os.PathLike) -> None:  # type: ignore
        """Write the raw SSN results (``.pkl``, ``.json`` or ``.yaml``)."""
        BaseDataset.dump_results(results, out)
