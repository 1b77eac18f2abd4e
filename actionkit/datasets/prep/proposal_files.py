"""Proposal lists with normalized times turned into frame numbers:
``tools/data/denormalize_proposal_file.py``.

SSN's THUMOS'14 proposal lists are distributed with times as fractions of the video
(``normalized_*.txt``). :class:`~actionkit.datasets.ssn_dataset.SSNDataset` reads the same
list without ``normalized_`` in its name, with frame numbers. The frame count of each video
is the number of RGB frames (``img_*``) in its folder under the rawframe root, as in
MMAction2. Each block of the output reads::

    # <index>
    <frame folder name>
    <number of frames>
    1
    <number of ground-truth instances>
    <label> <start frame> <end frame>                       (one line each)
    <number of proposals>
    <label> <best_iou> <overlap_self> <start frame> <end frame>   (one line each)

Frame numbers are ``int(fraction * number of frames)`` (truncated); the IoUs keep 4 decimals.

Example:
    >>> denormalize_proposal_file('data/thumos14/thumos14_tag_val_normalized_proposal_list.txt',
    ...                           'data/thumos14/rawframes/val')  # doctest: +SKIP
    PosixPath('data/thumos14/thumos14_tag_val_proposal_list.txt')
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..ssn_dataset import load_localize_proposal_file
from ...utils.atomic import write_text_atomic
from .file_lists import scan_rawframes

__all__ = ['denormalized_path', 'denormalize_proposals', 'denormalize_proposal_file']

logger = logging.getLogger(__name__)


def denormalized_path(norm_proposal_file: str | os.PathLike) -> Path:
    """The output name: ``normalized_`` removed from the file name (MMAction2's rule)."""
    path = Path(norm_proposal_file)
    name = path.name.replace('normalized_', '')
    if name == path.name:
        raise ValueError(f'{path}: the name of a normalized proposal file holds '
                         "'normalized_' (the output is the same name without it)")
    return path.with_name(name)


def _block(index: int, video_id: str, num_frames: int, gts: Sequence[Sequence[str]],
           proposals: Sequence[Sequence[str]]) -> str:
    lines = [f'# {index}', video_id, str(num_frames), '1', str(len(gts))]
    lines += [f'{int(g[0])} {int(float(g[1]) * num_frames)} {int(float(g[2]) * num_frames)}'
              for g in gts]
    lines.append(str(len(proposals)))
    lines += [f'{int(p[0])} {float(p[1]):.04f} {float(p[2]):.04f} '
              f'{int(float(p[3]) * num_frames)} {int(float(p[4]) * num_frames)}'
              for p in proposals]
    return '\n'.join(lines) + '\n'


def denormalize_proposals(norm_proposal_file: str | os.PathLike,
                          frame_counts: Mapping[str, int]) -> str:
    """The text of the denormalized list.

    Args:
        norm_proposal_file: the list with normalized times.
        frame_counts: ``{video id: number of frames}``.

    Returns:
        str: the list with frame numbers.

    Raises:
        AnnotationError: a malformed block (file and line named).
        KeyError: a video of the list has no frame count (file, block and video named).
    """
    source = os.fspath(norm_proposal_file)
    blocks = []
    for index, (video_id, _, gts, proposals) in enumerate(load_localize_proposal_file(source)):
        if video_id not in frame_counts:
            raise KeyError(f'{source}: video {video_id!r} (block # {index}) has no frame folder '
                           f'among the {len(frame_counts)} found; check --data-prefix')
        blocks.append(_block(index, video_id, frame_counts[video_id], gts, proposals))
    return ''.join(blocks)


def denormalize_proposal_file(norm_proposal_file: str | os.PathLike,
                              data_prefix: str | os.PathLike,
                              rgb_prefix: str = 'img_') -> Path:
    """Write the denormalized list beside the normalized one (``normalized_`` removed).

    Args:
        norm_proposal_file: the list with normalized times.
        data_prefix: the folder holding one rawframe folder per video (named by video id).
        rgb_prefix: the RGB frames' name prefix; they are counted per folder.

    Returns:
        Path: the file written.
    """
    target = denormalized_path(norm_proposal_file)
    counts = {name: rgb for name, (rgb, _) in
              scan_rawframes(data_prefix, level=1, rgb_prefix=rgb_prefix).items()}
    text = denormalize_proposals(norm_proposal_file, counts)
    write_text_atomic(target, text)
    logger.info('wrote %s (%d videos)', target,
                sum(line.startswith('# ') for line in text.splitlines()))
    return target
