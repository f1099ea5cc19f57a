"""Proposal recall report on hand-made cases."""
import json

import numpy as np
import pytest

from stad.evaluation.proposals import (
    compare_proposals,
    format_report,
    proposal_recall,
    proposal_report,
)
from stad.io.layout import img_key


def _gt():
    # 2 videos of 100x200 (h x w); v1 has 2 people on frame 1, one on frame 2; v2 one box.
    a = np.array([[1, 20, 10, 60, 90], [2, 22, 10, 62, 90]], np.float32)
    b = np.array([[1, 100, 20, 140, 100]], np.float32)
    c = np.array([[3, 0, 0, 100, 50]], np.float32)
    return dict(labels=['x', 'y'], train_videos=[['s/v1']], test_videos=[['s/v2']],
                nframes={'s/v1': 3, 's/v2': 3}, resolution={'s/v1': (100, 200), 's/v2': (100, 200)},
                gttubes={'s/v1': {0: [a], 1: [b, a.copy()]}, 's/v2': {1: [c]}})


def _as_proposals(gt):
    out = {}
    for video, by_label in gt['gttubes'].items():
        h, w = gt['resolution'][video]
        for tubes in by_label.values():
            for t in tubes:
                for f, *box in t:
                    arr = np.array([[box[0] / w, box[1] / h, box[2] / w, box[3] / h, 0.9]],
                                   np.float32)
                    key = img_key(video, int(f))
                    out[key] = np.concatenate([out[key], arr]) if key in out else arr
    return out


def test_gt_boxes_as_proposals_recall_everything():
    gt = _gt()
    rep = proposal_report({'train': _as_proposals(gt), 'val': _as_proposals(gt)}, gt)
    assert rep['train']['recall@0.5'] == 1.0 and rep['train']['recall@0.7'] == 1.0
    assert rep['val']['recall@0.5'] == 1.0
    # duplicate boxes (same person in two tubes) count once: 2 + 1 boxes in v1
    assert rep['train']['gt_boxes'] == 3 and rep['val']['gt_boxes'] == 1
    json.dumps(rep)  # JSON-ready


def test_strided_proposals_count_only_their_frames():
    # proposals on frames 1, 3, ... only (stad propose --stride 2): v1's frame-2 box is
    # not missed, it was never asked for
    gt = _gt()
    props = {k: v for k, v in _as_proposals(gt).items() if not k.endswith(',0002')}
    assert proposal_recall(props, gt, videos=['s/v1'])['recall@0.5'] == pytest.approx(2 / 3)
    rep = proposal_recall(props, gt, videos=['s/v1'], stride=2)
    assert rep['recall@0.5'] == 1.0 and rep['gt_boxes'] == 2 and rep['gt_frames'] == 1


def test_recall_thresholds_and_proposals_per_frame():
    gt = _gt()
    # frame 1 of v1: a box shifted so that IoU with the first person is 0.6
    # (40x80 box shifted by 10 px in x: inter 30x80, union 50x80 -> 0.6); nothing else.
    props = {img_key('s/v1', 1): np.array([[30 / 200, 10 / 100, 70 / 200, 90 / 100, 0.5],
                                           [0.9, 0.9, 1.0, 1.0, 0.1]], np.float32),
             img_key('s/v2', 3): np.zeros((0, 5), np.float32)}
    r = proposal_recall(props, gt, videos=['s/v1'])
    assert r['recall@0.5'] == pytest.approx(1 / 3)
    assert r['recall@0.7'] == 0.0
    assert r['frames_with_proposals'] == 1 and r['mean_proposals_per_frame'] == 2.0
    assert 'train' in format_report({'train': r})


def test_no_gt_boxes_gives_none_recall():
    gt = _gt()
    r = proposal_recall({}, gt, videos=[])
    assert r['gt_boxes'] == 0 and r['recall@0.5'] is None


def test_box_iou_and_compare():
    from stad.evaluation.functional.iou import iou_matrix  # the one IoU
    assert iou_matrix([[0, 0, 2, 2]], [[1, 0, 3, 2]])[0, 0] == pytest.approx(1 / 3)
    a = {('v', 1): np.array([[10, 10, 20, 20, 0.9]], np.float32)}
    b = {('v', 1): np.array([[11, 10, 20, 20.5, 0.8]], np.float32), ('v', 2): np.ones((1, 5))}
    d = compare_proposals(a, b)
    assert d['max_box_diff'] == pytest.approx(1.0) and d['max_score_diff'] == pytest.approx(0.1)
    assert d['frames_count_differs'] == 1 and d['frames'] == 2
