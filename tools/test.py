"""Test (and evaluate) a checkpoint on a config's test set. See ``--help``."""
import sys

from actionkit.commands.test import main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(main))
