"""Train a recognizer or localizer from a config file. See ``--help``."""
import sys

from actionkit.commands.train import main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(main))
