"""Grad-CAM heat maps of a recognizer's decision (https://arxiv.org/abs/1610.02391), as
MMAction2 0.x's ``GradCAM``: the same inputs, localization maps, blending and outputs.

The maps are computed at one layer (``target_layer_name``, ``'/'``- or ``'.'``-separated, e.g.
``'backbone/layer4/1/relu'``): the layer's activations weighted by the spatial mean of the
score's gradient with respect to them, summed over channels, passed through ReLU, resized
(trilinear) to the input clip and scaled to [0, 1] per sample. The blended frames are
``alpha * colormap(map) + (1 - alpha) * frame``, with the frames un-normalized through the
config's ``img_norm_cfg`` and divided by 255.

Example:
    >>> model = init_recognizer(config, checkpoint, device='cpu')
    >>> gradcam = GradCAM(model, 'backbone/layer4/1/relu')
    >>> blended, preds = gradcam(dict(imgs=imgs[None], label=torch.tensor([[-1]])))
    >>> blended.shape  # [B, T, H, W, 3], RGB in [0, 1]
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.recognizers.recognizer2d import Recognizer2D
from ..models.recognizers.recognizer3d import Recognizer3D

__all__ = ['GradCAM']


def _norm_cfg(cfg: Any) -> Mapping[str, Any]:
    """``img_norm_cfg`` of the config, else the test pipeline's ``Normalize`` arguments."""
    if cfg is None:
        raise ValueError('GradCAM needs a model from init_recognizer (with model.cfg) to '
                         'un-normalize the frames')
    norm = cfg.get('img_norm_cfg')
    if norm is None:
        steps = cfg.get('data', {}).get('test', {}).get('pipeline', [])
        norm = next((step for step in steps if step.get('type') == 'Normalize'), None)
    if norm is None or 'mean' not in norm or 'std' not in norm:
        raise ValueError('GradCAM needs img_norm_cfg (mean, std) in the config, or a Normalize '
                         'step in data.test.pipeline')
    return norm


def _find_layer(model: nn.Module, name: str) -> nn.Module:
    module = model
    for part in name.replace('/', '.').split('.'):
        children = dict(module.named_children())
        if part not in children:
            raise ValueError(f'GradCAM: no layer {name!r}: {type(module).__name__} has no '
                             f'child {part!r}; its children are {sorted(children)}')
        module = children[part]
    return module


class GradCAM:
    """Grad-CAM for a :class:`Recognizer2D` or :class:`Recognizer3D`.

    Args:
        model (nn.Module): the recognizer, with its config as ``model.cfg`` (as
            :func:`~actionkit.apis.init_recognizer` returns it). Put in eval mode.
        target_layer_name (str): the layer whose activations and gradients are used, its
            attribute names separated by ``'/'`` (MMAction2) or ``'.'``.
        colormap (str): a matplotlib colormap name for the heat maps.
    """

    def __init__(self, model: nn.Module, target_layer_name: str,
                 colormap: str = 'viridis') -> None:
        if isinstance(model, Recognizer2D):
            self.is_recognizer2d = True
        elif isinstance(model, Recognizer3D):
            self.is_recognizer2d = False
        else:
            raise TypeError(f'GradCAM supports Recognizer2D and Recognizer3D, got '
                            f'{type(model).__name__}')
        from ..visualization import require_matplotlib

        self.colormap = require_matplotlib().colormaps[colormap]
        norm = _norm_cfg(getattr(model, 'cfg', None))
        self.data_mean = torch.tensor(norm['mean'], dtype=torch.float32)
        self.data_std = torch.tensor(norm['std'], dtype=torch.float32)
        self.model = model
        self.model.eval()
        self.target_activations: torch.Tensor | None = None
        self.target_gradients: torch.Tensor | None = None
        layer = _find_layer(model, target_layer_name)
        self._handle = layer.register_forward_hook(self._keep_activations)

    def _keep_activations(self, _module: nn.Module, _inputs: Any, output: Any) -> None:
        if not isinstance(output, torch.Tensor):
            raise TypeError(f'GradCAM: the target layer must output one tensor, got '
                            f'{type(output).__name__}')
        self.target_activations = output.detach().clone()
        if output.requires_grad:
            output.register_hook(self._keep_gradients)

    def _keep_gradients(self, grad: torch.Tensor) -> None:
        self.target_gradients = grad.detach()

    def remove(self) -> None:
        """Detach the hook from the target layer."""
        self._handle.remove()

    def _calculate_localization_map(self, inputs: dict[str, Any], use_labels: bool,
                                    delta: float = 1e-20) -> tuple[torch.Tensor, torch.Tensor]:
        """The maps ``[B, T, H, W]`` in [0, 1] and the predictions ``[B, num_classes]``."""
        imgs = inputs['imgs'].clone().requires_grad_(True)
        self.target_gradients = None
        preds = self.model(imgs, gradcam=True)
        if use_labels:
            labels = inputs['label']
            labels = labels.unsqueeze(-1) if labels.ndim == 1 else labels
            score = torch.gather(preds, dim=1, index=labels.to(preds.device).long())
        else:
            score = preds.max(dim=-1)[0]
        self.model.zero_grad()
        score.sum().backward()
        if self.target_gradients is None or self.target_activations is None:
            raise RuntimeError('GradCAM: the target layer was not reached by the forward pass')
        if self.is_recognizer2d:
            b, t, _, h, w = imgs.shape  # [B, T, C, H, W]
            gradients, activations = self.target_gradients, self.target_activations
            tg, c = gradients.shape[0] // b, gradients.shape[1]  # [B * tg, c, h', w']
        else:
            b1, b2, _, t, h, w = imgs.shape  # [B, clips, C, T, H, W]
            b = b1 * b2
            gradients = self.target_gradients.permute(0, 2, 1, 3, 4)  # [b, tg, c, h', w']
            activations = self.target_activations.permute(0, 2, 1, 3, 4)
            tg, c = gradients.shape[1], gradients.shape[2]
        weights = gradients.reshape(b, tg, c, -1).mean(dim=3).reshape(b, tg, c, 1, 1)
        activations = activations.reshape(b, tg, c, *activations.shape[-2:])
        cam = F.relu((weights * activations).sum(dim=2, keepdim=True))  # [b, tg, 1, h', w']
        cam = F.interpolate(cam.permute(0, 2, 1, 3, 4), size=(t, h, w), mode='trilinear',
                            align_corners=False)  # [b, 1, t, h, w]
        flat = cam.reshape(b, -1)
        low = flat.min(dim=-1)[0].reshape(b, 1, 1, 1, 1)
        high = flat.max(dim=-1)[0].reshape(b, 1, 1, 1, 1)
        cam = (cam - low) / (high - low + delta)
        return cam.detach().squeeze(dim=1), preds

    def _alpha_blending(self, localization_map: torch.Tensor, input_imgs: torch.Tensor,
                        alpha: float) -> torch.Tensor:
        """``alpha * heat map + (1 - alpha) * frames``: ``[B, T, H, W, 3]``, RGB in [0, 1]."""
        heatmap = torch.from_numpy(self.colormap(localization_map.cpu().numpy())[..., :3])
        if self.is_recognizer2d:
            frames = input_imgs.permute(0, 1, 3, 4, 2)  # [B, T, H, W, C]
        else:
            frames = input_imgs.reshape(-1, *input_imgs.shape[2:]).permute(0, 2, 3, 4, 1)
        frames = (frames.detach().cpu() * self.data_std + self.data_mean) / 255.
        return alpha * heatmap + (1 - alpha) * frames

    def __call__(self, inputs: dict[str, Any], use_labels: bool = False,
                 alpha: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
        """Heat maps of every view of ``inputs`` blended onto its frames.

        Args:
            inputs (dict): ``imgs`` (a batch from the test pipeline: ``[B, T, C, H, W]`` for
                2D recognizers, ``[B, clips, C, T, H, W]`` for 3D ones) and, with
                ``use_labels``, ``label`` (``[B]`` or ``[B, 1]`` class indices).
            use_labels (bool): explain ``label``'s score instead of the top score.
            alpha (float): weight of the heat map, in [0, 1].

        Returns:
            tuple: the blended frames ``[B * views, T, H, W, 3]`` (float64, RGB in [0, 1]) and
            the predictions ``[B, num_classes]``.
        """
        if not 0 <= alpha <= 1:
            raise ValueError(f'GradCAM: alpha must be in [0, 1], got {alpha!r}')
        localization_map, preds = self._calculate_localization_map(inputs, use_labels)
        return self._alpha_blending(localization_map, inputs['imgs'], alpha), preds
