"""The high-level API: inference, testing and training entry points."""
from .inference import *  # noqa: F401,F403
from .test import *  # noqa: F401,F403
from .train import *  # noqa: F401,F403
from .skeleton import *  # noqa: F401,F403
