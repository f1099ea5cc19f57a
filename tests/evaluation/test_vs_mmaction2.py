"""Agreement with mmaction2's MultiSports functions, and the two mmaction2 bugs we avoid
(docs/stack.md, bugs 4 and 5)."""
import numpy as np
import pytest

import stad  # noqa: F401  (compat fixes before any mmaction import)
from stad.evaluation import evaluate_multisports, synthetic_dets, synthetic_gt
from stad.evaluation.functional import MULTISPORTS_EXCLUDED, frame_ap, link_tubes, video_ap
from stad.evaluation.upstream import fixed_iou3dt_voc

msu = pytest.importorskip('mmaction.evaluation.functional.multisports_utils')


def multisports_labels():
    return [f'class {i}' for i in range(60)] + list(MULTISPORTS_EXCLUDED)


def fixed_get_vid_dets(self):
    """mmaction2's Dataset.get_vid_dets with each box's own score (bug 5 fixed)."""
    self.vid_det = {}
    for row in self.frm_alldets:
        v = self.video_list[int(row[0])]
        if v not in self.vid_det:
            self.vid_det[v] = {f: {c: np.empty((0, 5)) for c in range(len(self.labels))}
                               for f in range(1, self.nframes[v] + 1)}
        cell = self.vid_det[v][int(row[1])]
        cell[int(row[2])] = np.concatenate([cell[int(row[2])], [[*row[4:8], row[3]]]])
    return self.vid_det


@pytest.fixture
def fixed_mmaction(monkeypatch):
    monkeypatch.setattr(msu.Dataset, 'get_vid_dets', fixed_get_vid_dets)
    monkeypatch.setattr(msu, 'iou3dt_voc', fixed_iou3dt_voc)
    monkeypatch.setattr(msu, 'track', lambda it, description=None: it)
    return msu


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_frame_ap_equals_mmaction2(seed):
    gt = synthetic_gt(n_videos=5, n_frames=60, n_labels=66, tubes_per_video=6, seed=seed)
    gt['labels'] = multisports_labels()
    # a ground-truth tube of an excluded class, so exclusion is exercised
    gt['gttubes'][gt['test_videos'][0][0]][62] = [np.array([[1, 0, 0, 9, 9.]])]
    dets = synthetic_dets(gt, seed=seed + 10, p_right_label=0.8, fp_per_frame=1.0)
    ours = frame_ap(gt, dets, [0.3, 0.5, 0.7])
    for thr in (0.3, 0.5, 0.7):
        theirs = msu.frameAP(gt, dets, thr, print_info=False) / 100
        assert ours[thr].mean_ap == pytest.approx(theirs, abs=1e-6)
    assert not set(MULTISPORTS_EXCLUDED) & set(ours[0.5].ap)


def crowded_case(seed):
    """Three people of one class side by side on every frame, and two to three
    detections near each of them: detections compete for overlapping boxes."""
    rng = np.random.default_rng(seed)
    frames = np.arange(1, 31, dtype=np.float64)
    tubes = [np.column_stack([frames, *(np.full(30, x + d) for d in (0, 0, 20, 40))])
             for x in (10.0, 14.0, 18.0)]
    gt = dict(labels=['a', 'b'], nframes={'s/v': 30}, resolution={'s/v': (100, 100)},
              gttubes={'s/v': {0: tubes}}, test_videos=[['s/v']])
    dets = [[0, f, 0, rng.random(), *(t[int(f) - 1, 1:5] + rng.normal(0, 3, 4))]
            for t in tubes for f in frames for _ in range(rng.integers(2, 4))]
    return gt, np.array(dets)


@pytest.mark.parametrize('seed', [0, 1])
def test_frame_ap_equals_mmaction2_on_crowded_frames(seed):
    gt, dets = crowded_case(seed)
    ours = frame_ap(gt, dets, [0.3, 0.5, 0.7])
    for thr in (0.3, 0.5, 0.7):
        assert ours[thr].mean_ap == pytest.approx(
            msu.frameAP(gt, dets, thr, print_info=False) / 100, abs=1e-9)


def test_linking_and_video_ap_equal_mmaction2_with_bugs_fixed(fixed_mmaction):
    gt = synthetic_gt(n_videos=4, n_frames=80, n_labels=5, tubes_per_video=4, seed=5)
    dets = synthetic_dets(gt, seed=6, p_keep=0.99, p_right_label=0.97, noise=2.0)
    theirs = fixed_mmaction.link_tubes(gt, dets, len_thre=15)
    ours = link_tubes(gt, dets, min_len=15)

    def summary(tubes):
        return sorted((v, round(float(s), 6), int(t[0, 0]), int(t[-1, 0]))
                      for c in tubes for v, s, t in tubes[c])
    assert summary(ours) == summary(theirs) and len(summary(ours)) > 5
    res = video_ap(gt, ours, [0.2, 0.5])
    for thr in (0.2, 0.5):
        assert res[thr].mean_ap == pytest.approx(
            fixed_mmaction.videoAP(gt, theirs, thr, print_info=False) / 100, abs=1e-6)


def test_mmaction2_bugs_exist_and_ours_are_absent():
    gt = synthetic_gt(n_videos=2, n_frames=40, n_labels=3, seed=7)
    dets = synthetic_dets(gt, seed=8, p_keep=1.0, p_right_label=1.0)
    # bug 5: every box gets the score of the last detection row
    vid_det = msu.Dataset(gt, dets).get_vid_dets()
    box_scores = np.concatenate([a[:, 4] for frames in vid_det.values()
                                 for per_label in frames.values() for a in per_label.values()])
    assert np.all(box_scores == dets[-1, 3]) and np.unique(dets[:, 3]).size > 10
    # ours keep each detection's own score
    tubes = link_tubes(gt, dets, min_len=1)
    ours = np.concatenate([t.boxes[:, 5] for ts in tubes.values() for t in ts])
    assert np.unique(ours).size > 10 and np.isin(ours, dets[:, 3]).mean() > 0.9
    # bug 4: mmaction2's spatio-temporal IoU fails under numpy 2
    a = np.array([[1, 0, 0, 10, 10], [2, 0, 0, 10, 10], [3, 0, 0, 10, 10.]])
    if int(np.__version__.split('.')[0]) >= 2:
        with pytest.raises(TypeError):
            msu.iou3dt_voc(a, a[1:])
    r = evaluate_multisports(gt, dets)
    assert r.summary()['v_map@0.5'] > 0.5
