"""``Compose``: run a list of pipeline steps in order on a results dict."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..builder import PIPELINES

__all__ = ['Compose', 'V1_VARIANTS', 'register_v1_variant', 'is_v1_pipeline']

# MMAction2 1.x steps that kept a 0.x name but changed what they do (or take): in a 1.x
# pipeline (one that packs with ``PackActionInputs`` / ``PackLocalizationInputs``), a step of
# such a name is built from the class here instead of the 0.x one in ``PIPELINES``
V1_VARIANTS: dict[str, type] = {}
_V1_PACKERS = ('PackActionInputs', 'PackLocalizationInputs')

# MMAction2 0.x steps that actionkit deliberately lacks, and why
_UNSUPPORTED = {
    'Imgaug': 'MMAction2 wraps the imgaug library here, unmaintained since 2020 and broken '
              'on current numpy; use ColorJitter, Flip, RandomResizedCrop or MultiScaleCrop, or '
              'register your own step (tutorial 4)',
    'PIMSInit': 'the PIMS backend is not supported; use PyAVInit, DecordInit or OpenCVInit',
    'PIMSDecode': 'the PIMS backend is not supported; use PyAVDecode, DecordDecode or '
                  'OpenCVDecode',
    'PyAVDecodeMotionVector': 'motion-vector decoding is not supported',
    'LoadKineticsPose': 'the raw Kinetics-pose loader is not supported (no MMAction2 0.x '
                        'config uses it); convert the poses to a PoseDataset pickle with '
                        'keypoint and keypoint_score arrays',
    'MelLogSpectrogram': 'no such step in MMAction2 0.24.1 either: its config '
                         'tsn_r50_64x1x1_100e_kinetics400_audio.py names it, but MMAction2 '
                         'registers no MelLogSpectrogram, so that file fails there too; use '
                         'MelSpectrogram, or LoadAudioFeature with log-mel features from '
                         'tools/data/build_audio_features.py',
}


def register_v1_variant(name: str) -> Callable[[type], type]:
    """Class decorator: the class is what ``name`` means in an MMAction2 1.x pipeline."""
    def register(cls: type) -> type:
        if name in V1_VARIANTS:
            raise KeyError(f'{name!r} already has a 1.x variant: {V1_VARIANTS[name].__name__}')
        V1_VARIANTS[name] = cls
        return cls
    return register


def is_v1_pipeline(transforms: Sequence[Any]) -> bool:
    """True for an MMAction2 1.x pipeline: one of its steps is a 1.x packer."""
    return any(isinstance(t, Mapping) and t.get('type') in _V1_PACKERS for t in transforms)


@PIPELINES.register_module()
class Compose:
    """Apply pipeline steps one after the other.

    A step that returns ``None`` ends the pipeline, and ``Compose`` returns ``None`` (as in
    MMAction2 0.x, where that marks a sample to skip).

    An MMAction2 1.x pipeline (see :func:`is_v1_pipeline`) builds the steps whose meaning
    changed in 1.x (``SampleFrames``, ``FormatShape``, ``FormatGCNInput``,
    ``GeneratePoseTarget`` ...: :data:`V1_VARIANTS`) from their 1.x classes.

    Args:
        transforms (Sequence[dict | callable]): config dicts (built with ``PIPELINES``) or
            callables taking and returning a results dict.

    Example:
        >>> pipeline = Compose([dict(type='SampleFrames', clip_len=1, num_clips=3,
        ...                          test_mode=True)])
        >>> pipeline(dict(total_frames=30, start_index=0))['frame_inds'].tolist()
        [5, 15, 25]
    """

    def __init__(self, transforms: Sequence[Mapping[str, Any] | Callable]) -> None:
        if isinstance(transforms, (str, Mapping)) or not isinstance(transforms, Sequence):
            raise TypeError(f'Compose: transforms must be a list of dicts or callables, got '
                            f'{type(transforms).__name__}')
        self.transforms: list[Callable] = []
        v1 = is_v1_pipeline(transforms)
        for i, transform in enumerate(transforms):
            if isinstance(transform, Mapping):
                kind = transform.get('type')
                if v1 and isinstance(kind, str) and kind in V1_VARIANTS:
                    transform = {**transform, 'type': V1_VARIANTS[kind]}
                if isinstance(kind, str) and kind.startswith(('torchvision.', 'pytorchvideo.')):
                    raise ValueError(f'Compose: step {i} ({kind!r}) wraps a torchvision / '
                                     f'pytorchvideo transform, which actionkit does not support')
                if kind in _UNSUPPORTED and kind not in PIPELINES:
                    raise ValueError(f'Compose: step {i} ({kind!r}): {_UNSUPPORTED[kind]}')
                transform = PIPELINES.build(transform)
            elif not callable(transform):
                raise TypeError(f'Compose: step {i} must be a dict or a callable, got '
                                f'{type(transform).__name__}')
            self.transforms.append(transform)

    def __call__(self, data: dict[str, Any]) -> dict[str, Any] | None:
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        lines = ''.join(f'\n    {t}' for t in self.transforms)
        return f'{type(self).__name__}({lines}\n)'
