"""Pipeline steps of the temporal localization datasets.

* ``LoadLocalizationFeature`` — read a video's feature CSV (one row per time step).
* ``GenerateLocalizationLabels`` — ground-truth segments in seconds -> normalised ``gt_bbox``.
* ``LoadProposals`` — BSN PGM proposals (CSV) and BSP features (``.npy``) for PEM.
* ``SampleProposalFrames`` — SSN's frame sampling in each proposal's three stages.

The results-dict keys are MMAction2 0.x's.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...utils.bounded_read import MAX_ANNOTATION_BYTES
from ...utils.checks import check_positive_int
from ...utils.fileio import exists, read_text
from ..builder import PIPELINES
from ..errors import DataError

__all__ = ['LoadLocalizationFeature', 'GenerateLocalizationLabels', 'LoadProposals',
           'SampleProposalFrames', 'read_feature_csv']


def read_feature_csv(path: str, video_name: str, feat_dim: int | None = None) -> np.ndarray:
    """Read a feature CSV (a header row, then one row of ``feat_dim`` values per time step).

    Args:
        path (str): the CSV file.
        video_name (str): named in error messages.
        feat_dim (int | None): expected number of columns, checked when given.

    Returns:
        np.ndarray: ``[T, feat_dim]`` float32.

    Raises:
        DataError: the file is missing, empty, ragged or has the wrong width.
    """
    if not exists(path) or osp.isdir(path):
        raise DataError(f'video {video_name!r}: feature file {path} not found', path=path)
    header, *rest = read_text(path, MAX_ANNOTATION_BYTES, 'feature file',
                              lambda message: DataError(message, path=path)).splitlines() or ['']
    lines = [line for line in rest if line.strip()]
    width = len(header.split(','))
    if not lines:
        raise DataError(f'video {video_name!r}: feature file {path} has no rows', path=path)
    for lineno, line in enumerate(lines, start=2):
        if line.count(',') + 1 != width:
            raise DataError(f'video {video_name!r}: {path}:{lineno} has {line.count(",") + 1} '
                            f'values but the header has {width} columns', path=path)
    if feat_dim is not None and width != feat_dim:
        raise DataError(f'video {video_name!r}: feature file {path} has {width} columns, '
                        f'expected feat_dim={feat_dim}', path=path)
    try:
        return np.loadtxt(lines, dtype=np.float32, delimiter=',', ndmin=2)
    except ValueError as err:
        raise DataError(f'video {video_name!r}: cannot parse {path}: {err}', path=path) from err


@PIPELINES.register_module()
class LoadLocalizationFeature:
    """Load the feature sequence of a video.

    Required keys: ``video_name``, ``data_prefix``. Added keys: ``raw_feature``
    (``[feat_dim, T]`` float32, read from ``<data_prefix>/<video_name><raw_feature_ext>``).

    Args:
        raw_feature_ext (str): feature file extension; only ``'.csv'``. Default: '.csv'.
        feat_dim (int | None): when given, files of another width raise a ``DataError``.
            Default: None.
    """

    def __init__(self, raw_feature_ext: str = '.csv', feat_dim: int | None = None) -> None:
        if raw_feature_ext != '.csv':
            raise ValueError(f"LoadLocalizationFeature: raw_feature_ext must be '.csv', got "
                             f'{raw_feature_ext!r}')
        if feat_dim is not None and (isinstance(feat_dim, bool) or not isinstance(feat_dim, int)
                                     or feat_dim <= 0):
            raise ValueError(f'LoadLocalizationFeature: feat_dim must be a positive int or None, '
                             f'got {feat_dim!r}')
        self.raw_feature_ext = raw_feature_ext
        self.feat_dim = feat_dim

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        video_name = results['video_name']
        data_prefix = results.get('data_prefix')
        if data_prefix is None:
            raise ValueError('LoadLocalizationFeature needs data_prefix (the feature folder) in '
                             'the dataset config')
        path = osp.join(data_prefix, video_name + self.raw_feature_ext)
        results['raw_feature'] = read_feature_csv(path, video_name, self.feat_dim).T.copy()
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(raw_feature_ext={self.raw_feature_ext!r}, '
                f'feat_dim={self.feat_dim})')


@PIPELINES.register_module()
class GenerateLocalizationLabels:
    """Normalise the ground-truth segments of a video to [0, 1] of its feature sequence.

    The features cover ``feature_frame`` of the video's ``duration_frame`` frames, i.e.
    ``feature_frame / duration_frame * duration_second`` seconds; segments are divided by that
    and clipped to [0, 1].

    Required keys: ``duration_frame``, ``duration_second``, ``feature_frame``, ``annotations``.
    Added keys: ``gt_bbox`` (``[K, 2]`` float64 ``[start, end]``).
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        name = results.get('video_name', '?')
        corrected_second = (float(results['feature_frame']) / results['duration_frame']
                            * results['duration_second'])
        segments = [ann['segment'] for ann in results['annotations']]
        if not segments:
            raise DataError(f'video {name!r} has no annotations: it cannot give localization '
                            'labels (remove it from the training annotations)')
        gt_bbox = np.clip(np.asarray(segments, dtype=float) / corrected_second, 0, 1)
        results['gt_bbox'] = gt_bbox.reshape(-1, 2)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@PIPELINES.register_module()
class LoadProposals:
    """Load the BSN PGM proposals and BSP features of a video (for PEM).

    Required keys: ``video_name``. Added keys: ``bsp_feature`` (``[K, D]`` float32), ``tmin``,
    ``tmax``, ``tmin_score``, ``tmax_score`` and ``reference_temporal_iou`` (``[K]``), for the
    first ``K <= top_k`` proposals.

    Args:
        top_k (int): proposals kept (the files are sorted best first).
        pgm_proposals_dir (str): folder of ``<video_name>.csv`` proposal files.
        pgm_features_dir (str): folder of ``<video_name>.npy`` BSP features.
        proposal_ext (str): only ``'.csv'``. Default: '.csv'.
        feature_ext (str): only ``'.npy'``. Default: '.npy'.
    """

    def __init__(self, top_k: int, pgm_proposals_dir: str, pgm_features_dir: str,
                 proposal_ext: str = '.csv', feature_ext: str = '.npy') -> None:
        check_positive_int('LoadProposals', 'top_k', top_k)
        if proposal_ext != '.csv':
            raise ValueError(f"LoadProposals: proposal_ext must be '.csv', got {proposal_ext!r}")
        if feature_ext != '.npy':
            raise ValueError(f"LoadProposals: feature_ext must be '.npy', got {feature_ext!r}")
        self.top_k = top_k
        self.pgm_proposals_dir = pgm_proposals_dir
        self.pgm_features_dir = pgm_features_dir
        self.proposal_ext = proposal_ext
        self.feature_ext = feature_ext

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        name = results['video_name']
        proposal_path = osp.join(self.pgm_proposals_dir, name + self.proposal_ext)
        feature_path = osp.join(self.pgm_features_dir, name + self.feature_ext)
        for path in (proposal_path, feature_path):
            if not osp.isfile(path):
                raise DataError(f'video {name!r}: {path} not found (run '
                                'tools/misc/bsn_proposal_generation.py first)', path=path)
        try:
            proposals = np.loadtxt(proposal_path, dtype=np.float32, delimiter=',', skiprows=1,
                                   ndmin=2)[:self.top_k]
            bsp_feature = np.load(feature_path).astype(np.float32)[:self.top_k]
        except ValueError as err:
            raise DataError(f'video {name!r}: cannot read {proposal_path} / {feature_path}: {err}',
                            path=proposal_path) from err
        if proposals.shape[1] < 6:
            raise DataError(f'video {name!r}: {proposal_path} has {proposals.shape[1]} columns, '
                            'expected tmin,tmax,tmin_score,tmax_score,score,match_iou[,...]',
                            path=proposal_path)
        if len(bsp_feature) != len(proposals):
            raise DataError(f'video {name!r}: {len(proposals)} proposals in {proposal_path} but '
                            f'{len(bsp_feature)} features in {feature_path}', path=feature_path)
        results['bsp_feature'] = bsp_feature
        results['tmin'] = proposals[:, 0]
        results['tmax'] = proposals[:, 1]
        results['tmin_score'] = proposals[:, 2]
        results['tmax_score'] = proposals[:, 3]
        results['reference_temporal_iou'] = proposals[:, 5]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(top_k={self.top_k}, '
                f'pgm_proposals_dir={self.pgm_proposals_dir!r}, '
                f'pgm_features_dir={self.pgm_features_dir!r}, '
                f'proposal_ext={self.proposal_ext!r}, feature_ext={self.feature_ext!r})')


def _pair(value: Any, name: str) -> tuple[float, float]:
    pair = (value, value) if isinstance(value, (int, float)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 for v in pair):
        raise TypeError(f'SampleProposalFrames: {name} must be a number or a pair of numbers, '
                        f'got {value!r}')
    return pair  # type: ignore[return-value]


@PIPELINES.register_module()
class SampleProposalFrames:
    """Sample frames in the starting, course and ending stages of SSN proposals.

    In ``'train'``/``'val'`` mode each proposal of ``out_proposals`` gets ``aug_segments[0]``
    starting, ``body_segments`` course and ``aug_segments[1]`` ending clips (randomly shifted
    within equal intervals in train mode, centred in val mode). In ``'test'`` mode one clip is
    taken every ``test_interval`` frames of the whole video.

    Required keys: ``total_frames``, ``start_index``, ``out_proposals`` (train/val: a list of
    ``((video_id, SSNInstance), proposal_type)``). Added keys: ``frame_inds``, ``clip_len``,
    ``frame_interval``, ``num_clips`` and, in train/val mode, ``num_proposals``.

    Args:
        clip_len (int): frames per clip.
        body_segments (int): clips in the course stage.
        aug_segments (tuple[int, int]): clips in the starting and ending stages.
        aug_ratio (float | tuple[float, float]): length of the starting / ending stages as a
            share of the proposal's length.
        frame_interval (int): step between the frames of a clip. Default: 1.
        test_interval (int): step between test clips. Default: 6.
        temporal_jitter (bool): shift each frame randomly within ``frame_interval``.
            Default: False.
        mode (str): 'train', 'val' or 'test'. Default: 'train'.
    """

    def __init__(self, clip_len: int, body_segments: int, aug_segments: Sequence[int],
                 aug_ratio: float | Sequence[float], frame_interval: int = 1,
                 test_interval: int = 6, temporal_jitter: bool = False,
                 mode: str = 'train') -> None:
        for name, value in (('clip_len', clip_len), ('body_segments', body_segments),
                            ('frame_interval', frame_interval), ('test_interval', test_interval)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'SampleProposalFrames: {name} must be a positive int, got '
                                 f'{value!r}')
        if len(aug_segments) != 2:
            raise ValueError('SampleProposalFrames: aug_segments must be two ints, got '
                             f'{aug_segments!r}')
        if mode not in ('train', 'val', 'test'):
            raise ValueError(f"SampleProposalFrames: mode must be 'train', 'val' or 'test', got "
                             f'{mode!r}')
        self.clip_len = clip_len
        self.body_segments = body_segments
        self.aug_segments = tuple(aug_segments)
        self.aug_ratio = _pair(aug_ratio, 'aug_ratio')
        self.frame_interval = frame_interval
        self.test_interval = test_interval
        self.temporal_jitter = temporal_jitter
        self.mode = mode

    @staticmethod
    def _get_train_indices(valid_length: int, num_segments: int) -> np.ndarray:
        """Offsets in ``num_segments`` equal intervals of ``valid_length + 1``, each randomly
        shifted within its interval (all zero when the intervals are empty)."""
        avg_interval = (valid_length + 1) // num_segments
        if avg_interval > 0:
            return (np.arange(num_segments) * avg_interval
                    + np.random.randint(avg_interval, size=num_segments))
        return np.zeros((num_segments, ), dtype=int)

    @staticmethod
    def _get_val_indices(valid_length: int, num_segments: int) -> np.ndarray:
        """Centres of ``num_segments`` equal intervals of ``valid_length`` (zeros if too short)."""
        if valid_length >= num_segments:
            avg_interval = valid_length / float(num_segments)
            return (np.arange(num_segments) * avg_interval + avg_interval / 2.0).astype(int)
        return np.zeros((num_segments, ), dtype=int)

    def _get_proposal_clips(self, proposal: Any, num_frames: int) -> np.ndarray:
        """Clip offsets of one proposal ``[start_frame, end_frame)``: starting, course, ending."""
        start_frame, end_frame = proposal.start_frame, proposal.end_frame
        ori_clip_len = self.clip_len * self.frame_interval
        duration = end_frame - start_frame
        if duration <= 0:
            raise ValueError(f'SampleProposalFrames: empty proposal [{start_frame}, {end_frame})')
        valid_length = duration - ori_clip_len
        valid_starting = max(0, start_frame - int(duration * self.aug_ratio[0]))
        valid_ending = min(num_frames - ori_clip_len + 1,
                           end_frame - 1 + int(duration * self.aug_ratio[1]))
        valid_starting_length = start_frame - valid_starting - ori_clip_len
        valid_ending_length = (valid_ending - end_frame + 1) - ori_clip_len
        pick = self._get_train_indices if self.mode == 'train' else self._get_val_indices
        starting = pick(valid_starting_length, self.aug_segments[0]) + valid_starting
        course = pick(valid_length, self.body_segments) + start_frame
        ending = pick(valid_ending_length, self.aug_segments[1]) + end_frame
        return np.concatenate((starting, course, ending))

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        total_frames = results['total_frames']
        if self.mode == 'test':
            clip_offsets = np.arange(0, total_frames - self.clip_len * self.frame_interval,
                                     self.test_interval, dtype=int)
        else:
            proposals = results.get('out_proposals')
            if proposals is None:
                raise ValueError(f"SampleProposalFrames(mode={self.mode!r}) needs "
                                 "'out_proposals' (set by SSNDataset in train mode)")
            clip_offsets = np.concatenate(
                [self._get_proposal_clips(p[0][1], total_frames) for p in proposals]
                or [np.zeros(0, dtype=int)])
        frame_inds = (clip_offsets[:, None]
                      + np.arange(self.clip_len)[None, :] * self.frame_interval).reshape(-1)
        if self.temporal_jitter:
            frame_inds = frame_inds + np.random.randint(self.frame_interval, size=len(frame_inds))
        frame_inds = np.mod(frame_inds, total_frames) + results['start_index']
        results['frame_inds'] = frame_inds.astype(int)
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.body_segments + self.aug_segments[0] + self.aug_segments[1]
        if self.mode in ('train', 'val'):
            results['num_proposals'] = len(results['out_proposals'])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'body_segments={self.body_segments}, aug_segments={self.aug_segments}, '
                f'aug_ratio={self.aug_ratio}, frame_interval={self.frame_interval}, '
                f'test_interval={self.test_interval}, temporal_jitter={self.temporal_jitter}, '
                f'mode={self.mode!r})')
