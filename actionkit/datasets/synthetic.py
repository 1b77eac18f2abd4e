"""A synthetic action-recognition dataset whose classes come in time-reversed pairs.

Each clip shows one object (a square, disc, bar, diamond or triangle) over a random background;
the bar carries a knob at one end, so that no rotation short of a full turn maps it onto itself
(a plain bar turned 162 degrees clockwise looks like one turned 18 degrees anticlockwise).
The ten classes form five pairs: moving right / left, moving down / up, rotating clockwise /
anticlockwise, growing / shrinking, appearing / vanishing. The second class of a pair is
*defined* as the first one played backwards: a clip of "square moving left" is rendered exactly
like one of "square moving right" (same random draws) and then reversed in time. So the two
classes of a pair have the same distribution of single frames and of the frame average; only
the order of the frames tells them apart. A model that averages per-frame features (TSN) can
find the pair but not the class within it, while one that models time (TSM, I3D) can.

Backgrounds (smooth gradients or textured noise), object size, colour, stripes, position,
speed and pixel noise are random per clip; how wide their ranges are is set by a difficulty
preset (``'easy'``, ``'default'``, ``'hard'``) or by explicit knobs.

:func:`make_synthetic_dataset` writes the clips in both MMAction2 layouts (H.264 videos and JPEG
rawframe folders) with annotation lists and a label map; :func:`make_synthetic_video` writes any
``[T, H, W, 3]`` array to an mp4 file.

Example:
    >>> paths = make_synthetic_dataset('data/synthetic', num_train=200,
    ...                                num_val=50)  # doctest: +SKIP
    >>> paths['train_list_videos']  # doctest: +SKIP
    'data/synthetic/train_list_videos.txt'
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from ..utils.checks import check_positive_int

__all__ = ['SYNTHETIC_CLASSES', 'SYNTHETIC_TWINS', 'SyntheticDifficulty', 'DIFFICULTIES',
           'render_synthetic_clip', 'make_synthetic_dataset', 'make_synthetic_video',
           'synthetic_params', 'synthetic_dataset_status']

logger = logging.getLogger(__name__)

# (shape, motion, (class shown by the rendered clip, class shown by the same clip reversed))
_PAIRS = (
    ('square', 'translate_x', ('square moving right', 'square moving left')),
    ('disc', 'translate_y', ('disc moving down', 'disc moving up')),
    ('bar', 'rotate', ('bar rotating clockwise', 'bar rotating anticlockwise')),
    ('diamond', 'scale', ('diamond growing', 'diamond shrinking')),
    ('triangle', 'fade', ('triangle appearing', 'triangle vanishing')),
)
#: Human-readable class names; the label of a class is its index.
SYNTHETIC_CLASSES: tuple[str, ...] = tuple(name for *_, names in _PAIRS for name in names)
#: ``(label, label of its time-reversed twin)`` for each pair.
SYNTHETIC_TWINS: tuple[tuple[int, int], ...] = tuple((2 * i, 2 * i + 1) for i in range(len(_PAIRS)))

# radius of the knob at the bar's +u end, in units of the bar's half-length
_KNOB = 0.45
# how far the object's outline reaches from its centre, in units of its size parameter
_EXTENT = {'square': math.sqrt(2), 'disc': 1.0, 'bar': 1.0 + _KNOB, 'diamond': 1.0,
           'triangle': 1.0}
# pixel noise: a random byte indexes 256 equally likely quantiles of the standard normal,
# several times cheaper than drawing normal floats and indistinguishable after rounding
_GAUSSIAN_LEVELS = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)],
                            dtype=np.float32)
# x264 settings of the dataset's videos: 'ultrafast' encodes ~3x faster than 'veryfast' and
# gives CAVLC streams without B-frames, which also decode faster; the files are ~5x larger
_VIDEO_PRESET = 'ultrafast'
_VIDEO_CRF = 20
_MANIFEST = 'manifest.json'
_FORMAT = 'actionkit-synthetic'
# 2: larger rotations (the demo's TSM told the bar's two directions apart poorly)
# 3: a knob on the bar (a plain bar is half-turn symmetric: large turns looked reversed)
_VERSION = 3
_LAYOUTS = ('videos', 'rawframes')
_SPLITS = ('train', 'val')


@dataclass(frozen=True)
class SyntheticDifficulty:
    """The knobs that make the synthetic clips easier or harder to classify.

    Args:
        noise_std: standard deviation of the i.i.d. Gaussian pixel noise (0-255 scale).
        texture_prob: probability that a background is textured noise rather than a smooth
            colour gradient.
        object_size: range of the object's size (half-width) as a fraction of the frame size.
        speed: range of how much motion a clip holds: the distance travelled as a fraction of the
            frame size; rotations turn by ``90 + speed * 180`` degrees (at most 162), growth is
            by a factor ``1 + 4 * speed``, fades last ``1 - speed`` of the clip (at least a
            fifth).
        contrast: range of the distance between the object's colour and the mean background
            colour (0-255 scale, Euclidean in RGB).
        stripe_prob: probability that the object is striped rather than plain.
    """

    noise_std: float = 6.0
    texture_prob: float = 0.5
    object_size: tuple[float, float] = (0.12, 0.2)
    speed: tuple[float, float] = (0.3, 0.55)
    contrast: tuple[float, float] = (80.0, 160.0)
    stripe_prob: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.noise_std <= 128:
            raise ValueError(f'noise_std must be in [0, 128], got {self.noise_std!r}')
        for name in ('texture_prob', 'stripe_prob'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'{name} must be a probability in [0, 1], got '
                                 f'{getattr(self, name)!r}')
        for name, high in (('object_size', 0.3), ('speed', 0.8), ('contrast', 255.0)):
            value = getattr(self, name)
            if (not isinstance(value, (tuple, list)) or len(value) != 2
                    or not 0 < value[0] <= value[1] <= high):
                raise ValueError(f'{name} must be a (low, high) pair with '
                                 f'0 < low <= high <= {high}, got {value!r}')
            object.__setattr__(self, name, (float(value[0]), float(value[1])))


#: The difficulty presets.
DIFFICULTIES: dict[str, SyntheticDifficulty] = {
    'easy': SyntheticDifficulty(noise_std=3.0, texture_prob=0.0, object_size=(0.12, 0.2),
                                speed=(0.45, 0.6), contrast=(110.0, 170.0), stripe_prob=0.3),
    'default': SyntheticDifficulty(),
    'hard': SyntheticDifficulty(noise_std=16.0, texture_prob=1.0, object_size=(0.08, 0.14),
                                speed=(0.15, 0.4), contrast=(50.0, 110.0), stripe_prob=0.5),
}


def _resolve_difficulty(difficulty: str | SyntheticDifficulty) -> SyntheticDifficulty:
    if isinstance(difficulty, SyntheticDifficulty):
        return difficulty
    if difficulty not in DIFFICULTIES:
        raise ValueError(f'difficulty must be one of {sorted(DIFFICULTIES)} or a '
                         f'SyntheticDifficulty, got {difficulty!r}')
    return DIFFICULTIES[difficulty]


# ----------------------------------------------------------------------------- rendering


def _background(rng: np.random.Generator, size: int, knobs: SyntheticDifficulty) -> np.ndarray:
    """A static ``[S, S, 3]`` float32 background: a colour gradient or coloured noise texture."""
    import cv2

    textured = rng.random() < knobs.texture_prob
    low, high = rng.uniform(20, 235, size=(2, 3)).astype(np.float32)
    if not textured:
        angle = rng.uniform(0, 2 * np.pi)
        axis = np.linspace(-0.5, 0.5, size, dtype=np.float32)
        ramp = np.cos(angle) * axis[None, :] + np.sin(angle) * axis[:, None] + 0.5
        return low + (high - low) * np.clip(ramp, 0, 1)[..., None]
    coarse = rng.integers(3, 9)
    blobs = cv2.resize(rng.random((coarse, coarse, 3), dtype=np.float32), (size, size),
                       interpolation=cv2.INTER_CUBIC)
    fine_size = max(2, size // int(rng.integers(1, 4)))
    grain = cv2.resize(rng.random((fine_size, fine_size), dtype=np.float32), (size, size),
                       interpolation=cv2.INTER_NEAREST)
    mix = np.clip(0.75 * blobs + 0.25 * grain[..., None], 0, 1)
    return low + (high - low) * mix


def _object_colour(rng: np.random.Generator, background: np.ndarray,
                   knobs: SyntheticDifficulty) -> np.ndarray:
    mean = background.reshape(-1, 3).mean(0)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction) + 1e-6
    distance = rng.uniform(*knobs.contrast)
    candidates = [np.clip(mean + sign * distance * direction, 0, 255) for sign in (1, -1)]
    best = max(candidates, key=lambda c: float(np.linalg.norm(c - mean)))
    return best.astype(np.float32)


def _trajectory(rng: np.random.Generator, motion: str, shape: str, t: np.ndarray, size: int,
                knobs: SyntheticDifficulty) -> dict[str, np.ndarray]:
    """Per-frame centre, size, angle and opacity of the object for the forward class."""
    ones = np.ones_like(t)
    radius = rng.uniform(*knobs.object_size) * size
    speed = rng.uniform(*knobs.speed)
    reach = radius * _EXTENT[shape] + 1.0
    if motion.startswith('translate'):  # may leave the frame by up to half its size
        reach = 0.5 * radius
    angle = rng.uniform(0, np.pi)
    opacity, scale = ones, ones

    room = max(size - 2 * reach, 0.0)  # where the centre may go

    def start_and_span(span: float) -> tuple[float, float]:
        span = min(span, room)
        return reach + rng.random() * (room - span), span

    cx, cy = reach + rng.random(2) * room
    if motion == 'translate_x':
        x0, span = start_and_span(speed * size)
        cx = x0 + span * t
    elif motion == 'translate_y':
        y0, span = start_and_span(speed * size)
        cy = y0 + span * t
    elif motion == 'rotate':
        angle = angle + min((0.5 + speed) * np.pi, 0.9 * np.pi) * t
    elif motion == 'scale':
        growth = 1 + 4 * speed
        scale = growth ** (t - 1.0)  # ends at the full size, starts 1/growth of it
    elif motion == 'fade':
        duration = max(1.0 - speed, 0.2)
        begin = rng.uniform(0, 1 - duration)
        opacity = np.clip((t - begin) / duration, 0, 1)
    else:  # pragma: no cover - _PAIRS only names the motions above
        raise AssertionError(f'unknown motion {motion!r}')
    return dict(cx=cx * ones, cy=cy * ones, radius=radius * scale, angle=angle * ones,
                opacity=opacity)


def _signed_distance(shape: str, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Approximate signed distance (pixels, negative inside) to the outline of ``shape``."""
    if shape == 'square':
        return np.maximum(np.abs(u), np.abs(v)) - r
    if shape == 'disc':
        return np.sqrt(u * u + v * v) - r
    if shape == 'bar':  # with a knob at its +u end
        bar = np.maximum(np.abs(u) - r, np.abs(v) - 0.3 * r)
        return np.minimum(bar, np.sqrt((u - r) ** 2 + v * v) - _KNOB * r)
    if shape == 'diamond':
        return (np.abs(u) + np.abs(v) - r) * np.float32(math.sqrt(0.5))
    if shape == 'triangle':  # equilateral, pointing up, inscribed circle of radius r / 2
        s3 = np.float32(math.sqrt(3) / 2)
        return np.maximum(np.maximum(-v, s3 * u + 0.5 * v), -s3 * u + 0.5 * v) - 0.5 * r
    raise AssertionError(f'unknown shape {shape!r}')  # pragma: no cover


def _render_forward(rng: np.random.Generator, pair: int, num_frames: int, size: int,
                    knobs: SyntheticDifficulty) -> tuple[np.ndarray, np.ndarray]:
    """Render the first class of ``pair``: ``([T, S, S, 3] uint8 clip, [T, S, S] alpha)``."""
    shape, motion, _ = _PAIRS[pair]
    background = _background(rng, size, knobs)
    colour = _object_colour(rng, background, knobs)
    t = np.linspace(0, 1, num_frames, dtype=np.float32)
    track = {k: v.astype(np.float32) for k, v in
             _trajectory(rng, motion, shape, t, size, knobs).items()}
    striped = rng.random() < knobs.stripe_prob
    period = rng.uniform(3, 6) * max(size / 64, 0.5)
    phase = rng.uniform(0, 2 * np.pi)
    noise = np.frombuffer(rng.bytes(num_frames * size * size * 3), dtype=np.uint8)

    grid = np.arange(size, dtype=np.float32) + 0.5
    dx = grid[None, None, :] - track['cx'][:, None, None]  # [T, 1, S]
    dy = grid[None, :, None] - track['cy'][:, None, None]  # [T, S, 1]
    cos, sin = np.cos(track['angle'])[:, None, None], np.sin(track['angle'])[:, None, None]
    u, v = dx * cos + dy * sin, dy * cos - dx * sin  # [T, S, S] in the object's frame
    radius = track['radius'][:, None, None]
    alpha = np.clip(0.5 - _signed_distance(shape, u, v, radius), 0, 1)
    alpha *= track['opacity'][:, None, None]  # [T, S, S]
    paint = alpha  # how much of the object's colour each pixel gets
    if striped:
        dark = np.sin(u * np.float32(2 * np.pi / period) + np.float32(phase)) < 0
        paint = alpha * np.where(dark, np.float32(0.7), np.float32(1.0))
    frames = (1 - alpha)[..., None] * background  # [T, S, S, 3]
    frames += paint[..., None] * colour
    frames += (knobs.noise_std * _GAUSSIAN_LEVELS + 0.5)[noise].reshape(frames.shape)
    return np.clip(frames, 0, 255, out=frames).astype(np.uint8), alpha


def render_synthetic_clip(label: int, rng: np.random.Generator | int, num_frames: int = 32,
                          size: int = 64, difficulty: str | SyntheticDifficulty = 'default',
                          return_alpha: bool = False
                          ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Render one clip of class ``label`` in memory.

    The same random state gives the two classes of a pair the same clip, in opposite orders:
    ``render_synthetic_clip(1, 7)`` equals ``render_synthetic_clip(0, 7)[::-1]``.

    Args:
        label: class index into :data:`SYNTHETIC_CLASSES`.
        rng: a numpy ``Generator`` or an int seed.
        num_frames: clip length T (>= 2).
        size: frame height and width S (>= 8).
        difficulty: a preset name or a :class:`SyntheticDifficulty`.
        return_alpha: also return the object's per-frame coverage, ``[T, S, S]`` float32 in
            [0, 1] (for checking the motion).

    Returns:
        np.ndarray: ``[T, S, S, 3]`` uint8 RGB frames (and the alpha maps if asked).
    """
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) \
            or not 0 <= label < len(SYNTHETIC_CLASSES):
        raise ValueError(f'label must be an int in [0, {len(SYNTHETIC_CLASSES)}), got {label!r}')
    check_positive_int(None, 'num_frames', num_frames, minimum=2)
    check_positive_int(None, 'size', size, minimum=8)
    knobs = _resolve_difficulty(difficulty)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    pair, reverse = divmod(int(label), 2)
    frames, alpha = _render_forward(generator, pair, num_frames, size, knobs)
    if reverse:
        frames, alpha = frames[::-1].copy(), alpha[::-1].copy()
    return (frames, alpha) if return_alpha else frames


def make_synthetic_video(path: str | os.PathLike, frames: np.ndarray,
                         fps: float | Fraction = 30, gop: int = 12, crf: int = 18) -> str:
    """Write a ``[T, H, W, 3]`` uint8 RGB array to an H.264 mp4 (yuv420p) with PyAV.

    Args:
        path: the output file; its folder is created.
        frames: the clip; H and W must be even. T may be 1.
        fps: frame rate.
        gop: key frame interval (e.g. 12 for cheap seeking, 250 for the x264 default).
        crf: x264 quality (0 lossless … 51 worst).

    Returns:
        str: ``path``.
    """
    from .prep.video_io import write_video

    write_video(path, frames, fps=fps, gop=gop, crf=crf)
    return str(path)


# ----------------------------------------------------------------------------- the dataset


def synthetic_params(num_train: int = 2500, num_val: int = 500, num_frames: int = 32,
                     size: int = 64, difficulty: str | SyntheticDifficulty = 'default',
                     seed: int = 0, layouts: Sequence[str] = _LAYOUTS,
                     noise_std: float | None = None, texture_prob: float | None = None,
                     object_size: tuple[float, float] | None = None,
                     speed: tuple[float, float] | None = None,
                     contrast: tuple[float, float] | None = None, fps: int = 30,
                     gop: int = 8) -> dict[str, Any]:
    """Validate the arguments of :func:`make_synthetic_dataset` and return them as the
    JSON-serialisable dict stored in its ``manifest.json`` (knobs resolved)."""
    check_positive_int(None, 'num_train', num_train)
    check_positive_int(None, 'num_val', num_val, minimum=0)
    check_positive_int(None, 'num_frames', num_frames, minimum=2)
    check_positive_int(None, 'size', size, minimum=8)
    check_positive_int(None, 'fps', fps)
    check_positive_int(None, 'gop', gop)
    check_positive_int(None, 'seed', seed, minimum=0)
    if size % 2:
        raise ValueError(f'size must be even (H.264 yuv420p video), got {size}')
    if isinstance(layouts, str) or not layouts or any(x not in _LAYOUTS for x in layouts):
        raise ValueError(f'layouts must be a non-empty list drawn from {_LAYOUTS}, got {layouts!r}')
    knobs = _resolve_difficulty(difficulty)
    overrides = dict(noise_std=noise_std, texture_prob=texture_prob, object_size=object_size,
                     speed=speed, contrast=contrast)
    knobs = dataclasses.replace(knobs, **{k: v for k, v in overrides.items() if v is not None})
    name = difficulty if isinstance(difficulty, str) else 'custom'
    params = dict(num_train=int(num_train), num_val=int(num_val), num_frames=int(num_frames),
                  size=int(size), seed=int(seed), layouts=[x for x in _LAYOUTS if x in layouts],
                  fps=int(fps), gop=int(gop), crf=_VIDEO_CRF, preset=_VIDEO_PRESET,
                  difficulty=name, knobs=dataclasses.asdict(knobs))
    return json.loads(json.dumps(params))  # tuples become lists, as in the manifest


def _paths(root: Path, layouts: Sequence[str]) -> dict[str, str]:
    paths = dict(root=root, label_map=root / 'label_map.txt', manifest=root / _MANIFEST)
    for layout in layouts:
        paths[f'{layout}_root'] = root / layout
        for split in _SPLITS:
            paths[f'{split}_list_{layout}'] = root / f'{split}_list_{layout}.txt'
    return {key: str(value) for key, value in paths.items()}


def _read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((root / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get('format') == _FORMAT else None


def synthetic_dataset_status(out_dir: str | os.PathLike, params: dict[str, Any]) -> str:
    """How ``out_dir`` relates to a dataset with ``params`` (from :func:`synthetic_params`).

    Returns:
        str: ``'complete'`` (generated with these parameters and finished), ``'different'`` (a
        synthetic dataset with other parameters), ``'incomplete'`` (an interrupted generation),
        ``'foreign'`` (a non-empty folder that is not a synthetic dataset) or ``'missing'``
        (absent or empty).
    """
    root = Path(out_dir)
    if not root.is_dir() or not any(root.iterdir()):
        return 'missing'
    manifest = _read_manifest(root)
    if manifest is None:
        return 'foreign'
    if not manifest.get('complete'):
        return 'incomplete'
    if manifest.get('params') != params or manifest.get('version') != _VERSION:
        return 'different'
    files = _paths(root, params['layouts'])
    missing = [p for k, p in files.items() if k != 'root' and not os.path.exists(p)]
    return 'incomplete' if missing else 'complete'


def _write_manifest(root: Path, params: dict[str, Any], complete: bool) -> None:
    manifest = dict(format=_FORMAT, version=_VERSION, complete=complete, params=params,
                    classes=list(SYNTHETIC_CLASSES), twins=[list(p) for p in SYNTHETIC_TWINS])
    temp = root / f'.{_MANIFEST}.tmp'
    temp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + '\n')
    os.replace(temp, root / _MANIFEST)


def _class_dir(label: int) -> str:
    return SYNTHETIC_CLASSES[label].replace(' ', '_')


def _split_jobs(params: dict[str, Any], split_code: int, split: str,
                count: int) -> list[tuple[Any, ...]]:
    """``(seed key, label, clip id)`` for every clip of a split, classes balanced."""
    num_classes = len(SYNTHETIC_CLASSES)
    order = np.random.default_rng([params['seed'], split_code, 1 << 20])
    labels = order.permutation(np.arange(count) % num_classes)
    return [((params['seed'], split_code, index), int(label), f'{split}_{index:05d}')
            for index, label in enumerate(labels)]


def _write_clips(root: str, params: dict[str, Any], jobs: list[tuple[Any, ...]]) -> int:
    """Render and write a chunk of clips (runs in a worker process)."""
    import cv2

    from .prep.video_io import write_video

    knobs = SyntheticDifficulty(**params['knobs'])
    for key, label, clip_id in jobs:
        clip = render_synthetic_clip(label, np.random.default_rng(list(key)),
                                     params['num_frames'], params['size'], knobs)
        if 'videos' in params['layouts']:
            path = Path(root, 'videos', _class_dir(label), f'{clip_id}.mp4')
            write_video(path, clip, fps=params['fps'], gop=params['gop'], crf=params['crf'],
                        preset=params['preset'])
        if 'rawframes' in params['layouts']:
            frame_dir = Path(root, 'rawframes', clip_id)
            frame_dir.mkdir(parents=True, exist_ok=True)
            for index, frame in enumerate(clip, start=1):
                cv2.imwrite(str(frame_dir / f'img_{index:05d}.jpg'),
                            cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
    return len(jobs)


def _init_worker() -> None:
    """One thread per worker process: the pool already uses every core."""
    import cv2

    cv2.setNumThreads(1)


def _run_jobs(root: Path, params: dict[str, Any], jobs: list[tuple[Any, ...]],
              workers: int) -> None:
    chunk = 16
    chunks = [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]
    if workers <= 1 or len(chunks) <= 1:
        for part in chunks:
            _write_clips(str(root), params, part)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)),
                             initializer=_init_worker) as pool:
        futures = [pool.submit(_write_clips, str(root), params, part) for part in chunks]
        done = 0
        for future in futures:
            done += future.result()
            if done % 500 < chunk:
                logger.info('synthetic dataset: %d / %d clips written', done, len(jobs))


def _remove_generated(root: Path) -> None:
    """Remove what a previous generation wrote (and nothing else in ``out_dir``)."""
    for name in _LAYOUTS:
        shutil.rmtree(root / name, ignore_errors=True)
    for path in _paths(root, _LAYOUTS).values():
        if Path(path) != root and Path(path).is_file():
            Path(path).unlink()


def make_synthetic_dataset(out_dir: str | os.PathLike, num_train: int = 2500, num_val: int = 500,
                           num_frames: int = 32, size: int = 64,
                           difficulty: str | SyntheticDifficulty = 'default', seed: int = 0,
                           layouts: Sequence[str] = _LAYOUTS, workers: int | None = None,
                           noise_std: float | None = None, texture_prob: float | None = None,
                           object_size: tuple[float, float] | None = None,
                           speed: tuple[float, float] | None = None,
                           contrast: tuple[float, float] | None = None, fps: int = 30,
                           gop: int = 8, overwrite: bool = False) -> dict[str, str]:
    """Generate the synthetic dataset on disk, in MMAction2's layouts.

    Writes under ``out_dir``: ``videos/<class_name>/<id>.mp4`` (H.264, yuv420p, key frame every
    ``gop`` frames), ``rawframes/<id>/img_00001.jpg`` …, the lists ``{split}_list_videos.txt``
    (``<class_name>/<id>.mp4 label``, relative to ``videos/``) and ``{split}_list_rawframes.txt``
    (``<id> total_frames label``, relative to ``rawframes/``) for ``split`` in train/val,
    ``label_map.txt`` (one class name per line, in label order) and ``manifest.json`` (the
    parameters). Classes are balanced (counts differ by at most one). The same arguments give
    byte-identical lists and identical frames whatever ``workers`` is.

    If ``out_dir`` already holds a complete dataset made with the same parameters, nothing is
    written. A dataset made with other parameters, or a non-empty folder that is not one, is
    only replaced when ``overwrite`` is true.

    Args:
        out_dir: output folder.
        num_train, num_val: number of clips per split.
        num_frames: frames per clip.
        size: frame height and width in pixels (even).
        difficulty: ``'easy'``, ``'default'``, ``'hard'`` or a :class:`SyntheticDifficulty`;
            ``noise_std``, ``texture_prob``, ``object_size``, ``speed`` and ``contrast`` override
            single knobs of it (see :class:`SyntheticDifficulty`).
        seed: random seed.
        layouts: which of ``'videos'`` and ``'rawframes'`` to write.
        workers: processes for rendering and encoding (default: the CPU count; 0 or 1 runs in
            this process).
        fps, gop: frame rate and key frame interval of the videos.
        overwrite: replace an existing dataset made with other parameters.

    Returns:
        dict: paths as strings: ``root``, ``label_map``, ``manifest`` and, per layout,
        ``{layout}_root``, ``train_list_{layout}``, ``val_list_{layout}``.
    """
    params = synthetic_params(num_train, num_val, num_frames, size, difficulty, seed, layouts,
                              noise_std, texture_prob, object_size, speed, contrast, fps, gop)
    root = Path(out_dir)
    paths = _paths(root, params['layouts'])
    status = synthetic_dataset_status(root, params)
    if status == 'complete':
        logger.info('synthetic dataset in %s is complete with these parameters; reusing it', root)
        return paths
    if status in ('different', 'foreign') and not overwrite:
        what = ('a synthetic dataset made with other parameters' if status == 'different'
                else 'files that are not a synthetic dataset')
        raise FileExistsError(f'{root} already holds {what}; choose another folder or pass '
                              f'overwrite=True (--overwrite) to replace it')
    if status != 'missing':
        _remove_generated(root)
    root.mkdir(parents=True, exist_ok=True)
    _write_manifest(root, params, complete=False)

    jobs = {split: _split_jobs(params, code, split, params[f'num_{split}'])
            for code, split in enumerate(_SPLITS)}
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    all_jobs = jobs['train'] + jobs['val']
    logger.info('writing %d synthetic clips (%s) to %s with %d worker(s)', len(all_jobs),
                '+'.join(params['layouts']), root, workers)
    _run_jobs(root, params, all_jobs, workers)

    (root / 'label_map.txt').write_text(''.join(f'{name}\n' for name in SYNTHETIC_CLASSES))
    for split, split_jobs in jobs.items():
        if 'videos' in params['layouts']:
            lines = [f'{_class_dir(label)}/{clip_id}.mp4 {label}\n'
                     for _, label, clip_id in split_jobs]
            Path(paths[f'{split}_list_videos']).write_text(''.join(lines))
        if 'rawframes' in params['layouts']:
            lines = [f'{clip_id} {params["num_frames"]} {label}\n'
                     for _, label, clip_id in split_jobs]
            Path(paths[f'{split}_list_rawframes']).write_text(''.join(lines))
    _write_manifest(root, params, complete=True)
    return paths
