"""Clip-level feature extraction: one pooled backbone feature per video, for BSN/BMN-style inputs.

Usage:
    python tools/misc/clip_feature_extraction.py CONFIG CHECKPOINT --video-list LIST
        [--video-root DIR] --out FEATURES.pkl|json|yaml [--fuse-conv-bn]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--gpu-collect]
        [--tmpdir DIR] [--allow-pickle]

LIST holds one video path a line (relative to DIR). The model of CONFIG (``Recognizer2D`` or
``Recognizer3D``) runs with ``test_cfg.feature_extraction=True`` over ``data.test``'s pipeline;
FEATURES is a list with one ``[C]`` array per video, in LIST's order. Several GPUs:
``tools/misc/dist_clip_feature_extraction.sh``. The logic is in
``actionkit/commands/extract_features.py``.
"""
import sys

from actionkit.commands.extract_features import main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(main))
