"""Optical flow and RGB frames of one video, written as denseflow writes them.

The file-level step behind ``tools/data/extract_frames.py --task rgb|flow|both`` (MMAction2's
``tools/data/build_rawframes.py``, which calls the ``denseflow`` program). A video of ``N``
frames gives ``img_00001.jpg`` … ``img_{N}.jpg`` and, for the flow between each frame and the
next, ``flow_x_00001.jpg`` … ``flow_x_{N-1}.jpg`` and ``flow_y_…``: one 8-bit grayscale image
per direction, quantised like denseflow, ``round(255 * (clip(v, -bound, bound) + bound) /
(2 * bound))`` with ``bound = 20`` pixels (so no motion is 128, 20 pixels or more to the
right/down is 255).

Two algorithms: ``tvl1`` (TV-L1, what denseflow computes by default and MMAction2's flow
checkpoints were trained on; it needs OpenCV's contrib modules,
``cv2.optflow.DualTVL1OpticalFlow_create``) and ``farneback`` (Farnebäck's polynomial
expansion, in core OpenCV, much faster but less accurate).

Folders are written atomically: into a hidden temporary folder that is renamed once complete.
When the target folder already exists (frames of another task), the new files are moved into
it and the first frame of each kind (``img_00001``, ``flow_x_00001``, ``flow_y_00001``) is moved
last, so its presence means the folder is complete for that task (:func:`rawframes_complete`).
"""
from __future__ import annotations

import enum
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...errors import DecodeError

__all__ = ['TASKS', 'FlowType', 'check_flow_type', 'FlowEstimator', 'quantize_flow',
           'dequantize_flow', 'rawframes_complete', 'extract_rawframes']

TASKS = ('rgb', 'flow', 'both')
_ALIASES = {'farn': 'farneback'}  # MMAction2's name for it
_IMAGE_EXTS = ('.jpg', '.jpeg', '.png')


class FlowType(str, enum.Enum):
    """The optical-flow algorithms (``'farn'`` is accepted for ``farneback``)."""

    TVL1 = 'tvl1'
    FARNEBACK = 'farneback'


def _has_tvl1() -> bool:
    import cv2

    return hasattr(getattr(cv2, 'optflow', None), 'DualTVL1OpticalFlow_create')


def check_flow_type(flow_type: str) -> str:
    """Validate a flow type and check that it can run here.

    Returns:
        str: ``'tvl1'`` or ``'farneback'``.

    Raises:
        ValueError: an unknown name.
        ImportError: ``tvl1`` without OpenCV's contrib modules.
    """
    name = _ALIASES.get(flow_type, flow_type)
    try:
        name = FlowType(name).value
    except ValueError:
        raise ValueError(f'flow_type must be one of {[t.value for t in FlowType]} (or '
                         f"'farn'), got {flow_type!r}") from None
    if name == 'tvl1' and not _has_tvl1():
        raise ImportError(
            "flow_type 'tvl1' needs OpenCV's contrib modules (cv2.optflow), which this OpenCV "
            'lacks. Either use --flow-type farneback (core OpenCV, works as installed), or '
            'replace OpenCV with the contrib build: pip uninstall opencv-python-headless && '
            'pip install opencv-contrib-python-headless')
    return name


class FlowEstimator:
    """Dense optical flow between two grayscale frames.

    Args:
        flow_type (str): ``'tvl1'`` or ``'farneback'`` (see :func:`check_flow_type`).

    Example:
        >>> estimate = FlowEstimator('farneback')
        >>> flow = estimate(prev_gray, next_gray)  # doctest: +SKIP
        >>> flow.shape  # [H, W, 2]: x (right) and y (down) displacement in pixels
    """

    def __init__(self, flow_type: str = 'tvl1') -> None:
        import cv2

        self.flow_type = check_flow_type(flow_type)
        self._tvl1 = (cv2.optflow.DualTVL1OpticalFlow_create() if self.flow_type == 'tvl1'
                      else None)

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """Flow from ``prev`` to ``nxt`` (``[H, W]`` uint8) as ``[H, W, 2]`` float32 pixels."""
        import cv2

        if prev.shape != nxt.shape or prev.ndim != 2:
            raise ValueError(f'FlowEstimator takes two grayscale frames [H, W] of the same '
                             f'shape, got {prev.shape} and {nxt.shape}')
        if self._tvl1 is not None:
            flow = self._tvl1.calc(prev, nxt, None)
        else:  # the parameters of MMAction2's tools/misc/flow_extraction.py
            flow = cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return flow.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(flow_type={self.flow_type!r})'


def quantize_flow(flow: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Map flow in pixels to uint8 as denseflow does: clip to ``[-bound, bound]``, then
    ``round(255 * (v + bound) / (2 * bound))`` (0 pixels -> 128)."""
    if bound <= 0:
        raise ValueError(f'bound must be positive, got {bound!r}')
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.rint(scaled).astype(np.uint8)


def dequantize_flow(image: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Inverse of :func:`quantize_flow` (up to the quantisation step): pixels as float32."""
    if bound <= 0:
        raise ValueError(f'bound must be positive, got {bound!r}')
    return image.astype(np.float32) * (2 * bound / 255.0) - bound


def _first(prefix: str, out_format: str) -> str:
    return f'{prefix}{1:05d}.{out_format}'


def rawframes_complete(frame_dir: str | os.PathLike, task: str = 'rgb', out_format: str = 'jpg',
                       rgb_prefix: str = 'img_', flow_x_prefix: str = 'flow_x_',
                       flow_y_prefix: str = 'flow_y_') -> bool:
    """Whether ``frame_dir`` already holds the complete output of ``task``."""
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    prefixes = ([rgb_prefix] if task in ('rgb', 'both') else []) + (
        [flow_x_prefix, flow_y_prefix] if task in ('flow', 'both') else [])
    return all(Path(frame_dir, _first(p, out_format)).is_file() for p in prefixes)


def _folder_frames(folder: Path, rgb_prefix: str) -> Iterator[np.ndarray]:
    """The RGB frames of a rawframe folder, in file name order."""
    import cv2

    names = sorted(n for n in os.listdir(folder)
                   if n.startswith(rgb_prefix) and n.lower().endswith(_IMAGE_EXTS))
    for name in names:
        image = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if image is None:
            raise DecodeError(f'cannot decode {folder / name}', path=str(folder / name))
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _resized(frame: np.ndarray, new_short: int, new_width: int, new_height: int) -> np.ndarray:
    import cv2

    from .video_io import resize_short_side

    if new_short:
        return resize_short_side(frame, new_short)
    if new_width and new_height and frame.shape[:2] != (new_height, new_width):
        shrink = new_width * new_height < frame.shape[0] * frame.shape[1]
        return cv2.resize(frame, (new_width, new_height),
                          interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return frame


def _publish(temp: Path, target: Path, last: list[str]) -> None:
    """Rename ``temp`` to ``target``, or move its files into an existing ``target`` with the
    names in ``last`` moved after all the others."""
    if not target.exists():
        os.replace(temp, target)
        return
    names = sorted(os.listdir(temp), key=lambda name: (name in last, name))
    for name in names:
        os.replace(temp / name, target / name)
    temp.rmdir()


def extract_rawframes(source: str | os.PathLike, frame_dir: str | os.PathLike,
                      task: str = 'rgb', flow_type: str = 'tvl1', bound: float = 20.0,
                      new_short: int = 0, new_width: int = 0, new_height: int = 0,
                      out_format: str = 'jpg', rgb_prefix: str = 'img_',
                      flow_x_prefix: str = 'flow_x_', flow_y_prefix: str = 'flow_y_',
                      input_frames: bool = False, jpeg_quality: int = 95) -> dict[str, int]:
    """Decode a video (or read a folder of RGB frames) into RGB and/or optical-flow frames.

    Args:
        source: a video file, or with ``input_frames=True`` a folder of RGB frames.
        frame_dir: the output folder (created; other files already in it are kept).
        task: ``'rgb'``, ``'flow'`` or ``'both'``.
        flow_type: ``'tvl1'`` or ``'farneback'``.
        bound: flow magnitude (pixels) mapped to 0 and 255.
        new_short: resize so the shorter side has this many pixels (0: keep); flow is
            computed on the resized frames, as denseflow does.
        new_width, new_height: resize to exactly this size (both > 0; ``new_short`` wins).
        out_format: ``'jpg'`` or ``'png'``.
        rgb_prefix, flow_x_prefix, flow_y_prefix: file name prefixes (``img_00001.jpg`` …).
        input_frames: ``source`` is a folder of ``rgb_prefix`` frames (only ``task='flow'``).
        jpeg_quality: JPEG quality (0-100).

    Returns:
        dict: ``rgb`` and ``flow``, the number of frames of each kind written.

    Raises:
        DecodeError: the video cannot be read, has no frames, or (for flow) a single frame;
            nothing is left on disk.
    """
    import cv2

    from ...utils.atomic import temp_path
    from .video_io import iter_video_frames

    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    if out_format not in ('jpg', 'png'):
        raise ValueError(f"out_format must be 'jpg' or 'png', got {out_format!r}")
    if min(new_short, new_width, new_height) < 0 or (bool(new_width) != bool(new_height)):
        raise ValueError(f'new_short, new_width, new_height must be >= 0, and new_width and '
                         f'new_height given together; got {new_short}, {new_width}, {new_height}')
    if input_frames and task != 'flow':
        raise ValueError(f"input_frames=True computes flow from existing frames: task must be "
                         f"'flow', got {task!r}")
    with_rgb, with_flow = task in ('rgb', 'both'), task in ('flow', 'both')
    estimate = FlowEstimator(flow_type) if with_flow else None
    frames = (_folder_frames(Path(source), rgb_prefix) if input_frames
              else (frame for frame, _ in iter_video_frames(source)))
    target = Path(frame_dir)
    temp = temp_path(target, directory=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if out_format == 'jpg' else []

    def write(prefix: str, index: int, image: np.ndarray) -> None:
        name = temp / f'{prefix}{index:05d}.{out_format}'
        if not cv2.imwrite(str(name), image, params):
            raise OSError(f'cannot write {name}')

    counts = dict(rgb=0, flow=0)
    previous = None
    try:
        for index, frame in enumerate(frames, start=1):
            frame = _resized(frame, new_short, new_width, new_height)
            if with_rgb:
                write(rgb_prefix, index, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                counts['rgb'] += 1
            if estimate is not None:
                gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
                if previous is not None:
                    flow = estimate(previous, gray)
                    write(flow_x_prefix, index - 1, quantize_flow(flow[..., 0], bound))
                    write(flow_y_prefix, index - 1, quantize_flow(flow[..., 1], bound))
                    counts['flow'] += 1
                previous = gray
        read = max(counts['rgb'], counts['flow'] + 1 if previous is not None else 0)
        if read == 0:
            raise DecodeError(f'{source} contains no decodable frame', path=str(source))
        if with_flow and counts['flow'] == 0:
            raise DecodeError(f'{source} has a single frame: no optical flow', path=str(source))
        _publish(temp, target, [_first(p, out_format)
                                for p in (rgb_prefix, flow_y_prefix, flow_x_prefix)])
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return counts
