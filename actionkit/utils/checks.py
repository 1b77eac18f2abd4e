"""Argument checks shared by every part: one message for "an int of at least N", one
"did you mean" hint for a misspelt name."""
from __future__ import annotations

import difflib
import numbers
from typing import Any

__all__ = ['check_positive_int', 'close_matches']


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


def close_matches(key: Any, candidates: Any) -> str:
    """A ' Did you mean ...?' hint naming up to 3 close candidates, or ''.

    Example:
        >>> close_matches('milestone', ['milestones', 'gamma'])
        " Did you mean 'milestones'?"
    """
    close = difflib.get_close_matches(str(key), [str(c) for c in candidates], n=3, cutoff=0.6)
    return f' Did you mean {", ".join(map(repr, close))}?' if close else ''
