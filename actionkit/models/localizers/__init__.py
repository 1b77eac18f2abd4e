"""actionkit.models.localizers."""
from .base import *  # noqa: F401,F403
from .bmn import *  # noqa: F401,F403
from .bsn import *  # noqa: F401,F403
from .ssn import *  # noqa: F401,F403
