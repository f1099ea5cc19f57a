"""``stad import createml``: Create ML action classifier data -> a stad dataset root, the
people found and boxed by stad itself.

Create ML's data (labelled folders, or one annotation file of ``video, label, start,
end``; :mod:`stad.io.createml`) says which action happens when, not who does it nor
where. For each labelled range this module

1. runs the person detector on every frame of the range (one decoding pass per video;
   ranges of a video less than :data:`SPAN_GAP` frames apart share one pass and one
   tracking run, so that their track ids agree);
2. links the boxes into tracks (:mod:`stad.apis.tracking`, ByteTrack or OC-SORT): a
   track starts from a box of score >= ``score_thr``, boxes down to
   :data:`DETECT_THR` continue one;
3. picks the dominant person by Create ML's rule, "the largest, most present person",
   scored as the track's box area as a fraction of the image averaged over every frame
   of the range, absent frames counted as 0
   (:func:`stad.evaluation.functional.dominant.dominant_tracks`); of two overlapping
   ranges of one video with the same label the second gets the best track the first
   did not take;
4. writes that track's boxes over the range as the tube of the label: gaps of up to
   ``max_gap`` frames where the track has no box are filled by linear interpolation
   between the boxes on either side, a longer gap ends the tube and the next box
   starts another (a tube covers consecutive frames); the tube runs from the track's
   first to its last box in the range, not beyond.

It reports, per range, the chosen track, its coverage of the range and score, the
runner-up's, and what was interpolated or cut (:attr:`ImportSummary.lines`, and
``import.json`` in the root); a range where no track is found is an error naming the
video and the range. A contact sheet per video (``<root>/contact_sheets/<video
id>.png``: a few frames of each range, the chosen box drawn thick with its label and
track, the other tracked boxes thin) shows at a glance whether the right person was
taken. Everything is written at once and validated (:func:`write_dataset`): a failing
import writes nothing.

A label named as the negative class (Create ML's class of irrelevant actions) is trained
like any other and recorded in the ground truth as ``negative_labels: [name]``, which
evaluation leaves out of the mean AP.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from stad.data.boxes import iou_pairwise
from stad.data.formats.common import (
    ImportSummary,
    VideoInfo,
    build_gt,
    make_video_id,
    probe_video,
    split_of,
    split_train_val,
    tube_array,
    write_dataset,
)
from stad.data.formats.createml import frames_of_range
from stad.errors import StadError
from stad.evaluation.functional.dominant import TrackScore, dominant_tracks
from stad.io.createml import LabelledRange, read_createml_source

#: boxes the detector keeps (ByteTrack's low threshold: such boxes continue a track)
DETECT_THR = 0.1
#: ranges of one video closer than this many frames share one tracking run
SPAN_GAP = 30
#: default longest gap (frames) of the chosen track filled by interpolation
MAX_GAP = 10
#: contact sheet: frames per range, frames per sheet, width of a tile (pixels)
SHEET_PER_RANGE, SHEET_MAX, SHEET_TILE_W = 4, 12, 320
# palette indices of stad.visualization.draw: the chosen box green, the others blue
_CHOSEN_COLOUR, _OTHER_COLOUR = 2, 1
#: ground-truth key listing the negative class (left out of the mean AP)
NEGATIVE_KEY = 'negative_labels'


@dataclass
class RangeResult:
    """What auto-labelling found for one labelled range."""

    source: LabelledRange
    video: str  # video id
    label: str
    first: int  # frame range, 1-based inclusive
    last: int
    chosen: TrackScore
    runner_up: TrackScore | None
    tubes: list[np.ndarray] = field(default_factory=list)
    interpolated: int = 0  # frames filled
    cuts: list[tuple[int, int]] = field(default_factory=list)  # (after frame, gap length)
    note: str = ''
    gt_tubes: list[tuple[int, int]] = field(default_factory=list)  # (label, index) in gttubes

    def line(self) -> str:
        c = self.chosen
        out = (f'{self.video} [{self.label}] frames {self.first}-{self.last}: track {c.track_id} '
               f'(coverage {c.coverage:.0%}, score {c.score:.4f})')
        r = self.runner_up
        out += (f'; runner-up track {r.track_id} (coverage {r.coverage:.0%}, score '
                f'{r.score:.4f})' if r is not None else '; no runner-up')
        k = len(self.tubes)
        out += f' -> {k} tube{"s" * (k != 1)}'
        if self.interpolated:
            out += f', {self.interpolated} frames interpolated'
        for after, gap in self.cuts:
            out += f', cut at a gap of {gap} frames after frame {after}'
        return out + (f' ({self.note})' if self.note else '')

    def record(self) -> dict:
        def ts(t):
            return None if t is None else dict(track=t.track_id, score=round(t.score, 6),
                                               coverage=round(t.coverage, 4),
                                               mean_area=round(t.mean_area, 6))
        return dict(video=self.video, file=self.source.video_path, where=self.source.where,
                    label=self.label, start_s=self.source.start_s, end_s=self.source.end_s,
                    frames=[self.first, self.last], chosen=ts(self.chosen),
                    runner_up=ts(self.runner_up),
                    tubes=[[int(t[0, 0]), int(t[-1, 0])] for t in self.tubes],
                    gt_tubes=[list(t) for t in self.gt_tubes],
                    interpolated=self.interpolated, cuts=[list(c) for c in self.cuts],
                    note=self.note)


# ------------------------------------------------------------------------ the pieces

def tracker_options(kind: str, score_thr: float) -> dict:
    """:func:`stad.apis.tracking.track_frames` options for ``score_thr``: a track starts
    from a box scoring above it and is continued by boxes down to :data:`DETECT_THR`."""
    if not 0.0 < score_thr < 1.0:
        raise StadError(f'score threshold must be in (0, 1), got {score_thr}')
    low = min(DETECT_THR, score_thr / 2)
    if kind == 'bytetrack':
        return dict(init_thr=score_thr, obj_score_thrs=dict(high=min(0.6, score_thr), low=low))
    if kind == 'ocsort':
        return dict(init_thr=score_thr, obj_score_thr=min(0.3, score_thr))
    return dict(init_thr=score_thr)


def tube_runs(frames: np.ndarray, boxes: np.ndarray, *, max_gap: int
              ) -> tuple[list[np.ndarray], int, list[tuple[int, int]]]:
    """One track's boxes -> tubes of consecutive frames.

    Args:
        frames: ``(N,)`` 1-based frames, increasing, unique.
        boxes: ``(N, 4)`` pixels.
        max_gap: gaps of at most this many missing frames are filled by linear
            interpolation; a longer gap starts a new tube.

    Returns:
        ``(tubes, interpolated frames, cuts)``: tubes ``(T, 5)`` float64 ``frame, x1, y1,
        x2, y2``; cuts ``(last frame before the gap, gap length)``.
    """
    frames = np.asarray(frames, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    tubes, run, cuts, filled = [], [], [], 0
    for i, (f, b) in enumerate(zip(frames, boxes)):
        if run:
            gap = int(f - frames[i - 1] - 1)
            if gap > max_gap:
                tubes.append(np.asarray(run))
                cuts.append((int(frames[i - 1]), gap))
                run = []
            elif gap > 0:
                prev = boxes[i - 1]
                for k in range(1, gap + 1):
                    w = k / (gap + 1)
                    run.append([frames[i - 1] + k, *((1 - w) * prev + w * b)])
                filled += gap
        run.append([f, *b])
    if run:
        tubes.append(np.asarray(run))
    return [np.asarray(t, dtype=np.float64) for t in tubes], filled, cuts


def _spans(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Frame ranges merged where they overlap or lie < :data:`SPAN_GAP` frames apart."""
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + SPAN_GAP:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _sheet_frames(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(range index, frame)`` shown on the contact sheet: up to
    :data:`SHEET_PER_RANGE` frames spread over each range, :data:`SHEET_MAX` in all."""
    per = max(1, min(SHEET_PER_RANGE, SHEET_MAX // max(1, len(ranges))))
    out = []
    for i, (a, b) in enumerate(ranges):
        for f in sorted({int(round(x)) for x in np.linspace(a, b, per)}):
            out.append((i, f))
    return out[:SHEET_MAX]


def _detect(detector, path: str, wanted: set[int], keep: set[int], batch_size: int,
            progress) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Run ``detector`` on frames ``wanted`` of ``path`` (one decoding pass, stops after
    the last): ``({frame: (N, 5) boxes and scores}, {frame: BGR image} of keep)``."""
    from stad.io.video import iter_frame_batches
    dets, images = {}, {}
    last = max(wanted | keep)
    todo_n, todo_f = [], []

    def flush():
        for n, d in zip(todo_n, detector(todo_f)):
            dets[n] = np.asarray(d, dtype=np.float32).reshape(-1, 5)
        if progress is not None:
            progress.update(len(todo_n))
        todo_n.clear()
        todo_f.clear()

    batches = iter_frame_batches(path, batch_size=batch_size)
    try:
        for numbers, frames in batches:
            for n, f in zip(numbers, frames):
                if n in keep:
                    images[n] = f
                if n in wanted:
                    todo_n.append(n)
                    todo_f.append(f)
                    if len(todo_n) == batch_size:
                        flush()
            if numbers[-1] >= last:
                break
    finally:
        batches.close()
    if todo_n:
        flush()
    return dets, images


def _track(dets: dict[int, np.ndarray], spans, tracker: str, options: dict):
    """Track each span: ``(frames, ids, boxes)`` of every tracked box (ids unique over
    the spans)."""
    from stad.apis.tracking import track_frames
    frames, ids, boxes = [], [], []
    offset = 0
    empty = np.zeros((0, 5), np.float32)
    for a, b in spans:
        seq = [dets.get(f, empty) for f in range(a, b + 1)]
        for f, d, t in zip(range(a, b + 1), seq, track_frames(seq, tracker, **options)):
            keep = t > 0
            frames.append(np.full(int(keep.sum()), f))
            ids.append(t[keep] + offset)
            boxes.append(d[keep, :4])
        top = max((int(x.max()) for x in ids if len(x)), default=offset)
        offset = top
    if not frames:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4))
    return (np.concatenate(frames).astype(np.int64), np.concatenate(ids).astype(np.int64),
            np.concatenate(boxes).astype(np.float64))


def _track_boxes(frames, ids, boxes, track: int, a: int, b: int):
    """The track's boxes on frames ``a..b``, one per frame (the largest), by frame."""
    sel = (ids == track) & (frames >= a) & (frames <= b)
    f, bx = frames[sel], boxes[sel]
    area = (bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1])
    order = np.lexsort((-area, f))
    f, bx = f[order], bx[order]
    first = np.ones(len(f), dtype=bool)
    first[1:] = f[1:] != f[:-1]
    return f[first], bx[first]


def _contact_sheet(images: dict[int, np.ndarray], shown: list[tuple[int, int]],
                   results: list[RangeResult], frames, ids, boxes) -> bytes:
    """PNG bytes: the frames ``shown`` in a grid, the chosen tube's box drawn thick with
    ``label #track``, the other tracked boxes thin."""
    import cv2

    from stad.visualization.draw import draw_boxes
    tiles = []
    for i, f in shown:
        img = images.get(f)
        if img is None:
            continue
        r = results[i]
        # tiles SHEET_TILE_W wide (small videos enlarged up to 2x), boxes drawn after
        scale = min(2.0, SHEET_TILE_W / img.shape[1])
        if scale != 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        others = boxes[(frames == f) & (ids != r.chosen.track_id)] * scale
        img = draw_boxes(img, others, colours=[_OTHER_COLOUR] * len(others))
        mine = [t[t[:, 0] == f, 1:5] for t in r.tubes]
        mine = np.concatenate(mine) * scale if mine else np.zeros((0, 4))
        img = draw_boxes(img, mine, texts=[f'{r.label} #{r.chosen.track_id}'] * len(mine),
                         colours=[_CHOSEN_COLOUR] * len(mine), thickness=2)
        cv2.putText(img, f'frame {f}', (3, img.shape[0] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(img)
    if not tiles:
        tiles = [np.zeros((32, 32, 3), np.uint8)]
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    cols = min(4, len(tiles))
    rows = -(-len(tiles) // cols)
    sheet = np.zeros((rows * (h + 2), cols * (w + 2), 3), np.uint8)
    for k, t in enumerate(tiles):
        y, x = (k // cols) * (h + 2), (k % cols) * (w + 2)
        sheet[y:y + t.shape[0], x:x + t.shape[1]] = t
    ok, png = cv2.imencode('.png', sheet)
    if not ok:
        raise StadError('cannot encode a contact sheet as PNG')
    return png.tobytes()


def _range_frames(r: LabelledRange, info: VideoInfo) -> tuple[int, int]:
    """The range's 1-based frames in the video (see
    :func:`stad.data.formats.createml.frames_of_range`), checked against its length."""
    fps, n = info.fps, info.nframes
    where = r.where
    duration = n / fps
    end = duration if r.end_s is None else r.end_s
    if r.start_s >= duration:
        raise StadError(f'{where}: start {r.start_s:g} s is not before the end of the video '
                        f'({n} frames at {fps:g} fps = {duration:g} s, {r.video_path})')
    if end > duration + 1.0 / fps:
        raise StadError(f'{where}: end {end:g} s is after the end of the video ({n} frames '
                        f'at {fps:g} fps = {duration:g} s, {r.video_path})')
    first, last = frames_of_range(r.start_s, min(end, duration), fps)
    if last < first:
        raise StadError(f'{where}: range {r.start_s:g}-{end:g} s is shorter than one frame '
                        f'at {fps:g} fps')
    return first, last


def _video_ids(ranges: list[LabelledRange], kind: dict[str, str]) -> dict[str, str]:
    """A unique video id per video file: ``<group>/<name>``, the group being the label
    folder (labelled folders) or the folder holding the video (annotation file); a
    clash gets ``_2``, ``_3``, ..."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for r in ranges:
        if r.video_path in out:
            continue
        group = r.label if kind[r.video_path] == 'folders' else \
            os.path.basename(os.path.dirname(r.video_path))
        vid = base = make_video_id(group, r.video_path)
        k = 2
        while vid in used:
            vid, k = f'{base}_{k}', k + 1
        used.add(vid)
        out[r.video_path] = vid
    return out


def load_frame_detector(det_config: str, det_checkpoint: str, *, device: str = 'cpu'):
    """The person detector as a frames -> boxes callable (:class:`FrameDetector`) keeping
    boxes of score >= :data:`DETECT_THR`."""
    from stad.apis.detect import FrameDetector, load_detector
    model = load_detector(det_config, det_checkpoint, device=device)
    return FrameDetector(model, score_thr=DETECT_THR, max_per_frame=10)


# ------------------------------------------------------------------------ the import

def import_createml(src: str, out_root: str, *, det_config: str | None = None,
                    det_checkpoint: str | None = None, tracker: str = 'bytetrack',
                    negative_class: str | None = None, score_thr: float = 0.5,
                    val_fraction: float = 0.25, val: list[str] | None = None,
                    overwrite: bool = False, contact_sheets: bool = True,
                    progress: bool = True, max_gap: int = MAX_GAP, batch_size: int = 8,
                    detector=None) -> ImportSummary:
    """Import a Create ML action classifier source, labelling the people with a detector
    and a tracker (module docstring).

    Args:
        src: an annotation file (CSV / JSON), a folder holding one, a folder of labelled
            folders, or a folder of ``train/`` and ``val/`` (``test/``) such sources
            (:func:`stad.io.createml.read_createml_source`).
        out_root: the dataset root to write (MultiSports layout).
        det_config, det_checkpoint: the mmdet person detector.
        tracker: ``'bytetrack'`` or ``'ocsort'`` (:mod:`stad.apis.tracking`).
        negative_class: a label to record as Create ML's negative class.
        score_thr: a person track starts from a box of this score or more.
        val_fraction, val: the val split when ``src`` has no ``val/`` source: ``val``
            lists video ids or video files, else every ``1 / val_fraction``-th video.
        overwrite: replace an existing ``out_root``.
        contact_sheets: write ``contact_sheets/<video id>.png``.
        progress: show a progress bar over the frames detected.
        max_gap: longest gap (frames) of the chosen track filled by interpolation.
        batch_size: frames per detector call (speed only).
        detector: instead of ``det_config`` / ``det_checkpoint``, a callable taking a
            list of BGR frames and returning per frame an ``(N, 5)`` array of person
            boxes (pixels) and scores, as :class:`stad.apis.detect.FrameDetector` does.

    Returns:
        The :class:`ImportSummary`; ``lines`` holds one line per labelled range.

    Raises:
        StadError: a bad source (naming file and line), a range outside its video, an
            unknown negative class, a range where no person is found (naming the video
            and the range), or what :func:`write_dataset` refuses.
    """
    from stad.apis.tracking import check_tracker_options
    from stad.progress import progress_bar
    check_tracker_options(tracker)
    options = tracker_options(tracker, score_thr)
    if max_gap < 0:
        raise StadError(f'max gap must be >= 0 frames, got {max_gap}')
    out_abs = os.path.abspath(out_root)
    if os.path.isdir(out_abs) and os.listdir(out_abs) and not overwrite:  # before any work
        raise StadError(f'{out_abs} exists and is not empty (pass --overwrite to replace it)')
    by_split = read_createml_source(src)
    ranges = [r for rs in by_split.values() for r in rs]
    kinds = {r.video_path: ('folders' if r.where == r.video_path else 'annotation')
             for r in ranges}
    labels = sorted({r.label for r in ranges})
    if negative_class is not None and negative_class not in labels:
        raise StadError(f'negative class {negative_class!r} is not a label of {src} '
                        f'(labels: {", ".join(labels)})')
    vids = _video_ids(ranges, kinds)
    infos = {vids[p]: probe_video(p) for p in dict.fromkeys(r.video_path for r in ranges)}
    per_video: dict[str, list[tuple[LabelledRange, int, int]]] = {}
    for r in ranges:
        a, b = _range_frames(r, infos[vids[r.video_path]])
        per_video.setdefault(vids[r.video_path], []).append((r, a, b))

    if detector is None:
        if not det_config or not det_checkpoint:
            raise StadError('a person detector is needed (--det-config and --det-checkpoint): '
                            'Create ML data has no boxes')
        detector = load_frame_detector(det_config, det_checkpoint)

    spans_of = {v: _spans([(a, b) for _, a, b in rs]) for v, rs in per_video.items()}
    total = sum(b - a + 1 for ss in spans_of.values() for a, b in ss)
    results: list[RangeResult] = []
    tubes: dict[str, dict[int, list[np.ndarray]]] = {}
    extra: dict[str, bytes] = {}
    with progress_bar(total=total, desc='autolabel frames', unit='frame',
                      disable=not progress) as bar:
        for vid in sorted(per_video):
            info, rs = infos[vid], per_video[vid]
            spans = spans_of[vid]
            wanted = {f for a, b in spans for f in range(a, b + 1)}
            shown = _sheet_frames([(a, b) for _, a, b in rs]) if contact_sheets else []
            dets, images = _detect(detector, info.path, wanted, {f for _, f in shown},
                                   batch_size, bar)
            frames, ids, boxes = _track(dets, spans, tracker, options)
            video_results = []
            for r, a, b in rs:
                ranking = dominant_tracks(frames, ids, boxes, start=a, end=b,
                                          image_area=info.width * info.height)
                if not ranking:
                    where = f' ({r.where})' if r.where != r.video_path else ''
                    raise StadError(f'{r.video_path}: no person found over frames {a}..{b} '
                                    f'({(a - 1) / info.fps:g}-{b / info.fps:g} s) of the '
                                    f'range labelled {r.label!r}{where}')
                taken = {x.chosen.track_id for x in video_results
                         if x.label == r.label and x.first <= b and a <= x.last}
                free = [t for t in ranking if t.track_id not in taken]
                note = ''
                if not free:
                    free = ranking
                    note = 'the same track as an overlapping range of this label'
                chosen = free[0]
                runner = next((t for t in ranking if t.track_id != chosen.track_id), None)
                f, bx = _track_boxes(frames, ids, boxes, chosen.track_id, a, b)
                bx = tube_array(np.column_stack([f, bx]), info)[:, 1:]  # clipped to the image
                keep = (bx[:, 2] > bx[:, 0]) & (bx[:, 3] > bx[:, 1])
                runs, filled, cuts = tube_runs(f[keep], bx[keep], max_gap=max_gap)
                res = RangeResult(r, vid, r.label, a, b, chosen, runner, runs, filled, cuts,
                                  note)
                video_results.append(res)
                tubes.setdefault(vid, {}).setdefault(labels.index(r.label), []).extend(runs)
            results.extend(video_results)
            if contact_sheets:
                extra[f'contact_sheets/{vid}.png'] = _contact_sheet(
                    images, shown, video_results, frames, ids, boxes)

    for ts in tubes.values():
        for k in ts:
            ts[k].sort(key=lambda t: (t[0, 0], t[-1, 0]))
    for x in results:  # where each range's tubes ended up in the ground truth
        k = labels.index(x.label)
        x.gt_tubes = [(k, next(i for i, t in enumerate(tubes[x.video][k]) if t is run))
                      for run in x.tubes]
    train, val_ids = _split(by_split, vids, infos, val_fraction, val)
    gt = build_gt(labels, infos, tubes, train, val_ids)
    if negative_class is not None:
        gt[NEGATIVE_KEY] = [negative_class]
    lines = [x.line() for x in results]
    for vid in sorted(infos):
        lines.append(f'{vid} ({infos[vid].path}): {infos[vid].fps:g} fps, '
                     f'{infos[vid].nframes} frames, {split_of(gt, vid)}')
    if contact_sheets:
        lines.append(f'contact sheets: {os.path.join(os.path.abspath(out_root), "contact_sheets")}')
    record = dict(format='createml', src=os.path.abspath(src),
                  detector=dict(config=det_config, checkpoint=det_checkpoint),
                  tracker=tracker, score_thr=score_thr, max_gap=max_gap,
                  rule='score = sum over the range of box area / ((end - start + 1) * image '
                       'area): Create ML\'s largest, most present person',
                  negative_labels=[negative_class] if negative_class else [],
                  labels=labels, ranges=[x.record() for x in results], lines=lines)
    extra['import.json'] = json.dumps(record, indent=1).encode()
    source = os.path.basename(os.path.abspath(src))
    layout = write_dataset(out_root, gt, infos, overwrite=overwrite, source=source,
                           extra=extra)
    n_tubes = sum(len(t) for ts in tubes.values() for t in ts.values())
    return ImportSummary(layout=layout, videos=len(infos), tubes=n_tubes, labels=labels,
                         lines=lines)


def _split(by_split, vids, infos, val_fraction, val):
    """Train and val video ids: the source's ``val/`` split, else ``val`` (ids or
    files), else every ``1 / val_fraction``-th video."""
    if val is not None:
        by_path = {os.path.abspath(p): v for p, v in vids.items()}
        by_name = {}
        for p, v in vids.items():
            by_name.setdefault(os.path.basename(p), []).append(v)
        chosen = []
        for item in val:
            if item in infos:
                chosen.append(item)
            elif os.path.abspath(item) in by_path:
                chosen.append(by_path[os.path.abspath(item)])
            elif len(by_name.get(item, [])) == 1:
                chosen.append(by_name[item][0])
            else:
                raise StadError(f'val video {item!r} is not a video of the import')
        return split_train_val(list(infos), val=chosen)
    if 'val' in by_split:
        val_ids = sorted({vids[r.video_path] for r in by_split['val']})
        return split_train_val(list(infos), val=val_ids)
    return split_train_val(list(infos), val_fraction=val_fraction)


# ------------------------------------------------------------------------ measurement

def check_against_truth(root: str, truth_file: str, *, iou: float = 0.5) -> dict:
    """How often auto-labelling took the true actor: for every entry of ``truth_file``
    (what :mod:`stad.data.formats.createml` writes next to its output), the imported
    tube(s) of its file and label over its frames against its true boxes.

    An entry counts as right when the imported boxes overlap the true ones with a mean
    IoU >= ``iou`` over the frames both have, and its frame coverage is the share of its
    true frames the imported tubes cover.

    Returns:
        ``{'entries': n, 'right': k, 'accuracy': k / n, 'mean_iou': ..., 'frame_coverage':
        ..., 'wrong': [file, ...]}``.
    """
    from stad.data.gt import load_gt
    from stad.io.layout import DataLayout
    layout = DataLayout(os.path.abspath(root))
    gt = load_gt(layout.gt_file)
    with open(os.path.join(layout.root, 'import.json')) as f:
        record = json.load(f)
    with open(truth_file) as f:
        truth = json.load(f)
    base = os.path.dirname(os.path.abspath(truth_file))
    ranges = {}
    for r in record['ranges']:
        ranges.setdefault((os.path.realpath(r['file']), r['label'], tuple(r['frames'])),
                          []).append(r)
    n = right = 0
    ious, covs, wrong = [], [], []
    for e in truth['entries']:
        key = (os.path.realpath(os.path.join(base, e['file'])), e['label'],
               (int(e['first_frame']), int(e['last_frame'])))
        if not ranges.get(key):
            continue
        r = ranges[key].pop(0)  # entries of one file, label and frames: in order
        true = {int(b[0]): np.asarray(b[1:5], float) for b in e['boxes']}
        got = {}
        for k, i in r['gt_tubes']:
            for row in np.asarray(gt['gttubes'][r['video']][k][i]):
                got[int(row[0])] = row[1:5]
        common = sorted(set(true) & set(got))
        n += 1
        m = float(np.mean([float(iou_pairwise(true[f], got[f])) for f in common])) if common else 0.0
        ious.append(m)
        covs.append(len(common) / len(true))
        if m >= iou:
            right += 1
        else:
            wrong.append(e['file'])
    return dict(entries=n, right=right, accuracy=right / n if n else 0.0,
                mean_iou=float(np.mean(ious)) if ious else 0.0,
                frame_coverage=float(np.mean(covs)) if covs else 0.0, wrong=wrong)
