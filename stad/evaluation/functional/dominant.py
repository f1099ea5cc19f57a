"""The dominant person of a frame range: Create ML's rule for videos with several people.

Apple's Create ML action classifier, given a video with more than one person, takes the
action to be performed by "the largest, most present" person. stad labels such videos
itself (:mod:`stad.tasks.autolabel`) and needs that rule as a number, so here it is:

    score(track) = sum over frames f in [start, end] of area(track's box on f)
                   / ((end - start + 1) * image_area)

that is, the track's box area as a fraction of the image, averaged over every frame of
the range with the frames where the track has no box counted as 0. A person twice as
large scores twice as much; a person present on half the range scores half. It equals
``coverage * mean_area`` (below). Pure numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrackScore:
    """One track's standing in a frame range.

    Attributes:
        track_id: the track (>= 1).
        score: mean box-area fraction over the range, absent frames as 0 (module
            docstring); the ranking key.
        coverage: share of the range's frames on which the track has a box, in [0, 1].
        mean_area: mean box-area fraction of the image over the frames the track has a
            box on (so ``score == coverage * mean_area``).
    """

    track_id: int
    score: float
    coverage: float
    mean_area: float


def dominant_tracks(frames, track_ids, boxes, *, start: int, end: int,
                    image_area: float) -> list[TrackScore]:
    """Rank the tracks seen in frames ``start..end`` (inclusive) by Create ML's rule.

    Args:
        frames: ``(N,)`` 1-based frame number of each box.
        track_ids: ``(N,)`` int track id of each box; ids <= 0 (untracked boxes) are
            ignored.
        boxes: ``(N, 4)`` ``x1, y1, x2, y2`` pixels (a box with no area counts 0).
        start, end: the frame range, inclusive, ``start <= end``.
        image_area: width * height of the frames, pixels (> 0).

    Returns:
        One :class:`TrackScore` per track with a box in the range, best first: highest
        score, then highest coverage, then lowest id. Should a track have two boxes on
        one frame, the larger counts. Empty when no tracked box lies in the range.

    Raises:
        ValueError: ``end < start``, ``image_area <= 0``, or arrays of different lengths.
    """
    start, end = int(start), int(end)
    if end < start:
        raise ValueError(f'frame range {start}..{end} is empty (end < start)')
    if not image_area > 0:
        raise ValueError(f'image_area must be > 0, got {image_area}')
    frames = np.asarray(frames).reshape(-1).astype(np.int64)
    ids = np.asarray(track_ids).reshape(-1).astype(np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(frames) == len(ids) == len(boxes):
        raise ValueError(f'{len(frames)} frames, {len(ids)} track ids and {len(boxes)} boxes: '
                         'expected one of each per box')
    keep = (ids > 0) & (frames >= start) & (frames <= end)
    frames, ids, boxes = frames[keep], ids[keep], boxes[keep]
    if not len(ids):
        return []
    area = (np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
            * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)) / float(image_area)
    # one value per (track, frame): the largest box
    order = np.lexsort((-area, frames, ids))
    ids, frames, area = ids[order], frames[order], area[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = (ids[1:] != ids[:-1]) | (frames[1:] != frames[:-1])
    ids, area = ids[first], area[first]
    n_range = end - start + 1
    tracks, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=area, minlength=len(tracks))
    out = [TrackScore(int(t), float(s / n_range), float(c / n_range), float(s / c))
           for t, s, c in zip(tracks, sums, counts)]
    out.sort(key=lambda ts: (-ts.score, -ts.coverage, ts.track_id))
    return out
