"""MultiSports ground truth: safe loading and schema validation.

The schema (see docs/stack.md)::

    labels        list[str]                          class names; a label is its index
    negative_labels list[str] (optional)             the negative class(es) (Create ML's):
                                                     trained like any other, left out of
                                                     the mean AP
    train_videos  [[video, ...]]                     one list of video ids (optional)
    test_videos   [[video, ...]]                     the val split
    nframes       {video: int}
    resolution    {video: (h, w)}
    gttubes       {video: {label: [array (T, 5)]}}   frame (1-based), x1, y1, x2, y2 pixels

A video id is ``'<sport>/<video>'``, a relative path (see
:func:`stad.io.layout.video_id_problem`).

Loading: :func:`read_gt_pickle` uses stad's restricted loader
(:mod:`stad.io.safe_pickle`): plain containers and numpy arrays only; any other global
is refused before anything of it runs.

Validation (:func:`check_gt`) reports every issue, each naming the video, label, tube
and field. What is an error and what only a warning:

errors (converters and evaluation would produce wrong output):
    not a dict; a missing key (``n_frames`` instead of ``nframes`` says "did you mean
    nframes"); a video id (of any field) that is not a relative ``'<sport>/<video>'``
    path: absolute, with a ``..`` component (frames would be written outside the
    dataset root), holding a comma (it breaks the ``'video,frame'`` img key and the
    CSV rows) or a control character such as a newline; a video of ``gttubes`` or of
    a split without ``nframes``/``resolution``;
    a label outside ``range(len(labels))``; a tube that is not a (T, 5) array, is empty,
    has a frame outside ``1..nframes`` or a non-integer frame, a duplicated frame,
    frames not in increasing order, or a gap between its frames (the MultiSports
    evaluator assumes a tube covers consecutive frames: split it into two tubes),
    ``x2 < x1`` or ``y2 < y1``, a zero-width (``x2 == x1``) or zero-height
    (``y2 == y1``) box, or a box that leaves the image by more than
    :data:`OVERSHOOT_TOL_PX` pixels or :data:`OVERSHOOT_TOL_FRAC` of the image side
    (whichever is larger).
warnings (the data is usable; converters handle it):
    a box that overshoots the image by at most that tolerance (real MultiSports boxes
    overshoot by a pixel or so; every converter clips boxes to the image);
    ``train_videos`` missing (real files can lack it: the train split is then every
    video of ``gttubes`` not in ``test_videos``, see :func:`split_videos`);
    a split video absent from ``gttubes`` (a video without annotated actions: it
    contributes no sample); a ``gttubes`` video in no split; a video in both splits.

:func:`check_videos` (``stad check --videos``) compares the video files with
``nframes`` and ``resolution``: a missing or unreadable video, another size, or another
frame count (the container header's, or with ``count_frames=True`` the number of frames
that actually decode, which catches a truncated file whose header still says the
full count; ``stad check --videos`` counts unless given ``--header-only``) are errors.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stad.errors import StadError
from stad.io.layout import GT_SPLIT_KEYS, SPLITS, video_id_problem
from stad.io.safe_pickle import load_pickle

REQUIRED_KEYS = ('labels', 'test_videos', 'nframes', 'resolution', 'gttubes')
OVERSHOOT_TOL_PX = 2.0
OVERSHOOT_TOL_FRAC = 0.02

ERROR = 'error'
WARNING = 'warning'

# ----------------------------------------------------------------------------- loading

def read_gt_pickle(path: str) -> Any:
    """Unpickle ``path`` with stad's restricted loader (:mod:`stad.io.safe_pickle`), no
    validation.

    Raises:
        StadError: the file is missing, not a pickle, or refers to another global.
    """
    return load_pickle(path, 'ground truth file')


# -------------------------------------------------------------------------- validation

@dataclass(frozen=True)
class Issue:
    """One finding of :func:`check_gt`; ``message`` is a complete one-line sentence."""

    severity: str  # ERROR or WARNING
    message: str
    video: str | None = None
    label: int | None = None
    tube: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        return f'{self.severity}: {self.message}'


@dataclass
class GTReport:
    """All issues found in one ground truth (``source`` names the file)."""

    source: str
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, severity: str, message: str, **where) -> None:
        self.issues.append(Issue(severity, f'{self.source}: {message}', **where))

    def raise_on_error(self) -> None:
        """Raise :class:`StadError` with the first error (one line) if there is one."""
        errs = self.errors
        if errs:
            more = f' (and {len(errs) - 1} more errors; run `stad check`)' if len(errs) > 1 else ''
            raise StadError(errs[0].message + more)

    def summary(self) -> str:
        return f'{self.source}: {len(self.errors)} errors, {len(self.warnings)} warnings'


def _where(video=None, label=None, labels=(), tube=None, field=None) -> str:
    parts = []
    if video is not None:
        parts.append(f'video {video!r}')
    if label is not None:
        name = labels[label] if isinstance(label, int) and 0 <= label < len(labels) else None
        parts.append(f'label {label!r}' + (f' ({name!r})' if name else ''))
    if tube is not None:
        parts.append(f'tube {tube}')
    if field is not None:
        parts.append(f'field {field!r}')
    return ', '.join(parts)


def _split_list(gt: dict, key: str, report: GTReport) -> list | None:
    if key not in gt:
        return None
    val = gt[key]
    # MultiSports stores [[video, ...]]; accept a flat list of ids as well.
    if isinstance(val, (list, tuple)) and len(val) == 1 and isinstance(val[0], (list, tuple)):
        return list(val[0])
    if isinstance(val, (list, tuple)) and all(isinstance(v, str) for v in val):
        return list(val)
    report.add(ERROR, f"field {key!r}: expected a list holding one list of video ids, "
                      f'got {type(val).__name__}', field=key)
    return None


def _split_ids(val) -> list:
    """The video ids of a split field that :func:`_split_list` accepts, else []."""
    if isinstance(val, (list, tuple)) and len(val) == 1 and isinstance(val[0], (list, tuple)):
        return list(val[0])
    if isinstance(val, (list, tuple)) and all(isinstance(v, str) for v in val):
        return list(val)
    return []


def split_videos(gt: dict) -> dict[str, list[str]]:
    """Videos of each split in :data:`layout.SPLITS` order (``'train'``, ``'val'``).

    ``val`` is ``test_videos``. Without ``train_videos`` (real files can lack it), the
    train split is every video of ``gttubes`` that is not in ``test_videos``, sorted.
    """
    out = {}
    for split in SPLITS:
        val = gt.get(GT_SPLIT_KEYS[split])
        if val is None:
            continue
        out[split] = list(val[0]) if len(val) == 1 and isinstance(val[0], (list, tuple)) \
            else list(val)
    if 'train' not in out:
        test = set(out.get('val', []))
        out['train'] = sorted(v for v in gt.get('gttubes', {}) if v not in test)
    return {s: out.get(s, []) for s in SPLITS}


def check_gt(gt: Any, source: str = '<ground truth>') -> GTReport:
    """Validate a MultiSports ground truth; never raises on bad content.

    Args:
        gt: the unpickled ground truth (not modified).
        source: file name used in every message.

    Returns:
        A :class:`GTReport` with every error and warning (see the module docstring).
    """
    rep = GTReport(source)
    if not isinstance(gt, dict):
        rep.add(ERROR, f'expected a dict with keys {list(REQUIRED_KEYS)}, '
                       f'got {type(gt).__name__}')
        return rep
    for key in REQUIRED_KEYS:
        if key not in gt:
            close = difflib.get_close_matches(key, [str(k) for k in gt], n=1, cutoff=0.75)
            hint = f' (found {close[0]!r}: did you mean {key}?)' if close else ''
            rep.add(ERROR, f'missing key {key!r}{hint}', field=key)
    if 'train_videos' not in gt:
        rep.add(WARNING, "no 'train_videos': the train split is every video of 'gttubes' "
                         "not in 'test_videos'", field='train_videos')

    labels = gt.get('labels', [])
    if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
        rep.add(ERROR, "field 'labels': expected a list of class names", field='labels')
        labels = []
    negative = gt.get('negative_labels', [])
    if not isinstance(negative, (list, tuple)) or not all(isinstance(x, str) for x in negative):
        rep.add(ERROR, "field 'negative_labels': expected a list of class names",
                field='negative_labels')
    else:
        for name in negative:
            if name not in labels:
                rep.add(ERROR, f"field 'negative_labels': {name!r} is not in 'labels'",
                        field='negative_labels')
    nframes = gt.get('nframes', {})
    resolution = gt.get('resolution', {})
    gttubes = gt.get('gttubes', {})
    for key, val in (('nframes', nframes), ('resolution', resolution), ('gttubes', gttubes)):
        if not isinstance(val, dict):
            rep.add(ERROR, f'field {key!r}: expected a dict keyed by video, '
                           f'got {type(val).__name__}', field=key)
    if not all(isinstance(v, dict) for v in (nframes, resolution, gttubes)):
        return rep

    # video ids (once per video, naming the first field that holds it)
    seen = set()
    for key, vids in (('gttubes', gttubes), ('nframes', nframes), ('resolution', resolution),
                      *((k, _split_ids(gt[k])) for k in GT_SPLIT_KEYS.values() if k in gt)):
        for v in vids:
            problem = video_id_problem(v)
            if problem is not None and repr(v) not in seen:
                seen.add(repr(v))
                rep.add(ERROR, f'{_where(v)}, field {key!r}: {problem}', video=v, field=key)

    def size_of(video: str, ctx: str) -> tuple[int, int, int] | None:
        n, res = nframes.get(video), resolution.get(video)
        ok = True
        if n is None:
            rep.add(ERROR, f"{_where(video)}: {ctx} but missing from 'nframes'",
                    video=video, field='nframes')
            ok = False
        if res is None:
            rep.add(ERROR, f"{_where(video)}: {ctx} but missing from 'resolution'",
                    video=video, field='resolution')
            ok = False
        if not ok:
            return None
        try:
            h, w = (float(x) for x in res)
            n = int(n)
        except (TypeError, ValueError):
            rep.add(ERROR, f"{_where(video)}: 'resolution' must be (h, w) and 'nframes' "
                           f'an int, got {res!r} and {n!r}', video=video, field='resolution')
            return None
        return n, h, w

    # splits
    splits = {}
    for split, key in GT_SPLIT_KEYS.items():
        vids = _split_list(gt, key, rep)
        if vids is None:
            continue
        splits[split] = vids
        for v in vids:
            if v not in gttubes:
                if v in nframes and v in resolution:
                    rep.add(WARNING, f"{_where(v)}: listed in {key!r} but absent from "
                                     "'gttubes' (no annotated action)", video=v, field=key)
                else:
                    rep.add(ERROR, f"{_where(v)}: listed in {key!r} but absent from "
                                   "'gttubes', 'nframes' or 'resolution'", video=v, field=key)
    if 'train' in splits and 'val' in splits:
        for v in sorted(set(splits['train']) & set(splits['val'])):
            rep.add(WARNING, f"{_where(v)}: in both 'train_videos' and 'test_videos'",
                    video=v, field='train_videos')
    if splits:
        listed = set().union(*splits.values())
        if 'train' in splits:  # without train_videos, unlisted videos are train
            for v in gttubes:
                if v not in listed:
                    rep.add(WARNING, f'{_where(v)}: in no split', video=v, field='gttubes')

    # tubes
    for video, by_label in gttubes.items():
        size = size_of(video, "in 'gttubes'")
        if not isinstance(by_label, dict):
            rep.add(ERROR, f"{_where(video)}, field 'gttubes': expected a dict "
                           f'{{label: [tube, ...]}}, got {type(by_label).__name__}',
                    video=video, field='gttubes')
            continue
        for label, tubes in by_label.items():
            if not (isinstance(label, (int, np.integer)) and 0 <= int(label) < len(labels)):
                rep.add(ERROR, f'{_where(video, label, labels)}: label outside the '
                               f"{len(labels)} entries of 'labels'",
                        video=video, label=label, field='gttubes')
            if not isinstance(tubes, (list, tuple)):
                rep.add(ERROR, f'{_where(video, label, labels)}: expected a list of tubes, '
                               f'got {type(tubes).__name__}', video=video, label=label,
                        field='gttubes')
                continue
            for i, tube in enumerate(tubes):
                _check_tube(rep, tube, size, video, label, i, labels)
    return rep


def _check_tube(rep: GTReport, tube, size, video, label, i, labels) -> None:
    where = dict(video=video, label=label, tube=i)

    def msg(fld, text):
        return f'{_where(video, label, labels, i, fld)}: {text}'

    try:
        arr = np.asarray(tube)
    except ValueError:  # ragged rows
        arr = np.empty((0,), dtype=object)
    if arr.dtype == object or arr.ndim != 2 or arr.shape[1] != 5:
        rep.add(ERROR, msg('gttubes', f'expected an array (T, 5) of frame, x1, y1, x2, y2, '
                                      f'got shape {arr.shape}'), field='gttubes', **where)
        return
    if arr.shape[0] == 0:
        rep.add(ERROR, msg('gttubes', 'empty tube (no frame)'), field='gttubes', **where)
        return
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        rep.add(ERROR, msg('gttubes', 'holds NaN or infinite values'), field='gttubes', **where)
        return
    frames = arr[:, 0]
    integer = bool(np.all(frames == np.round(frames)))
    if not integer:
        rep.add(ERROR, msg('frame', 'non-integer frame number'), field='frame', **where)
    uniq, counts = np.unique(frames, return_counts=True)
    step = np.diff(frames)
    # one error for the frame order: duplicates, else unsorted, else gapped
    if (counts > 1).any():
        dup = [int(x) for x in uniq[counts > 1][:5]]
        rep.add(ERROR, msg('frame', f'duplicated frames {dup}'), field='frame', **where)
    elif integer and (step < 0).any():
        k = int(np.argmax(step < 0))
        rep.add(ERROR, msg('frame', f'frames not in increasing order (frame '
                                    f'{int(frames[k + 1])} after frame {int(frames[k])})'),
                field='frame', **where)
    elif integer and (step > 1).any():
        k = int(np.argmax(step > 1))
        rep.add(ERROR, msg('frame', f'frames not consecutive (no frame between '
                                    f'{int(frames[k])} and {int(frames[k + 1])}; a tube '
                                    'covers consecutive frames: split it in two)'),
                field='frame', **where)
    if size is not None:
        n, h, w = size
        bad = (frames < 1) | (frames > n)
        if bad.any():
            rep.add(ERROR, msg('frame', f'frame {int(frames[bad][0])} outside 1..{n} '
                                        f"('nframes')"), field='frame', **where)
    x1, y1, x2, y2 = arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4]
    for lo, hi, a, b, side in (('x1', 'x2', x1, x2, 'width'), ('y1', 'y2', y1, y2, 'height')):
        if (b < a).any():
            k = int(np.argmax(b < a))
            rep.add(ERROR, msg(hi, f'{hi} < {lo} at frame {int(frames[k])} '
                                   f'({b[k]:.1f} < {a[k]:.1f})'), field=hi, **where)
        elif (b == a).any():
            k = int(np.argmax(b == a))
            rep.add(ERROR, msg(hi, f'zero-{side} box at frame {int(frames[k])} '
                                   f'({hi} == {lo} == {a[k]:.1f})'), field=hi, **where)
    if size is not None:
        n, h, w = size
        over = np.stack([-x1, -y1, x2 - w, y2 - h], axis=1)  # pixels outside, per side
        worst = over.max()
        if worst > 0:
            k, side = np.unravel_index(np.argmax(over), over.shape)
            fld = ('x1', 'y1', 'x2', 'y2')[side]
            tol = max(OVERSHOOT_TOL_PX, OVERSHOOT_TOL_FRAC * (w if side in (0, 2) else h))
            sev = WARNING if worst <= tol else ERROR
            rep.add(sev, msg(fld, f'box outside the {int(w)}x{int(h)} image by {worst:.1f} px '
                                  f'at frame {int(frames[k])}'
                                  + (' (within tolerance; converters clip it)'
                                     if sev == WARNING else f' (tolerance {tol:.1f} px)')),
                    field=fld, **where)


def load_gt(path: str) -> dict:
    """Load and validate a MultiSports ground truth pickle.

    Returns:
        The ground truth dict (warnings are tolerated; see :func:`check_gt`).

    Raises:
        StadError: unreadable or unsafe pickle, or the first schema error (one line,
            naming the file, video, label, tube and field).
    """
    gt = read_gt_pickle(path)
    check_gt(gt, os.path.basename(path)).raise_on_error()
    return gt


# ---------------------------------------------------------------------- video checks

def count_decodable_frames(cap) -> int:
    """Frames an opened ``cv2.VideoCapture`` yields from where it is to the end (``grab``
    only: no conversion to BGR)."""
    n = 0
    while cap.grab():
        n += 1
    return n


def check_videos(gt: dict, video_dir: str, source: str = '<ground truth>', *,
                 count_frames: bool = False) -> list[Issue]:
    """Compare the videos under ``video_dir`` with the ground truth's metadata.

    Reports (as errors) videos of ``nframes`` that are missing or unreadable, and those
    whose size (w, h) or frame count differ from ``resolution`` / ``nframes``.

    Args:
        count_frames: count the frames that decode (a ``cv2`` ``grab()`` loop, about as
            long as decoding the video) instead of trusting the container header: a
            truncated file whose header still says the full count is then an error.
            Without it only container metadata is read.
    """
    import cv2

    from stad.io.layout import VIDEO_EXT
    issues = []
    for video in sorted(gt.get('nframes', {}), key=str):
        where = dict(video=video, field='video')
        problem = video_id_problem(video)
        if problem is not None:
            issues.append(Issue(ERROR, f'{source}: video {video!r}: {problem}', **where))
            continue
        path = os.path.join(video_dir, video + VIDEO_EXT)
        if not os.path.isfile(path):
            issues.append(Issue(ERROR, f'{source}: video {video!r}: missing file {path}', **where))
            continue
        cap = cv2.VideoCapture(path)
        try:
            if not cap.isOpened():
                issues.append(Issue(ERROR, f'{source}: video {video!r}: cannot read {path}',
                                    **where))
                continue
            w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            decoded = count_decodable_frames(cap) if count_frames and w > 0 and h > 0 else None
        finally:
            cap.release()
        if w <= 0 or h <= 0:
            issues.append(Issue(ERROR, f'{source}: video {video!r}: cannot read {path}', **where))
            continue
        gh, gw = (int(x) for x in gt['resolution'][video])
        if (w, h) != (gw, gh):
            issues.append(Issue(ERROR, f'{source}: video {video!r}: size {w}x{h} (w x h) but '
                                       f"'resolution' says {gw}x{gh}", **where))
        want = int(gt['nframes'][video])
        if decoded is None and n != want:
            issues.append(Issue(ERROR, f'{source}: video {video!r}: {n} frames but '
                                       f"'nframes' says {want}", **where))
        elif decoded is not None and decoded != want:
            header = f'; its header says {n}' + (': truncated or damaged file?'
                                                 if n > decoded else '')
            issues.append(Issue(ERROR, f'{source}: video {video!r}: {decoded} frames decode '
                                       f"but 'nframes' says {want} ({path}{header})",
                                **where))
    return issues


def frame_boxes(gt: dict, video: str) -> dict[int, list[tuple[int, int, np.ndarray]]]:
    """The one flattening of a video's tubes into per-frame boxes.

    Returns:
        ``{frame: [(label, entity_id, box)]}``, frames 1-based and sorted; ``box`` is
        ``(x1, y1, x2, y2)`` float64 pixels clipped to the image; ``entity_id`` numbers the
        video's tubes 0, 1, ... in label order, then tube order (the CSV's person id).
    """
    h, w = (float(x) for x in gt['resolution'][video])
    limit = np.array([w, h, w, h])
    out: dict[int, list] = {}
    entity = 0
    for label in sorted(gt['gttubes'].get(video, {})):
        for tube in gt['gttubes'][video][label]:
            arr = np.asarray(tube, dtype=np.float64)  # a copy when dtype differs; never written
            for row in arr:
                out.setdefault(int(row[0]), []).append(
                    (int(label), entity, np.clip(row[1:5], 0, limit)))
            entity += 1
    return dict(sorted(out.items()))


def annotated_frames(gt: dict, videos=None) -> dict[str, set[int]]:
    """1-based frames that hold at least one ground-truth box, per video."""
    # straight from the tubes' frame columns: frame_boxes would clip and sort every box
    return {video: {int(f) for tubes in by_label.values() for tube in tubes
                    for f in np.asarray(tube)[:, 0]}
            for video, by_label in gt['gttubes'].items()
            if videos is None or video in videos}
