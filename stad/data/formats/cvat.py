"""CVAT for video 1.1 XML <-> stad's MultiSports layout.

**Import** (:func:`import_cvat`, ``stad import cvat SRC --out ROOT``). ``SRC`` is one XML
file (a task, job or project export: a project export holds several videos, see
:mod:`stad.io.cvat`) or a folder searched recursively for ``*.xml`` (one file per video,
such as the folder :func:`write_cvat` writes, or unpacked CVAT export zips). How the
annotations become tubes:

* Every ``<track>`` of boxes is a person (with ``person_label``, only tracks of that
  label; the others are skipped and counted). Tracks of other shapes are skipped.
* The action of a box is the value of its attribute named ``action_attribute``
  (default ``action``) when the box has it, else the track's label -- unless that label
  is ``person_label`` or declares ``action_attribute`` in ``<meta>`` (then it is the
  person class, not an action). So one track can carry several actions over time (a
  mutable attribute), or a track can be one (person, action) pair (its label). The
  values ``none``, ``__undefined__`` (CVAT's unset select) and empty mean *no action*:
  the box is a person doing nothing stad knows, and is in no tube (what
  :func:`write_cvat` and ``stad export cvat`` write for such boxes).
* A tube is a run of consecutive frames of one track with one action: it ends where the
  action changes, at a box with ``outside="1"`` (that box is not part of it), and at a
  gap in the frames. CVAT's export lists every frame between keyframes (interpolated
  boxes with ``keyframe="0"``); a sparse track (keyframes only, as CVAT's API returns
  them, or a task made with a frame step) is filled the way CVAT itself fills it: boxes
  linearly interpolated between two listed boxes when the first is not ``outside``,
  carrying the first one's attributes. The number of frames filled is reported.
* Frames: CVAT's are 0-based indices into the video (``start_frame`` and the frame step
  already applied), stad's 1-based: stad frame = CVAT frame + 1. Occluded boxes count
  like the others.

Refused, with file, line, track and frame: a frame outside the video, a box outside the
image by more than :data:`~stad.data.formats.common.BOX_TOL_PX` (boxes within it are
clipped) or with no area, two boxes of a track on one frame, a track label not among the
labels of ``<meta>`` (when the file declares labels), an action value not among the
values the attribute declares (select / radio attributes), ``<original_size>`` other than
the video's, a video that cannot be found, and two tasks on one video (jobs of one
task: export the task instead).

Videos: for each task, stad looks in ``videos_dir`` (default: the XML's folder, or
``SRC`` itself) recursively for, in turn, the relative path given by the task name
(``gym/v001`` -> ``gym/v001.mp4``), the file name of ``<meta><source>`` (task exports),
the task name's file name, the XML's own name (and its folder's, for an
``annotations.xml``), and last, when the folder holds exactly one video, that one. The
video id is ``'<folder>/<name>'``: the video's folder relative to ``videos_dir``
(nested folders joined by ``_``; ``cvat`` for a video at the top) and its file name
without extension.

Label set: the values the action attribute declares in ``<meta>`` (select / radio), in
that order, unused ones included (so a model's class indices survive an export ->
import round trip), then the track labels used as actions in the order ``<meta>`` lists
them; with nothing declared, the action names found, sorted.

Splits: ``val`` (video ids) when given; else the tasks whose CVAT subset is
``Validation`` / ``val`` / ``test`` when any is; else every ``1/val_fraction``-th video
(:func:`~stad.data.formats.common.split_train_val`).

**Export** (:func:`write_cvat`, and :mod:`stad.tasks.export`): one task per video, one
``<track label="person">`` per person -- the MOT identities of
``trainval/mot/<sport>/<video>.txt`` when the dataset has them, else one track per tube
-- with every box of the person listed, each a keyframe (CVAT's importer keeps only
keyframes and would interpolate the rest), the action as a per-box ``action`` attribute
(``none`` on a box in no tube), and a box with ``outside="1"`` on the frame after each
run of the person's boxes (unless the video ends there). When one person has two tubes
on the same frames (two actions at once), or two tubes of one label back to back (which
an import would join), the second goes to another track of that person. The label
``person`` declares ``action`` as a mutable select attribute whose values are ``none``
and the dataset's labels, which is what a CVAT task needs to load the file (create the
task's label from it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from stad.data.boxes import iou_matrix
from stad.data.formats.common import (
    ImportSummary,
    VideoInfo,
    build_gt,
    check_box,
    consecutive_runs,
    make_video_id,
    probe_video,
    split_of,
    split_train_val,
    tube_array,
    write_dataset,
)
from stad.errors import StadError
from stad.io.atomic import atomic_folder, link_or_copy
from stad.io.cvat import (
    CvatAnnotations,
    CvatAttributeSpec,
    CvatBox,
    CvatLabel,
    CvatTask,
    CvatTrack,
    read_cvat_xml,
    save_cvat_xml,
)
from stad.io.layout import VIDEO_EXT, VIDEO_EXTENSIONS, DataLayout

PERSON_LABEL = 'person'
ACTION_ATTRIBUTE = 'action'
#: the value written on a person's box that is in no tube
NO_ACTION = 'none'
#: attribute values that mean "no action" on import (compared lower-case)
NO_ACTION_VALUES = ('', 'none', '__undefined__')
#: video files looked for next to the XML files
#: group of a video found at the top of the videos folder
DEFAULT_GROUP = 'cvat'


def _is_no_action(value: str | None) -> bool:
    return value is None or value.strip().lower() in NO_ACTION_VALUES


# ================================================================== export: stad -> CVAT

#: one person: ``{frame (1-based): (x1, y1, x2, y2, action name or None)}``
Person = dict


def person_label(labels: list[str], attribute: str = ACTION_ATTRIBUTE) -> CvatLabel:
    """The ``person`` label with its mutable ``action`` select attribute (values
    ``none`` and ``labels``)."""
    return CvatLabel(PERSON_LABEL, [CvatAttributeSpec(attribute, mutable=True,
                                                      input_type='select',
                                                      default_value=NO_ACTION,
                                                      values=[NO_ACTION, *labels])])


def person_tracks(people: list[Person], nframes: int, *, attribute: str = ACTION_ATTRIBUTE,
                  source: str = 'manual') -> list[CvatTrack]:
    """CVAT tracks of ``people`` (see the module docstring: every box a keyframe, the
    action as an attribute, ``none`` without one, ``outside="1"`` after each run)."""
    tracks = []
    for person in people:
        frames = sorted(person)
        if not frames:
            continue
        boxes = []
        for run in consecutive_runs([(f,) for f in frames]):
            for (f,) in run:
                x1, y1, x2, y2, action = person[f]
                boxes.append(CvatBox(f - 1, float(x1), float(y1), float(x2), float(y2),
                                     attributes={attribute: action or NO_ACTION}))
            last = run[-1][0]
            if last < nframes:  # the frame after the run exists: close the run
                b = boxes[-1]
                boxes.append(CvatBox(last, b.xtl, b.ytl, b.xbr, b.ybr, outside=True,
                                     attributes=dict(b.attributes)))
        tracks.append(CvatTrack(len(tracks), PERSON_LABEL, boxes, source=source))
    return tracks


def _fits(person: Person, tube: np.ndarray, label: str) -> bool:
    """Whether ``tube`` can join ``person``'s track: no shared frame, and not touching
    a run of the same label (an import would join the two tubes)."""
    frames = tube[:, 0].astype(int)
    if any(int(f) in person for f in frames):
        return False
    for f in (int(frames[0]) - 1, int(frames[-1]) + 1):
        if f in person and person[f][4] == label:
            return False
    return True


def people_from_gt(gt: dict, video: str, mot: np.ndarray | None = None) -> list[Person]:
    """The people of one video of a ground truth, as :func:`person_tracks` takes them.

    With ``mot`` (the video's MOT identities, :mod:`stad.io.mot` rows), each tube goes
    to the identity whose boxes it overlaps most (IoU >= 0.5, majority of its frames),
    and the identity's boxes on frames in none of its tubes are added without action;
    tubes that match no identity, and all tubes without ``mot``, are one person each.
    A tube that shares frames with another of its person (or touches one of the same
    label) starts another track of that person (module docstring). Boxes are the
    ground truth's; people in identity order, then the other tubes in label order.
    """
    labels = gt['labels']
    tubes = [(int(k), np.asarray(t, dtype=np.float64))
             for k in sorted(gt['gttubes'].get(video, {}))
             for t in gt['gttubes'][video][k]]
    by_frame: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if mot is not None and len(mot):
        from stad.io.mot import to_xyxy
        boxes = to_xyxy(mot)
        for f in np.unique(mot[:, 0]).astype(int):
            sel = mot[:, 0] == f
            by_frame[int(f)] = (mot[sel, 1].astype(int), boxes[sel])
    ids: dict[int, list[Person]] = {}
    loose: list[Person] = []
    for k, tube in tubes:
        votes: dict[int, int] = {}
        for row in tube:
            hit = by_frame.get(int(row[0]))
            if hit is None:
                continue
            iou = iou_matrix(row[1:5], hit[1])[0]
            j = int(np.argmax(iou))
            if iou[j] >= 0.5:
                votes[int(hit[0][j])] = votes.get(int(hit[0][j]), 0) + 1
        pid = max(votes, key=lambda i: (votes[i], -i)) if votes else None
        label = labels[k]
        group = ids.setdefault(pid, []) if pid is not None else loose
        person = next((p for p in group if _fits(p, tube, label)), None) if pid is not None \
            else None
        if person is None:
            person = {}
            group.append(person)
        for row in tube:
            person[int(row[0])] = (*row[1:5].tolist(), label)
    if mot is not None and len(mot):
        from stad.io.mot import to_xyxy
        boxes = to_xyxy(mot)
        for pid, group in ids.items():
            covered = set().union(*(set(p) for p in group))
            sel = np.flatnonzero(mot[:, 1].astype(int) == pid)
            for i in sel:
                f = int(mot[i, 0])
                if f not in covered:
                    group[0][f] = (*boxes[i].tolist(), None)
    return [p for pid in sorted(ids) for p in ids[pid]] + loose


def cvat_task(video: str, nframes: int, height: int, width: int, tracks: list[CvatTrack],
              labels: list[str], *, attribute: str = ACTION_ATTRIBUTE,
              subset: str | None = None, task_id: int | None = None) -> CvatTask:
    """The CVAT task of one stad video: named by its video id, ``<source>`` its file
    name, the ``person`` label of :func:`person_label`."""
    return CvatTask(name=video, id=task_id, size=int(nframes), width=int(width),
                    height=int(height), source=os.path.basename(video) + VIDEO_EXT,
                    subset=subset, start_frame=0, stop_frame=int(nframes) - 1,
                    labels=[person_label(list(labels), attribute)], tracks=tracks)


def gt_tasks(layout: DataLayout, gt: dict, videos: list[str] | None = None, *,
             attribute: str = ACTION_ATTRIBUTE) -> list[CvatTask]:
    """One CVAT task per video of ``gt`` (all, sorted, or ``videos``), people from the
    dataset's MOT identities when it has them (:func:`people_from_gt`); subsets
    ``Train`` / ``Validation`` from the ground truth's splits."""
    from stad.io.mot import load_mot
    videos = sorted(gt['nframes']) if videos is None else list(videos)
    unknown = [v for v in videos if v not in gt['nframes']]
    if unknown:
        raise StadError(f'{layout.gt_file}: no video {unknown[0]!r} in the ground truth')
    tasks = []
    for i, video in enumerate(videos):
        mot_file = layout.mot_gt(video)
        mot = load_mot(mot_file) if os.path.isfile(mot_file) else None
        n = int(gt['nframes'][video])
        h, w = (int(x) for x in gt['resolution'][video])
        tracks = person_tracks(people_from_gt(gt, video, mot), n, attribute=attribute)
        subset = 'Validation' if split_of(gt, video) == 'val' else 'Train'
        tasks.append(cvat_task(video, n, h, w, tracks, gt['labels'], attribute=attribute,
                               subset=subset, task_id=i))
    return tasks


def xml_relpath(video: str) -> str:
    """Where a video's XML goes in a CVAT folder: ``'<sport>/<video>.xml'``."""
    return video + '.xml'


def write_cvat(native_root: str, out: str, *, overwrite: bool = False) -> str:
    """Write a stad dataset root as a CVAT folder: ``out/<sport>/<video>.mp4`` and
    ``out/<sport>/<video>.xml`` (one CVAT for video 1.1 task export per video, see the
    module docstring), all or nothing. :func:`import_cvat` of ``out`` gives back the
    ground truth (tubes, frames, boxes to 0.005 px: CVAT's 2 decimals; labels and splits).

    Returns:
        ``out``.

    Raises:
        StadError: an unreadable dataset, or ``out`` exists and is not empty (without
            ``overwrite``).
    """
    from stad.data.gt import load_gt
    layout = DataLayout(native_root)
    gt = load_gt(layout.gt_file)
    out = os.path.abspath(out)
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise StadError(f'{out} exists and is not empty (pass --overwrite to replace it)')
    tasks = gt_tasks(layout, gt)
    with atomic_folder(out, overwrite=True) as tmp:
        for task in tasks:
            video = task.name
            src = layout.video_path(video)
            if not os.path.isfile(src):
                raise StadError(f'{layout.gt_file}: video {video!r}: missing file {src}')
            link_or_copy(src, os.path.join(tmp, video + VIDEO_EXT))
            save_cvat_xml(os.path.join(tmp, xml_relpath(video)),
                          CvatAnnotations(os.path.join(out, xml_relpath(video)), tasks=[task]))
    return out


# ================================================================== import: CVAT -> stad

class _VideoIndex:
    """The video files under a folder, by relative path, file name and stem."""

    def __init__(self, root: str):
        self.root = root
        self.paths: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            for name in sorted(filenames):
                if not name.startswith('.') and name.lower().endswith(VIDEO_EXTENSIONS):
                    self.paths.append(os.path.join(dirpath, name))
        self.by_rel: dict[str, list[str]] = {}
        self.by_name: dict[str, list[str]] = {}
        self.by_stem: dict[str, list[str]] = {}
        for p in self.paths:
            rel = os.path.relpath(p, root).replace(os.sep, '/')
            name = os.path.basename(p)
            self.by_rel.setdefault(os.path.splitext(rel)[0], []).append(p)
            self.by_name.setdefault(name, []).append(p)
            self.by_stem.setdefault(os.path.splitext(name)[0], []).append(p)

    def _one(self, hits: list[str] | None, where: str, key: str) -> str | None:
        if not hits:
            return None
        if len(hits) > 1:
            raise StadError(f'{where}: {key!r} matches {len(hits)} videos under {self.root} '
                            f'({", ".join(sorted(hits)[:3])}): rename them or pass --videos')
        return hits[0]

    def find(self, task: CvatTask, xml: str, where: str) -> str:
        keys = []
        name = (task.name or '').strip().replace('\\', '/')
        if name:
            keys.append(('rel', os.path.splitext(name)[0].strip('/')))
        if task.source:
            keys += [('name', os.path.basename(task.source)),
                     ('stem', os.path.splitext(os.path.basename(task.source))[0])]
        if name:
            keys += [('name', os.path.basename(name)),
                     ('stem', os.path.splitext(os.path.basename(name))[0])]
        stem = os.path.splitext(os.path.basename(xml))[0]
        keys.append(('stem', stem))
        if stem == 'annotations':
            keys.append(('stem', os.path.basename(os.path.dirname(os.path.abspath(xml)))))
        table = {'rel': self.by_rel, 'name': self.by_name, 'stem': self.by_stem}
        for kind, key in keys:
            hit = self._one(table[kind].get(key), where, key)
            if hit is not None:
                return hit
        if len(self.paths) == 1:
            return self.paths[0]
        looked = ', '.join(dict.fromkeys(repr(k) for _, k in keys if k))
        raise StadError(f'{where}: no video for this task under {self.root} (looked for '
                        f'{looked} with extensions {"/".join(VIDEO_EXTENSIONS)}); '
                        'pass --videos DIR')

    def video_id(self, path: str) -> str:
        rel = os.path.relpath(path, self.root)
        group = os.path.dirname(rel).replace(os.sep, '_') or DEFAULT_GROUP
        return make_video_id(group, os.path.basename(path))


def _xml_files(src: str) -> list[str]:
    if os.path.isfile(src):
        return [src]
    if not os.path.isdir(src):
        raise StadError(f'{src}: no such CVAT XML file or folder')
    files = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        files += [os.path.join(dirpath, n) for n in sorted(filenames)
                  if n.lower().endswith('.xml') and not n.startswith('.')]
    if not files:
        raise StadError(f'{src}: no .xml files in the folder (CVAT for video 1.1 exports)')
    return files


@dataclass
class _Video:
    """One imported task: its video and tubes per action name."""

    video: str
    info: VideoInfo
    task: CvatTask
    xml: str
    tubes: dict[str, list[np.ndarray]] = field(default_factory=dict)
    tracks: int = 0
    boxes: int = 0
    filled: int = 0
    skipped: int = 0


def _where(xml: str, line: int, track: CvatTrack, frame: int | None = None) -> str:
    w = f'{xml}:{line or track.line}: track {track.id}'
    return w if frame is None else f'{w}, frame {frame}'


def _action_of(box: CvatBox, track: CvatTrack, task: CvatTask, attribute: str,
               person: str | None, xml: str) -> str | None:
    """The action of one box (module docstring), validated against ``<meta>``."""
    spec_label = task.label(track.label)
    spec = spec_label.attribute(attribute) if spec_label is not None else None
    if attribute in box.attributes:
        value = box.attributes[attribute].strip()
        if _is_no_action(value):
            return None
        if spec is not None and spec.values and value not in spec.values:
            raise StadError(f'{_where(xml, box.line, track, box.frame)}: {attribute} '
                            f'{value!r} is not among the values of attribute {attribute!r} '
                            f'of label {track.label!r} ({", ".join(spec.values)})')
        return value
    if track.label == person or spec is not None:
        return None
    return track.label


def _track_rows(track: CvatTrack, task: CvatTask, info: VideoInfo, attribute: str,
                person: str | None, xml: str) -> tuple[list, int]:
    """``[(frame, x1, y1, x2, y2, action), ...]`` of one track (1-based frames, sparse
    stretches filled) and the number of frames filled."""
    boxes = sorted(track.boxes, key=lambda b: b.frame)
    for a, b in zip(boxes, boxes[1:]):
        if a.frame == b.frame:
            raise StadError(f'{_where(xml, b.line, track, b.frame)}: two boxes of the track on '
                            f'one frame (also line {a.line})')
    rows, filled, prev = [], 0, None
    for b in boxes:
        where = _where(xml, b.line, track, b.frame)
        if b.frame >= info.nframes:
            raise StadError(f'{where}: frame is outside the video (CVAT frames 0..'
                            f'{info.nframes - 1} of {info.path})')
        if b.outside:
            prev = None
            continue
        check_box(b.xyxy, info, where)
        action = _action_of(b, track, task, attribute, person, xml)
        if prev is not None and b.frame > prev[0].frame + 1:
            p, pa = prev
            gap = b.frame - p.frame
            for f in range(p.frame + 1, b.frame):
                w = (f - p.frame) / gap
                rows.append((f + 1, *((1 - w) * np.asarray(p.xyxy) + w * np.asarray(b.xyxy)),
                             pa))
                filled += 1
        rows.append((b.frame + 1, *b.xyxy, action))
        prev = (b, action)
    return rows, filled


def _tubes_of(rows: list, info: VideoInfo) -> dict[str, list[np.ndarray]]:
    """Runs of consecutive frames with one action -> tubes per action name."""
    out: dict[str, list[np.ndarray]] = {}
    run: list = []

    def flush():
        if run and run[0][5] is not None:
            out.setdefault(run[0][5], []).append(tube_array([r[:5] for r in run], info))

    for r in rows:
        if run and (r[0] != run[-1][0] + 1 or r[5] != run[-1][5]):
            flush()
            run = []
        run.append(r)
    flush()
    return out


def _label_set(videos: list[_Video], attribute: str) -> list[str]:
    """The label set (module docstring)."""
    declared: list[str] = []
    label_order: list[str] = []
    for v in videos:
        for lab in v.task.labels or []:
            label_order.append(lab.name)
            spec = lab.attribute(attribute)
            if spec is not None and spec.input_type in ('select', 'radio'):
                declared += [x for x in spec.values if not _is_no_action(x)]
    declared = list(dict.fromkeys(declared))
    found = {name for v in videos for name in v.tubes}
    rest = sorted(found - set(declared),
                  key=lambda n: (label_order.index(n) if n in label_order else len(label_order), n))
    return declared + rest


def import_cvat(src: str, out_root: str, *, videos_dir: str | None = None,
                action_attribute: str = ACTION_ATTRIBUTE, person_label: str | None = None,
                val_fraction: float = 0.25, val: list[str] | None = None,
                overwrite: bool = False) -> ImportSummary:
    """Import CVAT for video 1.1 annotations and their videos as a dataset root (the
    module docstring says how tracks become tubes, how videos are found, the label set
    and the splits).

    Args:
        src: an XML file or a folder of them.
        out_root: the dataset root to write (MultiSports layout, validated, atomic).
        videos_dir: where the videos are (default: ``src``'s folder, or ``src``).
        action_attribute: the per-box attribute that holds the action.
        person_label: read only tracks of this label (their boxes' action from the
            attribute only).
        val_fraction, val: the val split when the tasks' subsets name none.
        overwrite: replace an existing ``out_root``.

    Returns:
        The :class:`ImportSummary`, one line per video (tracks, tubes, boxes).

    Raises:
        StadError: the first problem, naming file, line, track and frame; nothing is
            written then.
    """
    files = _xml_files(src)
    videos_dir = videos_dir or (src if os.path.isdir(src) else os.path.dirname(os.path.abspath(src)))
    if not os.path.isdir(videos_dir):
        raise StadError(f'{videos_dir}: no such videos folder')
    index = _VideoIndex(videos_dir)
    videos: list[_Video] = []
    seen: dict[str, str] = {}
    for xml in files:
        doc = read_cvat_xml(xml)
        for task in doc.tasks:
            where = f'{xml}:{task.line}: task {task.name or task.id!r}' if task.line else xml
            path = index.find(task, xml, where)
            vid = index.video_id(path)
            if vid in seen:
                raise StadError(f'{where}: video {path} is already annotated by {seen[vid]} '
                                '(two jobs of one task? export the task instead)')
            seen[vid] = where
            info = probe_video(path)
            if task.width is not None and task.height is not None and \
                    (task.width, task.height) != (info.width, info.height):
                raise StadError(f'{where}: <original_size> is {task.width}x{task.height} but '
                                f'the video {path} is {info.width}x{info.height}')
            v = _Video(vid, info, task, xml)
            names = {lab.name for lab in task.labels} if task.labels is not None else None
            for track in task.tracks:
                if not track.boxes or (person_label is not None and track.label != person_label):
                    v.skipped += 1
                    continue
                if names is not None and track.label not in names:
                    raise StadError(f'{_where(xml, track.line, track)}: label {track.label!r} '
                                    f'is not among the labels of <meta> ({", ".join(sorted(names))})')
                rows, filled = _track_rows(track, task, info, action_attribute, person_label, xml)
                v.tracks += 1
                v.boxes += len(rows) - filled
                v.filled += filled
                for name, ts in _tubes_of(rows, info).items():
                    v.tubes.setdefault(name, []).extend(ts)
            videos.append(v)
    labels = _label_set(videos, action_attribute)
    if not any(v.tubes for v in videos):
        raise StadError(f'{src}: no action tubes found (no box has an {action_attribute!r} '
                        'attribute or an action label)')
    index_of = {name: i for i, name in enumerate(labels)}
    infos = {v.video: v.info for v in videos}
    tubes = {v.video: {index_of[name]: ts for name, ts in v.tubes.items()} for v in videos}
    if val is None and any(v.task.is_val for v in videos):
        val = [v.video for v in videos if v.task.is_val]
    train, val_list = split_train_val(list(infos), val_fraction=val_fraction, val=val)
    gt = build_gt(labels, infos, tubes, train, val_list)
    layout = write_dataset(out_root, gt, infos, overwrite=overwrite,
                           source=os.path.basename(os.path.normpath(src)))
    base = src if os.path.isdir(src) else os.path.dirname(os.path.abspath(src))
    lines = []
    for v in sorted(videos, key=lambda v: v.video):
        n = sum(len(ts) for ts in v.tubes.values())
        extra = ''.join([f', {v.filled} frames interpolated' if v.filled else '',
                         f', {v.skipped} tracks skipped' if v.skipped else ''])
        lines.append(f'{v.video}: {v.tracks} tracks, {n} tubes, {v.boxes} boxes{extra} '
                     f'({os.path.relpath(v.xml, base)})')
    return ImportSummary(layout=layout, videos=len(infos),
                         tubes=sum(len(ts) for by in tubes.values() for ts in by.values()),
                         labels=labels, lines=lines)
