"""Action tubes from person tracks: the ``'tracks'`` linker of video-mAP, pure numpy.

The MOC linker (:func:`~.multisports.link_tubes`) links each class's per-frame
detections greedily, so a tube's extent comes from where that class's boxes happen to
chain. Here the person tracker has already linked the boxes; a tube is a stretch of one
track during which one class's score stays high:

1. **Per-frame scores.** Rows are grouped by ``(video, track id)``. On each frame of a
   track its box is the box of the track's best-scored row there (a tracker giving one id
   to two boxes on a frame is a tracker bug; the other box's rows are ignored); the
   track's score for class ``c`` is that box's row score for ``c`` (the highest one if
   repeated; 0 if the box has no row for ``c``).
2. **Gaps.** Frames missing inside a track are filled: boxes and class scores linearly
   interpolated between the neighbouring frames, so tubes have consecutive frames (the
   official evaluator assumes so). A gap of more than ``max_gap`` missing frames ends
   the track there; what follows is a new track.
3. **Smoothing.** Every class's score sequence goes through a centred moving mean (or
   median) over ``smooth`` frames, the window truncated at the track's ends.
4. **Segmentation** (hysteresis, per class): a segment is a maximal run of frames whose
   smoothed score is >= ``low`` and that reaches ``high`` somewhere (so it starts where
   the score rises above ``low`` on its way to ``high``, and a dip below ``high`` that
   stays above ``low`` does not split it). Segments shorter than ``min_len`` frames
   are dropped.
5. **Score** of a segment: the mean of its smoothed scores (``score='mean'``), or that
   times ``length / (min_len + length)`` (``score='mean_len'``, the default: short
   segments, mostly noise, rank below long ones; +0.01 to +0.06 video-mAP measured).

Rows with track id ``<= 0`` (untracked) are each their own one-frame track
(``untracked='single'``: dropped unless ``min_len <= 1``), or linked by the MOC linker
(``untracked='moc'``, with the same ``min_len``) and added.

The defaults (:data:`TRACK_DEFAULTS`) were chosen by measuring video-mAP on noisy
synthetic multi-class detections with tracks (``python tests/evaluation/test_track_tubes.py``
prints the table, ``... --grid`` a product grid): a long window (15 frames) matters most
for noisy per-frame scores; ``max_gap`` must exceed the tracker's typical gaps. A strong
burst shorter than ``min_len`` can still make a tube once the window spreads it.
"""
from __future__ import annotations

import numpy as np

from stad.evaluation.functional.multisports import Tube, eval_videos, link_tubes

SMOOTHERS = ('mean', 'median')
SEGMENT_SCORES = ('mean', 'mean_len')
UNTRACKED = ('single', 'moc')

# Chosen by measurement (module docstring); high / low are absolute scores: retune them on
# a real model's validation set.
TRACK_DEFAULTS = dict(smooth=15, smoother='mean', high=0.2, low=0.15, min_len=8, max_gap=10,
                      score='mean_len', untracked='single')


def check_track_ids(dets: np.ndarray, track_ids) -> np.ndarray:
    """``track_ids`` as an int64 ``(N,)`` array aligned with ``dets (N, 8)``.

    Raises:
        ValueError: missing, wrong length or shape, or not integers.
    """
    if track_ids is None:
        raise ValueError("linker 'tracks' needs track_ids: one person track id per detection "
                         "row (0 = untracked)")
    ids = np.asarray(track_ids)
    n = len(np.asarray(dets).reshape(-1, 8))
    if ids.shape != (n,):
        raise ValueError(f'track_ids must have shape ({n},), aligned with the detection rows, '
                         f'got {ids.shape}')
    if ids.dtype.kind not in 'iub':
        if ids.dtype.kind != 'f' or not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
            raise ValueError(f'track_ids must be integers, got dtype {ids.dtype}')
    return ids.astype(np.int64)


def _smooth(x: np.ndarray, window: int, smoother: str) -> np.ndarray:
    """Centred moving mean / median of ``x (T, K)`` along axis 0 over ``window`` frames
    (an even window acts as the next odd one), truncated at both ends."""
    half = int(window) // 2
    if half <= 0 or len(x) <= 1:
        return x
    n = len(x)
    if smoother == 'mean':
        cs = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
        i = np.arange(n)
        lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, n)
        return (cs[hi] - cs[lo]) / (hi - lo)[:, None]
    pad = np.full((half, x.shape[1]), np.nan)
    win = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, x, pad]), 2 * half + 1,
                                                   axis=0)
    return np.nanmedian(win, axis=-1)


def _segments(sm: np.ndarray, high: float, low: float, min_len: int) -> list:
    """Hysteresis runs of ``sm (T, K)``: ``[(k, start, end exclusive), ...]``, per column."""
    above = (sm >= low).T.astype(np.int8)  # (K, T)
    d = np.diff(np.pad(above, ((0, 0), (1, 1))), axis=1)
    ks, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)  # same order: by column, then by frame
    out = []
    for k, s, e in zip(ks.tolist(), starts.tolist(), ends.tolist()):
        if e - s >= min_len and sm[s:e, k].max() >= high:
            out.append((k, s, e))
    return out


def _track_tubes(frames, labels, scores, boxes, *, video, out, smooth, smoother,
                 high, low, min_len, max_gap, score):
    """Tubes of one track; rows sorted by (frame, -score, box). Appends to ``out``."""
    first = np.concatenate([[True], frames[1:] != frames[:-1]])
    uf = frames[first]
    fbox = boxes[first]  # the best-scored row's box on each frame
    fi = np.cumsum(first) - 1  # row -> frame index
    same = np.all(boxes == fbox[fi], axis=1)
    classes, lab_i = np.unique(labels[same], return_inverse=True)
    s_obs = np.zeros((len(uf), len(classes)))
    np.maximum.at(s_obs, (fi[same], lab_i), scores[same])
    # pieces: split where more than max_gap frames are missing
    cuts = np.flatnonzero(np.diff(uf) > max_gap + 1) + 1
    for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(uf)]])):
        f = uf[a:b]
        if f[-1] - f[0] + 1 < min_len:
            continue
        dense = np.arange(f[0], f[-1] + 1, dtype=np.float64)
        hi = np.searchsorted(f, dense)  # f[hi] >= frame (in range: frame <= f[-1])
        lo = np.where(f[hi] == dense, hi, hi - 1)
        gap = f[hi] - f[lo]
        w = np.where(gap > 0, (dense - f[lo]) / np.where(gap > 0, gap, 1.0), 0.0)[:, None]
        bx = fbox[a:b][lo] * (1 - w) + fbox[a:b][hi] * w
        raw = s_obs[a:b][lo] * (1 - w) + s_obs[a:b][hi] * w
        sm = _smooth(raw, smooth, smoother)
        for k, s, e in _segments(sm, high, low, min_len):
            sc = float(sm[s:e, k].mean())
            if score == 'mean_len':
                sc *= (e - s) / (min_len + e - s)
            tb = np.column_stack([dense[s:e], bx[s:e], sm[s:e, k]])
            out[int(classes[k])].append(Tube(video, sc, tb))


def smooth_track_scores(dets: np.ndarray, track_ids, window: int) -> np.ndarray:
    """Per-frame detections with each class score averaged along the person's track.

    One clip's prediction on one frame is noisy; the same person on the frames around
    it is doing the same thing most of the time. A row of track ``t`` at frame ``f`` gets,
    for its class, the mean of that track's scores for the class over its frames in
    ``[f - window // 2, f + window // 2]`` (frames the track misses are left out of the
    mean, not counted as 0; a track's box counts once per frame, with its best row's
    score). Untracked rows (id ``<= 0``) keep their score. This is TAAD's track-aware
    idea at the level of scores: frame-mAP and both linkers see the smoothed scores.

    Args:
        dets: ``(N, 8)`` detections (:data:`~.multisports.DET_COLUMNS`).
        track_ids: ``(N,)`` person track id of each row.
        window: frames; ``<= 1`` returns the detections unchanged.

    Returns:
        A copy of ``dets`` with column 3 (score) smoothed, rows in the same order.
    """
    dets = np.array(dets, dtype=np.float64).reshape(-1, 8)
    ids = check_track_ids(dets, track_ids)
    half = int(window) // 2
    if half <= 0 or not len(dets):
        return dets
    rows = np.flatnonzero(ids > 0)
    if not len(rows):
        return dets
    # one series per (video, track, label)
    keys = np.column_stack([dets[rows, 0], ids[rows], dets[rows, 2]])
    _, series = np.unique(keys, axis=0, return_inverse=True)
    series = series.ravel()
    frames = dets[rows, 1].astype(np.int64)
    order = np.lexsort((frames, series))
    for grp in np.split(order, np.flatnonzero(np.diff(series[order])) + 1):
        f = frames[grp]
        f0 = int(f.min())
        span = int(f.max()) - f0 + 1
        val = np.full(span, -np.inf)
        np.maximum.at(val, f - f0, dets[rows[grp], 3])  # best row per frame
        have = np.isfinite(val)
        cs_v = np.concatenate([[0.0], np.cumsum(np.where(have, val, 0.0))])
        cs_n = np.concatenate([[0], np.cumsum(have)])
        i = np.arange(span)
        lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, span)
        mean = (cs_v[hi] - cs_v[lo]) / np.maximum(cs_n[hi] - cs_n[lo], 1)
        dets[rows[grp], 3] = mean[f - f0]
    return dets


def tubes_from_tracks(gt: dict, dets: np.ndarray, track_ids, *,
                      smooth: int = TRACK_DEFAULTS['smooth'],
                      smoother: str = TRACK_DEFAULTS['smoother'],
                      high: float = TRACK_DEFAULTS['high'],
                      low: float = TRACK_DEFAULTS['low'],
                      min_len: int = TRACK_DEFAULTS['min_len'],
                      max_gap: int = TRACK_DEFAULTS['max_gap'],
                      score: str = TRACK_DEFAULTS['score'],
                      untracked: str = TRACK_DEFAULTS['untracked']) -> dict:
    """Action tubes from person tracks (see the module docstring for the method).

    Args:
        gt: ground-truth dict (for ``test_videos`` and ``labels``).
        dets: ``(N, 8)`` per-frame detections (:data:`~.multisports.DET_COLUMNS`), one row
            per (box, class) -- a box's rows for the other classes may be missing (score 0).
        track_ids: ``(N,)`` int, the person track of each row's box (the same id on all rows
            of a box; ids need only be unique within a video); ``<= 0``: untracked.
        smooth: moving window in frames (``<= 1``: no smoothing).
        smoother: ``'mean'`` or ``'median'``.
        high, low: hysteresis thresholds on the smoothed score (``low <= high``).
        min_len: segments shorter than this many frames are dropped.
        max_gap: longest run of missing frames bridged inside a track.
        score: ``'mean'`` or ``'mean_len'``.
        untracked: ``'single'`` or ``'moc'``.

    Returns:
        ``{label index: [Tube, ...]}`` for every label, as :func:`~.multisports.link_tubes`
        (what :func:`~.multisports.video_ap` takes); tubes in (video, track, start) order,
        boxes ``(T, 6)`` rows ``(frame, x1, y1, x2, y2, smoothed class score)``, frames
        consecutive. Independent of the row order of ``dets``.
    """
    if smoother not in SMOOTHERS:
        raise ValueError(f'smoother must be one of {SMOOTHERS}, got {smoother!r}')
    if score not in SEGMENT_SCORES:
        raise ValueError(f'score must be one of {SEGMENT_SCORES}, got {score!r}')
    if untracked not in UNTRACKED:
        raise ValueError(f'untracked must be one of {UNTRACKED}, got {untracked!r}')
    if low > high:
        raise ValueError(f'low ({low}) must be <= high ({high})')
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 8)
    ids = check_track_ids(dets, track_ids)
    videos = eval_videos(gt)
    n_labels = len(gt['labels'])
    out = {c: [] for c in range(n_labels)}
    tracked = ids > 0
    if untracked == 'moc':
        for c, ts in link_tubes(gt, dets[~tracked], min_len=min_len).items():
            out[c].extend(ts)
        d, tid = dets[tracked], ids[tracked]
    elif min_len <= 1:  # each untracked box its own track: key it by its box
        d, tid = dets, ids.copy()
        un = ~tracked
        if un.any():
            _, inv = np.unique(dets[un][:, [0, 1, 4, 5, 6, 7]], axis=0, return_inverse=True)
            tid[un] = -1 - inv.ravel()
    else:  # one-frame tracks are all shorter than min_len
        d, tid = dets[tracked], ids[tracked]
    if not len(d):
        return out
    # rows by (video, track, frame, -score, box, label): groups, best row first per frame
    order = np.lexsort((d[:, 2], d[:, 7], d[:, 6], d[:, 5], d[:, 4], -d[:, 3], d[:, 1], tid,
                        d[:, 0]))
    d, tid = d[order], tid[order]
    new = np.concatenate([[True], (tid[1:] != tid[:-1]) | (d[1:, 0] != d[:-1, 0])])
    starts = np.flatnonzero(new).tolist()
    ends = starts[1:] + [len(d)]
    opts = dict(out=out, smooth=smooth, smoother=smoother, high=high,
                low=low, min_len=min_len, max_gap=max_gap, score=score)
    for s, e in zip(starts, ends):
        g = d[s:e]
        _track_tubes(g[:, 1], g[:, 2].astype(np.int64), g[:, 3], g[:, 4:8],
                     video=videos[int(g[0, 0])], **opts)
    return out
