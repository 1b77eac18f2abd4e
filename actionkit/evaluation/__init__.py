"""actionkit.evaluation."""
from .recognition import *  # noqa: F401,F403
from .localization import *  # noqa: F401,F403
