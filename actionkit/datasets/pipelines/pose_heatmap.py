"""``GeneratePoseTarget``: PoseC3D's pseudo heatmaps, one Gaussian per joint or limb.

A joint at ``(mx, my)`` with score ``s`` paints ``s * exp(-((x - mx)^2 + (y - my)^2) / (2
sigma^2))`` inside the box ``int(m - 3 sigma) .. int(m + 3 sigma)`` (clipped to the image); a
limb paints the same of the distance to its segment, scaled by the smaller of its two scores.
Several persons combine by maximum. Joints and limbs with a score below ``1e-4`` paint nothing.

The maps equal MMAction2 0.24.1's bit for bit: the arithmetic follows the dtypes its numpy-1
code takes (``float32`` grids and distances; the limb's projection in the keypoints' own
dtype, ``float64`` once a crop has moved them; the limb map in ``float64`` before it is stored
as ``float32``), but the windows of all frames and joints of a person are computed as one array (a
chunk of frames at a time) instead of one Python loop iteration per joint.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..builder import PIPELINES
from ..errors import DataError
from . import functional as F
from .pose import check_keypoint, clip_name

__all__ = ['GeneratePoseTarget']

_EPS = 1e-4
_COCO_SKELETON = ((0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8),
                  (8, 10), (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12))
_FRAMES_PER_CHUNK = 16


def _bounds(low: np.ndarray, high: np.ndarray, sigma: float, size: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel range ``[start, stop)`` of ``int(low - 3 sigma) .. int(high + 3 sigma)``, clipped.

    The bounds are computed in float64 and truncated toward zero, as Python's ``int`` does.
    """
    start = np.clip(np.trunc(low.astype(np.float64) - 3 * sigma), 0, size)
    stop = np.clip(np.trunc(high.astype(np.float64) + 3 * sigma) + 1, start, size)
    return start.astype(np.int64), stop.astype(np.int64)


class _Patches:
    """Windows ``[N]`` of an ``H x W`` image, as local grids of the largest window's size."""

    def __init__(self, low: np.ndarray, high: np.ndarray, sigma: float,
                 shape: tuple[int, int]) -> None:
        h, w = shape
        self.x0, x1 = _bounds(low[:, 0], high[:, 0], sigma, w)
        self.y0, y1 = _bounds(low[:, 1], high[:, 1], sigma, h)
        self.size = (int((y1 - self.y0).max(initial=0)), int((x1 - self.x0).max(initial=0)))
        hw, ww = self.size
        # pixel coordinates as float32, as MMAction2's np.arange(..., np.float32)
        self.x = (self.x0[:, None] + np.arange(ww)).astype(np.float32)[:, None, :]  # [N,1,Ww]
        self.y = (self.y0[:, None] + np.arange(hw)).astype(np.float32)[:, :, None]  # [N,Hw,1]
        self.inside = (self.x < x1[:, None, None]) & (self.y < y1[:, None, None])


def _joint_patches(centers: np.ndarray, values: np.ndarray, sigma: float,
                   shape: tuple[int, int]) -> tuple[_Patches, np.ndarray]:
    """Gaussians around ``centers`` ``[N, 2]``: the windows and their ``[N, Hw, Ww]`` values."""
    win = _Patches(centers, centers, sigma, shape)
    c32 = centers.astype(np.float32)
    dx = (win.x - c32[:, None, None, 0]) ** 2
    dy = (win.y - c32[:, None, None, 1]) ** 2
    patch = np.exp(-(dx + dy) / 2 / sigma ** 2) * values.astype(np.float32)[:, None, None]
    keep = win.inside & (values >= _EPS)[:, None, None]
    return win, np.where(keep, patch, np.float32(0))


def _limb_patches(start: np.ndarray, end: np.ndarray, values: np.ndarray, sigma: float,
                  shape: tuple[int, int]) -> tuple[_Patches, np.ndarray]:
    """Gaussians of the distance to segments ``start``-``end`` ``[N, 2]`` (float64 values)."""
    win = _Patches(np.minimum(start, end), np.maximum(start, end), sigma, shape)
    x, y = win.x, win.y
    s32, e32 = start.astype(np.float32), end.astype(np.float32)
    d2_start = (x - s32[:, None, None, 0]) ** 2 + (y - s32[:, None, None, 1]) ** 2  # float32
    d2_end = (x - e32[:, None, None, 0]) ** 2 + (y - e32[:, None, None, 1]) ** 2
    d2_ab = (start[:, 0] - end[:, 0]) ** 2 + (start[:, 1] - end[:, 1]) ** 2  # keypoint dtype
    d2_ab32 = d2_ab.astype(np.float32)[:, None, None]
    with np.errstate(divide='ignore', invalid='ignore'):  # d2_ab < 1 is painted as a joint
        coeff = (d2_start - d2_end + d2_ab32) / 2. / d2_ab32  # float32
    # the projection onto the line, in the keypoints' dtype
    projection = start[:, None, None, :] + coeff[..., None] * (end - start)[:, None, None, :]
    grid = np.stack(np.broadcast_arrays(x + np.zeros_like(y), y + np.zeros_like(x)), axis=-1)
    d2_line = grid - projection
    d2_line = d2_line[..., 0] ** 2 + d2_line[..., 1] ** 2
    before, after = coeff <= 0, coeff >= 1
    between = 1 - before.astype(np.int64) - after
    d2_seg = before * d2_start + after * d2_end + between * d2_line  # float64
    patch = np.exp(-d2_seg / 2. / sigma ** 2) * values.astype(np.float32)[:, None, None]
    keep = win.inside & ((values >= _EPS) & (d2_ab >= 1))[:, None, None]
    return win, np.where(keep, patch, 0.).astype(np.float32)


def _paint(canvas: np.ndarray, index: np.ndarray, win: _Patches, patch: np.ndarray) -> None:
    """``canvas[index[i]]`` = max(itself, patch i) at the window of i; ``index`` ``[N]``.

    ``canvas`` is ``[maps, H + Hmax, W + Wmax]`` (a margin for windows cut by the border) and
    no map may appear twice in ``index``.
    """
    hw, ww = patch.shape[1:]
    if hw == 0 or ww == 0:
        return
    rows = win.y0[:, None, None] + np.arange(hw)[None, :, None]
    cols = win.x0[:, None, None] + np.arange(ww)[None, None, :]
    maps = index[:, None, None]
    canvas[maps, rows, cols] = np.maximum(canvas[maps, rows, cols], patch)


def _heatmaps(kps: np.ndarray, values: np.ndarray, sigma: float, shape: tuple[int, int],
              joints: bool, skeletons: Sequence[Sequence[int]]) -> np.ndarray:
    """``[T, K, H, W]`` float32: joint maps (if ``joints``) then limb maps.

    ``kps`` is ``[M, T, V, >=2]`` and ``values`` ``[M, T, V]``; persons combine by maximum.
    """
    m, t, v = kps.shape[:3]
    h, w = shape
    num_limbs = len(skeletons)
    num_maps = v * joints + num_limbs
    a_idx = np.array([a for a, _ in skeletons], dtype=np.int64)
    b_idx = np.array([b for _, b in skeletons], dtype=np.int64)
    jobs = []  # (canvas indices, window, patches) per person
    for person in range(m):
        kp, val = kps[person, ..., :2], values[person]
        if joints:
            index = (np.arange(t)[:, None] * num_maps + np.arange(v)).ravel()
            jobs.append((index, *_joint_patches(kp.reshape(-1, 2), val.ravel(), sigma, shape)))
        if num_limbs:
            index = (np.arange(t)[:, None] * num_maps + v * joints + np.arange(num_limbs)).ravel()
            start, end = kp[:, a_idx].reshape(-1, 2), kp[:, b_idx].reshape(-1, 2)
            coeff = np.minimum(val[:, a_idx], val[:, b_idx]).ravel()
            jobs.append((index, *_limb_patches(start, end, coeff, sigma, shape)))
            # a limb shorter than one pixel is its start joint's Gaussian (MMAction2's rule)
            short = ((start - end) ** 2).sum(axis=1) < 1
            short &= coeff >= _EPS
            if short.any():
                jobs.append((index[short], *_joint_patches(
                    start[short], val[:, a_idx].ravel()[short], sigma, shape)))
    margin_h = max([job[2].shape[1] for job in jobs], default=0)
    margin_w = max([job[2].shape[2] for job in jobs], default=0)
    canvas = np.zeros((t * num_maps, h + margin_h, w + margin_w), dtype=np.float32)
    for index, win, patch in jobs:
        _paint(canvas, index, win, patch)
    return canvas[:, :h, :w].reshape(t, num_maps, h, w)


@PIPELINES.register_module()
class GeneratePoseTarget:
    """Turn keypoints into heatmap frames ``imgs`` ``[T, H, W, K]`` (float32) for PoseC3D.

    ``K`` is the number of joints (``with_kp``) plus the number of limbs (``with_limb``).
    ``double=True`` (flip testing) appends the maps of the mirrored clip, joints swapped by
    ``left_kp``/``right_kp``: ``[2 T, H, W, K]``.

    Required keys: ``keypoint``, ``img_shape``.
    Optional keys: ``keypoint_score`` (all ones without it).
    Added keys: ``imgs``.

    Args:
        sigma (float): the Gaussians' standard deviation, in pixels.
        use_score (bool): scale each Gaussian by the joint's score.
        with_kp (bool): maps of the joints.
        with_limb (bool): maps of the limbs (``skeletons``).
        skeletons (Sequence[Sequence[int]]): the limbs, as joint index pairs (COCO's 17
            joints by default).
        double (bool): add the maps of the flipped clip.
        left_kp, right_kp (Sequence[int]): the joints swapped by the flip.
    """

    def __init__(self, sigma: float = 0.6, use_score: bool = True, with_kp: bool = True,
                 with_limb: bool = False, skeletons: Sequence[Sequence[int]] = _COCO_SKELETON,
                 double: bool = False, left_kp: Sequence[int] = (1, 3, 5, 7, 9, 11, 13, 15),
                 right_kp: Sequence[int] = (2, 4, 6, 8, 10, 12, 14, 16)) -> None:
        if not with_kp and not with_limb:
            raise ValueError('GeneratePoseTarget: at least one of with_kp and with_limb must '
                             'be True')
        if not isinstance(sigma, (int, float)) or sigma <= 0:
            raise ValueError(f'GeneratePoseTarget: sigma must be a positive number, got '
                             f'{sigma!r}')
        if any(len(limb) != 2 for limb in skeletons):
            raise ValueError(f'GeneratePoseTarget: skeletons must be pairs of joint indices, '
                             f'got {skeletons!r}')
        if len(left_kp) != len(right_kp):
            raise ValueError(f'GeneratePoseTarget: left_kp and right_kp must pair up, got '
                             f'{left_kp} and {right_kp}')
        self.sigma = sigma
        self.use_score = bool(use_score)
        self.with_kp = bool(with_kp)
        self.with_limb = bool(with_limb)
        self.skeletons = skeletons
        self.double = bool(double)
        self.left_kp = left_kp
        self.right_kp = right_kp

    def _check(self, results: dict[str, Any]) -> np.ndarray:
        kp = check_keypoint(results, type(self).__name__)
        name = clip_name(results)
        if 'img_shape' not in results:
            raise KeyError(f"GeneratePoseTarget: results of {name} has no 'img_shape' key")
        needed = max([max(limb) for limb in self.skeletons] if self.with_limb else [-1])
        if kp.shape[2] <= needed:
            raise DataError(f"GeneratePoseTarget: 'keypoint' of {name} has {kp.shape[2]} "
                            f'joints; the skeletons use joint {needed}', name)
        if np.isnan(kp[..., :2]).any():
            raise DataError(f"GeneratePoseTarget: 'keypoint' of {name} holds NaN coordinates "
                            '(PoseCompact turns them into missing joints)', name)
        return kp

    def heatmaps(self, kps: np.ndarray, scores: np.ndarray | None,
                 img_shape: tuple[int, int]) -> np.ndarray:
        """``[T, H, W, K]`` maps of keypoints ``[M, T, V, C]`` and scores ``[M, T, V]``."""
        shape = (int(img_shape[0]), int(img_shape[1]))
        if kps.shape[0] == 0:  # nobody in the clip: blank maps
            num_maps = kps.shape[2] * self.with_kp + len(self.skeletons) * self.with_limb
            return np.zeros((kps.shape[1], ) + shape + (num_maps, ), dtype=np.float32)
        if scores is None or not self.use_score:
            scores = np.ones(kps.shape[:3], dtype=np.float32)
        chunks = []
        for t in range(0, kps.shape[1], _FRAMES_PER_CHUNK):
            part, value = kps[:, t:t + _FRAMES_PER_CHUNK], scores[:, t:t + _FRAMES_PER_CHUNK]
            chunks.append(_heatmaps(part, value, self.sigma, shape, self.with_kp,
                                    self.skeletons if self.with_limb else ()))
        return np.concatenate(chunks).transpose(0, 2, 3, 1)  # [T, K, H, W] -> [T, H, W, K]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = self._check(results)
        scores = results.get('keypoint_score')
        imgs = self.heatmaps(kp, scores, results['img_shape'])
        if self.double:
            kp_f, scores_f = F.flip_keypoints(kp, scores, results['img_shape'][1],
                                              self.left_kp, self.right_kp)
            imgs = np.concatenate([imgs, self.heatmaps(kp_f, scores_f, results['img_shape'])])
        results['imgs'] = imgs
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(sigma={self.sigma}, use_score={self.use_score}, '
                f'with_kp={self.with_kp}, with_limb={self.with_limb}, '
                f'skeletons={self.skeletons}, double={self.double}, left_kp={self.left_kp}, '
                f'right_kp={self.right_kp})')
