"""Every crop with odd and even margins, checked on the pixels themselves.

Each frame's pixel ``(y, x)`` holds ``(y, x, 7)``, so the top-left pixel of a crop is its
offset. Margins (frame side minus crop side) are odd on one axis and even on the other, and
not multiples of 4, so that rounding half a margin up instead of down, or putting a corner
crop at the margin instead of at 4 steps of ``margin // 4`` (MMAction2 0.24.1's fixed crops),
changes the answer. Expected offsets are worked out by hand in the comments.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from actionkit.datasets.pipelines import (CenterCrop, MultiScaleCrop, RandomCrop,
                                          RandomResizedCrop, TenCrop, ThreeCrop)


def _frames(h, w, t=2):
    ys, xs = np.mgrid[0:h, 0:w]
    frame = np.stack([ys, xs, np.full_like(ys, 7)], axis=-1).astype(np.uint8)
    return [frame.copy() for _ in range(t)]


def _results(h, w):
    return dict(imgs=_frames(h, w), img_shape=(h, w), modality='RGB')


def _top_left(img):
    return int(img[0, 0, 1]), int(img[0, 0, 0])  # (x, y)


def _offsets_seen(crop, h, w, draws, shape):
    """The top-left corners (x, y) that ``draws`` crops of h x w frames take."""
    seen = set()
    for _ in range(draws):
        out = crop(_results(h, w))
        assert out['img_shape'] == shape
        seen.add(_top_left(out['imgs'][0]))
    return seen


@pytest.mark.parametrize('h, w, crop, expected', [
    # margins w 15 - 8 = 7 (odd) -> 3, h 12 - 6 = 6 (even) -> 3
    (12, 15, (8, 6), (3, 3)),
    # margins w 10 - 4 = 6 -> 3, h 15 - 8 = 7 (odd) -> 3 (round(3.5) would give 4)
    (15, 10, (4, 8), (3, 3)),
    # margins 5 (odd) -> 2 (ceil would give 3)
    (13, 13, (8, 8), (2, 2)),
    # no margin on one axis
    (9, 9, (9, 4), (0, 2)),
])
def test_center_crop_floors_half_the_margin(h, w, crop, expected):
    out = CenterCrop(crop)(_results(h, w))
    x, y = expected
    assert out['crop_bbox'].tolist() == [x, y, x + crop[0], y + crop[1]]
    assert out['img_shape'] == (crop[1], crop[0])
    assert all(_top_left(img) == expected and img.shape[:2] == (crop[1], crop[0])
               for img in out['imgs'])


@pytest.mark.parametrize('h, w, crop, expected', [
    # crop spans the height; w margin 15 - 8 = 7, step 3: left 0, right 2 * 3 = 6, centre 3
    (8, 15, 8, [(0, 0), (6, 0), (3, 0)]),
    # w margin 16 - 8 = 8, step 4: 0, 8, 4
    (8, 16, 8, [(0, 0), (8, 0), (4, 0)]),
    # crop spans the width; h margin 13 - 8 = 5, step 2: top 0, bottom 4, centre 2
    (13, 8, 8, [(0, 0), (0, 4), (0, 2)]),
    # h margin 15 - 8 = 7, step 3: 0, 6, 3
    (15, 8, 8, [(0, 0), (0, 6), (0, 3)]),
])
def test_three_crop_offsets(h, w, crop, expected):
    out = ThreeCrop(crop)(_results(h, w))
    tops = [_top_left(img) for img in out['imgs']]
    assert tops == [offset for offset in expected for _ in range(2)]  # crop-major, 2 frames
    assert out['crop_bbox'][::2, :2].tolist() == [list(o) for o in expected]


def test_ten_crop_corners_are_four_steps_of_a_quarter_margin():
    # w margin 19 - 8 = 11 -> step 2: right corner x = 8 (not 11), centre 4;
    # h margin 12 - 6 = 6 -> step 1: bottom corner y = 4 (not 6), centre 2
    out = TenCrop((8, 6))(_results(12, 19))
    expected = [(0, 0), (8, 0), (0, 4), (8, 4), (4, 2)]
    imgs = out['imgs']
    assert len(imgs) == 20
    for k, (x, y) in enumerate(expected):
        crop, flipped = imgs[4 * k], imgs[4 * k + 2]  # 2 frames, then their 2 mirror images
        assert _top_left(crop) == (x, y)
        assert (int(flipped[0, 0, 1]), int(flipped[0, 0, 0])) == (x + 7, y)  # mirrored
        assert crop.shape[:2] == (6, 8)


@pytest.mark.parametrize('num_fixed_crops, expected', [
    # frames 14 x 19, scale 0.5 -> crop int(14 * 0.5) = 7 square; margins w 12 -> step 3,
    # h 7 -> step 1 (4 steps: 4, not 7)
    (5, {(0, 0), (12, 0), (0, 4), (12, 4), (6, 2)}),
    (13, {(0, 0), (12, 0), (0, 4), (12, 4), (6, 2), (0, 2), (12, 2), (6, 4), (6, 0), (3, 1),
          (9, 1), (3, 3), (9, 3)}),
])
def test_multi_scale_crop_fixed_positions(num_fixed_crops, expected):
    crop = MultiScaleCrop(input_size=100, scales=(0.5, ), num_fixed_crops=num_fixed_crops)
    random.seed(0)
    assert _offsets_seen(crop, 14, 19, 300, (7, 7)) == expected


def test_multi_scale_crop_random_positions_reach_both_ends():
    # crop 7 x 7 in 14 x 19: x in [0, 12], y in [0, 7], both ends included
    crop = MultiScaleCrop(input_size=100, scales=(0.5, ), random_crop=True)
    random.seed(0)
    seen = _offsets_seen(crop, 14, 19, 800, (7, 7))
    assert {x for x, _ in seen} == set(range(13)) and {y for _, y in seen} == set(range(8))


def test_random_crop_offsets_stop_one_short_of_the_margin():
    # 14 x 15 frames, size 10: margins h 4, w 5; MMAction2 0.x draws randint(0, margin), which
    # excludes the margin itself: y in 0..3, x in 0..4
    np.random.seed(0)
    seen = _offsets_seen(RandomCrop(10), 14, 15, 400, (10, 10))
    assert {x for x, _ in seen} == set(range(5)) and {y for _, y in seen} == set(range(4))
    # no margin on one axis: that offset is 0
    seen = _offsets_seen(RandomCrop(10), 10, 13, 100, (10, 10))
    assert {y for _, y in seen} == {0} and {x for x, _ in seen} == {0, 1, 2}


def test_random_resized_crop_positions_reach_both_ends():
    # 16 x 25 frames, a quarter of the area, square: 10 x 10 crops; x in [0, 15], y in [0, 6]
    crop = RandomResizedCrop(area_range=(0.25, 0.25), aspect_ratio_range=(1, 1))
    np.random.seed(0)
    random.seed(0)
    seen = _offsets_seen(crop, 16, 25, 800, (10, 10))
    assert {x for x, _ in seen} == set(range(16)) and {y for _, y in seen} == set(range(7))


def test_random_resized_crop_falls_back_to_the_centre_square():
    # aspect ratio 10 never fits: the centre 13 x 13 square of 13 x 20, x = 7 // 2 = 3
    out = RandomResizedCrop(area_range=(1, 1), aspect_ratio_range=(10, 10))(_results(13, 20))
    assert out['crop_bbox'].tolist() == [3, 0, 16, 13]
    assert _top_left(out['imgs'][0]) == (3, 0)
