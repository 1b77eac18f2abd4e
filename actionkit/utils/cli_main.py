"""One way every command-line entry point ends: a user mistake is one line, not a traceback.

:func:`run_main` runs a ``main`` function and turns an exception (a missing annotation file, a
config key error, a launcher variable that is not set, a full disk ...) into one line on stderr,
``<prog>: error: <ExceptionType>: <message>``, and exit status 1 (130 for Ctrl-C). The
messages name the file, line, key or variable; the traceback is for developers: set
``ACTIONKIT_DEBUG=1`` or pass ``--debug`` (anywhere on the command line) to see it.

Example:
    if __name__ == '__main__':
        sys.exit(run_main(main))
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ['run_main', 'report_error', 'describe_error', 'debug_requested']

_HINT = '(ACTIONKIT_DEBUG=1 or --debug shows the traceback)'


def debug_requested(argv: Sequence[str] = ()) -> bool:
    """True when ``ACTIONKIT_DEBUG`` is set (and not ``0``) or ``--debug`` is in ``argv``."""
    return '--debug' in argv or os.environ.get('ACTIONKIT_DEBUG', '') not in ('', '0')


def describe_error(err: BaseException) -> str:
    """``'<ExceptionType>: <message>'``; a bare ``KeyError('k')`` reads ``missing key 'k'``."""
    if isinstance(err, KeyError) and len(err.args) == 1 and isinstance(err.args[0], str) \
            and ' ' not in err.args[0]:
        message = f'missing key {err.args[0]!r}'
    elif isinstance(err, KeyError) and len(err.args) == 1:
        message = str(err.args[0])
    else:
        message = str(err) or 'no message'
    return f'{type(err).__name__}: {message}'


def report_error(err: BaseException, prog: str) -> int:
    """Print ``err`` as the one error line of ``prog`` and return 1; re-raise it (traceback)
    when debugging was asked for. For mains that end some errors themselves::

        except (OSError, ValueError) as err:
            return report_error(err, 'report_map')
    """
    if debug_requested():
        raise err
    print(f'{prog}: error: {describe_error(err)} {_HINT}', file=sys.stderr)
    return 1


def run_main(main: Callable[..., Any], argv: Sequence[str] | None = None,
             prog: str | None = None) -> int:
    """Run ``main`` as a command; return its exit status (``None`` counts as 0).

    Args:
        main: called as ``main(argv)`` when ``argv`` is given, else as ``main()`` (reading
            ``sys.argv``). ``--debug`` is taken out of the arguments either way.
        argv: the arguments, or ``None`` for ``sys.argv[1:]``.
        prog: the name the error line starts with (default: the script's file name).

    Returns:
        ``main``'s status; 1 after an exception, 130 after Ctrl-C. With ``--debug`` or
        ``ACTIONKIT_DEBUG=1`` exceptions propagate (the traceback is printed).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args)
    before = os.environ.get('ACTIONKIT_DEBUG')
    if debug:  # seen by report_error in the mains that end some errors themselves
        os.environ['ACTIONKIT_DEBUG'] = '1'
    if argv is None:
        sys.argv[1:] = [arg for arg in args if arg != '--debug']
    prog = prog or os.path.basename(sys.argv[0]) or 'actionkit'
    try:
        status = main() if argv is None else main([arg for arg in args if arg != '--debug'])
    except KeyboardInterrupt:
        if debug:
            raise
        print(f'{prog}: interrupted', file=sys.stderr)
        return 130
    except Exception as err:  # the one place that turns any error into a line
        return report_error(err, prog)
    finally:  # an in-process caller (a test, a notebook) keeps its environment
        if before is None:
            os.environ.pop('ACTIONKIT_DEBUG', None)
        else:
            os.environ['ACTIONKIT_DEBUG'] = before
    return 0 if status is None else int(status)
