"""``stad import cvat``: CVAT for video 1.1 XML + videos -> a dataset root.

The sample XML is hand-written after CVAT's documentation and exporter (every frame of
a track listed, interpolated ones with ``keyframe="0"``, ``outside="1"`` where the person
leaves), not by our writer; the round trip goes the other way round: the synthetic
dataset -> :func:`write_cvat` -> :func:`import_cvat` -> the same ground truth.
"""
import argparse
import os

import numpy as np
import pytest

from stad.data.formats.cvat import import_cvat, people_from_gt, write_cvat
from stad.data.gt import load_gt
from stad.data.synth import write_video
from stad.errors import StadError
from stad.io.atomic import atomic_dump_pickle
from stad.io.layout import DataLayout
from stad.io.mot import mot_rows, save_mot

W, H, N = 64, 48, 12

META = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>12</id>
      <name>{name}</name>
      <size>{n}</size>
      <mode>interpolation</mode>
      <overlap>0</overlap>
      <bugtracker></bugtracker>
      <created>2024-05-02 10:00:00.000000+00:00</created>
      <updated>2024-05-02 11:00:00.000000+00:00</updated>
      <subset>{subset}</subset>
      <start_frame>0</start_frame>
      <stop_frame>{stop}</stop_frame>
      <frame_filter></frame_filter>
      <labels>
        <label>
          <name>person</name>
          <color>#ff0000</color>
          <type>rectangle</type>
          <attributes>
            <attribute>
              <name>action</name>
              <mutable>True</mutable>
              <input_type>select</input_type>
              <default_value>none</default_value>
              <values>none
wave
squat</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>jump</name>
          <color>#00ff00</color>
          <attributes>
          </attributes>
        </label>
      </labels>
      <segments>
        <segment>
          <id>30</id>
          <start>0</start>
          <stop>{stop}</stop>
          <url>http://localhost:8080/api/jobs/30</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <assignee></assignee>
      <original_size>
        <width>{w}</width>
        <height>{h}</height>
      </original_size>
    </task>
    <dumped>2024-05-02 11:05:00.000000+00:00</dumped>
    <source>{source}</source>
  </meta>
"""


def box(frame, x1, y1, x2, y2, *, action=None, outside=0, keyframe=1, occluded=0):
    attr = f'\n      <attribute name="action">{action}</attribute>\n    ' if action is not None else ''
    return (f'    <box frame="{frame}" outside="{outside}" occluded="{occluded}" '
            f'keyframe="{keyframe}" xtl="{x1:.2f}" ytl="{y1:.2f}" xbr="{x2:.2f}" ybr="{y2:.2f}" '
            f'z_order="0">{attr}</box>\n')


def track(tid, label, boxes):
    return f'  <track id="{tid}" label="{label}" source="manual">\n{"".join(boxes)}  </track>\n'


def xml(tracks, *, name='clip', source='clip.mp4', subset='default', n=N, w=W, h=H):
    return META.format(name=name, n=n, stop=n - 1, subset=subset, w=w, h=h,
                       source=source) + ''.join(tracks) + '</annotations>\n'


# person 0 waves on CVAT frames 0-2, squats on 3-5, leaves on 6 (outside), squats again
# on 8-9 (9 interpolated), leaves on 10; a 'jump' track (the label is the action) on 2-4.
PERSON = [box(0, 10, 5, 30, 40, action='wave'),
          box(1, 11, 5, 31, 40, action='wave', keyframe=0),
          box(2, 12, 5, 32, 40, action='wave', keyframe=0),
          box(3, 13, 6, 33, 41, action='squat'),
          box(4, 14, 6, 34, 41, action='squat', keyframe=0, occluded=1),
          box(5, 15, 6, 35, 41, action='squat', keyframe=0),
          box(6, 15, 6, 35, 41, action='squat', outside=1),
          box(8, -0.5, 2, 20, 48.5, action='squat'),  # within the 1 px tolerance: clipped
          box(9, 0, 2, 21, 48, action='squat', keyframe=0),
          box(10, 0, 2, 21, 48, action='squat', outside=1)]
JUMP = [box(2, 40, 10, 60, 46), box(3, 41, 10, 61, 46, keyframe=0),
        box(4, 42, 10, 62, 46, keyframe=0), box(5, 42, 10, 62, 46, outside=1)]


def make_video(path, n=N, w=W, h=H):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_video(path, [np.full((h, w, 3), 8 * i, np.uint8) for i in range(n)], fps=25.0)


@pytest.fixture
def clip(tmp_path):
    """A folder with clip.mp4 and its task export clip.xml."""
    src = tmp_path / 'src'
    make_video(str(src / 'clip.mp4'))
    (src / 'clip.xml').write_text(xml([track(0, 'person', PERSON), track(1, 'jump', JUMP)]))
    return src


def tubes_of(root, video):
    gt = load_gt(DataLayout(str(root)).gt_file)
    return gt, {gt['labels'][k]: [t.tolist() for t in ts]
                for k, ts in gt['gttubes'][video].items()}


def test_hand_written_task_export_imports_to_known_tubes(clip, tmp_path):
    s = import_cvat(str(clip / 'clip.xml'), str(tmp_path / 'root'))
    assert s.labels == ['wave', 'squat', 'jump']  # the attribute's values, then the label
    assert (s.videos, s.tubes) == (1, 4)
    assert s.lines == ['cvat/clip: 2 tracks, 4 tubes, 11 boxes (clip.xml)']
    gt, tubes = tubes_of(tmp_path / 'root', 'cvat/clip')
    assert gt['nframes'] == {'cvat/clip': N} and gt['resolution'] == {'cvat/clip': (H, W)}
    # stad frames are CVAT's + 1; outside boxes end tubes; the action changes cut them
    assert tubes == {
        'wave': [[[1, 10, 5, 30, 40], [2, 11, 5, 31, 40], [3, 12, 5, 32, 40]]],
        'squat': [[[4, 13, 6, 33, 41], [5, 14, 6, 34, 41], [6, 15, 6, 35, 41]],
                  [[9, 0, 2, 20, 48], [10, 0, 2, 21, 48]]],
        'jump': [[[3, 40, 10, 60, 46], [4, 41, 10, 61, 46], [5, 42, 10, 62, 46]]]}
    assert os.path.isfile(DataLayout(str(tmp_path / 'root')).video_path('cvat/clip'))


def test_sparse_track_is_interpolated_between_keyframes(tmp_path):
    src = tmp_path / 'src'
    make_video(str(src / 'clip.mp4'))
    (src / 'clip.xml').write_text(xml([track(0, 'person', [
        box(2, 10, 10, 20, 20, action='wave'), box(6, 14, 18, 24, 28, action='squat'),
        box(7, 14, 18, 24, 28, outside=1)])]))
    s = import_cvat(str(src), str(tmp_path / 'root'))
    assert s.lines == ['cvat/clip: 1 tracks, 2 tubes, 2 boxes, 3 frames interpolated (clip.xml)']
    _, tubes = tubes_of(tmp_path / 'root', 'cvat/clip')
    # CVAT's rule: between two keyframes boxes move linearly, attributes are the first's
    assert tubes == {'wave': [[[3, 10, 10, 20, 20], [4, 11, 12, 21, 22], [5, 12, 14, 22, 24],
                               [6, 13, 16, 23, 26]]],
                     'squat': [[[7, 14, 18, 24, 28]]]}


def test_person_label_reads_only_person_tracks(clip, tmp_path):
    s = import_cvat(str(clip / 'clip.xml'), str(tmp_path / 'root'), person_label='person')
    assert s.labels == ['wave', 'squat']
    assert s.lines == ['cvat/clip: 1 tracks, 3 tubes, 8 boxes, 1 tracks skipped (clip.xml)']


def test_no_action_values_and_custom_attribute(tmp_path):
    src = tmp_path / 'src'
    make_video(str(src / 'clip.mp4'))
    text = xml([track(0, 'person', [box(0, 1, 1, 9, 9, action='none'),
                                    box(1, 1, 1, 9, 9, action='wave'),
                                    box(2, 1, 1, 9, 9, action='__undefined__'),
                                    box(3, 1, 1, 9, 9, action='')])])
    (src / 'clip.xml').write_text(text.replace('name="action"', 'name="what"')
                                  .replace('<name>action</name>', '<name>what</name>'))
    import_cvat(str(src), str(tmp_path / 'root'), action_attribute='what')
    _, tubes = tubes_of(tmp_path / 'root', 'cvat/clip')
    assert tubes == {'wave': [[[2, 1, 1, 9, 9]]]}


PROJECT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <project>
      <id>1</id>
      <name>yard</name>
      <tasks>
        <task><id>4</id><name>left</name><size>12</size><mode>interpolation</mode>
          <subset>Train</subset>
          <original_size><width>64</width><height>48</height></original_size></task>
        <task><id>5</id><name>right.mp4</name><size>12</size><mode>interpolation</mode>
          <subset>Validation</subset>
          <original_size><width>64</width><height>48</height></original_size></task>
        <task><id>6</id><name>middle</name><size>12</size><mode>interpolation</mode>
          <subset>Train</subset>
          <original_size><width>64</width><height>48</height></original_size></task>
      </tasks>
      <labels>
        <label><name>wave</name><attributes></attributes></label>
        <label><name>squat</name><attributes></attributes></label>
      </labels>
    </project>
    <dumped>2024-05-02 11:05:00.000000+00:00</dumped>
  </meta>
  <track id="0" label="squat" source="manual" task_id="5" subset="Validation">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="1" ytl="1" xbr="9" ybr="9" z_order="0"/>
    <box frame="1" outside="1" occluded="0" keyframe="1" xtl="1" ytl="1" xbr="9" ybr="9" z_order="0"/>
  </track>
  <track id="1" label="wave" source="manual" task_id="4" subset="Train">
    <box frame="3" outside="0" occluded="0" keyframe="1" xtl="2" ytl="1" xbr="9" ybr="9" z_order="0"/>
    <box frame="4" outside="0" occluded="0" keyframe="0" xtl="3" ytl="1" xbr="9" ybr="9" z_order="0"/>
  </track>
  <track id="2" label="wave" source="manual" task_id="6" subset="Train">
    <box frame="11" outside="0" occluded="0" keyframe="1" xtl="2" ytl="1" xbr="9" ybr="9" z_order="0"/>
  </track>
</annotations>
"""


def test_project_export_several_videos_in_one_file(tmp_path):
    src = tmp_path / 'src'
    for name in ('left', 'right', 'middle'):
        make_video(str(src / 'videos' / 'yard' / f'{name}.mp4'))
    (src / 'project.xml').write_text(PROJECT)
    s = import_cvat(str(src / 'project.xml'), str(tmp_path / 'root'), videos_dir=str(src / 'videos'))
    assert s.labels == ['wave', 'squat']  # no attribute: the labels used, in <meta>'s order
    assert s.lines == ['yard/left: 1 tracks, 1 tubes, 2 boxes (project.xml)',
                       'yard/middle: 1 tracks, 1 tubes, 1 boxes (project.xml)',
                       'yard/right: 1 tracks, 1 tubes, 1 boxes (project.xml)']
    gt, tubes = tubes_of(tmp_path / 'root', 'yard/right')
    assert tubes == {'squat': [[[1, 1, 1, 9, 9]]]}
    # the CVAT subsets make the splits
    assert gt['test_videos'] == [['yard/right']]
    assert gt['train_videos'] == [['yard/left', 'yard/middle']]
    assert tubes_of(tmp_path / 'root', 'yard/middle')[1] == {'wave': [[[12, 2, 1, 9, 9]]]}


def _root_with_people(tmp_path, tubes, mot=None, n=20):
    """A native dataset root with one video 'gym/v' and the given tubes / MOT rows."""
    layout = DataLayout(str(tmp_path / 'native'))
    make_video(layout.video_path('gym/v'), n=n)
    gt = dict(labels=['wave', 'squat'], train_videos=[['gym/v']], test_videos=[[]],
              nframes={'gym/v': n}, resolution={'gym/v': (H, W)},
              gttubes={'gym/v': {k: [np.asarray(t, np.float64) for t in ts]
                                 for k, ts in tubes.items()}})
    atomic_dump_pickle(gt, layout.gt_file)
    if mot is not None:
        save_mot(layout.mot_gt('gym/v'), mot)
    return layout, gt


def _tube(f0, f1, x=5.0, k=0.0):
    return [[f, x + k * f, 4.0, x + 20 + k * f, 40.0] for f in range(f0, f1 + 1)]


def test_one_person_two_actions_at_once_or_back_to_back_survive_the_round_trip(tmp_path):
    """Person 1: wave 1-10 and squat 5-12 at once; person 2: squat 1-6 then squat again
    7-12 (two tubes back to back). One track each cannot hold that: extra tracks."""
    a, b = _tube(1, 10), _tube(5, 12)
    c, d = _tube(1, 6, x=40), _tube(7, 12, x=41)
    frames = [r[0] for r in a + c + d] + [11, 12]
    ids = [1] * 10 + [2] * 12 + [1, 1]
    boxes = [r[1:] for r in a + c + d] + [b[-2][1:], b[-1][1:]]
    layout, gt = _root_with_people(tmp_path, {0: [a], 1: [b, c, d]},
                                   mot=mot_rows(frames, ids, boxes))
    people = people_from_gt(gt, 'gym/v', np.loadtxt(layout.mot_gt('gym/v'), delimiter=','))
    assert len(people) == 4  # person 1: 2 tracks, person 2: 2 tracks
    out = write_cvat(layout.root, str(tmp_path / 'cvat'))
    import_cvat(out, str(tmp_path / 'root'))
    _, tubes = tubes_of(tmp_path / 'root', 'gym/v')
    assert sorted(tubes['wave']) == [a] and sorted(tubes['squat']) == sorted([b, c, d])


def _same_tubes(a: dict, b: dict, video: str) -> None:
    ta, tb = a['gttubes'][video], b['gttubes'][video]
    assert sorted(ta) == sorted(tb), video
    for k in ta:
        xs = sorted(ta[k], key=lambda t: tuple(t[0])), sorted(tb[k], key=lambda t: tuple(t[0]))
        assert [x.shape for x in xs[0]] == [x.shape for x in xs[1]], (video, k)
        for x, y in zip(*xs):
            assert np.array_equal(x[:, 0], y[:, 0]) and np.abs(x - y).max() <= 0.5, (video, k)


def test_synthetic_dataset_round_trip_equals_the_native_ground_truth(tmp_path):
    from stad.data.synth import synth
    native = synth(str(tmp_path / 'native'), seed=1, videos=4, frames=40, size=(160, 120),
                   progress=False)
    out = write_cvat(native.root, str(tmp_path / 'cvat'))
    assert sorted(os.listdir(out)) == ['gym', 'yard']
    assert os.path.isfile(os.path.join(out, 'gym', 'gym_000.xml'))
    s = import_cvat(out, str(tmp_path / 'root'))
    a, b = load_gt(native.gt_file), load_gt(s.layout.gt_file)
    assert b['labels'] == a['labels']
    assert sorted(b['nframes']) == sorted(a['nframes'])
    assert b['resolution'] == a['resolution'] and b['nframes'] == a['nframes']
    assert sorted(b['train_videos'][0]) == sorted(a['train_videos'][0])
    assert b['test_videos'] == a['test_videos']
    assert s.tubes == sum(len(ts) for by in a['gttubes'].values() for ts in by.values())
    for video in a['gttubes']:
        _same_tubes(a, b, video)
    # one track per person (the MOT identities), not one per tube
    mot_ids = {v: len(np.unique(np.loadtxt(native.mot_gt(v), delimiter=',', ndmin=2)[:, 1]))
               for v in a['nframes']}
    assert s.lines == [f'{v}: {mot_ids[v]} tracks, {sum(len(t) for t in a["gttubes"][v].values())} '
                       f'tubes, {sum(len(t) for ts in a["gttubes"][v].values() for t in ts)} boxes '
                       f'({v}.xml)' for v in sorted(a['nframes'])]


# ------------------------------------------------------------------------ refusals

def _refused(tmp_path, tracks, message, **kw):
    src = tmp_path / 'src'
    make_video(str(src / 'clip.mp4'))
    (src / 'clip.xml').write_text(xml(tracks, **kw))
    out = tmp_path / 'root'
    with pytest.raises(StadError) as e:
        import_cvat(str(src), str(out))
    assert message in str(e.value), str(e.value)
    assert '\n' not in str(e.value)
    assert not out.exists() and not any(p.name.startswith('root.') for p in tmp_path.iterdir())
    return str(e.value)


def _line_of(text, needle):
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


def test_frame_outside_the_video(tmp_path):
    text = xml([track(3, 'person', [box(12, 1, 1, 9, 9, action='wave')])])
    line = _line_of(text, '<box frame="12"')
    _refused(tmp_path, [track(3, 'person', [box(12, 1, 1, 9, 9, action='wave')])],
             f'clip.xml:{line}: track 3, frame 12: frame is outside the video (CVAT frames '
             f'0..11 of ')


def test_box_outside_the_image(tmp_path):
    _refused(tmp_path, [track(3, 'person', [box(4, 10, 1, 66, 9, action='wave')])],
             'track 3, frame 4: box (10, 1, 66, 9) is outside the 64x48 image')


def test_box_without_area(tmp_path):
    _refused(tmp_path, [track(3, 'person', [box(4, 10, 1, 10, 9, action='wave')])],
             'track 3, frame 4: box (10, 1, 10, 9) has no area')


def test_unknown_label(tmp_path):
    msg = _refused(tmp_path, [track(3, 'dance', [box(4, 1, 1, 9, 9)])],
                   "track 3: label 'dance' is not among the labels of <meta> (jump, person)")
    assert 'clip.xml:' in msg


def test_action_not_among_the_attribute_values(tmp_path):
    _refused(tmp_path, [track(3, 'person', [box(4, 1, 1, 9, 9, action='dance')])],
             "track 3, frame 4: action 'dance' is not among the values of attribute 'action' "
             "of label 'person' (none, wave, squat)")


def test_two_boxes_on_one_frame(tmp_path):
    _refused(tmp_path, [track(3, 'person', [box(4, 1, 1, 9, 9, action='wave'),
                                            box(4, 2, 1, 9, 9, action='wave')])],
             'track 3, frame 4: two boxes of the track on one frame (also line ')


def test_original_size_is_not_the_videos(tmp_path):
    _refused(tmp_path, [track(0, 'person', PERSON)],
             "task 'clip': <original_size> is 320x240 but the video ", w=320, h=240)


def test_video_not_found(tmp_path):
    # neither task name, <source> nor the XML's name match, and two videos: no guess
    src = tmp_path / 'src2'
    make_video(str(src / 'a.mp4'))
    make_video(str(src / 'b.mp4'))
    (src / 'task.xml').write_text(xml([track(0, 'person', PERSON)], name='c', source='c.mp4'))
    with pytest.raises(StadError, match=r"task 'c': no video for this task under .*src2 "
                                        r"\(looked for 'c', 'c.mp4', 'task'"):
        import_cvat(str(src), str(tmp_path / 'root2'))


def test_two_files_on_one_video(tmp_path):
    src = tmp_path / 'src'
    make_video(str(src / 'clip.mp4'))
    (src / 'job1.xml').write_text(xml([track(0, 'person', PERSON)]))
    (src / 'job2.xml').write_text(xml([track(0, 'person', PERSON)]))
    with pytest.raises(StadError, match=r'job2.xml:\d+: task .clip.: video .*clip.mp4 is already '
                                        r'annotated by .*job1.xml'):
        import_cvat(str(src), str(tmp_path / 'root'))


def test_no_tubes_and_no_files(tmp_path):
    _refused(tmp_path, [track(0, 'person', [box(0, 1, 1, 9, 9, action='none')])],
             "no action tubes found")
    (tmp_path / 'empty').mkdir()
    with pytest.raises(StadError, match='no .xml files in the folder'):
        import_cvat(str(tmp_path / 'empty'), str(tmp_path / 'r'))


def test_existing_root_is_kept_without_overwrite(clip, tmp_path):
    (tmp_path / 'root').mkdir()
    (tmp_path / 'root' / 'keep.txt').write_text('x')
    with pytest.raises(StadError, match='exists and is not empty'):
        import_cvat(str(clip), str(tmp_path / 'root'))
    import_cvat(str(clip), str(tmp_path / 'root'), overwrite=True)
    assert not (tmp_path / 'root' / 'keep.txt').exists()


# ------------------------------------------------------------------------ the CLI

def _cli(argv):
    from stad.cli import Formatter
    from stad.cli.import_cvat import register
    parser = argparse.ArgumentParser(prog='stad import', formatter_class=Formatter)
    register(parser.add_subparsers(dest='format'))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_imports_and_prints_the_summary(clip, tmp_path, capsys):
    assert _cli(['cvat', str(clip), '--out', str(tmp_path / 'root'), '--val-fraction', '0']) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'cvat/clip: 2 tracks, 4 tubes, 11 boxes (clip.xml)'
    assert out[1].startswith('wrote 1 videos, 4 tubes, 3 labels (wave, squat, jump) to ')
    assert os.path.isfile(DataLayout(str(tmp_path / 'root')).gt_file)
