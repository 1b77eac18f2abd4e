"""actionkit.models.backbones."""
from .resnet import *  # noqa: F401,F403
from .resnet_tsm import *  # noqa: F401,F403
from .resnet_tin import *  # noqa: F401,F403
from .mobilenet_v2 import *  # noqa: F401,F403
from .mobilenet_v2_tsm import *  # noqa: F401,F403
from .tanet import *  # noqa: F401,F403
from .resnet3d import *  # noqa: F401,F403
from .resnet3d_slowonly import *  # noqa: F401,F403
from .resnet3d_slowfast import *  # noqa: F401,F403
from .resnet2plus1d import *  # noqa: F401,F403
from .c3d import *  # noqa: F401,F403
from .x3d import *  # noqa: F401,F403
from .resnet3d_csn import *  # noqa: F401,F403
from .timesformer import *  # noqa: F401,F403
from .swin import *  # noqa: F401,F403
from .stgcn import *  # noqa: F401,F403
from .agcn import *  # noqa: F401,F403
