"""Grad-CAM heat maps of a recognizer on one video (or rawframe folder), written as a video or
GIF (MMAction2 0.x's ``demo/demo_gradcam.py``, same arguments).

Usage:
    python demo/demo_gradcam.py CONFIG CHECKPOINT VIDEO [--use-frames] [--device cuda:0|cpu]
        [--target-layer-name backbone/layer4/1/relu] [--out-filename out.mp4|out.gif]
        [--fps 5] [--target-resolution W H] [--resize-algorithm bilinear]
        [--cfg-options k=v ...]

VIDEO goes through the config's test pipeline as in ``inference_recognizer`` (the path as given,
relative to the working directory). Every frame of every view the pipeline makes (clips x crops
x clip_len) is blended with its heat map and written in order at ``--fps``; without
``--out-filename`` the top prediction is printed only. CHECKPOINT may be ``none``.

Example:
    python demo/demo_gradcam.py \\
        configs/recognition/tsm/tsm_r50_1x1x8_50e_kinetics400_rgb.py \\
        checkpoints/tsm_r50_1x1x8_50e_kinetics400_rgb_20200607-af7fb746.pth \\
        ../shared/data/mmaction2/demo/demo.mp4 --target-layer-name backbone/layer4/1/relu \\
        --device cpu --out-filename demo_gradcam.gif
"""
from __future__ import annotations

import argparse
import os
import sys

import cv2
import numpy as np
import torch

from actionkit.analysis.gradcam import GradCAM
from actionkit.apis import init_recognizer
from actionkit.apis.inference import _prepare_input
from actionkit.config import Config, DictAction
from actionkit.datasets.pipelines import Compose
from actionkit.datasets.pipelines.functional import INTERPOLATIONS, rescale_size
from actionkit.utils.cli_main import report_error, run_main
from actionkit.visualization import VideoOutput


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description='actionkit Grad-CAM demo')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file, or "none" for random weights')
    parser.add_argument('video', help='video file or rawframe folder')
    parser.add_argument('--use-frames', action='store_true', help='VIDEO is a rawframe folder')
    parser.add_argument('--device', default='cuda:0', help='cuda:0 (CPU if absent) or cpu')
    parser.add_argument('--target-layer-name', default='backbone/layer4/1/relu',
                        help="the layer Grad-CAM looks at, e.g. 'backbone/layer4/1/relu'")
    parser.add_argument('--out-filename', default=None, help='output .mp4 or .gif')
    parser.add_argument('--fps', default=5, type=int, help='frame rate of the output')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. model.backbone.depth=18')
    parser.add_argument('--target-resolution', nargs=2, default=None, type=int,
                        metavar=('W', 'H'),
                        help='output size; -1 for one of them keeps the aspect ratio')
    parser.add_argument('--resize-algorithm', default='bilinear', choices=sorted(INTERPOLATIONS),
                        help='interpolation for --target-resolution')
    args = parser.parse_args(argv)
    if args.fps <= 0:
        parser.error(f'--fps must be positive, got {args.fps}')
    return args


def build_inputs(model: torch.nn.Module, video: str, use_frames: bool = False) -> dict:
    """The test pipeline's output for ``video`` as a batch of one: ``imgs`` and ``label``."""
    results, pipeline, temporary = _prepare_input(model.cfg, video, use_frames)
    try:
        data = Compose(pipeline)(results)
    finally:
        if temporary:
            os.remove(temporary)
    device = next(model.parameters()).device
    return dict(imgs=data['imgs'][None].to(device), label=torch.tensor([[-1]], device=device))


def resize_frames(frames: list[np.ndarray], scale: tuple[int, int] | None,
                  interpolation: str = 'bilinear') -> list[np.ndarray]:
    """Resize to ``scale=(W, H)`` as MMAction2's demo does: ``-1`` on one side keeps the aspect
    ratio (the other side bounds the long edge); ``None`` or ``(-1, -1)`` keeps the size."""
    if scale is None or tuple(scale) == (-1, -1):
        return frames
    w, h = scale
    if min(w, h) == -1:
        new_w, new_h = rescale_size(frames[0].shape[1::-1], (np.inf, max(w, h)))
    else:
        new_w, new_h = w, h
    flag = INTERPOLATIONS[interpolation]
    return [cv2.resize(frame, (new_w, new_h), interpolation=flag) for frame in frames]


def run(args: argparse.Namespace) -> tuple[np.ndarray, torch.Tensor]:
    """Compute the blended frames ``[N, H, W, 3]`` (uint8) and the predictions; write them."""
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_recognizer(cfg, checkpoint, device=args.device)
    inputs = build_inputs(model, args.video, args.use_frames)
    gradcam = GradCAM(model, args.target_layer_name)
    blended, preds = gradcam(inputs)
    preds = preds.detach()
    print(f'top class: {int(preds.argmax(dim=1)[0])} (score {float(preds.max()):.4f})')
    frames = (blended * 255.).numpy().astype(np.uint8)  # [B, T, H, W, 3], RGB
    frames = frames.reshape(-1, *frames.shape[-3:])
    if args.out_filename:
        output = VideoOutput(args.out_filename, fps=args.fps)
        for frame in resize_frames(list(frames), args.target_resolution,
                                   args.resize_algorithm):
            output.write(frame)
        output.close()
        print(f'wrote {len(frames)} frames to {args.out_filename}')
    return frames, preds


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status (1 with a message on stderr on error)."""
    args = parse_args(argv)
    try:
        run(args)
    except (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError) as err:
        return report_error(err, 'demo_gradcam')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
