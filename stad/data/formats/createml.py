"""Create ML action classifier data sources written from a native stad dataset root
(``stad synth --format createml-folders|createml-csv``).

Both formats have labels but no boxes; ``stad import createml`` finds the person itself
(:mod:`stad.tasks.autolabel`). So that a measurement can tell how often it finds the
right one, each writer also writes ``truth.json``: for every clip or range, the person
(the MOT id of ``trainval/mot/<sport>/<video>.txt``) and their ground-truth box track.

Create ML takes training and testing data as two data sources, so both writers keep the
dataset's split apart, as ``<out>/train/`` and ``<out>/val/``, which ``stad import
createml <out>`` reads back as the two splits.

``createml-folders`` (:func:`write_createml_folders`)::

    <out>/<split>/<label>/<video>_p<person>_<k>.mp4    one clip per ground-truth tube
    <out>/truth.json

A tube shorter than :data:`MIN_CLIP_FRAMES` makes no clip (``min_frames``). A clip holds
exactly the frames of its tube (source frames ``first..last``, clip frame
``c`` = source frame ``first + c - 1``) at the source's frame rate, cropped to the
actor: the union of the tube's boxes grown by :data:`CROP_MARGIN` of its size on every
side, clipped to the frame (even width and height). Create ML's labelled folders hold
one action per video, and its rule for who does it is "the largest, most present
person"; a synthetic video has up to three people acting at once, so an uncropped clip
often shows another person larger than the labelled one (the dominant person was the
actor in 55% of the uncropped clips, measured with the trained detector). ``<video>`` is the
video's name (``<sport>_<video>`` when two sports share a name), ``<person>`` its actor's
MOT id (``t`` + tube number when the root has no MOT file), ``<k>`` counts that person's
tubes of that label from 1. A label's folder is its name (a ``/`` in it becomes ``_``).

``createml-csv`` (:func:`write_createml_csv`)::

    <out>/<split>/<video>.mp4                  the full videos (hard links or copies)
    <out>/<split>/annotations.csv              video,label,start,end (seconds)
    <out>/<split>/annotations.json             the same entries as a JSON array
    <out>/truth.json

Frames and seconds (both writers' times and :func:`frames_of_range`): frame ``f``
(1-based) of a video at ``fps`` frames per second shows the time ``[(f - 1) / fps, f /
fps)``. A tube over frames ``a..b`` is written as ``start = (a - 1) / fps``, ``end = b /
fps`` (to the microsecond); a range ``[start, end]`` is read back as the frames whose
interval it overlaps by more than a thousandth of a frame, ``floor(start * fps + 0.001)
+ 1 .. ceil(end * fps - 0.001)``: ``a..b`` again, exactly.

Both write the whole output folder atomically (a temp folder renamed at the end).
"""
from __future__ import annotations

import json
import math
import os
from collections import Counter

import numpy as np

from stad.data.boxes import iou_matrix
from stad.errors import StadError
from stad.io.atomic import atomic_folder, link_or_copy
from stad.io.layout import DataLayout

TRUTH_FILE = 'truth.json'
ANNOTATION_STEM = 'annotations'
# a range must overlap a frame's interval by more than this many frames to include it
FRAME_EPS = 1e-3
# createml-folders clips: the actor's boxes' union grown by this share of its size a side
CROP_MARGIN = 0.25
# createml-folders: tubes shorter than this many frames make no clip (a 2-frame walk at the
# image edge is no action example, is shorter than an action model's clip, and decord
# fails on such a clip)
MIN_CLIP_FRAMES = 16


def range_of_frames(first: int, last: int, fps: float) -> tuple[float, float]:
    """``(start, end)`` seconds of frames ``first..last`` (1-based, inclusive)."""
    return (first - 1) / fps, last / fps


def frames_of_range(start_s: float, end_s: float, fps: float) -> tuple[int, int]:
    """1-based frames ``(first, last)`` shown in ``[start_s, end_s]`` (module docstring);
    ``last < first`` when the range is shorter than a frame."""
    first = int(math.floor(start_s * fps + FRAME_EPS)) + 1
    last = int(math.ceil(end_s * fps - FRAME_EPS))
    return first, last


def tube_person(tube: np.ndarray, mot: np.ndarray | None) -> int | None:
    """The MOT id whose boxes match ``tube`` (T, 5) best: per frame the id of the box of
    highest IoU (>= 0.5), then the most frequent; None without MOT rows or a match."""
    if mot is None or not len(mot):
        return None
    from stad.io.mot import to_xyxy
    boxes = to_xyxy(mot)
    votes: Counter = Counter()
    for f, *box in np.asarray(tube, dtype=np.float64):
        rows = np.flatnonzero(mot[:, 0] == f)
        if not len(rows):
            continue
        iou = iou_matrix(box, boxes[rows])[0]
        if iou.max() >= 0.5:
            votes[int(mot[rows[int(iou.argmax())], 1])] += 1
    return votes.most_common(1)[0][0] if votes else None


def _native(native_root: str):
    """Ground truth, layout, split of each video, MOT rows (or None) of each video."""
    from stad.data.formats.common import split_of
    from stad.data.gt import load_gt
    from stad.io.mot import load_mot
    layout = DataLayout(os.path.abspath(native_root))
    if not os.path.isfile(layout.gt_file):
        raise StadError(f'{native_root}: not a stad dataset root (no {layout.gt_file})')
    gt = load_gt(layout.gt_file)
    splits = {v: split_of(gt, v) for v in gt['gttubes']}
    mots = {v: (load_mot(layout.mot_gt(v)) if os.path.isfile(layout.mot_gt(v)) else None)
            for v in gt['gttubes']}
    return gt, layout, splits, mots


def _file_names(videos) -> dict[str, str]:
    """A file name stem per video id: its name, or ``<sport>_<name>`` when two sports
    share a name."""
    names = Counter(v.rsplit('/', 1)[-1] for v in videos)
    return {v: (v.rsplit('/', 1)[-1] if names[v.rsplit('/', 1)[-1]] == 1
                else v.replace('/', '_')) for v in videos}


def _tubes(gt: dict, video: str, mot) -> list[tuple[str, np.ndarray, int | None]]:
    """``(label name, tube, person)`` of a video, by start frame, then label."""
    out = []
    for label, tubes in sorted(gt['gttubes'][video].items()):
        for tube in tubes:
            tube = np.asarray(tube, dtype=np.float64)
            out.append((gt['labels'][int(label)], tube, tube_person(tube, mot)))
    out.sort(key=lambda t: (t[1][0, 0], t[0]))
    return out


def _boxes(tube: np.ndarray, offset: int = 0) -> list[list[float]]:
    return [[int(r[0]) - offset, *(round(float(x), 2) for x in r[1:5])] for r in tube]


def _write_truth(tmp: str, fmt: str, native_root: str, entries: list[dict]) -> None:
    head = dict(format=fmt, source=os.path.abspath(native_root),
                frames='frame f (1-based) of a file shows [(f - 1) / fps, f / fps) s; '
                       'boxes are [frame of the written file, x1, y1, x2, y2] pixels')
    # one entry a line: readable, and a diff shows which clip changed
    text = json.dumps(head)[:-1] + ', "entries": [\n' \
        + ',\n'.join(json.dumps(e) for e in entries) + '\n]}\n'
    with open(os.path.join(tmp, TRUTH_FILE), 'w') as f:
        f.write(text)


def crop_of(tube: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` integer crop around a tube's boxes (module docstring)."""
    x1, y1 = tube[:, 1].min(), tube[:, 2].min()
    x2, y2 = tube[:, 3].max(), tube[:, 4].max()
    mx, my = CROP_MARGIN * (x2 - x1), CROP_MARGIN * (y2 - y1)
    a, b = max(0, math.floor(x1 - mx)), max(0, math.floor(y1 - my))
    c, d = min(width, math.ceil(x2 + mx)), min(height, math.ceil(y2 + my))
    # even sizes (yuv420p H.264): grow by a pixel where the frame allows, else shrink
    if (c - a) % 2:
        c, a = (c + 1, a) if c < width else ((c, a - 1) if a > 0 else (c - 1, a))
    if (d - b) % 2:
        d, b = (d + 1, b) if d < height else ((d, b - 1) if b > 0 else (d - 1, b))
    return a, b, c, d


def _label_dir(label: str) -> str:
    return label.replace('/', '_').replace('\\', '_').strip() or 'label'


def write_createml_folders(native_root: str, out: str, *, overwrite: bool = False,
                           min_frames: int = MIN_CLIP_FRAMES) -> dict:
    """Write ``native_root`` as Create ML labelled folders, one clip per tube (module
    docstring), and ``truth.json``.

    Returns:
        ``{'clips': n, 'labels': [...], 'out': out}``.

    Raises:
        StadError: not a dataset root, invalid ground truth, ``out`` exists (without
            ``overwrite``), a video that cannot be read or written.
    """
    from stad.data.formats.common import probe_video
    from stad.io.video import VideoFrames, write_mp4
    gt, layout, splits, mots = _native(native_root)
    names = _file_names(gt['gttubes'])
    entries = []
    with atomic_folder(out, overwrite=overwrite) as tmp:
        for video in sorted(gt['gttubes']):
            tubes = _tubes(gt, video, mots[video])
            if not tubes:
                continue
            path = layout.video_path(video)
            info = probe_video(path)
            frames = VideoFrames(path)
            count: Counter = Counter()
            for label, tube, person in tubes:
                if len(tube) < min_frames:
                    continue
                who = f'p{person}' if person is not None else 't'
                count[(who, label)] += 1
                rel = os.path.join(splits[video], _label_dir(label),
                                   f'{names[video]}_{who}_{count[(who, label)]}.mp4')
                first, last = int(tube[0, 0]), int(tube[-1, 0])
                os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)

                x0, y0, x1, y1 = crop_of(tube, info.width, info.height)

                def chunks(first=first, last=last, x0=x0, y0=y0, x1=x1, y1=y1):
                    for s in range(first - 1, last, 32):
                        for f in frames.frames(range(s, min(s + 32, last))):
                            yield np.ascontiguousarray(f[y0:y1, x0:x1])

                n = write_mp4(chunks(), os.path.join(tmp, rel), fps=info.fps,
                              size=(x1 - x0, y1 - y0))
                if n != last - first + 1:
                    raise StadError(f'{path}: wrote {n} of frames {first}..{last}')
                entries.append(dict(file=rel.replace(os.sep, '/'), split=splits[video],
                                    label=label, person=person, video=video,
                                    source_frames=[first, last], fps=info.fps,
                                    first_frame=1, last_frame=last - first + 1,
                                    crop=[x0, y0, x1, y1],
                                    boxes=_boxes(tube - [0, x0, y0, x0, y0],
                                                 offset=first - 1)))
        _write_truth(tmp, 'createml-folders', native_root, entries)
    return dict(clips=len(entries), labels=sorted({e['label'] for e in entries}),
                out=os.path.abspath(out))


def write_createml_csv(native_root: str, out: str, *, overwrite: bool = False) -> dict:
    """Write ``native_root`` as Create ML annotated videos: per split the full videos,
    ``annotations.csv`` and ``annotations.json`` with one entry per tube (its frames as
    seconds, module docstring), and ``truth.json``.

    Returns:
        ``{'entries': n, 'videos': n, 'labels': [...], 'out': out}``.

    Raises:
        StadError: as :func:`write_createml_folders`.
    """
    from stad.data.formats.common import probe_video
    from stad.io.createml import annotation_csv, annotation_json
    gt, layout, splits, mots = _native(native_root)
    names = _file_names(gt['gttubes'])
    rows: dict[str, list[dict]] = {}
    entries = []
    videos = 0
    with atomic_folder(out, overwrite=overwrite) as tmp:
        for video in sorted(gt['gttubes']):
            tubes = _tubes(gt, video, mots[video])
            if not tubes:
                continue
            src = layout.video_path(video)
            info = probe_video(src)
            split = splits[video]
            rel = f'{split}/{names[video]}.mp4'
            link_or_copy(src, os.path.join(tmp, split, f'{names[video]}.mp4'))
            videos += 1
            for label, tube, person in tubes:
                first, last = int(tube[0, 0]), int(tube[-1, 0])
                start, end = range_of_frames(first, last, info.fps)
                rows.setdefault(split, []).append(
                    dict(video=f'{names[video]}.mp4', label=label, start=start, end=end))
                entries.append(dict(file=rel, split=split, label=label, person=person,
                                    video=video, start=start, end=end, fps=info.fps,
                                    first_frame=first, last_frame=last, boxes=_boxes(tube),
                                    line=len(rows[split]) + 1))
        for split, rs in rows.items():
            with open(os.path.join(tmp, split, f'{ANNOTATION_STEM}.csv'), 'w') as f:
                f.write(annotation_csv(rs))
            with open(os.path.join(tmp, split, f'{ANNOTATION_STEM}.json'), 'w') as f:
                f.write(annotation_json(rs))
        _write_truth(tmp, 'createml-csv', native_root, entries)
    return dict(entries=len(entries), videos=videos,
                labels=sorted({e['label'] for e in entries}), out=os.path.abspath(out))
