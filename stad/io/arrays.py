"""Arrays from whatever a model or a result dump holds."""
from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any, dtype=None) -> np.ndarray:
    """A torch tensor (any device, with or without grad) or array-like -> numpy array,
    without importing torch."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)
