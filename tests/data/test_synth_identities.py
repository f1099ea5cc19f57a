"""The synthetic generator's person identities (MOT ground truth): every tube box with
its person's id, one id per person across all their tubes, ids unique per video; in the
default and the hard preset (people crossing, fast, under a pan)."""
import numpy as np
import pytest

from stad.data.gt import load_gt
from stad.data.synth import (
    STATIONARY,
    WALK,
    identity_rows,
    plan_dataset,
    render_video,
    render_video_with_ids,
    synth,
)
from stad.io.mot import load_mot, to_xyxy


def _lookup(rows):
    """{(frame, id): box x1 y1 x2 y2} of MOT rows."""
    return {(int(f), int(i)): b for (f, i), b in zip(rows[:, :2], to_xyxy(rows))}


def test_every_tube_box_is_in_the_mot_gt_with_its_persons_id(tiny_dataset):
    gt = load_gt(tiny_dataset.gt_file)
    plans, _, _ = plan_dataset(seed=0, videos=4, frames=40, size=(160, 120))
    for video, plan in plans.items():
        rows = load_mot(tiny_dataset.mot_gt(video))
        _, tubes, tube_ids = render_video_with_ids(plan)
        # the tubes behind the ids are the ground truth's
        assert {k: [t.tolist() for t in v] for k, v in tubes.items()} == \
            {k: [t.tolist() for t in v] for k, v in gt['gttubes'][video].items()}
        boxes = _lookup(rows)
        n = 0
        for label, ts in tubes.items():
            for tube, pid in zip(ts, tube_ids[label]):
                for f, *box in tube.tolist():
                    assert np.allclose(boxes[(int(f), pid)], box, atol=0.011), (video, f, pid)
                    n += 1
        assert n == len(rows)  # nothing else in the file
        assert (rows[:, 6] == 1).all()
        assert set(np.unique(rows[:, 1]).astype(int)) <= set(range(1, len(plan.actions) + 1))


@pytest.mark.parametrize('preset', ['default', 'hard'])
def test_ids_are_unique_per_video_and_one_per_person(preset):
    """Checked against what the tubes show, not against how the ids were made: tubes that
    overlap in time are different people (different ids); a stationary action tube that
    starts the frame after another one ends, at the same place, is the same person going
    on with a second action (same id). The hard preset's people cross and hide each
    other: the same holds there."""
    from stad.evaluation.functional.iou import iou_pairwise
    plans, _, _ = plan_dataset(seed=0, videos=8, frames=80, size=(160, 120), preset=preset)
    two_actions = 0
    for video, plan in plans.items():
        _, tubes, tube_ids = render_video_with_ids(plan)
        flat = [(label, tube, pid) for label, ts in tubes.items()
                for tube, pid in zip(ts, tube_ids[label], strict=True)]
        assert {pid for _, _, pid in flat} <= set(range(1, len(plan.actions) + 1))
        for i, (la, ta, pa) in enumerate(flat):
            for lb, tb, pb in flat[i + 1:]:
                if set(ta[:, 0].tolist()) & set(tb[:, 0].tolist()):
                    assert pa != pb, (video, la, lb)  # two people at once
                for first, second in ((ta, tb), (tb, ta)):
                    # one tube goes on where the other stops: the same person
                    if (second[0, 0] == first[-1, 0] + 1
                            and iou_pairwise(first[-1, 1:], second[0, 1:]) > 0.5):
                        assert pa == pb, (video, la, lb)
                        two_actions += la in STATIONARY and lb in STATIONARY and la != lb
        rows = identity_rows(tubes, tube_ids)
        pairs = {(int(f), int(i)) for f, i in rows[:, :2]}
        assert len(pairs) == len(rows) == sum(len(t) for _, t, _ in flat)
    assert two_actions >= 2  # SECOND_ACTION_P makes it common


def test_a_person_doing_two_actions_keeps_one_id_in_the_file(tiny_dataset, tmp_path):
    """The written file: the boxes of both action tubes of one person carry one id, and
    the boxes of the other people others."""
    plans, _, _ = plan_dataset(seed=0, videos=8, frames=80, size=(160, 120))
    for video, plan in plans.items():
        _, tubes, tube_ids = render_video_with_ids(plan)
        people = {}
        for label in STATIONARY:
            for tube, pid in zip(tubes.get(label, []), tube_ids.get(label, [])):
                people.setdefault(pid, []).append(tube)
        pid = next((p for p, ts in people.items() if len(ts) >= 2), None)
        if pid is not None:
            break
    else:
        pytest.fail('no person with two action tubes')
    from stad.io.mot import save_mot
    save_mot(str(tmp_path / 'v.txt'), identity_rows(tubes, tube_ids))
    boxes = _lookup(load_mot(str(tmp_path / 'v.txt')))
    for tube in people[pid]:
        for f, *box in tube.tolist():
            ids_here = [i for (ff, i), b in boxes.items()
                        if ff == int(f) and np.allclose(b, box, atol=0.011)]
            assert ids_here == [pid]


def test_render_video_unchanged_by_the_identities():
    plans, _, _ = plan_dataset(seed=2, videos=2, frames=20, size=(96, 72))
    plan = next(iter(plans.values()))
    f1, t1 = render_video(plan)
    f2, t2, ids = render_video_with_ids(plan)
    assert all(np.array_equal(a, b) for a, b in zip(f1, f2))
    assert {k: [t.tolist() for t in v] for k, v in t1.items()} == \
        {k: [t.tolist() for t in v] for k, v in t2.items()}
    assert {k: len(v) for k, v in ids.items()} == {k: len(v) for k, v in t1.items()}


def test_synth_writes_one_mot_file_per_video(tiny_dataset):
    gt = load_gt(tiny_dataset.gt_file)
    for video in gt['nframes']:
        rows = load_mot(tiny_dataset.mot_gt(video))
        assert len(rows) == sum(len(t) for ts in gt['gttubes'][video].values() for t in ts)
        assert rows[:, 0].max() <= gt['nframes'][video]


def test_hard_preset_ids_do_not_swap_where_people_cross():
    """In the hard preset people walk past each other, fast, under a pan. A person's id
    stays on that person through a crossing: every walk tube keeps moving one way (its
    box centre moves in the same direction over every 3 frames; walking is >= 4 px/frame
    at 120 px height, the pan and jitter less), and the box of one id never jumps
    further between frames than a walker moves."""
    plans, _, _ = plan_dataset(seed=0, videos=8, frames=80, size=(160, 120), preset='hard')
    crossings = 0
    for video, plan in plans.items():
        _, tubes, tube_ids = render_video_with_ids(plan)
        rows = identity_rows(tubes, tube_ids)
        boxes = _lookup(rows)
        for tube, pid in zip(tubes.get(WALK, []), tube_ids.get(WALK, [])):
            inside = (tube[:, 1] > 0) & (tube[:, 3] < plan.width)  # not clipped by an edge
            cx = (tube[inside, 1] + tube[inside, 3]) / 2
            if len(cx) < 4:
                continue
            steps = cx[3:] - cx[:-3]
            assert (np.sign(steps) == np.sign(steps[0])).all(), (video, pid, steps)
            # a crossing: someone else's box overlaps this walker's in some frame
            crossings += any(p != pid and ff == int(f) and b[0] < x2 and b[2] > x1
                             for f, x1, _, x2, _ in tube.tolist()
                             for (ff, p), b in boxes.items())
        for pid in np.unique(rows[:, 1]).astype(int):
            mine = rows[rows[:, 1] == pid]
            cx = mine[:, 2] + mine[:, 4] / 2
            jump = np.abs(np.diff(cx)) / np.diff(mine[:, 0])
            # the fastest walker: 0.105 x height per frame, plus pan and jitter
            assert jump.max() < 0.2 * plan.height, (video, pid, jump.max())
    assert crossings >= 10


def test_hard_preset_mot_file_matches_its_tubes(tmp_path):
    layout = synth(str(tmp_path / 'hard'), seed=1, videos=3, frames=30, size=(128, 96),
                   preset='hard', progress=False)
    gt = load_gt(layout.gt_file)
    plans, _, _ = plan_dataset(seed=1, videos=3, frames=30, size=(128, 96), preset='hard')
    for video, plan in plans.items():
        rows = load_mot(layout.mot_gt(video))
        _, tubes, tube_ids = render_video_with_ids(plan)
        assert {k: [t.tolist() for t in v] for k, v in tubes.items()} == \
            {k: [t.tolist() for t in v] for k, v in gt['gttubes'][video].items()}
        boxes = _lookup(rows)
        assert len(boxes) == len(rows) == sum(len(t) for ts in tubes.values() for t in ts)
        for label, ts in tubes.items():
            for tube, pid in zip(ts, tube_ids[label]):
                for f, *box in tube.tolist():
                    assert np.allclose(boxes[(int(f), pid)], box, atol=0.011)
        assert set(np.unique(rows[:, 1]).astype(int)) <= set(range(1, len(plan.actions) + 1))
