"""A minimal progress display: a live bar with ETA on a terminal, plain lines otherwise."""
from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ['ProgressBar']


class ProgressBar:
    """Count finished items out of ``total`` and show the rate and the time left.

    On a terminal the bar is redrawn in place; elsewhere (logs, CI) a line is printed at most
    every ``min_interval`` seconds and at the end, so logs stay short. ``unit='B'`` counts
    bytes and shows MiB.
    """

    def __init__(self, total: int, desc: str = '', stream: TextIO | None = None,
                 min_interval: float = 10.0, enabled: bool = True, unit: str = 'it') -> None:
        self.total = max(int(total), 0)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, 'isatty', lambda: False)())
        self.min_interval = 0.1 if self.live else min_interval
        self.enabled = enabled
        self.unit = unit
        self.count = 0
        self.start = time.perf_counter()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.min_interval or self.count >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.count / elapsed
        left = (self.total - self.count) / rate if rate > 0 and self.total else 0.0
        if self.unit == 'B':  # bytes, shown in MiB
            mib = 1024.0**2
            done_text = f'{self.count / mib:.1f}/{self.total / mib:.1f} MiB'
            rate_text = f'{rate / mib:.2f} MiB/s'
        else:
            done_text = f'{self.count}/{self.total}'
            rate_text = f'{rate:.2f} {self.unit}/s'
        text = f'{self.desc}{done_text} [{_fmt(elapsed)} elapsed, ETA {_fmt(left)}, {rate_text}]'
        if self.live:
            width = 30
            done = int(width * self.count / self.total) if self.total else width
            self.stream.write(f'\r[{"#" * done}{"." * (width - done)}] {text}')
            if self.count >= self.total:
                self.stream.write('\n')
        else:
            self.stream.write(text + '\n')
        self.stream.flush()


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}:{minutes:02d}:{secs:02d}' if hours else f'{minutes:02d}:{secs:02d}'
