"""The AVA-style action CSV that mmaction2's ``AVADataset`` reads.

One row per (box, action): ``video, frame, x1, y1, x2, y2, label, entity_id`` with
``video`` = ``'<sport>/<video>.mp4'``, ``frame`` 1-based (MultiSports' "timestamp"),
boxes normalised to [0, 1], ``label`` the 0-based class index and ``entity_id`` the
person's tube number within its video. :func:`format_rows` / :func:`write_csv` write it,
:func:`read_keyframes` reads back which frames it annotates.
"""
from __future__ import annotations

import csv
import math
import os
from typing import Iterable, NamedTuple

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


# ------------------------------------------------------ AVA's own CSV (timestamps in seconds)
#
# AVA's annotation files (``ava_train_v2.2.csv``): one row per (box, action)
# ``video_id, middle_frame_timestamp, x1, y1, x2, y2, action_id, person_id`` with the
# timestamp in seconds, boxes normalised to [0, 1] and ``action_id`` the id of the label
# map; older files (AVA v1) have no ``person_id``. No header line (one is accepted).
# :func:`read_ava_rows` reads them, :func:`write_ava_csv` writes them; which frame a
# timestamp is, is for the importer to say (it needs the video's frame rate).

AVA_COLUMNS = ('video_id', 'timestamp', 'x1', 'y1', 'x2', 'y2', 'action_id', 'person_id')


class AvaRow(NamedTuple):
    """One row of an AVA CSV, with the line it came from (1-based)."""

    line: int
    video: str
    timestamp: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 normalised
    action: int
    person: int | None  # None: the row has no person_id


def _number(text: str, what: str, where: str, *, integer: bool = False):
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = 'an integer' if integer else 'a number'
        raise StadError(f'{where}: {what} must be {kind}, got {text!r}') from None
    if not integer and not math.isfinite(value):
        raise StadError(f'{where}: {what} must be a finite number, got {text!r}')
    return value


def read_ava_rows(path: str) -> list[AvaRow]:
    """The rows of an AVA CSV (see above), in file order.

    Blank lines are skipped; the first line is taken as a header when its timestamp
    field is not a number.

    Raises:
        StadError: missing file, or a line that does not have 7 or 8 fields, an empty
            video id, or a field that is not a number (``'<path>:<line>: ...'``).
    """
    if not os.path.isfile(path):
        raise StadError(f'{path}: annotation CSV not found')
    rows: list[AvaRow] = []
    first = True
    with open(path, newline='', encoding='utf-8') as f:
        for n, fields in enumerate(csv.reader(f), 1):
            fields = [x.strip() for x in fields]
            if not any(fields):
                continue
            where = f'{path}:{n}'
            if first and len(fields) >= 2 and not _is_float(fields[1]):
                first = False
                continue  # header
            first = False
            if len(fields) not in (7, 8):
                raise StadError(f'{where}: expected {",".join(AVA_COLUMNS)} (7 or 8 fields, '
                                f'person_id optional), got {len(fields)} fields')
            if not fields[0]:
                raise StadError(f'{where}: empty video_id')
            t = _number(fields[1], 'timestamp', where)
            box = tuple(_number(v, name, where) for v, name in zip(fields[2:6], AVA_COLUMNS[2:6]))
            action = _number(fields[6], 'action_id', where, integer=True)
            person = (_number(fields[7], 'person_id', where, integer=True)
                      if len(fields) == 8 and fields[7] else None)
            rows.append(AvaRow(n, fields[0], t, box, action, person))
    return rows


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_ava_rows(rows: Iterable[tuple]) -> str:
    """AVA CSV text of ``(video_id, timestamp, x1, y1, x2, y2, action_id, person_id)``
    tuples: timestamps and boxes with 6 decimals (a frame-exact timestamp at any usual
    frame rate, a box to 1e-6 of the image side), no header (as AVA's files)."""
    out = []
    for video, t, x1, y1, x2, y2, action, person in rows:
        if ',' in video or '"' in video or '\n' in video:
            raise StadError(f'video id {video!r}: holds a comma, quote or newline')
        out.append(f'{video},{t:.6f},{x1:.6f},{y1:.6f},{x2:.6f},{y2:.6f},{int(action)},'
                   f'{int(person)}\n')
    return ''.join(out)


def write_ava_csv(path: str, rows: Iterable[tuple]) -> int:
    """Write :func:`format_ava_rows` to ``path`` atomically; returns the number of rows."""
    text = format_ava_rows(rows)
    atomic_write_text(path, text)
    return text.count('\n')
