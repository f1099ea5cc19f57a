"""CVAT for video 1.1 XML, read and written (stad.io.cvat).

The sample files are written by hand after CVAT's documentation ("XML annotation
format", Interpolation) and what its exporter writes (job exports put
``original_size`` under ``<meta>``, project exports list tasks and give every track a
``task_id``), not by our writer.
"""
import pytest

from stad.errors import StadError
from stad.io.cvat import (
    CvatAnnotations,
    CvatAttributeSpec,
    CvatBox,
    CvatLabel,
    CvatTask,
    CvatTrack,
    format_cvat_xml,
    parse_cvat_xml,
    read_cvat_xml,
    save_cvat_xml,
)

# the documentation's interpolation example, with boxes instead of polygons
TASK_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>5</id>
      <name>interpolation</name>
      <size>4620</size>
      <mode>interpolation</mode>
      <overlap>5</overlap>
      <bugtracker></bugtracker>
      <flipped>False</flipped>
      <created>2018-09-25 12:32:09.868194+03:00</created>
      <updated>2018-09-25 16:05:05.619841+03:00</updated>
      <labels>
        <label>
          <name>person</name>
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
          <name>car</name>
          <attributes>
          </attributes>
        </label>
      </labels>
      <segments>
        <segment>
          <id>5</id>
          <start>0</start>
          <stop>4619</stop>
          <url>http://localhost:8080/?id=5</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <original_size>
        <width>640</width>
        <height>480</height>
      </original_size>
    </task>
    <dumped>2018-09-25 16:05:07.134046+03:00</dumped>
    <source>street.mp4</source>
  </meta>
  <track id="0" label="person" source="manual">
    <box frame="0" xtl="324.79" ytl="213.16" xbr="371.11" ybr="300.00"
         outside="0" occluded="0" keyframe="1" z_order="0">
      <attribute name="action">wave</attribute>
    </box>
    <box frame="1" xtl="324.79" ytl="213.16" xbr="371.11" ybr="300.00"
         outside="1" occluded="0" keyframe="1" z_order="0">
      <attribute name="action">wave</attribute>
    </box>
    <box frame="6" xtl="305.32" ytl="207.90" xbr="355.32" ybr="254.74"
         outside="0" occluded="1" keyframe="0" z_order="2">
      <attribute name="action">squat</attribute>
    </box>
  </track>
  <track id="1" label="car" source="auto">
    <polygon frame="0" points="1.0,2.0;3.0,4.0;5.0,1.0" outside="0" occluded="0" keyframe="1">
    </polygon>
  </track>
</annotations>
"""

# a job export: <meta><job>, original_size under <meta>, no <source>
JOB_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <job>
      <id>31</id>
      <size>10</size>
      <mode>interpolation</mode>
      <overlap>0</overlap>
      <subset>Train</subset>
      <start_frame>20</start_frame>
      <stop_frame>38</stop_frame>
      <frame_filter>step=2</frame_filter>
      <labels><label><name>wave</name><attributes></attributes></label></labels>
    </job>
    <dumped>2024-01-01 00:00:00+00:00</dumped>
    <original_size><width>320</width><height>240</height></original_size>
  </meta>
  <track id="3" label="wave" source="manual">
    <box frame="20" xtl="1" ytl="2" xbr="30" ybr="40" outside="0" occluded="0" keyframe="1" z_order="0"></box>
  </track>
</annotations>
"""

# a project export: several videos (tasks) in one file, tracks carry task_id and subset
PROJECT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <project>
      <id>2</id>
      <name>gym</name>
      <tasks>
        <task>
          <id>7</id>
          <name>a.mp4</name>
          <size>30</size>
          <mode>interpolation</mode>
          <subset>Train</subset>
          <original_size><width>64</width><height>48</height></original_size>
        </task>
        <task>
          <id>8</id>
          <name>b</name>
          <size>20</size>
          <mode>interpolation</mode>
          <subset>Validation</subset>
        </task>
      </tasks>
      <labels>
        <label><name>person</name><attributes><attribute><name>action</name>
          <mutable>True</mutable><input_type>text</input_type><default_value></default_value>
          <values></values></attribute></attributes></label>
      </labels>
      <subsets>Train
Validation</subsets>
    </project>
    <dumped>2024-01-01 00:00:00+00:00</dumped>
  </meta>
  <track id="0" label="person" source="manual" task_id="8" subset="Validation">
    <box frame="2" xtl="1" ytl="2" xbr="3" ybr="4" outside="0" occluded="0" keyframe="1" z_order="0">
      <attribute name="action">run</attribute>
    </box>
  </track>
  <track id="1" label="person" source="manual" task_id="7" subset="Train">
    <box frame="0" xtl="1" ytl="2" xbr="3" ybr="4" outside="0" occluded="0" keyframe="1" z_order="0"></box>
  </track>
</annotations>
"""


def test_task_export_reads_meta_tracks_boxes_and_attributes():
    doc = parse_cvat_xml(TASK_XML, 'street.xml')
    assert doc.kind == 'task' and doc.version == '1.1'
    (task,) = doc.tasks
    assert (task.id, task.name, task.size, task.width, task.height, task.source) == \
        (5, 'interpolation', 4620, 640, 480, 'street.mp4')
    assert [lb.name for lb in task.labels] == ['person', 'car']
    spec = task.label('person').attribute('action')
    assert (spec.mutable, spec.input_type, spec.default_value, spec.values) == \
        (True, 'select', 'none', ['none', 'wave', 'squat'])
    person, car = task.tracks
    assert (person.id, person.label, person.source) == (0, 'person', 'manual')
    assert [(b.frame, b.outside, b.occluded, b.keyframe, b.z_order) for b in person.boxes] == \
        [(0, False, False, True, 0), (1, True, False, True, 0), (6, False, True, False, 2)]
    assert person.boxes[2].xyxy == (305.32, 207.90, 355.32, 254.74)
    assert [b.attributes for b in person.boxes] == \
        [{'action': 'wave'}, {'action': 'wave'}, {'action': 'squat'}]
    box_line = next(i for i, t in enumerate(TASK_XML.splitlines(), 1) if '<box frame="0"' in t)
    assert person.boxes[0].line == box_line  # the line of its <box> in the file
    assert (car.boxes, car.other_shapes) == ([], 1)


def test_job_export_size_under_meta_and_frame_step():
    (task,) = parse_cvat_xml(JOB_XML, 'job.xml').tasks
    assert (task.width, task.height, task.start_frame, task.stop_frame, task.frame_step,
            task.subset, task.source) == (320, 240, 20, 38, 2, 'Train', None)
    assert task.tracks[0].boxes[0].frame == 20  # frames are the video's, not the job's


def test_project_export_holds_several_videos():
    doc = parse_cvat_xml(PROJECT_XML, 'project.xml')
    assert doc.kind == 'project' and doc.name == 'gym'
    a, b = doc.tasks
    assert (a.id, a.name, a.width, a.is_val, b.id, b.name, b.width, b.is_val) == \
        (7, 'a.mp4', 64, False, 8, 'b', None, True)
    assert [lb.name for lb in b.labels] == ['person']  # the project's labels
    assert [t.id for t in a.tracks] == [1] and [t.id for t in b.tracks] == [0]
    assert b.tracks[0].boxes[0].attributes == {'action': 'run'}


@pytest.mark.parametrize('text, message', [
    ('<annotations><version>1.1</version>', 'x.xml:1: not well-formed XML'),
    ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
     '<annotations>&lol2;</annotations>', 'x.xml:2: the file has a document type declaration'),
    ('<dataset/>', 'x.xml:1: not a CVAT XML file (root element <dataset>'),
    ('<annotations><version>2.0</version></annotations>', "CVAT XML version '2.0'"),
    ('<annotations><version>1.1</version>\n<image id="0" name="a.jpg"/></annotations>',
     'x.xml:2: this is "CVAT for images"'),
    ('<annotations>\n<track label="a"/></annotations>', 'x.xml:2: <track> needs id and label'),
    ('<annotations><track id="0" label="a">\n<box xtl="1" ytl="1" xbr="2" ybr="2"/></track>'
     '</annotations>', 'x.xml:2: track 0: <box> without a frame attribute'),
    ('<annotations><track id="0" label="a">\n\n<box frame="4" xtl="1" ytl="1" xbr="2"/></track>'
     '</annotations>', 'x.xml:3: track 0, frame 4: <box> without ybr'),
    ('<annotations><track id="0" label="a">\n<box frame="4" xtl="1" ytl="a" xbr="2" ybr="3"/>'
     '</track></annotations>', "x.xml:2: track 0, frame 4: ytl 'a' is not a number"),
    ('<annotations><track id="0" label="a">\n<box frame="-1" xtl="1" ytl="1" xbr="2" ybr="3"/>'
     '</track></annotations>', 'track 0, frame -1: frame must be >= 0 (CVAT frames are 0-based)'),
    ('<annotations><track id="0" label="a">\n<box frame="1.5" xtl="1" ytl="1" xbr="2" ybr="3"/>'
     '</track></annotations>', "x.xml:2: track 0: frame '1.5' is not an integer"),
    ('<annotations><track id="0" label="a">\n<box frame="1" xtl="1" ytl="1" xbr="2" ybr="3" '
     'outside="yes"/></track></annotations>', 'track 0, frame 1: outside must be 0 or 1'),
])
def test_malformed_files_are_refused_with_file_and_line(text, message):
    with pytest.raises(StadError) as e:
        parse_cvat_xml(text, 'x.xml')
    assert message in str(e.value)
    assert '\n' not in str(e.value)


def test_project_track_without_a_known_task_is_refused():
    bad = PROJECT_XML.replace('task_id="8"', 'task_id="9"')
    with pytest.raises(StadError, match=r"p.xml:\d+: track 0: task_id '9' is not among the tasks"):
        parse_cvat_xml(bad, 'p.xml')


def test_missing_file(tmp_path):
    with pytest.raises(StadError, match='no such CVAT XML file'):
        read_cvat_xml(str(tmp_path / 'nope.xml'))


def _task(name, task_id=None, subset=None):
    track = CvatTrack(0, 'person', [
        CvatBox(3, 1.234, 2.0, 30.5, 40.0, attributes={'action': 'wave'}),
        CvatBox(4, 1.5, 2.0, 31.0, 40.0, occluded=True, attributes={'action': 'squat'}),
        CvatBox(5, 1.5, 2.0, 31.0, 40.0, outside=True, attributes={'action': 'squat'})])
    return CvatTask(name=name, id=task_id, size=10, width=64, height=48, source=f'{name}.mp4',
                    subset=subset, labels=[CvatLabel('person', [CvatAttributeSpec(
                        'action', input_type='select', values=['none', 'wave', 'squat'])])], tracks=[track])


def test_written_task_reads_back(tmp_path):
    path = str(tmp_path / 'out' / 'v.xml')
    save_cvat_xml(path, CvatAnnotations(path, tasks=[_task('gym/v')]))
    doc = read_cvat_xml(path)
    (task,) = doc.tasks
    assert (doc.kind, task.name, task.source, task.size, task.width, task.height,
            task.stop_frame) == ('task', 'gym/v', 'gym/v.mp4', 10, 64, 48, 9)
    assert task.label('person').attribute('action').values == ['none', 'wave', 'squat']
    boxes = task.tracks[0].boxes
    assert [(b.frame, b.outside, b.occluded, b.keyframe) for b in boxes] == \
        [(3, False, False, True), (4, False, True, True), (5, True, False, True)]
    assert boxes[0].xyxy == (1.23, 2.0, 30.5, 40.0)  # CVAT's 2 decimals
    assert [b.attributes['action'] for b in boxes] == ['wave', 'squat', 'squat']


def test_several_tasks_are_written_as_a_project():
    text = format_cvat_xml(CvatAnnotations('p.xml', tasks=[_task('a'), _task('b', subset='Validation')]))
    doc = parse_cvat_xml(text, 'p.xml')
    assert doc.kind == 'project'
    assert [(t.id, t.name, t.subset, len(t.tracks)) for t in doc.tasks] == \
        [(0, 'a', 'default', 1), (1, 'b', 'Validation', 1)]
    assert doc.tasks[1].label('person') is not None
