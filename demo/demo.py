"""Recognize the action in one video (or rawframe folder) and optionally write it annotated.

Usage:
    python demo/demo.py CONFIG CHECKPOINT VIDEO LABELS [--use-frames] [--device cuda:0|cpu]
        [--out-filename out.mp4|out.gif] [--fps 30] [--font-scale 0.5] [--font-color white]
        [--target-resolution W H] [--top-k 5] [--cfg-options k=v ...] [--allow-pickle]

Prints the top-5 labels with their scores. With ``--out-filename`` the input's frames are
written to an ``.mp4`` (H.264) or ``.gif`` with the top labels drawn on every frame; frames are
read one at a time, so long videos are not held in memory. ``--target-resolution 640 -1``
resizes the output to width 640, keeping the aspect ratio. ``--fps`` sets the output frame rate
for rawframe input (a video keeps its own). CHECKPOINT may be ``none`` for random weights.

Example:
    python demo/demo.py \\
        configs/recognition/tsn/tsn_r50_video_inference_1x1x3_100e_kinetics400_rgb.py \\
        checkpoints/tsn_r50_1x1x3_100e_kinetics400_rgb_20200614-e508be42.pth \\
        ../shared/data/mmaction2/demo/demo.mp4 tools/data/kinetics/label_map_k400.txt \\
        --device cpu --out-filename demo_out.mp4
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from actionkit.apis import inference_recognizer, init_recognizer, load_label_map
from actionkit.config import Config, add_config_args, load_config
from actionkit.visualization import (VideoOutput, draw_text_lines, format_predictions,
                                     output_size, parse_color, resize_frame)
from actionkit.utils.cli_main import report_error, run_main

_IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='actionkit demo: recognize one video')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file, or "none" for random weights')
    parser.add_argument('video', help='video file, rawframe folder or http(s) URL')
    parser.add_argument('label', help='label map: one class name per line')
    parser.add_argument('--use-frames', action='store_true',
                        help='VIDEO is a rawframe folder')
    parser.add_argument('--device', default='cuda:0', help='cuda:0 (CPU if absent) or cpu')
    parser.add_argument('--fps', type=float, default=30,
                        help='frame rate of the output for rawframe input')
    parser.add_argument('--font-scale', type=float, default=0.5, help='size of the text')
    parser.add_argument('--font-color', default='white',
                        help="text colour: a name, '#rrggbb' or 'r,g,b'")
    parser.add_argument('--target-resolution', nargs=2, type=int, default=None,
                        metavar=('W', 'H'),
                        help='output size; -1 for one of them keeps the aspect ratio')
    parser.add_argument('--out-filename', default=None, help='write an annotated .mp4 or .gif')
    parser.add_argument('--top-k', type=int, default=5, help='labels to show (at most 5)')
    add_config_args(parser, example='model.cls_head.num_classes=10')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='load a legacy pickled checkpoint (trusted files only)')
    args = parser.parse_args(argv)
    if not 1 <= args.top_k <= 5:
        parser.error(f'--top-k must be between 1 and 5, got {args.top_k}')
    if args.fps <= 0:
        parser.error(f'--fps must be positive, got {args.fps}')
    if args.font_scale <= 0:
        parser.error(f'--font-scale must be positive, got {args.font_scale}')
    return args


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The RGB image files of a rawframe folder in frame order (flow ``x_``/``y_`` excluded)."""
    files = [p for p in Path(folder).iterdir()
             if p.suffix.lower() in _IMAGE_SUFFIXES and not re.match(r'^[xy]_', p.name)]
    if not files:
        raise FileNotFoundError(f'no image files in frame folder {str(folder)!r}')

    def order(path: Path) -> tuple[int, str]:
        digits = re.findall(r'\d+', path.stem)
        return (int(digits[-1]) if digits else -1, path.name)

    return sorted(files, key=order)


def iter_frames(source: str, use_frames: bool) -> tuple[Iterator[np.ndarray], float | None]:
    """RGB frames of a video or frame folder one at a time, and the video's frame rate."""
    if use_frames or os.path.isdir(source):
        import cv2

        def read() -> Iterator[np.ndarray]:
            for path in frame_files(source):
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    raise ValueError(f'cannot read frame {path}')
                yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

        return read(), None
    from actionkit.datasets.prep.video_io import iter_video_frames, video_info

    fps = video_info(source).get('fps')
    return (frame for frame, _ in iter_video_frames(source)), (float(fps) if fps else None)


def write_annotated(source: str, use_frames: bool, lines: list[str], out: str, fps: float,
                    font_scale: float, font_color: str,
                    target_resolution: list[int] | None) -> int:
    """Write ``source``'s frames with ``lines`` drawn on them; return the frame count."""
    frames, video_fps = iter_frames(source, use_frames)
    size = None
    with VideoOutput(out, fps=video_fps or fps) as writer:
        for frame in frames:
            if size is None:
                size = output_size(frame.shape[1], frame.shape[0], target_resolution)
            frame = resize_frame(frame, size)
            writer.write(draw_text_lines(frame, lines, font_scale=font_scale,
                                         color=font_color, inplace=True))
        count = writer.num_frames
    return count


def _num_classes(cfg: Config) -> int:
    head = cfg.model.get('cls_head') or {}
    if 'num_classes' not in head:
        raise KeyError(f'{cfg.filename or "the config"} has no model.cls_head.num_classes')
    return int(head['num_classes'])


def run(args: argparse.Namespace) -> list[tuple[str, float]]:
    """Score the video, print the top-5 and write the annotated output if asked."""
    from actionkit.utils.download import fetch_url, is_url

    parse_color(args.font_color)  # fail before the model is built
    cfg = load_config(args)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    names = load_label_map(args.label, _num_classes(cfg))
    model = init_recognizer(cfg, checkpoint, device=args.device, allow_pickle=args.allow_pickle)
    video, temporary = args.video, None
    if is_url(video) and args.out_filename:
        video = temporary = fetch_url(video)  # fetched once, for scoring and for drawing
    try:
        top5 = inference_recognizer(model, video, use_frames=args.use_frames)
        results = [(names[k], score) for k, score in top5]
        print('The top-5 labels with corresponding scores are:')
        for name, score in results:
            print(f'{name}: {score}')
        if args.out_filename:
            lines = format_predictions(results[:args.top_k])
            count = write_annotated(video, args.use_frames, lines, args.out_filename, args.fps,
                                    args.font_scale, args.font_color, args.target_resolution)
            print(f'wrote {count} frames to {args.out_filename}')
    finally:
        if temporary is not None:
            os.remove(temporary)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError) as err:
        return report_error(err, 'demo')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
