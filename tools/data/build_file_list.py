"""Write MMAction2 annotation lists: the official splits of a dataset, or a random split.

    python tools/data/build_file_list.py ucf101 data/ucf101/rawframes    # official splits
    python tools/data/build_file_list.py data/mine/videos --format videos  # a folder per class

A thin wrapper over actionkit.commands.data (the logic is in actionkit.datasets.prep.splits,
actionkit.datasets.prep.file_lists and actionkit.datasets.prep.batches). Run with --help for the options.
"""
import sys

from actionkit.commands.data import build_file_list_main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(build_file_list_main))
