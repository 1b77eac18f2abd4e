"""Data pipeline steps, registered in ``PIPELINES`` under MMAction2 0.x's names.

A pipeline is a list of steps; each takes the results dict and returns it (see
``docs/internals.md`` for the keys). In order of use:

* sampling (:mod:`.sampling`): ``SampleFrames``, ``DenseSampleFrames``,
  ``UntrimmedSampleFrames``;
* decoding (:mod:`.decoding`): ``PyAVInit``/``PyAVDecode`` (the default),
  ``DecordInit``/``DecordDecode``, ``OpenCVInit``/``OpenCVDecode``,
  ``TorchCodecInit``/``TorchCodecDecode``, ``RawFrameDecode``; the video backends live in
  :mod:`.decoders` behind one ``VideoReader`` interface;
* transforms (kernels in :mod:`.functional`): crops in :mod:`.crops` (``RandomCrop``,
  ``RandomResizedCrop``, ``MultiScaleCrop``, ``CenterCrop``, ``ThreeCrop``, ``TenCrop``), the
  others in :mod:`.augmentations` (``Resize``, ``RandomRescale``, ``Flip``, ``ColorJitter``,
  ``Normalize``, ``Fuse``; the crops are importable from there too);
* formatting (:mod:`.formatting`): ``FormatShape``, ``Collect``, ``ToTensor``, ``Rename``,
  ``Transpose``, ``ImageToTensor``, ``ToDataContainer``;
* audio (:mod:`.audio`, kernels in :mod:`.audio_functional`): ``AudioDecodeInit``,
  ``AudioDecode``, ``AudioAmplify``, ``MelSpectrogram``, ``LoadAudioFeature``,
  ``AudioFeatureSelector``, ``FormatAudioShape``;
* skeletons (:mod:`.pose`, :mod:`.pose_heatmap`): ``PoseDecode``, ``PoseCompact``,
  ``PaddingWithLoop``, ``GeneratePoseTarget``, ``JointToBone``, ``FormatGCNInput``,
  ``PoseNormalize`` (``UniformSampleFrames`` is a sampler);
* ``Compose`` runs them; localization steps are in :mod:`.localization`; ``LoadHVULabel`` in
  :mod:`.hvu`; OmniSource's ``BuildPseudoClip`` in :mod:`.pseudo_clip`.
"""
from .compose import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .decoding import *  # noqa: F401,F403
from .crops import *  # noqa: F401,F403
from .augmentations import *  # noqa: F401,F403
from .formatting import *  # noqa: F401,F403
from .localization import *  # noqa: F401,F403
from .hvu import *  # noqa: F401,F403
from .pseudo_clip import *  # noqa: F401,F403
from .audio import *  # noqa: F401,F403
from .pose import *  # noqa: F401,F403
from .pose_heatmap import *  # noqa: F401,F403
from .ava import *  # noqa: F401,F403
from .v1_formatting import *  # noqa: F401,F403
from .v1_sampling import *  # noqa: F401,F403
from .rand_augment import *  # noqa: F401,F403
from .v1_pose import *  # noqa: F401,F403
from .v1_rgbpose import *  # noqa: F401,F403
from .v1_augmentations import *  # noqa: F401,F403
