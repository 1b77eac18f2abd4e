"""Learning check for the AVA detector: a synthetic AVA-like set that needs motion.

Each 4-frame 64x64 clip holds two grey squares on noise. Each square does one or two actions:
it moves left (action 1) or right (action 2), and some also blink (action 3: the brightness
alternates between a bright and a dim value, starting with either; a steady square keeps one
brightness, bright or dim, drawn from the same ranges). A single frame can tell neither left
from right nor a blink. The detector gets the ground-truth boxes of the key frame (the middle
frame), jittered, as proposals, like AVA's person boxes. It is a ``FastRCNN`` with ``AVARoIHead``,
``SingleRoIExtractor3D`` (RoIAlign, no temporal pool) and ``BBoxHeadAVA``, on a small 3D-conv
backbone. Evaluation writes MMAction2's result CSV and runs ``ava_eval`` (frame mAP@0.5). The
same detector with random scores gives the chance level; ``--static`` (every frame replaced by
the key frame) is the control that shows the score needs motion.

Usage:
    python benchmarks/ava_learning_check.py [--train 320] [--val 120] [--epochs 12]
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from actionkit.evaluation.ava import ava_eval, results2csv
from actionkit.models import build_model

SIZE, T, SQUARE, NUM_CLASSES = 64, 4, 14, 4


def make_clip(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A clip [3, T, H, W], its key-frame boxes [2, 4] (pixels) and labels [2, NUM_CLASSES]."""
    clip = rng.normal(0, .3, (3, T, SIZE, SIZE)).astype(np.float32)
    boxes, labels = [], []
    for row in (rng.integers(2, 14), rng.integers(34, 46)):  # one square per half
        direction = rng.choice([-1, 1])
        blink = rng.random() < .5
        x0 = rng.integers(14, 36)
        label = np.zeros(NUM_CLASSES, np.float32)
        label[1 if direction < 0 else 2] = 1
        label[3] = blink
        # any one frame shows a brightness in [0.5, 1.5]; only a blinking square changes it
        bright, dim = rng.uniform(1.1, 1.5), rng.uniform(.5, .9)
        steady = rng.choice([rng.uniform(.5, .9), rng.uniform(1.1, 1.5)])
        phase = rng.integers(2)
        for t in range(T):
            x = x0 + direction * 3 * (t - T // 2)
            value = (bright if (t + phase) % 2 else dim) if blink else steady
            clip[:, t, row:row + SQUARE, x:x + SQUARE] = value
        x = x0  # the key frame is t = T // 2
        boxes.append([x, row, x + SQUARE, row + SQUARE])
        labels.append(label)
    return clip, np.array(boxes, np.float32), np.stack(labels)


def build_detector() -> nn.Module:
    backbone = nn.Sequential(
        nn.Conv3d(3, 16, 3, stride=(1, 2, 2), padding=1), nn.ReLU(),
        nn.Conv3d(16, 32, 3, stride=(1, 2, 2), padding=1), nn.ReLU(),
        nn.Conv3d(32, 32, 3, padding=1), nn.ReLU())  # stride 4
    return build_model(dict(
        type='FastRCNN', backbone=backbone,
        roi_head=dict(type='AVARoIHead',
                      bbox_roi_extractor=dict(type='SingleRoIExtractor3D', output_size=4,
                                              featmap_stride=4, with_temporal_pool=False),
                      bbox_head=dict(type='BBoxHeadAVA', in_channels=32,
                                     num_classes=NUM_CLASSES, topk=(1,),
                                     temporal_pool_type='max')),
        train_cfg=dict(rcnn=dict(
            assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=.9, neg_iou_thr=.9,
                          min_pos_iou=.9),
            sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1,
                         add_gt_as_proposals=True), pos_weight=1.)),
        test_cfg=dict(rcnn=dict(action_thr=.002))))


def jitter(boxes: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    return torch.from_numpy(boxes + rng.uniform(-1, 1, boxes.shape).astype(np.float32))


def write_gt(folder: Path, val: list) -> tuple[Path, Path]:
    lines = []
    for i, (_, boxes, labels) in enumerate(val):
        for person, (box, label) in enumerate(zip(boxes / SIZE, labels)):
            for action in np.flatnonzero(label):
                lines.append(f'clip{i},0902,' + ','.join(f'{v:.3f}' for v in box) +
                             f',{action},{person}')
    (folder / 'gt.csv').write_text('\n'.join(lines) + '\n')
    names = ('left', 'right', 'blink')
    (folder / 'labels.pbtxt').write_text(''.join(
        f'item {{\n  name: "{n}"\n  id: {i}\n}}\n' for i, n in enumerate(names, 1)))
    return folder / 'gt.csv', folder / 'labels.pbtxt'


def evaluate(model: nn.Module, val: list, folder: Path, rng: np.random.Generator,
             random_scores: bool = False) -> float:
    model.eval()
    results = []
    with torch.no_grad():
        for clip, boxes, _ in val:
            out = model(img=[torch.from_numpy(clip)[None]], return_loss=False,
                        img_metas=[[dict(img_shape=(SIZE, SIZE))]],
                        proposals=[[jitter(boxes, rng)]])[0]
            if random_scores:
                out = [np.concatenate([r[:, :4], rng.random((len(r), 1))], 1) for r in out]
            results.append(out)
    results2csv([(f'clip{i}', 902) for i in range(len(val))], results, folder / 'res.csv')
    gt, labels = write_gt(folder, val)
    return ava_eval(folder / 'res.csv', 'mAP', labels, gt, None, verbose=True)['mAP@0.5IOU']


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', type=int, default=320)
    parser.add_argument('--val', type=int, default=120)
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--static', action='store_true',
                        help='control: every frame is the key frame (no motion to see)')
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train = [make_clip(rng) for _ in range(args.train)]
    val = [make_clip(rng) for _ in range(args.val)]
    if args.static:
        train, val = ([(np.repeat(c[:, T // 2:T // 2 + 1], T, axis=1), b, lab)
                       for c, b, lab in split] for split in (train, val))
    model = build_detector()
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        chance = evaluate(model, val, Path(tmp), rng, random_scores=True)
        for epoch in range(args.epochs):
            model.train()
            order = rng.permutation(len(train))
            losses = []
            for i in range(0, len(order), args.batch):
                items = [train[j] for j in order[i:i + args.batch]]
                batch = dict(img=torch.from_numpy(np.stack([c for c, _, _ in items])),
                             img_metas=[{} for _ in items],
                             proposals=[jitter(b, rng) for _, b, _ in items],
                             gt_bboxes=[torch.from_numpy(b) for _, b, _ in items],
                             gt_labels=[torch.from_numpy(lab) for _, _, lab in items])
                out = model.train_step(batch)
                optim.zero_grad()
                out['loss'].backward()
                optim.step()
                losses.append(out['loss'].item())
            print(f'epoch {epoch + 1}: loss {np.mean(losses):.4f}')
        final = evaluate(model, val, Path(tmp), rng)
    print(f'frame mAP@0.5: {final:.4f} after {args.epochs} epochs '
          f'({time.perf_counter() - start:.0f} s); random scores: {chance:.4f}')


if __name__ == '__main__':
    main()
