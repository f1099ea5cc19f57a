"""The label map: ``'id: name'`` per line (mmaction2's format; ids are the score
columns of the action model and the labels of the ground truth)."""
from __future__ import annotations

import os
from typing import Iterable

from stad.errors import StadError
from stad.io.atomic import atomic_write_text


def label_map_text(labels: Iterable[str]) -> str:
    """``'id: name'`` per line, ids = label indices as in the CSV."""
    return ''.join(f'{i}: {name}\n' for i, name in enumerate(labels))


def write_label_map(path: str, labels: Iterable[str]) -> None:
    """Write :func:`label_map_text` to ``path`` atomically."""
    atomic_write_text(path, label_map_text(labels))


def read_label_map(path: str) -> dict[int, str]:
    """Read an ``'id: name'`` per line label map (``stad convert``'s and mmaction2's format).

    Blank lines are skipped.

    Raises:
        StadError: missing or empty file, a malformed line or an id given twice (named
            with its line number).
    """
    if not os.path.isfile(path):
        raise StadError(f'label map not found: {path}')
    out: dict[int, str] = {}
    lines: dict[int, int] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            key, sep, name = line.strip().partition(':')
            key, name = key.strip(), name.strip()
            if not sep or not (key.isascii() and key.isdigit()) or not name:
                raise StadError(f'{path}:{n}: expected "id: name", got {line.strip()!r}')
            i = int(key)
            if i in out:
                raise StadError(f'{path}:{n}: id {i} given twice (line {lines[i]}: '
                                f'{out[i]!r}, line {n}: {name!r})')
            out[i], lines[i] = name, n
    if not out:
        raise StadError(f'{path}: empty label map (expected "id: name" lines)')
    return out
