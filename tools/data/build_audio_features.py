"""MMAction2's tools/data/build_audio_features.py: audio (or video) files to log-mel ``.npy``
features, with its defaults (16 kHz, 512-sample window, 256 hop, 80 mel bands).

    python tools/data/build_audio_features.py data/kinetics400/audios \\
        data/kinetics400/audio_features --ext wav --num-workers 4
"""
import sys

from actionkit.datasets.prep.audio_features import main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(main))
