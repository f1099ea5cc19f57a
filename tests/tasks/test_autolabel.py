"""``stad import createml``: the Create ML writers of ``stad synth --format
createml-folders|createml-csv`` (layout, truth, frame-exact times), and auto-labelling
(detector -> tracks -> dominant person -> tubes) end to end on tiny synthetic videos.

There is no pretrained person detector offline, and a detector trained for seconds finds
nobody, so these tests use ``OracleDetectorForTests``: a stand-in defined here (never in
the library) that "detects" the people of the generator's MOT ground truth on the frames
it is shown, recognised by their pixels. It exercises linking, the dominant-person rule,
tubes, reports and files exactly; how good the rule is with a trained detector is
measured by the lead's end-to-end run (``check_against_truth``).
"""
import csv
import hashlib
import json
import os

import numpy as np
import pytest

from stad.data.formats.createml import (
    frames_of_range,
    range_of_frames,
    write_createml_csv,
    write_createml_folders,
)
from stad.errors import StadError


class OracleDetectorForTests:
    """Test-only detector stand-in: ``{hash of a decoded BGR frame: (N, 5) boxes}``."""

    def __init__(self, table: dict):
        self.table = table
        self.calls = 0

    def __call__(self, frames):
        self.calls += len(frames)
        empty = np.zeros((0, 5), np.float32)
        return [self.table.get(_key(f), empty) for f in frames]


class NoPersonDetectorForTests:
    def __call__(self, frames):
        return [np.zeros((0, 5), np.float32) for _ in frames]


def _key(frame) -> str:
    return hashlib.sha1(np.ascontiguousarray(frame).tobytes()).hexdigest()


def _oracle(native, out) -> OracleDetectorForTests:
    """Every person of the native MOT ground truth on every frame of every written file."""
    from stad.io.mot import load_mot, to_xyxy
    from stad.io.video import iter_frame_batches
    truth = json.load(open(os.path.join(out, 'truth.json')))
    table = {}
    done = set()
    for e in truth['entries']:
        if e['file'] in done:
            continue
        done.add(e['file'])
        mot = load_mot(native.mot_gt(e['video']))
        offset = e['source_frames'][0] - 1 if 'source_frames' in e else 0
        x0, y0, x1, y1 = e.get('crop') or (0, 0, 1e9, 1e9)  # a clip is cut to its actor
        for numbers, frames in iter_frame_batches(os.path.join(out, e['file'])):
            for n, f in zip(numbers, frames):
                rows = mot[mot[:, 0] == n + offset]
                b = np.clip(to_xyxy(rows) - [x0, y0, x0, y0], 0, [x1 - x0, y1 - y0] * 2)
                b = b[(b[:, 2] - b[:, 0] > 1) & (b[:, 3] - b[:, 1] > 1)]
                table[_key(f)] = np.concatenate(
                    [b, np.full((len(b), 1), 0.9)], 1).astype(np.float32)
    return OracleDetectorForTests(table)


@pytest.fixture(scope='module')
def native(tmp_path_factory):
    from stad.data.synth import synth
    root = tmp_path_factory.mktemp('native')
    return synth(str(root), seed=0, videos=4, frames=40, size=(160, 120), progress=False)


@pytest.fixture(scope='module')
def folders(native, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('cm') / 'folders')
    # the tiny videos' tubes are short: every one makes a clip here
    return out, write_createml_folders(native.root, out, min_frames=1)


@pytest.fixture(scope='module')
def csv_src(native, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('cm') / 'csv')
    return out, write_createml_csv(native.root, out)


def _truth(out):
    return json.load(open(os.path.join(out, 'truth.json')))


# ------------------------------------------------------------------------- writers

def test_frames_and_seconds_round_trip():
    for fps in (25.0, 29.97, 30.0, 12.5):
        for a, b in ((1, 1), (1, 40), (7, 19), (100, 1000)):
            start, end = range_of_frames(a, b, fps)
            # as written (microseconds) and read back
            assert frames_of_range(round(start, 6), round(end, 6), fps) == (a, b)
    assert frames_of_range(0, 1.0, 25) == (1, 25)
    assert frames_of_range(0.5, 0.51, 25) == (13, 13)


def test_folders_layout_and_truth(native, folders):
    from stad.data.gt import load_gt
    from stad.io.video import count_frames, video_size
    out, info = folders
    gt = load_gt(native.gt_file)
    n_tubes = sum(len(t) for v in gt['gttubes'].values() for t in v.values())
    truth = _truth(out)
    assert info['clips'] == n_tubes == len(truth['entries'])
    assert info['labels'] == sorted(gt['labels'])
    val = set(gt['test_videos'][0])
    for e in truth['entries']:
        split, label, name = e['file'].split('/')
        assert split == ('val' if e['video'] in val else 'train')
        assert label == e['label']
        assert name.startswith(e['video'].split('/')[1] + f'_p{e["person"]}_')
        a, b = e['source_frames']
        assert count_frames(os.path.join(out, e['file'])) == b - a + 1 == e['last_frame']
        # the boxes are the ground-truth tube's in the clip, cut around them, renumbered from 1
        tubes = gt['gttubes'][e['video']][gt['labels'].index(e['label'])]
        tube = next(t for t in tubes if t[0, 0] == a and t[-1, 0] == b)
        x0, y0, x1, y1 = e['crop']
        assert video_size(os.path.join(out, e['file'])) == (y1 - y0, x1 - x0)
        assert np.allclose(np.asarray(e['boxes'])[:, 1:], tube[:, 1:] - [x0, y0, x0, y0],
                           atol=0.01)
        boxes = np.asarray(e['boxes'])[:, 1:]
        assert boxes[:, :2].min() >= 0 and (boxes[:, 2].max() <= x1 - x0 + 0.01)
        assert [r[0] for r in e['boxes']] == list(range(1, b - a + 2))
    with pytest.raises(StadError, match='exists and is not empty'):
        write_createml_folders(native.root, out)


def test_csv_layout_times_are_frame_exact(native, csv_src):
    from stad.data.gt import load_gt
    from stad.io.createml import read_createml_source
    out, info = csv_src
    gt = load_gt(native.gt_file)
    assert info['videos'] == len(gt['gttubes'])
    assert sorted(os.listdir(out)) == ['train', 'truth.json', 'val']
    header = next(csv.reader(open(os.path.join(out, 'train', 'annotations.csv'))))
    assert header == ['video', 'label', 'start', 'end']
    ranges = read_createml_source(out)
    assert set(ranges) == {'train', 'val'}
    flat = [r for split in ('train', 'val') for r in ranges[split]]
    truth = _truth(out)['entries']
    assert len(flat) == len(truth)
    for r, e in zip(sorted(flat, key=lambda r: (r.video_path, r.where)),
                    sorted(truth, key=lambda e: (os.path.join(out, e['file']), e['line']))):
        assert os.path.basename(r.video_path) == os.path.basename(e['file'])
        assert r.label == e['label']
        assert frames_of_range(r.start_s, r.end_s, e['fps']) == (e['first_frame'], e['last_frame'])
        tubes = gt['gttubes'][e['video']][gt['labels'].index(e['label'])]
        assert any(t[0, 0] == e['first_frame'] and t[-1, 0] == e['last_frame'] for t in tubes)
    js = json.load(open(os.path.join(out, 'val', 'annotations.json')))
    assert set(js[0]) == {'video', 'label', 'start', 'end'}


# ------------------------------------------------------------------------ pieces

def test_tube_runs_interpolate_small_gaps_and_cut_big_ones():
    from stad.tasks.autolabel import tube_runs
    frames = np.array([1, 2, 5, 20, 21])
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [6, 0, 16, 10], [0, 0, 5, 5],
                      [0, 0, 5, 5]], float)
    tubes, filled, cuts = tube_runs(frames, boxes, max_gap=5)
    assert [t[:, 0].tolist() for t in tubes] == [[1, 2, 3, 4, 5], [20, 21]]
    assert np.allclose(tubes[0][2:4, 1], [2, 4])  # x1 from 0 to 6 over frames 2..5
    assert filled == 2 and cuts == [(5, 14)]
    tubes, filled, cuts = tube_runs(frames, boxes, max_gap=1)
    assert [len(t) for t in tubes] == [2, 1, 2] and filled == 0
    assert cuts == [(2, 2), (5, 14)]


def test_dominant_track_lines_and_ground_truth(folders, native, tmp_path):
    from stad.data.gt import check_gt, load_gt
    from stad.tasks.autolabel import check_against_truth, import_createml
    out, _ = folders
    det = _oracle(native, out)
    root = str(tmp_path / 'imported')
    s = import_createml(out, root, detector=det, negative_class='walk', progress=False)
    truth = _truth(out)['entries']
    assert s.videos == len(truth) and s.labels == ['jumping jack', 'squat', 'walk', 'wave']
    gt = load_gt(s.layout.gt_file)
    rep = check_gt(gt, 'imported')
    assert rep.ok and not rep.warnings, rep.issues
    assert gt['negative_labels'] == ['walk']
    # the split of the source folders is kept
    val_files = {os.path.basename(e['file']) for e in truth if e['split'] == 'val'}
    assert {v.split('/')[1] + '.mp4' for v in gt['test_videos'][0]} == val_files
    # one line per range: chosen track, coverage, runner-up
    range_lines = [ln for ln in s.lines if '] frames ' in ln]
    assert len(range_lines) == len(truth)
    assert all(' track ' in ln and 'coverage ' in ln and ('runner-up track' in ln
               or 'no runner-up' in ln) for ln in range_lines)
    # contact sheets: one PNG per video
    import cv2
    for vid in gt['nframes']:
        img = cv2.imread(os.path.join(root, 'contact_sheets', vid + '.png'))
        # a grid of several frames of the video
        assert img is not None and img.shape[1] >= 2 * gt['resolution'][vid][1]
    m = check_against_truth(root, os.path.join(out, 'truth.json'))
    # with every person detected, a clip whose actor was taken gets a tube over (nearly:
    # where walkers cross, the tracker may switch ids) all of its frames
    record = json.load(open(os.path.join(root, 'import.json')))
    wrong = {os.path.join(out, f) for f in m['wrong']}
    full = 0
    for r in record['ranges']:
        (a, b), = r['tubes']
        assert r['frames'][0] <= a <= b == r['frames'][1]
        if r['file'] not in wrong:
            assert r['chosen']['coverage'] >= 0.8
            full += r['tubes'] == [r['frames']] and r['chosen']['coverage'] == 1.0
    assert full >= len(record['ranges']) - len(wrong) - 1
    assert m['entries'] == len(truth) and m['frame_coverage'] > 0.9
    # Create ML's rule takes the largest person: in a clip of a small walker passing
    # bigger ones it is wrong, so not every clip is right, most are
    assert 0.6 <= m['accuracy'] <= 1.0
    print(f'oracle detector, labelled folders: {m["right"]}/{m["entries"]} ranges took the '
          f'true actor; wrong: {m["wrong"]}')


def test_annotation_file_ranges_become_tubes(csv_src, native, tmp_path):
    from stad.data.gt import load_gt
    from stad.tasks.autolabel import check_against_truth, import_createml
    out, _ = csv_src
    root = str(tmp_path / 'imported')
    s = import_createml(out, root, detector=_oracle(native, out), progress=False,
                        contact_sheets=False)
    gt = load_gt(s.layout.gt_file)
    assert sorted(gt['nframes']) == ['train/gym_000', 'train/gym_002', 'train/yard_001',
                                     'val/yard_003']
    assert gt['test_videos'] == [['val/yard_003']]
    assert not os.path.exists(os.path.join(root, 'contact_sheets'))
    m = check_against_truth(root, os.path.join(out, 'truth.json'))
    assert m['entries'] == len(_truth(out)['entries'])
    # a range where the true actor is taken gets exactly its frames (frame-exact times)
    record = json.load(open(os.path.join(root, 'import.json')))
    truth = {(e['file'], e['label'], e['first_frame']): e for e in _truth(out)['entries']}
    exact = 0
    for r in record['ranges']:
        e = truth[(os.path.relpath(r['file'], out), r['label'], r['frames'][0])]
        exact += r['tubes'] == [[e['first_frame'], e['last_frame']]]
    assert exact >= len(record['ranges']) - len(m['wrong'])
    print(f'oracle detector, annotation file: {m["right"]}/{m["entries"]} ranges took the '
          f'true actor')


def test_overlapping_ranges_of_one_label_take_different_people(tmp_path, csv_src, native):
    """gym_000 has three people walking at once: three rows, three different tracks."""
    from stad.tasks.autolabel import import_createml
    out, _ = csv_src
    src = tmp_path / 'src'
    src.mkdir()
    os.link(os.path.join(out, 'train', 'gym_000.mp4'), src / 'gym_000.mp4')
    (src / 'a.csv').write_text('video,label,start,end\n' + 'gym_000.mp4,walk,0.4,1.2\n' * 3)
    s = import_createml(str(src), str(tmp_path / 'r'), detector=_oracle(native, out),
                        progress=False, contact_sheets=False)
    tracks = [ln.split(': track ')[1].split()[0] for ln in s.lines if '] frames' in ln]
    assert len(tracks) == 3 and len(set(tracks)) == 3


# ------------------------------------------------------------------------ errors

def _clip(folders, label='squat'):
    out, _ = folders
    e = next(e for e in _truth(out)['entries'] if e['label'] == label)
    return os.path.join(out, e['file']), e


def test_no_person_is_an_error_naming_video_and_range(folders, tmp_path):
    from stad.tasks.autolabel import import_createml
    path, e = _clip(folders)
    root = tmp_path / 'r'
    with pytest.raises(StadError) as err:
        import_createml(folders[0], str(root), detector=NoPersonDetectorForTests(),
                        progress=False)
    msg = str(err.value)
    assert 'no person found over frames 1..' in msg and '.mp4' in msg and 'labelled' in msg
    assert not root.exists() and not any(p.name.startswith('r.') for p in tmp_path.iterdir())


@pytest.mark.parametrize('row, message', [
    ('{name},squat,5,6', 'a.csv:2: start 5 s is not before the end of the video'),
    ('{name},squat,0,9', 'a.csv:2: end 9 s is after the end of the video'),
    ('{name},squat,0.08,0.08', 'a.csv:2: range 0.08-0.08 s is shorter than one frame'),
])
def test_ranges_outside_the_video(folders, tmp_path, row, message):
    from stad.tasks.autolabel import import_createml
    path, e = _clip(folders)
    src = tmp_path / 'src'
    src.mkdir()
    os.link(path, src / 'v.mp4')
    (src / 'a.csv').write_text('video,label,start,end\n' + row.format(name='v.mp4') + '\n')
    with pytest.raises(StadError, match=message):
        import_createml(str(src), str(tmp_path / 'r'), detector=NoPersonDetectorForTests(),
                        progress=False)


def test_option_errors(folders, tmp_path):
    from stad.tasks.autolabel import import_createml
    out = folders[0]
    root = str(tmp_path / 'r')
    with pytest.raises(StadError, match="negative class 'sit' is not a label .*labels: "
                                        'jumping jack, squat, walk, wave'):
        import_createml(out, root, detector=NoPersonDetectorForTests(), negative_class='sit')
    with pytest.raises(StadError, match='a person detector is needed'):
        import_createml(out, root)
    with pytest.raises(StadError, match='tracker must be one of'):
        import_createml(out, root, detector=NoPersonDetectorForTests(), tracker='sort')
    with pytest.raises(StadError, match=r'score threshold must be in \(0, 1\)'):
        import_createml(out, root, detector=NoPersonDetectorForTests(), score_thr=1.5)
    assert not os.path.exists(root)
    busy = tmp_path / 'busy'
    busy.mkdir()
    (busy / 'x').write_text('mine')
    with pytest.raises(StadError, match='busy exists and is not empty'):  # before detecting
        import_createml(out, str(busy))
    assert (busy / 'x').read_text() == 'mine'
