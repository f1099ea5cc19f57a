"""CVAT for video 1.1 XML: read and write the annotation files CVAT exports and imports.

The format (CVAT's documentation, "XML annotation format", section Interpolation, and
its exporter ``cvat/apps/dataset_manager/formats/cvat.py``)::

    <annotations>
      <version>1.1</version>
      <meta>
        <task>                       (a task export; a job export has <job>, a project
          <id/> <name/> <size/>        export <project> with <tasks><task>...</tasks>)
          <mode>interpolation</mode>
          <subset/> <start_frame/> <stop_frame/> <frame_filter>step=N</frame_filter>
          <labels><label><name/><attributes><attribute>
              <name/><mutable/><input_type/><default_value/><values>a\\nb</values>
          </attribute></attributes></label></labels>
          <segments><segment><id/><start/><stop/><url/></segment></segments>
          <original_size><width/><height/></original_size>
        </task>
        <dumped/>
        <source>video.mp4</source>   (task exports of a video task)
      </meta>
      <track id="0" label="person" source="manual" [task_id="7" subset="Train"]>
        <box frame="0" xtl="1.00" ytl="2.00" xbr="30.00" ybr="60.00" outside="0"
             occluded="0" keyframe="1" z_order="0">
          <attribute name="action">wave</attribute>
        </box>
        ...
      </track>
    </annotations>

Facts this module relies on (CVAT's exporter and importer):

* Frames are 0-based indices into the source video (``start_frame + i * step`` for a
  task made with a start frame or a frame step); stad's are 1-based. This module keeps
  CVAT's numbers; :mod:`stad.data.formats.cvat` converts.
* A **project** export holds several tasks (videos) in one file: ``<meta><project>``
  lists them under ``<tasks>`` and every track names its task in ``task_id`` (and its
  ``subset``). A task or job export holds one video; a folder of such files holds many.
  In a project export the per-task ``<source>`` is absent: a task is known by its name.
* A job export puts ``<original_size>`` directly under ``<meta>``, a task export inside
  ``<task>``; both are read.
* CVAT's export lists a track's box on **every** frame from its first keyframe to its
  last (interpolated ones with ``keyframe="0"``), and a box with ``outside="1"`` on the
  frame where the object leaves; after it nothing until the next keyframe. CVAT's
  *importer* keeps only ``keyframe="1"`` boxes and interpolates the others itself, so
  :func:`format_cvat_xml` writers that want every box loaded exactly mark them all as
  keyframes (:mod:`stad.data.formats.cvat` does).
* Every box of a track carries the values of its label's attributes (mutable ones may
  change from frame to frame).

Reading (:func:`read_cvat_xml`) is plain ``xml.parsers.expat`` building an
``ElementTree`` with the line of every element, so errors say
``'<file>:<line>: track <id>, frame <f>: ...'``. A document type declaration is refused
before anything of it is expanded (no entity expansion, no external entities; CVAT never
writes one). Nothing else is checked against videos here: frames and boxes against a
video are :mod:`stad.data.formats.cvat`'s.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass, field

from stad.errors import StadError
from stad.io.atomic import atomic_write_text

VERSION = '1.1'
#: shapes of a track other than ``box``: counted, not read (stad needs boxes)
OTHER_SHAPES = ('polygon', 'polyline', 'points', 'cuboid', 'ellipse', 'skeleton', 'mask')
#: subsets of a CVAT task that mean the val split
VAL_SUBSETS = ('validation', 'val', 'test')


@dataclass
class CvatAttributeSpec:
    """An attribute declared for a label in ``<meta>``."""

    name: str
    mutable: bool = True
    input_type: str = 'text'
    default_value: str = ''
    values: list[str] = field(default_factory=list)


@dataclass
class CvatLabel:
    """A label declared in ``<meta>``, with its attributes."""

    name: str
    attributes: list[CvatAttributeSpec] = field(default_factory=list)

    def attribute(self, name: str) -> CvatAttributeSpec | None:
        return next((a for a in self.attributes if a.name == name), None)


@dataclass
class CvatBox:
    """One ``<box>`` of a track; ``frame`` is CVAT's (0-based)."""

    frame: int
    xtl: float
    ytl: float
    xbr: float
    ybr: float
    outside: bool = False
    occluded: bool = False
    keyframe: bool = True
    z_order: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    line: int = 0  # line in the file (0: not read from a file)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return self.xtl, self.ytl, self.xbr, self.ybr


@dataclass
class CvatTrack:
    """One ``<track>``: its boxes in file order, and how many other shapes it held."""

    id: int
    label: str
    boxes: list[CvatBox] = field(default_factory=list)
    source: str = 'manual'
    task_id: int | None = None
    subset: str | None = None
    group_id: int | None = None
    other_shapes: int = 0
    line: int = 0


@dataclass
class CvatTask:
    """One video: a task of the file (the only one of a task or job export)."""

    name: str = ''
    id: int | None = None
    size: int | None = None  # frames in the task
    width: int | None = None  # original_size
    height: int | None = None
    source: str | None = None  # the video's file name (task exports only)
    subset: str | None = None
    start_frame: int = 0
    stop_frame: int | None = None
    frame_step: int = 1
    labels: list[CvatLabel] | None = None  # None: the file declares none
    tracks: list[CvatTrack] = field(default_factory=list)
    line: int = 0

    def label(self, name: str) -> CvatLabel | None:
        return next((lb for lb in self.labels or [] if lb.name == name), None)

    @property
    def is_val(self) -> bool:
        return (self.subset or '').strip().lower() in VAL_SUBSETS


@dataclass
class CvatAnnotations:
    """A whole file: ``kind`` is ``'task'``, ``'job'`` or ``'project'``."""

    path: str
    kind: str = 'task'
    version: str = VERSION
    tasks: list[CvatTask] = field(default_factory=list)
    name: str = ''  # the project's name (project exports)


# ------------------------------------------------------------------------------ reading

class _Lines(dict):
    """``{element: line}`` of a parsed document."""


def _parse(data: bytes, path: str) -> tuple[ET.Element, _Lines]:
    """Parse ``data`` with expat into an ElementTree, remembering each element's line;
    refuse a document type declaration (entity expansion) before it is processed."""
    builder = ET.TreeBuilder()
    lines = _Lines()
    parser = xml.parsers.expat.ParserCreate()

    def start(tag, attrs):
        lines[builder.start(tag, attrs)] = parser.CurrentLineNumber

    def doctype(*_):
        raise StadError(f'{path}:{parser.CurrentLineNumber}: the file has a document type '
                        'declaration (<!DOCTYPE>); CVAT never writes one and stad refuses it '
                        '(entity expansion)')

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise StadError(f'{path}:{e.lineno}: not well-formed XML '
                        f'({xml.parsers.expat.ErrorString(e.code)}, column {e.offset})') from None
    return builder.close(), lines


def _text(el: ET.Element | None, tag: str, default: str | None = None) -> str | None:
    child = el.find(tag) if el is not None else None
    if child is None:
        return default
    return (child.text or '').strip()


def _int(value: str | None, where: str, what: str, default: int | None = None) -> int | None:
    if value is None or value == '':
        return default
    try:
        f = float(value)
    except ValueError:
        raise StadError(f'{where}: {what} {value!r} is not a number') from None
    if not math.isfinite(f) or f != int(f):
        raise StadError(f'{where}: {what} {value!r} is not an integer')
    return int(f)


def _bool(value: str | None, where: str, what: str, default: bool) -> bool:
    if value is None or value == '':
        return default
    v = value.strip().lower()
    if v in ('1', 'true'):
        return True
    if v in ('0', 'false'):
        return False
    raise StadError(f'{where}: {what} must be 0 or 1, got {value!r}')


def _labels(el: ET.Element | None) -> list[CvatLabel] | None:
    if el is None or el.find('labels') is None:
        return None
    out = []
    for lab in el.find('labels').findall('label'):
        attrs = []
        for a in (lab.find('attributes') if lab.find('attributes') is not None else []):
            if a.tag != 'attribute':
                continue
            values = [v.strip() for v in (_text(a, 'values', '') or '').split('\n') if v.strip()]
            attrs.append(CvatAttributeSpec(
                name=_text(a, 'name', '') or '',
                mutable=(_text(a, 'mutable', 'True') or 'True').lower() in ('true', '1'),
                input_type=_text(a, 'input_type', 'text') or 'text',
                default_value=_text(a, 'default_value', '') or '',
                values=values))
        out.append(CvatLabel(_text(lab, 'name', '') or '', attrs))
    return out


def _task_meta(el: ET.Element, meta: ET.Element, where: str, lines: _Lines) -> CvatTask:
    """A ``<task>`` or ``<job>`` element of ``<meta>`` (``original_size`` inside it or,
    for a job, directly under ``<meta>``)."""
    size_el = el.find('original_size')
    if size_el is None and meta is not None:
        size_el = meta.find('original_size')
    frame_filter = _text(el, 'frame_filter', '') or ''
    step = 1
    for part in frame_filter.split(','):
        k, _, v = part.partition('=')
        if k.strip() == 'step' and v.strip():
            step = _int(v.strip(), where, 'frame_filter step') or 1
    return CvatTask(
        name=_text(el, 'name', '') or '',
        id=_int(_text(el, 'id'), where, '<id>'),
        size=_int(_text(el, 'size'), where, '<size>'),
        width=_int(_text(size_el, 'width'), where, '<original_size><width>'),
        height=_int(_text(size_el, 'height'), where, '<original_size><height>'),
        subset=_text(el, 'subset'),
        start_frame=_int(_text(el, 'start_frame'), where, '<start_frame>', 0),
        stop_frame=_int(_text(el, 'stop_frame'), where, '<stop_frame>'),
        frame_step=step,
        labels=_labels(el),
        line=lines.get(el, 0))


def _box(el: ET.Element, path: str, line: int, track_id: int) -> CvatBox:
    where = f'{path}:{line}: track {track_id}'
    if 'frame' not in el.attrib:
        raise StadError(f'{where}: <box> without a frame attribute')
    frame = _int(el.get('frame'), where, 'frame')
    if frame < 0:
        raise StadError(f'{where}, frame {frame}: frame must be >= 0 (CVAT frames are 0-based)')
    where = f'{where}, frame {frame}'
    coords = []
    for name in ('xtl', 'ytl', 'xbr', 'ybr'):
        value = el.get(name)
        if value is None:
            raise StadError(f'{where}: <box> without {name}')
        try:
            coords.append(float(value))
        except ValueError:
            raise StadError(f'{where}: {name} {value!r} is not a number') from None
    attrs = {}
    for a in el.findall('attribute'):
        name = a.get('name')
        if name is None:
            raise StadError(f'{where}: <attribute> without a name')
        attrs[name] = (a.text or '').strip()
    return CvatBox(frame, *coords,
                   outside=_bool(el.get('outside'), where, 'outside', False),
                   occluded=_bool(el.get('occluded'), where, 'occluded', False),
                   keyframe=_bool(el.get('keyframe'), where, 'keyframe', True),
                   z_order=_int(el.get('z_order'), where, 'z_order', 0),
                   attributes=attrs, line=line)


def parse_cvat_xml(data: bytes | str, path: str = '<CVAT XML>') -> CvatAnnotations:
    """Parse the text of a CVAT for video 1.1 file (see the module docstring).

    Raises:
        StadError: not well-formed XML, a DOCTYPE, not a CVAT for video file (another
            root, ``<image>`` elements of *CVAT for images*, a version other than 1.x),
            a track or box attribute that is missing or not a number, a project track
            without a known ``task_id``; ``'<path>:<line>: track <id>, frame <f>: ...'``.
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    root, lines = _parse(data, path)
    if root.tag != 'annotations':
        raise StadError(f'{path}:{lines.get(root, 1)}: not a CVAT XML file (root element '
                        f'<{root.tag}>, expected <annotations>)')
    version = _text(root, 'version', '') or ''
    if version and not version.startswith('1.'):
        raise StadError(f'{path}: CVAT XML version {version!r}; stad reads 1.1 (CVAT for video)')
    image = root.find('image')
    if image is not None:
        raise StadError(f'{path}:{lines.get(image, 0)}: this is "CVAT for images" (<image> '
                        'elements); export the task as "CVAT for video 1.1"')
    meta = root.find('meta')
    doc = CvatAnnotations(path, version=version or VERSION)
    project = meta.find('project') if meta is not None else None
    if project is not None:
        doc.kind, doc.name = 'project', _text(project, 'name', '') or ''
        plabels = _labels(project)
        tasks_el = project.find('tasks')
        for t in (tasks_el.findall('task') if tasks_el is not None else []):
            task = _task_meta(t, None, f'{path}:{lines.get(t, 0)}', lines)
            if task.labels is None:
                task.labels = plabels
            doc.tasks.append(task)
        if not doc.tasks:
            raise StadError(f'{path}:{lines.get(project, 0)}: project export without '
                            '<tasks><task> in <meta>')
    else:
        el = meta.find('task') if meta is not None else None
        if el is None and meta is not None and meta.find('job') is not None:
            el, doc.kind = meta.find('job'), 'job'
        task = _task_meta(el, meta, f'{path}:{lines.get(el, 0)}', lines) if el is not None \
            else CvatTask()
        task.source = _text(meta, 'source') or None
        doc.tasks.append(task)
    by_id = {t.id: t for t in doc.tasks}
    for el in root.findall('track'):
        line = lines.get(el, 0)
        where = f'{path}:{line}'
        if 'id' not in el.attrib or 'label' not in el.attrib:
            raise StadError(f'{where}: <track> needs id and label attributes')
        tid = _int(el.get('id'), where, 'track id')
        track = CvatTrack(tid, el.get('label'), source=el.get('source', 'manual'),
                          task_id=_int(el.get('task_id'), where, 'task_id'),
                          subset=el.get('subset'),
                          group_id=_int(el.get('group_id'), where, 'group_id'), line=line)
        for child in el:
            if child.tag == 'box':
                track.boxes.append(_box(child, path, lines.get(child, line), tid))
            elif child.tag in OTHER_SHAPES:
                track.other_shapes += 1
        if doc.kind == 'project':
            if track.task_id not in by_id:
                raise StadError(f'{where}: track {tid}: task_id {el.get("task_id")!r} is not '
                                'among the tasks of <meta><project><tasks>')
            by_id[track.task_id].tracks.append(track)
        else:
            doc.tasks[0].tracks.append(track)
    return doc


def read_cvat_xml(path: str) -> CvatAnnotations:
    """Read a CVAT for video 1.1 file (task, job or project export).

    Raises:
        StadError: missing or unreadable file, or any error of :func:`parse_cvat_xml`.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise StadError(f'{path}: no such CVAT XML file') from None
    except OSError as e:
        raise StadError(f'cannot read {path}: {e.strerror or e}') from None
    return parse_cvat_xml(data, path)


# ------------------------------------------------------------------------------ writing

def _sub(parent: ET.Element, tag: str, text=None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _write_labels(parent: ET.Element, labels: list[CvatLabel] | None) -> None:
    if labels is None:
        return
    labs = _sub(parent, 'labels')
    for lab in labels:
        el = _sub(labs, 'label')
        _sub(el, 'name', lab.name)
        attrs = _sub(el, 'attributes')
        for a in lab.attributes:
            ae = _sub(attrs, 'attribute')
            _sub(ae, 'name', a.name)
            _sub(ae, 'mutable', 'True' if a.mutable else 'False')
            _sub(ae, 'input_type', a.input_type)
            _sub(ae, 'default_value', a.default_value)
            _sub(ae, 'values', '\n'.join(a.values))


def _write_task_meta(parent: ET.Element, task: CvatTask, task_id: int, *,
                     labels: bool = True) -> None:
    size = task.size or 0
    el = _sub(parent, 'task')
    _sub(el, 'id', task_id)
    _sub(el, 'name', task.name)
    _sub(el, 'size', size)
    _sub(el, 'mode', 'interpolation')
    _sub(el, 'overlap', 0)
    _sub(el, 'bugtracker', '')
    _sub(el, 'subset', task.subset or 'default')
    _sub(el, 'start_frame', task.start_frame)
    stop = task.stop_frame if task.stop_frame is not None else task.start_frame + max(size - 1, 0)
    _sub(el, 'stop_frame', stop)
    _sub(el, 'frame_filter', f'step={task.frame_step}' if task.frame_step != 1 else '')
    if labels:
        _write_labels(el, task.labels)
    seg = _sub(_sub(el, 'segments'), 'segment')
    _sub(seg, 'id', 0)
    _sub(seg, 'start', 0)
    _sub(seg, 'stop', max(size - 1, 0))
    _sub(seg, 'url', '')
    if task.width is not None and task.height is not None:
        osz = _sub(el, 'original_size')
        _sub(osz, 'width', task.width)
        _sub(osz, 'height', task.height)


def _write_track(root: ET.Element, track: CvatTrack, tid: int, task: CvatTask | None,
                 task_id: int) -> None:
    attrs = {'id': str(tid), 'label': track.label, 'source': track.source or 'manual'}
    if task is not None:
        attrs['task_id'] = str(task_id)
        attrs['subset'] = task.subset or 'default'
    if track.group_id:
        attrs['group_id'] = str(track.group_id)
    el = ET.SubElement(root, 'track', attrs)
    for b in sorted(track.boxes, key=lambda b: b.frame):
        be = ET.SubElement(el, 'box', {
            'frame': str(int(b.frame)), 'keyframe': str(int(b.keyframe)),
            'outside': str(int(b.outside)), 'occluded': str(int(b.occluded)),
            'xtl': f'{b.xtl:.2f}', 'ytl': f'{b.ytl:.2f}', 'xbr': f'{b.xbr:.2f}',
            'ybr': f'{b.ybr:.2f}', 'z_order': str(int(b.z_order))})
        for name, value in b.attributes.items():
            _sub(be, 'attribute', value).set('name', name)


def format_cvat_xml(doc: CvatAnnotations, *, dumped: str = '') -> str:
    """The text of a CVAT for video 1.1 file: a task export for one task (with
    ``<source>``), a project export (``<project><tasks>``, tracks with ``task_id`` and
    ``subset``) for several. Track ids are renumbered 0, 1, ... in order (CVAT gives
    them no meaning); boxes are written sorted by frame, coordinates with 2 decimals
    (CVAT's precision)."""
    root = ET.Element('annotations')
    _sub(root, 'version', VERSION)
    meta = _sub(root, 'meta')
    task_ids = [t.id if t.id is not None else i for i, t in enumerate(doc.tasks)]
    if len(task_ids) != len(set(task_ids)):
        raise StadError(f'{doc.path}: two tasks share an id ({task_ids})')
    if len(doc.tasks) == 1 and doc.kind != 'project':
        task = doc.tasks[0]
        _write_task_meta(meta, task, task_ids[0])
        _sub(meta, 'dumped', dumped)
        if task.source:
            _sub(meta, 'source', task.source)
        per_track_task = [(t, None, 0) for t in task.tracks]
    else:
        proj = _sub(meta, 'project')
        _sub(proj, 'id', 0)
        _sub(proj, 'name', doc.name)
        tasks = _sub(proj, 'tasks')
        for task, task_id in zip(doc.tasks, task_ids):
            _write_task_meta(tasks, task, task_id, labels=False)
        labels: list[CvatLabel] = []
        for task in doc.tasks:
            for lab in task.labels or []:
                if all(lab.name != x.name for x in labels):
                    labels.append(lab)
        _write_labels(proj, labels)
        _sub(proj, 'subsets', '\n'.join(dict.fromkeys(t.subset or 'default' for t in doc.tasks)))
        _sub(meta, 'dumped', dumped)
        per_track_task = [(t, task, task_id) for task, task_id in zip(doc.tasks, task_ids)
                          for t in task.tracks]
    for i, (track, task, task_id) in enumerate(per_track_task):
        _write_track(root, track, i, task, task_id)
    ET.indent(root, space='  ')
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding='unicode') + '\n'


def save_cvat_xml(path: str, doc: CvatAnnotations) -> None:
    """Write ``doc`` to ``path`` atomically (:func:`format_cvat_xml`)."""
    atomic_write_text(path, format_cvat_xml(doc))
