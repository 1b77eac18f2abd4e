"""The deterministic kernels behind the transforms."""
from __future__ import annotations

import numpy as np
import pytest

from actionkit.datasets.pipelines import functional as F


def _frames(t=2, h=6, w=8, c=3):
    return [np.arange(h * w * c, dtype=np.uint8).reshape(h, w, c) + i for i in range(t)]


@pytest.mark.parametrize('size, scale, expected', [
    ((340, 256), (np.inf, 256), (340, 256)),
    ((320, 240), (np.inf, 256), (341, 256)),   # 320 * 256 / 240 = 341.33
    ((256, 320), (np.inf, 128), (128, 160)),
    ((100, 50), 1.5, (150, 75)),
    ((100, 50), (60, 60), (60, 30)),
])
def test_rescale_size(size, scale, expected):
    assert F.rescale_size(size, scale) == expected


def test_rescale_size_rejects_non_positive_factors():
    with pytest.raises(ValueError, match='positive'):
        F.rescale_size((10, 10), 0.0)


def test_crop_returns_views_and_works_on_stacks():
    imgs = _frames()
    crops = F.crop(imgs, (2, 1, 6, 4))
    assert crops[0].shape == (3, 4, 3) and np.shares_memory(crops[0], imgs[0])
    stacked = F.crop(np.stack(imgs), (2, 1, 6, 4))
    assert stacked.shape == (2, 3, 4, 3) and np.array_equal(stacked[1], crops[1])


@pytest.mark.parametrize('direction, axis', [('horizontal', 1), ('vertical', 0)])
def test_flip_lists_and_stacks_without_touching_inputs(direction, axis):
    imgs = _frames()
    copy = [img.copy() for img in imgs]
    flipped = F.flip(imgs, direction)
    assert np.array_equal(flipped[0], np.flip(copy[0], axis=axis))
    assert all(np.array_equal(a, b) for a, b in zip(imgs, copy))
    stacked = F.flip(np.stack(imgs), direction)
    assert stacked.flags.c_contiguous and np.array_equal(stacked[1], flipped[1])
    with pytest.raises(ValueError, match='direction'):
        F.flip(imgs, 'diagonal')


def test_normalize_matches_the_formula_and_copies():
    imgs = np.stack(_frames()).astype(np.float32)
    before = imgs.copy()
    out = F.normalize(imgs, np.array([1., 2., 3.]), np.array([2., 4., 8.]))
    assert np.allclose(out, (before - [1, 2, 3]) / [2, 4, 8], atol=1e-6)
    assert np.array_equal(imgs, before) and out.dtype == np.float32


def test_normalize_flow_needs_pairs():
    with pytest.raises(ValueError, match='pairs'):
        F.normalize_flow([np.zeros((2, 2))] * 3, [0, 0], [1, 1])


def test_crop_quadruple_and_boxes():
    quad = F.update_crop_quadruple(None, (10, 20, 50, 60), (100, 200))
    assert np.allclose(quad, [0.05, 0.2, 0.2, 0.4])
    quad = F.update_crop_quadruple(quad, (0, 0, 20, 20), (40, 40))
    assert np.allclose(quad, [0.05, 0.2, 0.1, 0.2])
    boxes = np.array([[5., 5., 100., 100.]])
    assert F.crop_boxes(boxes, (10, 0, 50, 30)).tolist() == [[0, 5, 39, 29]]
    assert F.flip_boxes(boxes, 200).tolist() == [[100, 5, 195, 100]]
    assert F.resize_boxes(boxes, np.array([2., 0.5])).tolist() == [[10, 2.5, 200, 50]]


def test_fixed_crop_offsets():
    assert F.fixed_crop_offsets((20, 12), (12, 8), 5) == [(0, 0), (8, 0), (0, 4), (8, 4),
                                                           (4, 2)]
    assert len(F.fixed_crop_offsets((20, 12), (12, 8), 13)) == 13
    with pytest.raises(ValueError, match='5 or 13'):
        F.fixed_crop_offsets((20, 12), (12, 8), 7)


def test_resize_keeps_frames_of_the_right_size():
    imgs = _frames()
    assert F.resize(imgs, (8, 6))[0] is imgs[0]
    assert F.resize(imgs, (4, 3))[0].shape == (3, 4, 3)


def test_normalize_uint8_lookup_matches_float_arithmetic():
    frames = [f[1:5, 2:7] for f in _frames()]  # views, as after a crop
    mean, std = np.array([10., 20., 30.]), np.array([3., 5., 7.])
    for to_bgr in (False, True):
        by_table = F.normalize(frames, mean, std, to_bgr)
        by_math = F.normalize(np.stack(frames).astype(np.float32), mean, std, to_bgr)
        assert by_table.dtype == np.float32 and by_table.shape == (2, 4, 5, 3)
        assert np.allclose(by_table, by_math, atol=1e-5)
    with pytest.raises(ValueError, match='same shape'):
        F.normalize([frames[0], frames[1][:2]], mean, std)
