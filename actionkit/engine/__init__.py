"""Training engine: the loop, optimizers, hooks, checkpoints, distribution and logging."""
from .optim import *  # noqa: F401,F403
from .hooks import *  # noqa: F401,F403
