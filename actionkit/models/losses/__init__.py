"""Losses (the ``LOSSES`` registry): classification losses and the localizers' losses."""
from .base import *  # noqa: F401,F403
from .cross_entropy_loss import *  # noqa: F401,F403
from .cb_focal_loss import *  # noqa: F401,F403
from .nll_loss import *  # noqa: F401,F403
from .bmn_loss import *  # noqa: F401,F403
from .ssn_loss import *  # noqa: F401,F403
from .hvu_loss import *  # noqa: F401,F403
