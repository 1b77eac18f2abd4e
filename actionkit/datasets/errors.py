"""``actionkit.datasets.errors``: the data errors, defined in :mod:`actionkit.errors`.

They live at the top of the package so that light tools (``tools/data/*``) can import them
without importing torch through ``actionkit.datasets``.
"""
from ..errors import AnnotationError, BadSample, DataError, DecodeError

__all__ = ['DataError', 'DecodeError', 'AnnotationError', 'BadSample']
