"""Detection readers (every accepted format gives the same canonical array) and `stad eval`."""
import json
import pickle

import numpy as np
import pytest

import stad  # noqa: F401
from stad.cli import main
from stad.errors import StadError
from stad.evaluation import synthetic_dets, synthetic_gt
from stad.io.detections import (
    check_detections,
    detections_from_mmaction,
    detections_from_object,
    load_detections,
    save_detections,
)
from stad.io.layout import img_key


@pytest.fixture(scope='module')
def case():
    gt = synthetic_gt(n_videos=3, n_frames=40, n_labels=4, seed=3)
    return gt, synthetic_dets(gt, seed=4)


def _sorted(d):
    return d[np.lexsort(d.T[::-1])]


def test_all_formats_agree(case, tmp_path):
    gt, dets = case
    videos = gt['test_videos'][0]
    # 1. {'videos', 'dets'} with a different video order
    perm = [2, 0, 1]
    inv = np.argsort(perm)
    d1 = dets.copy()
    d1[:, 0] = inv[dets[:, 0].astype(int)]
    got1 = detections_from_object(dict(videos=[videos[i] for i in perm], dets=d1), gt)
    # 2. {img_key: (M, 6)}
    per_frame = {}
    for r in dets:
        per_frame.setdefault(img_key(videos[int(r[0])], int(r[1])), []).append(r[2:])
    got2 = detections_from_object({k: np.array(v) for k, v in per_frame.items()}, gt)
    # 3. mmaction2 data samples: normalised boxes, one-hot-ish scores (+ background column)
    samples = []
    for k, v in per_frame.items():
        v = np.array(v)
        video = k.split(',')[0]
        h, w = gt['resolution'][videos[0]]
        scores = np.full((len(v), len(gt['labels']) + 1), -1.0)
        scores[np.arange(len(v)), v[:, 0].astype(int) + 1] = v[:, 1]
        samples.append(dict(video_id=video, timestamp=int(k.split(',')[1]),
                            pred_instances=dict(bboxes=v[:, 2:] / [w, h, w, h], scores=scores)))
    got3 = detections_from_object(samples, gt)
    for got in (got1, got2, got3):
        np.testing.assert_allclose(_sorted(got), _sorted(dets), atol=1e-9)
    # round trip through the recommended file format
    save_detections(str(tmp_path / 'd.pkl'), gt, dets)
    np.testing.assert_array_equal(load_detections(str(tmp_path / 'd.pkl'), gt), dets)


def test_per_class_mmaction_results(case):
    gt, _ = case
    r = [['sport/v_0000.mp4', 5, np.array([[.1, .1, .2, .2]]), np.array([[.1, .6, .3, .05]])]]
    assert detections_from_mmaction(r, gt)[:, 2:4].tolist() == [[1, .6]]
    d = detections_from_mmaction(r, gt, per_class=True, min_score=.2)
    assert d[:, 2].tolist() == [1, 2]
    np.testing.assert_allclose(d[0, 4:], [32, 24, 64, 48])  # pixels of 320x240


def test_bad_detections_name_the_problem(case, tmp_path):
    gt, dets = case
    bad = dets.copy()
    bad[0, 1] = 0  # 0-based frame
    with pytest.raises(StadError, match='1-based'):
        check_detections(bad, gt)
    with pytest.raises(StadError, match=r'\(N, 8\)'):
        check_detections(dets[:, :6], gt)
    with pytest.raises(StadError, match="'nope/x'"):
        detections_from_object({img_key('nope/x', 3): np.zeros((1, 6))}, gt)
    with pytest.raises(StadError, match='detections file not found'):
        load_detections(str(tmp_path / 'missing.pkl'), gt)


def test_cli_eval_writes_table_json_and_curves(case, tmp_path, capsys):
    gt, dets = case
    with open(tmp_path / 'gt.pkl', 'wb') as f:
        pickle.dump(gt, f)
    save_detections(str(tmp_path / 'dets.pkl'), gt, dets)
    out = tmp_path / 'out'
    assert main(['eval', '--gt', str(tmp_path / 'gt.pkl'), '--dets', str(tmp_path / 'dets.pkl'),
                 '--mode', 'annotated', '--out-dir', str(out)]) == 0
    text = capsys.readouterr().out
    assert 'mode: annotated frames only' in text and 'frameAP@0.5' in text
    res = json.loads((out / 'results.json').read_text())
    assert res['mode'] == 'annotated_frames'
    assert set(res['summary']) == {'frameAP@0.5', 'v_map@0.2', 'v_map@0.5', 'v_map@0.1:0.9'}
    assert 0 < res['summary']['frameAP@0.5'] <= 1
    for name in ('pr_frame@0.5.png', 'pr_video@0.2.png', 'pr_video@0.5.png'):
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # table rows line up: every row as wide as the header
    rows = [ln for ln in text.splitlines() if ln.startswith('class ')]
    assert len({len(r) for r in rows}) == 1


def test_cli_eval_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(['eval', '--gt', str(tmp_path / 'no.pkl'), '--dets', 'x.pkl']) == 2
    err = capsys.readouterr().err.strip()
    assert err == f'stad eval: error: {tmp_path / "no.pkl"}: ground truth file not found'
