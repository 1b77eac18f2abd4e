"""RoI feature extraction for spatio-temporal detection: mmcv-compatible RoIAlign / RoIPool in
PyTorch and MMAction2's ``SingleRoIExtractor3D``."""
from .roi_ops import *  # noqa: F401,F403
from .single_straight3d import *  # noqa: F401,F403
from . import roi_ops, single_straight3d

__all__ = [*roi_ops.__all__, *single_straight3d.__all__]
