"""AVA-style CSV to and from stad's MultiSports layout.

The format (AVA v2.x, ``ava_train_v2.2.csv``): one row per (box, action)::

    video_id, timestamp, x1, y1, x2, y2, action_id, person_id

``timestamp`` in seconds from the start of the video, boxes normalised to [0, 1] of the
frame's width and height, ``action_id`` an id of the label map (AVA's
``ava_action_list_v2.2.pbtxt``, or ``'id: name'`` lines), ``person_id`` the person
within the video (AVA v1 files have none). A header line is optional.

**Timestamps to frames.** Frame ``k`` (1-based, stad's numbering) is shown at
``timestamp_start + (k - 1) / fps`` seconds, with ``fps`` the video's own frame rate read
from its file (:func:`stad.data.formats.common.probe_video`; videos are not all 30 fps).
A timestamp is the frame shown nearest to it::

    frame = floor((timestamp - timestamp_start) * fps + 0.5) + 1

(round half up, not Python's round-half-to-even, so equal inputs give equal frames on
every platform). The first frame is at timestamp 0, so a writer that puts
``(frame - 1) / fps`` in the file (:func:`write_ava`, 6 decimals) gets every frame back
exactly. ``timestamp_start`` is for AVA's own files, whose timestamps count from the
start of the movie while the cut 15-minute clips start at second 900 (mmaction2's
``timestamp_start=900``): timestamp 902 at 30 fps is then frame 61 (mmaction2's 0-based
frame index 60).

**Keyframes.** ``keyframes='exact'``: each row is the box on its one frame, so tubes need
a row on every frame. ``keyframes='hold'`` (AVA's convention: one annotated keyframe a
second): the box of a keyframe at ``t`` seconds is held on every frame shown in
``[t - 0.5, t + 0.5)`` seconds, the second centred on the keyframe, i.e. frames
``ceil((t - timestamp_start - 0.5) * fps) + 1`` to ``ceil((t - timestamp_start + 0.5) *
fps)`` (25 frames at 25 fps, 30 at 30 fps; at 25 fps the keyframe at 2 s covers frames
39..63, at 30 fps 46..75), clipped to the video. Keyframes one second apart thus tile
the timeline; where the windows of one person and action overlap (keyframes less than a
second apart), a frame takes the box of the nearer keyframe (the later one on a tie).
The keyframe itself must be inside the video.

**Tubes.** The rows of one (video, person_id, action_id) on consecutive frames form a
tube; a missing frame ends it (:func:`stad.data.formats.common.consecutive_runs`).
Rows without ``person_id`` are linked per (video, action): a box continues the person
of the previous annotated frame's box it overlaps most (IoU >= :data:`LINK_IOU`, greedy,
best pair first), else it starts a new person.

**Folders.** :func:`write_ava` writes (and :func:`import_ava` reads as ``SRC``)::

    SRC/videos/<video_id>.mp4        (any common container: .mp4 .mkv .webm .avi .mov ...)
    SRC/train.csv, SRC/val.csv       (a video is in one of them)
    SRC/label_map.pbtxt              item { name: "..." id: N }, ids from 1 as AVA's

A video id with a ``/`` (``gym/gym_000``) keeps its folder as the stad sport; one
without becomes ``ava/<video_id>``.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from stad.data.boxes import iou_pairwise
from stad.data.formats.common import (
    ImportSummary,
    VideoInfo,
    build_gt,
    check_box,
    check_frame,
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
from stad.io.ava_csv import AvaRow, read_ava_rows, write_ava_csv
from stad.io.label_map import read_any_label_map, write_pbtxt_label_map
from stad.io.layout import VIDEO_EXTENSIONS

KEYFRAME_MODES = ('exact', 'hold')
#: containers a ``video_id`` is looked up with, in this order (mp4 first: no re-encoding)
CONTAINER_EXTS = VIDEO_EXTENSIONS
GROUP = 'ava'  # the stad sport of a video id without a '/'
LINK_IOU = 0.5
_EPS = 1e-9  # float slack on window edges: (2 - 0.5) * 30 may come out as 45.000000001

# the names write_ava gives its files, which import_ava finds in a folder
TRAIN_CSV, VAL_CSV, LABEL_MAP, VIDEOS = 'train.csv', 'val.csv', 'label_map.pbtxt', 'videos'


# --------------------------------------------------------------------- time <-> frame

def timestamp_to_frame(timestamp: float, fps: float, timestamp_start: float = 0.0) -> int:
    """The 1-based frame shown nearest to ``timestamp`` seconds:
    ``floor((timestamp - timestamp_start) * fps + 0.5) + 1``."""
    return int(math.floor((timestamp - timestamp_start) * fps + 0.5)) + 1


def frame_to_timestamp(frame: int, fps: float, timestamp_start: float = 0.0) -> float:
    """The time frame ``frame`` (1-based) is shown at: ``timestamp_start + (frame - 1) / fps``."""
    return timestamp_start + (int(frame) - 1) / fps


def held_frames(timestamp: float, fps: float, timestamp_start: float = 0.0) -> tuple[int, int]:
    """``(first, last)`` 1-based frames (inclusive, not clipped to the video) shown in
    ``[timestamp - 0.5, timestamp + 0.5)`` seconds: those a keyframe holds its box on."""
    t = timestamp - timestamp_start
    return (int(math.ceil((t - 0.5) * fps - _EPS)) + 1,
            int(math.ceil((t + 0.5) * fps - _EPS)))


def mapping_lines(keyframes: str, timestamp_start: float = 0.0) -> list[str]:
    """The timestamp -> frame mapping in words (the first lines of an import's summary)."""
    t = f'(timestamp - {timestamp_start:g})' if timestamp_start else 'timestamp'
    shown = f'{timestamp_start:g} + (k - 1) / fps' if timestamp_start else '(k - 1) / fps'
    k = f't - {timestamp_start:g}' if timestamp_start else 't'
    lines = [f'timestamps -> frames: frame = floor({t} * fps + 0.5) + 1 (frame k is shown at '
             f'{shown} s; fps read from each video)']
    if keyframes == 'hold':
        lines.append('keyframes held (AVA): the box of a keyframe at t s is on every frame '
                     f'shown in [t - 0.5, t + 0.5) s, frames ceil(({k} - 0.5) * fps) + 1 .. '
                     f'ceil(({k} + 0.5) * fps), clipped to the video; where windows '
                     'overlap, the nearer keyframe')
    else:
        lines.append('keyframes exact: each row is a box on its one frame')
    return lines


# ---------------------------------------------------------------------------- sources

def _csv_files(folder: str) -> list[str]:
    # AVA's ava_*_excluded_timestamps_*.csv list (video, second) pairs, not boxes
    return sorted(f for f in os.listdir(folder)
                  if f.lower().endswith('.csv') and 'excluded' not in f.lower())


def _find_sources(src: str, csv: str | None, label_map: str | None, videos_dir: str | None,
                  val_csv: str | None) -> tuple[str, str | None, str, str]:
    """``(csv, val_csv, label_map, videos_dir)`` from ``SRC`` and the options given."""
    if os.path.isdir(src):
        folder = src
        if csv is None:
            csvs = _csv_files(folder)
            train = [c for c in csvs if 'train' in c.lower()]
            val = [c for c in csvs if 'val' in c.lower() and c not in train]
            if len(csvs) == 1:
                csv = os.path.join(folder, csvs[0])
            elif val_csv is None and len(train) == 1 and len(val) == 1 and len(csvs) == 2:
                csv, val_csv = os.path.join(folder, train[0]), os.path.join(folder, val[0])
            elif not csvs:
                raise StadError(f'{src}: no CSV file in the folder (pass --csv)')
            else:
                raise StadError(f'{src}: several CSV files ({", ".join(csvs)}): pass --csv '
                                '(and --val-csv)')
    elif os.path.isfile(src):
        if csv is not None and os.path.abspath(csv) != os.path.abspath(src):
            raise StadError(f'{src} is a CSV file and --csv is {csv}: give one of them')
        csv, folder = src, os.path.dirname(os.path.abspath(src))
    else:
        raise StadError(f'{src}: no such file or folder')
    if label_map is None:
        names = sorted(os.listdir(folder))
        found = [f for f in names if f.lower().endswith('.pbtxt')] or \
            [f for f in names if f.lower().endswith('.txt') and 'label' in f.lower()]
        if len(found) != 1:
            what = f'several label maps ({", ".join(found)})' if found else \
                'no label map (*.pbtxt, or *label*.txt with "id: name" lines)'
            raise StadError(f'{folder}: {what}: pass --label-map')
        label_map = os.path.join(folder, found[0])
    if videos_dir is None:
        sub = os.path.join(folder, VIDEOS)
        videos_dir = sub if os.path.isdir(sub) else folder
    if not os.path.isdir(videos_dir):
        raise StadError(f'videos folder not found: {videos_dir}')
    return csv, val_csv, label_map, videos_dir


def find_video(videos_dir: str, video_id: str) -> str | None:
    """The file of ``video_id`` under ``videos_dir``: ``<video_id>`` itself when it ends in
    a container extension, else ``<video_id><ext>`` for the first of
    :data:`CONTAINER_EXTS` (either case) that exists; None if there is none."""
    if os.path.splitext(video_id)[1].lower() in CONTAINER_EXTS:
        path = os.path.join(videos_dir, video_id)
        return path if os.path.isfile(path) else None
    for ext in CONTAINER_EXTS:
        for e in (ext, ext.upper()):
            path = os.path.join(videos_dir, video_id + e)
            if os.path.isfile(path):
                return path
    return None


def stad_video_id(video_id: str, path: str) -> str:
    """The stad id of a CSV ``video_id`` found at ``path``: ``'<folder>/<name>'`` when the
    id has a ``/``, else ``'ava/<name>'`` (:func:`make_video_id`)."""
    group, _, _ = video_id.rpartition('/')
    return make_video_id(group or GROUP, os.path.basename(path))


def _labels(label_map: str) -> tuple[list[str], dict[int, int]]:
    """The stad labels (label-map names in id order) and ``{action_id: label index}``."""
    items = read_any_label_map(label_map)
    seen: dict[str, int] = {}
    for i, name in sorted(items.items()):
        if name in seen:
            raise StadError(f'{label_map}: name {name!r} given to ids {seen[name]} and {i}')
        seen[name] = i
    ids = sorted(items)
    return [items[i] for i in ids], {i: k for k, i in enumerate(ids)}


def _link_people(items: list[tuple[int, tuple, AvaRow]]) -> list[object]:
    """Person keys for ``[(frame, box, row), ...]`` rows without a person_id (one video
    and action): a box continues the person of the previous annotated frame whose box it
    overlaps most (IoU >= LINK_IOU, greedy), else a new person ``('linked', n)``."""
    by_frame: dict[int, list[int]] = {}
    for k, (f, _, _) in enumerate(items):
        by_frame.setdefault(f, []).append(k)
    people: list[object] = [None] * len(items)
    prev: list[int] = []
    count = 0
    for f in sorted(by_frame):
        cur = by_frame[f]
        pairs = sorted(((float(iou_pairwise(items[p][1], items[c][1])), -p, -c) for p in prev for c in cur),
                       reverse=True)
        used_p, used_c = set(), set()
        for iou, p, c in pairs:
            p, c = -p, -c
            if iou < LINK_IOU:
                break
            if p in used_p or c in used_c:
                continue
            used_p.add(p)
            used_c.add(c)
            people[c] = people[p]
        for c in cur:
            if people[c] is None:
                count += 1
                people[c] = ('linked', count)
        prev = cur
    return people


# ----------------------------------------------------------------------------- import

def import_ava(src: str, out_root: str, *, csv: str | None = None,
               label_map: str | None = None, videos_dir: str | None = None,
               keyframes: str = 'exact', val_csv: str | None = None,
               val_fraction: float = 0.25, timestamp_start: float = 0.0,
               overwrite: bool = False) -> ImportSummary:
    """Import AVA-style CSV annotations and their videos as a stad dataset root.

    Frames from timestamps: ``frame = floor((timestamp - timestamp_start) * fps + 0.5)
    + 1`` with each video's own frame rate; ``keyframes='hold'`` holds a keyframe's box
    on the frames shown in ``[t - 0.5, t + 0.5)`` s (module docstring). Rows of one
    (video, person, action) on consecutive frames form a tube.

    Args:
        src: the folder :func:`write_ava` writes (CSVs, label map, ``videos/``) or a CSV
            file (its folder then holds the label map and videos unless given).
        out_root: dataset root to write (MultiSports layout).
        csv: the annotation CSV (default: the folder's only CSV, or its ``*train*`` and
            ``*val*`` pair).
        label_map: AVA pbtxt or ``'id: name'`` lines (default: the folder's ``*.pbtxt``,
            else its ``*label*.txt``). The stad labels are its names in id order.
        videos_dir: where ``<video_id>.<ext>`` are (default ``SRC/videos`` if it exists,
            else the CSV's folder).
        keyframes: ``'exact'`` (a row is one frame) or ``'hold'`` (AVA's one keyframe a
            second, box held over its second).
        val_csv: a second CSV whose videos form the val split (else every
            ``1 / val_fraction``-th video, :func:`split_train_val`).
        timestamp_start: the time of the videos' first frame in the CSV's clock (900 for
            AVA's own files with mmaction2's cut clips).
        overwrite: replace an existing ``out_root``.

    Returns:
        The :class:`ImportSummary`; its ``lines`` state the mapping and, per video, the
        frame rate, rows, tubes and split.

    Raises:
        StadError: naming file and line: a malformed line, an action id not in the label
            map, a video not found, a frame outside the video, a box outside [0, 1] by
            more than 1 pixel, a person with two boxes for one action on one frame, a
            video in both CSVs; or a validation error of the result. Nothing is written.
    """
    if keyframes not in KEYFRAME_MODES:
        raise StadError(f'keyframes must be one of {", ".join(KEYFRAME_MODES)}, got {keyframes!r}')
    if not math.isfinite(timestamp_start):
        raise StadError(f'timestamp start must be a finite number, got {timestamp_start}')
    csv, val_csv, label_map, videos_dir = _find_sources(src, csv, label_map, videos_dir, val_csv)
    labels, label_index = _labels(label_map)
    ids = sorted(label_index)

    sources = [(csv, read_ava_rows(csv))]
    if val_csv is not None:
        sources.append((val_csv, read_ava_rows(val_csv)))
    if not any(rows for _, rows in sources):
        raise StadError(f'{csv}: no annotation rows')

    videos: dict[str, tuple[str, VideoInfo]] = {}  # CSV id -> (stad id, info)
    owner: dict[str, str] = {}  # stad id -> CSV id
    split_file: dict[str, tuple[str, int]] = {}  # CSV id -> (csv, first line)
    counts: dict[str, int] = {}
    # (stad id, person, label) -> [(frame, timestamp, pixel box), ...] of its rows
    groups: dict[tuple, list[tuple[int, float, tuple]]] = {}
    unlinked: dict[tuple[str, int], list] = {}  # (stad id, label) -> rows without person
    keyframe_of: dict[tuple, str] = {}  # (stad id, person, label, frame) -> file:line

    for path, rows in sources:
        for row in rows:
            where = f'{path}:{row.line}'
            if row.action not in label_index:
                known = (f'ids {ids[0]}..{ids[-1]}' if ids == list(range(ids[0], ids[-1] + 1))
                         else f'ids {", ".join(map(str, ids))}')
                raise StadError(f'{where}: action_id {row.action} is not in the label map '
                                f'{label_map} ({known})')
            if row.video in split_file and split_file[row.video][0] != path:
                other, line = split_file[row.video]
                raise StadError(f'{where}: video {row.video!r} is also in {other} (line {line}): '
                                'a video belongs to one split')
            split_file.setdefault(row.video, (path, row.line))
            if row.video not in videos:
                found = find_video(videos_dir, row.video)
                if found is None:
                    raise StadError(f'{where}: video {row.video!r} not found in {videos_dir} '
                                    f'(looked for {row.video}{{{",".join(CONTAINER_EXTS)}}})')
                vid = stad_video_id(row.video, found)
                if vid in owner:
                    raise StadError(f'{where}: video {row.video!r} and video {owner[vid]!r} '
                                    f'both become the stad video {vid!r}')
                owner[vid] = row.video
                videos[row.video] = (vid, probe_video(found))
            vid, info = videos[row.video]
            counts[vid] = counts.get(vid, 0) + 1
            label = label_index[row.action]
            frame = timestamp_to_frame(row.timestamp, info.fps, timestamp_start)
            here = f'{where}: video {row.video!r} timestamp {row.timestamp:g} s ({info.fps:g} fps)'
            check_frame(frame, info, here)
            x1, y1, x2, y2 = row.box
            box = (x1 * info.width, y1 * info.height, x2 * info.width, y2 * info.height)
            check_box(box, info, f'{here} frame {frame}: normalised box ({x1:g}, {y1:g}, '
                                 f'{x2:g}, {y2:g}) in pixels')
            if row.person is None:
                unlinked.setdefault((vid, label), []).append((frame, box, row))
                continue
            key = (vid, row.person, label, frame)
            if key in keyframe_of:
                raise StadError(f'{where}: person {row.person} has a second box for action '
                                f'{row.action} ({labels[label]!r}) on frame {frame} of video '
                                f'{row.video!r} (first on {keyframe_of[key]})')
            keyframe_of[key] = where
            groups.setdefault((vid, row.person, label), []).append((frame, row.timestamp, box))

    infos = dict(videos.values())
    linked = 0
    for (vid, label), items in unlinked.items():
        # one box per linked person and frame: the matching is one to one
        for (frame, box, row), person in zip(items, _link_people(items)):
            groups.setdefault((vid, person, label), []).append((frame, row.timestamp, box))
        linked += len(items)
    tubes: dict[str, dict[int, list[np.ndarray]]] = {}
    for (vid, _person, label), items in groups.items():
        info = infos[vid]
        if keyframes == 'exact':
            runs = consecutive_runs([(f, *box) for f, _, box in sorted(items)])
        else:
            runs = _held_runs(items, info, timestamp_start)
        tubes.setdefault(vid, {}).setdefault(label, []).extend(tube_array(r, info) for r in runs)
    for vid in tubes:
        for label in tubes[vid]:
            tubes[vid][label].sort(key=lambda t: (t[0, 0], t[-1, 0]))

    if val_csv is not None:
        val = sorted({videos[v][0] for v, (p, _) in split_file.items() if p == val_csv})
        train, val = split_train_val(list(infos), val=val)
    else:
        train, val = split_train_val(list(infos), val_fraction=val_fraction)
    gt = build_gt(labels, infos, tubes, train, val)

    lines = mapping_lines(keyframes, timestamp_start)
    if linked:
        lines.append(f'{linked} rows without person_id linked into people by box overlap '
                     f'(IoU >= {LINK_IOU:g} with the previous annotated frame)')
    n_tubes = 0
    for vid, info in sorted(infos.items()):
        k = sum(len(ts) for ts in tubes.get(vid, {}).values())
        n_tubes += k
        lines.append(f'{vid} ({os.path.basename(info.path)}): {info.fps:g} fps, {info.nframes} '
                     f'frames, {counts[vid]} rows -> {k} tube{"s" * (k != 1)}, {split_of(gt, vid)}')
    record = dict(format='ava', csv=os.path.abspath(csv),
                  val_csv=os.path.abspath(val_csv) if val_csv else None,
                  label_map=os.path.abspath(label_map), videos_dir=os.path.abspath(videos_dir),
                  keyframes=keyframes, timestamp_start=timestamp_start,
                  label_ids={labels[k]: i for i, k in label_index.items()}, lines=lines)
    layout = write_dataset(out_root, gt, infos, overwrite=overwrite,
                           source=os.path.basename(csv),
                           extra={'import.json': json.dumps(record, indent=1).encode()})
    return ImportSummary(layout=layout, videos=len(infos), tubes=n_tubes, labels=labels,
                         lines=lines)


def _held_runs(items: list[tuple[int, float, tuple]], info: VideoInfo,
               timestamp_start: float) -> list[np.ndarray]:
    """Tubes ``(T, 5)`` of one person and action's keyframes ``[(frame, timestamp, box),
    ...]`` held over their seconds (:func:`held_frames`, clipped to the video): each frame
    takes the box of the nearest keyframe whose window holds it (the later on a tie);
    a frame no keyframe holds ends a tube (as :func:`consecutive_runs`). In numpy: a
    full AVA file holds tens of millions of held boxes."""
    kf = np.array([f for f, _, _ in items], dtype=np.int64)
    boxes = np.array([b for _, _, b in items], dtype=np.float64).reshape(-1, 4)
    win = np.array([held_frames(t, info.fps, timestamp_start) for _, t, _ in items],
                   dtype=np.int64).reshape(-1, 2)
    first, last = np.maximum(win[:, 0], 1), np.minimum(win[:, 1], info.nframes)
    length = last - first + 1  # >= 1: a keyframe is inside the video and its window
    owner = np.repeat(np.arange(len(kf)), length)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(length) - length, length)
    frames = first[owner] + offset
    order = np.lexsort((-kf[owner], np.abs(frames - kf[owner]), frames))
    frames, owner = frames[order], owner[order]
    keep = np.r_[True, frames[1:] != frames[:-1]]  # per frame, the nearest keyframe
    frames, owner = frames[keep], owner[keep]
    rows = np.concatenate([frames[:, None].astype(np.float64), boxes[owner]], axis=1)
    return np.split(rows, np.flatnonzero(np.diff(frames) > 1) + 1)


# ----------------------------------------------------------------------------- writer

def _identities(mot_path: str) -> dict[int, list[tuple[int, np.ndarray]]]:
    """``{frame: [(id, box x1 y1 x2 y2), ...]}`` of a MOT ground truth file."""
    from stad.io.mot import load_mot, to_xyxy
    rows = load_mot(mot_path)
    out: dict[int, list[tuple[int, np.ndarray]]] = {}
    for (f, i), box in zip(rows[:, :2].astype(int).tolist(), to_xyxy(rows)):
        out.setdefault(f, []).append((i, box))
    return out


def _tube_person(tube: np.ndarray, ids: dict, where: str, mot_path: str) -> int:
    """The MOT identity of every box of ``tube`` (one id, boxes within 0.5 px)."""
    found = set()
    for f, *box in tube.tolist():
        best = min(((float(np.abs(b - box).max()), i) for i, b in ids.get(int(f), [])),
                   default=(math.inf, None))
        if best[0] > 0.5:
            raise StadError(f'{mot_path}: no identity for the box of {where} at frame {int(f)}')
        found.add(best[1])
    if len(found) != 1:
        raise StadError(f'{mot_path}: the boxes of {where} belong to several ids '
                        f'{sorted(found)}')
    return found.pop()


def write_ava(native_root: str, out: str, *, overwrite: bool = False) -> str:
    """Write a native stad dataset root as an AVA-style folder; returns ``out``.

    ``out`` gets ``videos/<sport>/<video>.mp4`` (hard links or copies),
    ``train.csv`` / ``val.csv`` (the ground truth's splits) with one row per box per frame
    (``video_id`` = the stad id, ``timestamp = (frame - 1) / fps`` with the video's own
    frame rate, 6 decimals, so :func:`import_ava` with ``keyframes='exact'`` gives every
    frame back), boxes normalised with 6 decimals, ``action_id`` = label index + 1 and
    ``label_map.pbtxt`` (``item { name id }``, ids from 1 as AVA's). ``person_id`` is the
    person's MOT identity (``trainval/mot/<sport>/<video>.txt``, as :func:`stad.data.synth.
    synth` writes it); a video without one gets one id per tube. Tubes of one person and
    label that touch (one ends the frame before the other starts) come back as one tube;
    a video with no tube has no row, so it is copied but not imported.

    Written to ``<out>.<pid>.tmp`` and renamed: all or nothing.

    Raises:
        StadError: unreadable native root, a tube box without an identity, or ``out``
            exists and is not empty (without ``overwrite``).
    """
    from stad.data.gt import load_gt
    from stad.io.layout import DataLayout
    layout = DataLayout(native_root)
    gt = load_gt(layout.gt_file)
    out = os.path.abspath(out)
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise StadError(f'{out} exists and is not empty (pass --overwrite to replace it)')
    rows: dict[str, list[tuple]] = {'train': [], 'val': []}
    infos: dict[str, VideoInfo] = {}
    for vid in sorted(gt['nframes']):
        info = infos[vid] = probe_video(layout.video_path(vid))
        h, w = (float(x) for x in gt['resolution'][vid])
        mot_path = layout.mot_gt(vid)
        ids = _identities(mot_path) if os.path.isfile(mot_path) else None
        n = 0
        for label, ts in sorted(gt['gttubes'].get(vid, {}).items()):
            for k, tube in enumerate(ts):
                n += 1
                tube = np.asarray(tube, dtype=np.float64)
                where = f'video {vid} label {label} ({gt["labels"][label]!r}) tube {k}'
                person = n if ids is None else _tube_person(tube, ids, where, mot_path)
                for f, x1, y1, x2, y2 in tube.tolist():
                    rows[split_of(gt, vid)].append(
                        (vid, frame_to_timestamp(int(f), info.fps), x1 / w, y1 / h, x2 / w,
                         y2 / h, int(label) + 1, person))
    with atomic_folder(out, overwrite=True) as tmp:
        for vid, info in infos.items():
            link_or_copy(info.path, os.path.join(tmp, VIDEOS,
                                                 vid + os.path.splitext(info.path)[1]))
        for split, name in (('train', TRAIN_CSV), ('val', VAL_CSV)):
            write_ava_csv(os.path.join(tmp, name),
                          sorted(rows[split], key=lambda r: (r[0], r[1], r[7], r[6])))
        write_pbtxt_label_map(os.path.join(tmp, LABEL_MAP),
                              {i + 1: name for i, name in enumerate(gt['labels'])})
    return out
