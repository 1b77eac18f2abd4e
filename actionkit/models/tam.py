"""The temporal adaptive module (TAM) of TANet.

TAM: Temporal Adaptive Module for Video Recognition, https://arxiv.org/abs/2005.06803.

TAM looks at each channel's per-frame mean (``[N, C, T]``) and learns two things from it:

* a *local* branch ``L`` (temporal conv1d, bottleneck ``C / beta``, sigmoid) gives every frame
  of every channel an importance weight that rescales the features;
* a *global* branch ``G`` (an MLP over the ``T`` frame means of one channel, softmax) gives each
  channel of each clip its own temporal kernel of ``adaptive_kernel_size`` taps, which is then
  convolved over the rescaled features along time.

MMAction2 0.x exposes it as ``mmaction.models.common.TAM``; the module and parameter names here
are the same (``G.0.weight``, ``G.1.running_mean``, ``L.0.weight``, ``L.3.weight``), so
checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import check_positive_int

__all__ = ['TAM']


class TAM(nn.Module):
    """Temporal adaptive module: ``[N * num_segments, C, H, W]`` in, same shape out.

    Args:
        in_channels (int): channels ``C`` of the input features.
        num_segments (int): frames per clip ``T``.
        alpha (int): width multiplier of the global branch's hidden layer (``T * alpha``).
            Default: 2.
        adaptive_kernel_size (int): taps ``K`` of the learned temporal kernel. Default: 3.
        beta (int): channel reduction of the local branch (``C / beta``). Default: 4.
        conv1d_kernel_size (int): temporal kernel of the local branch's first conv.
            Default: 3.
        adaptive_convolution_stride (int): temporal stride of the adaptive convolution.
            Default: 1.
        adaptive_convolution_padding (int): temporal padding of the adaptive convolution.
            Default: 1.
        init_std (float): kept for MMAction2 compatibility; as there, the linear layers keep
            PyTorch's default initialisation. Default: 0.001.

    The adaptive convolution must keep ``T`` frames:
    ``(T + 2 * padding - K) // stride + 1 == T``.
    """

    def __init__(self, in_channels: int, num_segments: int, alpha: int = 2,
                 adaptive_kernel_size: int = 3, beta: int = 4, conv1d_kernel_size: int = 3,
                 adaptive_convolution_stride: int = 1, adaptive_convolution_padding: int = 1,
                 init_std: float = 0.001) -> None:
        super().__init__()
        checks = (('in_channels', in_channels, 1), ('num_segments', num_segments, 1),
                  ('alpha', alpha, 1), ('adaptive_kernel_size', adaptive_kernel_size, 1),
                  ('beta', beta, 1), ('conv1d_kernel_size', conv1d_kernel_size, 1),
                  ('adaptive_convolution_stride', adaptive_convolution_stride, 1),
                  ('adaptive_convolution_padding', adaptive_convolution_padding, 0))
        for name, value, minimum in checks:
            check_positive_int('TAM', name, value, minimum)
        if in_channels // beta < 1:
            raise ValueError(f'TAM: in_channels // beta must be at least 1, got '
                             f'in_channels={in_channels}, beta={beta}')
        out_frames = (num_segments + 2 * adaptive_convolution_padding
                      - adaptive_kernel_size) // adaptive_convolution_stride + 1
        if out_frames != num_segments:
            raise ValueError(
                f'TAM: the adaptive convolution must keep num_segments={num_segments} frames, '
                f'but adaptive_kernel_size={adaptive_kernel_size}, '
                f'adaptive_convolution_stride={adaptive_convolution_stride} and '
                f'adaptive_convolution_padding={adaptive_convolution_padding} give {out_frames}')
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.alpha = alpha
        self.adaptive_kernel_size = adaptive_kernel_size
        self.beta = beta
        self.conv1d_kernel_size = conv1d_kernel_size
        self.adaptive_convolution_stride = adaptive_convolution_stride
        self.adaptive_convolution_padding = adaptive_convolution_padding
        self.init_std = init_std

        hidden = num_segments * alpha
        self.G = nn.Sequential(  # global branch: T frame means -> K-tap kernel
            nn.Linear(num_segments, hidden, bias=False), nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True), nn.Linear(hidden, adaptive_kernel_size, bias=False),
            nn.Softmax(-1))
        reduced = in_channels // beta
        self.L = nn.Sequential(  # local branch: [C, T] -> per-frame channel weights
            nn.Conv1d(in_channels, reduced, conv1d_kernel_size, stride=1,
                      padding=conv1d_kernel_size // 2, bias=False),
            nn.BatchNorm1d(reduced), nn.ReLU(inplace=True),
            nn.Conv1d(reduced, in_channels, 1, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x: ``[N * num_segments, in_channels, H, W]``, each clip's frames consecutive.

        Returns:
            ``[N * num_segments, in_channels, H, W]``.
        """
        n, c, h, w = x.size()
        t = self.num_segments
        if n % t != 0 or c != self.in_channels:
            raise ValueError(f'TAM(in_channels={self.in_channels}, num_segments={t}) takes '
                             f'(N * {t}, {self.in_channels}, H, W) features. '
                             f'Got {tuple(x.shape)} instead!')
        clips = n // t
        x = x.view(clips, t, c, h, w).permute(0, 2, 1, 3, 4).contiguous()  # [N, C, T, H, W]
        frame_means = x.mean(dim=(3, 4))  # [N, C, T]
        kernel = self.G(frame_means.reshape(-1, t)).view(clips * c, 1, -1, 1)  # [N*C, 1, K, 1]
        local = self.L(frame_means).view(clips, c, t, 1, 1)  # [N, C, T, 1, 1]
        weighted = (x * local).view(1, clips * c, t, h * w)
        y = F.conv2d(weighted, kernel, bias=None,
                     stride=(self.adaptive_convolution_stride, 1),
                     padding=(self.adaptive_convolution_padding, 0),
                     groups=clips * c)  # each channel of each clip with its own kernel
        y = y.view(clips, c, t, h, w).permute(0, 2, 1, 3, 4).contiguous()
        return y.view(n, c, h, w)
