"""Decode videos into rawframe folders (img_00001.jpg, ...), in parallel and resumably.

A thin wrapper over ``actionkit data extract-frames`` (the logic is in actionkit.utils.data_prep).
Run with --help for the options.
"""
import sys

from actionkit.cli import main

if __name__ == '__main__':
    sys.exit(main(['data', 'extract-frames', *sys.argv[1:]]))
