"""Box and tube IoU, vectorised; boxes are ``(x1, y1, x2, y2)`` in pixels.

Areas are ``(x2 - x1) * (y2 - y1)`` (the VOC convention the MultiSports evaluation uses,
no ``+1``). An IoU whose union is empty (degenerate boxes) is 0, not NaN.
"""
from __future__ import annotations

import numpy as np

from stad.data.boxes import box_area, iou_matrix, iou_pairwise  # noqa: F401 (re-exported)


def temporal_iou(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    """Temporal IoU of two inclusive frame ranges, as the MultiSports evaluation computes it.

    The published code measures lengths as ``end - start`` (no ``+1``): ranges that share
    a single frame have IoU 0. Two identical one-frame ranges (union 0) have IoU 1.
    """
    inter = min(a_end, b_end) - max(a_start, b_start)
    if inter < 0:
        return 0.0
    union = max(a_end, b_end) - min(a_start, b_start)
    return 1.0 if union == 0 else float(inter) / float(union)


def tube_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Spatio-temporal IoU of two tubes ``(T, 5+)`` with rows ``(frame, x1, y1, x2, y2, ...)``.

    = temporal IoU of the frame ranges (:func:`temporal_iou`) x mean per-frame box IoU
    over the frames of the temporal overlap. Rows must be sorted by frame. The published
    code requires both tubes to have a box on every overlapping frame; here a frame
    missing from either tube counts as IoU 0.
    """
    fa, fb = a[:, 0], b[:, 0]
    tmin, tmax = max(fa[0], fb[0]), min(fa[-1], fb[-1])
    tiou = temporal_iou(fa[0], fa[-1], fb[0], fb[-1])
    if tmax < tmin or tiou == 0.0:
        return 0.0
    frames = np.intersect1d(fa[(fa >= tmin) & (fa <= tmax)], fb[(fb >= tmin) & (fb <= tmax)])
    span = int(round(tmax - tmin)) + 1
    if frames.size == 0:
        return 0.0
    ia = np.searchsorted(fa, frames)
    ib = np.searchsorted(fb, frames)
    ious = iou_pairwise(a[ia, 1:5], b[ib, 1:5])
    return tiou * float(ious.sum()) / max(span, frames.size)
