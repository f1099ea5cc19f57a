"""The synthetic dataset: layout, determinism, readable videos, complete tubes, and the
default preset pinned to what it was before the hard preset."""
import hashlib

import numpy as np

from stad.data.gt import check_gt, load_gt
from stad.data.synth import LABELS, plan_dataset, render_video, render_video_with_ids, synth
from stad.io.mot import load_mot


def test_layout_and_schema(tiny_dataset):
    gt = load_gt(tiny_dataset.gt_file)
    assert check_gt(gt).issues == []
    assert gt['labels'] == LABELS
    assert {v.split('/')[0] for v in gt['nframes']} == {'gym', 'yard'}
    assert len(gt['train_videos'][0]) == 3 and len(gt['test_videos'][0]) == 1
    for video in gt['nframes']:
        assert gt['nframes'][video] == 40 and gt['resolution'][video] == (120, 160)
        for label, tubes in gt['gttubes'][video].items():
            for t in tubes:
                assert t.dtype == np.float32 and t.shape[1] == 5
                assert (np.diff(t[:, 0]) == 1).all()  # consecutive frames
                assert (t[:, 3] > t[:, 1]).all() and (t[:, 4] <= 120).all()


def test_decord_reads_the_videos(tiny_dataset):
    import decord
    gt = load_gt(tiny_dataset.gt_file)
    for video in gt['nframes']:
        vr = decord.VideoReader(tiny_dataset.video_path(video))
        assert len(vr) == 40
        assert vr[0].shape == (120, 160, 3)


def test_same_seed_same_gt_and_frames(tmp_path):
    a = synth(str(tmp_path / 'a'), seed=3, videos=2, frames=12, size=(96, 72), progress=False)
    b = synth(str(tmp_path / 'b'), seed=3, videos=2, frames=12, size=(96, 72), progress=False)
    assert open(a.gt_file, 'rb').read() == open(b.gt_file, 'rb').read()
    plans, _, _ = plan_dataset(seed=3, videos=2, frames=12, size=(96, 72))
    plan = next(iter(plans.values()))
    f1, t1 = render_video(plan)
    f2, t2 = render_video(plan)
    assert all(np.array_equal(x, y) for x, y in zip(f1, f2))
    c = synth(str(tmp_path / 'c'), seed=4, videos=2, frames=12, size=(96, 72), progress=False)
    assert open(a.gt_file, 'rb').read() != open(c.gt_file, 'rb').read()


def test_default_val_split_holds_every_class():
    plans, train, val = plan_dataset(seed=0)
    assert len(train) == 12 and len(val) == 4
    # walk is in every video; the first people of the val videos cycle the other classes
    assert {plans[v].actions[0] for v in val} == {0, 1, 2}


def test_every_drawn_person_is_in_one_tube():
    """Pixels that differ from the empty background are inside some box of the frame."""
    plans, _, _ = plan_dataset(seed=1, videos=2, frames=30, size=(160, 120), max_people=2)
    plan = next(iter(plans.values()))
    frames, tubes = render_video(plan)
    empty, _ = render_video(type(plan)(plan.sport, plan.seed, plan.width, plan.height,
                                       plan.frames, ()))
    boxes = {}
    for label, ts in tubes.items():
        for t in ts:
            for f, *box in t:
                boxes.setdefault(int(f), []).append(box)
    for i, (img, bg) in enumerate(zip(frames, empty)):
        diff = np.abs(img.astype(int) - bg.astype(int)).max(axis=2) > 40
        covered = np.zeros_like(diff)
        for x1, y1, x2, y2 in boxes.get(i + 1, []):
            covered[int(y1):int(np.ceil(y2)) + 1, int(x1):int(np.ceil(x2)) + 1] = True
        stray = diff & ~covered
        # only people less than 30% visible (at the image edge) may be outside every box
        ys, xs = np.nonzero(stray)
        assert len(xs) == 0 or (xs.min() < 25 or xs.max() > 135), (i + 1, len(xs))


def test_a_walk_dipping_below_min_visible_becomes_two_tubes():
    """In these videos of the default dataset (`make run`: seed 0, 72 videos) a walking
    person at the image edge is less than MIN_VISIBLE visible for a frame or two mid-walk:
    the frames around the gap are separate tubes, each of consecutive frames, and the
    ground truth passes `stad check`."""
    plans, _, _ = plan_dataset(seed=0, videos=72, val_videos=8)
    gaps = {'yard/yard_033': (67, 70), 'yard/yard_061': (62, 64), 'gym/gym_068': (71, 73),
            'yard/yard_071': (15, 17)}  # (last frame before, first frame after the gap)
    gt = dict(labels=list(LABELS), train_videos=[list(gaps)], test_videos=[[]],
              nframes={}, resolution={}, gttubes={})
    for video, (before, after) in gaps.items():
        _, tubes = render_video(plans[video])
        for ts in tubes.values():
            for t in ts:
                assert (np.diff(t[:, 0]) == 1).all(), video
        walk_spans = [(int(t[0, 0]), int(t[-1, 0])) for t in tubes[LABELS.index('walk')]]
        assert any(end == before for _, end in walk_spans), (video, walk_spans)
        assert any(start == after for start, _ in walk_spans), (video, walk_spans)
        gt['nframes'][video], gt['resolution'][video] = 80, (240, 320)
        gt['gttubes'][video] = tubes
    assert check_gt(gt, 'gt.pkl').issues == []


# ------------------------------------------------------------- the default is pinned

def _tubes_digest(tubes: dict, tube_ids: dict | None = None) -> str:
    h = hashlib.sha256()
    for label in sorted(tubes):
        h.update(f'label {label} {len(tubes[label])};'.encode())
        for k, t in enumerate(tubes[label]):
            a = np.ascontiguousarray(t, dtype=np.float32)
            h.update(f'{a.shape};'.encode())
            h.update(a.tobytes())
            if tube_ids is not None:
                h.update(f'id {tube_ids[label][k]};'.encode())
    return h.hexdigest()[:16]


def _plans_digest(plans: dict, train: list, val: list) -> str:
    fields = [(v, p.sport, p.seed, p.width, p.height, p.frames, p.actions)
              for v, p in plans.items()]
    return hashlib.sha256(repr((fields, train, val)).encode()).hexdigest()[:16]


def test_default_preset_is_the_set_before_presets():
    """Digests computed with the generator before the hard preset existed: the default
    set (`stad synth`, `make run`'s 72 videos) plans the same videos, draws the same
    boxes with the same ids and renders the same frames, so its training is unchanged."""
    assert _plans_digest(*plan_dataset(seed=0)) == 'd7dfd1789e7ee593'
    assert _plans_digest(*plan_dataset(seed=0, preset='default')) == 'd7dfd1789e7ee593'
    run = plan_dataset(seed=0, videos=72, val_videos=8)
    assert _plans_digest(*run) == 'a9f8c4f8aa3acf32'
    plans = run[0]
    subset = sorted(set(list(plans)[::4]) | {'yard/yard_033', 'yard/yard_061', 'gym/gym_068',
                                              'yard/yard_071'})
    h = hashlib.sha256()
    for video in subset:
        frames, tubes, ids = render_video_with_ids(plans[video])
        h.update(video.encode())
        h.update(_tubes_digest(tubes, ids).encode())
        if video == 'gym/gym_000':
            fh = hashlib.sha256()
            for f in frames:
                fh.update(np.ascontiguousarray(f).tobytes())
            assert fh.hexdigest()[:16] == '5b030fb49689da54'  # the rendered frames
    assert h.hexdigest()[:16] == '32a65a0c3bc60f13'


def test_default_preset_writes_the_same_ground_truth_as_before(tiny_dataset):
    """The ground truth pickle and MOT files `synth` wrote before presets existed
    (seed 0, 4 videos, 40 frames, 160x120), digested."""
    gt = load_gt(tiny_dataset.gt_file)
    h = hashlib.sha256()
    h.update(repr((gt['labels'], gt['train_videos'], gt['test_videos'],
                   sorted(gt['nframes'].items()), sorted(gt['resolution'].items()))).encode())
    for video in sorted(gt['gttubes']):
        h.update(video.encode())
        h.update(_tubes_digest(gt['gttubes'][video]).encode())
        h.update(np.ascontiguousarray(load_mot(tiny_dataset.mot_gt(video)),
                                      dtype=np.float64).tobytes())
    assert h.hexdigest()[:16] == 'e9d7af1a612418f1'
