"""The numpy ByteTrack (``make_tracker(engine='numpy')``): the same IDs as mmdet's
ByteTracker on the same boxes, without importing torch or mmdet, and one-line errors for
what it does not run."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from stad.apis.tracking import make_tracker, track_frames
from stad.errors import StadError


def walkers(seed, frames=120, people=6, *, jitter=3.0, miss=0.15, low=0.25, clutter=0.3,
            empty=0.04, gap=0.1, restart_at=None):
    """A detector's view of ``2 * people`` people walking straight lines in any direction
    (so they cross), each on screen for 5 to ``frames / 2`` updates and gone after (for
    longer than any buffer: later people are new tracks): ``[(boxes (N, 4) float32,
    scores (N,), frame_index)]``.

    Each box gets ``jitter`` px of noise; a person is missed with probability ``miss``,
    scored in [0.05, 0.6) (ByteTrack's second association, or no track at all) with
    probability ``low``, else in [0.6, 0.95); Poisson(``clutter``) stray boxes per frame
    score [0.05, 0.75); a frame is empty with probability ``empty``; ``frame_index``
    skips 1 to 3 numbers with probability ``gap`` and starts again at 0 on update
    ``restart_at``. Rows in random order."""
    rng = np.random.RandomState(seed)
    n = 2 * people
    start, length = rng.randint(0, frames, n), rng.randint(5, frames // 2, n)
    pos, vel = rng.uniform(0, 600, (n, 2)), rng.uniform(-12, 12, (n, 2))
    size = rng.uniform([30, 60], [80, 200], (n, 2))
    seq, f = [], 0
    for k in range(frames):
        if k == restart_at:
            f = 0
        boxes, scores = [], []
        if rng.rand() >= empty:
            for p in np.flatnonzero((start <= k) & (k < start + length)):
                if rng.rand() < miss:
                    continue
                c = pos[p] + vel[p] * (k - start[p])
                boxes.append(np.r_[c - size[p] / 2, c + size[p] / 2] + rng.normal(0, jitter, 4))
                scores.append(rng.uniform(0.05, 0.6) if rng.rand() < low else rng.uniform(0.6, 0.95))
            for _ in range(rng.poisson(clutter)):
                c, s = rng.uniform(0, 600, 2), rng.uniform(20, 100, 2)
                boxes.append(np.r_[c, c + s])
                scores.append(rng.uniform(0.05, 0.75))
        order = rng.permutation(len(boxes))
        seq.append((np.array(boxes, np.float32).reshape(-1, 4)[order],
                    np.array(scores, np.float32)[order], f))
        f += 1 + int(rng.rand() < gap) * rng.randint(1, 4)
    return seq


def assert_same_ids(seq, **options):
    """Both engines on ``seq``: equal IDs and ``tracked`` on every update. Returns
    ``(followed boxes, boxes)`` of the sequence."""
    mm = make_tracker('bytetrack', **options)
    port = make_tracker('bytetrack', engine='numpy', **options)
    followed = boxes_seen = 0
    for i, (boxes, scores, f) in enumerate(seq):
        want, got = mm.update(boxes, scores, f), port.update(boxes, scores, f)
        assert got.dtype == np.int64
        assert got.tolist() == want.tolist(), f'update {i} (frame_index {f})'
        assert port.tracked.tolist() == mm.tracked.tolist(), f'update {i} (frame_index {f})'
        followed, boxes_seen = followed + int(mm.tracked.sum()), boxes_seen + len(boxes)
    return followed, boxes_seen


@pytest.mark.parametrize('seed', range(4))
def test_walkers_get_the_ids_mmdet_gives_them(seed):
    # jitter, crossings, misses, low scores, clutter, empty frames, frame_index gaps
    followed, boxes = assert_same_ids(walkers(seed))
    assert 0.3 * boxes < followed < boxes  # both kinds of boxes occur


@pytest.mark.parametrize('seed', range(3))
def test_same_ids_with_other_thresholds_and_a_restart(seed):
    # many low scores and gaps; frame_index 0 again half-way (a new video)
    assert_same_ids(walkers(100 + seed, restart_at=60, gap=0.3, low=0.5), buffer=5,
                    init_thr=0.5, obj_score_thrs=dict(high=0.5, low=0.2),
                    match_iou_thrs=dict(high=0.2, low=0.4, tentative=0.2))


@pytest.mark.parametrize('seed', range(2))
def test_same_ids_in_a_crowd_with_a_short_buffer(seed):
    assert_same_ids(walkers(200 + seed, people=12, jitter=8, clutter=1.5, empty=0.1),
                    buffer=3, num_tentatives=2)


def test_same_ids_on_hand_made_cases():
    a, b = np.array([0, 0, 50, 100], np.float32), np.array([200, 0, 250, 100], np.float32)
    far = np.array([400, 0, 450, 100], np.float32)
    # a person gone for longer than the buffer, then someone new where they were; an
    # exact duplicate box; a low-score box continuing a track; scores on the thresholds
    # (init 0.7, high 0.6, low 0.1: compared in float32, as mmdet's tensors)
    seq = ([([a, b, far], [0.9, 0.9, 0.7])] + [([a, b], [0.9, 0.9])] * 2 + [([b], [0.9])] * 5
           + [([a + 2, b], [0.9, 0.9])] * 3
           + [([a + 4, a + 4, b], [0.8, 0.8, 0.9]), ([a + 6, b + 1, far], [0.3, 0.6, 0.6]),
              ([a + 8, b + 2, far], [0.1, 0.7, 0.1]), ([], [])]
           + [([a + 10, b + 3], [0.61, 0.9])] * 3)
    seq = [(np.array(bx, np.float32).reshape(-1, 4), np.array(s, np.float32), f)
           for f, (bx, s) in enumerate(seq)]
    assert_same_ids(seq, buffer=4)
    assert_same_ids([(bx, s, f) for bx, s, f in seq if f not in (2, 9)], buffer=4)  # gaps
    one = [(far[None], np.array([0.6], np.float32), 0), (far[None] + 1, np.ones(1, np.float32), 1)]
    assert_same_ids(one, init_thr=0.6)  # 0.6 > 0.6 in float64, not in float32
    # IoU 0.49999997 in float64, 0.5 in float32: a low-score box continuing the track in
    # ByteTrack's second association (IoU >= 0.5) as it does in mmdet
    tall = np.array([[0, 0, 40.97626876831055, 177.97816467285156]], np.float32)
    assert_same_ids([(a[None], np.ones(1, np.float32), 0), (tall, np.full(1, 0.3, np.float32), 1)])


def test_track_frames_passes_the_engine_on():
    seq = walkers(7, frames=40)
    dets = [np.c_[boxes, scores] for boxes, scores, _ in seq]
    want = track_frames(dets, 'bytetrack')
    got = track_frames(dets, 'bytetrack', engine='numpy', buffer=30)
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


NO_TORCH = """
import sys
import numpy as np
from stad.apis.tracking import check_tracker_options, make_tracker, track_frames
check_tracker_options('bytetrack', engine='numpy')
t = make_tracker('bytetrack', engine='numpy')
ids = [t.update(np.array([[8 * f, 0, 8 * f + 50, 100]]), [0.9], f).tolist() for f in range(5)]
assert ids == [[1]] * 5, ids
assert t.update(np.zeros((0, 4)), [], 5).tolist() == []
track_frames([np.array([[0, 0, 50, 100, 0.9]])], engine='numpy')
loaded = [m for m in ('torch', 'mmdet', 'mmengine') if m in sys.modules]
assert not loaded, loaded
"""


def test_numpy_engine_imports_neither_torch_nor_mmdet():
    r = subprocess.run([sys.executable, '-c', NO_TORCH], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_engine_choice_is_validated():
    with pytest.raises(StadError, match="^tracker engine 'numpy' runs only bytetrack, not 'ocsort'$"):
        make_tracker('ocsort', engine='numpy')
    with pytest.raises(StadError, match="^tracker engine must be one of mmdet, numpy, got 'torch'$"):
        make_tracker('bytetrack', engine='torch')
    with pytest.raises(StadError, match="^tracker engine 'numpy' runs only bytetrack"):
        track_frames([], 'ocsort', engine='numpy')
    with pytest.raises(StadError, match='^tracker must be one of bytetrack, ocsort'):
        make_tracker('sort', engine='numpy')  # the kind first, as with mmdet's engine
    assert make_tracker(engine='numpy').engine == 'numpy'
