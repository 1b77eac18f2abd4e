"""actionkit.datasets."""
from .builder import *  # noqa: F401,F403
from .base import *  # noqa: F401,F403
from .rawframe_dataset import *  # noqa: F401,F403
from .video_dataset import *  # noqa: F401,F403
from .dataset_wrappers import *  # noqa: F401,F403
from .activitynet_dataset import *  # noqa: F401,F403
from .ssn_dataset import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
from .synthetic_localization import *  # noqa: F401,F403
from . import pipelines  # noqa: F401
from .errors import *  # noqa: F401,F403
from ..models.blending import *  # noqa: F401,F403
