"""MOT files (stad.io.mot) and tracking metrics (stad.evaluation.tracking, TrackEval's
HOTA / CLEAR / Identity in-process)."""
import os

import numpy as np
import pytest

from stad.errors import StadError
from stad.evaluation.tracking import evaluate_tracking
from stad.io.layout import DataLayout
from stad.io.mot import load_mot, mot_rows, parse_mot, save_mot, to_xyxy

# ------------------------------------------------------------------------------ files


def test_mot_file_round_trip(tmp_path):
    rows = np.array([[2, 1, 10.5, 20.25, 30, 40, 0.9],
                     [1, 2, 0, 0, 5.5, 6.75, 1],
                     [1, 1, 100, 50, 12.34, 56.78, 0.3125]])
    path = str(tmp_path / 'mot' / 'gym' / 'v.txt')
    save_mot(path, rows)
    text = open(path).read()
    assert text.splitlines()[0] == '1,1,100.00,50.00,12.34,56.78,0.3125,-1,-1,-1'
    back = load_mot(path)
    assert back.shape == (3, 7) and back.dtype == np.float64
    assert np.allclose(back, rows[np.lexsort((rows[:, 1], rows[:, 0]))])
    assert not [p for p in os.listdir(os.path.dirname(path)) if p != 'v.txt']  # atomic


def test_mot_rows_from_corner_boxes_and_back():
    boxes = np.array([[10, 20, 40, 60], [0, 0, 1, 1]], float)
    rows = mot_rows([3, 1], [7, 2], boxes, [0.5, 0.8])
    assert rows.tolist() == [[1, 2, 0, 0, 1, 1, 0.8], [3, 7, 10, 20, 30, 40, 0.5]]
    assert np.allclose(to_xyxy(rows), boxes[::-1])


def test_mot_reads_7_to_10_columns_and_skips_blank_lines():
    rows = parse_mot('1,1,1,2,3,4,1\n\n2,1,1,2,3,4,1,1,1\n3,1,1,2,3,4,0.5,-1,-1,-1\n')
    assert rows[:, 0].tolist() == [1, 2, 3]
    assert parse_mot('').shape == (0, 7)


@pytest.mark.parametrize('line, msg', [
    ('1,1,1,2,3,4', 'got 6'),
    ('1,1,1,2,3,4,1,-1,-1,-1,9', 'got 11'),
    ('1,1,x,2,3,4,1,-1,-1,-1', "'x' is not a number"),
    ('0,1,1,2,3,4,1,-1,-1,-1', 'frame must be an integer >= 1'),
    ('1.5,1,1,2,3,4,1,-1,-1,-1', 'frame must be an integer >= 1'),
    ('1,-1,1,2,3,4,1,-1,-1,-1', 'id must be an integer >= 1'),
    ('1,1,1,2,-3,4,1,-1,-1,-1', 'negative box size'),
    ('1,1,1,2,nan,4,1,-1,-1,-1', 'not a finite number'),
    ('1,1,5,5,3,4,1,-1,-1,-1', 'id 1 has two boxes in frame 1 (also line 2)'),
])
def test_bad_mot_line_names_file_and_line(tmp_path, line, msg):
    path = str(tmp_path / 'v.txt')
    with open(path, 'w') as f:
        f.write('\n1,1,1,2,3,4,1,-1,-1,-1\n' + line + '\n')
    with pytest.raises(StadError) as e:
        load_mot(path)
    assert str(e.value).startswith(f'{path}:3: ') and msg in str(e.value)
    assert '\n' not in str(e.value)


def test_missing_mot_file_and_bad_rows_to_write(tmp_path):
    with pytest.raises(StadError, match='no such MOT file'):
        load_mot(str(tmp_path / 'none.txt'))
    path = str(tmp_path / 'out.txt')
    with pytest.raises(StadError, match=r'out.txt: row 1: id must be an integer >= 1'):
        save_mot(path, [[1, 1, 0, 0, 1, 1, 1], [1, 0, 0, 0, 1, 1, 1]])
    with pytest.raises(StadError, match='id 3 has two boxes in frame 2'):
        save_mot(path, [[2, 3, 0, 0, 1, 1, 1], [2, 3, 5, 0, 1, 1, 1]])
    with pytest.raises(StadError, match='expected an'):
        save_mot(path, np.zeros((2, 4)))
    assert not os.path.exists(path)


def test_layout_mot_gt_path():
    layout = DataLayout('/data')
    assert layout.mot_gt('gym/gym_001') == os.path.join('/data', 'trainval', 'mot', 'gym',
                                                         'gym_001.txt')
    with pytest.raises(StadError):
        layout.mot_gt('../x')


# ---------------------------------------------------------------------------- metrics

def _two_people(frames=10):
    """Two people far apart, both in every frame (MOT rows)."""
    f = np.repeat(np.arange(1, frames + 1), 2)
    ids = np.tile([1, 2], frames)
    x = np.repeat(np.arange(frames) * 2.0, 2)
    boxes = np.stack([x + np.tile([10, 200], frames), np.full_like(x, 10),
                      x + np.tile([50, 240], frames), np.full_like(x, 90)], 1)
    return f, ids, boxes


def test_perfect_tracks_score_one():
    f, ids, boxes = _two_people()
    gt = mot_rows(f, ids, boxes)
    pred = mot_rows(f, ids + 10, boxes, np.full(len(f), 0.9))  # any id names
    s = evaluate_tracking({'gym/a': gt}, {'gym/a': pred}).combined
    assert s.hota == pytest.approx(1) and s.idf1 == pytest.approx(1)
    assert s.mota == pytest.approx(1) and s.deta == pytest.approx(1)
    assert s.assa == pytest.approx(1)
    assert s.id_switches == 0 and s.false_positives == 0 and s.false_negatives == 0
    assert s.tracks_per_person == 1 and s.gt_ids == s.pred_ids == 2


def test_swapping_two_ids_halfway():
    """CLEAR MOT: each of the two people switches track once -> 2 ID switches; IDF1: the
    best one-to-one id mapping covers half of each person's boxes -> 0.5."""
    f, ids, boxes = _two_people(10)
    gt = mot_rows(f, ids, boxes)
    swapped = np.where(f > 5, 3 - ids, ids)
    s = evaluate_tracking({'gym/a': gt}, {'gym/a': mot_rows(f, swapped, boxes)}).combined
    assert s.id_switches == 2
    assert s.idf1 == pytest.approx(0.5) and s.idf1 < 1
    assert s.mota == pytest.approx(1 - 2 / 20)
    assert s.deta == pytest.approx(1) and s.hota < 1
    assert s.tracks_per_person == 2


def test_misses_false_positives_and_pooling():
    f, ids, boxes = _two_people(10)
    gt = mot_rows(f, ids, boxes)
    keep = ids == 1  # person 2 missed, plus one stray box far away
    stray = mot_rows([3], [9], [[500, 500, 520, 540]])
    pred = np.concatenate([mot_rows(f[keep], ids[keep], boxes[keep]), stray])
    rep = evaluate_tracking({'gym/a': gt, 'gym/b': gt}, {'gym/a': pred},
                            num_frames={'gym/a': 10, 'gym/b': 12})
    a, b = rep.videos['gym/a'], rep.videos['gym/b']
    assert (a.false_negatives, a.false_positives, a.true_positives) == (10, 1, 10)
    assert a.mota == pytest.approx(1 - 11 / 20)
    assert b.pred_dets == 0 and b.false_negatives == 20 and b.hota == 0
    c = rep.combined  # counts pooled over videos
    assert c.false_negatives == 30 and c.gt_dets == 40 and c.gt_ids == 4
    assert c.mota == pytest.approx(1 - 31 / 40)


def test_bad_tracks_are_errors():
    f, ids, boxes = _two_people(3)
    gt = mot_rows(f, ids, boxes)
    with pytest.raises(StadError, match="without ground truth, e.g. 'gym/x'"):
        evaluate_tracking({'gym/a': gt}, {'gym/x': gt})
    untracked = gt.copy()
    untracked[0, 1] = 0
    with pytest.raises(StadError, match='gym/a: prediction: ids must be integers >= 1'):
        evaluate_tracking({'gym/a': gt}, {'gym/a': untracked})
    dup = gt.copy()
    dup[1, 1] = 1
    with pytest.raises(StadError, match='gym/a: ground truth: id 1 has 2 boxes in frame 1'):
        evaluate_tracking({'gym/a': dup}, {})
    with pytest.raises(StadError, match='a box in frame 3, the video has 2 frames'):
        evaluate_tracking({'gym/a': gt}, {}, num_frames={'gym/a': 2})


def test_same_as_trackevals_file_based_evaluator(tmp_path, capsys):
    """Noisy, fragmented predictions: the in-process numbers equal TrackEval's
    MotChallenge2DBox + Evaluator reading the MOT files we write."""
    import trackeval
    rng = np.random.default_rng(0)
    f, ids, boxes = _two_people(30)
    gt = mot_rows(f, ids, boxes)
    keep = rng.uniform(size=len(f)) > 0.15
    pid = np.where((ids == 2) & (f > 18), 5, ids)  # person 2 changes track
    pid = np.where((ids == 1) & (f > 8) & (f < 14), 2, pid)  # person 1 takes id 2 for a while
    pid = np.where((ids == 2) & (f > 8) & (f < 14), 1, pid)
    noisy = boxes + rng.normal(0, 6, boxes.shape)
    pred = mot_rows(f[keep], pid[keep], noisy[keep], rng.uniform(0.3, 1, keep.sum()))
    ours = evaluate_tracking({'gym/seq': gt}, {'gym/seq': pred}, num_frames={'gym/seq': 30})

    gt_file = tmp_path / 'gt' / 'seq' / 'gt' / 'gt.txt'
    gt_file.parent.mkdir(parents=True)
    gt_file.write_text(''.join(f'{int(a)},{int(b)},{x},{y},{w},{h},1,1,1\n'
                               for a, b, x, y, w, h, _ in gt.tolist()))
    save_mot(str(tmp_path / 'trk' / 'ours' / 'data' / 'seq.txt'), pred)
    quiet = dict(PRINT_CONFIG=False)
    ev = trackeval.Evaluator(dict(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False,
                                  OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
                                  PLOT_CURVES=False, TIME_PROGRESS=False))
    ds = trackeval.datasets.MotChallenge2DBox(dict(
        GT_FOLDER=str(tmp_path / 'gt'), TRACKERS_FOLDER=str(tmp_path / 'trk'),
        SKIP_SPLIT_FOL=True, SEQ_INFO={'seq': 30}, **quiet))
    res, _ = ev.evaluate([ds], [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(quiet),
                                trackeval.metrics.Identity(quiet)])
    r = res['MotChallenge2DBox']['ours']['COMBINED_SEQ']['pedestrian']
    s = ours.combined
    assert s.id_switches == r['CLEAR']['IDSW'] and s.id_switches > 0
    assert s.mota == pytest.approx(r['CLEAR']['MOTA'])
    assert s.idf1 == pytest.approx(r['Identity']['IDF1']) and s.idf1 < 1
    assert s.hota == pytest.approx(np.mean(r['HOTA']['HOTA']))
    assert s.assa == pytest.approx(np.mean(r['HOTA']['AssA']))
