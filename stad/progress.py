"""Progress of long loops: a tqdm bar on a terminal, a periodic line elsewhere.

tqdm redraws its bar with carriage returns; written to a log file or a pipe (CI,
``make run | tee``) that becomes one line thousands of characters long. Off a terminal,
:func:`progress_bar` prints instead one line every tenth of the work or every
:data:`LINE_SECONDS` seconds, with the counts, the rate and the ETA.
"""
from __future__ import annotations

import sys
import time
from typing import Iterable

LINE_SECONDS = 30.0


class LineProgress:
    """The part of tqdm's interface stad uses, printing whole lines (see module doc)."""

    def __init__(self, iterable: Iterable | None = None, *, total: int | None = None,
                 desc: str = '', unit: str = 'it', initial: int = 0, file=None):
        self.iterable = iterable
        self.total = total if total is not None else (
            len(iterable) if hasattr(iterable, '__len__') else None)
        self.desc, self.unit, self.n = desc, unit, initial
        self.file = file or sys.stderr
        self._t0 = self._last_t = time.monotonic()
        self._start_n = initial
        self._last_n = initial
        self._postfix = ''

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_postfix_str(self, text: str) -> None:
        self._postfix = text

    def set_postfix(self, **values) -> None:
        self._postfix = ', '.join(f'{k}={v}' for k, v in values.items())

    def _line(self) -> str:
        elapsed = time.monotonic() - self._t0
        done = self.n - self._start_n
        rate = done / elapsed if elapsed > 0 else 0.0
        parts = [f'{self.desc}: {self.n}' + (f'/{self.total}' if self.total else '')
                 + f' {self.unit}']
        if self.total:
            parts.append(f'{100 * self.n / self.total:.0f}%')
        parts.append(f'{rate:.2f} {self.unit}/s')
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f'ETA {(self.total - self.n) / rate:.0f} s')
        elif self.n and (not self.total or self.n >= self.total):
            parts.append(f'{elapsed:.0f} s')
        if self._postfix:
            parts.append(self._postfix)
        return ', '.join(parts)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        step = max(1, (self.total or 0) // 10)
        if (self.n - self._last_n >= step and self.total) or now - self._last_t >= LINE_SECONDS:
            if self.total is None or self.n < self.total:
                print(self._line(), file=self.file, flush=True)
            self._last_t, self._last_n = now, self.n

    def close(self) -> None:
        if self.n != self._last_n:  # a last line, unless nothing happened since the last
            print(self._line(), file=self.file, flush=True)
            self._last_n = self.n


class _Silent(LineProgress):
    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None,
             desc: str = '', unit: str = 'it', disable: bool = False, initial: int = 0):
    """A tqdm bar on a terminal (stderr), a :class:`LineProgress` elsewhere, nothing
    with ``disable``. Use like tqdm: iterate over it, or ``update(n)`` in a ``with``."""
    if disable:
        return _Silent(iterable, total=total, desc=desc, unit=unit, initial=initial)
    if sys.stderr.isatty():
        from tqdm import tqdm
        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial,
                    dynamic_ncols=True)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, initial=initial)
