"""Recognize actions along a long video with a sliding window.

Usage:
    python demo/long_video_demo.py CONFIG CHECKPOINT VIDEO LABELS OUT
        [--input-step 1] [--device cuda:0|cpu] [--threshold 0.01] [--stride 0] [--top-k 5]
        [--label-color white | B G R] [--msg-color gray | B G R] [--font-scale 0.5]
        [--out-json OUT.json] [--cfg-options k=v ...] [--allow-pickle]

The video is decoded one frame at a time. Every ``--input-step``-th frame enters a window of
``clip_len x num_clips`` frames (from the config's ``SampleFrames``); each time the window has
moved by ``--stride x window`` frames (by one frame when the stride is 0) the window is scored
by the model, with the rest of the config's test pipeline (resize, crop, normalize …). Only
the window is kept in memory, however long the video is.

OUT: an ``.mp4``/``.gif`` with the labels whose score reaches ``--threshold`` drawn on each
frame (the latest window's, so the labels follow the video with the window's delay) plus a JSON
of the windows (``--out-json``, default OUT with the suffix ``.json``): their first and last
frame, start and end time in seconds, and top labels with scores. An OUT ending in ``.json``
writes the JSON only. Colours are a name, ``'#rrggbb'``, or three ints in MMAction2's B G R
order. CHECKPOINT may be ``none`` for random weights.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from actionkit.analysis.windows import WindowScorer, sliding_windows
from actionkit.apis import init_recognizer, load_label_map
from actionkit.config import add_config_args, load_config
from actionkit.visualization import VideoOutput, draw_text_lines, parse_color
from actionkit.utils.cli_main import report_error, run_main

_WAITING = 'Preparing action recognition ...'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='actionkit demo: actions along a long video')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file, or "none" for random weights')
    parser.add_argument('video', help='video file')
    parser.add_argument('label', help='label map: one class name per line')
    parser.add_argument('out_file', help='output video (.mp4/.gif) or .json')
    parser.add_argument('--input-step', type=int, default=1,
                        help='take every N-th frame into the window')
    parser.add_argument('--device', default='cuda:0', help='cuda:0 (CPU if absent) or cpu')
    parser.add_argument('--threshold', type=float, default=0.01,
                        help='show labels whose score reaches this')
    parser.add_argument('--stride', type=float, default=0,
                        help='score the window every stride x window frames (0: every frame)')
    parser.add_argument('--top-k', type=int, default=5, help='labels kept per window')
    parser.add_argument('--label-color', nargs='+', default=['255', '255', '255'],
                        help='label colour: a name, #rrggbb or B G R (default white)')
    parser.add_argument('--msg-color', nargs='+', default=['128', '128', '128'],
                        help='colour of the waiting message (default gray)')
    parser.add_argument('--font-scale', type=float, default=0.5, help='size of the text')
    parser.add_argument('--out-json', default=None,
                        help='per-window predictions (default: OUT with suffix .json)')
    add_config_args(parser)
    parser.add_argument('--allow-pickle', action='store_true',
                        help='load a legacy pickled checkpoint (trusted files only)')
    args = parser.parse_args(argv)
    for name in ('input_step', 'top_k'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.stride < 0:
        parser.error(f'--stride must be >= 0, got {args.stride}')
    try:
        args.label_color = cli_color(args.label_color)
        args.msg_color = cli_color(args.msg_color)
    except ValueError as err:
        parser.error(str(err))
    return args


def cli_color(values: Sequence[str]) -> tuple[int, int, int]:
    """A colour from the command line: one name/hex value, or three ints in B G R order."""
    if len(values) == 1:
        return parse_color(values[0])
    if len(values) == 3:
        blue, green, red = parse_color(','.join(values))
        return red, green, blue
    raise ValueError(f'a colour is a name, #rrggbb or three ints B G R; got {list(values)}')


class SegmentWriter:
    """Writes the windows' predictions to a JSON file as they come (nothing accumulates)."""

    def __init__(self, path: str | os.PathLike, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._temp = self.path.with_name(f'.{self.path.name}.partial-{os.getpid()}')
        self._file = open(self._temp, 'w', encoding='utf-8')
        # the header's keys, then "segments": [ ... ] written as they come
        opening = json.dumps(header, indent=1)[:-2] + ',' if header else '{'
        self._file.write(opening + '\n "segments": [')
        self.count = 0
        self.closed = False

    def write(self, segment: dict[str, Any]) -> None:
        self._file.write((',' if self.count else '') + '\n  ' + json.dumps(segment))
        self.count += 1

    def close(self, ok: bool = True) -> None:
        """Finish the file and move it to its name; ``ok=False`` discards it (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._file.write('\n ]\n}\n')
        self._file.close()
        if ok:
            os.replace(self._temp, self.path)
        else:
            self._temp.unlink(missing_ok=True)


def run(frames: Iterable[np.ndarray], scorer: Callable[[Sequence[np.ndarray]], np.ndarray],
        names: Sequence[str], window: int, fps: float, out_video: str | None,
        segments: SegmentWriter, input_step: int = 1, stride: float = 0, top_k: int = 5,
        threshold: float = 0.01, label_color: Any = 'white', msg_color: Any = 'gray',
        font_scale: float = 0.5) -> int:
    """Score the windows of ``frames``; write the annotated video and the segments.

    Args:
        frames: the video's RGB frames, in order (an iterator: they are not kept).
        scorer: maps a window's frames to class scores.
        names: class names.
        window: frames per window.
        fps: frame rate of the video (for the segments' times and the output).
        out_video: the annotated video to write, or ``None``.
        segments: where the windows' predictions go.
        input_step, stride, top_k, threshold: see the command line.
        label_color, msg_color, font_scale: how the text looks.

    Returns:
        int: the number of frames read.
    """
    every = max(1, round(stride * window)) if stride > 0 else 1
    writer = VideoOutput(out_video, fps=fps) if out_video else None
    lines: list[str] = []
    count = 0
    try:
        for index, frame, inds, clip in sliding_windows(frames, window, input_step, every):
            count = index + 1
            if clip is not None:
                scores = scorer(clip)
                order = np.argsort(-scores, kind='stable')[:top_k]
                top = [dict(label=names[k], index=int(k), score=round(float(scores[k]), 5))
                       for k in order]
                segments.write(dict(start_frame=inds[0], end_frame=inds[-1],
                                    start_time=round(inds[0] / fps, 3),
                                    end_time=round((inds[-1] + 1) / fps, 3), labels=top))
                lines = [f'{t["label"]}: {t["score"]:.3f}' for t in top
                         if t['score'] >= threshold]
            if writer is None:
                continue
            if segments.count:
                shown, color = lines, label_color
            else:
                shown, color = [_WAITING], msg_color
            # a copy: the frame may still be in the window
            writer.write(draw_text_lines(frame, shown, font_scale=font_scale, color=color))
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    return count


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status (1 with a message on stderr on error)."""
    from actionkit.datasets.prep.video_io import iter_video_frames, video_info

    args = parse_args(argv)
    segments = None
    try:
        cfg = load_config(args)
        names = load_label_map(args.label, int(cfg.model.cls_head.num_classes))
        checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
        model = init_recognizer(cfg, checkpoint, device=args.device,
                                allow_pickle=args.allow_pickle)
        scorer = WindowScorer(model, cfg.data.test.pipeline)
        rate = video_info(args.video).get('fps')
        fps = float(rate) if rate else 30.0
        json_only = args.out_file.lower().endswith('.json')
        out_json = args.out_file if json_only else (
            args.out_json or str(Path(args.out_file).with_suffix('.json')))
        header = dict(video=args.video, fps=fps, window=scorer.window,
                      input_step=args.input_step, stride=args.stride,
                      threshold=args.threshold)
        segments = SegmentWriter(out_json, header)
        frames = (frame for frame, _ in iter_video_frames(args.video))
        count = run(frames, scorer, names, scorer.window, fps,
                    None if json_only else args.out_file, segments,
                    input_step=args.input_step, stride=args.stride, top_k=args.top_k,
                    threshold=args.threshold, label_color=args.label_color,
                    msg_color=args.msg_color, font_scale=args.font_scale)
        segments.close()
    except (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError) as err:
        if segments is not None:
            segments.close(ok=False)
        return report_error(err, 'long_video_demo')
    print(f'{count} frames, {segments.count} windows of {scorer.window} frames scored; '
          f'predictions in {out_json}' + ('' if json_only else f', video in {args.out_file}'))
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
