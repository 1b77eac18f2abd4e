"""MMAction2 1.x's PoseC3D / RGBPoseConv3D steps.

Changed in 1.x (so, in a 1.x pipeline, built from the classes here):

* ``GeneratePoseTarget`` writes ``[T, K, H, W]`` heatmaps (0.x: ``[T, H, W, K]``), under
  ``heatmap_imgs`` when the results already hold RGB ``imgs``; ``scaling`` shrinks the maps,
  and ``double`` mirrors the maps themselves, swapping ``left_kp``/``right_kp`` (or
  ``left_limb``/``right_limb`` for limb maps);
* ``UniformSampleFrames`` samples several clips in train mode too;
* ``DecordDecode`` accepts ``io_backend`` (the one 1.2.0 TSM config that passes it fails in
  1.2.0; here it is checked as ``DecordInit`` checks it).

New in 1.x: ``MMUniformSampleFrames`` (one index set per modality, ``clip_len`` a dict),
``MMDecode`` (RGB frames with decord and poses, for those sets) and ``MMCompact`` (crop the
frames to the box around the poses).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..builder import PIPELINES
from .compose import register_v1_variant
from .decoders import get_reader_class
from .decoding import DecordDecode, _check_io_backend
from .pose import check_keypoint, clip_name
from .pose_heatmap import _COCO_SKELETON, GeneratePoseTarget
from .sampling import UniformSampleFrames, _total_frames

__all__ = ['V1GeneratePoseTarget', 'V1UniformSampleFrames', 'V1DecordDecode',
           'MMUniformSampleFrames', 'MMDecode', 'MMCompact']


@register_v1_variant('GeneratePoseTarget')
class V1GeneratePoseTarget(GeneratePoseTarget):
    """1.x's ``GeneratePoseTarget`` (see the module text).

    Args:
        sigma, use_score, with_kp, with_limb, skeletons, double, left_kp, right_kp: as in
            :class:`~.pose_heatmap.GeneratePoseTarget`.
        left_limb, right_limb (Sequence[int]): the limb maps swapped by ``double`` when there
            are no joint maps.
        scaling (float): the maps' size relative to ``img_shape`` (rounded).
    """

    def __init__(self, sigma: float = 0.6, use_score: bool = True, with_kp: bool = True,
                 with_limb: bool = False, skeletons: Sequence[Sequence[int]] = _COCO_SKELETON,
                 double: bool = False, left_kp: Sequence[int] = (1, 3, 5, 7, 9, 11, 13, 15),
                 right_kp: Sequence[int] = (2, 4, 6, 8, 10, 12, 14, 16),
                 left_limb: Sequence[int] = (0, 2, 4, 5, 6, 10, 11, 12),
                 right_limb: Sequence[int] = (1, 3, 7, 8, 9, 13, 14, 15),
                 scaling: float = 1.0) -> None:
        super().__init__(sigma, use_score, with_kp, with_limb, skeletons, double, left_kp,
                         right_kp)
        if len(left_limb) != len(right_limb):
            raise ValueError(f'GeneratePoseTarget: left_limb and right_limb must pair up, got '
                             f'{left_limb} and {right_limb}')
        if not isinstance(scaling, (int, float)) or scaling <= 0:
            raise ValueError(f'GeneratePoseTarget: scaling must be a positive number, got '
                             f'{scaling!r}')
        self.left_limb, self.right_limb, self.scaling = left_limb, right_limb, scaling

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kps = self._check(results).astype(np.float32)  # a copy: the keypoints stay
        kps[..., :2] *= self.scaling
        h, w = results['img_shape']
        shape = (int(h * self.scaling + 0.5), int(w * self.scaling + 0.5))
        maps = self.heatmaps(kps, results.get('keypoint_score'), shape).transpose(0, 3, 1, 2)
        if self.double:
            order = np.arange(maps.shape[1])
            left, right = ((self.left_kp, self.right_kp) if self.with_kp
                           else (self.left_limb, self.right_limb))
            for a, b in zip(left, right):
                order[a], order[b] = b, a
            maps = np.concatenate([maps, maps[..., ::-1][:, order]])
        results['heatmap_imgs' if 'imgs' in results else 'imgs'] = maps
        return results


@register_v1_variant('UniformSampleFrames')
class V1UniformSampleFrames(UniformSampleFrames):
    """1.x's ``UniformSampleFrames``: as 0.x's, and train mode draws ``num_clips`` clips."""

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False,
                 seed: int = 255) -> None:
        super().__init__(clip_len, num_clips, True, seed)  # test_mode=True: any num_clips
        self.test_mode = bool(test_mode)

    def _short_video(self, num_frames: int, rng: Any) -> np.ndarray:
        if self.test_mode:
            return super()._short_video(num_frames, rng)
        starts = [rng.randint(0, num_frames) for _ in range(self.num_clips)]
        return np.concatenate([np.arange(s, s + self.clip_len) for s in starts])

    def indices(self, num_frames: int, clip_len: int) -> np.ndarray:
        """``num_clips`` clips of ``clip_len`` frames, before ``start_index`` (for MM*)."""
        saved = self.clip_len
        self.clip_len = clip_len
        try:
            results = UniformSampleFrames.__call__(
                self, dict(total_frames=num_frames, start_index=0))
        finally:
            self.clip_len = saved
        return results['frame_inds']


@register_v1_variant('DecordDecode')
class V1DecordDecode(DecordDecode):
    """``DecordDecode`` that also accepts ``io_backend`` (checked, unused)."""

    def __init__(self, mode: str = 'accurate', io_backend: str = 'disk') -> None:
        super().__init__(mode)
        self.io_backend = _check_io_backend(io_backend, 'DecordDecode')


@PIPELINES.register_module()
class MMUniformSampleFrames(V1UniformSampleFrames):
    """``UniformSampleFrames`` for several modalities: ``clip_len`` is a dict such as
    ``{'RGB': 8, 'Pose': 32}``; each modality gets its own indices ``<modality>_inds``.

    Required keys: ``total_frames``.
    Added keys: ``<modality>_inds``, ``clip_len``, ``frame_interval`` (None), ``num_clips``;
    ``modality`` becomes the list of modalities unless it is a list already.
    """

    def __init__(self, clip_len: Mapping[str, int], num_clips: int = 1,
                 test_mode: bool = False, seed: int = 255) -> None:
        if not isinstance(clip_len, Mapping) or not clip_len:
            raise TypeError(f"MMUniformSampleFrames: clip_len must be a dict such as "
                            f"{{'RGB': 8, 'Pose': 32}}, got {clip_len!r}")
        super().__init__(max(clip_len.values()), num_clips, test_mode, seed)
        self.clip_lens = dict(clip_len)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        num_frames = _total_frames(results, type(self).__name__)
        for modality, length in self.clip_lens.items():
            results[f'{modality}_inds'] = self.indices(num_frames, length)
        results['clip_len'] = dict(self.clip_lens)
        results['frame_interval'] = None
        results['num_clips'] = self.num_clips
        if not isinstance(results.get('modality'), list):
            results['modality'] = list(self.clip_lens)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_lens}, num_clips={self.num_clips}, '
                f'test_mode={self.test_mode}, seed={self.seed})')


@PIPELINES.register_module()
class MMDecode:
    """Decode every modality of ``modality`` at its ``<modality>_inds``: RGB frames with
    decord (``filename``, else ``frame_dir + '.mp4'``), poses (``keypoint`` and
    ``keypoint_score``, all ones without it) as ``float32``. When the video's frames differ
    in size from ``img_shape``, the keypoints are scaled to them.

    Required keys: ``modality``, ``<modality>_inds``; ``filename`` / ``frame_dir`` (RGB);
    ``keypoint``, ``img_shape`` (Pose).
    Added / modified keys: ``imgs``, ``keypoint``, ``keypoint_score``, ``img_shape``,
    ``original_shape``.
    """

    def __init__(self, io_backend: str = 'disk') -> None:
        self.io_backend = _check_io_backend(io_backend, 'MMDecode')

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        for modality in results['modality']:
            inds = np.asarray(results[f'{modality}_inds']).reshape(-1)
            if modality == 'RGB':
                path = results.get('filename', str(results.get('frame_dir')) + '.mp4')
                reader = get_reader_class('decord')(path)
                try:
                    results['imgs'] = reader.get_frames(inds)
                finally:
                    reader.close()
            elif modality == 'Pose':
                kp = check_keypoint(results, 'MMDecode')
                score = results.get('keypoint_score')
                if score is None:
                    score = np.ones(kp.shape[:-1], dtype=np.float32)
                results['keypoint'] = kp[:, inds].astype(np.float32)
                results['keypoint_score'] = np.asarray(score)[:, inds].astype(np.float32)
            else:
                raise ValueError(f"MMDecode: modality must be 'RGB' or 'Pose', got "
                                 f'{modality!r} ({clip_name(results)})')
        if 'imgs' in results and 'keypoint' in results:
            real = tuple(results['imgs'][0].shape[:2])
            if real != tuple(results['img_shape']):
                (oh, ow), (nh, nw) = results['img_shape'], real
                results['keypoint'][..., 0] *= nw / ow
                results['keypoint'][..., 1] *= nh / oh
                results['img_shape'] = results['original_shape'] = real
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(io_backend={self.io_backend!r})'


@PIPELINES.register_module()
class MMCompact:
    """Crop the frames (zero-padding past the image when ``allow_imgpad``) to the box around
    every non-zero joint, grown by ``padding`` and to the ``hw_ratio``; boxes thinner than
    ``threshold`` pixels keep the whole image. Keypoints move with the crop.

    Required keys: ``img_shape``, ``keypoint``, ``imgs``.
    Modified keys: ``img_shape``, ``keypoint``, ``imgs``.
    """

    def __init__(self, padding: float = 0.25, threshold: int = 10,
                 hw_ratio: float | Sequence[float] | None = 1, allow_imgpad: bool = True) -> None:
        if not isinstance(padding, (int, float)) or padding < 0:
            raise ValueError(f'MMCompact: padding must be a number >= 0, got {padding!r}')
        self.padding, self.threshold, self.allow_imgpad = padding, threshold, bool(allow_imgpad)
        if hw_ratio is not None and not isinstance(hw_ratio, Sequence):
            hw_ratio = (hw_ratio, hw_ratio)
        self.hw_ratio = None if hw_ratio is None else tuple(hw_ratio)

    def _box(self, kp: np.ndarray, img_shape: Sequence[int]) -> tuple[int, int, int, int]:
        h, w = img_shape
        xs, ys = kp[..., 0][kp[..., 0] != 0], kp[..., 1][kp[..., 1] != 0]
        min_x, max_x = np.min(xs, initial=np.inf), np.max(xs, initial=-np.inf)
        min_y, max_y = np.min(ys, initial=np.inf), np.max(ys, initial=-np.inf)
        if max_x - min_x < self.threshold or max_y - min_y < self.threshold:
            return 0, 0, w, h
        cx, cy = (max_x + min_x) / 2, (max_y + min_y) / 2
        half_w = (max_x - min_x) / 2 * (1 + self.padding)
        half_h = (max_y - min_y) / 2 * (1 + self.padding)
        if self.hw_ratio is not None:
            half_h = max(self.hw_ratio[0] * half_w, half_h)
            half_w = max(1 / self.hw_ratio[1] * half_h, half_w)
        box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        if self.allow_imgpad:
            return tuple(int(v) for v in box)
        return (int(max(0, box[0])), int(max(0, box[1])), int(min(w, box[2])),
                int(min(h, box[3])))

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        kp = check_keypoint(results, 'MMCompact')
        kp[np.isnan(kp)] = 0.0
        h, w = results['img_shape']
        x0, y0, x1, y1 = self._box(kp, (h, w))
        kp[..., 0][kp[..., 0] != 0] -= x0
        kp[..., 1][kp[..., 1] != 0] -= y0
        pad_l, pad_u = max(0, -x0), max(0, -y0)
        pad_r, pad_d = max(0, x1 - w), max(0, y1 - h)
        imgs = results['imgs']
        if pad_l or pad_u or pad_r or pad_d:
            imgs = [np.pad(img, ((pad_u, pad_d), (pad_l, pad_r), (0, 0))) for img in imgs]
        results['imgs'] = [img[y0 + pad_u:y1 + pad_u, x0 + pad_l:x1 + pad_l] for img in imgs]
        results['img_shape'] = (y1 - y0, x1 - x0)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(padding={self.padding}, threshold={self.threshold}, '
                f'hw_ratio={self.hw_ratio}, allow_imgpad={self.allow_imgpad})')
