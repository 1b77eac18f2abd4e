"""``BuildPseudoClip``: a clip made of one image repeated (OmniSource's web images)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..builder import PIPELINES
from ...utils.checks import check_positive_int

__all__ = ['BuildPseudoClip']


@PIPELINES.register_module()
class BuildPseudoClip:
    """Repeat the single decoded image ``clip_len`` times.

    Required keys: ``imgs`` (one image). Modified keys: ``imgs``. Added keys: ``clip_len``,
    ``num_clips`` (1).

    Args:
        clip_len (int): frames of the pseudo clip.
    """

    def __init__(self, clip_len: int) -> None:
        self.clip_len = check_positive_int('BuildPseudoClip', 'clip_len', clip_len)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if len(results['imgs']) != 1:
            raise ValueError(f'BuildPseudoClip needs one image, got {len(results["imgs"])}')
        image = results['imgs'][0]
        results['imgs'] = [image] + [np.copy(image) for _ in range(self.clip_len - 1)]
        results['clip_len'], results['num_clips'] = self.clip_len, 1
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(clip_len={self.clip_len})'
