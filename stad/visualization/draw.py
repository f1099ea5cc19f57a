"""Draw boxes with labels on a BGR (or RGB) image (cv2); returns a copy, never edits the
input."""
from __future__ import annotations

from typing import Sequence

import numpy as np

_PALETTE = [(0, 200, 255), (255, 120, 0), (60, 220, 60), (200, 60, 255), (40, 40, 230),
            (255, 255, 0)]


def draw_boxes(img: np.ndarray, boxes: np.ndarray, texts: Sequence[str] | None = None,
               colours: Sequence[int] | None = None, thickness: int = 1,
               font_scale: float = 0.4, rgb: bool = False) -> np.ndarray:
    """Draw ``boxes`` (N, 4) pixels x1, y1, x2, y2 on a copy of ``img`` (BGR uint8).

    Args:
        texts: one caption per box (drawn above it, moved left where it would leave the
            image), or None.
        colours: a palette index per box (e.g. the label), or None for index order.
        rgb: ``img`` is RGB: the same colours, so the result is exactly the BGR drawing
            with its channels swapped (cv2 draws and anti-aliases each channel alone),
            without converting the frame twice.
    """
    import cv2
    out = img.copy()
    for i, box in enumerate(np.asarray(boxes, dtype=float).reshape(-1, 4)):
        col = _PALETTE[(colours[i] if colours is not None else i) % len(_PALETTE)]
        if rgb:
            col = col[::-1]
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), col, thickness)
        if texts:
            (tw, th), base = cv2.getTextSize(texts[i], cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            ty = max(y1, th + base)
            # keep the caption inside the frame: a box at the right edge gets its caption
            # shifted left (it was cut off there)
            tx = max(0, min(x1, out.shape[1] - tw))
            cv2.rectangle(out, (tx, ty - th - base), (tx + tw, ty), col, -1)
            cv2.putText(out, texts[i], (tx, ty - base), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return out
