"""Video-level evaluation of classifier-style test sets (stad eval-videos): a hand-made
test set whose answers are worked out by hand in the comments, and the negative class
left out of the mean AP."""
import argparse
import json

import numpy as np
import pytest
from gt_helpers import hand_gt

from stad.errors import StadError
from stad.evaluation.functional.multisports import (
    MULTISPORTS_EXCLUDED,
    evaluate_multisports,
    excluded_classes,
)
from stad.evaluation.video_level import (
    NO_PERSON,
    LabelledRange,
    classification_report,
    evaluate_video_level,
    labelled_ranges,
)
from stad.io.atomic import atomic_dump_pickle
from stad.io.detections import save_detections
from stad.io.layout import DataLayout
from stad.tasks.evaluate_videos import evaluate_videos

LABELS = ['run', 'jump', 'other']  # 'other' is the negative class
RUN, JUMP, OTHER = 0, 1, 2
BIG = [20, 10, 120, 90]  # 100 x 80 px of the 200 x 100 image
SMALL = [150, 40, 170, 60]  # 20 x 20 px
VIDEOS = ['s/v1', 's/v2', 's/v3', 's/v4', 's/v5']
NFRAMES = {'s/v1': 20, 's/v2': 11, 's/v3': 10, 's/v4': 25, 's/v5': 8, 's/t1': 10}


def tube(first, last, box=BIG):
    return np.array([[f, *box] for f in range(first, last + 1)], np.float32)


def make_gt() -> dict:
    """Val videos and their labelled ranges (one tube each):

    s/v1 run 1-9; s/v2 jump 1-11; s/v3 other 1-10; s/v4 run 1-10, run 11-20, jump 21-25;
    s/v5 jump 1-8. Train: s/t1 run 1-10.
    """
    return dict(labels=list(LABELS), negative_labels=['other'],
                train_videos=[['s/t1']], test_videos=[list(VIDEOS)],
                nframes=dict(NFRAMES), resolution={v: (100, 200) for v in NFRAMES},
                gttubes={'s/v1': {RUN: [tube(1, 9)]}, 's/v2': {JUMP: [tube(1, 11)]},
                         's/v3': {OTHER: [tube(1, 10)]},
                         's/v4': {RUN: [tube(1, 10), tube(11, 20)], JUMP: [tube(21, 25)]},
                         's/v5': {JUMP: [tube(1, 8)]}, 's/t1': {RUN: [tube(1, 10)]}})


def rows(vi, frames, box, scores, track):
    """One detection row per (frame, class), as stad predict writes."""
    out, ids = [], []
    for f in frames:
        for c, s in enumerate(scores(f) if callable(scores) else scores):
            out.append([vi, f, c, s, *box])
            ids.append(track)
    return out, ids


def make_dets():
    """Detections and track ids of the val videos:

    s/v1: track 1 (big) on 1-20: frame 5 (the centre of 1-9) run .9 jump .1, other
      frames run .2 jump .6 (and other 1.0 on 12-20, outside the range): centre -> run
      (right), conv mean run .28 < jump .54 -> jump (wrong). Track 2 (small, always jump
      .95) is the runner-up, never dominant.
    s/v2: track 3 on 1-5 and 7-11 (no box on the centre frame 6: of 5 and 7, the earlier):
      frame 5 run .8 jump .2, others run .1 jump .7: centre -> run (wrong), conv -> jump.
    s/v3: track 4, other .9: both modes predict the negative class (right).
    s/v4: track 5 on 1-10 run .8 (right); 11-20 only an untracked box (id 0): no person
      (wrong); track 6 on 21-25 jump .9 (right).
    s/v5: no detection: no person (wrong).
    """
    parts = [
        rows(0, range(1, 21), BIG, lambda f: (.9, .1, 0) if f == 5 else
             ((.2, .6, 1.) if f > 9 else (.2, .6, 0)), 1),
        rows(0, range(1, 21), SMALL, (0, .95, 0), 2),
        rows(1, [*range(1, 6), *range(7, 12)], BIG,
             lambda f: (.8, .2, 0) if f == 5 else (.1, .7, 0), 3),
        rows(2, range(1, 11), BIG, (.05, .05, .9), 4),
        rows(3, range(1, 11), BIG, (.8, .1, .1), 5),
        rows(3, range(11, 21), BIG, (.9, .05, .05), 0),
        rows(3, range(21, 26), BIG, (.05, .9, .05), 6),
    ]
    dets = np.array([r for p, _ in parts for r in p], np.float64)
    ids = np.array([i for _, p in parts for i in p], np.int64)
    return dets, ids


@pytest.fixture
def result():
    gt = make_gt()
    dets, ids = make_dets()
    return evaluate_video_level(labelled_ranges(gt), dets, ids, videos=VIDEOS, labels=LABELS,
                                image_sizes=gt['resolution'],
                                negative_labels=gt['negative_labels'])


def test_ranges_are_the_tubes_of_the_split():
    gt = make_gt()
    assert labelled_ranges(gt) == [
        LabelledRange('s/v1', RUN, 1, 9), LabelledRange('s/v2', JUMP, 1, 11),
        LabelledRange('s/v3', OTHER, 1, 10), LabelledRange('s/v4', RUN, 1, 10),
        LabelledRange('s/v4', RUN, 11, 20), LabelledRange('s/v4', JUMP, 21, 25),
        LabelledRange('s/v5', JUMP, 1, 8)]
    assert labelled_ranges(gt, ['s/t1']) == [LabelledRange('s/t1', RUN, 1, 10)]


def test_center_and_conv_predictions_per_range(result):
    name = {-1: NO_PERSON, **dict(enumerate(LABELS))}
    got = [(name[p.predicted['center']], name[p.predicted['conv']]) for p in result.predictions]
    assert got == [('run', 'jump'),  # s/v1: the central frame says run, the range jump
                   ('run', 'jump'),  # s/v2: frame 5 (nearest the centre) says run
                   ('other', 'other'), ('run', 'run'), (NO_PERSON, NO_PERSON),
                   ('jump', 'jump'), (NO_PERSON, NO_PERSON)]
    p1, p2 = result.predictions[:2]
    assert (p1.track_id, p1.runner_up, p1.center_frame) == (1, 2, 5)  # the big one dominates
    assert p1.coverage == pytest.approx(1.0)
    assert (p2.track_id, p2.runner_up, p2.center_frame) == (3, None, 5)
    assert p2.coverage == pytest.approx(10 / 11)
    assert p1.scores['conv'][:2] == pytest.approx([(.9 + 8 * .2) / 9, (.1 + 8 * .6) / 9])
    assert result.no_person == [LabelledRange('s/v4', RUN, 11, 20), LabelledRange('s/v5', JUMP, 1, 8)]


def test_accuracy_precision_recall_confusion(result):
    c, v = result.ranges['center'], result.ranges['conv']
    assert (c.correct, c.n, v.correct, v.n) == (4, 7, 4, 7)
    # center: run predicted on v1, v2, v4a (2 right) and true on v1, v4a, v4b (2 found)
    assert c.precision == pytest.approx({'run': 2 / 3, 'jump': 1.0, 'other': 1.0})
    assert c.recall == pytest.approx({'run': 2 / 3, 'jump': 1 / 3, 'other': 1.0})
    # conv: run predicted on v4a only; jump on v1, v2, v4c (2 right of the 3 jumps)
    assert v.precision == pytest.approx({'run': 1.0, 'jump': 2 / 3, 'other': 1.0})
    assert v.recall == pytest.approx({'run': 1 / 3, 'jump': 2 / 3, 'other': 1.0})
    # rows true run, jump, other; columns run, jump, other, no person
    assert c.confusion.tolist() == [[2, 0, 0, 1], [1, 1, 0, 1], [0, 0, 1, 0]]
    assert v.confusion.tolist() == [[1, 1, 0, 1], [0, 2, 0, 1], [0, 0, 1, 0]]
    assert c.no_person == v.no_person == 2
    assert c.support == {'run': 3, 'jump': 3, 'other': 1}


def test_video_accuracy_by_majority(result):
    assert result.video_names == VIDEOS
    # true: run, jump, other, run (2 of its 3 ranges), jump; s/v4 predicted run vs jump
    # one each (its no-person range has no vote): the tie goes to run's 10 frames
    assert result.videos['center'].true.tolist() == [RUN, JUMP, OTHER, RUN, JUMP]
    assert result.videos['center'].pred.tolist() == [RUN, RUN, OTHER, RUN, -1]
    assert result.videos['conv'].pred.tolist() == [JUMP, JUMP, OTHER, RUN, -1]
    assert result.summary() == pytest.approx({
        'range_accuracy@center': 4 / 7, 'video_accuracy@center': 3 / 5,
        'range_accuracy@conv': 4 / 7, 'video_accuracy@conv': 3 / 5})


def test_negative_class_counts_in_accuracy():
    # every range of s/v3 (the negative class) right, nothing else: accuracy 1, and the
    # negative class has precision and recall like any other
    gt = make_gt()
    dets, ids = make_dets()
    keep = dets[:, 0] == 2
    res = evaluate_video_level([LabelledRange('s/v3', OTHER, 1, 10)], dets[keep], ids[keep],
                               videos=VIDEOS, labels=LABELS, image_sizes=gt['resolution'],
                               mode='conv', negative_labels=['other'])
    assert res.modes == ('conv',) and res.ranges['conv'].accuracy == 1.0
    assert res.ranges['conv'].precision['other'] == res.ranges['conv'].recall['other'] == 1.0
    assert res.negative_labels == ('other',)
    # predicting the negative class for a run range is an error like any other
    rep = classification_report([RUN], [OTHER], LABELS)
    assert rep.accuracy == 0 and rep.precision['other'] == 0 and np.isnan(rep.precision['run'])


def test_bad_inputs_are_errors():
    gt = make_gt()
    dets, ids = make_dets()
    kw = dict(videos=VIDEOS, labels=LABELS, image_sizes=gt['resolution'])
    with pytest.raises(ValueError, match="mode must be 'both', 'center' or 'conv', got 'mean'"):
        evaluate_video_level(labelled_ranges(gt), dets, ids, mode='mean', **kw)
    with pytest.raises(ValueError, match=r'track_ids must have shape \(\d+,\)'):
        evaluate_video_level(labelled_ranges(gt), dets, ids[:-1], **kw)
    with pytest.raises(ValueError, match="range 's/x' 1..3: video not among"):
        evaluate_video_level([LabelledRange('s/x', 0, 1, 3)], dets, ids, **kw)
    with pytest.raises(ValueError, match="range 's/v1' 1..3: label 7 outside the 3 labels"):
        evaluate_video_level([LabelledRange('s/v1', 7, 1, 3)], dets, ids, **kw)


# ----------------------------------------------------------------------------- task, CLI

def write_root(tmp_path, with_tracks=True):
    gt = make_gt()
    layout = DataLayout(str(tmp_path / 'root'))
    atomic_dump_pickle(gt, layout.gt_file)
    dets, ids = make_dets()
    path = str(tmp_path / 'dets.pkl')
    save_detections(path, gt, dets, track_ids=ids if with_tracks else None)
    return layout.root, path


def test_evaluate_videos_writes_json_table_and_pngs(tmp_path):
    root, dets = write_root(tmp_path)
    out = tmp_path / 'out'
    result, table = evaluate_videos(root, dets, out_dir=str(out))
    assert result.summary()['range_accuracy@center'] == pytest.approx(4 / 7)
    for m in ('center', 'conv'):
        png = (out / f'confusion_{m}.png').read_bytes()
        assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 2000
    doc = json.loads((out / 'results.json').read_text())
    assert doc['negative_labels'] == ['other'] and doc['split'] == 'val'
    assert doc['ranges']['conv']['confusion'] == [[1, 1, 0, 1], [0, 2, 0, 1], [0, 0, 1, 0]]
    assert doc['ranges']['center']['precision']['run'] == pytest.approx(2 / 3)
    assert doc['videos']['conv']['per_video'][4] == dict(video='s/v5', label='jump',
                                                         predicted=NO_PERSON)
    assert doc['per_range'][0]['track_id'] == 1 and doc['per_range'][4]['track_id'] is None
    assert (out / 'table.txt').read_text() == table + '\n'
    lines = table.splitlines()
    split = [line.split() for line in lines]
    assert ['center', '57.14', '(4/7)', '60.00', '(3/5)'] in split
    assert ['conv', '57.14', '(4/7)', '60.00', '(3/5)'] in split
    row = next(line for line in lines if line.startswith('run '))
    assert row.split() == ['run', '3', '66.67', '66.67', '100.00', '33.33']
    assert any(line.startswith('other (negative)') for line in lines)
    assert "  s/v4 frames 11-20 (label 'run')" in lines
    assert "  s/v5 frames 1-8 (label 'jump')" in lines


def test_evaluate_videos_one_mode_and_train_split(tmp_path):
    root, _ = write_root(tmp_path)
    gt = make_gt()
    train_gt = {**gt, 'test_videos': [['s/t1']]}
    path = str(tmp_path / 'train_dets.pkl')
    d, i = rows(0, range(1, 11), BIG, (.1, .8, .1), 9)  # jump predicted on a run range
    save_detections(path, train_gt, np.array(d), track_ids=np.array(i))
    out = tmp_path / 'out'
    result, table = evaluate_videos(root, path, split='train', mode='center', out_dir=str(out))
    assert result.modes == ('center',) and result.ranges['center'].confusion[RUN, JUMP] == 1
    assert (out / 'confusion_center.png').is_file() and not (out / 'confusion_conv.png').exists()
    assert '(split train)' in table


def test_evaluate_videos_errors(tmp_path):
    root, dets = write_root(tmp_path, with_tracks=False)
    with pytest.raises(StadError, match=r'dets\.pkl: no track ids; video-level evaluation picks'):
        evaluate_videos(root, dets)
    with pytest.raises(StadError, match="mode must be 'both', 'center' or 'conv'"):
        evaluate_videos(root, dets, mode='avg')
    with pytest.raises(StadError, match='split must be one of train, val'):
        evaluate_videos(root, dets, split='test')
    out = tmp_path / 'afile'
    out.write_text('x')
    with pytest.raises(StadError, match='cannot create the output folder'):
        evaluate_videos(root, dets, out_dir=str(out))


def test_cli_prints_the_table(tmp_path, capsys):
    from stad.cli import eval_videos
    root, dets = write_root(tmp_path)
    parser = argparse.ArgumentParser(prog='stad')
    eval_videos.register(parser.add_subparsers(dest='command'))
    args = parser.parse_args(['eval-videos', '--data-root', root, '--detections', dets,
                              '--out', str(tmp_path / 'o')])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert 'video-level evaluation: 7 labelled ranges in 5 videos (split val)' in printed
    assert 'center P' in printed and 'conv R' in printed
    assert (tmp_path / 'o' / 'confusion_conv.png').is_file()


# ----------------------------------------------------------------------------- mean AP

def test_negative_class_left_out_of_mean_ap():
    gt = hand_gt()  # labels run, jump; val video s/b
    t = np.asarray(gt['gttubes']['s/b'][1][0])
    gt['gttubes']['s/b'][0] = [t.copy()]
    # run found exactly (AP 1), jump on the wrong place (AP 0)
    dets = [[0, f, 0, .9, *t[k, 1:]] for k, f in enumerate(t[:, 0])]
    dets += [[0, f, 1, .9, 150, 10, 190, 50] for f in t[:, 0]]
    dets = np.array(dets, np.float64)
    kept = evaluate_multisports(gt, dets, min_tube_len=1)
    assert set(kept.frame[0.5].ap) == {'run', 'jump'} and kept.frame[0.5].mean_ap == .5
    gt['negative_labels'] = ['jump']
    res = evaluate_multisports(gt, dets, min_tube_len=1)
    assert res.excluded == ('jump',)
    assert set(res.frame[0.5].ap) == {'run'} and res.frame[0.5].mean_ap == 1.0
    assert set(res.video[0.5].ap) == {'run'} and res.video[0.5].mean_ap == 1.0
    assert set(evaluate_multisports(gt, dets, exclude=None).frame[0.5].ap) == {'run', 'jump'}


def test_excluded_classes_with_negative_labels():
    labels = [f'c{i}' for i in range(60)] + list(MULTISPORTS_EXCLUDED)
    assert excluded_classes(labels + ['none'], negative_labels=['none']) == \
        MULTISPORTS_EXCLUDED + ('none',)
    assert excluded_classes(['a', 'b'], negative_labels=['b', 'zzz']) == ('b',)  # zzz: no label
    assert excluded_classes(['a', 'b'], ['a'], negative_labels=['b']) == ('a',)  # as given
    assert excluded_classes(['a', 'b'], None, negative_labels=['b']) == ()
