"""Write MMAction2 train/val annotation lists and a label map for a folder of videos or rawframes.

A thin wrapper over ``actionkit data build-file-list`` (the logic is in actionkit.utils.data_prep).
Run with --help for the options.
"""
import sys

from actionkit.cli import main

if __name__ == '__main__':
    sys.exit(main(['data', 'build-file-list', *sys.argv[1:]]))
