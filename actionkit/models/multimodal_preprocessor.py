"""``MultiModalDataPreprocessor`` (MMAction2 1.x): one ``ActionDataPreprocessor`` per input
modality (e.g. ``imgs`` and ``heatmap_imgs`` of the RGBPoseConv3D configs)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from .data_preprocessor import ActionDataPreprocessor

__all__ = ['MultiModalDataPreprocessor']


class MultiModalDataPreprocessor(nn.Module):
    """Preprocess each entry of a dict of inputs with its own preprocessor.

    Args:
        preprocessors (dict): modality name -> ``ActionDataPreprocessor`` config (or module).
    """

    def __init__(self, preprocessors: Mapping[str, Any]) -> None:
        super().__init__()
        if not isinstance(preprocessors, Mapping) or not preprocessors:
            raise ValueError('MultiModalDataPreprocessor: preprocessors must be a non-empty dict '
                             f'(modality -> ActionDataPreprocessor config), got {preprocessors!r}')
        self.preprocessors = nn.ModuleDict()
        for name, cfg in preprocessors.items():
            if isinstance(cfg, nn.Module):
                self.preprocessors[name] = cfg
                continue
            args = dict(cfg)
            kind = args.pop('type', None)
            if kind != 'ActionDataPreprocessor':
                raise ValueError(f'MultiModalDataPreprocessor: preprocessors.{name}.type must be '
                                 f"'ActionDataPreprocessor', got {kind!r}")
            self.preprocessors[name] = ActionDataPreprocessor(**args)

    def preprocess(self, inputs: Mapping[str, Any], labels: Any = None,
                   training: bool = False) -> tuple[dict[str, Any], Any]:
        """Each modality through its preprocessor (the labels pass through each in turn)."""
        if not isinstance(inputs, Mapping):
            raise TypeError('MultiModalDataPreprocessor takes a dict of inputs per modality, '
                            f'got {type(inputs).__name__}')
        unknown = sorted(set(inputs) - set(self.preprocessors))
        if unknown:
            raise KeyError(f'MultiModalDataPreprocessor: no preprocessor for inputs {unknown}; '
                           f'configured: {sorted(self.preprocessors)}')
        out = {}
        for name, value in inputs.items():
            out[name], labels = self.preprocessors[name].preprocess(value, labels, training)
        return out, labels

    def forward(self, data: Mapping[str, Any], training: bool = False) -> dict[str, Any]:
        """1.x's call: ``{'inputs': {...}, 'data_samples': ...}`` in, the same keys out."""
        inputs, samples = self.preprocess(data['inputs'], data.get('data_samples'), training)
        return {**data, 'inputs': inputs, 'data_samples': samples}
