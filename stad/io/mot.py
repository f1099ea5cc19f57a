"""MOT Challenge text files of person tracks: ground truth identities and tracker output.

One file per video (ground truth: :meth:`stad.io.layout.DataLayout.mot_gt`), one box a
line::

    frame,id,x,y,w,h,conf,-1,-1,-1

``frame`` 1-based, ``id`` an integer >= 1 (one box per id and frame), ``x, y`` the box's
top-left corner and ``w, h`` its size, in pixels (``x + w`` is the exclusive right edge:
the ``(x1, y1, x2, y2)`` boxes of stad are ``(x, y, x + w, y + h)``), ``conf`` the
detector score (1 in ground truth). The last three MOT columns (3D position, or class and
visibility in MOT17's ground truth) are written as ``-1`` and ignored on reading, so
files of 7 to 10 columns read.

In memory a file is a float64 array ``(N, 7)`` of the columns ``frame, id, x, y, w, h,
conf`` (:data:`MOT_COLUMNS`), rows sorted by frame then id.
"""
from __future__ import annotations

import math

import numpy as np

from stad.errors import StadError
from stad.io.atomic import atomic_write_text

#: columns of the in-memory array (the file's first seven)
MOT_COLUMNS = ('frame', 'id', 'x', 'y', 'w', 'h', 'conf')
_MIN_FIELDS, _MAX_FIELDS = 7, 10


def empty_mot() -> np.ndarray:
    """An empty track array ``(0, 7)``."""
    return np.zeros((0, len(MOT_COLUMNS)), dtype=np.float64)


def mot_rows(frames, ids, boxes, scores=None) -> np.ndarray:
    """Track array from per-box ``frames`` (1-based), ``ids`` and ``boxes (N, 4)``
    ``x1, y1, x2, y2`` in pixels (scores default 1); sorted by frame then id."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    out = np.empty((n, len(MOT_COLUMNS)), dtype=np.float64)
    out[:, 0] = np.asarray(frames, dtype=np.float64).reshape(n)
    out[:, 1] = np.asarray(ids, dtype=np.float64).reshape(n)
    out[:, 2:4] = boxes[:, :2]
    out[:, 4:6] = boxes[:, 2:] - boxes[:, :2]
    out[:, 6] = 1.0 if scores is None else np.asarray(scores, dtype=np.float64).reshape(n)
    return sort_mot(out)


def tracked_rows(dets_per_frame, ids_per_frame) -> np.ndarray:
    """MOT rows of a tracker's output: frame ``k`` (1-based) of ``dets_per_frame`` holds
    ``(N_k, 5)`` boxes + scores, ``ids_per_frame[k]`` their track ids; boxes no track
    follows (id ``<= 0``) are left out, as a MOT tracker's output leaves them out."""
    fr, tid, boxes, scores = [], [], [], []
    for f, (d, i) in enumerate(zip(dets_per_frame, ids_per_frame), start=1):
        d, keep = np.asarray(d).reshape(-1, 5), np.asarray(i) > 0
        fr += [f] * int(keep.sum())
        tid.append(np.asarray(i)[keep])
        boxes.append(d[keep, :4])
        scores.append(d[keep, 4])
    if not boxes:
        return mot_rows([], [], np.zeros((0, 4)))
    return mot_rows(fr, np.concatenate(tid), np.concatenate(boxes), np.concatenate(scores))


def sort_mot(rows: np.ndarray) -> np.ndarray:
    """Rows sorted by frame, then id (a copy)."""
    rows = np.asarray(rows, dtype=np.float64)
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))] if len(rows) else rows.copy()


def to_xyxy(rows: np.ndarray) -> np.ndarray:
    """The boxes of a track array as ``(N, 4)`` ``x1, y1, x2, y2`` pixels."""
    rows = np.asarray(rows, dtype=np.float64)
    return np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)


def row_problem(frame: float, track_id: float, box, conf: float) -> str | None:
    """Why one row is not a valid MOT row, or None."""
    values = [frame, track_id, *box, conf]
    if not all(math.isfinite(v) for v in values):
        return 'a value is not a finite number'
    if frame != int(frame) or frame < 1:
        return f'frame must be an integer >= 1 (1-based), got {frame:g}'
    if track_id != int(track_id) or track_id < 1:
        return f'id must be an integer >= 1, got {track_id:g}'
    if box[2] < 0 or box[3] < 0:
        return f'negative box size w={box[2]:g} h={box[3]:g}'
    return None


def _duplicate(rows: np.ndarray) -> tuple[int, int] | None:
    """``(frame, id)`` of the first pair that occurs twice, or None."""
    if len(rows) < 2:
        return None
    pairs = rows[:, :2].astype(np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    p = pairs[order]
    same = np.flatnonzero((p[1:] == p[:-1]).all(axis=1))
    return (int(p[same[0], 0]), int(p[same[0], 1])) if len(same) else None


def format_mot(rows: np.ndarray, where: str = 'MOT rows') -> str:
    """The text of a MOT file (sorted by frame then id); boxes with 2 decimals.

    Raises:
        StadError: a row that is not valid (:func:`row_problem`), or one id twice in a
            frame; the message names ``where`` and the row.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] not in (6, 7):
        raise StadError(f'{where}: expected an (N, 7) array frame, id, x, y, w, h, conf; '
                        f'got shape {rows.shape}')
    if rows.shape[1] == 6:
        rows = np.concatenate([rows, np.ones((len(rows), 1))], axis=1)
    for i, (frame, track_id, x, y, w, h, conf) in enumerate(rows.tolist()):
        problem = row_problem(frame, track_id, (x, y, w, h), conf)
        if problem:
            raise StadError(f'{where}: row {i}: {problem}')
    dup = _duplicate(rows)
    if dup:
        raise StadError(f'{where}: id {dup[1]} has two boxes in frame {dup[0]}')
    lines = [f'{int(f)},{int(i)},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:.4g},-1,-1,-1\n'
             for f, i, x, y, w, h, c in sort_mot(rows).tolist()]
    return ''.join(lines)


def save_mot(path: str, rows: np.ndarray) -> None:
    """Write a track array (``(N, 7)``, or ``(N, 6)`` without conf = 1) to ``path``
    atomically, sorted by frame then id.

    Raises:
        StadError: invalid rows (see :func:`format_mot`), or the write failed.
    """
    atomic_write_text(path, format_mot(rows, where=path))


def parse_mot(text: str, where: str = '<MOT text>') -> np.ndarray:
    """Rows of a MOT file's text -> sorted ``(N, 7)`` float64; blank lines are skipped.

    Raises:
        StadError: ``'<where>:<line>: ...'`` for a line that does not have 7 to 10
            comma-separated numbers, or whose frame, id or size is invalid; or an id with
            two boxes in one frame.
    """
    out, seen = [], {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(',')]
        if not _MIN_FIELDS <= len(fields) <= _MAX_FIELDS:
            raise StadError(f'{where}:{n}: expected frame,id,x,y,w,h,conf,-1,-1,-1 '
                            f'({_MIN_FIELDS} to {_MAX_FIELDS} comma-separated fields), '
                            f'got {len(fields)}')
        try:
            values = [float(f) for f in fields[:_MIN_FIELDS]]
        except ValueError:
            bad = next(f for f in fields[:_MIN_FIELDS] if not _is_number(f))
            raise StadError(f'{where}:{n}: {bad!r} is not a number') from None
        frame, track_id, x, y, w, h, conf = values
        problem = row_problem(frame, track_id, (x, y, w, h), conf)
        if problem:
            raise StadError(f'{where}:{n}: {problem}')
        key = (int(frame), int(track_id))
        if key in seen:
            raise StadError(f'{where}:{n}: id {key[1]} has two boxes in frame {key[0]} '
                            f'(also line {seen[key]})')
        seen[key] = n
        out.append(values)
    return sort_mot(np.asarray(out, dtype=np.float64)) if out else empty_mot()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_mot(path: str) -> np.ndarray:
    """Read a MOT file -> ``(N, 7)`` float64 ``frame, id, x, y, w, h, conf``, sorted by
    frame then id.

    Raises:
        StadError: missing or unreadable file, or a bad line (``'<path>:<line>: ...'``).
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except FileNotFoundError:
        raise StadError(f'{path}: no such MOT file') from None
    except (OSError, UnicodeDecodeError) as e:
        raise StadError(f'cannot read {path}: {getattr(e, "strerror", None) or e}') from None
    return parse_mot(text, where=path)
