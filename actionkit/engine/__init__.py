"""Training engine: the loop, optimizers, lr schedules, hooks, checkpoints, distribution, logs."""
from . import (checkpoint, dist, evaluate, hooks, logging, lr_schedules, multigrid, omnisource,
               optim, precise_bn, trainer)
from .checkpoint import *  # noqa: F401,F403
from .dist import *  # noqa: F401,F403
from .evaluate import *  # noqa: F401,F403
from .hooks import *  # noqa: F401,F403
from .logging import *  # noqa: F401,F403
from .lr_schedules import *  # noqa: F401,F403
from .multigrid import *  # noqa: F401,F403
from .omnisource import *  # noqa: F401,F403
from .optim import *  # noqa: F401,F403
from .precise_bn import *  # noqa: F401,F403
from .trainer import *  # noqa: F401,F403
from . import param_schedulers  # noqa: F401,E402  (registers ParamSchedulerHook: 1.x param_scheduler)
from . import v1_layout  # noqa: F401,E402  (registers V1WorkDirHook: 1.x work-dir layout)

__all__ = [*optim.__all__, *hooks.__all__, *lr_schedules.__all__, *logging.__all__,
           *checkpoint.__all__, *dist.__all__, *trainer.__all__, *precise_bn.__all__,
           *multigrid.__all__, *omnisource.__all__, *evaluate.__all__]
