"""Action tubes from person tracks (``linker='tracks'``): hand-made cases, and the
measurement that chose the defaults (``python tests/evaluation/test_track_tubes.py``)."""
import itertools
import sys

import numpy as np
import pytest

import stad  # noqa: F401  (compat fixes before anything from the stack)
from stad.evaluation.functional import (
    TRACK_DEFAULTS,
    evaluate_multisports,
    tubes_from_tracks,
    video_ap,
)
from stad.evaluation.synthetic import synthetic_dets, synthetic_gt


def moving_box(frames, x0=10.0, dx=2.0):
    """Boxes of the one person of the hand-made cases on ``frames``: moving right."""
    f = np.asarray(frames, dtype=np.float64)
    x = x0 + dx * (f - 1)
    return np.stack([x, np.full_like(x, 20.0), x + 40, np.full_like(x, 100.0)], 1)


def gt_tubes(tubes, labels=('a', 'b'), nframes=60):
    """``tubes``: [(label, frames)] in one video, boxes of :func:`moving_box`."""
    per = {}
    for label, frames in tubes:
        per.setdefault(label, []).append(np.column_stack([frames, moving_box(frames)]))
    return dict(labels=list(labels), nframes={'s/v': nframes}, resolution={'s/v': (240, 320)},
                gttubes={'s/v': per}, test_videos=[['s/v']])


def track_rows(frames, scores, track=1, video=0):
    """Rows of one track: on every frame its :func:`moving_box`, one row per class with
    ``scores[i][c]``. Returns (dets, ids)."""
    frames = list(frames)
    boxes = moving_box(frames)
    rows = [[video, f, c, s, *b] for f, b, sc in zip(frames, boxes, scores)
            for c, s in enumerate(sc)]
    return np.array(rows, dtype=np.float64), np.full(len(rows), track, dtype=np.int64)


def one_class_scores(n, cls, hi=0.9, lo=0.05, n_labels=2):
    s = np.full((n, n_labels), lo)
    s[:, cls] = hi
    return s


def frames_of(t):
    return t.boxes[:, 0].astype(int).tolist()


# --------------------------------------------------------------------------- hand-made

def test_scores_smoothed_along_a_track_skip_its_missing_frames_and_other_tracks():
    from stad.evaluation.functional import smooth_track_scores
    # track 1: frames 1, 2, 4 (3 missing), class 0 scores 0.9, 0.3, 0.5; track 2 and an
    # untracked row on frame 2 keep their own
    rows = [[0, 1, 0, 0.9, 0, 0, 10, 10], [0, 2, 0, 0.3, 0, 0, 10, 10],
            [0, 4, 0, 0.5, 0, 0, 10, 10], [0, 2, 0, 0.1, 50, 0, 60, 10],
            [0, 2, 0, 0.7, 80, 0, 90, 10]]
    ids = [1, 1, 1, 2, 0]
    got = smooth_track_scores(np.array(rows, float), ids, 3)[:, 3]
    # frame 2: (0.9 + 0.3) / 2, frame 3 missing is not a 0; frame 4: its neighbour is missing
    assert np.allclose(got, [0.6, 0.6, 0.5, 0.1, 0.7])
    assert np.array_equal(smooth_track_scores(np.array(rows, float), ids, 1), rows)


def test_perfect_track_is_the_ground_truth():
    frames = range(5, 35)
    gt = gt_tubes([(0, frames)])
    dets, ids = track_rows(frames, one_class_scores(30, 0))
    tubes = tubes_from_tracks(gt, dets, ids)
    assert tubes[1] == [] and len(tubes[0]) == 1
    t = tubes[0][0]
    assert t.video == 's/v'
    assert t.score == pytest.approx(0.9 * 30 / (30 + TRACK_DEFAULTS['min_len']))  # 'mean_len'
    assert tubes_from_tracks(gt, dets, ids, score='mean')[0][0].score == pytest.approx(0.9)
    np.testing.assert_allclose(t.boxes[:, :5], gt['gttubes']['s/v'][0][0])
    assert video_ap(gt, tubes, 0.5)[0.5].mean_ap == pytest.approx(1.0)
    r = evaluate_multisports(gt, dets, linker='tracks', track_ids=ids)
    assert r.summary()['v_map@0.5'] == pytest.approx(1.0) and r.n_tubes == 1
    d = r.to_dict()
    assert d['linker'] == 'tracks' and d['linker_params'] == TRACK_DEFAULTS
    assert evaluate_multisports(gt, dets).to_dict()['linker'] == 'moc'


@pytest.mark.parametrize('smoother', ['mean', 'median'])
def test_class_change_gives_two_tubes(smoother):
    frames = list(range(1, 41))
    gt = gt_tubes([(0, frames[:20]), (1, frames[20:])])
    dets, ids = track_rows(frames, np.concatenate([one_class_scores(20, 0),
                                                   one_class_scores(20, 1)]))
    tubes = tubes_from_tracks(gt, dets, ids, smoother=smoother)
    assert [len(tubes[0]), len(tubes[1])] == [1, 1]
    (a,), (b,) = tubes[0], tubes[1]
    if smoother == 'median':  # a step survives a median
        assert (frames_of(a)[0], frames_of(a)[-1], frames_of(b)[0], frames_of(b)[-1]) \
            == (1, 20, 21, 40)
    else:  # a mean spreads it by < half a window
        half = TRACK_DEFAULTS['smooth'] // 2
        assert frames_of(a)[0] == 1 and 20 <= frames_of(a)[-1] < 20 + half
        assert 21 - half < frames_of(b)[0] <= 21 and frames_of(b)[-1] == 40
    assert video_ap(gt, tubes, 0.5)[0.5].mean_ap == pytest.approx(1.0)


@pytest.mark.parametrize('smooth', [1, TRACK_DEFAULTS['smooth']])
def test_flicker_above_low_does_not_split(smooth):
    frames = range(1, 31)
    gt = gt_tubes([(0, frames)])
    s = one_class_scores(30, 0, hi=0.6)
    s[14, 0] = (TRACK_DEFAULTS['high'] + TRACK_DEFAULTS['low']) / 2  # below high, above low
    dets, ids = track_rows(frames, s)
    (t,) = tubes_from_tracks(gt, dets, ids, smooth=smooth)[0]
    assert frames_of(t) == list(frames)
    # below low (without smoothing) it does split
    s[14, 0] = TRACK_DEFAULTS['low'] / 2
    dets, ids = track_rows(frames, s)
    assert [frames_of(t)[::len(t.boxes) - 1] for t in tubes_from_tracks(
        gt, dets, ids, smooth=1)[0]] == [[1, 14], [16, 30]]


def test_gap_is_interpolated():
    frames = list(range(1, 31))
    seen = [f for f in frames if not 10 <= f <= 13]  # 4 frames missing
    gt = gt_tubes([(0, frames)])
    dets, ids = track_rows(seen, one_class_scores(len(seen), 0))
    (t,) = tubes_from_tracks(gt, dets, ids)[0]
    assert frames_of(t) == frames  # consecutive
    np.testing.assert_allclose(t.boxes[:, 1:5], moving_box(frames))  # linear motion: exact
    assert video_ap(gt, {0: [t]}, 0.9)[0.9].mean_ap == pytest.approx(1.0)
    # a gap longer than max_gap ends the track
    tubes = tubes_from_tracks(gt, dets, ids, max_gap=3)[0]
    assert [(frames_of(t)[0], frames_of(t)[-1]) for t in tubes] == [(1, 9), (14, 30)]


def test_noise_shorter_than_min_len_makes_no_tube():
    frames = list(range(1, 41))
    gt = gt_tubes([(0, frames)])
    s = one_class_scores(40, 0)
    s[20:24] = [0.05, 0.5]  # 4 frames of class 1
    d1, i1 = track_rows(frames, s)
    d2, i2 = track_rows(range(50, 55), one_class_scores(5, 1), track=2)  # a 5-frame track
    d3 = np.array([[0, 45, 1, 0.95, 0, 0, 50, 50]], dtype=np.float64)  # an untracked box
    dets, ids = np.concatenate([d1, d2, d3]), np.concatenate([i1, i2, [0]])
    tubes = tubes_from_tracks(gt, dets, ids)
    assert tubes[1] == [] and len(tubes[0]) == 1
    # without smoothing: a 4-frame segment, shorter than min_len
    assert tubes_from_tracks(gt, dets, ids, smooth=1)[1] == []
    # the price of the window: a strong short burst is spread over more than min_len
    # frames (0.9 x 4 / 15 + ... >= high) and does make a tube
    s[20:24] = [0.05, 0.9]
    d1, _ = track_rows(frames, s)
    strong = tubes_from_tracks(gt, np.concatenate([d1, d2, d3]), ids)[1]
    assert [len(t.boxes) for t in strong] == [16]
    assert tubes_from_tracks(gt, np.concatenate([d1, d2, d3]), ids, smooth=1)[1] == []
    # the untracked box is a one-frame track: a tube only with min_len 1
    one = tubes_from_tracks(gt, dets, ids, min_len=1, smooth=1)
    assert [frames_of(t) for t in one[1] if t.boxes[0, 1] == 0] == [[45]]
    # untracked='moc' links the untracked rows with link_tubes
    d4 = np.array([[0, f, 1, 0.9, 200, 100, 250, 200] for f in range(30, 60)])
    dets = np.concatenate([dets, d4])
    ids = np.concatenate([ids, np.zeros(len(d4), dtype=np.int64)])
    moc = tubes_from_tracks(gt, dets, ids, untracked='moc')
    assert [frames_of(t)[::29] for t in moc[1]] == [[30, 59]]
    assert tubes_from_tracks(gt, dets, ids)[1] == []


def test_independent_of_row_order():
    gt = synthetic_gt(n_videos=3, n_frames=80, n_labels=4, seed=3)
    dets, ids = noisy_tracks(gt, seed=4)
    ref = tubes_from_tracks(gt, dets, ids)
    perm = np.random.default_rng(0).permutation(len(dets))
    got = tubes_from_tracks(gt, dets[perm], ids[perm])
    assert sum(len(t) for t in ref.values()) > 5
    for c in ref:
        assert len(got[c]) == len(ref[c])
        for a, b in zip(ref[c], got[c]):
            assert a.video == b.video and a.score == b.score
            np.testing.assert_array_equal(a.boxes, b.boxes)


def test_errors():
    gt = gt_tubes([(0, range(1, 20))])
    dets, ids = track_rows(range(1, 20), one_class_scores(19, 0))
    with pytest.raises(ValueError, match='needs track_ids'):
        evaluate_multisports(gt, dets, linker='tracks')
    with pytest.raises(ValueError, match=r'shape \(38,\)'):
        evaluate_multisports(gt, dets, linker='tracks', track_ids=ids[:-1])
    with pytest.raises(ValueError, match='integers'):
        evaluate_multisports(gt, dets, linker='tracks', track_ids=ids + 0.5)
    with pytest.raises(ValueError, match='linker must be one of'):
        evaluate_multisports(gt, dets, linker='tubes')
    with pytest.raises(ValueError, match='low'):
        tubes_from_tracks(gt, dets, ids, high=0.1, low=0.2)


def test_annotated_frames_keeps_track_ids_aligned():
    gt = gt_tubes([(0, range(10, 30))])
    dets, ids = track_rows(range(1, 40), one_class_scores(39, 0))
    r = evaluate_multisports(gt, dets, mode='annotated_frames', linker='tracks', track_ids=ids)
    assert r.n_detections == 40 and r.summary()['v_map@0.5'] == pytest.approx(1.0)


def test_synthetic_dets_track_ids():
    gt = synthetic_gt(n_videos=3, n_frames=60, seed=2)
    plain = synthetic_dets(gt, seed=5)
    dets, ids = synthetic_dets(gt, seed=5, with_tracks=True)
    np.testing.assert_array_equal(plain, dets)
    n_gt = sum(len(ts) for v in gt['test_videos'][0] for ts in gt['gttubes'][v].values())
    assert ids.shape == (len(dets),) and set(ids.tolist()) == set(range(n_gt + 1))
    dets, ids = synthetic_dets(gt, seed=5, with_tracks=True, p_keep=1.0, p_right_label=1.0,
                               noise=1.0, fp_per_frame=0.0)
    r = evaluate_multisports(gt, dets, linker='tracks', track_ids=ids)
    assert r.summary()['v_map@0.5'] == pytest.approx(1.0)


def test_tracks_beat_moc_on_noisy_multiclass_rows():
    gt = synthetic_gt(n_videos=6, n_frames=120, n_labels=8, tubes_per_video=3, seed=7)
    dets, ids = noisy_tracks(gt, seed=8)
    moc = evaluate_multisports(gt, dets, video_avg=False).summary()
    trk = evaluate_multisports(gt, dets, video_avg=False, linker='tracks',
                               track_ids=ids).summary()
    assert trk['frameAP@0.5'] == moc['frameAP@0.5']
    assert trk['v_map@0.5'] > moc['v_map@0.5'] + 0.2


# --------------------------------------------------------------------------- measurement

def noisy_tracks(gt: dict, *, seed: int = 0, noise: float = 3.0, p_keep: float = 0.95,
                 p_gap: float = 0.3, pad: int = 20, margin: float = 2.5, sigma: float = 1.0,
                 p_flip: float = 0.02, flip_len: int = 8, p_split: float = 0.2,
                 bg_tracks: int = 2, fp_per_frame: float = 0.3):
    """Detections as our predictor writes them: one row per (person box, class), score
    ``P(person) x P(class | person)``, with person track ids.

    Every ground-truth tube is one person's track, seen from up to ``pad`` frames before
    to up to ``pad`` after the action (background there); boxes jittered by ``noise`` px;
    frames dropped with ``1 - p_keep`` and, with ``p_gap``, a run of 2-6 frames missing.
    Class probabilities: softmax over the classes and background of N(0, ``sigma``)
    logits, + ``margin`` on the true class during the action (on background outside);
    bursts (starting on a frame with ``p_flip``, 1..``flip_len`` frames) of a random wrong
    class at + ``margin + 1``. With ``p_split`` the tracker loses the person once: the
    track id changes at a random frame. Per video ``bg_tracks`` tracked persons never
    acting, and ``fp_per_frame`` untracked random boxes (id 0) with low person scores."""
    rng = np.random.default_rng(seed)
    n_labels = len(gt['labels'])
    parts, ids = [], []
    tid = [0]

    def emit(iv, frames, boxes, action, cls, pperson):
        n = len(frames)
        logits = rng.normal(0, sigma, (n, n_labels + 1))
        if cls is not None:
            logits[action, cls] += margin
        logits[~action if cls is not None else slice(None), n_labels] += margin
        for s in np.flatnonzero(rng.random(n) < p_flip):
            logits[s:s + rng.integers(1, flip_len + 1), rng.integers(n_labels)] += margin + 1
        p = np.exp(logits - logits.max(1, keepdims=True))
        p = p[:, :n_labels] / p.sum(1, keepdims=True) * pperson[:, None]
        keep = rng.random(n) < p_keep
        if rng.random() < p_gap and n > 10:
            s = rng.integers(1, n - 7)
            keep[s:s + rng.integers(2, 7)] = False
        boxes = boxes + rng.normal(0, noise, boxes.shape)
        f, b, p = frames[keep], boxes[keep], p[keep]
        k = len(f)
        parts.append(np.column_stack([np.full(k * n_labels, iv), np.repeat(f, n_labels),
                                      np.tile(np.arange(n_labels), k), p.ravel(),
                                      np.repeat(b, n_labels, axis=0)]))
        tid[0] += 1
        track = np.full(k, tid[0], dtype=np.int64)
        if rng.random() < p_split and k > 2:
            tid[0] += 1
            track[rng.integers(1, k):] = tid[0]
        ids.append(np.repeat(track, n_labels))

    def walk(n, start):
        return start + np.cumsum(rng.normal(0, 2, (n, 1)), axis=0) * [1, 1, 1, 1]

    for iv, v in enumerate(gt['test_videos'][0]):
        nf = gt['nframes'][v]
        for c, tubes in gt['gttubes'][v].items():
            for t in tubes:
                s, e = int(t[0, 0]), int(t[-1, 0])
                a = min(s - 1, int(rng.integers(0, pad + 1)))
                z = min(nf - e, int(rng.integers(0, pad + 1)))
                before = walk(a, t[0, 1:5])[::-1] if a else np.zeros((0, 4))
                after = walk(z, t[-1, 1:5]) if z else np.zeros((0, 4))
                frames = np.arange(s - a, e + z + 1, dtype=np.float64)
                boxes = np.concatenate([before, t[:, 1:5], after])
                action = (frames >= s) & (frames <= e)
                emit(iv, frames, boxes, action, c, rng.uniform(0.7, 1.0, len(frames)))
        for _ in range(bg_tracks):
            n = int(rng.integers(20, nf + 1))
            s = int(rng.integers(1, nf - n + 2))
            frames = np.arange(s, s + n, dtype=np.float64)
            xy = rng.uniform(0, [250, 150])
            emit(iv, frames, walk(n, np.r_[xy, xy + [50, 80]]), None, None,
                 rng.uniform(0.5, 1.0, n))
        n = int(fp_per_frame * nf)
        frames = rng.integers(1, nf + 1, n).astype(np.float64)
        xy = rng.uniform(0, [250, 150], (n, 2))
        p = rng.dirichlet(np.ones(n_labels + 1), n)[:, :n_labels] * rng.uniform(0, 0.5, (n, 1))
        parts.append(np.column_stack([np.full(n * n_labels, iv), np.repeat(frames, n_labels),
                                      np.tile(np.arange(n_labels), n), p.ravel(),
                                      np.repeat(np.column_stack([xy, xy + [50, 80]]), n_labels,
                                                axis=0)]))
        ids.append(np.zeros(n * n_labels, dtype=np.int64))
    order = np.lexsort((np.concatenate(parts)[:, 1], np.concatenate(parts)[:, 0]))
    return np.concatenate(parts)[order], np.concatenate(ids)[order]


def measure(seeds=(0, 1), margins=(2.5, 3.5), grid=None, out=sys.stdout):
    """video-mAP@0.2 / @0.5 of 'moc' and of 'tracks' with the defaults and with one or
    more parameters changed, on ``noisy_tracks`` of 20 videos x 120 frames x 10 classes
    per seed and margin (a hard and an easier classifier): per margin, the mean over
    seeds."""
    grid = grid or [{}] + [{k: v} for k, vs in dict(
        smooth=[1, 5, 9, 21], smoother=['median'], high=[0.3, 0.4, 0.5], low=[0.05, 0.1],
        min_len=[4, 15], max_gap=[0, 3, 20], score=['mean'], untracked=['moc']).items()
        for v in vs]
    data = {m: [] for m in margins}
    for m, s in itertools.product(margins, seeds):
        gt = synthetic_gt(n_videos=20, n_frames=120, n_labels=10, tubes_per_video=3, seed=s)
        data[m].append((gt, *noisy_tracks(gt, seed=100 + s, margin=m)))
    keys = ('frameAP@0.5', 'v_map@0.2', 'v_map@0.5')

    def run(**kw):
        out = []
        for m in margins:
            rs = [evaluate_multisports(gt, d, video_avg=False, track_ids=i, **kw).summary()
                  for gt, d, i in data[m]]
            out += [np.mean([r[k] for r in rs]) for k in keys]
        return out

    rows = [('moc (min_tube_len 15)', run())]
    for kw in grid:
        name = 'tracks ' + (', '.join(f'{k}={v}' for k, v in kw.items()) or 'defaults')
        rows.append((name, run(linker='tracks', linker_options=kw)))
    print(f'tracks defaults: {TRACK_DEFAULTS}', file=out)
    head = ''.join(f'  m={m}: {"f@.5":>6} {"v@.2":>6} {"v@.5":>6}' for m in margins)
    print(f'{"linker":34}{head}', file=out)
    for name, vals in rows:
        cells = ''.join(f'  {"":4}  ' + ' '.join(f'{v:6.3f}' for v in vals[i:i + 3])
                        for i in range(0, len(vals), 3))
        print(f'{name:34}{cells}', file=out)
    return rows


if __name__ == '__main__':
    if sys.argv[1:] == ['--grid']:  # the product of a few values, best 15 by mean video-mAP
        import io
        keys = dict(smooth=[9, 15, 21], smoother=['mean', 'median'], high=[0.2, 0.3],
                    low=[0.05, 0.1, 0.15], min_len=[8, 15], score=['mean', 'mean_len'])
        rows = measure(grid=[dict(zip(keys, vs)) for vs in itertools.product(*keys.values())],
                       out=io.StringIO())
        rows = rows[:1] + sorted(rows[1:], key=lambda r: -np.mean(r[1][1:3] + r[1][4:6]))[:15]
        for name, v in rows:
            print(f'{name[7:] if name.startswith("tracks") else name:80} v@.2/.5 hard '
                  f'{v[1]:.3f} {v[2]:.3f}  easy {v[4]:.3f} {v[5]:.3f}  mean '
                  f'{np.mean(v[1:3] + v[4:6]):.3f}')
    else:
        measure()
