"""Recognizers (the ``RECOGNIZERS`` registry): 2D and 3D, and their base class."""
from .base import *  # noqa: F401,F403
from .recognizer2d import *  # noqa: F401,F403
from .recognizer3d import *  # noqa: F401,F403
from .skeleton_gcn import *  # noqa: F401,F403
