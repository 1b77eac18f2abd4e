"""The audio recognizer: a 2D backbone on each clip's spectrogram, a head per clip.

Input ``audios`` is ``[N, num_clips, 1, T, F]`` (``FormatAudioShape``'s ``NCTF`` per sample);
the clips are folded into the batch (``[N * num_clips, 1, T, F]``). Training scores every clip
against its sample's label (MMAction2 trains with one clip a sample); testing averages the
clips of a sample as ``test_cfg.average_clips`` says.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..builder import RECOGNIZERS
from .base import BaseRecognizer

__all__ = ['AudioRecognizer']


@RECOGNIZERS.register_module()
class AudioRecognizer(BaseRecognizer):
    """Audio recognizer; see :class:`BaseRecognizer` for the arguments.

    MMAction2 0.x's calling contract with ``audios`` in place of ``imgs``:
    ``forward(audios, label=None, return_loss=True)``, and batches
    ``{'audios': ..., 'label': ...}``.
    """

    input_key = 'audios'

    def _fold(self, audios: torch.Tensor, where: str) -> tuple[torch.Tensor, int]:
        if audios.dim() != 5:
            raise ValueError(f'{type(self).__name__}.{where} takes audios of shape '
                             f'(N, num_clips, C, T, F). Got {tuple(audios.shape)} instead!')
        return audios.reshape((-1,) + audios.shape[2:]), audios.shape[1]

    def forward_train(self, audios: torch.Tensor, labels: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        """Losses of every clip against its sample's label."""
        head = self._require_head('forward_train')
        audios, num_clips = self._fold(audios, 'forward_train')
        cls_score = head(self.extract_feat(audios))
        labels = labels.reshape(labels.shape[0], -1) if labels.dim() > 1 else labels[:, None]
        labels = labels.repeat_interleave(num_clips, dim=0).squeeze(1)
        return head.loss(cls_score, labels, **kwargs)

    def forward_test(self, audios: torch.Tensor) -> np.ndarray:
        """``[N, num_classes]`` scores, the clips of each sample averaged."""
        head = self._require_head('forward_test')
        audios, num_clips = self._fold(audios, 'forward_test')
        with torch.no_grad():
            cls_score = self.average_clip(head(self.extract_feat(audios)), num_clips)
        return cls_score.cpu().numpy()

    def forward_dummy(self, audios: torch.Tensor, softmax: bool = False) -> tuple[torch.Tensor]:
        """The per-clip scores ``[N * num_clips, num_classes]`` (FLOPs, ONNX)."""
        head = self._require_head('forward_dummy')
        cls_score = head(self.extract_feat(self._fold(audios, 'forward_dummy')[0]))
        return (cls_score.softmax(dim=1) if softmax else cls_score,)

    def forward_stage(self, audios: torch.Tensor, stage: str) -> torch.Tensor:
        """``mode='tensor'``: the backbone features of every clip."""
        return self.extract_feat(self._fold(audios, 'forward')[0])

    def forward(self, audios: torch.Tensor, label: torch.Tensor | None = None,
                return_loss: bool = True, **kwargs: Any) -> Any:
        """Train (a dict of losses) or test (a numpy array of scores); also MMAction2 1.x's
        ``forward(inputs, data_samples, mode=...)`` (see :class:`BaseRecognizer`)."""
        return super().forward(audios, label, return_loss=return_loss, **kwargs)


# MMAction2 1.x's name of the same recognizer
RECOGNIZERS.register_module(name='RecognizerAudio', module=AudioRecognizer)
