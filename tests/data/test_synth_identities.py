"""The synthetic generator's person identities (MOT ground truth): every tube box with
its person's id, one id per person across all their tubes, ids unique per video."""
import numpy as np
import pytest

from stad.data.gt import load_gt
from stad.data.synth import STATIONARY, identity_rows, plan_dataset, render_video, render_video_with_ids
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


def test_ids_are_unique_per_video_and_one_per_person():
    """Checked against what the tubes show, not against how the ids were made: tubes that
    overlap in time are different people (different ids); a stationary action tube that
    starts the frame after another one ends, at the same place, is the same person going
    on with a second action (same id)."""
    from stad.evaluation.functional.iou import iou_pairwise
    plans, _, _ = plan_dataset(seed=0, videos=8, frames=80, size=(160, 120))
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
