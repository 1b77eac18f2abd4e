"""Decode videos into rawframe folders: RGB frames (img_00001.jpg, ...) and/or optical flow
(flow_x_00001.jpg, flow_y_00001.jpg, ...), in parallel and resumably.

    python tools/data/extract_frames.py data/videos data/rawframes --task both --flow-type farneback

A thin wrapper over actionkit.commands.data (the logic is in actionkit.datasets.prep.batches
and actionkit.datasets.prep.flow). Run with --help for the options.
"""
import sys

from actionkit.commands.data import extract_frames_main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(extract_frames_main))
