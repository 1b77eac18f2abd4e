"""Deterministic image kernels that the transforms of ``augmentations.py`` and ``crops.py``
apply to every frame.

Each kernel takes the frames of a clip (a list of ``H x W x C`` or ``H x W`` arrays, or one
stacked ``T x H x W (x C)`` array), plus parameters already drawn by the transform, and
returns new arrays; the inputs are never modified. Geometry follows MMAction2 0.x (mmcv):
boxes are ``(x1, y1, x2, y2)`` in pixels, sizes are ``(w, h)``, ``img_shape`` is ``(h, w)``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import cv2
import numpy as np

__all__ = [
    'INTERPOLATIONS', 'Frames', 'rescale_size', 'resize', 'crop', 'flip', 'invert', 'stack',
    'normalize', 'normalize_flow', 'rgb_to_grayscale', 'adjust_brightness', 'adjust_contrast',
    'adjust_saturation', 'adjust_hue', 'color_jitter', 'fixed_crop_offsets', 'multi_crop',
    'update_crop_quadruple', 'crop_boxes', 'resize_boxes', 'flip_boxes', 'flip_keypoints',
]

Frames = Union[Sequence[np.ndarray], np.ndarray]

INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}


def rescale_size(old_size: tuple[int, int], scale: float | tuple[float, float]
                 ) -> tuple[int, int]:
    """The ``(w, h)`` an image of ``old_size=(w, h)`` gets when rescaled keeping its ratio.

    Args:
        old_size: ``(w, h)``.
        scale: a positive factor, or ``(long_edge, short_edge)`` bounds in either order: the
            largest size whose long edge is at most ``max(scale)`` and short edge at most
            ``min(scale)`` (``(inf, 256)`` means short edge 256).
    """
    w, h = old_size
    if isinstance(scale, (int, float)):
        if scale <= 0:
            raise ValueError(f'scale factor must be positive, got {scale}')
        factor = float(scale)
    else:
        long_edge, short_edge = max(scale), min(scale)
        factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return int(w * factor + 0.5), int(h * factor + 0.5)


def resize(imgs: Frames, size: tuple[int, int], interpolation: str = 'bilinear'
           ) -> list[np.ndarray]:
    """Resize every frame to ``size=(w, h)`` with OpenCV (no copy when the size is unchanged)."""
    flag = INTERPOLATIONS[interpolation]
    w, h = size
    return [img if img.shape[:2] == (h, w) else cv2.resize(img, (w, h), interpolation=flag)
            for img in imgs]


def crop(imgs: Frames, bbox: Sequence[int]) -> Frames:
    """Crop ``bbox=(x1, y1, x2, y2)`` out of every frame (views, no copy)."""
    x1, y1, x2, y2 = (int(v) for v in bbox)
    if isinstance(imgs, np.ndarray):
        return imgs[:, y1:y2, x1:x2]
    return [img[y1:y2, x1:x2] for img in imgs]


def flip(imgs: Frames, direction: str = 'horizontal') -> Frames:
    """Mirror every frame left-right (``'horizontal'``) or top-bottom (``'vertical'``)."""
    if direction not in ('horizontal', 'vertical'):
        raise ValueError(f"direction must be 'horizontal' or 'vertical', got {direction!r}")
    if isinstance(imgs, np.ndarray):
        axis = 2 if direction == 'horizontal' else 1
        return np.ascontiguousarray(np.flip(imgs, axis=axis))
    code = 1 if direction == 'horizontal' else 0
    return [cv2.flip(np.ascontiguousarray(img), code) for img in imgs]


def invert(img: np.ndarray) -> np.ndarray:
    """``255 - img``: the x component of an 8-bit optical-flow frame after a horizontal flip."""
    return np.full_like(img, 255) - img


def stack(imgs: Frames, dtype: type | None = None) -> np.ndarray:
    """Stack frames into one ``T x H x W (x C)`` array (one pass, converting to ``dtype``)."""
    if isinstance(imgs, np.ndarray):
        return imgs if dtype is None else imgs.astype(dtype)
    return np.array(imgs, dtype=dtype)


def normalize(imgs: Frames, mean: np.ndarray, std: np.ndarray, to_bgr: bool = False
              ) -> np.ndarray:
    """``(img - mean) / std`` per channel, as one ``T x H x W x C`` ``float32`` array.

    With ``to_bgr`` the channels are reversed first, so ``mean``/``std`` are in BGR order.
    ``uint8`` frames go through a 256-entry lookup table per channel (``cv2.LUT``): one pass,
    values computed in float64.
    """
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    first = imgs[0]
    if first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == len(mean) == 3:
        return _normalize_uint8(imgs, mean, std, to_bgr)
    out = stack(imgs, np.float32)  # a new array (astype / np.array copy)
    if to_bgr:
        out = np.ascontiguousarray(out[..., ::-1])
    # broadcasting over a last axis of 3 runs numpy's inner loop 3 elements at a time; a
    # mean tiled along whole rows keeps it on long contiguous runs (about 3x faster)
    channels = out.shape[-1]
    rows = out.reshape(-1, out.shape[-2] * channels)
    width = rows.shape[1] // channels
    rows -= np.tile(mean.astype(np.float32), width)
    rows *= np.tile((1.0 / std).astype(np.float32), width)
    return out


def _normalize_uint8(imgs: Frames, mean: np.ndarray, std: np.ndarray, to_bgr: bool
                     ) -> np.ndarray:
    table = ((np.arange(256, dtype=np.float64)[:, None] - mean) / std).astype(np.float32)
    table = table.reshape(256, 1, 3)
    shape = imgs[0].shape
    out = np.empty((len(imgs), ) + shape, dtype=np.float32)
    for i, img in enumerate(imgs):
        if img.shape != shape:
            raise ValueError(f'all frames must have the same shape to be normalised together, '
                             f'got {shape} and {img.shape}')
        src = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if to_bgr else img
        cv2.LUT(src, table, dst=out[i])
    return out


def normalize_flow(imgs: Frames, mean: np.ndarray, std: np.ndarray,
                   scale_factor: Sequence[float] | None = None) -> np.ndarray:
    """Normalise interleaved x/y flow frames into one ``T x H x W x 2`` ``float32`` array.

    Args:
        imgs: ``2T`` grayscale frames, x then y for each time step.
        mean, std: two values each (x, y).
        scale_factor: if given, multiply x and y by ``(sx, sy)`` (magnitude follows resizing).
    """
    frames = stack(imgs, np.float32)
    if len(frames) % 2:
        raise ValueError(f'flow frames come in x/y pairs, got an odd number ({len(frames)})')
    x_flow = (frames[0::2] - mean[0]) / std[0]
    y_flow = (frames[1::2] - mean[1]) / std[1]
    if scale_factor is not None:
        x_flow = x_flow * scale_factor[0]
        y_flow = y_flow * scale_factor[1]
    return np.stack([x_flow, y_flow], axis=-1).astype(np.float32, copy=False)


def rgb_to_grayscale(imgs: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of RGB frames (last axis), as float."""
    return 0.2989 * imgs[..., 0] + 0.587 * imgs[..., 1] + 0.114 * imgs[..., 2]


def adjust_brightness(imgs: np.ndarray, factor: float) -> np.ndarray:
    """Scale float RGB frames by ``factor``."""
    return imgs * np.float32(factor)


def adjust_contrast(imgs: np.ndarray, factor: float) -> np.ndarray:
    """Blend each float RGB frame (``T x H x W x 3``) with its mean gray level."""
    mean = rgb_to_grayscale(imgs).mean(axis=(1, 2), keepdims=True)[..., None]
    return (factor * imgs + (1 - factor) * mean).astype(np.float32)


def adjust_saturation(imgs: np.ndarray, factor: float) -> np.ndarray:
    """Blend float RGB frames with their per-pixel gray level."""
    gray = rgb_to_grayscale(imgs)[..., None]
    return (factor * imgs + (1 - factor) * gray).astype(np.float32)


def adjust_hue(imgs: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the hue of float RGB frames by ``factor`` of a turn (OpenCV 8-bit HSV)."""
    offset = int(factor * 255)
    out = np.empty(imgs.shape, dtype=np.float32)
    for i, img in enumerate(np.clip(imgs, 0, 255).astype(np.uint8)):
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + offset) % 180
        out[i] = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return out


def color_jitter(imgs: Frames, brightness: float, contrast: float, saturation: float,
                 hue: float, order: Sequence[int] = (0, 1, 2, 3)) -> list[np.ndarray]:
    """Apply brightness, contrast, saturation and hue changes in ``order`` (0..3 in that
    order of names); factors of 1 (hue 0) are skipped. Returns ``uint8`` frames."""
    out = stack(imgs, np.float32)
    for fn_id in order:
        if fn_id == 0 and brightness != 1:
            out = adjust_brightness(out, brightness)
        elif fn_id == 1 and contrast != 1:
            out = adjust_contrast(out, contrast)
        elif fn_id == 2 and saturation != 1:
            out = adjust_saturation(out, saturation)
        elif fn_id == 3 and hue != 0:
            out = adjust_hue(out, hue)
    return list(np.clip(out, 0, 255).astype(np.uint8))


def fixed_crop_offsets(img_size: tuple[int, int], crop_size: tuple[int, int],
                       num_crops: int = 5) -> list[tuple[int, int]]:
    """Top-left corners ``(x, y)`` of the fixed crops of TSN's multi-scale cropping.

    5 crops: the four corners and the centre; 13 adds the four edge centres and the centres of
    the four quarters. Sizes are ``(w, h)``.
    """
    w_step = (img_size[0] - crop_size[0]) // 4
    h_step = (img_size[1] - crop_size[1]) // 4
    offsets = [(0, 0), (4 * w_step, 0), (0, 4 * h_step), (4 * w_step, 4 * h_step),
               (2 * w_step, 2 * h_step)]
    if num_crops == 13:
        offsets += [(0, 2 * h_step), (4 * w_step, 2 * h_step), (2 * w_step, 4 * h_step),
                    (2 * w_step, 0), (w_step, h_step), (3 * w_step, h_step),
                    (w_step, 3 * h_step), (3 * w_step, 3 * h_step)]
    elif num_crops != 5:
        raise ValueError(f'num_crops must be 5 or 13, got {num_crops!r}')
    return offsets


def multi_crop(imgs: Frames, offsets: Sequence[tuple[int, int]], crop_size: tuple[int, int],
               with_flips: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """Several ``crop_size=(w, h)`` crops of every frame at ``offsets=[(x, y), ...]``.

    Returns the crops in crop-major order (each crop of all frames, followed by its mirror
    image when ``with_flips``) and one ``(x1, y1, x2, y2)`` box per output frame.
    """
    crop_w, crop_h = crop_size
    crops: list[np.ndarray] = []
    bboxes: list[list[int]] = []
    for x, y in offsets:
        bbox = [x, y, x + crop_w, y + crop_h]
        cropped = list(crop(imgs, bbox))
        crops.extend(cropped)
        if with_flips:
            crops.extend(flip(cropped, 'horizontal'))
        bboxes.extend([bbox] * (len(cropped) * (2 if with_flips else 1)))
    return crops, np.array(bboxes)


def update_crop_quadruple(quadruple: np.ndarray | None, bbox: Sequence[int],
                          img_shape: tuple[int, int]) -> np.ndarray:
    """Compose a crop ``bbox`` of an ``img_shape=(h, w)`` image with an earlier crop.

    ``quadruple`` is ``(x, y, w, h)`` as fractions of the original frame (``None`` means the
    whole frame); returns the crop's quadruple relative to the original frame, ``float32``.
    """
    old = np.array([0, 0, 1, 1], dtype=np.float32) if quadruple is None else quadruple
    img_h, img_w = img_shape
    x1, y1, x2, y2 = bbox
    x_ratio, y_ratio = x1 / img_w, y1 / img_h
    w_ratio, h_ratio = (x2 - x1) / img_w, (y2 - y1) / img_h
    return np.array([old[0] + x_ratio * old[2], old[1] + y_ratio * old[3],
                     w_ratio * old[2], h_ratio * old[3]], dtype=np.float32)


def crop_boxes(boxes: np.ndarray, bbox: Sequence[int]) -> np.ndarray:
    """Move ``(x1, y1, x2, y2)`` boxes into a crop and clip them to it."""
    x1, y1, x2, y2 = bbox
    out = boxes.copy()
    out[..., 0::2] = np.clip(boxes[..., 0::2] - x1, 0, x2 - x1 - 1)
    out[..., 1::2] = np.clip(boxes[..., 1::2] - y1, 0, y2 - y1 - 1)
    return out


def resize_boxes(boxes: np.ndarray, scale_factor: np.ndarray) -> np.ndarray:
    """Scale ``(x1, y1, x2, y2)`` boxes by ``scale_factor=(sx, sy)``."""
    return boxes * np.concatenate([scale_factor, scale_factor])


def flip_boxes(boxes: np.ndarray, img_width: int) -> np.ndarray:
    """Mirror ``(x1, y1, x2, y2)`` boxes left-right in an image ``img_width`` wide."""
    out = boxes.copy()
    out[..., 0::4] = img_width - boxes[..., 2::4]
    out[..., 2::4] = img_width - boxes[..., 0::4]
    return out


def flip_keypoints(keypoint: np.ndarray, keypoint_score: np.ndarray | None, img_width: int,
                   left_kp: Sequence[int] | None, right_kp: Sequence[int] | None
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Mirror ``M x T x V x C`` keypoints left-right, swapping left/right joints.

    Zero x coordinates mark missing joints and stay zero.
    """
    kps = keypoint.copy()
    x = kps[..., 0]
    x[x != 0] = img_width - x[x != 0]
    order = list(range(kps.shape[2]))
    if left_kp is not None and right_kp is not None:
        for left, right in zip(left_kp, right_kp):
            order[left], order[right] = right, left
    kps = kps[:, :, order]
    if keypoint_score is not None:
        keypoint_score = keypoint_score[:, :, order]
    return kps, keypoint_score
