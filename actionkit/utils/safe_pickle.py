"""Reading pickles that may come from anyone (results files, pose annotation files).

:func:`load_safe_pickle` rebuilds numpy arrays, numpy scalars and dtypes and plain containers
(list, tuple, dict, set, ``OrderedDict``, str, bytes, numbers) and nothing else: a pickle that
names any other class or function, which could run code while it is unpickled, raises
:class:`UnsafePickleError` naming the file and the object, unless the caller passes
``allow_pickle=True`` for a file it trusts.

Example:
    >>> import io, pickle
    >>> load_safe_pickle(io.BytesIO(pickle.dumps({'label': 3})), 'ann.pkl')
    {'label': 3}
"""
from __future__ import annotations

import io
import os
import pickle
from typing import IO, Any

from .bounded_read import MAX_ANNOTATION_BYTES
from .fileio import display_path, is_remote, read_bytes

__all__ = ['UnsafePickleError', 'load_safe_pickle', 'load_safe_torch']

# (module, name) pairs a data pickle may reference: numpy arrays, dtypes and scalars (under
# numpy 1.x's and 2.x's module names) and a few builtin containers
_SAFE_GLOBALS = {
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'), ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer'),
    ('_codecs', 'encode'), ('collections', 'OrderedDict'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'slice'),
    ('builtins', 'complex'), ('builtins', 'bytearray'),
}
_NUMPY_DTYPES = ('numpy.dtypes', 'numpy')


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle references an object other than numpy arrays, numbers and containers."""


class _DataUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and containers only."""

    def __init__(self, file: IO[bytes], source: str, expected: str) -> None:
        super().__init__(file)
        self._source = source
        self._expected = expected

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS or \
                (module in _NUMPY_DTYPES and name.endswith('DType')):
            return super().find_class(module, name)
        raise UnsafePickleError(
            f'{self._source} holds a {module}.{name} object; {self._expected} are expected '
            'to hold numpy arrays, numbers, strings, lists and dicts only. If you trust the '
            'file, pass allow_pickle=True (--allow-pickle) to load it anyway')


def load_safe_pickle(file: str | os.PathLike | IO[bytes], source: str | None = None,
                     allow_pickle: bool = False, expected: str = 'such files') -> Any:
    """Unpickle ``file`` (a path or a binary file object), refusing code-running objects.

    Args:
        file: the pickle.
        source: the name used in errors (default: the path).
        allow_pickle: unpickle any object (only for files you trust).
        expected: what kind of file it is, for the error ("pose annotation files").

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle references another object and ``allow_pickle`` is off.
        ValueError: the file is not a readable pickle (truncated, or another format).
    """
    if isinstance(file, (str, os.PathLike)):
        source = source or display_path(file)
        if is_remote(file):  # s3:// ... (a missing object raises FileNotFoundError naming it)
            data = read_bytes(file, MAX_ANNOTATION_BYTES, 'pickle file')
        else:
            if not os.path.isfile(file):
                raise FileNotFoundError(f'{source} does not exist')
            with open(file, 'rb') as f:
                data = f.read()
        stream: IO[bytes] = io.BytesIO(data)
    else:
        stream = file
        source = source or getattr(file, 'name', '<pickle>')
    try:
        if allow_pickle:
            return pickle.load(stream)
        return _DataUnpickler(stream, source, expected).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f'{source} is not a readable pickle ({type(err).__name__}: '
                         f'{err})') from None


def load_safe_torch(path: str | os.PathLike, map_location: str = 'cpu',
                    expected: str = 'such files') -> Any:
    """Read a ``torch.save`` file holding tensors and containers only (``weights_only=True``).

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the file references another object (it could run code).
    """
    import torch  # local: the numpy-only loader above does not need torch

    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f'{source} does not exist')
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafePickleError(f'{source} could not be read as {expected} hold tensors, '
                                f'numbers, strings, lists and dicts only: {err}') from None
    except (EOFError, RuntimeError, ValueError) as err:
        raise ValueError(f'{source} is not a readable torch file ({type(err).__name__}: '
                         f'{err})') from None
