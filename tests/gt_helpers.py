"""A hand-made MultiSports ground truth shared by tests (importable: tests/ is on sys.path
through its conftest)."""
import numpy as np


def hand_gt() -> dict:
    """Two labels, one val video 's/b' of 10 frames at 200x100 (w x h), one tube each."""
    tube = np.array([[1, 10, 10, 50, 90], [2, 12, 10, 52, 90], [3, 14, 10, 54, 90]], np.float32)
    return dict(labels=['run', 'jump'], train_videos=[['s/a']], test_videos=[['s/b']],
                nframes={'s/a': 10, 's/b': 10},
                resolution={'s/a': (100, 200), 's/b': (100, 200)},
                gttubes={'s/a': {0: [tube]}, 's/b': {1: [tube.copy()]}})
