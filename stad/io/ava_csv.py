"""The AVA-style action CSV that mmaction2's ``AVADataset`` reads.

One row per (box, action): ``video, frame, x1, y1, x2, y2, label, entity_id`` with
``video`` = ``'<sport>/<video>.mp4'``, ``frame`` 1-based (MultiSports' "timestamp"),
boxes normalised to [0, 1], ``label`` the 0-based class index and ``entity_id`` the
person's tube number within its video. :func:`format_rows` / :func:`write_csv` write it,
:func:`read_keyframes` reads back which frames it annotates.
"""
from __future__ import annotations

import os
from typing import Iterable

from stad.errors import StadError
from stad.io.atomic import atomic_write_text
from stad.io.layout import parse_img_key

Row = tuple  # (video.mp4, frame, x1, y1, x2, y2, label, entity_id)


def format_rows(rows: Iterable[Row]) -> str:
    """The CSV text of ``rows`` (boxes with 3 decimals)."""
    return ''.join(f'{v},{f},{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f},{lab},{ent}\n'
                   for v, f, x1, y1, x2, y2, lab, ent in rows)


def write_csv(path: str, rows: Iterable[Row]) -> int:
    """Write ``rows`` atomically; returns the number of rows."""
    text = format_rows(rows)
    atomic_write_text(path, text)
    return text.count('\n')


def read_keyframes(path: str) -> dict[str, set[int]]:
    """``{video: 1-based keyframes}`` listed in an AVA-style CSV.

    Raises:
        StadError: missing file or a line without ``video,frame`` (file and line named).
    """
    if not os.path.isfile(path):
        raise StadError(f'{path}: annotation CSV not found')
    frames: dict[str, set[int]] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.strip().split(',')
            try:
                video, frame = parse_img_key(f'{parts[0]},{parts[1]}')
            except (IndexError, ValueError):
                raise StadError(f'{path}:{n}: expected "video,frame,..." got '
                                f'{line.strip()!r}') from None
            frames.setdefault(video, set()).add(frame)
    return frames
