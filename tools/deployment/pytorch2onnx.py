"""Export a recognizer or localizer to ONNX (MMAction2 0.x's command line). See ``--help``.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT [--shape N S C H W]
        [--output-file tmp.onnx] [--opset-version N] [--verify] [--show] [--softmax]
        [--is-localizer] [--dynamic-export]
"""
import sys

from actionkit.commands.export import main
from actionkit.utils.cli_main import run_main

if __name__ == '__main__':
    sys.exit(run_main(main))
