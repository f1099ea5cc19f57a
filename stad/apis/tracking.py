"""Link person boxes across keyframes into tracks with stable integer IDs.

A small greedy-by-assignment IoU tracker (no motion model, no appearance): on each
keyframe, live tracks are matched to the new boxes by maximising total IoU
(Hungarian assignment, :func:`scipy.optimize.linear_sum_assignment`); a pair counts as a
match only if its IoU is ``>= iou_thr``. Unmatched boxes start new tracks; a track that
goes unmatched on ``max_age`` consecutive keyframes is dropped, and its ID is never
reused. IDs start at 1 and increase in order of appearance (boxes of one keyframe in
input order).

Boxes are ``(x1, y1, x2, y2)`` in pixels (any consistent unit works: IoU is scale free).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from stad.evaluation.functional.iou import iou_matrix


@dataclass
class _Track:
    id: int
    box: np.ndarray  # last matched box (4,)
    misses: int = 0  # consecutive keyframes without a match


@dataclass
class IoUTracker:
    """Stateful form of :func:`assign_track_ids`, for streaming: call :meth:`update` once
    per keyframe, in time order.

    Args:
        iou_thr: minimum IoU between a track's last box and a new box to link them.
        max_age: a track unmatched on this many consecutive keyframes is dropped
            (1 = it must be seen on every keyframe).
    """

    iou_thr: float = 0.3
    max_age: int = 2
    _tracks: list = field(default_factory=list, init=False, repr=False)
    _next_id: int = field(default=1, init=False, repr=False)

    def __post_init__(self):
        if not 0.0 < self.iou_thr <= 1.0:
            raise ValueError(f'iou_thr must be in (0, 1], got {self.iou_thr}')
        if self.max_age < 1:
            raise ValueError(f'max_age must be >= 1, got {self.max_age}')

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Link the boxes ``(N, 4)`` of the next keyframe; returns their IDs ``(N,)`` int64."""
        from scipy.optimize import linear_sum_assignment

        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = np.zeros(len(boxes), dtype=np.int64)
        matched_tracks: set[int] = set()
        if len(boxes) and self._tracks:
            iou = iou_matrix(np.stack([t.box for t in self._tracks]), boxes)
            rows, cols = linear_sum_assignment(iou, maximize=True)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_thr:
                    track = self._tracks[r]
                    track.box, track.misses = boxes[c].copy(), 0
                    ids[c] = track.id
                    matched_tracks.add(r)
        kept = []
        for i, track in enumerate(self._tracks):
            if i not in matched_tracks:
                track.misses += 1
            if track.misses < self.max_age:
                kept.append(track)
        for c in range(len(boxes)):
            if ids[c] == 0:
                ids[c] = self._next_id
                kept.append(_Track(self._next_id, boxes[c].copy()))
                self._next_id += 1
        self._tracks = kept
        return ids


def assign_track_ids(boxes_per_keyframe: Sequence[np.ndarray], *, iou_thr: float = 0.3,
                     max_age: int = 2) -> list[np.ndarray]:
    """Track IDs of every box of every keyframe (pure: the inputs are not changed).

    Args:
        boxes_per_keyframe: one ``(N_k, 4)`` array of boxes per keyframe, in time order.
        iou_thr: see :class:`IoUTracker`.
        max_age: see :class:`IoUTracker`.

    Returns:
        One ``(N_k,)`` int64 array of IDs (>= 1) per keyframe, aligned with the boxes.
    """
    tracker = IoUTracker(iou_thr=iou_thr, max_age=max_age)
    return [tracker.update(b) for b in boxes_per_keyframe]
