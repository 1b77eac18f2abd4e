"""``PytorchVideoWrapper``: MMAction2 1.x's RandAugment / AugMix, without pytorchvideo.

MMAction2 1.x hands the frames to pytorchvideo's ``RandAugment`` or ``AugMix`` (the MViT and
UniFormerV2 configs use ``RandAugment(magnitude=7, num_layers=4)``). Those run
torchvision's tensor kernels on a ``[T, C, H, W]`` uint8 clip. This module reimplements the
same 14 operations, level-to-argument rules, magnitude sampling and op sampling in plain
torch, so the configs train the same augmentation with neither library installed.

RandAugment: ``num_layers`` distinct ops are drawn uniformly (without replacement); each is
applied with probability ``prob``, at a level drawn from ``N(magnitude, 0.5)`` clipped to
``[0, 10]``. AugMix: ``width`` chains of 1-3 ops (or ``depth``) drawn with replacement, each
op at a level uniform in ``[0.1, magnitude)``, mixed with Dirichlet(``alpha``) weights and
then with the clip itself by a Beta(``alpha``, ``alpha``) weight. Random numbers come from
torch's global generator, as in pytorchvideo.

Every op keeps the clip uint8 as torchvision does: colour blends truncate, geometric ops
round, and the area a rotation / shear / translation uncovers is filled with 0.5 (pixel
units, i.e. black after rounding). As in pytorchvideo on uint8 clips, ``Solarize``'s
threshold is the fraction ``1 - level / 10`` used as a pixel value, so it inverts every
non-black pixel.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..builder import PIPELINES

__all__ = ['PytorchVideoWrapper', 'RandAugment', 'AugMix', 'VIDEO_OPS', 'op_argument',
           'apply_plan']

_MAX_LEVEL = 10
_FILL = 0.5


def _blend(img: torch.Tensor, other: torch.Tensor | float, ratio: float) -> torch.Tensor:
    """torchvision's ``_blend`` on uint8: ``ratio * img + (1 - ratio) * other``, truncated."""
    out = ratio * img.float() + (1.0 - ratio) * other
    return out.clamp(0, 255).to(torch.uint8)


def _gray(video: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma of ``[T, 3, H, W]`` uint8, truncated to uint8: ``[T, 1, H, W]``."""
    r, g, b = video.float().unbind(dim=-3)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(torch.uint8).unsqueeze(-3)


def adjust_brightness(video: torch.Tensor, factor: float) -> torch.Tensor:
    return _blend(video, 0.0, factor)


def adjust_contrast(video: torch.Tensor, factor: float) -> torch.Tensor:
    mean = _gray(video).float().mean(dim=(-3, -2, -1), keepdim=True)  # one mean a frame
    return _blend(video, mean, factor)


def adjust_saturation(video: torch.Tensor, factor: float) -> torch.Tensor:
    return _blend(video, _gray(video).float(), factor)


def adjust_sharpness(video: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the 3x3-smoothed clip (centre weight 5 of 13); the border stays."""
    if video.shape[-1] <= 2 or video.shape[-2] <= 2:
        return video
    t, c, h, w = video.shape
    kernel = torch.ones(3, 3)
    kernel[1, 1] = 5.0
    kernel = (kernel / kernel.sum()).expand(c, 1, 3, 3)
    smooth = F.conv2d(video.float(), kernel, groups=c).round()
    degenerate = video.float().clone()
    degenerate[..., 1:-1, 1:-1] = smooth
    return _blend(video, degenerate, factor)


def autocontrast(video: torch.Tensor) -> torch.Tensor:
    """Stretch each frame's channel from its [min, max] to [0, 255]."""
    x = video.float()
    low = x.amin(dim=(-2, -1), keepdim=True)
    high = x.amax(dim=(-2, -1), keepdim=True)
    flat = high == low
    scale = torch.where(flat, torch.ones_like(x[..., :1, :1]), 255.0 / (high - low))
    low = torch.where(flat, torch.zeros_like(low), low)
    return ((x - low) * scale).clamp(0, 255).to(torch.uint8)


def _equalize_channel(channel: torch.Tensor) -> torch.Tensor:
    hist = torch.bincount(channel.reshape(-1).long(), minlength=256).float()
    nonzero = hist[hist != 0]
    step = torch.div(nonzero[:-1].sum(), 255, rounding_mode='floor')
    if step == 0:
        return channel
    lut = torch.div(torch.cumsum(hist, 0) + torch.div(step, 2, rounding_mode='floor'), step,
                    rounding_mode='floor')
    lut = torch.cat([lut.new_zeros(1), lut[:-1]]).clamp(0, 255)
    return lut[channel.long()].to(torch.uint8)


def equalize(video: torch.Tensor) -> torch.Tensor:
    """PIL-style histogram equalisation of each frame's channel."""
    t, c = video.shape[:2]
    return torch.stack([torch.stack([_equalize_channel(video[i, j]) for j in range(c)])
                        for i in range(t)])


def invert(video: torch.Tensor) -> torch.Tensor:
    return 255 - video


def posterize(video: torch.Tensor, bits: int) -> torch.Tensor:
    """Keep the ``bits`` high bits of each value (8 or more: unchanged)."""
    if bits >= 8:
        return video
    return video & (256 - 2 ** (8 - int(bits)))  # bits=4: & 0b11110000


def solarize(video: torch.Tensor, threshold: float) -> torch.Tensor:
    return torch.where(video >= threshold, 255 - video, video)


def _affine(video: torch.Tensor, matrix: Sequence[float]) -> torch.Tensor:
    """Resample by the inverse affine ``matrix`` (output -> input, pixel units about the
    centre), bilinear, the uncovered area filled with 0.5, rounded: torchvision's ``affine``."""
    t, c, h, w = video.shape
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    xs = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w)
    ys = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h)
    base = torch.stack([xs.expand(h, w), ys[:, None].expand(h, w), torch.ones(h, w)], -1)
    scaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h])
    grid = (base.reshape(1, h * w, 3) @ scaled).reshape(1, h, w, 2).expand(t, h, w, 2)
    x = torch.cat([video.float(), torch.ones(t, 1, h, w)], dim=1)
    out = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    mask = out[:, -1:]
    out = out[:, :-1] * mask + (1.0 - mask) * _FILL
    return out.round().clamp(0, 255).to(torch.uint8)


def rotate(video: torch.Tensor, angle: float) -> torch.Tensor:
    """Rotate by ``angle`` degrees counter-clockwise about the centre."""
    rad = math.radians(angle)
    return _affine(video, [math.cos(rad), -math.sin(rad), 0.0,
                           math.sin(rad), math.cos(rad), 0.0])


def shear_x(video: torch.Tensor, factor: float) -> torch.Tensor:
    return _affine(video, [1.0, factor, video.shape[-2] * factor / 2, 0.0, 1.0, 0.0])


def shear_y(video: torch.Tensor, factor: float) -> torch.Tensor:
    return _affine(video, [1.0, 0.0, 0.0, factor, 1.0, video.shape[-1] * factor / 2])


def translate_x(video: torch.Tensor, factor: float) -> torch.Tensor:
    return _affine(video, [1.0, 0.0, factor * video.shape[-1], 0.0, 1.0, 0.0])


def translate_y(video: torch.Tensor, factor: float) -> torch.Tensor:
    return _affine(video, [1.0, 0.0, 0.0, 0.0, 1.0, factor * video.shape[-2]])


# --- levels to arguments ------------------------------------------------------------------

def _negate_half(value: float) -> float:
    return value if torch.rand(1).item() > 0.5 else -value


def _up_signed(level: float, base: float, span: float) -> float:
    return base + _negate_half(level / _MAX_LEVEL * span)


def _up(level: float, base: float, span: float) -> float:
    return base + level / _MAX_LEVEL * span


def _down_int(level: float, base: float, span: float) -> int:
    return int(base - int(level / _MAX_LEVEL * span))


def _down(level: float, base: float, span: float) -> float:
    return base - level / _MAX_LEVEL * span


# name -> (kernel, level rule or None, (base, span) of RandAugment, (base, span) of AugMix)
VIDEO_OPS: dict[str, tuple[Callable, Any, Any, Any]] = {
    'AdjustBrightness': (adjust_brightness, 'color', (1, 0.9), (0.1, 1.8)),
    'AdjustContrast': (adjust_contrast, 'color', (1, 0.9), (0.1, 1.8)),
    'AdjustSaturation': (adjust_saturation, 'color', (1, 0.9), (0.1, 1.8)),
    'AdjustSharpness': (adjust_sharpness, 'color', (1, 0.9), (0.1, 1.8)),
    'AutoContrast': (autocontrast, None, None, None),
    'Equalize': (equalize, None, None, None),
    'Invert': (invert, None, None, None),  # RandAugment only
    'Rotate': (rotate, _up_signed, (0, 30), (0, 30)),
    'Posterize': (posterize, _down_int, (4, 4), (4, 4)),
    'Solarize': (solarize, _down, (1, 1), (1, 1)),
    'ShearX': (shear_x, _up_signed, (0, 0.3), (0, 0.3)),
    'ShearY': (shear_y, _up_signed, (0, 0.3), (0, 0.3)),
    'TranslateX': (translate_x, _up_signed, (0, 0.45), (0, 1.0 / 3.0)),
    'TranslateY': (translate_y, _up_signed, (0, 0.45), (0, 1.0 / 3.0)),
}


def op_argument(name: str, level: float, augmix: bool = False) -> tuple:
    """The kernel arguments of op ``name`` at ``level`` (0-10): RandAugment moves the colour
    factors ``1 +- 0.9 * level / 10`` (sign at random), AugMix ``0.1 + 1.8 * level / 10``; the
    other rules are shared. Ops without an argument give ``()``."""
    _, rule, randaug_params, augmix_params = VIDEO_OPS[name]
    if rule is None:
        return ()
    params = augmix_params if augmix else randaug_params
    if rule == 'color':
        rule = _up if augmix else _up_signed
    return (rule(level, *params), )


def apply_plan(video: torch.Tensor, plan: Sequence[tuple[str, tuple]]) -> torch.Tensor:
    """Apply ``(op name, arguments)`` pairs in order."""
    for name, args in plan:
        video = VIDEO_OPS[name][0](video, *args)
    return video


class RandAugment:
    """pytorchvideo's ``RandAugment`` on a ``[T, C, H, W]`` uint8 clip (see the module text).

    Args:
        magnitude (int): the mean level, 0-10.
        num_layers (int): ops per clip, drawn without replacement (at most 14).
        prob (float): the probability of applying each drawn op.
        sampling_type (str): ``'gaussian'`` (level ~ N(magnitude, sampling_std), clipped)
            or ``'uniform'`` (an int level in [0, magnitude]).
        sampling_hparas (dict | None): ``{'sampling_std': 0.5}`` by default.
    """

    names = tuple(VIDEO_OPS)

    def __init__(self, magnitude: int = 9, num_layers: int = 2, prob: float = 0.5,
                 sampling_type: str = 'gaussian', sampling_hparas: dict | None = None) -> None:
        if not 0 <= magnitude <= _MAX_LEVEL:
            raise ValueError(f'RandAugment: magnitude must lie in [0, {_MAX_LEVEL}], got '
                             f'{magnitude!r}')
        if not isinstance(num_layers, int) or not 1 <= num_layers <= len(self.names):
            raise ValueError(f'RandAugment: num_layers must be an int in [1, '
                             f'{len(self.names)}], got {num_layers!r}')
        if not 0 <= prob <= 1:
            raise ValueError(f'RandAugment: prob must lie in [0, 1], got {prob!r}')
        if sampling_type not in ('gaussian', 'uniform'):
            raise ValueError(f"RandAugment: sampling_type must be 'gaussian' or 'uniform', "
                             f'got {sampling_type!r}')
        self.magnitude, self.num_layers, self.prob = magnitude, num_layers, prob
        self.sampling_type = sampling_type
        self.std = float((sampling_hparas or {}).get('sampling_std', 0.5))

    def level(self) -> float:
        if self.sampling_type == 'uniform':
            return float(torch.randint(0, int(self.magnitude) + 1, (1, )).item())
        drawn = torch.normal(float(self.magnitude), self.std, size=(1, )).item()
        return max(0.0, min(float(_MAX_LEVEL), drawn))

    def plan(self) -> list[tuple[str, tuple]]:
        """Draw the ops to apply and their arguments, in pytorchvideo's order of draws."""
        chosen = torch.multinomial(torch.ones(len(self.names)), self.num_layers)
        plan = []
        for index in chosen.tolist():
            if torch.rand(1).item() > self.prob:
                continue
            name = self.names[index]
            plan.append((name, op_argument(name, self.level())))
        return plan

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        return apply_plan(video, self.plan())


class AugMix:
    """pytorchvideo's ``AugMix`` on a ``[T, C, H, W]`` uint8 clip (see the module text).

    Args:
        magnitude (int): the top level, 1-10.
        alpha (float): the Dirichlet and Beta parameter.
        width (int): the number of chains.
        depth (int): ops a chain; -1: 1 to 3 at random.
    """

    names = tuple(name for name in VIDEO_OPS if name != 'Invert')

    def __init__(self, magnitude: int = 3, alpha: float = 1.0, width: int = 3,
                 depth: int = -1) -> None:
        if not isinstance(magnitude, int) or not 1 <= magnitude <= _MAX_LEVEL:
            raise ValueError(f'AugMix: magnitude must be an int in [1, {_MAX_LEVEL}], got '
                             f'{magnitude!r}')
        if alpha <= 0 or not isinstance(width, int) or width < 1:
            raise ValueError(f'AugMix: alpha must be > 0 and width a positive int, got '
                             f'alpha={alpha!r}, width={width!r}')
        self.magnitude, self.alpha, self.width, self.depth = magnitude, alpha, width, depth
        self.dirichlet = torch.distributions.Dirichlet(torch.full((width, ), float(alpha)))
        self.beta = torch.distributions.Beta(float(alpha), float(alpha))

    def chain_plan(self) -> list[tuple[str, tuple]]:
        """Draw one chain's ops and arguments, in pytorchvideo's order of draws."""
        depth = self.depth if self.depth > 0 else int(torch.randint(1, 4, (1, )).item())
        chosen = torch.multinomial(torch.ones(len(self.names)), depth, replacement=True)
        plan = []
        for index in chosen.tolist():
            torch.rand(1)  # pytorchvideo draws the op's probability check (prob=1) here
            level = torch.rand(1).item() * (self.magnitude - 0.1) + 0.1
            name = self.names[index]
            plan.append((name, op_argument(name, level, augmix=True)))
        return plan

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        weights = self.dirichlet.sample()
        m = self.beta.sample().item()
        mixed = torch.zeros(video.shape, dtype=torch.float32)
        for weight in weights:
            mixed += weight * apply_plan(video, self.chain_plan())
        return (m * video + (1 - m) * mixed).to(torch.uint8)


_WRAPPED = {'RandAugment': RandAugment, 'AugMix': AugMix}
_NOT_WRAPPED = {
    'RandomResizedCrop': 'RandomResizedCrop', 'ShortSideScale': "Resize(scale=(-1, size))",
    'RandomShortSideScale': 'RandomRescale'}


@PIPELINES.register_module()
class PytorchVideoWrapper:
    """Apply pytorchvideo's ``RandAugment`` or ``AugMix`` (reimplemented here) to ``imgs``.

    Required keys: ``imgs`` (a list of ``[H, W, 3]`` uint8 frames or an ``[N, H, W, 3]``
    array). Modified keys: ``imgs`` (a list of uint8 frames).

    Args:
        op (str): ``'RandAugment'`` or ``'AugMix'``; their keyword arguments follow
            (``magnitude``, ``num_layers``, ``prob`` ... / ``magnitude``, ``alpha``,
            ``width``, ``depth``).
    """

    def __init__(self, op: str, **kwargs: Any) -> None:
        if op in _NOT_WRAPPED:
            raise ValueError(f'PytorchVideoWrapper: op {op!r} is not reimplemented; use '
                             f'actionkit\'s {_NOT_WRAPPED[op]} step instead')
        if op not in _WRAPPED:
            raise ValueError(f'PytorchVideoWrapper: op must be one of {sorted(_WRAPPED)}, got '
                             f'{op!r}')
        try:
            self.trans = _WRAPPED[op](**kwargs)
        except TypeError as err:
            raise TypeError(f'PytorchVideoWrapper(op={op!r}): {err}') from None
        self.op = op

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if 'imgs' not in results:
            raise KeyError(f"PytorchVideoWrapper: the results have no 'imgs' (keys: "
                           f'{sorted(results)})')
        if 'gt_bboxes' in results or 'proposals' in results:
            raise ValueError(f'PytorchVideoWrapper: {self.op} does not move boxes; remove it '
                             f'from a detection pipeline')
        frames = np.stack(results['imgs'])
        if frames.dtype != np.uint8:
            raise TypeError(f'PytorchVideoWrapper: {self.op} needs uint8 frames (place it '
                            f'before Normalize), got {frames.dtype}')
        video = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
        out = self.trans(video).numpy()
        results['imgs'] = list(out.transpose(0, 2, 3, 1))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(op={self.op!r})'
