"""Spatial and colour transforms: MMAction2 0.x geometry and random draws, derived by hand."""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from actionkit.datasets import PIPELINES
from actionkit.datasets.pipelines import functional as F
from actionkit.datasets.pipelines import (CenterCrop, ColorJitter, Flip, Fuse, MultiScaleCrop,
                                          Normalize, RandomCrop, RandomRescale,
                                          RandomResizedCrop, Resize, TenCrop, ThreeCrop)


def _clip(t=3, h=24, w=32, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, c), dtype=np.uint8) for _ in range(t)]


def _results(imgs, **extra):
    return dict(imgs=imgs, img_shape=imgs[0].shape[:2], modality='RGB', **extra)


# --------------------------------------------------------------------------- Resize
@pytest.mark.parametrize('scale, keep_ratio, expected_hw', [
    ((-1, 16), True, (16, 21)),      # short side 16: 32 * 16 / 24 = 21.3 -> 21
    ((16, -1), True, (16, 21)),
    ((40, 12), True, (12, 16)),      # bounded by the short side: factor 0.5
    ((20, 18), True, (15, 20)),      # bounded by the long side: factor 20 / 32
    (0.5, True, (12, 16)),
    ((10, 30), False, (30, 10)),     # (w, h)
])
def test_resize_sizes(scale, keep_ratio, expected_hw):
    imgs = _clip()
    out = Resize(scale, keep_ratio=keep_ratio)(_results(imgs))
    assert out['img_shape'] == expected_hw
    assert all(img.shape == expected_hw + (3, ) for img in out['imgs'])
    h, w = expected_hw
    assert np.allclose(out['scale_factor'], [w / 32, h / 24])
    assert out['keep_ratio'] is keep_ratio
    expected = cv2.resize(imgs[1], (w, h), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(out['imgs'][1], expected)


def test_resize_accumulates_scale_factor_and_scales_boxes_and_keypoints():
    results = _results(_clip(), gt_bboxes=np.array([[4., 4., 16., 12.]]),
                       keypoint=np.ones((1, 3, 2, 2), dtype=np.float32) * 8)
    out = Resize((16, 12), keep_ratio=False)(Resize(0.5)(results))
    assert np.allclose(out['scale_factor'], [0.5, 0.5])
    assert np.allclose(out['gt_bboxes'], [[2, 2, 8, 6]])
    assert np.allclose(out['keypoint'], 4)


def test_resize_nearest_and_unchanged_size():
    imgs = _clip()
    out = Resize((32, 24), keep_ratio=False, interpolation='nearest')(_results(imgs))
    assert all(a is b for a, b in zip(out['imgs'], imgs))  # same size: no copy
    out = Resize((8, 6), keep_ratio=False, interpolation='nearest')(_results(imgs))
    assert np.array_equal(out['imgs'][0],
                          cv2.resize(imgs[0], (8, 6), interpolation=cv2.INTER_NEAREST))


@pytest.mark.parametrize('kwargs, error', [
    (dict(scale=256), TypeError), (dict(scale=-0.5), ValueError),
    (dict(scale=(-1, 256), keep_ratio=False), ValueError),
    (dict(scale=(0, 256)), ValueError), (dict(scale=(-1, 256), interpolation='cubic'), ValueError),
])
def test_resize_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error, match='scale|interpolation|keep_ratio'):
        Resize(**kwargs)


def test_resize_accepts_lists_from_yaml_configs():
    assert Resize([-1, 256]).scale == (np.inf, 256)


def test_random_rescale_draws_the_short_side():
    np.random.seed(4)
    short = np.random.randint(16, 20 + 1)
    np.random.seed(4)
    out = RandomRescale((16, 20))(_results(_clip()))
    assert out['short_edge'] == short and min(out['img_shape']) == short


# --------------------------------------------------------------------------- crops
def test_random_crop_draws_y_then_x_from_numpy():
    np.random.seed(9)
    y = np.random.randint(0, 24 - 10)
    x = np.random.randint(0, 32 - 10)
    imgs = _clip()
    np.random.seed(9)
    out = RandomCrop(10)(_results(imgs))
    assert out['crop_bbox'].tolist() == [x, y, x + 10, y + 10]
    assert np.array_equal(out['imgs'][2], imgs[2][y:y + 10, x:x + 10])
    assert out['img_shape'] == (10, 10)
    assert np.allclose(out['crop_quadruple'], [x / 32, y / 24, 10 / 32, 10 / 24])


def test_random_resized_crop_follows_the_inception_draws():
    np.random.seed(1)
    random.seed(1)
    ratios = np.exp(np.random.uniform(np.log(3 / 4), np.log(4 / 3), size=10))
    areas = np.random.uniform(0.08, 1.0, size=10) * 24 * 32
    ws = np.round(np.sqrt(areas * ratios)).astype(int)
    hs = np.round(np.sqrt(areas / ratios)).astype(int)
    i = next(k for k in range(10) if ws[k] <= 32 and hs[k] <= 24)
    x, y = random.randint(0, 32 - ws[i]), random.randint(0, 24 - hs[i])
    np.random.seed(1)
    random.seed(1)
    out = RandomResizedCrop()(_results(_clip()))
    assert out['crop_bbox'].tolist() == [x, y, x + ws[i], y + hs[i]]
    assert out['img_shape'] == (hs[i], ws[i])


def test_random_resized_crop_falls_back_to_a_centre_square():
    # an area range no crop of the right aspect ratio can fit: after 10 tries, the centre
    out = RandomResizedCrop(area_range=(1.0, 1.0), aspect_ratio_range=(3.0, 3.0))(
        _results(_clip()))
    assert out['crop_bbox'].tolist() == [4, 0, 28, 24]


def test_multi_scale_crop_fixed_positions():
    random.seed(2)
    sizes = [[w, h] for i, h in enumerate([24, 18]) for j, w in enumerate([24, 18])
             if abs(i - j) <= 1]
    crop_w, crop_h = random.choice(sizes)
    w_step, h_step = (32 - crop_w) // 4, (24 - crop_h) // 4
    offsets = [(0, 0), (4 * w_step, 0), (0, 4 * h_step), (4 * w_step, 4 * h_step),
               (2 * w_step, 2 * h_step)]
    x, y = random.choice(offsets)
    random.seed(2)
    out = MultiScaleCrop(input_size=100, scales=(1, 0.75))(_results(_clip()))
    assert out['crop_bbox'].tolist() == [x, y, x + crop_w, y + crop_h]
    assert out['scales'] == (1, 0.75)


def test_multi_scale_crop_snaps_to_the_input_size():
    out = MultiScaleCrop(input_size=(23, 22), scales=(1, ), random_crop=True)(
        _results(_clip()))
    assert out['img_shape'] == (22, 23)  # 24 is within 2 pixels of both
    # a list of one scale (as configs written in YAML/JSON give it) is accepted too
    out = MultiScaleCrop(input_size=(23, 22), scales=[1], random_crop=True)(_results(_clip()))
    assert out['img_shape'] == (22, 23) and out['scales'] == (1, )


def test_center_crop_and_quadruple_composition():
    imgs = _clip()
    out = CenterCrop((16, 12))(_results(imgs))
    assert out['crop_bbox'].tolist() == [8, 6, 24, 18]
    assert np.array_equal(out['imgs'][0], imgs[0][6:18, 8:24])
    out = CenterCrop(8)(out)  # crop of the crop: (4, 2) inside it
    assert out['crop_bbox'].tolist() == [4, 2, 12, 10]
    assert np.allclose(out['crop_quadruple'], [12 / 32, 8 / 24, 8 / 32, 8 / 24])
    assert np.array_equal(out['imgs'][0], imgs[0][8:16, 12:20])


def test_crops_move_boxes_and_keypoints():
    results = _results(_clip(), gt_bboxes=np.array([[0., 0., 30., 20.]]),
                       proposals=np.array([[10., 10., 12., 12.]]),
                       keypoint=np.full((1, 1, 1, 2), 10.0))
    out = CenterCrop((16, 12))(results)
    assert out['gt_bboxes'].tolist() == [[0, 0, 15, 11]]
    assert out['proposals'].tolist() == [[2, 4, 4, 6]]
    assert out['keypoint'].ravel().tolist() == [2, 4]


@pytest.mark.parametrize('transform', [RandomCrop(40), CenterCrop(40), TenCrop(40)])
def test_crops_larger_than_the_frames_are_reported(transform):
    with pytest.raises(ValueError, match='larger than the frames'):
        transform(_results(_clip()))


def test_three_crop_along_the_long_side():
    imgs = _clip(t=2)
    out = ThreeCrop(24)(_results(imgs))
    assert len(out['imgs']) == 6 and out['img_shape'] == (24, 24)
    assert out['crop_bbox'][:, 0].tolist() == [0, 0, 8, 8, 4, 4]
    assert np.array_equal(out['imgs'][3], imgs[1][:, 8:32])
    with pytest.raises(ValueError, match='span'):
        ThreeCrop(20)(_results(imgs))


def test_ten_crop_corners_centre_and_mirrors():
    imgs = _clip(t=2)
    out = TenCrop((16, 12))(_results(imgs))
    assert len(out['imgs']) == 20 and out['img_shape'] == (12, 16)
    # crop-major: [upper-left x2 frames, its mirror x2, upper-right x2, mirror x2, ...]
    assert np.array_equal(out['imgs'][0], imgs[0][:12, :16])
    assert np.array_equal(out['imgs'][2], imgs[0][:12, :16][:, ::-1])
    assert np.array_equal(out['imgs'][4], imgs[0][:12, 16:32])
    assert np.array_equal(out['imgs'][16], imgs[0][6:18, 8:24])
    assert out['crop_bbox'].shape == (20, 4)


# --------------------------------------------------------------------------- Flip
def test_flip_draws_once_and_mirrors_every_frame():
    imgs = _clip()
    np.random.seed(0)
    flip = np.random.rand() < 0.5
    np.random.seed(0)
    out = Flip()(_results(imgs))
    assert out['flip'] == flip and out['flip_direction'] == 'horizontal'
    expected = [img[:, ::-1] for img in imgs] if flip else imgs
    assert all(np.array_equal(a, b) for a, b in zip(out['imgs'], expected))


def test_flip_does_not_touch_the_input_frames():
    imgs = _clip()
    before = [img.copy() for img in imgs]
    Flip(flip_ratio=1, direction='vertical')(_results(imgs))
    assert all(np.array_equal(a, b) for a, b in zip(imgs, before))


def test_flip_of_flow_inverts_the_x_frames():
    flow = _clip(t=4, c=1)
    flow = [f[..., 0] for f in flow]
    out = Flip(flip_ratio=1)(dict(imgs=flow, img_shape=(24, 32), modality='Flow'))
    assert np.array_equal(out['imgs'][0], 255 - flow[0][:, ::-1])
    assert np.array_equal(out['imgs'][1], flow[1][:, ::-1])
    with pytest.raises(ValueError, match='horizontally'):
        Flip(direction='vertical')(dict(imgs=flow, img_shape=(24, 32), modality='Flow'))


def test_flip_label_map_boxes_and_keypoints():
    results = _results(_clip(), label=3, gt_bboxes=np.array([[2., 0., 10., 5.]]),
                       keypoint=np.array([[[[4., 1.], [0., 0.], [30., 2.]]]]),
                       keypoint_score=np.array([[[0.1, 0.2, 0.3]]]))
    out = Flip(flip_ratio=1, flip_label_map={3: 4}, left_kp=[0], right_kp=[2])(results)
    assert out['label'] == 4
    assert out['gt_bboxes'].tolist() == [[22, 0, 30, 5]]
    # x mirrored (missing joint stays 0), then joints 0 and 2 swapped
    assert out['keypoint'][0, 0, :, 0].tolist() == [2, 0, 28]
    assert out['keypoint_score'][0, 0].tolist() == [0.3, 0.2, 0.1]


def test_flip_rejects_bad_direction_and_ratio():
    with pytest.raises(ValueError, match='direction'):
        Flip(direction='diagonal')
    with pytest.raises(ValueError, match='flip_ratio'):
        Flip(flip_ratio=2)


# --------------------------------------------------------------------------- Normalize
def test_normalize_rgb_and_bgr():
    imgs = _clip()
    mean, std = [100., 110., 120.], [50., 60., 70.]
    out = Normalize(mean, std)(_results(imgs))
    stacked = np.stack(imgs).astype(np.float32)
    assert out['imgs'].dtype == np.float32 and out['imgs'].shape == (3, 24, 32, 3)
    assert np.allclose(out['imgs'], (stacked - mean) / std, atol=1e-5)
    assert out['img_norm_cfg']['to_bgr'] is False
    out = Normalize(mean, std, to_bgr=True)(_results(imgs))
    assert np.allclose(out['imgs'], (stacked[..., ::-1] - mean) / std, atol=1e-5)


def test_normalize_flow_with_magnitude_adjustment():
    flow = [f[..., 0] for f in _clip(t=4, c=1)]
    results = dict(imgs=flow, modality='Flow', scale_factor=np.array([0.5, 2.0]))
    out = Normalize([128, 100], [10, 20], adjust_magnitude=True)(results)
    assert out['imgs'].shape == (2, 24, 32, 2)
    assert np.allclose(out['imgs'][1, ..., 0], (flow[2] - 128.) / 10 * 0.5, atol=1e-5)
    assert np.allclose(out['imgs'][0, ..., 1], (flow[1] - 100.) / 20 * 2.0, atol=1e-5)
    assert out['img_norm_cfg']['adjust_magnitude'] is True


@pytest.mark.parametrize('mean, std, error', [
    ('abc', [1, 2, 3], TypeError), ([1, 2], [1, 2, 3], ValueError), ([1, 2], [1, 0], ValueError),
])
def test_normalize_rejects_bad_arguments(mean, std, error):
    with pytest.raises(error, match='mean|std'):
        Normalize(mean, std)


# --------------------------------------------------------------------------- ColorJitter
def test_color_jitter_order_is_drawn_at_build_time_and_factors_per_clip():
    np.random.seed(6)
    order = np.random.permutation(4)
    factors = [np.random.uniform(0.5, 1.5) for _ in range(3)] + [np.random.uniform(-0.1, 0.1)]
    np.random.seed(6)
    jitter = ColorJitter()
    assert jitter.fn_idx.tolist() == order.tolist()
    assert np.allclose(jitter.make_params(), factors)


def test_color_jitter_brightness_only_scales_every_frame_alike():
    imgs = _clip()
    jitter = ColorJitter(brightness=(0.5, 0.5), contrast=0, saturation=0, hue=0)
    out = jitter(_results(imgs))
    for img, res in zip(imgs, out['imgs']):
        assert res.dtype == np.uint8
        assert np.array_equal(res, (img.astype(np.float32) * 0.5).astype(np.uint8))


def test_color_jitter_contrast_saturation_and_hue_kernels():
    img = _clip(t=1)[0]
    gray = 0.2989 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    out = ColorJitter(brightness=0, contrast=(0.0, 0.0), saturation=0, hue=0)(_results([img]))
    assert np.all(np.abs(out['imgs'][0].astype(float) - gray.mean()) <= 1)
    out = ColorJitter(brightness=0, contrast=0, saturation=(0.0, 0.0), hue=0)(_results([img]))
    assert np.all(np.abs(out['imgs'][0][..., 0].astype(float) - gray) <= 1)
    out = ColorJitter(brightness=0, contrast=0, saturation=0, hue=(0.2, 0.2))(_results([img]))
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + int(0.2 * 255)) % 180
    assert np.array_equal(out['imgs'][0], cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))


@pytest.mark.parametrize('kwargs', [dict(brightness=1.5), dict(hue=0.7),
                                    dict(contrast=(0.2, 2.5))])
def test_color_jitter_rejects_out_of_range(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ColorJitter(**kwargs)


# --------------------------------------------------------------------------- lazy / Fuse
def _crop_resize(img, box, size, interpolation=cv2.INTER_LINEAR):
    """What MMAction2's Fuse does to one frame: slice box (x1, y1, x2, y2), one cv2 resize."""
    x1, y1, x2, y2 = box
    return cv2.resize(img[y1:y2, x1:x2], size, interpolation=interpolation)


def test_lazy_resize_then_center_crop_fuses_into_one_crop_and_resize():
    imgs = _clip()  # 24 x 32
    out = CenterCrop(16, lazy=True)(Resize((-1, 20), lazy=True)(_results(imgs)))
    # Resize: short side 20 -> (w, h) = (27, 20), nothing resized yet
    assert out['imgs'] is imgs and out['img_shape'] == (16, 16)
    # CenterCrop on the virtual 20 x 27 frames: [5, 2, 21, 18], mapped back by 32/27 and 24/20:
    # [5.926, 2.4, 24.889, 21.6] -> Fuse rounds to [6, 2, 25, 22]
    np.testing.assert_allclose(out['lazy']['crop_bbox'],
                               [5 * 32 / 27, 2.4, 21 * 32 / 27, 21.6], rtol=1e-6)
    assert out['crop_bbox'].tolist() == [5, 2, 21, 18] and out['lazy']['interpolation'] == \
        'bilinear'
    fused = Fuse()(out)
    assert 'lazy' not in fused
    for got, img in zip(fused['imgs'], imgs):
        np.testing.assert_array_equal(got, _crop_resize(img, (6, 2, 25, 22), (16, 16)))
    eager = CenterCrop(16)(Resize((-1, 20))(_results(imgs)))
    assert not np.array_equal(eager['imgs'][0], fused['imgs'][0])  # different pixels


@pytest.mark.parametrize('crop', [RandomCrop(10), MultiScaleCrop(10, scales=(1, 0.8))])
def test_lazy_random_crops_after_a_lazy_resize(crop):
    imgs = _clip()
    crop.lazy = True
    np.random.seed(3)
    random.seed(3)
    out = crop(Resize(0.5, lazy=True)(_results(imgs)))  # virtual frames 12 x 16
    x1, y1, x2, y2 = out['crop_bbox'].tolist()
    assert out['img_shape'] == (y2 - y1, x2 - x1) == (10, 10)
    # the box in the original frames is twice the box in the half-size virtual frames
    assert out['lazy']['crop_bbox'].tolist() == [2 * x1, 2 * y1, 2 * x2, 2 * y2]
    fused = Fuse()(out)
    for got, img in zip(fused['imgs'], imgs):
        np.testing.assert_array_equal(got, _crop_resize(img, (2 * x1, 2 * y1, 2 * x2, 2 * y2),
                                                        (10, 10)))


def test_lazy_random_resized_crop_resize_and_flip():
    imgs = _clip()
    np.random.seed(0)
    random.seed(0)
    out = RandomResizedCrop(lazy=True)(_results(imgs))
    box = tuple(out['crop_bbox'].tolist())
    eager_quadruple = F.update_crop_quadruple(None, box, (24, 32))
    np.testing.assert_allclose(out['crop_quadruple'], eager_quadruple)
    out = Resize((8, 6), keep_ratio=False, interpolation='nearest', lazy=True)(out)
    out = Flip(flip_ratio=1.0, lazy=True, flip_label_map={3: 4})(dict(out, label=3))
    assert out['flip'] and out['label'] == 4 and out['lazy']['flip_direction'] == 'horizontal'
    fused = Fuse()(out)
    for got, img in zip(fused['imgs'], imgs):
        expected = _crop_resize(img, box, (8, 6), cv2.INTER_NEAREST)[:, ::-1]
        np.testing.assert_array_equal(got, expected)
    # optical flow: as MMAction2's Fuse, the lazy flip mirrors without inverting x
    flow = [img[..., 0] for img in imgs]
    out = Flip(flip_ratio=1.0, lazy=True)(dict(imgs=flow, img_shape=(24, 32),
                                                 modality='Flow'))
    np.testing.assert_array_equal(Fuse()(out)['imgs'][0], flow[0][:, ::-1])


def test_lazy_mode_errors_as_mmaction2_refuses():
    imgs = _clip()
    pending = Resize(0.5, lazy=True)(_results(imgs))
    with pytest.raises(ValueError, match='pending.*Fuse'):
        CenterCrop(8)(dict(pending))  # a non-lazy step while lazy operations wait
    with pytest.raises(ValueError, match='pending.*Fuse'):
        ThreeCrop(8)(dict(pending))
    flipped = Flip(flip_ratio=1.0, lazy=True)(_results(imgs))
    with pytest.raises(ValueError, match='put Flip after'):
        RandomCrop(8, lazy=True)(flipped)
    with pytest.raises(ValueError, match='put Flip after'):
        Flip(flip_ratio=1.0, lazy=True)(Flip(flip_ratio=1.0, lazy=True)(_results(imgs)))
    with pytest.raises(ValueError, match='no lazy operation is pending'):
        Fuse()(_results(imgs))
    with pytest.raises(ValueError, match="keypoint"):
        Resize(0.5, lazy=True)(_results(imgs, keypoint=np.zeros((1, 3, 2, 2))))


def test_config_names_build():
    for cfg in (dict(type='Resize', scale=(-1, 256), lazy=True),
                dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66),
                     random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
                dict(type='RandomResizedCrop'), dict(type='Flip', flip_ratio=0.5),
                dict(type='ThreeCrop', crop_size=256), dict(type='TenCrop', crop_size=224),
                dict(type='ColorJitter'), dict(type='RandomRescale', scale_range=(256, 320))):
        assert type(PIPELINES.build(cfg)).__name__ == cfg['type']
