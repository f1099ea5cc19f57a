"""Ground truth loading (restricted unpickler) and schema validation."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from gt_helpers import hand_gt

from stad.data.gt import check_gt, check_videos, load_gt, read_gt_pickle, split_videos
from stad.errors import StadError


def _dump(obj, path):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)
    return str(path)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_valid_gt_round_trips(tmp_path):
    gt = hand_gt()
    loaded = load_gt(_dump(gt, tmp_path / 'gt.pkl'))
    assert loaded['labels'] == gt['labels']
    np.testing.assert_array_equal(loaded['gttubes']['s/a'][0][0], gt['gttubes']['s/a'][0][0])
    assert check_gt(loaded).issues == []


def test_numpy1_style_protocol2_pickle_loads(tmp_path):
    path = tmp_path / 'gt.pkl'
    with open(path, 'wb') as f:
        pickle.dump(hand_gt(), f, protocol=2)  # numpy buffers go through _codecs.encode
    assert load_gt(str(path))['nframes']['s/a'] == 10


def test_unpickler_refuses_code_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    gt = hand_gt()
    gt['labels'] = [_Evil(marker)]
    path = _dump(gt, tmp_path / 'evil.pkl')
    with pytest.raises(StadError) as e:
        load_gt(path)
    assert 'evil.pkl' in str(e.value) and 'refused' in str(e.value)
    assert ('posix.system' in str(e.value)) or ('os.system' in str(e.value))
    assert not marker.exists()


def test_unpickler_refuses_other_objects(tmp_path):
    import collections
    path = _dump({'x': collections.Counter('ab')}, tmp_path / 'c.pkl')
    with pytest.raises(StadError, match=r'c\.pkl: refused to load global collections\.Counter'):
        read_gt_pickle(path)


def test_not_a_pickle_and_missing_file(tmp_path):
    (tmp_path / 'bad.pkl').write_text('hello')
    with pytest.raises(StadError, match='bad.pkl: not a readable pickle'):
        read_gt_pickle(str(tmp_path / 'bad.pkl'))
    with pytest.raises(StadError, match='ground truth file not found'):
        load_gt(str(tmp_path / 'none.pkl'))


def _only(gt, severity='error'):
    rep = check_gt(gt, 'gt.pkl')
    issues = rep.errors if severity == 'error' else rep.warnings
    assert len(issues) == 1, [str(i) for i in rep.issues]
    return issues[0]


def _tube(gt, video='s/a'):
    return gt['gttubes'][video][0 if video == 's/a' else 1][0]


def test_missing_key():
    gt = hand_gt()
    del gt['resolution']
    rep = check_gt(gt, 'gt.pkl')
    assert rep.errors[0].message == "gt.pkl: missing key 'resolution'"


def test_n_frames_says_did_you_mean():
    gt = hand_gt()
    gt['n_frames'] = gt.pop('nframes')
    msg = check_gt(gt, 'gt.pkl').errors[0].message
    assert msg == "gt.pkl: missing key 'nframes' (found 'n_frames': did you mean nframes?)"


def test_missing_train_videos_is_a_warning_and_derived():
    gt = hand_gt()
    del gt['train_videos']
    issue = _only(gt, 'warning')
    assert "no 'train_videos'" in issue.message
    assert check_gt(gt).ok
    assert split_videos(gt) == {'train': ['s/a'], 'val': ['s/b']}


def test_x2_less_than_x1():
    gt = hand_gt()
    _tube(gt)[1, 3] = 5  # x2 = 5 < x1 = 12 at frame 2
    e = _only(gt)
    assert e.message == ("gt.pkl: video 's/a', label 0 ('run'), tube 0, field 'x2': "
                         'x2 < x1 at frame 2 (5.0 < 12.0)')
    assert (e.video, e.label, e.tube, e.field) == ('s/a', 0, 0, 'x2')


def test_y2_less_than_y1():
    gt = hand_gt()
    _tube(gt)[0, 4] = 1
    assert "field 'y2': y2 < y1 at frame 1" in _only(gt).message


def test_box_slightly_outside_is_a_warning():
    gt = hand_gt()
    _tube(gt)[2, 3] = 201.5  # 1.5 px past the 200 px wide image
    w = _only(gt, 'warning')
    assert "field 'x2': box outside the 200x100 image by 1.5 px at frame 3" in w.message
    assert check_gt(gt).ok


def test_box_far_outside_is_an_error():
    gt = hand_gt()
    _tube(gt)[2, 2] = -30
    assert "field 'y1': box outside the 200x100 image by 30.0 px at frame 3" in _only(gt).message


def test_frame_outside_nframes():
    gt = hand_gt()
    _tube(gt)[:, 0] = [9, 10, 11]
    assert "tube 0, field 'frame': frame 11 outside 1..10" in _only(gt).message
    gt = hand_gt()
    _tube(gt)[:, 0] = [0, 1, 2]
    assert "frame 0 outside 1..10" in _only(gt).message


def test_unsorted_frames():
    gt = hand_gt()
    _tube(gt)[:, 0] = [1, 3, 2]
    assert _only(gt).message == ("gt.pkl: video 's/a', label 0 ('run'), tube 0, field 'frame': "
                                 'frames not in increasing order (frame 2 after frame 3)')


def test_gapped_frames():
    gt = hand_gt()
    _tube(gt)[:, 0] = [1, 2, 5]
    e = _only(gt)
    assert e.message == ("gt.pkl: video 's/a', label 0 ('run'), tube 0, field 'frame': "
                         'frames not consecutive (no frame between 2 and 5; a tube covers '
                         'consecutive frames: split it in two)')
    assert (e.video, e.label, e.tube, e.field) == ('s/a', 0, 0, 'frame')


def test_zero_width_and_zero_height_boxes():
    gt = hand_gt()
    _tube(gt)[1, 3] = 12  # x2 == x1 at frame 2
    assert _only(gt).message == ("gt.pkl: video 's/a', label 0 ('run'), tube 0, field 'x2': "
                                 'zero-width box at frame 2 (x2 == x1 == 12.0)')
    gt = hand_gt()
    _tube(gt, 's/b')[2, 4] = 10  # y2 == y1 at frame 3
    assert _only(gt).message == ("gt.pkl: video 's/b', label 1 ('jump'), tube 0, field 'y2': "
                                 'zero-height box at frame 3 (y2 == y1 == 10.0)')


def _rename(gt, old, new):
    for key in ('nframes', 'resolution', 'gttubes'):
        gt[key][new] = gt[key].pop(old)
    for key in ('train_videos', 'test_videos'):
        gt[key] = [[new if v == old else v for v in gt[key][0]]]
    return gt


@pytest.mark.parametrize('video, problem', [
    ('s/a,b', "holds a comma, which breaks the 'video,frame' img key and CSV rows"),
    ('/data/s/a', "absolute path; video ids are relative '<sport>/<video>' paths"),
    ('../../s/a', "has a '..' component; video ids are relative '<sport>/<video>' paths"),
    ('s/../../a', "has a '..' component; video ids are relative '<sport>/<video>' paths"),
])
def test_unsafe_video_ids_are_one_error_each(video, problem):
    e = _only(_rename(hand_gt(), 's/a', video))
    assert e.message == f"gt.pkl: video {video!r}, field 'gttubes': {problem}"
    assert (e.video, e.field) == (video, 'gttubes')


def test_unsafe_video_id_of_a_split_only(tmp_path, capsys):
    from stad.cli import main
    gt = hand_gt()
    gt['test_videos'] = [['s/b', 's/c,d']]
    path = _dump(gt, tmp_path / 'gt.pkl')
    assert main(['check', path]) == 1
    out = capsys.readouterr().out
    assert ("error: gt.pkl: video 's/c,d', field 'test_videos': holds a comma, which breaks "
            "the 'video,frame' img key and CSV rows") in out.splitlines()


class _Py2Tuple:
    """Pickles as ``__builtin__.tuple(...)`` under protocol 2, as old files spell it."""

    def __init__(self, *items):
        self.items = items

    def __reduce__(self):
        return tuple, (list(self.items),)


def test_protocol2_pickle_with_builtin_names_passes_stad_check(tmp_path, capsys):
    from stad.cli import main
    gt = hand_gt()
    gt['resolution'] = {v: _Py2Tuple(100, 200) for v in gt['resolution']}
    gt['sports'] = {'s'}  # a set: __builtin__.set under protocol 2
    path = tmp_path / 'gt.pkl'
    with open(path, 'wb') as f:
        pickle.dump(gt, f, protocol=2)
    data = path.read_bytes()
    assert b'c__builtin__\ntuple\n' in data and b'c__builtin__\nset\n' in data
    assert main(['check', str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ['gt.pkl: 0 errors, 0 warnings']
    assert load_gt(str(path))['resolution']['s/a'] == (100, 200)


def test_label_outside_labels():
    gt = hand_gt()
    gt['gttubes']['s/a'][5] = gt['gttubes']['s/a'].pop(0)
    assert _only(gt).message == ("gt.pkl: video 's/a', label 5: label outside the 2 "
                                 "entries of 'labels'")


def test_empty_tube():
    gt = hand_gt()
    gt['gttubes']['s/b'][1].append(np.zeros((0, 5)))
    assert _only(gt).message == ("gt.pkl: video 's/b', label 1 ('jump'), tube 1, "
                                 "field 'gttubes': empty tube (no frame)")


def test_duplicated_frames():
    gt = hand_gt()
    _tube(gt)[1, 0] = 1
    assert "tube 0, field 'frame': duplicated frames [1]" in _only(gt).message


def test_wrong_tube_shape():
    gt = hand_gt()
    gt['gttubes']['s/a'][0][0] = np.zeros((3, 4))
    assert 'expected an array (T, 5)' in _only(gt).message


def test_split_video_absent_from_gttubes():
    gt = hand_gt()
    gt['test_videos'] = [['s/b', 's/c']]
    e = _only(gt)
    assert e.message == ("gt.pkl: video 's/c': listed in 'test_videos' but absent from "
                         "'gttubes', 'nframes' or 'resolution'")
    gt['nframes']['s/c'] = 5
    gt['resolution']['s/c'] = (100, 200)
    assert "absent from 'gttubes' (no annotated action)" in _only(gt, 'warning').message


def test_video_without_resolution():
    gt = hand_gt()
    del gt['resolution']['s/a']
    assert _only(gt).message == "gt.pkl: video 's/a': in 'gttubes' but missing from 'resolution'"


def test_load_gt_raises_first_error_one_line(tmp_path):
    gt = hand_gt()
    _tube(gt)[1, 3] = 5
    _tube(gt, 's/b')[:, 0] = [98, 99, 100]
    with pytest.raises(StadError) as e:
        load_gt(_dump(gt, tmp_path / 'gt.pkl'))
    msg = str(e.value)
    assert '\n' not in msg and msg.startswith('gt.pkl: ') and 'and 1 more errors' in msg


def test_check_cli_exit_codes_and_videos(tmp_path, tiny_dataset):
    cmd = [sys.executable, '-m', 'stad.cli', 'check']
    r = subprocess.run(cmd + [tiny_dataset.gt_file, '--videos', tiny_dataset.video_dir],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '0 errors' in r.stdout
    gt = hand_gt()
    _tube(gt)[1, 3] = 5
    r = subprocess.run(cmd + [_dump(gt, tmp_path / 'gt.pkl')], capture_output=True, text=True)
    assert r.returncode == 1 and 'x2 < x1' in r.stdout and '1 errors' in r.stdout


def test_check_videos_reports_mismatches(tiny_dataset, tmp_path):
    gt = load_gt(tiny_dataset.gt_file)
    assert check_videos(gt, tiny_dataset.video_dir) == []
    videos = sorted(gt['nframes'])
    bad = dict(gt, nframes=dict(gt['nframes']), resolution=dict(gt['resolution']))
    bad['nframes'][videos[0]] = 41
    bad['resolution'][videos[1]] = (100, 160)
    bad['nframes']['s/missing'] = 3
    bad['resolution']['s/missing'] = (120, 160)
    msgs = [i.message for i in check_videos(bad, tiny_dataset.video_dir, 'gt.pkl')]
    assert any(f"{videos[0]!r}: 40 frames but 'nframes' says 41" in m for m in msgs)
    assert any(f"{videos[1]!r}: size 160x120 (w x h) but 'resolution' says 160x100" in m
               for m in msgs)
    assert any("'s/missing': missing file" in m for m in msgs)


def test_truncated_video_is_caught_by_counting_frames(tiny_dataset, tmp_path, capsys,
                                                     truncate_video):
    import shutil

    import cv2

    from stad.cli import main
    videos = str(tmp_path / 'trainval')
    shutil.copytree(tiny_dataset.video_dir, videos)
    gt = load_gt(tiny_dataset.gt_file)
    video = sorted(gt['nframes'])[0]
    path = os.path.join(videos, video + '.mp4')
    truncate_video(path)
    cap = cv2.VideoCapture(path)
    header, decoded = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0
    while cap.read()[0]:
        decoded += 1
    cap.release()
    assert header == gt['nframes'][video] == 40  # the header still says the full count
    assert 0 < decoded < 40
    src = 'multisports_GT.pkl'
    assert check_videos(gt, videos, src) == []  # what `stad check --videos` used to see
    issues = check_videos(gt, videos, src, count_frames=True)
    assert len(issues) == 1 and issues[0].video == video
    msg = issues[0].message
    assert msg == (f"{src}: video {video!r}: {decoded} frames decode but 'nframes' says 40 "
                   f'({path}; its header says 40: truncated or damaged file?)')
    # the CLI counts by default
    gt_file = os.path.join(videos, src)
    assert main(['check', gt_file, '--videos', videos]) == 1
    assert capsys.readouterr().out.splitlines() == [f'error: {msg}', f'{src}: 1 errors, 0 warnings']
    assert main(['check', gt_file, '--videos', videos, '--header-only']) == 0
