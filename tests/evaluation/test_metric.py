"""stad.MultiSportsMAP as mmengine builds and runs it."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import METRICS

import stad  # noqa: F401
from stad.evaluation import MultiSportsMAP, synthetic_dets, synthetic_gt
from stad.evaluation.functional import frame_ap


@pytest.fixture
def case(tmp_path):
    gt = synthetic_gt(n_videos=3, n_frames=50, n_labels=4, seed=11)
    path = tmp_path / 'gt.pkl'
    with open(path, 'wb') as f:
        pickle.dump(gt, f)
    dets = synthetic_dets(gt, seed=12, p_keep=1.0, p_right_label=0.95)
    # as AVARoIHead returns them: per frame, normalised boxes and per-class scores
    samples = []
    h, w = 240, 320
    for iv, v in enumerate(gt['test_videos'][0]):
        for f in np.unique(dets[dets[:, 0] == iv, 1]):
            d = dets[(dets[:, 0] == iv) & (dets[:, 1] == f)]
            scores = np.full((len(d), 4), 0.0)
            scores[np.arange(len(d)), d[:, 2].astype(int)] = d[:, 3]
            samples.append(dict(
                video_id=v + '.mp4', timestamp=int(f),
                pred_instances=dict(bboxes=torch.tensor(d[:, 4:8] / [w, h, w, h]),
                                    scores=torch.tensor(scores))))
    return gt, str(path), dets, samples


def test_registered_and_prefixed_keys(case):
    gt, path, dets, samples = case
    assert isinstance(METRICS.build(dict(type='stad.MultiSportsMAP', ann_file=path)),
                      MultiSportsMAP)
    ev = Evaluator(dict(type='stad.MultiSportsMAP', ann_file=path, verbose=False))
    ev.process(data_samples=samples)
    res = ev.evaluate(len(samples))
    # the model's outputs are left as they were (mmaction2's metric scales them in place)
    assert max(float(s['pred_instances']['bboxes'].max()) for s in samples) <= 1.0
    assert set(res) == {'mAP/frameAP@0.5', 'mAP/v_map@0.2', 'mAP/v_map@0.5',
                        'mAP/v_map@0.1:0.9'}
    # same number as the functional code on the same detections (float32 boxes aside)
    expected = frame_ap(gt, dets, 0.5)[0.5].mean_ap
    assert res['mAP/frameAP@0.5'] == pytest.approx(expected, abs=1e-4)


def test_mode_changes_frame_ap(case):
    _, path, _, samples = case
    out = {}
    for mode in ('all_frames', 'annotated_frames'):
        m = MultiSportsMAP(ann_file=path, mode=mode, verbose=False)
        m.process(None, samples)
        out[mode] = m.compute_metrics(m.results)['frameAP@0.5']
        assert m.last_result.mode == mode
    # the synthetic detections include false positives on frames without ground truth
    assert out['annotated_frames'] > out['all_frames']
    with pytest.raises(ValueError, match='mode'):
        MultiSportsMAP(ann_file=path, mode='every')


def test_frame_ap_equals_mmaction2_metric(case, monkeypatch):
    gt, path, _, samples = case
    mm = pytest.importorskip('mmaction.evaluation.metrics.multisports_metric')
    from mmaction.evaluation.functional import multisports_utils as msu
    monkeypatch.setattr(msu, 'track', lambda it, description=None: it)
    ours = MultiSportsMAP(ann_file=path, verbose=False)
    ours.process(None, samples)
    our_f = ours.compute_metrics(ours.results)['frameAP@0.5']
    theirs = mm.MultiSportsMetric(ann_file=path, verbose=False,
                                  metric_options=dict(F_mAP=dict(thr=0.5),
                                                      V_mAP=dict(thr=(), tube_thr=15)))
    # (theirs scales the model's box tensors to pixels in place: it goes last)
    theirs.process(None, samples)
    assert our_f == pytest.approx(theirs.compute_metrics(theirs.results)['frameAP'] / 100,
                                  abs=1e-4)
