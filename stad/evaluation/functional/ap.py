"""VOC-style average precision from ranked true/false positive flags."""
from __future__ import annotations

import numpy as np


def pr_curve(is_tp: np.ndarray, n_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each prediction of a ranked list.

    Args:
        is_tp: ``(N,)`` bool, predictions sorted by decreasing score.
        n_gt: number of ground-truth instances (> 0).

    Returns:
        ``(precision, recall)``, each ``(N,)`` float64.
    """
    is_tp = np.asarray(is_tp, dtype=bool)
    tp = np.cumsum(is_tp, dtype=np.float64)
    fp = np.cumsum(~is_tp, dtype=np.float64)
    precision = tp / np.maximum(tp + fp, 1.0)
    recall = tp / float(n_gt)
    return precision, recall


def voc_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision/recall curve, VOC style (as the MultiSports evaluation).

    Padding ``(recall 0, precision 0)`` in front and ``(recall 1, precision 0)`` at the
    end, precision is made monotone (each point takes the best precision at any higher
    recall), then ``sum((r[i] - r[i-1]) * p[i])`` over the points where recall changes.
    An empty curve gives 0.
    """
    r = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    p = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    idx = np.flatnonzero(r[1:] != r[:-1]) + 1
    return float(np.sum((r[idx] - r[idx - 1]) * p[idx]))
