"""Train a recognizer or localizer from a config file. See ``--help``."""
import sys

from actionkit.commands.train import main

if __name__ == '__main__':
    sys.exit(main())
