"""``tools/test.py CONFIG CKPT --show-dir DIR`` for MMAction2 1.x files: the test clips' frames
with the prediction drawn on them, where 1.x's ``VisualizationHook`` puts them.

For every ``interval``-th test sample the frames the model saw (the test pipeline's output,
first view) are written as ``DIR/{video name}_0/frames_0/{k}.png``, each with the lines
``Frame k of total n frames``, ``Ground truth: LABEL (class)`` and ``Prediction: LABEL, SCORE
(class)``. (1.2.0 draws only the first line: it looks up ``gt_labels`` / ``pred_labels``, which
its data samples no longer have.) Samples whose input is not RGB frames (skeleton heatmaps,
keypoints, audio) are counted and skipped.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ['write_show_dir', 'sample_frames']

logger = logging.getLogger(__name__)


def sample_frames(item: Mapping[str, Any]) -> np.ndarray | None:
    """The RGB frames ``[T, H, W, 3]`` uint8 of one packed test sample (its first view), or
    None when its input is not RGB frames."""
    imgs = item.get('imgs') if isinstance(item, Mapping) else None
    if imgs is None:
        return None
    array = np.asarray(imgs.numpy() if hasattr(imgs, 'numpy') else imgs)
    if array.ndim == 5 and array.shape[1] == 3:  # NCTHW: [views, C, T, H, W]
        frames = array[0].transpose(1, 2, 3, 0)
    elif array.ndim == 4 and array.shape[1] == 3:  # NCHW: [views x frames, C, H, W]
        frames = array.transpose(0, 2, 3, 1)
    else:
        return None
    return np.ascontiguousarray(np.clip(frames, 0, 255).astype(np.uint8))


def _sample_name(dataset: Any, index: int) -> str:
    infos = getattr(dataset, 'video_infos', None)
    info = infos[index] if isinstance(infos, Sequence) and index < len(infos) else {}
    for key in ('filename', 'frame_dir'):
        if isinstance(info, Mapping) and info.get(key):
            return os.path.basename(str(info[key]).rstrip('/'))
    return str(index)


def _class_name(label: int, classes: Sequence[str] | None) -> str:
    """`` (name)`` of ``label`` when the dataset names its classes, else ``''``."""
    return f' ({classes[label]})' if classes is not None and 0 <= label < len(classes) else ''


def _lines(record: Mapping[str, Any], classes: Sequence[str] | None) -> list[str]:
    lines = []
    if record.get('gt_label') is not None:
        labels = [int(x) for x in np.asarray(record['gt_label']).reshape(-1)]
        lines.append('Ground truth: ' + ', '.join(f'{x}{_class_name(x, classes)}'
                                                  for x in labels))
    if record.get('pred_score') is not None:
        scores = np.asarray(record['pred_score'], dtype=np.float64).reshape(-1)
        top = int(scores.argmax())
        lines.append(f'Prediction: {top}, {scores[top]:.2f}{_class_name(top, classes)}')
    return lines


def write_show_dir(show_dir: str, dataset: Any, records: Sequence[Mapping[str, Any]],
                   interval: int = 1) -> int:
    """Write every ``interval``-th sample's frames with its labels (see the module); return
    how many samples were drawn."""
    import cv2

    from ..errors import DataError
    from ..visualization import draw_text_lines

    if not isinstance(interval, int) or interval < 1:
        raise ValueError(f'--interval must be a positive integer, got {interval!r}')
    classes = getattr(dataset, 'CLASSES', None)
    classes = list(classes) if isinstance(classes, Sequence) and not isinstance(
        classes, str) else None
    drawn = skipped = 0
    for index in range(0, len(records), interval):
        try:
            frames = sample_frames(dataset[index])
        except (DataError, OSError) as err:  # the test itself skipped and counted it
            logger.warning('--show-dir: sample %d: %s', index, err)
            frames = None
        if frames is None:
            skipped += 1
            continue
        folder = os.path.join(show_dir, f'{_sample_name(dataset, index)}_0', 'frames_0')
        os.makedirs(folder, exist_ok=True)
        lines = _lines(records[index], classes)
        scale = float(np.clip(min(frames.shape[1:3]) / 320, 0.3, 1.0))
        for k, frame in enumerate(frames):
            text = [f'Frame {k} of total {len(frames)} frames', *lines]
            image = draw_text_lines(frame, text, font_scale=scale)
            if not cv2.imwrite(os.path.join(folder, f'{k}.png'), image[:, :, ::-1]):
                raise OSError(f'--show-dir: cannot write {os.path.join(folder, f"{k}.png")}')
        drawn += 1
    if skipped:
        logger.warning('--show-dir: %d of %d samples have no RGB frames to draw on (skeleton, '
                       'audio or feature inputs); skipped', skipped, drawn + skipped)
    logger.info('--show-dir: the frames of %d samples with their predictions are in %s',
                drawn, show_dir)
    return drawn
