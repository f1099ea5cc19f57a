"""Draw demo predictions on frames (drawing only: the frames come from and go to
:mod:`stad.io.video`).

Boxes between keyframes (documented choice): a frame ``f`` shows the tracks of the last
keyframe at or before it (``kp``). A track also present on the next keyframe (``kn``)
moves linearly from its ``kp`` box to its ``kn`` box; a track absent from ``kn`` keeps
its ``kp`` box until ``kn``. Frames before the first keyframe show the first keyframe's
boxes, frames after the last keyframe its boxes. Captions (track ID, top actions) are
those of ``kp``. Colours are a function of the track ID only, so stable per track.
"""
from __future__ import annotations

import bisect
from typing import Iterable, Iterator, Sequence

import numpy as np

from stad.apis.video import KeyframeResult
from stad.visualization.draw import draw_boxes


def frame_boxes(results: Sequence[KeyframeResult], index: int,
                keys: Sequence[int] | None = None
                ) -> tuple[np.ndarray, np.ndarray, KeyframeResult | None, np.ndarray]:
    """Boxes to draw on frame ``index`` (0-based), per the module's interpolation rule.

    Args:
        results: keyframe results sorted by ``frame_index``.
        index: 0-based frame index.
        keys: ``[r.frame_index for r in results]``, if the caller renders many frames.

    Returns:
        ``(boxes (N, 4) float pixels, track_ids (N,), source keyframe or None,
        rows (N,) indices of the boxes in the source keyframe)``.
    """
    if not results:
        return np.zeros((0, 4)), np.zeros(0, np.int64), None, np.zeros(0, np.int64)
    keys = keys if keys is not None else [r.frame_index for r in results]
    i = bisect.bisect_right(keys, index) - 1
    if i < 0:  # before the first keyframe: hold its boxes
        i = 0
    kp = results[i]
    boxes = np.asarray(kp.boxes, dtype=np.float64).reshape(-1, 4).copy()
    rows = np.arange(len(boxes))
    if i + 1 < len(results) and index > kp.frame_index:
        kn = results[i + 1]
        alpha = (index - kp.frame_index) / float(kn.frame_index - kp.frame_index)
        where_next = {int(t): j for j, t in enumerate(kn.track_ids)}
        for j, tid in enumerate(kp.track_ids):
            k = where_next.get(int(tid))
            if k is not None:
                boxes[j] = (1 - alpha) * boxes[j] + alpha * np.asarray(kn.boxes[k], np.float64)
    return boxes, np.asarray(kp.track_ids, np.int64), kp, rows


def caption(track_id: int, actions: Sequence[tuple[str, float]]) -> str:
    """``'#3 wave 0.82, walk 0.41'`` (actions best first; just ``'#3'`` without any)."""
    text = f'#{int(track_id)}'
    if actions:
        text += ' ' + ', '.join(f'{name} {score:.2f}' for name, score in actions)
    return text


def render_frame(frame_rgb: np.ndarray, boxes: np.ndarray, track_ids: Sequence[int],
                 captions: Sequence[str], *, thickness: int = 2) -> np.ndarray:
    """Draw boxes (pixels) and captions on a copy of an RGB uint8 frame; colour per track ID."""
    if not len(boxes):
        return frame_rgb
    return draw_boxes(frame_rgb, boxes, texts=list(captions),
                      colours=[int(t) for t in track_ids], thickness=thickness, rgb=True)


def annotate_frames(frames: Iterable[tuple[int, np.ndarray]],
                    results: Sequence[KeyframeResult]) -> Iterator[np.ndarray]:
    """Yield each ``(index, RGB frame)`` drawn with :func:`frame_boxes` + :func:`render_frame`."""
    keys = [r.frame_index for r in results]  # once, not per frame
    for index, frame in frames:
        boxes, ids, kp, rows = frame_boxes(results, index, keys)
        caps = [caption(ids[j], kp.actions[rows[j]]) for j in range(len(ids))] if kp else []
        yield render_frame(frame, boxes, ids, caps)
