"""Showing results: labels drawn on frames, annotated videos and GIFs, and analysis plots.

Frames are ``uint8`` RGB arrays ``[H, W, 3]``, as everywhere in actionkit. Text is drawn with
OpenCV on a translucent dark box, so it stays readable on any picture. :class:`VideoOutput` writes
frames one at a time: ``.mp4`` (and ``.mkv``/``.avi``/``.mov``) as H.264 through PyAV, ``.gif``
through Pillow. The plots (training curves, confusion matrices) use matplotlib, imported only
when a plot is made; without it the error says ``pip install 'actionkit[plot]'``. Plots saved to
a file never touch pyplot's global state or the display.

Example:
    >>> lines = format_predictions([(3, 0.91), (7, 0.05)], ['run', 'jump', 'sit', 'swim',
    ...                             'walk', 'clap', 'wave', 'hop'])
    >>> lines
    ['swim: 0.910', 'hop: 0.050']
    >>> with VideoOutput('out.mp4', fps=30) as out:  # doctest: +SKIP
    ...     for frame in frames:
    ...         out.write(draw_text_lines(frame, lines))
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np

__all__ = ['COLORS', 'parse_color', 'format_predictions', 'draw_text_lines', 'output_size',
           'resize_frame', 'VideoOutput', 'VIDEO_SUFFIXES', 'require_matplotlib', 'plot_style',
           'plot_curves', 'plot_confusion_matrix']

logger = logging.getLogger(__name__)

#: Colour names accepted by :func:`parse_color`, as RGB.
COLORS: dict[str, tuple[int, int, int]] = {
    'white': (255, 255, 255), 'black': (0, 0, 0), 'red': (255, 0, 0), 'green': (0, 255, 0),
    'blue': (0, 0, 255), 'yellow': (255, 255, 0), 'cyan': (0, 255, 255),
    'magenta': (255, 0, 255), 'orange': (255, 165, 0), 'purple': (128, 0, 128),
    'gray': (128, 128, 128), 'grey': (128, 128, 128), 'lightgray': (211, 211, 211),
    'darkgray': (64, 64, 64),
}
#: File suffixes :class:`VideoOutput` writes with PyAV (``.gif`` goes through Pillow).
VIDEO_SUFFIXES = ('.mp4', '.mkv', '.avi', '.mov')
_FONT = cv2.FONT_HERSHEY_DUPLEX
_GIF_WARN_FRAMES = 1000
_PLOT_HINT = "pip install 'actionkit[plot]'"
_SEABORN_STYLES = ('dark', 'darkgrid', 'white', 'whitegrid', 'ticks')


def parse_color(color: str | Sequence[int]) -> tuple[int, int, int]:
    """An RGB triple from a name (``'white'``), ``'#rrggbb'``, ``'r,g,b'`` or a sequence.

    Raises:
        ValueError: naming the value received and the forms accepted.
    """
    expected = (f"a colour name ({', '.join(sorted(COLORS))}), '#rrggbb', 'r,g,b' or three "
                'ints in [0, 255]')
    if isinstance(color, str):
        text = color.strip().lower()
        if text in COLORS:
            return COLORS[text]
        if text.startswith('#') and len(text) == 7:
            try:
                return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore
            except ValueError:
                pass
        parts = text.split(',')
        if len(parts) != 3:
            raise ValueError(f'unknown colour {color!r}; expected {expected}')
        color = parts  # type: ignore[assignment]
    try:
        values = tuple(int(v) for v in color)
    except (TypeError, ValueError):
        raise ValueError(f'unknown colour {color!r}; expected {expected}') from None
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise ValueError(f'unknown colour {color!r}; expected {expected}')
    return values  # type: ignore[return-value]


def format_predictions(predictions: Sequence[tuple[Any, float]],
                       label_names: Sequence[str] | None = None, precision: int = 3) -> list[str]:
    """``[(class index or name, score), ...]`` -> ``['name: 0.912', ...]``.

    Args:
        predictions: pairs as returned by ``inference_recognizer``.
        label_names: class names indexed by class; ``None`` shows the indices.
        precision: decimals of the scores.
    """
    lines = []
    for label, score in predictions:
        if label_names is not None and isinstance(label, (int, np.integer)):
            if not 0 <= int(label) < len(label_names):
                raise ValueError(f'class index {label} is outside the label map '
                                 f'({len(label_names)} names)')
            label = label_names[int(label)]
        lines.append(f'{label}: {float(score):.{precision}f}')
    return lines


def draw_text_lines(frame: np.ndarray, lines: Sequence[str], font_scale: float = 0.5,
                    color: str | Sequence[int] = 'white', origin: tuple[int, int] | None = None,
                    thickness: int = 1, background: str | Sequence[int] | None = 'black',
                    background_alpha: float = 0.5, inplace: bool = False) -> np.ndarray:
    """Draw ``lines`` of text, one under the other, on an RGB frame.

    Args:
        frame: ``[H, W, 3]`` uint8 RGB image.
        lines: the text lines (ASCII; OpenCV's fonts have no other glyphs).
        font_scale: OpenCV font scale (0.5 is about 11 px high).
        color: text colour (see :func:`parse_color`).
        origin: ``(x, y)`` of the first line's baseline; default: the top-left corner with a
            margin of half a line.
        thickness: stroke width in pixels.
        background: colour of a translucent box behind the text, so it reads on any
            picture; ``None`` for none.
        background_alpha: opacity of that box (0-1).
        inplace: draw on ``frame`` itself instead of a copy.

    Returns:
        np.ndarray: the frame with the text.
    """
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or \
            frame.dtype != np.uint8:
        got = f'{frame.dtype} {frame.shape}' if isinstance(frame, np.ndarray) else type(frame)
        raise ValueError(f'frame must be a uint8 [H, W, 3] RGB array, got {got}')
    if not isinstance(font_scale, (int, float)) or font_scale <= 0:
        raise ValueError(f'font_scale must be a positive number, got {font_scale!r}')
    if not 0 <= background_alpha <= 1:
        raise ValueError(f'background_alpha must be in [0, 1], got {background_alpha!r}')
    rgb = parse_color(color)
    out = frame if inplace else frame.copy()
    if not lines:
        return out
    (_, text_h), baseline = cv2.getTextSize('Ag', _FONT, font_scale, thickness)
    step = text_h + baseline + max(2, int(4 * font_scale))
    pad = max(2, step // 4)
    x, y = origin if origin is not None else (pad + 2, pad + text_h + 2)
    if background is not None and background_alpha > 0:
        width = max(cv2.getTextSize(line, _FONT, font_scale, thickness)[0][0] for line in lines)
        top, left = max(0, y - text_h - pad), max(0, x - pad)
        bottom = min(out.shape[0], y + (len(lines) - 1) * step + baseline + pad)
        right = min(out.shape[1], x + width + pad)
        if bottom > top and right > left:
            box = out[top:bottom, left:right].astype(np.float32)
            box = box * (1 - background_alpha) + np.float32(parse_color(background)) * \
                background_alpha
            out[top:bottom, left:right] = box.round().astype(np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(out, line, (int(x), int(y + i * step)), _FONT, font_scale, rgb, thickness,
                    cv2.LINE_AA)
    return out


def output_size(width: int, height: int,
                target_resolution: Sequence[int] | None) -> tuple[int, int]:
    """The ``(width, height)`` to resize a ``width x height`` frame to.

    Args:
        target_resolution: ``(W, H)``; one of them may be -1 to keep the aspect ratio;
            ``None`` keeps the size.
    """
    if target_resolution is None:
        return width, height
    if len(target_resolution) != 2:
        raise ValueError(f'target_resolution must be (W, H), got {tuple(target_resolution)}')
    w, h = (int(v) for v in target_resolution)
    if (w, h) == (-1, -1) or w == 0 or h == 0 or w < -1 or h < -1:
        raise ValueError(f'target_resolution must be positive (W, H), one of them may be -1 to '
                         f'keep the aspect ratio; got {tuple(target_resolution)}')
    if w == -1:
        w = max(1, round(width * h / height))
    elif h == -1:
        h = max(1, round(height * w / width))
    return w, h


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an ``[H, W, 3]`` frame to ``size = (W, H)`` (area for shrinking, else bicubic)."""
    h, w = frame.shape[:2]
    if (w, h) == tuple(size):
        return frame
    shrink = size[0] * size[1] < w * h
    return cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA if shrink
                      else cv2.INTER_CUBIC)


class VideoOutput:
    """Write RGB frames to an ``.mp4``/``.mkv``/``.avi``/``.mov`` (H.264, PyAV) or ``.gif``.

    The file appears under its name only when :meth:`close` succeeds (it is written to a
    hidden temporary file next to it first). The frame size is fixed by the first frame; for
    H.264 an odd width or height is padded by one pixel. Video frames are encoded as they
    come; GIF frames are kept (palette-reduced, one byte a pixel) until :meth:`close`,
    because Pillow writes a GIF in one go, so use a video for long outputs.

    Args:
        path: the output file; its suffix picks the format.
        fps: frames per second.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 30) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in VIDEO_SUFFIXES + ('.gif',):
            raise ValueError(f'cannot write {str(self.path)!r}: the suffix must be one of '
                             f'{VIDEO_SUFFIXES + (".gif",)}')
        if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)) or fps <= 0:
            raise ValueError(f'fps must be a positive number, got {fps!r}')
        if self.suffix == '.gif':
            _require_pillow()
        self.fps = fps
        self.size: tuple[int, int] | None = None  # (W, H) of the frames given
        self._count = 0
        self._writer: Any = None
        self._gif_frames: list[Any] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._temp = self.path.with_name(f'.{self.path.stem}.partial-{os.getpid()}{self.suffix}')
        self._closed = False

    @property
    def num_frames(self) -> int:
        """Frames written so far."""
        return self._count

    def write(self, frame: np.ndarray) -> None:
        """Add one ``[H, W, 3]`` uint8 RGB frame."""
        if self._closed:
            raise ValueError(f'{self.path} is already closed')
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or \
                frame.dtype != np.uint8:
            got = f'{frame.dtype} {frame.shape}' if isinstance(frame, np.ndarray) else type(frame)
            raise ValueError(f'frame {self._count} for {self.path}: expected a uint8 '
                             f'[H, W, 3] RGB array, got {got}')
        size = (frame.shape[1], frame.shape[0])
        if self.size is None:
            self.size = size
            self._open(size)
        elif size != self.size:
            raise ValueError(f'frame {self._count} for {self.path} is {size[0]}x{size[1]}, but '
                             f'the first frame was {self.size[0]}x{self.size[1]}')
        if self.suffix == '.gif':
            self._add_gif_frame(frame)
        else:
            pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode='edge')
            self._writer.write(frame)
        self._count += 1

    def _open(self, size: tuple[int, int]) -> None:
        if self.suffix == '.gif':
            return
        from .datasets.prep.video_io import VideoWriter

        width, height = size[0] + size[0] % 2, size[1] + size[1] % 2
        self._writer = VideoWriter(self._temp, width, height, fps=self.fps)

    def _add_gif_frame(self, frame: np.ndarray) -> None:
        from PIL import Image

        image = Image.fromarray(frame).quantize(colors=256)
        self._gif_frames.append(image)
        if len(self._gif_frames) == _GIF_WARN_FRAMES:
            logger.warning('%s: %d frames so far; a GIF is kept in memory until it is written, '
                           'prefer .mp4 for long videos', self.path, _GIF_WARN_FRAMES)

    def close(self) -> None:
        """Finish the file and move it to its name (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._count == 0:
            raise ValueError(f'cannot write {self.path}: no frames were given')
        try:
            if self.suffix == '.gif':
                first, *rest = self._gif_frames
                first.save(self._temp, save_all=True, append_images=rest, loop=0,
                           duration=max(1, round(1000 / float(self.fps))), disposal=1)
                self._gif_frames = []
            else:
                self._writer.close()
            os.replace(self._temp, self.path)
        finally:
            self._temp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop without writing the file."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                logger.debug('closing the partial %s failed', self._temp, exc_info=True)
        self._gif_frames = []
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> VideoOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _require_pillow() -> None:
    try:
        import PIL  # noqa: F401
    except ImportError as err:
        raise ImportError(f"writing GIFs needs Pillow: pip install pillow (or {_PLOT_HINT})"
                          ) from err


def require_matplotlib() -> Any:
    """Import and return ``matplotlib``, or say how to install it."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(f'plotting needs matplotlib: {_PLOT_HINT}') from err
    return matplotlib


def plot_style(style: str | None) -> str:
    """A matplotlib style name for ``style``; seaborn's names (``'dark'``, ``'whitegrid'`` …,
    the ``--style`` values of MMAction2's analyze_logs.py) map to matplotlib's copies."""
    require_matplotlib()
    import matplotlib.style

    available = matplotlib.style.available
    if style is None or style == 'default':
        return 'default'
    if style in available:
        return style
    if style in _SEABORN_STYLES and f'seaborn-v0_8-{style}' in available:
        return f'seaborn-v0_8-{style}'
    raise ValueError(f'unknown plot style {style!r}; expected "default", one of '
                     f'{list(_SEABORN_STYLES)} or a matplotlib style: {sorted(available)}')


def _figure(figsize: tuple[float, float], nrows: int = 1, show: bool = False,
            backend: str | None = None) -> tuple[Any, Any]:
    """A figure and its axes; a pyplot one only when it is to be shown on screen."""
    require_matplotlib()
    if show:
        import matplotlib.pyplot as plt

        if backend is not None:
            plt.switch_backend(backend)
        fig = plt.figure(figsize=figsize, layout='constrained')
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout='constrained')
    axes = fig.subplots(nrows, 1, squeeze=False)[:, 0]
    return fig, axes


def _finish(fig: Any, out: str | os.PathLike | None, dpi: int) -> None:
    if out is None:
        import matplotlib.pyplot as plt

        plt.show()
        return
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    logger.info('plot saved to %s', out)


def plot_curves(panels: Mapping[str, Sequence[tuple[str, Sequence[float], Sequence[float]]]],
                title: str | None = None, xlabel: str = 'iteration',
                out: str | os.PathLike | None = None, style: str | None = None,
                backend: str | None = None, dpi: int = 120) -> Any:
    """Line plots, one panel per metric, several named curves per panel.

    Args:
        panels: ``{metric name: [(curve label, xs, ys), ...]}``; the metric name is the
            panel's y-axis label. A curve of a single point is drawn as a marker.
        title: the figure's title.
        xlabel: the shared x-axis label.
        out: save here (``.png``, ``.pdf``, ``.svg`` …); ``None`` shows the plot on screen.
        style: a matplotlib style or a seaborn style name (see :func:`plot_style`).
        backend: matplotlib backend used to show the plot (only when ``out`` is None).
        dpi: resolution of raster output.

    Returns:
        matplotlib.figure.Figure: the figure.
    """
    if not panels:
        raise ValueError('plot_curves needs at least one panel')
    import matplotlib.style

    with matplotlib.style.context(plot_style(style)):
        fig, axes = _figure((8, 2.2 + 2.6 * len(panels)), nrows=len(panels),
                            show=out is None, backend=backend)
        for ax, (metric, curves) in zip(axes, panels.items()):
            for label, xs, ys in curves:
                marker = 'o' if len(xs) <= 20 else None
                ax.plot(xs, ys, label=label, linewidth=1.2, marker=marker, markersize=3)
            ax.set_ylabel(metric)
            ax.set_xlabel(xlabel)
            ax.grid(True, alpha=0.4)
            if curves:
                ax.legend(fontsize='small', loc='best')
        if title:
            fig.suptitle(title)
    _finish(fig, out, dpi)
    return fig


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str],
                          title: str | None = 'Confusion matrix',
                          normalize: str | None = None, out: str | os.PathLike | None = None,
                          cmap: str = 'Blues', annotate: bool | None = None,
                          dpi: int = 120) -> Any:
    """A heat map of a confusion matrix with the class names on both axes.

    Args:
        matrix: ``[K, K]``; row i is the true class i, column j the predicted class j.
        class_names: the K names of the rows (and columns), in order.
        title: the figure's title.
        normalize: how ``matrix`` was normalized (``'true'``, ``'pred'``, ``'all'`` or
            ``None`` for counts); shown in the colour bar label and the cell format.
        out: save here; ``None`` shows it on screen.
        cmap: matplotlib colour map.
        annotate: write the value in each cell (default: when K <= 30).
        dpi: resolution of raster output.

    Returns:
        matplotlib.figure.Figure: the figure.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f'matrix must be square [K, K], got shape {matrix.shape}')
    k = matrix.shape[0]
    if len(class_names) != k:
        raise ValueError(f'got {len(class_names)} class names for a {k}x{k} matrix')
    annotate = k <= 30 if annotate is None else annotate
    side = min(30.0, max(5.0, 0.45 * k + 3))
    fig, (ax,) = _figure((side + 1.5, side), show=out is None)
    image = ax.imshow(matrix, cmap=cmap, interpolation='nearest',
                      vmin=0, vmax=1 if normalize else None)
    what = {None: 'samples', 'true': 'fraction of the true class',
            'pred': 'fraction of the predicted class', 'all': 'fraction of all samples'}
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).set_label(what.get(normalize, ''))
    font = max(5, min(10, 200 // max(k, 1)))
    ax.set_xticks(range(k), labels=list(class_names), rotation=60, ha='right',
                  rotation_mode='anchor', fontsize=font)
    ax.set_yticks(range(k), labels=list(class_names), fontsize=font)
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    if title:
        ax.set_title(title)
    if annotate:
        top = matrix.max() if matrix.size else 0
        for i in range(k):
            for j in range(k):
                value = matrix[i, j]
                text = f'{value:.2f}' if normalize else f'{int(value)}'
                ax.text(j, i, text, ha='center', va='center', fontsize=font,
                        color='white' if top and value > 0.6 * top else 'black')
    _finish(fig, out, dpi)
    return fig
