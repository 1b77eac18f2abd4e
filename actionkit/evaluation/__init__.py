"""Evaluation metrics with MMAction2 0.x's definitions.

:mod:`~actionkit.evaluation.recognition`: top-k accuracy, mean class accuracy, confusion
matrix, (MMIT) mean average precision. :mod:`~actionkit.evaluation.localization`: AR@AN and
mAP@tIoU for temporal action localization.
"""
from . import hvu, localization, recognition
from .recognition import *  # noqa: F401,F403
from .localization import *  # noqa: F401,F403
from .hvu import *  # noqa: F401,F403

__all__ = [*recognition.__all__, *localization.__all__, *hvu.__all__]
