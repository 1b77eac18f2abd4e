"""Models: backbones, necks, heads, recognizers, localizers and losses, with their registries."""
from .builder import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .recognizers import *  # noqa: F401,F403
from .localizers import *  # noqa: F401,F403
from .module_hooks import *  # noqa: F401,F403
from .sub_batchnorm3d import *  # noqa: F401,F403
from .blending import *  # noqa: F401,F403
from .roi_extractors import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .data_preprocessor import *  # noqa: F401,F403
from .data_sample import *  # noqa: F401,F403
