"""Person tracking over mmdet's ByteTrack / OC-SORT: IDs survive crossings and short
gaps, follow the input order, and every box has one; the demo runs with either tracker."""
import numpy as np
import pytest

from stad.apis.tracking import make_tracker
from stad.errors import StadError

KINDS = ['bytetrack', 'ocsort']


def crossing(f):
    """Two people 50 x 100 px at 20 px/frame in opposite directions, 10 px apart
    vertically: from frame 7 to 8 each one's new box overlaps the other's old box more
    (IoU 0.82) than its own (0.43), so only the motion model keeps them apart."""
    return np.array([[20 * f, 0, 20 * f + 50, 100],
                     [300 - 20 * f, 10, 350 - 20 * f, 110]], np.float32)


@pytest.mark.parametrize('kind', KINDS)
def test_two_people_crossing_keep_their_ids(kind):
    t = make_tracker(kind)
    got = []
    for f in range(16):
        order = [1, 0] if f % 3 == 1 else [0, 1]  # the detector lists them in any order
        ids = t.update(crossing(f)[order], np.array([0.9, 0.85])[order], frame_index=f)
        assert ids.dtype == np.int64
        got.append(ids[np.argsort(order)].tolist())  # back to (left-starter, right-starter)
    assert got == [[1, 2]] * 16
    assert t.tracked.tolist() == [True, True]


@pytest.mark.parametrize('kind', KINDS)
def test_person_missing_a_few_frames_gets_the_same_id_back(kind):
    a, b = [0, 0, 50, 100], [200, 0, 250, 100]
    t = make_tracker(kind, buffer=4)
    seq = [[a, b]] * 4 + [[b]] * 3 + [[b, a]] * 2  # a unseen 3 times (< buffer 4)
    ids = [t.update(np.array(boxes), np.full(len(boxes), 0.9), f).tolist()
           for f, boxes in enumerate(seq)]
    assert ids == [[1, 2]] * 4 + [[2]] * 3 + [[2, 1]] * 2
    # unseen on 4 updates: dropped; coming back it is a new person
    seq = [[b]] * 4 + [[b, a]]
    ids = [t.update(np.array(boxes), np.full(len(boxes), 0.9), f).tolist()
           for f, boxes in enumerate(seq, 9)]
    assert ids == [[2]] * 4 + [[2, 3]]


@pytest.mark.parametrize('kind, one_track_up_to', [('bytetrack', 48), ('ocsort', 24)])
def test_keyframes_of_a_person_walking_are_one_track(kind, one_track_up_to):
    # the demo's case: detections every k video frames, numbered 0, 1, 2, ...; a walker
    # 60 px wide moving `step` px per keyframe. A new track has no velocity yet, so its
    # first match rests on IoU(box, next box) x score, which ByteTrack wants > 0.1 and
    # OC-SORT > 0.3: at 32 px per keyframe (IoU 0.30) OC-SORT starts a new track each time
    for step in (8, 24, 48):
        t = make_tracker(kind)
        ids = [t.update(np.array([[step * i, 0, step * i + 60, 150]]), [0.9], i).tolist()
               for i in range(10)]
        assert (ids == [[1]] * 10) == (step <= one_track_up_to), step


def test_bytetrack_low_score_boxes_continue_tracks_but_start_none():
    a, far = np.array([0, 0, 50, 100]), np.array([300, 0, 350, 100])
    t = make_tracker('bytetrack')
    # no track yet: 0.65 is below the init threshold 0.7 -> followed by no track, but it
    # still gets an ID (its own: the demo draws it)
    assert t.update(np.array([a, far]), [0.9, 0.65], 0).tolist() == [1, 2]
    assert t.tracked.tolist() == [True, False]
    # a low-score box (0.1 < 0.3 <= 0.6) continues the track it overlaps...
    assert t.update(np.array([a + 5, far]), [0.3, 0.3], 1).tolist() == [1, 3]
    # ...a lone one starts none (new ID each time: 3, then 5)
    assert t.tracked.tolist() == [True, False]
    # under the low threshold 0.1 even the overlapping box is not followed
    assert t.update(np.array([a + 10, far]), [0.05, 0.3], 2).tolist() == [4, 5]
    assert t.tracked.tolist() == [False, False]
    # missed once, the person is picked up again with a high score
    assert t.update(np.array([a + 15]), [0.9], 3).tolist() == [1]


@pytest.mark.parametrize('kind', KINDS)
def test_reset_and_frame_zero_start_again(kind):
    t = make_tracker(kind)
    boxes = np.array([[0, 0, 50, 100], [200, 0, 250, 100]])
    for f in range(3):
        t.update(boxes, [0.9, 0.9], f)
    t.reset()
    assert t.update(boxes[::-1], [0.9, 0.9], 0).tolist() == [1, 2]
    t.update(boxes, [0.9, 0.9], 1)
    assert t.update(boxes, [0.9, 0.9], 0).tolist() == [1, 2]  # frame 0: a new video
    assert t.update(np.zeros((0, 4)), [], 1).tolist() == []  # nobody: empty ids
    with pytest.raises(ValueError, match='frame_index must increase'):
        t.update(boxes, [0.9, 0.9], 1)


def test_tracker_choice_is_validated_and_keeps_the_default_scope():
    from mmengine.registry import DefaultScope
    with pytest.raises(StadError, match="^tracker must be one of bytetrack, ocsort, got 'sort'$"):
        make_tracker('sort')
    with pytest.raises(StadError, match='buffer must be an integer >= 1'):
        make_tracker('ocsort', buffer=0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        t = make_tracker('ocsort')  # builds without motmetrics, under another scope
        assert DefaultScope.get_current_instance().scope_name == 'mmaction'
    assert t.update(np.array([[0, 0, 50, 100]]), [0.9], 0).tolist() == [1]


# ------------------------------------------------------------------- the demo path

class _Source:
    """What predict_video reads of a VideoFrames: 40 black frames of 400 x 240 (wide
    enough that no box of :func:`crossing` is clipped)."""
    num_frames, width, height, path = 40, 400, 240, 'stub.mp4'

    def frames(self, inds):
        return np.zeros((len(inds), self.height, self.width, 3), np.uint8)

    def stream(self, wanted=None, *, rgb=False):
        for i in range(self.num_frames):
            if wanted is None or wanted(i):
                yield i, np.zeros((self.height, self.width, 3), np.uint8)


class _ActionModel:
    clip_len, frame_interval = 4, 2

    def check_length(self, num_frames, path):
        pass


class _Detector:
    """Two people crossing, frame ``f`` of :func:`crossing` on the ``f``-th keyframe;
    ``(N, 5)`` pixel boxes + score, best first."""

    def __init__(self):
        self.keyframes = 0

    def __call__(self, frames):
        out = []
        for _ in frames:
            out.append(np.concatenate([crossing(self.keyframes), [[0.9], [0.85]]], axis=1))
            self.keyframes += 1
        return out


@pytest.mark.parametrize('kind', KINDS)
def test_demo_tracks_people_with_either_tracker(kind, monkeypatch):
    import stad.apis.action
    from stad.apis.video import DemoOptions, predict_video
    monkeypatch.setattr(stad.apis.action, 'predict_keyframes',
                        lambda am, src, keys, boxes, **kw: [np.zeros((len(b), 2)) for b in boxes])
    det = _Detector()
    opts = DemoOptions(tracker=kind, keyframe_stride=4, track_stride=4, batch_size=3)
    results = predict_video(_Source(), det, _ActionModel(), label_map={0: 'a', 1: 'b'},
                            options=opts, progress=False)
    assert len(results) == det.keyframes == 10  # tracked frames 0, 4, 8, ..., 36
    assert [r.frame_index for r in results if r.is_keyframe] == list(range(4, 40, 4))
    assert [r.track_ids.tolist() for r in results] == [[1, 2]] * 10


def test_demo_options_name_a_tracker():
    from stad.apis.video import DemoOptions
    with pytest.raises(StadError, match="^tracker must be one of bytetrack, ocsort, got 'iou'$"):
        DemoOptions(tracker='iou')
    with pytest.raises(StadError, match=r'^track_init_thr must be in \[0, 1\], got 1.5$'):
        DemoOptions(track_init_thr=1.5)
    with pytest.raises(StadError, match='^track_buffer must be >= 1, got 0$'):
        DemoOptions(track_buffer=0)


def _tracks_per_true_person(kind, step, buffer, videos=4):
    """Track the synthetic generator's own boxes (who is who known), with a detector's
    jitter and misses, on every ``step``-th frame: ``{video: sorted tracks per person}``."""
    from stad.data.synth import identity_rows, plan_dataset, render_video_with_ids
    from stad.io.mot import to_xyxy
    plans, _, _ = plan_dataset(seed=0, videos=8)
    counts = {}
    for video, plan in list(plans.items())[:videos]:
        _, tubes, tube_ids = render_video_with_ids(plan)
        rows = identity_rows(tubes, tube_ids)
        boxes, rng = to_xyxy(rows), np.random.default_rng(0)
        t = make_tracker(kind, buffer=buffer)
        seen: dict[int, set] = {}
        for i, f in enumerate(range(8 % step, plan.frames, step)):
            on = (rows[:, 0] == f + 1) & (rng.random(len(rows)) > 0.1)  # 10% missed
            b = boxes[on] + rng.normal(0, 2, (on.sum(), 4))
            ids = t.update(b.astype(np.float32), rng.uniform(0.75, 0.95, on.sum()), i)
            for person, tid in zip(rows[on, 1].astype(int), ids):
                seen.setdefault(person, set()).add(int(tid))
        counts[video] = sorted(len(s) for s in seen.values())
    return counts


@pytest.mark.parametrize('kind', KINDS)
def test_the_demo_tracks_every_frame_because_keyframes_alone_split_people(kind):
    """The new user's report: 9 track IDs on one 80-frame synthetic video with about 3
    people. From one keyframe to the next (8 frames) a walker moves more than their width
    and a jumping jack changes the box's shape: tracked on keyframes only, people split
    into several tracks each. The demo tracks every frame (DemoOptions.track_stride 1):
    at most 3 tracks for a person (entering at the image edge, their clipped box grows
    fast; a jumping jack doubles its width), 2 on average, against 2.5 or more on
    keyframes alone. (Looser association thresholds than mmdet's bring every-frame
    tracking to 1.3 here, but score lower HOTA and IDF1 on the trained detector's
    proposals: docs/evaluation.md.)"""
    from stad.apis.video import DemoOptions
    d = DemoOptions()
    every = [n for c in _tracks_per_true_person(kind, d.track_stride, d.track_buffer).values()
             for n in c]
    keyframes_only = [n for c in _tracks_per_true_person(kind, d.keyframe_stride, 4).values()
                      for n in c]
    assert d.track_stride == 1
    assert max(every) <= 3 and np.mean(every) <= 2.0, every
    assert np.mean(keyframes_only) >= 2.5, keyframes_only
