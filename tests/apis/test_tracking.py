"""The keyframe IoU tracker: a known sequence of boxes gets known, stable IDs."""
import numpy as np
import pytest

from stad.apis.tracking import IoUTracker, assign_track_ids

A = [0, 0, 10, 10]
B = [100, 100, 120, 140]


def test_known_sequence_gets_known_ids():
    seq = [
        np.array([A, B]),                                     # two people
        np.array([[102, 100, 122, 140], [1, 0, 11, 10]]),     # listed in the other order
        np.array([[2, 0, 12, 10], [200, 200, 220, 220]]),     # B missed once, C appears
        np.array([[104, 100, 124, 140]]),                     # B back: same ID after a gap
        np.zeros((0, 4)),                                     # nobody: A and C age out
        np.array([[2, 0, 12, 10]]),                           # A's place again: a new ID
    ]
    ids = assign_track_ids(seq, iou_thr=0.3, max_age=2)
    assert [i.tolist() for i in ids] == [[1, 2], [2, 1], [1, 3], [2], [], [4]]


def test_low_iou_starts_a_new_track_and_ids_are_never_reused():
    # IoU of these two boxes is 5*10 / (100 + 100 - 50) = 1/3 >= 0.3 -> linked
    assert [i.tolist() for i in assign_track_ids([np.array([A]), np.array([[5, 0, 15, 10]])])] \
        == [[1], [1]]
    # IoU 2*10 / (200 - 20) = 0.11 < 0.3 -> new track; the old one is not reused later
    ids = assign_track_ids([np.array([A]), np.array([[8, 0, 18, 10]]), np.array([A])],
                           max_age=1)
    assert [i.tolist() for i in ids] == [[1], [2], [3]]


def test_assignment_maximises_total_iou():
    # IoU(t1, d1) = 0.75 is the best pair, but taking it (greedy) leaves t2 with d2 at
    # IoU 0.11 (< 0.3): a new track. The assignment takes t1-d2 (0.43) + t2-d1 (0.62).
    t1, t2 = [0, 0, 10, 10], [4, 0, 14, 10]
    d1, d2 = [1, 0, 12, 10], [-4, 0, 6, 10]
    ids = assign_track_ids([np.array([t1, t2]), np.array([d1, d2])])
    assert ids[1].tolist() == [2, 1]


def test_pure_and_validated():
    seq = [np.array([A, B], dtype=float)]
    before = seq[0].copy()
    assign_track_ids(seq)
    assert np.array_equal(seq[0], before)
    with pytest.raises(ValueError, match='max_age'):
        IoUTracker(max_age=0)
