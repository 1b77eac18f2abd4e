"""Run before importing MMAction2 0.x (mmcv 1.x) in a current Python stack.

The benchmarks that time MMAction2 in its own interpreter put this file's text in front of the
script they send it, so it must run on its own there (no actionkit import).
"""
import sys
import types

import numpy as np

for _name, _kind in (('int', int), ('float', float), ('bool', bool)):
    if not hasattr(np, _name):  # removed in numpy 1.24; MMAction2 0.x still uses them
        setattr(np, _name, _kind)
try:  # mmcv.runner imports torchvision only for its model-zoo URLs
    import torchvision  # noqa: F401
except Exception:
    sys.modules['torchvision'] = types.SimpleNamespace(__version__='0.0.0')
