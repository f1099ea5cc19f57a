"""``stad export cvat``: ground truth or a model's predictions as CVAT for video 1.1 XML,
so a person loads them into CVAT as pre-annotations and corrects them.

Both write what :mod:`stad.data.formats.cvat` describes: one task per video, one
``<track label="person">`` per person, every box a keyframe, the action as the per-box
``action`` attribute (``none`` on a box in no tube or segment), ``outside="1"`` after
each run of boxes. ``stad import cvat`` reads the files back: the ground truth export
gives back the same tubes, the predictions export the action segments.

Output (``out``):

* a folder (any path not ending in ``.xml``): one task export per video,
  ``out/<sport>/<video>.xml`` -- what CVAT's *Upload annotations* of one video task takes
  (format "CVAT 1.1");
* a ``.xml`` file: a task export when there is one video, else a project export (every
  video a task of ``<meta><project><tasks>``, tracks with ``task_id``), which stad reads
  back as a whole; CVAT loads it as a project dataset.

Predictions (:func:`export_cvat_predictions`): the detections file ``stad predict``
writes, with its person track ids. Each person track's action segments are cut with
the ``tracks`` linker of video-mAP
(:func:`stad.evaluation.functional.track_tubes.tubes_from_tracks`, options as there),
one track at a time. The track is one CVAT track over the frames it was detected on and
those its segments cover (a segment bridges the tracker's short gaps); a frame in
several segments (two classes above the threshold at once) takes the label of the
segment with the highest smoothed score there -- one person, one action per frame, as a
person correcting in CVAT sees it -- so segments that overlap come back cut at the
crossing. Untracked rows (track id 0) are left out.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from stad.data.formats.cvat import (
    ACTION_ATTRIBUTE,
    cvat_task,
    gt_tasks,
    person_tracks,
    xml_relpath,
)
from stad.errors import StadError
from stad.io.cvat import CvatAnnotations, CvatTask, save_cvat_xml
from stad.io.layout import DataLayout


@dataclass
class ExportSummary:
    """What an export wrote: the files and one line per video."""

    files: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _write(tasks: list[CvatTask], out: str, name: str) -> list[str]:
    """Write ``tasks`` to a folder (one XML per video) or one ``.xml`` file."""
    if out.lower().endswith('.xml'):
        doc = CvatAnnotations(out, kind='task' if len(tasks) == 1 else 'project',
                              tasks=tasks, name=name)
        save_cvat_xml(out, doc)
        return [out]
    if os.path.isfile(out):
        raise StadError(f'{out}: is a file; pass a folder, or a path ending in .xml')
    files = []
    for task in tasks:
        path = os.path.join(out, xml_relpath(task.name))
        save_cvat_xml(path, CvatAnnotations(path, tasks=[task]))
        files.append(path)
    return files


def _line(task: CvatTask, what: str) -> str:
    boxes = sum(1 for t in task.tracks for b in t.boxes if not b.outside)
    return f'{task.name}: {len(task.tracks)} tracks, {what}, {boxes} boxes'


def export_cvat_gt(data_root: str, out: str, videos: list[str] | None = None, *,
                   attribute: str = ACTION_ATTRIBUTE) -> ExportSummary:
    """Any stad ground truth (``data_root``'s ``multisports_GT.pkl``, people from its MOT
    identities when it has them) as CVAT XML (module docstring).

    Args:
        videos: video ids to export (default: all).

    Raises:
        StadError: unreadable ground truth, or an unknown video.
    """
    from stad.data.gt import load_gt
    layout = DataLayout(data_root)
    gt = load_gt(layout.gt_file)
    tasks = gt_tasks(layout, gt, videos, attribute=attribute)
    files = _write(tasks, out, os.path.basename(os.path.normpath(data_root)))
    lines = []
    for task in tasks:
        n = sum(len(ts) for ts in gt['gttubes'].get(task.name, {}).values())
        lines.append(_line(task, f'{n} tubes'))
    return ExportSummary(files, lines)


def _track_people(gt: dict, dets: np.ndarray, ids: np.ndarray, track_opts: dict):
    """One person per track: ``{frame: (x1, y1, x2, y2, action or None)}`` and the
    track's segment count."""
    from stad.evaluation.functional.track_tubes import tubes_from_tracks
    labels = gt['labels']
    order = np.lexsort((-dets[:, 3], dets[:, 1]))
    person: dict = {}
    for row in dets[order]:  # best row's box on each frame
        person.setdefault(int(row[1]), (*row[4:8].tolist(), None))
    best: dict[int, float] = {}
    segments = 0
    for k, tubes in tubes_from_tracks(gt, dets, ids, **track_opts).items():
        for tube in tubes:
            segments += 1
            for f, x1, y1, x2, y2, s in np.asarray(tube.boxes).tolist():
                f = int(f)
                if f not in best or s > best[f]:
                    best[f] = s
                    person[f] = (x1, y1, x2, y2, labels[k])
    return person, segments


def export_cvat_predictions(detections_file: str, data_root: str, out: str, *,
                            split: str = 'val', videos: list[str] | None = None,
                            attribute: str = ACTION_ATTRIBUTE,
                            **track_opts) -> ExportSummary:
    """A detections file of ``stad predict`` (with person track ids) as CVAT XML: one
    track per person track with its action segments (module docstring).

    Args:
        detections_file: the ``(N, 8)`` detections with ``track_ids``
            (:func:`stad.io.detections.read_detections`).
        data_root: the dataset root the detections are of (labels, videos, sizes).
        split: ``'val'`` (what ``stad predict`` predicts on) or ``'train'``: the videos
            the detections index.
        videos: video ids to export (default: every video of the split).
        track_opts: options of
            :func:`~stad.evaluation.functional.track_tubes.tubes_from_tracks` (``smooth``,
            ``high``, ``low``, ``min_len``, ``max_gap``, ...).

    Raises:
        StadError: unreadable files, detections without track ids, an unknown split or
            video.
    """
    from stad.data.gt import load_gt, split_videos
    from stad.io.detections import read_detections
    layout = DataLayout(data_root)
    gt = load_gt(layout.gt_file)
    splits = split_videos(gt)
    if split not in splits:
        raise StadError(f'split must be one of {", ".join(splits)}, got {split!r}')
    view = dict(gt, test_videos=[list(splits[split])])
    dets, ids = read_detections(detections_file, view)
    if ids is None:
        raise StadError(f"{detections_file}: no person track ids ('track_ids'); write the "
                        'detections with stad predict from tracked proposals (stad propose)')
    split_list = view['test_videos'][0]
    chosen = list(split_list) if videos is None else list(videos)
    unknown = [v for v in chosen if v not in split_list]
    if unknown:
        raise StadError(f'{detections_file}: video {unknown[0]!r} is not in the {split} split')
    tasks, lines = [], []
    for i, video in enumerate(chosen):
        vi = split_list.index(video)
        sel = (dets[:, 0] == vi) & (ids > 0)
        people, segments = [], 0
        for tid in np.unique(ids[sel]):
            rows = sel & (ids == tid)
            try:
                person, n = _track_people(view, dets[rows], ids[rows], track_opts)
            except ValueError as e:  # a bad linker option
                raise StadError(f'tracks linker: {e}') from None
            people.append(person)
            segments += n
        n = int(gt['nframes'][video])
        h, w = (int(x) for x in gt['resolution'][video])
        tracks = person_tracks(people, n, attribute=attribute, source='auto')
        task = cvat_task(video, n, h, w, tracks, gt['labels'], attribute=attribute,
                         subset='Validation' if split == 'val' else 'Train', task_id=i)
        tasks.append(task)
        lines.append(_line(task, f'{segments} segments'))
    files = _write(tasks, out, os.path.basename(os.path.normpath(data_root)))
    return ExportSummary(files, lines)
