"""Argument checks shared by every part: one message for "an int of at least N"."""
from __future__ import annotations

import numbers
from typing import Any

__all__ = ['check_positive_int']


def check_positive_int(owner: str | None, name: str, value: Any, minimum: int = 1) -> int:
    """Return ``int(value)``; raise ``ValueError`` naming ``owner`` and ``name`` unless
    ``value`` is an integer (a Python or NumPy one, not a bool) of at least ``minimum``.

    Args:
        owner: the class or function the argument belongs to (``'TSMHead'``), or None.
        name: the argument or config key (``'num_segments'``, ``'evaluation.interval'``).
        value: what was given.
        minimum: the smallest value allowed (1: "a positive int").

    Example:
        >>> check_positive_int('TSMHead', 'num_segments', 0)
        Traceback (most recent call last):
        ValueError: TSMHead: num_segments must be a positive int, got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        wanted = 'a positive int' if minimum == 1 else f'an int >= {minimum}'
        prefix = f'{owner}: ' if owner else ''
        raise ValueError(f'{prefix}{name} must be {wanted}, got {value!r}')
    return int(value)
