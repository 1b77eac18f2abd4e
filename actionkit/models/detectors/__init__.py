"""Spatio-temporal action detectors (MMAction2 0.x's ``FastRCNN`` on AVA) and their parts."""
from .assigners import *  # noqa: F401,F403
from .roi_head import *  # noqa: F401,F403
from .fast_rcnn import *  # noqa: F401,F403
from .lfb import *  # noqa: F401,F403
from . import assigners, fast_rcnn, lfb, roi_head

__all__ = [*assigners.__all__, *roi_head.__all__, *fast_rcnn.__all__, *lfb.__all__]
