"""Reading results files (``tools/test.py --out``): ``.pkl``, ``.json`` or ``.yaml``.

A recognition results file is a list with one ``[num_classes]`` score array per test sample, in
dataset order. JSON and YAML hold lists of numbers. Pickles are read with a restricted
unpickler that rebuilds only numpy arrays, numpy scalars and plain containers, which is all
``tools/test.py`` (ours or MMAction2's) writes; anything else in the file (which could run code
when unpickled) is refused unless ``allow_pickle=True`` is passed for a file you trust.

Example:
    >>> scores = load_results('work_dirs/tsn/results.pkl')      # doctest: +SKIP
    >>> score_matrix(scores, 'results.pkl').shape                # doctest: +SKIP
    (3783, 400)
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..utils.safe_pickle import load_safe_pickle

__all__ = ['load_results', 'score_matrix', 'RESULT_SUFFIXES']

#: Suffixes :func:`load_results` reads.
RESULT_SUFFIXES = ('.pkl', '.pickle', '.json', '.yaml', '.yml')


def load_results(path: str | os.PathLike, allow_pickle: bool = False) -> Any:
    """Load a results file by its suffix (see :data:`RESULT_SUFFIXES`).

    Args:
        path: the file.
        allow_pickle: unpickle any object (only for files you trust).

    Returns:
        The stored object, usually a list of score arrays (lists for JSON/YAML).
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in RESULT_SUFFIXES:
        raise ValueError(f'cannot read results from {path!r}: the suffix must be one of '
                         f'{RESULT_SUFFIXES}')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'results file {path!r} does not exist')
    if suffix in ('.pkl', '.pickle'):
        return load_safe_pickle(path, allow_pickle=allow_pickle, expected='results files')
    with open(path, encoding='utf-8') as f:
        if suffix == '.json':
            try:
                return json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{err.lineno}: not valid JSON ({err.msg})') from None
        import yaml

        return yaml.safe_load(f)


def score_matrix(results: Any, source: str = 'results') -> np.ndarray:
    """The results as one ``[N, num_classes]`` float array.

    Raises:
        ValueError: the results are not one score vector per sample of a common length
            (e.g. localization results); ``source`` names them in the message.
    """
    if isinstance(results, np.ndarray):
        items: Sequence[Any] = list(results) if results.ndim == 2 else [results]
    elif isinstance(results, (list, tuple)):
        items = results
    else:
        raise ValueError(f'{source}: expected a list of score vectors, got '
                         f'{type(results).__name__}')
    if not items:
        raise ValueError(f'{source} is empty; expected one score vector per sample')
    try:
        rows = [np.asarray(item, dtype=np.float64).reshape(-1) for item in items]
    except (TypeError, ValueError):
        raise ValueError(f'{source}: expected one score vector (numbers) per sample, got '
                         f'items like {type(items[0]).__name__}') from None
    lengths = {len(row) for row in rows}
    if len(lengths) != 1:
        raise ValueError(f'{source}: the score vectors have different lengths {sorted(lengths)}')
    return np.stack(rows)
