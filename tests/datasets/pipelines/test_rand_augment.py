"""PytorchVideoWrapper's RandAugment / AugMix (pytorchvideo's rules, reimplemented)."""
import collections

import numpy as np
import pytest
import torch

from actionkit.datasets.pipelines import Compose
from actionkit.datasets.pipelines import rand_augment as ra


def _frame(values):
    """A [1, 3, H, W] uint8 clip whose three channels all hold ``values``."""
    return torch.tensor(values, dtype=torch.uint8).expand(1, 3, *np.shape(values)).clone()


def test_randaugment_draws_distinct_ops_uniformly_with_prob():
    torch.manual_seed(0)
    aug = ra.RandAugment(magnitude=7, num_layers=4, prob=1.0)
    counts = collections.Counter()
    levels = []
    for _ in range(1400):
        plan = aug.plan()
        names = [name for name, _ in plan]
        assert len(names) == 4 and len(set(names)) == 4  # without replacement
        counts.update(names)
        levels += [abs(args[0]) for name, args in plan if name == 'Rotate']
    assert sorted(counts) == sorted(ra.VIDEO_OPS)
    # each of 14 ops: 1400 * 4 / 14 = 400 expected; 3 sigma ~ 50
    assert all(340 < n < 460 for n in counts.values()), counts
    # Rotate: |angle| = level / 10 * 30 with level ~ N(7, 0.5): mean 21 degrees, std 1.5
    assert abs(np.mean(levels) - 21.0) < 0.5 and 1.2 < np.std(levels) < 1.8
    torch.manual_seed(0)
    half = ra.RandAugment(magnitude=7, num_layers=4, prob=0.5)
    applied = sum(len(half.plan()) for _ in range(1000))
    assert 1850 < applied < 2150  # 4 ops x 1000 clips x prob 0.5


def test_level_rules_match_pytorchvideo():
    torch.manual_seed(1)
    signs = {round(ra.op_argument('AdjustBrightness', 5.0)[0], 6) for _ in range(50)}
    assert signs == {1.45, 0.55}  # 1 +- 0.9 * 5 / 10, either sign
    assert ra.op_argument('AdjustBrightness', 5.0, augmix=True) == (pytest.approx(1.0), )
    assert ra.op_argument('Posterize', 7.0) == (2, )  # 4 - int(4 * 0.7)
    assert ra.op_argument('Solarize', 7.0) == (pytest.approx(0.3), )
    assert ra.op_argument('Invert', 7.0) == ()
    assert abs(ra.op_argument('TranslateX', 10.0, augmix=True)[0]) == pytest.approx(1 / 3)


def test_hand_worked_kernels():
    img = _frame([[10, 20, 30], [40, 50, 60], [70, 80, 90]])
    # rotate 90 degrees counter-clockwise: the top row becomes the left column, reversed
    assert ra.rotate(img, 90.0)[0, 0].tolist() == [[30, 60, 90], [20, 50, 80], [10, 40, 70]]
    # translate by a third of the width: columns move left, the last one is filled (0.5 -> 0)
    assert ra.translate_x(img, 1 / 3)[0, 0].tolist() == [[20, 30, 0], [50, 60, 0], [80, 90, 0]]
    assert ra.posterize(_frame([[183]]), 4)[0, 0].tolist() == [[176]]  # 0b10110111 -> 0b1011..
    assert ra.adjust_brightness(_frame([[100, 200]]), 1.63)[0, 0].tolist() == [[163, 255]]
    # autocontrast stretches [50, 150] to [0, 255]: 100 -> 127.5, truncated
    assert ra.autocontrast(_frame([[50, 100, 150]]))[0, 0].tolist() == [[0, 127, 255]]
    # solarize at pytorchvideo's fraction threshold 0.3 inverts every non-black pixel
    assert ra.solarize(_frame([[0, 1, 200]]), 0.3)[0, 0].tolist() == [[0, 254, 55]]
    # contrast 0.5 against the frame's mean grey: the luma weights sum to 0.9999, so grey
    # 20 -> 19.998 -> 19 and 100 -> 99 (truncated, as torchvision); mean 59;
    # 0.5 * 20 + 0.5 * 59 = 39.5 -> 39, 0.5 * 100 + 29.5 = 79.5 -> 79
    assert ra.adjust_contrast(_frame([[20, 100]]), 0.5)[0, 0].tolist() == [[39, 79]]


def test_wrapper_through_compose_keeps_frames_uint8_and_refuses_others():
    pipeline = Compose([dict(type='PytorchVideoWrapper', op='RandAugment', magnitude=7,
                             num_layers=4)])
    frames = list(np.random.RandomState(0).randint(0, 256, (4, 16, 20, 3)).astype(np.uint8))
    torch.manual_seed(3)
    out = pipeline(dict(imgs=list(frames)))['imgs']
    assert len(out) == 4 and out[0].shape == (16, 20, 3) and out[0].dtype == np.uint8
    torch.manual_seed(3)
    plan = ra.RandAugment(magnitude=7, num_layers=4).plan()
    video = torch.from_numpy(np.stack(frames).transpose(0, 3, 1, 2).copy())
    assert np.array_equal(np.stack(out), ra.apply_plan(video, plan).numpy().transpose(0, 2, 3, 1))
    torch.manual_seed(3)
    mixed = Compose([dict(type='PytorchVideoWrapper', op='AugMix')])(dict(imgs=list(frames)))
    assert mixed['imgs'][0].dtype == np.uint8 and not np.array_equal(mixed['imgs'][0], frames[0])
    with pytest.raises(ValueError, match="op 'ShortSideScale' is not reimplemented; use"):
        Compose([dict(type='PytorchVideoWrapper', op='ShortSideScale', size=8)])
    with pytest.raises(ValueError, match='num_layers must be an int in'):
        Compose([dict(type='PytorchVideoWrapper', op='RandAugment', num_layers=15)])
    with pytest.raises(TypeError, match='needs uint8 frames'):
        pipeline(dict(imgs=[np.zeros((4, 4, 3), np.float32)]))
