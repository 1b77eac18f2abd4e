"""The base class of recognizers, and the rule that turns a dict of losses into one loss.

A recognizer is a backbone, an optional neck and a classification head. It keeps MMAction2
0.x's calling contract: ``forward(imgs, label=None, return_loss=True, **kwargs)`` dispatches to
``forward_train`` (a dict of losses) or ``forward_test`` (a numpy array of class scores);
``forward_dummy`` is the pure tensor path that ONNX export traces; ``train_step`` /
``val_step`` return ``dict(loss=..., log_vars=..., num_samples=...)``.
"""
from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..builder import BACKBONES, BLENDINGS, HEADS, NECKS
from .foreign import build_foreign_backbone, foreign_features, is_foreign
from .v1_api import (MODES, STAGES, build_data_preprocessor, is_v1_call, labels_from_samples,
                     split_head_average_clips, write_predictions)

__all__ = ['BaseRecognizer', 'parse_losses']

logger = logging.getLogger(__name__)

_AVERAGE_CLIPS = ('score', 'prob', None)
# batch entries the data loader may add that are not arguments of the model
_BATCH_EXTRAS = ('img_metas', 'bad_samples')


def parse_losses(losses: Mapping[str, Any]) -> tuple[torch.Tensor, OrderedDict[str, float]]:
    """Sum the losses and turn every entry into a float for logging.

    Entries whose key contains ``'loss'`` are summed into the total loss; the others (such as
    ``top1_acc``) are only logged. An entry is a tensor (its mean is taken) or a list of
    tensors (the sum of their means). In distributed training the logged values are averaged
    over the processes; the returned loss is this process's own.

    Args:
        losses: the dict returned by ``forward_train``.

    Returns:
        ``(loss, log_vars)``: the total loss tensor, and an ordered dict of floats with every
        entry plus ``'loss'``.
    """
    log_vars: OrderedDict[str, Any] = OrderedDict()
    for name, value in losses.items():
        if isinstance(value, torch.Tensor):
            log_vars[name] = value.mean()
        elif isinstance(value, (list, tuple)) and all(isinstance(v, torch.Tensor) for v in value):
            log_vars[name] = sum(v.mean() for v in value)
        else:
            raise TypeError(f'losses[{name!r}] must be a tensor or a list of tensors, '
                            f'got {type(value).__name__}')
    loss_terms = [value for name, value in log_vars.items() if 'loss' in name]
    if not loss_terms:
        raise ValueError(f'no entry of the losses dict has "loss" in its name: {list(losses)}')
    loss = sum(loss_terms)
    log_vars['loss'] = loss
    distributed = dist.is_available() and dist.is_initialized()
    for name, value in log_vars.items():
        if distributed:
            value = value.detach().clone()
            dist.all_reduce(value.div_(dist.get_world_size()))
        log_vars[name] = value.item()
    return loss, log_vars


class BaseRecognizer(nn.Module, metaclass=ABCMeta):
    """Base class of recognizers: backbone, optional neck, optional classification head.

    Subclasses implement ``forward_train`` and ``forward_test``.

    Args:
        backbone (dict | nn.Module): the backbone config (``BACKBONES``) or module.
        cls_head (dict | nn.Module | None): the head config (``HEADS``). Default: None.
        neck (dict | nn.Module | None): the neck config (``NECKS``). Default: None.
        train_cfg (dict | None): training options: ``aux_info`` (names of extra batch entries
            passed to the loss), ``blending`` (mixup / cutmix config). Default: None.
        test_cfg (dict | None): testing options: ``average_clips`` ('score', 'prob' or None),
            ``max_testing_views`` (int), ``feature_extraction`` (bool). Default: None.
        data_preprocessor (dict | nn.Module | None): MMAction2 1.x's
            ``ActionDataPreprocessor`` config. When given, the 0.x call ``model(imgs, label,
            return_loss=...)`` runs it first (normalisation, blending in training). Default:
            None (the 1.x calls still find ``model.data_preprocessor``, which then only
            stacks and converts to float).

    A 1.x head config may hold ``average_clips``; it is used when ``test_cfg`` does not set
    it (stored as ``cls_head.average_clips``).
    """

    #: the batch key of the model's input (``train_step`` / ``val_step`` read it)
    input_key = 'imgs'

    def __init__(self, backbone: Mapping[str, Any] | nn.Module,
                 cls_head: Mapping[str, Any] | nn.Module | None = None,
                 neck: Mapping[str, Any] | nn.Module | None = None,
                 train_cfg: Mapping[str, Any] | None = None,
                 test_cfg: Mapping[str, Any] | None = None,
                 data_preprocessor: Mapping[str, Any] | nn.Module | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        cls_head, head_average_clips = split_head_average_clips(cls_head)
        if is_foreign(backbone):  # torchvision.* / timm.* (optional packages)
            self.backbone, self.backbone_from = build_foreign_backbone(backbone)
        else:
            self.backbone_from = 'mmaction2'
            self.backbone = BACKBONES.build(backbone)
        if neck is not None:
            self.neck = NECKS.build(neck)
        self.cls_head = HEADS.build(cls_head) if cls_head is not None else None
        if head_average_clips != 'unset':
            if head_average_clips not in _AVERAGE_CLIPS:
                raise ValueError(f"{name}: cls_head.average_clips must be 'score', 'prob' or "
                                 f'None, got {head_average_clips!r}')
            self.cls_head.average_clips = head_average_clips
        self.preprocess_in_forward = data_preprocessor is not None
        self.data_preprocessor = build_data_preprocessor(data_preprocessor, name)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        train_cfg = train_cfg or {}
        test_cfg = test_cfg or {}
        self.aux_info = list(train_cfg.get('aux_info', []))
        self.max_testing_views = test_cfg.get('max_testing_views')
        if self.max_testing_views is not None and (
                isinstance(self.max_testing_views, bool)
                or not isinstance(self.max_testing_views, int) or self.max_testing_views <= 0):
            raise ValueError(f'{name}: test_cfg.max_testing_views must be a positive int, '
                             f'got {self.max_testing_views!r}')
        self.feature_extraction = bool(test_cfg.get('feature_extraction', False))
        if test_cfg.get('average_clips') not in _AVERAGE_CLIPS:
            raise ValueError(f"{name}: test_cfg.average_clips must be 'score', 'prob' or None, "
                             f"got {test_cfg.get('average_clips')!r}")
        blending = train_cfg.get('blending')
        self.blending = None if blending is None else BLENDINGS.build(blending)
        if self.blending is not None and getattr(self.data_preprocessor, 'blending', None):
            raise ValueError(f'{name}: blending is set both in train_cfg (MMAction2 0.x) and in '
                             'data_preprocessor (1.x); keep one')
        self.fp16_enabled = False
        self.init_weights()

    @property
    def with_neck(self) -> bool:
        """Whether the recognizer has a neck."""
        return getattr(self, 'neck', None) is not None

    @property
    def with_cls_head(self) -> bool:
        """Whether the recognizer has a classification head."""
        return getattr(self, 'cls_head', None) is not None

    def init_weights(self) -> None:
        """Initialise (or load the pretrained weights of) the backbone, head and neck; a
        torchvision / timm backbone keeps the weights it was built with."""
        for part in (self.backbone, self.cls_head, getattr(self, 'neck', None)):
            if part is self.backbone and self.backbone_from != 'mmaction2':
                continue
            if part is not None and hasattr(part, 'init_weights'):
                part.init_weights()

    def extract_feat(self, imgs: torch.Tensor) -> Any:
        """Run the backbone on ``imgs`` and return its features (``[N, C, 1, 1]`` pooled
        features for a torchvision / timm backbone, as in MMAction2)."""
        if self.backbone_from != 'mmaction2':
            return foreign_features(self.backbone, self.backbone_from, imgs)
        return self.backbone(imgs)

    def _require_head(self, what: str) -> nn.Module:
        if self.cls_head is None:
            raise ValueError(f'{type(self).__name__}.{what} needs a cls_head, but the recognizer '
                             'was built without one')
        return self.cls_head

    def average_clip(self, cls_score: torch.Tensor, num_segs: int = 1) -> torch.Tensor:
        """Average the scores of the ``num_segs`` views of each sample (test time).

        ``test_cfg['average_clips']`` chooses how: ``'score'`` averages the raw scores,
        ``'prob'`` averages the softmax probabilities, ``None`` returns the scores unchanged.

        Args:
            cls_score: ``[N * num_segs, num_classes]``.
            num_segs: the number of views per sample.

        Returns:
            ``[N, num_classes]`` (or the input unchanged when ``average_clips`` is None).
        """
        if self.test_cfg is not None and 'average_clips' in self.test_cfg:
            average_clips = self.test_cfg['average_clips']
        elif hasattr(self.cls_head, 'average_clips'):  # MMAction2 1.x: set in the head
            average_clips = self.cls_head.average_clips
        else:
            raise KeyError(f'{type(self).__name__}: test_cfg (or, as in MMAction2 1.x, '
                           "cls_head) must set \"average_clips\" ('score', 'prob' or None) to "
                           f'test; got test_cfg={self.test_cfg!r}')
        if average_clips not in _AVERAGE_CLIPS:
            raise ValueError(f"test_cfg.average_clips must be 'score', 'prob' or None, "
                             f'got {average_clips!r}')
        if average_clips is None:
            return cls_score
        cls_score = cls_score.view(cls_score.shape[0] // num_segs, num_segs, -1)
        if average_clips == 'prob':
            return F.softmax(cls_score, dim=2).mean(dim=1)
        return cls_score.mean(dim=1)

    @abstractmethod
    def forward_train(self, imgs: torch.Tensor, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """Return a dict of losses (keys containing ``'loss'``) and logged values."""

    @abstractmethod
    def forward_test(self, imgs: torch.Tensor) -> np.ndarray:
        """Return the class scores ``[N, num_classes]`` as a numpy array."""

    def forward_dummy(self, imgs: torch.Tensor, softmax: bool = False) -> tuple[torch.Tensor]:
        """The tensor-in, tensor-out path (FLOPs counting, ONNX export)."""
        raise NotImplementedError(f'{type(self).__name__} does not implement forward_dummy')

    def forward_gradcam(self, imgs: torch.Tensor) -> torch.Tensor:
        """The scores as a tensor, for Grad-CAM."""
        raise NotImplementedError(f'{type(self).__name__} does not implement forward_gradcam')

    def forward(self, imgs: torch.Tensor | None = None, label: Any = None,
                return_loss: bool | str = True, *, inputs: torch.Tensor | None = None,
                data_samples: Any = None, mode: str | None = None, **kwargs: Any) -> Any:
        """Train (``return_loss=True``: a dict of losses) or test (a numpy array of scores).

        ``gradcam=True`` returns the score tensor of ``forward_gradcam``. The batch entries
        ``img_metas`` and ``bad_samples`` are ignored; other keyword arguments go to
        ``forward_train`` (the ``aux_info`` entries). With a ``data_preprocessor`` config,
        ``imgs`` go through it first (normalisation; blending when training).

        MMAction2 1.x's call, ``forward(inputs, data_samples=None, mode='tensor')``, is
        recognised by ``mode`` (or by a list of data samples / a mode string in the second /
        third place) and goes to :meth:`forward_v1`.
        """
        if inputs is not None or is_v1_call(label, return_loss, mode, data_samples):
            if isinstance(return_loss, str):
                mode = mode or return_loss
            if data_samples is None and label is not None and not isinstance(label, torch.Tensor):
                data_samples = label
            return self.forward_v1(imgs if inputs is None else inputs, data_samples,
                                   mode or 'tensor', **kwargs)
        for key in _BATCH_EXTRAS:
            kwargs.pop(key, None)
        gradcam = kwargs.pop('gradcam', False)
        if return_loss and label is None and not gradcam:
            raise ValueError(f'{type(self).__name__}.forward: return_loss=True needs a label')
        if self.preprocess_in_forward:
            imgs, label = self.data_preprocessor.preprocess(
                imgs, label, training=bool(return_loss) and self.training and not gradcam)
        if gradcam:
            return self.forward_gradcam(imgs, **kwargs)
        if return_loss:
            if self.blending is not None:
                imgs, label = self.blending(imgs, label)
            return self.forward_train(imgs, label, **kwargs)
        return self.forward_test(imgs, **kwargs)

    def forward_v1(self, inputs: torch.Tensor, data_samples: Any = None, mode: str = 'tensor',
                   stage: str = 'backbone', **kwargs: Any) -> Any:
        """MMAction2 1.x's forward; ``inputs`` are already preprocessed, as in 1.x.

        Args:
            inputs: the batch, shaped as for the 0.x call.
            data_samples: :class:`ActionDataSample` objects (``gt_label`` for ``'loss'``;
                ``'predict'`` fills ``pred_score`` / ``pred_label``, making new ones when
                None).
            mode: ``'tensor'`` (the features of ``stage``), ``'predict'`` (the data samples
                with per-sample scores averaged over views) or ``'loss'`` (the dict of losses).
            stage: for ``'tensor'``: ``'backbone'``, ``'neck'`` (the neck's output, or the
                backbone's without a neck) or ``'head'`` (the class scores of every view,
                before averaging).
        """
        name = type(self).__name__
        if mode not in MODES:
            raise ValueError(f'{name}.forward: mode must be one of {MODES}, got {mode!r}')
        if mode == 'loss':
            return self.forward_train(inputs, labels_from_samples(data_samples, name), **kwargs)
        if mode == 'predict':
            return write_predictions(self._do_test(inputs), data_samples)
        if stage not in STAGES:
            raise ValueError(f"{name}.forward(mode='tensor'): stage must be one of {STAGES}, "
                             f'got {stage!r}')
        if stage == 'head':
            return self.forward_dummy(inputs)[0]
        return self.forward_stage(inputs, stage)

    def _do_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """The test scores ``[N, num_classes]`` as a tensor (``mode='predict'``)."""
        return torch.from_numpy(np.asarray(self.forward_test(imgs)))

    def forward_stage(self, imgs: torch.Tensor, stage: str) -> Any:
        """Features after ``stage`` (``'backbone'`` or ``'neck'``) for ``mode='tensor'``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement mode='tensor' "
                                  f'with stage={stage!r}')

    def _step(self, data_batch: Mapping[str, Any]) -> dict[str, Any]:
        key_in = self.input_key
        missing = [key for key in (key_in, 'label', *self.aux_info) if key not in data_batch]
        if missing:
            raise KeyError(f'the data batch lacks {missing}; it has {sorted(data_batch)}')
        aux = {key: data_batch[key] for key in self.aux_info}
        losses = self(data_batch[key_in], data_batch['label'], return_loss=True, **aux)
        loss, log_vars = parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data_batch[key_in]))

    def train_step(self, data_batch: Mapping[str, Any], optimizer: Any = None,
                   **kwargs: Any) -> dict[str, Any]:
        """One training forward: ``dict(loss, log_vars, num_samples)``.

        The backward pass and the optimizer step are the trainer's; ``optimizer`` is unused.
        """
        return self._step(data_batch)

    def val_step(self, data_batch: Mapping[str, Any], optimizer: Any = None,
                 **kwargs: Any) -> dict[str, Any]:
        """Like :meth:`train_step`, for validation losses."""
        return self._step(data_batch)

    def test_step(self, data: Mapping[str, Any]) -> list[Any]:
        """MMAction2 1.x's ``test_step``: ``{'inputs': [...], 'data_samples': [...]}`` through
        ``data_preprocessor`` and ``mode='predict'``; returns the data samples with
        ``pred_score`` / ``pred_label``."""
        data = self.data_preprocessor(data, False)
        with torch.no_grad():
            return self.forward_v1(data['inputs'], data.get('data_samples'), 'predict')

    # MMAction2 0.x spelling, kept for users' code
    _parse_losses = staticmethod(parse_losses)
