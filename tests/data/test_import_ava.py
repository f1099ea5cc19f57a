"""``stad import ava``: AVA-style CSV + label map + videos -> a dataset root.

The sample files are written by hand from AVA's documentation (rows ``video_id,
timestamp, x1, y1, x2, y2, action_id, person_id``, boxes normalised, timestamps in
seconds; ``ava_action_list_v2.2.pbtxt``'s ``label { name label_id label_type }``
blocks), with a 25 fps and a 30 fps video, so the timestamp -> frame mapping is pinned
at two real frame rates.
"""
from __future__ import annotations

import argparse
import os
import shutil

import numpy as np
import pytest

from stad.data.formats.ava import (
    frame_to_timestamp,
    held_frames,
    import_ava,
    timestamp_to_frame,
    write_ava,
)
from stad.data.gt import load_gt
from stad.errors import StadError
from stad.io.label_map import read_any_label_map, read_pbtxt_label_map

# AVA v2.2's label map style; ids 1 and 3 (not 0..n-1) so ids and label indices differ
PBTXT = '''label {
  name: "stand"
  label_id: 1
  label_type: PERSON_MOVEMENT
}
label {
  name: "wave"
  label_id: 3
  label_type: PERSON_INTERACTION
}
'''
SIZES = {'clip25': (25, 50, 64, 48), 'clip30': (30, 60, 80, 60)}  # fps, frames, w, h


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """A folder with clip25.mp4 (25 fps, 50 frames, 64x48) and clip30.mp4 (30 fps, 60
    frames, 80x60)."""
    from stad.io.video import write_mp4
    root = tmp_path_factory.mktemp('ava_videos')
    for name, (fps, n, w, h) in SIZES.items():
        frames = (np.full((h, w, 3), 4 * i, np.uint8) for i in range(n))
        write_mp4(frames, str(root / f'{name}.mp4'), fps=fps, size=(w, h))
    return str(root)


def _src(tmp_path, videos, csv: str, *, pbtxt: str = PBTXT, name: str = 'ann.csv') -> str:
    """A source folder: the CSV, label_map.pbtxt, videos/ (links to the shared videos)."""
    src = tmp_path / 'src'
    (src / 'videos').mkdir(parents=True, exist_ok=True)
    for f in os.listdir(videos):
        dst = src / 'videos' / f
        if not dst.exists():
            os.link(os.path.join(videos, f), dst)
    (src / name).write_text(csv)
    (src / 'label_map.pbtxt').write_text(pbtxt)
    return str(src)


def _tubes(root: str) -> dict:
    gt = load_gt(os.path.join(root, 'trainval', 'multisports_GT.pkl'))
    return {v: {gt['labels'][k]: [t.tolist() for t in ts] for k, ts in by.items()}
            for v, by in gt['gttubes'].items()}


# ------------------------------------------------------------------- mapping

def test_timestamps_map_to_the_nearest_frame_at_each_videos_rate():
    # frame k is shown at (k - 1) / fps: timestamp 1 s is frame 26 at 25 fps, 31 at 30 fps
    assert timestamp_to_frame(1.0, 25) == 26 and timestamp_to_frame(1.0, 30) == 31
    assert timestamp_to_frame(0.0, 25) == 1 and timestamp_to_frame(0.019, 25) == 1
    assert timestamp_to_frame(0.02, 25) == 2  # half a frame rounds up, on every platform
    # AVA's own files: clips cut at 900 s, so 902 at 30 fps is frame 61 (mmaction2's index 60)
    assert timestamp_to_frame(902, 30, 900) == 61
    # a keyframe holds the frames shown in [t - 0.5, t + 0.5)
    assert held_frames(2.0, 25) == (39, 63) and held_frames(2.0, 30) == (46, 75)
    assert held_frames(902, 30, 900) == (46, 75)


@pytest.mark.parametrize('fps', [25, 30, 24, 29.97, 30000 / 1001, 59.94, 50])
def test_written_timestamps_give_every_frame_back(fps):
    for f in range(1, 40001):
        t = float(f'{frame_to_timestamp(f, fps):.6f}')  # what the writer puts in the file
        assert timestamp_to_frame(t, fps) == f


# ----------------------------------------------------------------- label maps

def test_label_maps_pbtxt_variants_and_id_name_lines(tmp_path):
    p = tmp_path / 'ava.pbtxt'
    p.write_text(PBTXT)
    assert read_pbtxt_label_map(str(p)) == {1: 'stand', 3: 'wave'}
    # mmaction2 / TF object detection API: item { name id }, display_name wins over name
    q = tmp_path / 'items.pbtxt'
    q.write_text('# classes\nitem {\n  name: "/m/01g317"\n  id: 1\n  display_name: "person"\n}\n'
                 'item { name: \'talk to "sb"\' id: 2 }\n')
    assert read_any_label_map(str(q)) == {1: 'person', 2: 'talk to "sb"'}
    r = tmp_path / 'labels.txt'
    r.write_text('1: stand\n3: wave\n')
    assert read_any_label_map(str(r)) == {1: 'stand', 3: 'wave'}


@pytest.mark.parametrize('text, message', [
    ('label {\n  name: "stand"\n  label_type: PERSON_MOVEMENT\n}\n',
     r'bad.pbtxt:1: label block has no id \(id or label_id\)'),
    ('label {\n  label_id: 1\n}\n', r'bad.pbtxt:1: label block has no name'),
    ('item { name: "a" id: 1 }\nitem {\n name: "b"\n id: 1\n}\n',
     r"bad.pbtxt:4: id 1 given twice \(line 1: 'a', line 4: 'b'\)"),
    ('item { name: "a" id: one }\n', r"bad.pbtxt:1: id must be an integer >= 0, got 'one'"),
    ('item {\n name: "a\n id: 1 }\n', r'bad.pbtxt:2: unterminated string'),
    ('item { name: "a" id: 1 }\nthing { }\n', r"bad.pbtxt:2: expected a label block .*'thing'"),
    ('item {\n name: "a"\n id: 1\n', r'bad.pbtxt:3: expected a field name or "}" closing the '
                                    r'item block of line 1, got the end of the file'),
    ('# nothing\n', r'bad.pbtxt: empty label map'),
])
def test_label_map_errors_name_file_and_line(tmp_path, text, message):
    p = tmp_path / 'bad.pbtxt'
    p.write_text(text)
    with pytest.raises(StadError, match=message):
        read_any_label_map(str(p))


# --------------------------------------------------------------------- import

EXACT_CSV = '''video_id,timestamp,x1,y1,x2,y2,action_id,person_id
clip25,0.00,0.25,0.5,0.5,1.0,1,7
clip25,0.04,0.25,0.5,0.5,1.0,1,7
clip25,0.08,0.25,0.5,0.5,1.0,1,7
clip25,0.16,0.25,0.5,0.5,1.0,1,7
clip25,1.96,0.0,0.0,0.5,0.5,3,8
clip25,1.00,0.5,0.0,1.01,0.5,1,9
clip30,1.0,0.1,0.2,0.3,0.4,3,1
clip30,1.0333333,0.1,0.2,0.3,0.4,3,1
clip30,1.0666667,0.1,0.2,0.3,0.4,3,1
clip30,1.0,0.1,0.2,0.3,0.4,1,1
'''


def test_import_exact_frames_at_25_and_30_fps(tmp_path, videos):
    out = str(tmp_path / 'root')
    s = import_ava(_src(tmp_path, videos, EXACT_CSV), out, val_fraction=0.5)
    assert (s.videos, s.tubes, s.labels) == (2, 6, ['stand', 'wave'])
    box25 = [16.0, 24.0, 32.0, 48.0]  # (0.25, 0.5, 0.5, 1.0) of 64x48
    box30 = [8.0, 12.0, 24.0, 24.0]  # (0.1, 0.2, 0.3, 0.4) of 80x60
    assert _tubes(out) == {
        'ava/clip25': {
            # frames 1-3, then a gap (frame 4 missing) ends the tube; 1 s = frame 26
            'stand': [[[1, *box25], [2, *box25], [3, *box25]], [[5, *box25]],
                      [[26, 32.0, 0.0, 64.0, 24.0]]],  # x2 64.64 px: within 1 px, clipped
            'wave': [[[50, 0.0, 0.0, 32.0, 24.0]]]},  # 1.96 s = the last frame
        'ava/clip30': {'stand': [[[31, *box30]]],  # one person, two actions: two tubes
                       'wave': [[[31, *box30], [32, *box30], [33, *box30]]]}}
    assert s.lines[0] == ('timestamps -> frames: frame = floor(timestamp * fps + 0.5) + 1 '
                          '(frame k is shown at (k - 1) / fps s; fps read from each video)')
    assert 'ava/clip25 (clip25.mp4): 25 fps, 50 frames, 6 rows -> 4 tubes, train' in s.lines
    assert 'ava/clip30 (clip30.mp4): 30 fps, 60 frames, 4 rows -> 2 tubes, val' in s.lines
    assert os.path.isfile(s.layout.video_path('ava/clip30'))
    assert os.path.isfile(os.path.join(out, 'import.json'))


def test_hold_keyframes_over_their_second(tmp_path, videos):
    # AVA's own style: no header, whole seconds, one keyframe a second
    csv = ('clip25,0,0.0,0.0,0.5,0.5,1,1\n'
           'clip25,1,0.5,0.5,1.0,1.0,1,1\n'
           'clip30,1,0.1,0.1,0.2,0.2,3,4\n'
           # keyframes 0.4 s apart (frames 31 and 43): overlapping windows split between them
           'clip30,1.0,0.5,0.5,0.6,0.6,1,5\n'
           'clip30,1.4,0.6,0.6,0.7,0.7,1,5\n')
    out = str(tmp_path / 'root')
    s = import_ava(_src(tmp_path, videos, csv), out, keyframes='hold')
    tubes = _tubes(out)
    (t25,) = tubes['ava/clip25']['stand']
    # 0 s holds [-0.5, 0.5) s = frames 1..13 (clipped), 1 s holds [0.5, 1.5) s = frames 14..38
    assert [f for f, *_ in t25] == list(range(1, 39))
    assert {tuple(b) for f, *b in t25 if f <= 13} == {(0.0, 0.0, 32.0, 24.0)}
    assert {tuple(b) for f, *b in t25 if f >= 14} == {(32.0, 24.0, 64.0, 48.0)}
    (t30,) = tubes['ava/clip30']['wave']
    assert [f for f, *_ in t30] == list(range(16, 46))  # 30 frames: [0.5, 1.5) s at 30 fps
    (over,) = tubes['ava/clip30']['stand']
    assert [f for f, *_ in over] == list(range(16, 58))  # 16..45 and 28..57
    first = {f for f, x1, *_ in over if x1 == 40.0}
    assert first == set(range(16, 37))  # frame 37 is 6 frames from both: the later keyframe
    assert any('[t - 0.5, t + 0.5) s' in line for line in s.lines)


def test_rows_without_person_id_are_linked_by_overlap(tmp_path, videos):
    csv = ('clip25,0.04,0.6,0.1,0.9,0.9,1\n'  # AVA v1 rows: 7 fields
           'clip25,0.00,0.1,0.1,0.4,0.9,1\n'
           'clip25,0.00,0.6,0.1,0.9,0.9,1\n'
           'clip25,0.04,0.12,0.1,0.42,0.9,1\n'
           'clip25,0.08,0.13,0.1,0.43,0.9,1\n')
    out = str(tmp_path / 'root')
    s = import_ava(_src(tmp_path, videos, csv), out)
    tubes = _tubes(out)['ava/clip25']['stand']
    assert sorted(([f for f, *_ in t], round(t[0][1], 2)) for t in tubes) == \
        [([1, 2], 38.4), ([1, 2, 3], 6.4)]
    assert any('5 rows without person_id linked' in line for line in s.lines)


def test_train_and_val_csvs_and_id_name_label_map(tmp_path, videos):
    src = _src(tmp_path, videos, 'clip25,0,0.1,0.1,0.5,0.5,3,1\n', name='my_train.csv')
    (tmp_path / 'src' / 'my_val.csv').write_text('clip30,0,0.1,0.1,0.5,0.5,1,1\n')
    os.remove(os.path.join(src, 'label_map.pbtxt'))
    (tmp_path / 'src' / 'labels.txt').write_text('1: stand\n3: wave\n')
    out = str(tmp_path / 'root')
    s = import_ava(src, out)  # finds both CSVs and the label map in the folder
    gt = load_gt(s.layout.gt_file)
    assert gt['train_videos'] == [['ava/clip25']] and gt['test_videos'] == [['ava/clip30']]
    # a CSV as SRC, its folder holding label map and videos
    s2 = import_ava(os.path.join(src, 'my_train.csv'), str(tmp_path / 'r2'))
    assert s2.videos == 1


def test_other_containers_and_video_ids_with_a_folder(tmp_path, videos):
    src = _src(tmp_path, videos, 'gym/clipA,0,0.1,0.1,0.5,0.5,1,1\nother,0,0.1,0.1,0.5,0.5,1,1\n')
    os.makedirs(os.path.join(src, 'videos', 'gym'))
    shutil.copy(os.path.join(videos, 'clip25.mp4'), os.path.join(src, 'videos', 'gym', 'clipA.mp4'))
    shutil.copy(os.path.join(videos, 'clip30.mp4'), os.path.join(src, 'videos', 'other.mov'))
    out = str(tmp_path / 'root')
    s = import_ava(src, out)
    assert set(_tubes(out)) == {'gym/clipA', 'ava/other'}
    from stad.data.formats.common import probe_video
    assert probe_video(s.layout.video_path('ava/other')).nframes == 60  # re-encoded to mp4


# ---------------------------------------------------------------- refusals

BAD = [
    ('clip25,0.0,0.1,0.1\n', r'ann.csv:2: expected video_id,timestamp,x1,y1,x2,y2,action_id,'
                             r'person_id \(7 or 8 fields, person_id optional\), got 4 fields'),
    ('clip25,0.0,a,0.1,0.5,0.5,1,1\n', r"ann.csv:2: x1 must be a number, got 'a'"),
    ('clip25,0.0,0.1,0.1,0.5,0.5,1,p1\n', r"ann.csv:2: person_id must be an integer, got 'p1'"),
    ('clip25,0.0,0.1,0.1,0.5,0.5,2,1\n',
     r"ann.csv:2: action_id 2 is not in the label map .*label_map.pbtxt \(ids 1, 3\)"),
    ('nope,0.0,0.1,0.1,0.5,0.5,1,1\n', r"ann.csv:2: video 'nope' not found in .*videos "
                                       r"\(looked for nope\{.mp4,.mov"),
    ('clip25,2.0,0.1,0.1,0.5,0.5,1,1\n',
     r"ann.csv:2: video 'clip25' timestamp 2 s \(25 fps\): frame 51 is outside the video "
     r'\(frames 1..50 of'),
    ('clip30,-0.1,0.1,0.1,0.5,0.5,1,1\n', r"ann.csv:2: .*frame -2 is outside the video"),
    ('clip25,0.0,0.1,0.1,1.05,0.5,1,1\n',
     r"ann.csv:2: video 'clip25' timestamp 0 s \(25 fps\) frame 1: normalised box \(0.1, 0.1, "
     r'1.05, 0.5\) in pixels: box \(6.4, 4.8, 67.2, 24\) is outside the 64x48 image'),
    ('clip25,0.0,0.5,0.1,0.4,0.5,1,1\n', r'ann.csv:2: .*has no area'),
    ('clip25,0.0,0.1,0.1,0.5,0.5,1,1\nclip25,0.01,0.2,0.1,0.5,0.5,1,1\n',
     r"ann.csv:3: person 1 has a second box for action 1 \('stand'\) on frame 1 of video "
     r"'clip25' \(first on .*ann.csv:2\)"),
]


@pytest.mark.parametrize('body, message', BAD)
def test_bad_rows_are_refused_naming_file_and_line(tmp_path, videos, body, message):
    src = _src(tmp_path, videos, 'video_id,timestamp,x1,y1,x2,y2,action_id,person_id\n' + body)
    out = tmp_path / 'root'
    with pytest.raises(StadError, match=message):
        import_ava(src, str(out))
    assert not out.exists() and not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_hold_keyframe_outside_the_video_is_refused(tmp_path, videos):
    src = _src(tmp_path, videos, 'clip30,2,0.1,0.1,0.5,0.5,1,1\n')  # frame 61 of 60
    with pytest.raises(StadError, match=r'ann.csv:1: .*frame 61 is outside the video'):
        import_ava(src, str(tmp_path / 'root'), keyframes='hold')


def test_source_problems(tmp_path, videos):
    src = _src(tmp_path, videos, 'clip25,0,0.1,0.1,0.5,0.5,1,1\n')
    (tmp_path / 'src' / 'b.csv').write_text('clip30,0,0.1,0.1,0.5,0.5,1,1\n')
    with pytest.raises(StadError, match=r'several CSV files \(ann.csv, b.csv\): pass --csv'):
        import_ava(src, str(tmp_path / 'root'))
    # the same video in the train and the val CSV
    with pytest.raises(StadError, match=r"b2.csv:1: video 'clip25' is also in .*ann.csv "
                                        r'\(line 1\): a video belongs to one split'):
        (tmp_path / 'b2.csv').write_text('clip25,1,0.1,0.1,0.5,0.5,1,1\n')
        import_ava(src, str(tmp_path / 'root'), csv=os.path.join(src, 'ann.csv'),
                   val_csv=str(tmp_path / 'b2.csv'))
    os.remove(os.path.join(src, 'label_map.pbtxt'))
    (tmp_path / 'labels.txt').write_text('1: stand\n3: wave\n')
    with pytest.raises(StadError, match=r'no label map .*: pass --label-map'):
        import_ava(src, str(tmp_path / 'root'), csv=os.path.join(src, 'ann.csv'))
    with pytest.raises(StadError, match=r'nowhere: no such file or folder'):
        import_ava(str(tmp_path / 'nowhere'), str(tmp_path / 'root'))
    with pytest.raises(StadError, match=r'keyframes must be one of exact, hold'):
        import_ava(src, str(tmp_path / 'root'), keyframes='second')
    (tmp_path / 'dup.txt').write_text('1: stand\n2: stand\n')
    with pytest.raises(StadError, match=r"dup.txt: name 'stand' given to ids 1 and 2"):
        import_ava(src, str(tmp_path / 'root'), csv=os.path.join(src, 'ann.csv'),
                   label_map=str(tmp_path / 'dup.txt'))
    (tmp_path / 'two.csv').write_text('clip25,0,0.1,0.1,0.5,0.5,1,1\nclip25.mp4,0,0.1,0.1,0.5,0.5,1,1\n')
    with pytest.raises(StadError, match=r"two.csv:2: video 'clip25.mp4' and video 'clip25' both "
                                        r"become the stad video 'ava/clip25'"):
        import_ava(str(tmp_path / 'two.csv'), str(tmp_path / 'root'),
                   label_map=str(tmp_path / 'labels.txt'), videos_dir=os.path.join(src, 'videos'))


def test_an_existing_root_needs_overwrite(tmp_path, videos):
    src = _src(tmp_path, videos, 'clip25,0,0.1,0.1,0.5,0.5,1,1\n')
    out = tmp_path / 'root'
    out.mkdir()
    (out / 'keep.txt').write_text('x')
    with pytest.raises(StadError, match=r'exists and is not empty \(pass --overwrite'):
        import_ava(src, str(out))
    assert (out / 'keep.txt').exists()
    import_ava(src, str(out), overwrite=True)
    assert not (out / 'keep.txt').exists() and _tubes(str(out))['ava/clip25']


# -------------------------------------------------------------- round trip + CLI

@pytest.mark.parametrize('fps', [25.0, 30.0])
def test_write_ava_then_import_gives_the_native_ground_truth(tmp_path, fps):
    from stad.data.synth import synth
    native = synth(str(tmp_path / 'native'), seed=1, videos=3, frames=30, size=(96, 72),
                   fps=fps, progress=False)
    ava = write_ava(native.root, str(tmp_path / 'ava'))
    assert sorted(os.listdir(ava)) == ['label_map.pbtxt', 'train.csv', 'val.csv', 'videos']
    assert read_pbtxt_label_map(os.path.join(ava, 'label_map.pbtxt')) == \
        {1: 'jumping jack', 2: 'squat', 3: 'wave', 4: 'walk'}
    s = import_ava(ava, str(tmp_path / 'back'))
    a, b = load_gt(native.gt_file), load_gt(s.layout.gt_file)
    for key in ('labels', 'train_videos', 'test_videos', 'nframes', 'resolution'):
        assert a[key] == b[key], key
    assert {v: sorted(by) for v, by in a['gttubes'].items()} == \
        {v: sorted(by) for v, by in b['gttubes'].items()}
    n = 0
    for v, by in a['gttubes'].items():
        for label, tubes in by.items():
            want = sorted(tubes, key=lambda t: (t[0, 0], t[0, 1]))
            got = sorted(b['gttubes'][v][label], key=lambda t: (t[0, 0], t[0, 1]))
            assert len(want) == len(got), (v, label)
            for w, g in zip(want, got):
                np.testing.assert_array_equal(w[:, 0], g[:, 0])  # frame exact
                np.testing.assert_allclose(g[:, 1:], w[:, 1:], atol=0.5)
                n += 1
    assert n == s.tubes and s.videos == 3
    # person_id is the MOT identity: one id per person over all their tubes
    from stad.io.mot import load_mot
    people: dict[str, set[int]] = {}
    for name in ('train.csv', 'val.csv'):
        for line in open(os.path.join(ava, name)):
            fields = line.split(',')
            people.setdefault(fields[0], set()).add(int(fields[7]))
    for v, ids in people.items():
        assert ids == set(load_mot(native.mot_gt(v))[:, 1].astype(int).tolist()), v
    assert sum(len(ids) for ids in people.values()) < n  # people have several tubes


def test_cli_register_runs_the_import(tmp_path, videos, capsys):
    from stad.cli.import_ava import register
    parser = argparse.ArgumentParser(prog='stad import')
    register(parser.add_subparsers(dest='format'))
    src = _src(tmp_path, videos, 'clip25,1,0.1,0.1,0.5,0.5,1,1\nclip30,1,0.1,0.1,0.5,0.5,3,2\n')
    out = str(tmp_path / 'root')
    args = parser.parse_args(['ava', src, '--out', out, '--keyframes', 'hold',
                              '--val-fraction', '0.5'])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert 'keyframes held (AVA)' in text
    assert f'wrote 2 videos, 2 tubes, 2 labels (stand, wave) to {out}' in text
    assert [len(t[0]) for t in _tubes(out)['ava/clip30'].values()] == [30]
    args = parser.parse_args(['ava', src, '--out', out])  # exists: refused
    with pytest.raises(StadError, match='--overwrite'):
        args.func(args)
    with pytest.raises(SystemExit):
        parser.parse_args(['ava', src, '--out', out, '--keyframes', 'second'])
