"""Create ML's "largest, most present person" as a score: golden values, range limits,
untracked boxes, ties."""
import numpy as np
import pytest

from stad.evaluation.functional.dominant import TrackScore, dominant_tracks


def _rows(track, frames, box):
    return [(f, track, box) for f in frames]


def _call(rows, **kw):
    frames = [r[0] for r in rows]
    ids = [r[1] for r in rows]
    boxes = [r[2] for r in rows]
    return dominant_tracks(frames, ids, np.asarray(boxes, float).reshape(-1, 4), **kw)


def test_golden_scores_absent_frames_count_zero():
    # image 100x100 = 10000 px; range 1..10
    rows = (_rows(1, range(1, 11), (0, 0, 20, 20))      # 400 px = 0.04 on all 10 frames
            + _rows(2, range(1, 6), (0, 0, 40, 40))     # 1600 px = 0.16 on 5 of 10 frames
            + _rows(3, range(1, 3), (0, 0, 10, 10)))    # 0.01 on 2 frames
    out = _call(rows, start=1, end=10, image_area=100 * 100)
    assert [t.track_id for t in out] == [2, 1, 3]
    assert out[0] == TrackScore(2, pytest.approx(0.08), pytest.approx(0.5), pytest.approx(0.16))
    assert out[1] == TrackScore(1, pytest.approx(0.04), pytest.approx(1.0), pytest.approx(0.04))
    assert out[2] == TrackScore(3, pytest.approx(0.002), pytest.approx(0.2), pytest.approx(0.01))
    for t in out:
        assert t.score == pytest.approx(t.coverage * t.mean_area)


def test_only_the_range_counts_and_untracked_boxes_are_ignored():
    rows = (_rows(1, range(1, 21), (0, 0, 10, 10))
            + _rows(2, range(15, 21), (0, 0, 50, 50))   # outside 1..10 entirely
            + _rows(0, range(1, 11), (0, 0, 90, 90))    # untracked
            + _rows(-1, range(1, 11), (0, 0, 90, 90)))
    out = _call(rows, start=1, end=10, image_area=10000)
    assert [t.track_id for t in out] == [1]
    assert out[0].coverage == 1.0
    out = _call(rows, start=11, end=20, image_area=10000)
    assert [t.track_id for t in out] == [2, 1]
    assert out[0].coverage == pytest.approx(0.6)


def test_a_duplicate_box_on_one_frame_counts_once_the_larger():
    # (frame, track, box)
    rows = [(1, 5, (0, 0, 10, 10)), (1, 5, (0, 0, 20, 20)), (2, 6, (0, 0, 10, 10))]
    out = _call(rows, start=1, end=2, image_area=10000)
    assert [t.track_id for t in out] == [5, 6]
    assert out[0].coverage == 0.5
    assert out[0].score == pytest.approx(400 / 10000 / 2)


def test_ties_by_coverage_then_lower_id():
    # same score 0.02: track 7 on every frame with 0.02, track 4 on half with 0.04
    rows = _rows(4, range(1, 3), (0, 0, 20, 20)) + _rows(7, range(1, 5), (0, 0, 10, 20))
    rows += _rows(9, range(1, 5), (0, 0, 10, 20))
    out = _call(rows, start=1, end=4, image_area=10000)
    assert [t.track_id for t in out] == [7, 9, 4]


def test_empty_and_bad_input():
    assert dominant_tracks([], [], np.zeros((0, 4)), start=1, end=5, image_area=1) == []
    with pytest.raises(ValueError, match='end < start'):
        dominant_tracks([1], [1], [[0, 0, 1, 1]], start=5, end=4, image_area=1)
    with pytest.raises(ValueError, match='image_area'):
        dominant_tracks([1], [1], [[0, 0, 1, 1]], start=1, end=4, image_area=0)
    with pytest.raises(ValueError, match='one of each'):
        dominant_tracks([1, 2], [1], [[0, 0, 1, 1]], start=1, end=4, image_area=1)
