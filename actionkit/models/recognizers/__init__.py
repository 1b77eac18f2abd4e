"""Recognizers (the ``RECOGNIZERS`` registry): 2D, 3D and audio, and their base class."""
from .base import *  # noqa: F401,F403
from .recognizer2d import *  # noqa: F401,F403
from .recognizer3d import *  # noqa: F401,F403
from .audio_recognizer import *  # noqa: F401,F403
from .skeleton_gcn import *  # noqa: F401,F403
from .recognizer_gcn import *  # noqa: F401,F403
from .recognizer3d_mm import *  # noqa: F401,F403
from .recognizer_omni import *  # noqa: F401,F403
