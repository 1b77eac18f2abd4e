"""actionkit.models.heads."""
from .base import *  # noqa: F401,F403
from .tsn_head import *  # noqa: F401,F403
from .tpn_head import *  # noqa: F401,F403
from .tsm_head import *  # noqa: F401,F403
from .trn_head import *  # noqa: F401,F403
from .i3d_head import *  # noqa: F401,F403
from .slowfast_head import *  # noqa: F401,F403
from .x3d_head import *  # noqa: F401,F403
from .timesformer_head import *  # noqa: F401,F403
from .ssn_head import *  # noqa: F401,F403
from .audio_tsn_head import *  # noqa: F401,F403
from .stgcn_head import *  # noqa: F401,F403
from .bbox_head import *  # noqa: F401,F403
from .acrn_head import *  # noqa: F401,F403
from .fbo_head import *  # noqa: F401,F403
from .lfb_infer_head import *  # noqa: F401,F403
from .gcn_head import *  # noqa: F401,F403
