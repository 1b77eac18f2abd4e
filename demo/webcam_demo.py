"""Recognize actions live from a webcam (or any video stream OpenCV can open).

Usage:
    python demo/webcam_demo.py CONFIG CHECKPOINT LABELS [--device cuda:0|cpu]
        [--camera-id 0] [--threshold 0.01] [--average-size 1] [--drawing-fps 20]
        [--inference-fps 4] [--out-filename out.mp4] [--max-frames N] [--no-show]
        [--cfg-options k=v ...]

Frames are read from ``cv2.VideoCapture(camera_id)``; the last ``clip_len x num_clips`` of them
(the config's ``SampleFrames``) are scored in a background thread at most ``--inference-fps``
times a second, averaging the last ``--average-size`` scores, while the frames are shown at
``--drawing-fps`` with the labels whose score reaches ``--threshold``. ``--camera-id`` may also
be a video file or a stream URL. Without a display (e.g. opencv-python-headless) or with
``--no-show``, new predictions are printed instead; ``--out-filename`` records the annotated
frames. Stop with q/Esc in the window or Ctrl-C.

Exit status: 0, 1 on errors, 3 when no camera could be opened.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from actionkit.utils.cli_main import report_error, run_main

EXIT_NO_CAMERA = 3
_WAITING = 'Waiting for the first prediction ...'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    from actionkit.config import add_config_args

    parser = argparse.ArgumentParser(description='actionkit demo: live action recognition')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file, or "none" for random weights')
    parser.add_argument('label', help='label map: one class name per line')
    parser.add_argument('--device', default='cuda:0', help='cuda:0 (CPU if absent) or cpu')
    parser.add_argument('--camera-id', default='0',
                        help='camera index, or a video file / stream URL')
    parser.add_argument('--threshold', type=float, default=0.01,
                        help='show labels whose score reaches this')
    parser.add_argument('--average-size', type=int, default=1,
                        help='average the scores of the last N predictions')
    parser.add_argument('--drawing-fps', type=float, default=20,
                        help='at most this many frames shown a second (0: no limit)')
    parser.add_argument('--inference-fps', type=float, default=4,
                        help='at most this many predictions a second')
    parser.add_argument('--out-filename', default=None, help='record the annotated frames')
    parser.add_argument('--max-frames', type=int, default=0, help='stop after N frames (0: no '
                        'limit)')
    parser.add_argument('--no-show', action='store_true', help='do not open a window')
    parser.add_argument('--font-scale', type=float, default=0.5, help='size of the text')
    add_config_args(parser)
    args = parser.parse_args(argv)
    if args.average_size < 1:
        parser.error(f'--average-size must be >= 1, got {args.average_size}')
    if args.inference_fps <= 0 or args.drawing_fps < 0:
        parser.error('--inference-fps must be > 0 and --drawing-fps >= 0')
    return args


def open_camera(camera_id: str) -> Any:
    """``cv2.VideoCapture`` for an index (``'0'``) or a file/URL; ``None`` if it won't open."""
    source: int | str = int(camera_id) if camera_id.isdigit() else camera_id
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        return None
    return capture


def has_display() -> bool:
    """Whether OpenCV can open a window (it cannot in opencv-python-headless)."""
    try:
        cv2.namedWindow('actionkit')
        cv2.destroyWindow('actionkit')
    except cv2.error:
        return False
    return True


class Predictor(threading.Thread):
    """Scores the latest window in the background; ``lines`` holds the latest labels.

    Args:
        scorer: maps a window of RGB frames to class scores.
        names: class names.
        threshold: smallest score shown.
        average_size: scores of this many predictions are averaged.
        inference_fps: at most this many predictions a second.
    """

    def __init__(self, scorer: Callable[[Sequence[np.ndarray]], np.ndarray],
                 names: Sequence[str], threshold: float = 0.01, average_size: int = 1,
                 inference_fps: float = 4) -> None:
        super().__init__(daemon=True)
        self.scorer, self.names, self.threshold = scorer, names, threshold
        self.period = 1.0 / inference_fps
        self._history: deque[np.ndarray] = deque(maxlen=average_size)
        self._lock = threading.Lock()
        self._pending: list[np.ndarray] | None = None
        self._halt = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self.lines: list[str] = []
        self.count = 0
        self.error: BaseException | None = None

    def submit(self, frames: list[np.ndarray]) -> None:
        """Offer the current window (replacing one not yet taken)."""
        with self._lock:
            self._pending = frames
            self._idle.clear()

    def run(self) -> None:
        while not self._halt.is_set():
            with self._lock:
                frames, self._pending = self._pending, None
                if frames is None:
                    self._idle.set()
            if frames is None:
                time.sleep(0.005)
                continue
            start = time.perf_counter()
            try:
                self._predict(frames)
            except BaseException as err:  # noqa: BLE001 - reported by the main thread
                self.error = err
                self._idle.set()
                return
            time.sleep(max(0.0, self.period - (time.perf_counter() - start)))

    def _predict(self, frames: list[np.ndarray]) -> None:
        self._history.append(self.scorer(frames))
        scores = np.mean(self._history, axis=0)
        order = np.argsort(-scores, kind='stable')[:5]
        lines = [f'{self.names[k]}: {scores[k]:.3f}' for k in order
                 if scores[k] >= self.threshold]
        with self._lock:
            self.lines, self.count = lines, self.count + 1

    def finish(self, timeout: float = 30.0) -> None:
        """Wait for the window submitted last, then stop the thread."""
        self._idle.wait(timeout)
        self._halt.set()
        self.join(timeout)


def _loop(capture: Any, predictor: Predictor, window: int, args: argparse.Namespace,
          show: bool, writer: Any) -> int:
    """Read, submit, draw; return the number of frames read."""
    from actionkit.visualization import draw_text_lines

    frames: deque[np.ndarray] = deque(maxlen=window)
    period = 1.0 / args.drawing_fps if args.drawing_fps else 0.0
    count, printed = 0, None
    while not args.max_frames or count < args.max_frames:
        start = time.perf_counter()
        ok, bgr = capture.read()
        if not ok:
            break
        count += 1
        frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        frames.append(frame)
        if len(frames) == window:
            predictor.submit(list(frames))
        if predictor.error is not None:
            raise RuntimeError(f'prediction failed: {predictor.error}') from predictor.error
        lines = list(predictor.lines) if predictor.count else [_WAITING]
        if writer is not None or show:
            drawn = draw_text_lines(frame, lines, font_scale=args.font_scale)  # a copy
            if writer is not None:
                writer.write(drawn)
            if show:
                cv2.imshow('actionkit webcam demo', cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                if cv2.waitKey(1) & 0xFF in (ord('q'), ord('Q'), 27):
                    break
        if not show and predictor.count and lines != printed:
            print(f'[frame {count}] ' + ' | '.join(lines or ['(no label over the threshold)']),
                  flush=True)
            printed = lines
        time.sleep(max(0.0, period - (time.perf_counter() - start)))
    return count


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return 0, 1 on errors or 3 when no camera can be opened."""
    args = parse_args(argv)
    capture = open_camera(args.camera_id)
    if capture is None:
        print(f'webcam_demo: error: no camera or stream could be opened with '
              f'cv2.VideoCapture({args.camera_id}). Connect a camera, choose another '
              f'--camera-id, or pass a video file or stream URL as --camera-id.',
              file=sys.stderr)
        return EXIT_NO_CAMERA
    predictor = writer = None
    show = False
    try:
        from actionkit.analysis.windows import WindowScorer
        from actionkit.apis import init_recognizer, load_label_map
        from actionkit.config import load_config
        from actionkit.visualization import VideoOutput

        cfg = load_config(args)
        names = load_label_map(args.label, int(cfg.model.cls_head.num_classes))
        checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
        scorer = WindowScorer(init_recognizer(cfg, checkpoint, device=args.device),
                              cfg.data.test.pipeline)
        predictor = Predictor(scorer, names, args.threshold, args.average_size,
                              args.inference_fps)
        predictor.start()
        show = not args.no_show and has_display()
        if args.out_filename:
            fps = capture.get(cv2.CAP_PROP_FPS) or args.drawing_fps or 30
            writer = VideoOutput(args.out_filename, fps=float(fps))
        count = _loop(capture, predictor, scorer.window, args, show, writer)
        predictor.finish()
        if writer is not None:
            writer.close()
        print(f'{count} frames, {predictor.count} predictions; last: '
              f'{" | ".join(predictor.lines) or "(none)"}')
    except KeyboardInterrupt:  # Ctrl-C ends the demo: keep what was recorded
        if writer is not None and writer.num_frames:
            writer.close()
        elif writer is not None:
            writer.abort()
    except (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError) as err:
        if writer is not None:
            writer.abort()
        return report_error(err, 'webcam_demo')
    finally:
        capture.release()
        if predictor is not None and predictor.is_alive():
            predictor.finish(timeout=5)
        if show:
            cv2.destroyAllWindows()
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
