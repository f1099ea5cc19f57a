"""MultiSports frame-mAP, tube linking and video-mAP (the published protocol), pure numpy.

Inputs
------
``gt``: the MultiSports ground-truth dict (``labels``, ``nframes``, ``resolution``,
``gttubes`` {video: {label index: [array (T, 5): frame (1-based), x1, y1, x2, y2 px]}},
``test_videos`` = ``[[video, ...]]``). Only ``test_videos`` are evaluated.

``dets``: per-frame detections, float array ``(N, 8)`` with the columns of
:data:`DET_COLUMNS`: ``video_index`` (into ``gt['test_videos'][0]``), ``frame``
(1-based), ``label`` (0-based index into ``gt['labels']``), ``score``, ``x1, y1, x2, y2``
(pixels). This is the array the published evaluation and mmaction2 use.

Modes
-----
``'all_frames'`` (the official protocol): every detection counts; one on a frame without
ground truth of its class is a false positive. ``'annotated_frames'`` (what mmaction2's
pipeline amounts to: it only predicts on frames listed in the val CSV): detections on
frames of a video that carry no ground-truth box of any class are dropped first.

APs are fractions in [0, 1] (mmaction2 prints percentages).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Optional, Sequence, Union

import numpy as np

from stad.evaluation.functional.ap import pr_curve, voc_ap
from stad.evaluation.functional.iou import iou_pairwise, tube_iou
from stad.io.detections import DET_COLUMNS  # noqa: F401  (the columns' one home)

# Classes the published MultiSports protocol leaves out of the mean (too few instances).
MULTISPORTS_EXCLUDED = ('aerobic kick jump', 'aerobic off axis jump', 'aerobic butterfly jump',
                        'aerobic balance turn', 'basketball save', 'basketball jump ball')
MULTISPORTS_NUM_CLASSES = 66

MODES = ('all_frames', 'annotated_frames')
VIDEO_AVG_THRS = tuple(round(0.1 * i, 1) for i in range(1, 10))  # 0.1, ..., 0.9

Exclude = Union[str, Sequence[str], None]


class Tube(NamedTuple):
    """A linked tube. Unpacks like mmaction2's ``(video, score, tube)`` tuples.

    ``boxes``: ``(T, 6)`` rows ``(frame, x1, y1, x2, y2, box score)``, one per frame,
    frames consecutive.
    """
    video: str
    score: float
    boxes: np.ndarray


@dataclass
class APResult:
    """AP of every evaluated class at one IoU threshold."""
    iou_thr: float
    mean_ap: float  # mean over ``ap`` (classes with ground truth, not excluded); nan if none
    ap: dict = field(default_factory=dict)  # class name -> AP
    n_gt: dict = field(default_factory=dict)  # class name -> ground-truth instances
    n_pred: dict = field(default_factory=dict)  # class name -> predictions ranked
    precision: dict = field(default_factory=dict)  # class name -> (N,) curve
    recall: dict = field(default_factory=dict)  # class name -> (N,) curve

    def to_dict(self) -> dict:
        return dict(iou_thr=self.iou_thr, mAP=self.mean_ap, ap=dict(self.ap),
                    n_gt=dict(self.n_gt), n_pred=dict(self.n_pred))


# ----------------------------------------------------------------------------- helpers

def eval_videos(gt: dict) -> list:
    """The evaluated videos, ``gt['test_videos'][0]``."""
    return list(gt['test_videos'][0])


def excluded_classes(labels: Sequence[str], exclude: Exclude = 'auto', *,
                     negative_labels: Sequence[str] = ()) -> tuple:
    """Names of the classes left out of the mean.

    Args:
        labels: ``gt['labels']``.
        exclude: ``'auto'``: the six classes of :data:`MULTISPORTS_EXCLUDED` when
            ``labels`` less ``negative_labels`` is the 66-class MultiSports label set (all
            six names present), none otherwise, and in both cases ``negative_labels``;
            ``None`` or ``()``: none; a sequence: exactly those names.
        negative_labels: ``gt.get('negative_labels', ())``: the negative class(es) a
            Create ML import records (Create ML's "negative class" of irrelevant
            actions). It is trained and predicted like any other class, but detecting
            "no action of interest" is not an action to rank, so ``'auto'`` leaves it
            out of the mean AP. Names not in ``labels`` are ignored.
    """
    if exclude is None:
        return ()
    if isinstance(exclude, str):
        if exclude != 'auto':
            raise ValueError(f"exclude must be 'auto', None or a list of names, got {exclude!r}")
        names = set(labels)
        negative = tuple(n for n in dict.fromkeys(negative_labels) if n in names)
        core = [name for name in labels if name not in negative]
        names = set(core)
        if len(core) == MULTISPORTS_NUM_CLASSES and all(c in names for c in MULTISPORTS_EXCLUDED):
            return MULTISPORTS_EXCLUDED + negative
        return negative
    return tuple(exclude)


# Old spellings of the frame modes (`stad eval --mode all|annotated`,
# `predict_dataset(frames='proposals')`): accepted with a deprecation line.
MODE_ALIASES = {'all': 'all_frames', 'proposals': 'all_frames',
                'annotated': 'annotated_frames'}


def check_mode(mode: str) -> str:
    """The frame mode, one vocabulary everywhere (evaluation, prediction, CLI):
    ``'all_frames'`` or ``'annotated_frames'``. Old spellings (:data:`MODE_ALIASES`)
    are mapped with a deprecation line on stderr.

    Raises:
        ValueError: an unknown mode.
    """
    if mode in MODE_ALIASES:
        import sys
        new = MODE_ALIASES[mode]
        print(f'stad: frame mode {mode!r} is deprecated, use {new!r}', file=sys.stderr)
        return new
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    return mode


def _gt_boxes(gt: dict) -> np.ndarray:
    """Every ground-truth box of the test videos: ``(M, 7)`` rows
    ``(label, video_index, frame, x1, y1, x2, y2)`` in tube order, boxes unclipped (the
    official evaluator's order and values; :func:`stad.data.gt.frame_boxes` clips and
    sorts, which is what the converters need, not the metric)."""
    rows = []
    for iv, v in enumerate(eval_videos(gt)):
        for label, tubes in gt['gttubes'].get(v, {}).items():
            for tube in tubes:
                tube = np.asarray(tube, dtype=np.float64).reshape(-1, 5)
                if len(tube):
                    head = np.tile([float(label), float(iv)], (len(tube), 1))
                    rows.append(np.concatenate([head, tube], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, 7))


def annotated_frame_mask(gt: dict, dets: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the detection's (video, frame) carries a ground-truth box of any class."""
    g = _gt_boxes(gt)
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 8)
    span = int(max(g[:, 2].max(initial=0), dets[:, 1].max(initial=0))) + 2
    gkey = g[:, 1].astype(np.int64) * span + g[:, 2].astype(np.int64)
    dkey = dets[:, 0].astype(np.int64) * span + dets[:, 1].astype(np.int64)
    return np.isin(dkey, gkey)


def select_mode(gt: dict, dets: np.ndarray, mode: str) -> np.ndarray:
    """The detections evaluated in ``mode`` (see the module docstring)."""
    mode = check_mode(mode)  # an old spelling counts as the mode it names
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 8)
    if mode == 'annotated_frames':
        return dets[annotated_frame_mask(gt, dets)]
    return dets


def _evaluated_classes(gt: dict, n_gt: np.ndarray, exclude: Exclude) -> list:
    skip = set(excluded_classes(gt['labels'], exclude,
                                negative_labels=gt.get('negative_labels', ())))
    return [c for c, name in enumerate(gt['labels']) if name not in skip and n_gt[c] > 0]


def rank_per_class(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Ranking of predictions as the published evaluation makes it: class by class
    (ascending), and inside a class ``np.argsort(-scores)`` of that class's predictions in
    their input order (numpy's default sort, so that even tied scores fall as there)."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    by_label = np.argsort(labels, kind='stable')
    cuts = np.flatnonzero(np.diff(labels[by_label])) + 1
    parts = [idx[np.argsort(-scores[idx])] for idx in np.split(by_label, cuts) if idx.size]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _first_match(best_iou: np.ndarray, best_gt: np.ndarray, order: np.ndarray,
                 thr: float) -> np.ndarray:
    """Greedy VOC matching as the published MultiSports ``evaluate_multisports.py``,
    vectorised. Predictions ranked by ``order`` each point at their best-IoU ground truth
    among *all* of their (video, frame) or video (``best_gt``, -1 if none); the first one
    with IoU >= thr takes it (true positive); later ones pointing at the same ground truth
    are false positives even if another, unmatched ground truth overlaps them enough
    (the published code does not look further, unlike pycocotools). Returns ``is_tp`` in
    ``order``."""
    ok = (best_iou[order] >= thr) & (best_gt[order] >= 0)
    pos = np.flatnonzero(ok)
    is_tp = np.zeros(order.size, dtype=bool)
    if pos.size:
        _, first = np.unique(best_gt[order][pos], return_index=True)
        is_tp[pos[first]] = True
    return is_tp


def _ap_result(thr: float, classes: list, names: Sequence[str], n_gt: np.ndarray,
               labels_sorted: np.ndarray, is_tp: np.ndarray) -> APResult:
    res = APResult(iou_thr=float(thr), mean_ap=float('nan'))
    bounds = np.searchsorted(labels_sorted, np.arange(len(names) + 1))
    for c in classes:
        flags = is_tp[bounds[c]:bounds[c + 1]]
        p, r = pr_curve(flags, int(n_gt[c]))
        name = names[c]
        res.ap[name] = voc_ap(p, r)
        res.n_gt[name] = int(n_gt[c])
        res.n_pred[name] = int(flags.size)
        res.precision[name], res.recall[name] = p, r
    if res.ap:
        res.mean_ap = float(np.mean(list(res.ap.values())))
    return res


def _thr_list(iou_thr: Union[float, Iterable[float]]) -> list:
    return [float(iou_thr)] if np.isscalar(iou_thr) else [float(t) for t in iou_thr]


# ----------------------------------------------------------------------------- frame AP

def _frame_best_match(g: np.ndarray, dets: np.ndarray, chunk: int = 100_000):
    """For each detection, its best-IoU ground-truth box of the same class on the same
    (video, frame): ``(best_iou (N,), best_gt (N,) row of g or -1)``. Ties go to the
    earlier ground-truth box, as ``np.argmax`` in the published code."""
    n = len(dets)
    best_iou = np.zeros(n)
    best_gt = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(g) == 0:
        return best_iou, best_gt
    n_vid = int(max(g[:, 1].max(), dets[:, 0].max())) + 1
    span = int(max(g[:, 2].max(), dets[:, 1].max())) + 2

    def key(label, video, frame):
        return (label.astype(np.int64) * n_vid + video.astype(np.int64)) * span \
            + frame.astype(np.int64)

    gkey = key(g[:, 0], g[:, 1], g[:, 2])
    gorder = np.argsort(gkey, kind='stable')  # keeps tube order inside one frame
    gkey_s, gbox_s = gkey[gorder], g[gorder, 3:7]
    dkey = key(dets[:, 2], dets[:, 0], dets[:, 1])
    lo = np.searchsorted(gkey_s, dkey, 'left')
    cnt = np.searchsorted(gkey_s, dkey, 'right') - lo
    width = int(cnt.max())
    if width == 0:
        return best_iou, best_gt
    cols = np.arange(width)
    for s in range(0, n, chunk):
        sl = slice(s, s + chunk)
        idx = lo[sl, None] + cols[None, :]
        valid = cols[None, :] < cnt[sl, None]
        idx = np.where(valid, idx, 0)
        ious = np.where(valid, iou_pairwise(dets[sl, None, 4:8], gbox_s[idx]), -1.0)
        am = np.argmax(ious, axis=1)
        rows = np.arange(ious.shape[0])
        has = cnt[sl] > 0
        best_iou[sl] = np.where(has, ious[rows, am], 0.0)
        best_gt[sl] = np.where(has, gorder[idx[rows, am]], -1)
    return best_iou, best_gt


def frame_ap(gt: dict, dets: np.ndarray, iou_thr: Union[float, Iterable[float]] = 0.5, *,
             mode: str = 'all_frames', exclude: Exclude = 'auto') -> dict:
    """Frame-AP of every class with ground truth, per the MultiSports protocol.

    Per class, detections ranked by score; one is a true positive if its (video, frame)
    has ground truth of its class and its best-IoU box there is >= ``iou_thr`` and not
    matched by a higher-ranked detection; all others are false positives.

    Args:
        gt: MultiSports ground-truth dict (see the module docstring).
        dets: ``(N, 8)`` per-frame detections (:data:`DET_COLUMNS`).
        iou_thr: one threshold or several (the IoUs are computed once).
        mode: ``'all_frames'`` (official) or ``'annotated_frames'``.
        exclude: classes left out, see :func:`excluded_classes`.

    Returns:
        ``{iou_thr: APResult}``.
    """
    dets = select_mode(gt, dets, mode)
    names = list(gt['labels'])
    g = _gt_boxes(gt)
    n_gt = np.bincount(g[:, 0].astype(np.int64), minlength=len(names))
    classes = _evaluated_classes(gt, n_gt, exclude)
    dets = dets[np.isin(dets[:, 2].astype(np.int64), classes)]
    best_iou, best_gt = _frame_best_match(g, dets)
    labels = dets[:, 2].astype(np.int64)
    order = rank_per_class(labels, dets[:, 3])
    out = {}
    for thr in _thr_list(iou_thr):
        is_tp = _first_match(best_iou, best_gt, order, thr)
        out[thr] = _ap_result(thr, classes, names, n_gt, labels[order], is_tp)
    return out


# ----------------------------------------------------------------------------- linking

def _rescore_nms(boxes: np.ndarray, scores: np.ndarray, thr: float, top_k: int):
    """The per-frame NMS of the MOC/MultiSports linker: a box overlapping a kept,
    higher-scored box by IoU > ``thr`` is not removed but its score is multiplied by
    ``1 - IoU`` (and it suppresses nothing itself). Areas here use the ``+1`` pixel
    convention, as the original. Returns boxes and scores sorted by new score, top_k."""
    n = len(scores)
    if n <= 1:
        return boxes, scores
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    w = np.maximum(0.0, np.minimum(boxes[:, None, 2], boxes[None, :, 2])
                   - np.maximum(boxes[:, None, 0], boxes[None, :, 0]) + 1)
    h = np.maximum(0.0, np.minimum(boxes[:, None, 3], boxes[None, :, 3])
                   - np.maximum(boxes[:, None, 1], boxes[None, :, 1]) + 1)
    inter = w * h
    ious = inter / (area[:, None] + area[None, :] - inter)
    order = np.argsort(-scores, kind='stable')
    weight = np.ones(n)
    while order.size > 0:
        i, rest = order[0], order[1:]
        over = ious[i, rest] > thr
        weight[rest[over]] = 1.0 - ious[i, rest[over]]
        order = rest[~over]
    scores = scores * weight
    keep = np.argsort(-scores, kind='stable')[:top_k]
    return boxes[keep], scores[keep]


def _iou_py(a, b) -> float:
    """IoU of two boxes as Python floats (the linker compares a handful of boxes per
    frame; numpy's per-call overhead would dominate)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _link_one(frames: np.ndarray, boxes: np.ndarray, scores: np.ndarray, *,
              nms_thr: float, top_k: int, link_iou: float) -> list:
    """Greedy linking of one (video, class): returns tubes as lists of
    ``(frame, box (4,) tuple, score)``. ``frames`` sorted ascending."""
    finished, current = [], []  # a tube: [score sum, rows]
    cuts = np.flatnonzero(np.diff(frames)) + 1
    starts = np.concatenate([[0], cuts]).tolist()
    ends = np.concatenate([cuts, [len(frames)]]).tolist()
    frames = frames.tolist()
    prev_frame = None
    for s, e in zip(starts, ends):
        frame = int(frames[s])
        fb, fs = _rescore_nms(boxes[s:e], scores[s:e], nms_thr, top_k)
        fb, fs = [tuple(b) for b in fb.tolist()], fs.tolist()
        if prev_frame is not None and frame != prev_frame + 1:
            # frames in between had no detection: every open tube ends there
            finished.extend(current)
            current = []
        prev_frame = frame
        free = list(range(len(fs)))
        # best tubes (by mean box score) pick first; sort is stable
        current.sort(key=lambda t: -t[0] / len(t[1]))
        still = []
        for t in current:
            last = t[1][-1][1]
            best = None
            for j in free:  # highest score among boxes with IoU >= link_iou
                if _iou_py(fb[j], last) >= link_iou and (best is None or fs[j] > fs[best]):
                    best = j
            if best is None:
                finished.append(t)
                continue
            t[1].append((frame, fb[best], fs[best]))
            t[0] += fs[best]
            free.remove(best)
            still.append(t)
        still += [[fs[j], [(frame, fb[j], fs[j])]] for j in free]
        current = still
    return [t[1] for t in finished + current]


def link_tubes(gt: dict, dets: np.ndarray, *, min_len: int = 15, nms_thr: float = 0.6,
               top_k: int = 10, link_iou: float = 0.5, min_score: float = 0.005) -> dict:
    """Link per-frame detections into tubes, per class (the MOC-detector linker with
    K = 1 that the MultiSports baselines and mmaction2 use), with each box's own score.

    Per video and class, frame by frame: the frame's detections go through the
    rescoring NMS (:func:`_rescore_nms`, ``nms_thr``, ``top_k``); open tubes, best mean
    score first, each take the highest-scored free detection whose IoU with the tube's
    last box is >= ``link_iou``; a tube that finds none is closed (no gap is bridged);
    free detections start new tubes. Tube score = mean of its box scores; tubes scoring
    < ``min_score`` or shorter than ``min_len`` frames are dropped. With one box per
    frame there is nothing to average or interpolate.

    Args:
        gt: ground-truth dict (for ``test_videos``).
        dets: ``(N, 8)`` per-frame detections (:data:`DET_COLUMNS`).

    Returns:
        ``{label index: [Tube, ...]}`` for every label of ``gt['labels']``.
    """
    videos = eval_videos(gt)
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 8)
    out = {c: [] for c in range(len(gt['labels']))}
    # group by (video, label), frames ascending, stable for reproducibility
    order = np.lexsort((dets[:, 1], dets[:, 2], dets[:, 0]))
    d = dets[order]
    vl = d[:, 0].astype(np.int64) * (len(gt['labels']) + 1) + d[:, 2].astype(np.int64)
    cuts = np.flatnonzero(np.diff(vl)) + 1
    for s, e in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(d)]])):
        if s == e:
            continue
        video, label = videos[int(d[s, 0])], int(d[s, 2])
        for rows in _link_one(d[s:e, 1], d[s:e, 4:8], d[s:e, 3], nms_thr=nms_thr,
                              top_k=top_k, link_iou=link_iou):
            score = sum(r[2] for r in rows) / len(rows)
            if score < min_score or rows[-1][0] - rows[0][0] + 1 < min_len:
                continue
            boxes = np.array([[f, *b, sc] for f, b, sc in rows], dtype=np.float64)
            out[label].append(Tube(video, score, boxes))
    return out


# ----------------------------------------------------------------------------- video AP

def video_ap(gt: dict, tubes: dict, iou_thr: Union[float, Iterable[float]] = 0.5, *,
             exclude: Exclude = 'auto') -> dict:
    """Video-AP of every class with ground truth, per the MultiSports protocol.

    Per class, tubes ranked by score; a tube is a true positive if its best
    ground-truth tube of that class in its video (by :func:`~.iou.tube_iou`: temporal
    IoU x mean per-frame IoU over the overlap) reaches ``iou_thr`` and was not matched
    by a higher-ranked tube.

    Args:
        gt: ground-truth dict.
        tubes: ``{label index: [(video, score, boxes (T, 5+)), ...]}`` as returned by
            :func:`link_tubes` (mmaction2's ``link_tubes`` output works too).
        iou_thr: one threshold or several (the IoUs are computed once).
        exclude: see :func:`excluded_classes`.

    Returns:
        ``{iou_thr: APResult}``.
    """
    names = list(gt['labels'])
    videos = set(eval_videos(gt))
    gt_tubes = {}  # label -> {video: [tube arrays]}
    for v in eval_videos(gt):
        for label, ts in gt['gttubes'].get(v, {}).items():
            ts = [np.asarray(t, dtype=np.float64) for t in ts if len(t)]
            if ts:
                gt_tubes.setdefault(int(label), {})[v] = ts
    n_gt = np.zeros(len(names), dtype=np.int64)
    for label, per_video in gt_tubes.items():
        n_gt[label] = sum(len(ts) for ts in per_video.values())
    classes = _evaluated_classes(gt, n_gt, exclude)
    labels, scores, best_iou, best_gt = [], [], [], []
    for c in classes:
        base = {}  # video -> global id of its first gt tube of class c
        nxt = 0
        for v, ts in gt_tubes.get(c, {}).items():
            base[v] = nxt
            nxt += len(ts)
        for video, score, boxes in tubes.get(c, []):
            labels.append(c)
            scores.append(float(score))
            ts = gt_tubes.get(c, {}).get(video) if video in videos else None
            if not ts:
                best_iou.append(0.0)
                best_gt.append(-1)
                continue
            ious = [tube_iou(g, np.asarray(boxes, dtype=np.float64)) for g in ts]
            j = int(np.argmax(ious))
            best_iou.append(ious[j])
            best_gt.append(c * 10**9 + base[video] + j)  # unique id per gt tube
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    best_iou = np.asarray(best_iou, dtype=np.float64)
    best_gt = np.asarray(best_gt, dtype=np.int64)
    order = rank_per_class(labels, scores)
    out = {}
    for thr in _thr_list(iou_thr):
        is_tp = _first_match(best_iou, best_gt, order, thr)
        out[thr] = _ap_result(thr, classes, names, n_gt, labels[order], is_tp)
    return out


# ----------------------------------------------------------------------------- all of it

@dataclass
class MultiSportsResult:
    """Everything :func:`evaluate_multisports` measured."""
    mode: str
    excluded: tuple
    frame: dict  # iou_thr -> APResult
    video: dict  # iou_thr -> APResult
    n_detections: int  # detections evaluated (after the mode's selection)
    n_tubes: int

    def summary(self) -> dict:
        """Flat metrics: ``frameAP@0.5``, ``v_map@0.2``, ``v_map@0.5``, ``v_map@0.1:0.9``."""
        out = {f'frameAP@{_fmt(t)}': r.mean_ap for t, r in self.frame.items()}
        out.update({f'v_map@{_fmt(t)}': r.mean_ap for t, r in self.video.items()
                    if t in self.shown_video_thrs})
        if all(t in self.video for t in VIDEO_AVG_THRS):
            out['v_map@0.1:0.9'] = float(np.mean([self.video[t].mean_ap
                                                  for t in VIDEO_AVG_THRS]))
        return out

    shown_video_thrs: tuple = ()
    linker: str = 'moc'  # what made the tubes: 'moc' (link_tubes) or 'tracks'
    linker_params: dict = field(default_factory=dict)  # its parameters as used

    def to_dict(self) -> dict:
        """JSON-ready: mode, linker, summary, per-class APs per threshold (no curves)."""
        return dict(mode=self.mode, linker=self.linker, linker_params=dict(self.linker_params),
                    excluded_classes=list(self.excluded),
                    n_detections=self.n_detections, n_tubes=self.n_tubes,
                    summary=self.summary(),
                    frame_ap={_fmt(t): r.to_dict() for t, r in self.frame.items()},
                    video_ap={_fmt(t): r.to_dict() for t, r in self.video.items()})


def _fmt(t: float) -> str:
    return f'{t:g}'


LINKERS = ('moc', 'tracks')


def evaluate_multisports(gt: dict, dets: np.ndarray, *, mode: str = 'all_frames',
                         frame_thrs: Sequence[float] = (0.5,),
                         video_thrs: Sequence[float] = (0.2, 0.5),
                         video_avg: bool = True, exclude: Exclude = 'auto',
                         min_tube_len: Optional[int] = None, linker: str = 'moc',
                         track_ids: Optional[np.ndarray] = None,
                         linker_options: Optional[dict] = None) -> MultiSportsResult:
    """frame-mAP, tube linking and video-mAP in one call.

    Args:
        gt: MultiSports ground-truth dict.
        dets: ``(N, 8)`` per-frame detections (:data:`DET_COLUMNS`).
        mode: ``'all_frames'`` (official) or ``'annotated_frames'`` (mmaction2's).
        frame_thrs: IoU thresholds of frame-mAP.
        video_thrs: IoU thresholds of video-mAP reported one by one.
        video_avg: also compute video-mAP at 0.1, ..., 0.9 and their mean
            (``summary()['v_map@0.1:0.9']``).
        exclude: see :func:`excluded_classes`.
        min_tube_len: tubes shorter than this (frames) are dropped; ``None``: the linker's
            default (15 for ``'moc'``, see :data:`~.track_tubes.TRACK_DEFAULTS` for
            ``'tracks'``).
        linker: how tubes are made for video-mAP: ``'moc'`` (:func:`link_tubes`, per class
            on the detections) or ``'tracks'`` (:func:`~.track_tubes.tubes_from_tracks`,
            per person track; needs ``track_ids``).
        track_ids: ``(N,)`` int, the person track of each row of ``dets`` (0 = untracked);
            only used by ``linker='tracks'``.
        linker_options: further keyword arguments of the linker function.
    """
    mode = check_mode(mode)
    if linker not in LINKERS:
        raise ValueError(f'linker must be one of {LINKERS}, got {linker!r}')
    params = dict(linker_options or {})
    if min_tube_len is not None:
        params['min_len'] = int(min_tube_len)
    if linker == 'tracks':
        from stad.evaluation.functional.track_tubes import (
                                  TRACK_DEFAULTS,
                                  check_track_ids,
                                  tubes_from_tracks,
        )
        track_ids = check_track_ids(dets, track_ids)
        if mode == 'annotated_frames':  # the rows select_mode keeps, the same test
            track_ids = track_ids[annotated_frame_mask(gt, dets)]
        params = {**TRACK_DEFAULTS, **params}
    else:
        params = {'min_len': 15, **params}
    dets = select_mode(gt, dets, mode)
    frame = frame_ap(gt, dets, frame_thrs, mode='all_frames', exclude=exclude)
    if linker == 'tracks':
        tubes = tubes_from_tracks(gt, dets, track_ids, **params)
    else:
        tubes = link_tubes(gt, dets, **params)
    shown = tuple(float(t) for t in video_thrs)
    thrs = sorted(set(shown) | (set(VIDEO_AVG_THRS) if video_avg else set()))
    video = video_ap(gt, tubes, thrs, exclude=exclude)
    excluded = excluded_classes(gt['labels'], exclude,
                                negative_labels=gt.get('negative_labels', ()))
    return MultiSportsResult(mode=mode, excluded=excluded,
                             frame=frame, video=video, n_detections=int(len(dets)),
                             n_tubes=sum(len(t) for t in tubes.values()),
                             shown_video_thrs=shown, linker=linker, linker_params=params)
