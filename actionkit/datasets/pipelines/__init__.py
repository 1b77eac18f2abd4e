"""actionkit.datasets.pipelines."""
from .compose import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .decoding import *  # noqa: F401,F403
from .augmentations import *  # noqa: F401,F403
from .formatting import *  # noqa: F401,F403
from .localization import *  # noqa: F401,F403
