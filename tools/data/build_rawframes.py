"""MMAction2's name for tools/data/extract_frames.py, with its defaults (``--task flow``,
``--ext avi``; ``--num-gpu`` is accepted and ignored: flow runs on the CPU here).

    python tools/data/build_rawframes.py data/ucf101/videos data/ucf101/rawframes \\
        --task rgb --level 2 --ext avi --new-short 256
"""
import sys

from actionkit.commands.data import build_rawframes_main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(build_rawframes_main))
