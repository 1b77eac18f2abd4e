"""actionkit.datasets."""
from .builder import *  # noqa: F401,F403
from .base import *  # noqa: F401,F403
from .rawframe_dataset import *  # noqa: F401,F403
from .video_dataset import *  # noqa: F401,F403
from .repeat_aug_dataset import *  # noqa: F401,F403
from .hvu_dataset import *  # noqa: F401,F403
from .omnisource_datasets import *  # noqa: F401,F403
from .audio_dataset import *  # noqa: F401,F403
from .dataset_wrappers import *  # noqa: F401,F403
from .activitynet_dataset import *  # noqa: F401,F403
from .ssn_dataset import *  # noqa: F401,F403
from .pose_dataset import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
from .synthetic_localization import *  # noqa: F401,F403
from .synthetic_pose import *  # noqa: F401,F403
from . import pipelines  # noqa: F401
from .errors import *  # noqa: F401,F403
from .ava_dataset import *  # noqa: F401,F403
from .sharded_dataset import *  # noqa: F401,F403

# MMAction2 0.x code imports the blending registry and classes from here
# (``from mmaction.datasets import BLENDINGS``); they belong to the models, which load lazily so
# that the data side (and every loader worker) does not import them.
_FROM_MODELS = {'BLENDINGS': 'builder', 'BaseMiniBatchBlending': 'blending',
                'MixupBlending': 'blending', 'CutmixBlending': 'blending'}


def __getattr__(name):
    if name in _FROM_MODELS:
        import importlib
        return getattr(importlib.import_module(f'actionkit.models.{_FROM_MODELS[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
