"""Hand-computed MultiSports frame-AP, video-AP and linking cases."""
import numpy as np
import pytest

import stad  # noqa: F401  (compat fixes before anything from the stack)
from stad.evaluation.functional import (
    MULTISPORTS_EXCLUDED,
    evaluate_multisports,
    excluded_classes,
    frame_ap,
    iou_matrix,
    link_tubes,
    temporal_iou,
    tube_iou,
    video_ap,
    voc_ap,
)

BOX = [0.0, 0.0, 10.0, 10.0]


def gt_one_tube(frames=(1, 2, 3), labels=('a', 'b'), label=0, nframes=20, box=BOX):
    tube = np.array([[f, *box] for f in frames], dtype=np.float64)
    return dict(labels=list(labels), nframes={'s/v': nframes}, resolution={'s/v': (100, 100)},
                gttubes={'s/v': {label: [tube]}}, test_videos=[['s/v']])


def det(frame, score, box=BOX, label=0, video=0):
    return [video, frame, label, score, *box]


def fap(gt, dets, thr=0.5, **kw):
    return frame_ap(gt, np.array(dets, dtype=np.float64).reshape(-1, 8), thr, **kw)[thr]


# --------------------------------------------------------------------------- basics

def test_iou_and_voc_ap_basics():
    np.testing.assert_allclose(iou_matrix([BOX], [[0, 0, 10, 5], [20, 20, 30, 30]]), [[0.5, 0]])
    assert iou_matrix([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0.0  # empty union: 0, not NaN
    assert voc_ap(np.array([1.0, 1.0]), np.array([0.5, 1.0])) == pytest.approx(1.0)
    assert voc_ap(np.array([]), np.array([])) == 0.0
    # precision made monotone: the dip at rank 2 is lifted to 2/3
    assert voc_ap(np.array([1, .5, 2 / 3]), np.array([.5, .5, 1])) == pytest.approx(.5 + .5 * 2 / 3)


def test_perfect_predictions_give_one():
    gt = gt_one_tube()
    r = fap(gt, [det(1, .9), det(2, .8), det(3, .7)])
    assert r.ap == {'a': 1.0} and r.mean_ap == 1.0


def test_one_false_positive_ranked_first():
    # ranks: FP, TP, TP, TP -> precision .5/.67/.75 at recall 1/3, 2/3, 1; monotone -> .75
    gt = gt_one_tube()
    r = fap(gt, [det(1, .95, box=[50, 50, 60, 60]), det(1, .9), det(2, .8), det(3, .7)])
    assert r.ap['a'] == pytest.approx(0.75)
    # the same false positive ranked last costs nothing
    r = fap(gt, [det(1, .05, box=[50, 50, 60, 60]), det(1, .9), det(2, .8), det(3, .7)])
    assert r.ap['a'] == pytest.approx(1.0)


def test_duplicate_detection_is_a_false_positive():
    gt = gt_one_tube()
    r = fap(gt, [det(1, .9), det(1, .85), det(2, .8), det(3, .7)])
    # TP, FP, TP, TP: recall 1/3 at p=1, then 2/3 at 2/3, 1 at 3/4
    assert r.ap['a'] == pytest.approx(1 / 3 + 1 / 3 * .75 + 1 / 3 * .75)


def test_detection_whose_best_box_is_taken_is_a_false_positive():
    # two people of one class side by side: boxes A and B (IoU .82). Both detections sit
    # on B. The first takes B; the second's best box is B, already taken, so it is a false
    # positive although A overlaps it by .82 -- the published evaluation looks no further
    # (pycocotools would match it to A). TP, FP with 2 ground truths: AP = 1/2.
    a, b = [0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0]
    gt = gt_one_tube(frames=(1,), box=a)
    gt['gttubes']['s/v'][0].append(np.array([[1, *b]]))
    r = fap(gt, [det(1, .9, box=b), det(1, .8, box=b)])
    assert r.ap['a'] == pytest.approx(.5)


def test_tied_scores_rank_as_the_published_code():
    # tied scores: the published code ranks with np.argsort(-score), numpy's default
    # (unstable) sort, so ties do not keep input order; AP depends on it
    gt = gt_one_tube(frames=tuple(range(1, 21)))
    scores = np.random.default_rng(0).choice([.2, .5, .8], 40)
    dets = [det(f, scores[f - 1]) for f in range(1, 21)] + [
        det(f, scores[19 + f], box=[50, 50, 60, 60]) for f in range(1, 21)]

    def ap_of(order):
        flags = order < 20
        return voc_ap(np.cumsum(flags) / np.arange(1, 41), np.cumsum(flags) / 20)
    published, stable = ap_of(np.argsort(-scores)), ap_of(np.argsort(-scores, kind='stable'))
    assert published != pytest.approx(stable)  # the case tells the two apart
    assert fap(gt, dets).ap['a'] == pytest.approx(published)


def test_one_miss():
    r = fap(gt_one_tube(), [det(1, .9), det(2, .8)])
    assert r.ap['a'] == pytest.approx(2 / 3)


def test_wrong_class_is_not_a_hit_and_classes_without_gt_are_not_averaged():
    r = fap(gt_one_tube(), [det(1, .9, label=1), det(2, .8), det(3, .7)])
    assert r.ap == {'a': pytest.approx(2 / 3)}  # 'b' has no ground truth: not in the mean
    assert r.mean_ap == pytest.approx(2 / 3)


@pytest.mark.parametrize('y2, expected', [(4.99, 0.0), (5.0, 1.0), (5.01, 1.0)])
def test_iou_threshold_edge(y2, expected):
    gt = gt_one_tube(frames=(1,))
    # IoU with [0, 0, 10, 10] is y2 / 10: just below, exactly at, just above 0.5
    assert fap(gt, [det(1, .9, box=[0, 0, 10, y2])]).ap['a'] == expected


def test_unannotated_frame_counts_only_in_all_frames_mode():
    gt = gt_one_tube()
    dets = [det(10, .99), det(1, .9), det(2, .8), det(3, .7)]  # frame 10 has no ground truth
    assert fap(gt, dets, mode='all_frames').ap['a'] == pytest.approx(0.75)
    assert fap(gt, dets, mode='annotated_frames').ap['a'] == pytest.approx(1.0)
    # a false positive on an annotated frame stays one in both modes
    dets[0] = det(2, .99, box=[50, 50, 60, 60])
    assert fap(gt, dets, mode='annotated_frames').ap['a'] == pytest.approx(0.75)
    with pytest.raises(ValueError, match='mode'):
        fap(gt, dets, mode='bogus')


def test_old_frame_mode_spellings_are_aliases(capsys):
    from stad.evaluation.functional.multisports import check_mode
    assert check_mode('annotated') == 'annotated_frames'
    assert check_mode('all') == check_mode('proposals') == 'all_frames'
    assert capsys.readouterr().err.splitlines() == [
        "stad: frame mode 'annotated' is deprecated, use 'annotated_frames'",
        "stad: frame mode 'all' is deprecated, use 'all_frames'",
        "stad: frame mode 'proposals' is deprecated, use 'all_frames'"]
    assert check_mode('all_frames') == 'all_frames' and not capsys.readouterr().err


def test_excluded_classes_by_name():
    labels = [f'c{i}' for i in range(60)] + list(MULTISPORTS_EXCLUDED)
    assert excluded_classes(labels) == MULTISPORTS_EXCLUDED
    assert excluded_classes(labels[:-1]) == ()  # not the MultiSports label set
    assert excluded_classes(labels, None) == ()
    gt = gt_one_tube(labels=labels, label=labels.index('basketball save'))
    gt['gttubes']['s/v'][0] = [np.array([[1, *BOX]])]
    dets = [det(1, .9, label=0)]
    assert set(fap(gt, dets).ap) == {'c0'}
    kept = fap(gt, dets, exclude=None)
    assert set(kept.ap) == {'c0', 'basketball save'} and kept.mean_ap == pytest.approx(0.5)
    assert set(fap(gt, dets, exclude=['c0']).ap) == {'basketball save'}


# --------------------------------------------------------------------------- video AP

def tube(frames, box, score=1.0):
    return np.array([[f, *box, score] for f in frames], dtype=np.float64)


def test_tube_iou_hand_case():
    g = tube(range(1, 12), BOX)[:, :5]  # frames 1..11
    p = tube(range(6, 17), [0, 0, 10, 5])  # frames 6..16, per-frame IoU 0.5
    # temporal IoU (11 - 6) / (16 - 1) = 1/3 (the protocol's end - start), x 0.5
    assert temporal_iou(1, 11, 6, 16) == pytest.approx(1 / 3)
    assert tube_iou(g, p) == pytest.approx(1 / 6)
    assert tube_iou(g, tube(range(20, 30), BOX)) == 0.0


def test_video_ap_hand_case():
    gt = gt_one_tube(frames=range(1, 12))
    tubes = {0: [('s/v', 0.9, tube(range(6, 17), [0, 0, 10, 5])),  # stIoU 1/6
                 ('s/v', 0.5, tube(range(1, 12), BOX))],  # stIoU 1
             1: []}
    res = video_ap(gt, tubes, [0.1, 0.2])
    # at 0.1 the first tube takes the gt, the exact one is a duplicate: AP 1
    assert res[0.1].ap['a'] == pytest.approx(1.0)
    # at 0.2 the first is a false positive, the exact one second: AP 0.5
    assert res[0.2].ap['a'] == pytest.approx(0.5)


# --------------------------------------------------------------------------- linking

def linking_case():
    gt = gt_one_tube(frames=range(1, 21), nframes=20)
    rows = []
    for f in range(1, 21):
        rows.append(det(f, 0.9, box=[0, 0, 10, 10]))  # track A, constant score
        if f != 11:  # track B, missing on frame 11, score grows with the frame
            rows.append(det(f, 0.01 * f, box=[50, 50, 60, 60 + 0.1 * f]))
    rows.append(det(5, 0.3, box=[0, 0, 10, 10], label=1))  # another class, alone
    return gt, np.array(rows)


def test_linking_known_tubes():
    gt, dets = linking_case()
    tubes = link_tubes(gt, dets, min_len=5)
    a = sorted(tubes[0], key=lambda t: t.boxes[0, 0] + t.boxes[0, 1])
    assert [(t.boxes[0, 0], t.boxes[-1, 0]) for t in a] == [(1, 20), (1, 10), (12, 20)]
    assert a[0].score == pytest.approx(0.9)
    assert a[1].score == pytest.approx(np.mean(0.01 * np.arange(1, 11)))
    assert a[2].score == pytest.approx(np.mean(0.01 * np.arange(12, 21)))
    # every box keeps its own score (mmaction2 gives them all the last detection's)
    np.testing.assert_allclose(a[2].boxes[:, 5], 0.01 * np.arange(12, 21))
    track_b = dets[(dets[:, 4] == 50) & (dets[:, 1] > 11)]
    np.testing.assert_allclose(a[2].boxes[:, 1:5], track_b[:, 4:8])
    assert tubes[1] == []  # one frame: too short
    assert [len(t.boxes) for t in link_tubes(gt, dets)[0]] == [20]  # default min_len 15


def test_linking_rescoring_nms_and_best_score_pick():
    gt = gt_one_tube(frames=range(1, 3), nframes=3)
    dets = np.array([det(1, .9), det(1, .8, box=[0, 0, 10, 9]),  # IoU .9 (+1 px: ~.91)
                     det(2, .5), det(2, .7, box=[0, 0, 10, 8])])
    t = sorted(link_tubes(gt, dets, min_len=1)[0], key=lambda t: -t.score)
    # NMS keeps overlapping boxes but rescores them by (1 - IoU), IoU with +1 px areas:
    # frame 1: .8 box vs .9 box: 110 / 121; frame 2: .5 box vs .7 box: 99 / 121
    low1, low2 = .8 * (1 - 110 / 121), .5 * (1 - 99 / 121)
    # the best tube (.9) takes the highest-scored box with IoU >= .5 to its last box
    # (the .7 one); the other tube links the rescored leftovers
    assert t[0].boxes[:, 5].tolist() == pytest.approx([.9, .7]) and t[0].score == pytest.approx(.8)
    assert t[1].boxes[:, 5].tolist() == pytest.approx([low1, low2])
    assert t[1].score == pytest.approx((low1 + low2) / 2)


def test_evaluate_reports_mode_and_summary_keys():
    gt, dets = linking_case()
    r = evaluate_multisports(gt, dets, mode='annotated_frames')
    assert r.mode == 'annotated_frames'
    assert set(r.summary()) == {'frameAP@0.5', 'v_map@0.2', 'v_map@0.5', 'v_map@0.1:0.9'}
    assert r.summary()['frameAP@0.5'] == pytest.approx(1.0)
    assert r.summary()['v_map@0.5'] == pytest.approx(1.0)
    assert r.to_dict()['mode'] == 'annotated_frames'
