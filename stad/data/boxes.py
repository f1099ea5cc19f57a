"""Box IoU, vectorised; boxes are ``(x1, y1, x2, y2)`` in pixels (the one implementation:
the importers use it, and :mod:`stad.evaluation.functional.iou` re-exports it).

Areas are ``(x2 - x1) * (y2 - y1)`` (the VOC convention the MultiSports evaluation uses,
no ``+1``). An IoU whose union is empty (degenerate boxes) is 0, not NaN.
"""
from __future__ import annotations

import numpy as np


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas of boxes ``(..., 4)`` -> ``(...)``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide='ignore', invalid='ignore'):
        out = num / den
    return np.where(den > 0, out, 0.0)


def iou_pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of corresponding boxes: ``a`` and ``b`` broadcast over ``(..., 4)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
    return _safe_div(inter, box_area(a) + box_area(b) - inter)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a (N, 4)`` with every box of ``b (M, 4)`` -> ``(N, M)``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return iou_pairwise(a[:, None, :], b[None, :, :])
