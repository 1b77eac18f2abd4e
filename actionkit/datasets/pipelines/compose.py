"""``Compose``: run a list of pipeline steps in order on a results dict."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..builder import PIPELINES

__all__ = ['Compose']

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


@PIPELINES.register_module()
class Compose:
    """Apply pipeline steps one after the other.

    A step that returns ``None`` ends the pipeline, and ``Compose`` returns ``None`` (as in
    MMAction2 0.x, where that marks a sample to skip).

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
        for i, transform in enumerate(transforms):
            if isinstance(transform, Mapping):
                kind = transform.get('type')
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
