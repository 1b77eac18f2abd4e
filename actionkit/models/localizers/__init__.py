"""Temporal action localizers (the ``LOCALIZERS`` registry): BMN, BSN (TEM, PEM) and SSN.

Proposal post-processing and BSN's proposal generation module live in
:mod:`actionkit.models.localizers.utils`.
"""
from .base import *  # noqa: F401,F403
from .bmn import *  # noqa: F401,F403
from .bsn import *  # noqa: F401,F403
from .ssn import *  # noqa: F401,F403
from .tcanet import *  # noqa: F401,F403
from .drn import *  # noqa: F401,F403
