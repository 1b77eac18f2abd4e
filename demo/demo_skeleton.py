"""Recognize the action in a video from its poses, and write the video with the skeletons and
the predicted label drawn.

Usage:
    python demo/demo_skeleton.py CONFIG CHECKPOINT VIDEO POSE_FILE LABELS OUT_FILE
        [--device cpu] [--score-thr 0.3] [--allow-pickle]

POSE_FILE is JSON or a pickle with ``keypoint`` ``[M, T, V, 2 or 3]`` (pixels of VIDEO, one
entry per video frame) and optionally ``keypoint_score`` ``[M, T, V]``, from any pose
estimator (actionkit ships no detector or pose model; see ``actionkit.apis.skeleton``). CONFIG
is a skeleton config (``configs/skeleton/``); CHECKPOINT may be ``none`` for random weights.

Example:
    python demo/demo_skeleton.py configs/synthetic/stgcn_synthetic_pose.py \\
        work_dirs/stgcn_synthetic_pose/latest.pth clip.mp4 clip_pose.json labels.txt out.mp4 \\
        --device cpu
"""
from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

from actionkit.apis import (inference_skeleton, init_recognizer, load_label_map,
                            load_pose_file)
from actionkit.datasets.pipelines.pose import _BONE_PARENTS
from actionkit.datasets.pipelines.pose_heatmap import _COCO_SKELETON
from actionkit.datasets.prep.video_io import read_video, video_info, write_video
from actionkit.visualization import draw_text_lines, format_predictions
from actionkit.utils.cli_main import run_main

# joint pairs drawn for each joint count (COCO 17, NTU 25, OpenPose 18)
_LIMBS = {17: _COCO_SKELETON,
          25: [p for p in _BONE_PARENTS['nturgb+d'] if p[0] != p[1]],
          18: [p for p in _BONE_PARENTS['openpose-18'] if p[0] != p[1]]}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ('config', 'checkpoint', 'video', 'pose_file', 'label', 'out_file'):
        parser.add_argument(name)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='joints scored below this are not drawn')
    parser.add_argument('--allow-pickle', action='store_true',
                        help='read a pose pickle that holds other objects (trusted files only)')
    return parser.parse_args(argv)


def draw_skeletons(frame, kps, scores, thr):
    """Draw ``kps`` ``[M, V, >=2]`` (scores ``[M, V]``) on an RGB frame, in place."""
    limbs = _LIMBS.get(kps.shape[1], [])
    for person, score in zip(kps, scores):
        visible = (score >= thr) & (person[:, :2] != 0).any(-1)
        for a, b in limbs:
            if visible[a] and visible[b]:
                cv2.line(frame, tuple(int(v) for v in person[a, :2]),
                         tuple(int(v) for v in person[b, :2]), (0, 255, 0), 2, cv2.LINE_AA)
        for joint in np.flatnonzero(visible):
            cv2.circle(frame, tuple(int(v) for v in person[joint, :2]), 3, (255, 0, 0), -1)
    return frame


def main(argv=None):
    args = parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_recognizer(args.config, checkpoint, device=args.device)
    pose = load_pose_file(args.pose_file, allow_pickle=args.allow_pickle)
    info = video_info(args.video)
    img_shape = (info['height'], info['width'])
    labels = load_label_map(args.label, model.cls_head.num_classes)
    top5 = inference_skeleton(model, pose, img_shape=img_shape)
    lines = format_predictions(top5, labels)
    sys.stdout.write('\n'.join(lines) + '\n')
    frames = read_video(args.video)
    kps = pose['keypoint']
    scores = pose.get('keypoint_score')
    if scores is None:
        scores = np.ones(kps.shape[:3], np.float32)
    drawn = []
    for t, frame in enumerate(frames):
        frame = frame.copy()
        if t < kps.shape[1]:
            draw_skeletons(frame, kps[:, t], scores[:, t], args.score_thr)
        drawn.append(draw_text_lines(frame, lines[:1]))
    write_video(args.out_file, drawn, fps=info.get('fps') or 30)
    sys.stdout.write(f'wrote {args.out_file}\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
