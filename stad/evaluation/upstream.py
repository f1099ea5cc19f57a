"""Running mmaction2's own MultiSports evaluation under numpy 2, for comparisons only
(tests and ``tools/benchmarks/bench_eval.py``); stad never evaluates with it."""
import numpy as np


def fixed_iou3dt_voc(b1, b2, spatialonly=False, temporalonly=False):
    """mmaction2's ``iou3dt_voc`` with ``int(np.where(..)[0])`` (a TypeError under numpy 2,
    docs/stack.md bug 4) replaced; same result otherwise. Tubes are (T, 5) arrays
    (frame, x1, y1, x2, y2)."""
    from mmaction.evaluation.functional.multisports_utils import iou3d_voc
    tmin, tmax = max(b1[0, 0], b2[0, 0]), min(b1[-1, 0], b2[-1, 0])
    if tmax < tmin:
        return 0.0
    t_iou = (tmax - tmin) / (max(b1[-1, 0], b2[-1, 0]) - min(b1[0, 0], b2[0, 0]))
    t1 = b1[np.flatnonzero(b1[:, 0] == tmin)[0]:np.flatnonzero(b1[:, 0] == tmax)[0] + 1]
    t2 = b2[np.flatnonzero(b2[:, 0] == tmin)[0]:np.flatnonzero(b2[:, 0] == tmax)[0] + 1]
    return iou3d_voc(t1, t2) * t_iou
