"""Spatio-temporal action detection on a video: the actions of each person, drawn on the video.

Usage:
    python demo/demo_spatiotemporal_det.py --config CONFIG --checkpoint CKPT --video VIDEO \\
        (--det-file BOXES | --det-model torchvision:NAME [--det-weights W]) \\
        --label-map LABELS --out-filename OUT.mp4
        [--predict-stepsize 8] [--output-stepsize 4] [--output-fps 6]
        [--action-score-thr 0.5] [--det-score-thr 0.9] [--short-side 256] [--device cpu]

The person boxes come from a file written by any detector, or from a torchvision detector
(``--det-model torchvision:fasterrcnn_resnet50_fpn``; needs ``pip install torchvision``; its
COCO "person" class is kept) run on the key frames: actionkit ships no detector of its own, and
MMAction2's demo runs mmdet's Faster R-CNN instead. ``--det-weights`` is torchvision's
``DEFAULT`` weights (downloaded by torchvision to the torch hub cache) or a local state-dict
file. BOXES is either

- JSON: ``{"FRAME": [[x1, y1, x2, y2], [x1, y1, x2, y2, score], ...], ...}`` or
- CSV: one box a line, ``FRAME,x1,y1,x2,y2`` or ``FRAME,x1,y1,x2,y2,score`` (no header),

where FRAME is the 0-based index of the video frame and the box is in pixels of VIDEO.
Actions are predicted every ``--predict-stepsize`` frames, at the key frames
``T - 1`` for ``T`` in ``clip_len * frame_interval // 2, ... + stepsize, ...`` (as MMAction2);
a key frame without boxes in the file has no person. Boxes scored below ``--det-score-thr``
are dropped. LABELS is MMAction2's AVA label map, ``ID: name`` a line
(``tools/data/ava/label_map.txt``). CHECKPOINT may be ``none`` for random weights.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from actionkit.apis import init_recognizer
from actionkit.config import Config, DictAction
from actionkit.datasets.prep.video_io import read_video
from actionkit.utils.cli_main import run_main
from actionkit.visualization import VideoOutput, draw_text_lines

_BOX_COLOR = (0, 255, 0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split('\n\n', 2)[2])
    # no defaults for these: actionkit ships no AVA config, label map or checkpoint
    parser.add_argument('--config', required=True,
                        help="an AVA detection config (MMAction2's configs/detection/ava/)")
    parser.add_argument('--checkpoint', required=True, help='a .pth file, or none')
    parser.add_argument('--video', default='demo/demo.mp4')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--det-file',
                        help='person boxes per frame index, JSON or CSV (see below)')
    source.add_argument('--det-model',
                        help='a torchvision detector run on the key frames, '
                             'e.g. torchvision:fasterrcnn_resnet50_fpn')
    parser.add_argument('--det-weights', default='DEFAULT',
                        help="--det-model's weights: torchvision's DEFAULT, or a state-dict file")
    parser.add_argument('--out-filename', default='demo/stdet_demo.mp4')
    parser.add_argument('--label-map', required=True, help='"ID: name" a line')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--det-score-thr', type=float, default=0.9)
    parser.add_argument('--action-score-thr', type=float, default=0.5)
    parser.add_argument('--short-side', type=int, default=256,
                        help='frames are resized to this short side before the model')
    parser.add_argument('--predict-stepsize', type=int, default=8)
    parser.add_argument('--output-stepsize', type=int, default=4)
    parser.add_argument('--output-fps', type=int, default=6)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. model.test_cfg.rcnn.action_thr=0.1')
    args = parser.parse_args(argv)
    for name in ('predict_stepsize', 'output_stepsize', 'output_fps', 'short_side'):
        if getattr(args, name) <= 0:
            parser.error(f'--{name.replace("_", "-")} must be positive')
    if args.predict_stepsize % args.output_stepsize:
        parser.error('--predict-stepsize must be a multiple of --output-stepsize')
    return args


def _bad(path, where, why):
    return ValueError(f'{path}: {where}: {why}')


def _box(path, where, values):
    if not isinstance(values, (list, tuple)):
        raise _bad(path, where, f'a box is a list of 4 or 5 numbers, got {values!r}')
    try:
        box = [float(v) for v in values]
    except (TypeError, ValueError):
        raise _bad(path, where, f'a box is 4 or 5 numbers, got {values!r}') from None
    if len(box) not in (4, 5) or not np.isfinite(box).all():
        raise _bad(path, where, f'a box is 4 or 5 finite numbers [x1, y1, x2, y2, (score)], '
                   f'got {values!r}')
    if box[2] < box[0] or box[3] < box[1]:
        raise _bad(path, where, f'x2 < x1 or y2 < y1 in {values!r}')
    return box + [1.0] * (5 - len(box))


def _frame(path, where, key):
    try:
        frame = int(str(key).strip())
    except ValueError:
        raise _bad(path, where, f'the frame index must be an integer, got {key!r}') from None
    if frame < 0:
        raise _bad(path, where, f'the frame index must be >= 0, got {frame}')
    return frame


def load_det_file(path):
    """Read person boxes: ``{frame index: float32 [n, 5] (x1, y1, x2, y2, score)}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'detection file {str(path)!r} does not exist')
    boxes = {}
    if path.suffix.lower() == '.json':
        try:
            data = json.loads(path.read_text(encoding='utf-8'))
        except json.JSONDecodeError as err:
            raise _bad(path, f'line {err.lineno}', f'not JSON ({err.msg})') from None
        if not isinstance(data, dict):
            raise _bad(path, 'top level', 'expected an object {"FRAME": [[x1, y1, x2, y2], ...]}')
        for key, rows in data.items():
            where = f'frame {key!r}'
            frame = _frame(path, where, key)
            if not isinstance(rows, list):
                raise _bad(path, where, f'expected a list of boxes, got {rows!r}')
            boxes.setdefault(frame, []).extend(_box(path, where, r) for r in rows)
    elif path.suffix.lower() == '.csv':
        with open(path, newline='', encoding='utf-8') as f:
            for line, row in enumerate(csv.reader(f), 1):
                if not row or not ''.join(row).strip():
                    continue
                where = f'line {line}'
                if len(row) not in (5, 6):
                    raise _bad(path, where, f'expected FRAME,x1,y1,x2,y2[,score], got {row}')
                boxes.setdefault(_frame(path, where, row[0]), []).append(
                    _box(path, where, row[1:]))
    else:
        raise ValueError(f'detection file {str(path)!r}: the suffix must be .json or .csv')
    return {frame: np.array(rows, np.float32).reshape(-1, 5) for frame, rows in boxes.items()}


def load_torchvision_detector(spec, weights, device):
    """``torchvision:NAME`` as a detector in eval mode: a callable taking a list of CHW float
    images in [0, 1] and returning torchvision's ``[{'boxes', 'labels', 'scores'}]``."""
    prefix, _, name = spec.partition(':')
    if prefix != 'torchvision' or not name:
        raise ValueError(f'--det-model {spec!r}: expected torchvision:NAME, '
                         f'e.g. torchvision:fasterrcnn_resnet50_fpn')
    try:
        from torchvision.models import detection
    except ImportError:
        raise ImportError(f'--det-model {spec!r} needs torchvision: pip install torchvision '
                          f'(or pass the boxes with --det-file)') from None
    builder = getattr(detection, name, None)
    if not callable(builder):
        raise ValueError(f'--det-model {spec!r}: torchvision.models.detection has no {name!r}')
    if weights == 'DEFAULT':
        model = builder(weights='DEFAULT')
    else:
        model = builder(weights=None, weights_backbone=None)
        model.load_state_dict(torch.load(weights, map_location='cpu', weights_only=True))
    return model.to(device).eval()


def detect_persons(detector, frames, frame_indices, device, person_label=1):
    """Run ``detector`` on ``frames[i]`` for each index: ``{i: float32 [n, 5]}`` person boxes
    (x1, y1, x2, y2, score) in video pixels; ``person_label`` is COCO's "person" (1)."""
    boxes = {}
    for i in frame_indices:
        image = torch.from_numpy(np.ascontiguousarray(frames[i])).permute(2, 0, 1)
        with torch.no_grad():
            out = detector([image.to(device, torch.float32) / 255])[0]
        keep = out['labels'] == person_label
        rows = torch.cat([out['boxes'][keep], out['scores'][keep][:, None]], 1)
        boxes[i] = rows.detach().cpu().numpy().astype(np.float32).reshape(-1, 5)
    return boxes


def load_label_map(path):
    """MMAction2's AVA label map (``ID: name`` a line) as ``{id: name}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'label map {str(path)!r} does not exist')
    labels = {}
    for line, text in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
        if not text.strip():
            continue
        key, sep, name = text.partition(': ')
        if not sep or not key.strip().isdigit():
            raise _bad(path, f'line {line}', f'expected "ID: name", got {text!r}')
        labels[int(key)] = name.strip()
    return labels


def _sampling(cfg):
    for step in cfg.data.test.pipeline:
        if step.get('type') == 'SampleAVAFrames':
            return step['clip_len'], step['frame_interval']
    raise ValueError(f'{cfg.filename}: data.test.pipeline has no SampleAVAFrames step')


def _norm(cfg):
    for step in cfg.data.test.pipeline:
        if step.get('type') == 'Normalize':
            return (np.array(step['mean'], np.float32), np.array(step['std'], np.float32),
                    step.get('to_bgr', False))
    return np.zeros(3, np.float32), np.ones(3, np.float32), False


def predict(model, frames, dets, timestamps, clip_len, interval, args):
    """Per key frame: ``(boxes [n, 4] in video pixels, [[(label, score), ...] per box])``."""
    h, w = frames.shape[1:3]
    scale = args.short_side / min(h, w)
    size = (int(w * scale + 0.5), int(h * scale + 0.5))
    mean, std, to_bgr = _norm(model.cfg)
    device = next(model.parameters()).device
    labels = load_label_map(args.label_map)
    out = []
    for stamp in timestamps:
        boxes = dets.get(stamp - 1, np.zeros((0, 5), np.float32))
        boxes = boxes[boxes[:, 4] >= args.det_score_thr, :4]
        if not len(boxes):
            out.append((boxes, []))
            continue
        start = stamp - (clip_len // 2 - 1) * interval
        inds = np.clip(start + np.arange(clip_len) * interval - 1, 0, len(frames) - 1)
        clip = np.stack([cv2.resize(frames[i], size).astype(np.float32) for i in inds])
        clip = ((clip[..., ::-1] if to_bgr else clip) - mean) / std
        img = torch.from_numpy(np.ascontiguousarray(clip.transpose(3, 0, 1, 2)))[None]
        props = torch.from_numpy(boxes * np.float32(scale))
        with torch.no_grad():
            result = model(img=[img.to(device)], return_loss=False, proposals=[[props]],
                           img_metas=[[dict(img_shape=(size[1], size[0]))]])[0]
        normed = boxes / np.array([w, h, w, h], np.float32)
        found = [[] for _ in boxes]
        for cls, rows in enumerate(result, 1):
            for row in rows:
                if cls in labels and row[4] > args.action_score_thr:
                    j = int(np.abs(normed - row[:4]).sum(1).argmin())
                    found[j].append((labels[cls], float(row[4])))
        out.append((boxes, found))
    return out


def draw(frame, boxes, found):
    """Draw the boxes and their ``label score`` lines on an RGB frame (a copy)."""
    frame = frame.copy()
    for box, preds in zip(boxes, found):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(frame, (x1, y1), (x2, y2), _BOX_COLOR, 2)
        if preds:
            lines = [f'{name} {score:.2f}' for name, score in preds]
            frame = draw_text_lines(frame, lines, font_scale=0.4, origin=(x1 + 2, y1 + 12))
    return frame


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    dets = load_det_file(args.det_file) if args.det_file else None
    load_label_map(args.label_map)  # refuse a bad map before the model runs
    detector = (load_torchvision_detector(args.det_model, args.det_weights, args.device)
                if args.det_model else None)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_recognizer(cfg, checkpoint, device=args.device)
    clip_len, interval = _sampling(cfg)
    frames = read_video(args.video)
    window = clip_len * interval
    timestamps = list(range(window // 2, len(frames) + 1 - window // 2, args.predict_stepsize))
    if not timestamps:
        raise ValueError(f'{args.video}: {len(frames)} frames, fewer than one clip of {window}')
    if detector is not None:
        dets = detect_persons(detector, frames, [t - 1 for t in timestamps], args.device)
    results = predict(model, frames, dets, timestamps, clip_len, interval, args)
    dense = args.predict_stepsize // args.output_stepsize
    first = timestamps[0] - args.predict_stepsize / dense * (dense - 1) / 2
    writer = VideoOutput(args.out_filename, fps=args.output_fps)
    for k, (boxes, found) in enumerate(results):
        for n in range(dense):
            t = int(first + (k * dense + n) * args.output_stepsize)
            writer.write(draw(frames[min(max(t - 1, 0), len(frames) - 1)], boxes, found))
    writer.close()
    sys.stdout.write(f'{len(frames)} frames, {len(timestamps)} key frames; '
                     f'wrote {os.fspath(args.out_filename)}\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
