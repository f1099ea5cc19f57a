"""Create ML data sources read into labelled ranges: hand-written annotation files (CSV,
JSON; seconds, MM:SS(.ff), HH:MM:SS(.ff)) and labelled folder trees, train/val source
folders, and every validation error with its message."""
import json
import os

import pytest

from stad.errors import StadError
from stad.io.createml import (
    annotation_csv,
    annotation_json,
    find_splits,
    parse_time,
    read_annotation_file,
    read_createml_source,
    read_labelled_folders,
)


def _touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(b'not decoded here')
    return str(path)


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture
def videos(tmp_path):
    for name in ('montage.mov', 'squats.mp4', 'sub/wave.avi'):
        _touch(tmp_path / name)
    return tmp_path


def _ranges(rs):
    return [(os.path.basename(r.video_path), r.label, r.start_s, r.end_s) for r in rs]


# ------------------------------------------------------------------------ times

@pytest.mark.parametrize('text, seconds', [
    ('12', 12.0), ('12.5', 12.5), (7, 7.0), (2.25, 2.25),
    ('00:05', 5.0), ('1:05', 65.0), ('01:02.5', 62.5), ('10:00.25', 600.25),
    ('00:01:05', 65.0), ('1:00:00', 3600.0), ('01:02:03.75', 3723.75)])
def test_time_formats(text, seconds):
    assert parse_time(text, 'f.csv:2', 'start') == pytest.approx(seconds)


@pytest.mark.parametrize('text, message', [
    ('1m30s', "f.csv:2: start '1m30s' is not a time"),
    ('1:2:3:4', "is not a time"),
    ('00:75', "minutes and seconds must be below 60"),
    ('01:60:00', "minutes and seconds must be below 60"),
    ('-3', 'must be a finite time >= 0'),
    (True, 'is not a time')])
def test_bad_times(text, message):
    with pytest.raises(StadError, match=message.replace('(', r'\(')):
        parse_time(text, 'f.csv:2', 'start')


# ----------------------------------------------------------------- annotation files

CSV = """video,label,start,end
montage.mov,jumping jack,0,2.5
montage.mov,squat,00:02.5,00:04
squats.mp4,squat,00:00:01,00:00:03.5
sub/wave.avi,wave,1.0,1:00:00
"""

JSON = """[
  {"video": "montage.mov", "label": "jumping jack", "start": 0, "end": 2.5},
  {"video": "montage.mov", "label": "squat", "start": "00:02.5", "end": "00:04"},
  {"video": "squats.mp4", "label": "squat", "start": "00:00:01", "end": "00:00:03.5"},
  {"video": "sub/wave.avi", "label": "wave", "start": 1.0, "end": "1:00:00"}
]
"""

EXPECTED = [('montage.mov', 'jumping jack', 0.0, 2.5), ('montage.mov', 'squat', 2.5, 4.0),
            ('squats.mp4', 'squat', 1.0, 3.5), ('wave.avi', 'wave', 1.0, 3600.0)]


@pytest.mark.parametrize('name, text', [('ann.csv', CSV), ('ann.json', JSON)])
def test_annotation_file_to_known_ranges(videos, name, text):
    rs = read_annotation_file(_write(videos / name, text))
    assert _ranges(rs) == EXPECTED
    assert rs[3].video_path == str(videos / 'sub' / 'wave.avi')
    where = [r.where for r in rs]
    if name.endswith('.csv'):
        assert where == [f'{videos / name}:{k}' for k in (2, 3, 4, 5)]  # header = line 1
    else:
        assert where == [f'{videos / name}: entry {k}' for k in (1, 2, 3, 4)]


def test_without_times_each_entry_is_the_whole_video(videos):
    rs = read_annotation_file(_write(videos / 'a.csv', 'label,video,notes\nsquat,squats.mp4,x\n'))
    assert _ranges(rs) == [('squats.mp4', 'squat', 0.0, None)]
    rs = read_annotation_file(_write(videos / 'a.json', '[{"video": "squats.mp4", '
                                     '"label": "squat", "start": 1}]'))
    assert _ranges(rs) == [('squats.mp4', 'squat', 1.0, None)]


def test_video_dir_and_header_case(videos, tmp_path):
    other = tmp_path / 'elsewhere'
    other.mkdir()
    ann = _write(other / 'a.csv', 'Video, Label ,Start,End\nsquats.mp4,squat,0,1\n')
    assert _ranges(read_annotation_file(ann, video_dir=str(videos))) == \
        [('squats.mp4', 'squat', 0.0, 1.0)]


@pytest.mark.parametrize('name, text, message', [
    ('a.csv', 'video,start,end\nsquats.mp4,0,1\n', "a.csv:1: header has no column 'label'"),
    ('a.csv', 'label,start\nsquat,0\n', "a.csv:1: header has no column 'video'"),
    ('a.csv', 'video,label,start,end\nsquats.mp4,,0,1\n', "a.csv:2: missing 'label'"),
    ('a.csv', 'video,label,start,end\nsquats.mp4,squat,0,1\nsquats.mp4,squat\n',
     "a.csv:3: missing 'start' (another entry of the file has one"),
    ('a.csv', 'video,label,start,end\nsquats.mp4,squat,0,1\n\nsquats.mp4,squat,1,0:00:0x\n',
     "a.csv:4: end '0:00:0x' is not a time"),
    ('a.csv', 'video,label,start,end\nsquats.mp4,squat,3,00:02\n',
     'a.csv:2: end 2 s is before start 3 s'),
    ('a.csv', 'video,label\nsquats.mp4,squat\ngone.mp4,squat\n',
     "a.csv:3: video 'gone.mp4' not found"),
    ('a.csv', 'video,label\n', 'a.csv: no entries'),
    ('a.json', '[{"video": "squats.mp4"}]', "a.json: entry 1: missing 'label'"),
    ('a.json', '[{"label": "squat"}]', "a.json: entry 1: missing 'video'"),
    ('a.json', '[{"video": "squats.mp4", "label": "s", "end": 2}, '
               '{"video": "squats.mp4", "label": "s"}]',
     "a.json: entry 2: missing 'end' (another entry of the file has one"),
    ('a.json', '[{"video": "squats.mp4", "label": "s", "start": "2 s"}]',
     "a.json: entry 1: start '2 s' is not a time"),
    ('a.json', '[{"video": "squats.mp4", "label": "s", "start": 5, "end": "00:01"}]',
     'a.json: entry 1: end 1 s is before start 5 s'),
    ('a.json', '[{"video": "nope.mov", "label": "s"}]', "a.json: entry 1: video 'nope.mov' not found"),
    ('a.json', '{"video": "squats.mp4"}', 'a.json: expected a JSON array of entries'),
    ('a.json', '["squats.mp4"]', 'a.json: entry 1: expected an object'),
    ('a.json', '[{"video": ', 'a.json:1: not valid JSON'),
    ('a.txt', 'video,label\n', 'a.txt: an annotation file must be .csv or .json'),
])
def test_annotation_errors_name_file_and_line(videos, name, text, message):
    path = _write(videos / name, text)
    with pytest.raises(StadError) as e:
        read_annotation_file(path)
    assert message in str(e.value)
    assert str(e.value).startswith(str(videos))  # the full path of the file
    assert '\n' not in str(e.value)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(StadError, match='annotation file not found'):
        read_annotation_file(str(tmp_path / 'none.csv'))


# ----------------------------------------------------------------- labelled folders

def test_labelled_folders_to_known_ranges(tmp_path):
    root = tmp_path / 'src'
    for rel in ('squat/a.mp4', 'squat/b.MOV', 'jumping jack/c.m4v', 'jumping jack/d.mkv',
                'wave/e.avi', 'wave/.hidden.mp4', 'wave/notes.txt', '.cache/f.mp4',
                'loose.mp4', 'wave/deeper/g.mp4'):
        _touch(root / rel)
    rs = read_labelled_folders(str(root))
    assert _ranges(rs) == [('c.m4v', 'jumping jack', 0.0, None), ('d.mkv', 'jumping jack', 0.0, None),
                           ('a.mp4', 'squat', 0.0, None), ('b.MOV', 'squat', 0.0, None),
                           ('e.avi', 'wave', 0.0, None)]
    assert rs[0].where == str(root / 'jumping jack' / 'c.m4v')


def test_labelled_folders_errors(tmp_path):
    with pytest.raises(StadError, match='not a folder'):
        read_labelled_folders(str(tmp_path / 'nothing'))
    _touch(tmp_path / 'empty' / 'squat' / 'readme.txt')
    with pytest.raises(StadError, match=r'no videos in labelled folders <root>/<label>/<video>'):
        read_labelled_folders(str(tmp_path / 'empty'))


# ---------------------------------------------------------------------- sources

def test_source_kinds_and_splits(tmp_path, videos):
    # a file, a folder with one annotation file (csv + json of one name: the csv)
    _write(videos / 'ann.csv', CSV)
    _write(videos / 'ann.json', JSON.replace('jumping jack', 'other'))
    _write(videos / 'truth.json', '{}')
    assert _ranges(read_createml_source(str(videos / 'ann.json'))['all'])[0][1] == 'other'
    assert _ranges(read_createml_source(str(videos))['all']) == EXPECTED
    _write(videos / 'more.csv', CSV)
    with pytest.raises(StadError, match='holds several annotation files'):
        read_createml_source(str(videos))
    # a folder of train/ and test/ sources
    src = tmp_path / 'two'
    _touch(src / 'train' / 'squat' / 'a.mp4')
    _touch(src / 'test' / 'squat' / 'b.mp4')
    assert find_splits(str(src)) == {'train': str(src / 'train'), 'val': str(src / 'test')}
    got = read_createml_source(str(src))
    assert {k: _ranges(v) for k, v in got.items()} == {
        'train': [('a.mp4', 'squat', 0.0, None)], 'val': [('b.mp4', 'squat', 0.0, None)]}
    # a label folder named like anything else: one source
    _touch(src / 'wave' / 'c.mp4')
    assert find_splits(str(src)) == {}
    with pytest.raises(StadError, match='no such file or folder'):
        read_createml_source(str(tmp_path / 'missing'))


def test_written_annotations_read_back(videos):
    rows = [dict(video='squats.mp4', label='squat', start=0.04, end=3.2),
            dict(video='montage.mov', label='wave', start=0, end=1 / 3)]
    for name, text in (('w.csv', annotation_csv(rows)), ('w.json', annotation_json(rows))):
        rs = read_annotation_file(_write(videos / name, text))
        assert _ranges(rs) == [('squats.mp4', 'squat', 0.04, 3.2),
                               ('montage.mov', 'wave', 0.0, pytest.approx(1 / 3, abs=1e-6))]
    assert annotation_csv(rows).splitlines()[0] == 'video,label,start,end'
    assert json.loads(annotation_json(rows))[0] == dict(video='squats.mp4', label='squat',
                                                        start=0.04, end=3.2)
