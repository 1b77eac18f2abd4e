"""Re-encode videos as H.264 with PyAV: smaller, short GOP, optional new frame rate.

Parallel and resumable; unreadable videos are reported, not fatal.

A thin wrapper over ``actionkit data resize-videos`` (the logic is in actionkit.datasets.prep.batches).
Run with --help for the options.
"""
import sys

from actionkit.cli import main

if __name__ == '__main__':
    sys.exit(main(['data', 'resize-videos', *sys.argv[1:]]))
