"""``stad export cvat``: ground truth and predictions as CVAT for video 1.1 XML, read back
with ``stad import cvat``."""
import argparse
import os

import numpy as np
import pytest

from stad.data.formats.cvat import import_cvat
from stad.data.gt import load_gt
from stad.errors import StadError
from stad.io.cvat import read_cvat_xml
from stad.io.detections import save_detections
from stad.io.mot import load_mot, to_xyxy
from stad.tasks.export import export_cvat_gt, export_cvat_predictions


@pytest.fixture(scope='module')
def native(tmp_path_factory):
    from stad.data.synth import synth
    return synth(str(tmp_path_factory.mktemp('native')), seed=2, videos=4, frames=80,
                 size=(160, 120), progress=False)


def _sorted(tubes):
    return sorted(tubes, key=lambda t: tuple(t[0]))


def _same(a: dict, b: dict) -> None:
    """``{label: [tube]}`` equal: same frames, boxes within 0.5 px."""
    assert sorted(a) == sorted(b)
    for k in a:
        ta, tb = _sorted(a[k]), _sorted(b[k])
        assert [len(t) for t in ta] == [len(t) for t in tb], k
        for x, y in zip(ta, tb):
            x, y = np.asarray(x), np.asarray(y)
            assert np.array_equal(x[:, 0], y[:, 0]) and np.abs(x[:, 1:5] - y[:, 1:5]).max() <= 0.5


def _named(gt, video):
    return {gt['labels'][k]: ts for k, ts in gt['gttubes'].get(video, {}).items()}


def test_ground_truth_export_imports_back_to_the_same_tubes(native, tmp_path):
    s = export_cvat_gt(native.root, str(tmp_path / 'xml'))
    gt = load_gt(native.gt_file)
    assert s.files == [str(tmp_path / 'xml' / f'{v}.xml') for v in sorted(gt['nframes'])]
    assert len(s.lines) == 4 and s.lines[0].startswith('gym/gym_000: ')
    # the XMLs point at the dataset's own videos by task name
    imp = import_cvat(str(tmp_path / 'xml'), str(tmp_path / 'root'), videos_dir=native.video_dir)
    back = load_gt(imp.layout.gt_file)
    assert back['labels'] == gt['labels'] and back['test_videos'] == gt['test_videos']
    for video in gt['nframes']:
        _same(_named(gt, video), _named(back, video))


def test_ground_truth_to_one_file(native, tmp_path):
    gt = load_gt(native.gt_file)
    s = export_cvat_gt(native.root, str(tmp_path / 'all.xml'))
    assert s.files == [str(tmp_path / 'all.xml')]
    doc = read_cvat_xml(s.files[0])
    assert doc.kind == 'project' and [t.name for t in doc.tasks] == sorted(gt['nframes'])
    imp = import_cvat(s.files[0], str(tmp_path / 'root'), videos_dir=native.video_dir)
    back = load_gt(imp.layout.gt_file)
    for video in gt['nframes']:
        _same(_named(gt, video), _named(back, video))
    one = export_cvat_gt(native.root, str(tmp_path / 'one.xml'), videos=['yard/yard_001'])
    doc = read_cvat_xml(one.files[0])
    assert doc.kind == 'task' and doc.tasks[0].source == 'yard_001.mp4'
    with pytest.raises(StadError, match="no video 'gym/nope' in the ground truth"):
        export_cvat_gt(native.root, str(tmp_path / 'x'), videos=['gym/nope'])


def _gt_detections(native, gt):
    """Detections of the val videos as a perfect model would give them: every person box
    of the MOT identities, its true class scored 0.9 and the others 0.01, its person id
    as track id."""
    rows, ids = [], []
    n_labels = len(gt['labels'])
    for vi, video in enumerate(gt['test_videos'][0]):
        mot = load_mot(native.mot_gt(video))
        boxes = to_xyxy(mot)
        truth = {}
        for k, ts in gt['gttubes'][video].items():
            for t in ts:
                for f, *b in t.tolist():
                    truth[(int(f), tuple(np.round(b, 2)))] = k
        for (f, pid), b in zip(mot[:, :2].astype(int).tolist(), boxes):
            k = truth[(f, tuple(np.round(b, 2)))]
            for c in range(n_labels):
                rows.append([vi, f, c, 0.9 if c == k else 0.01, *b])
                ids.append(pid)
    return np.asarray(rows), np.asarray(ids)


def test_prediction_export_imports_back_to_the_segments(native, tmp_path):
    gt = load_gt(native.gt_file)
    dets, ids = _gt_detections(native, gt)
    path = str(tmp_path / 'dets.pkl')
    save_detections(path, gt, dets, ids)
    # no smoothing, no gap bridging: the segments are the true tubes of >= 8 frames
    s = export_cvat_predictions(path, native.root, str(tmp_path / 'xml'), smooth=1, max_gap=0)
    (video,) = gt['test_videos'][0]
    assert s.files == [str(tmp_path / 'xml' / f'{video}.xml')]
    doc = read_cvat_xml(s.files[0])
    assert {t.source for t in doc.tasks[0].tracks} == {'auto'}
    assert len(doc.tasks[0].tracks) == len(np.unique(ids))  # one track per person track
    imp = import_cvat(str(tmp_path / 'xml'), str(tmp_path / 'root'), videos_dir=native.video_dir)
    back = load_gt(imp.layout.gt_file)
    want = {name: [t for t in ts if len(t) >= 8] for name, ts in _named(gt, video).items()}
    assert sum(bool(v) for v in want.values()) == 4  # every action, one person doing two
    _same({k: v for k, v in want.items() if v}, _named(back, video))
    assert s.lines == [f'{video}: {len(np.unique(ids))} tracks, '
                       f'{sum(len(v) for v in want.values())} segments, '
                       f'{len(load_mot(native.mot_gt(video)))} boxes']


def test_overlapping_segments_go_to_the_higher_score(native, tmp_path):
    gt = load_gt(native.gt_file)
    box = [10.0, 10.0, 40.0, 90.0]
    rows = []
    for f in range(1, 31):
        s0 = 0.9 if f <= 20 else 0.01
        s1 = 0.01 if f <= 10 else 0.5 if f <= 20 else 0.9
        rows += [[0, f, 0, s0, *box], [0, f, 1, s1, *box]]
    path = str(tmp_path / 'dets.pkl')
    save_detections(path, gt, np.asarray(rows), np.ones(len(rows), int))
    export_cvat_predictions(path, native.root, str(tmp_path / 'xml'), smooth=1)
    imp = import_cvat(str(tmp_path / 'xml'), str(tmp_path / 'root'), videos_dir=native.video_dir)
    back = load_gt(imp.layout.gt_file)
    (video,) = gt['test_videos'][0]
    named = {k: [t[:, 0].tolist() for t in ts] for k, ts in _named(back, video).items()}
    assert named == {'jumping jack': [list(range(1, 21))], 'squat': [list(range(21, 31))]}


def test_predictions_need_track_ids(native, tmp_path):
    gt = load_gt(native.gt_file)
    path = str(tmp_path / 'dets.pkl')
    save_detections(path, gt, np.asarray([[0, 1, 0, 0.9, 1, 1, 9, 9]]))
    with pytest.raises(StadError, match=r"dets.pkl: no person track ids \('track_ids'\)"):
        export_cvat_predictions(path, native.root, str(tmp_path / 'xml'))
    with pytest.raises(StadError, match="split must be one of train, val, got 'test'"):
        export_cvat_predictions(path, native.root, str(tmp_path / 'xml'), split='test')


def _cli(argv):
    from stad.cli.export import register
    parser = argparse.ArgumentParser(prog='stad')
    register(parser.add_subparsers(dest='command'))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_exports_ground_truth_and_predictions(native, tmp_path, capsys):
    assert _cli(['export', 'cvat', '--data-root', native.root, '--out', str(tmp_path / 'g'),
                 '--video', 'gym/gym_000']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('gym/gym_000: ') and 'tubes' in out[0]
    assert out[1] == f'wrote 1 CVAT XML files: {tmp_path / "g" / "gym" / "gym_000.xml"}'
    gt = load_gt(native.gt_file)
    dets, ids = _gt_detections(native, gt)
    save_detections(str(tmp_path / 'd.pkl'), gt, dets, ids)
    assert _cli(['export', 'cvat', '--data-root', native.root, '--detections',
                 str(tmp_path / 'd.pkl'), '--out', str(tmp_path / 'p.xml'), '--smooth', '1']) == 0
    out = capsys.readouterr().out.splitlines()
    assert 'segments' in out[0] and os.path.isfile(tmp_path / 'p.xml')
