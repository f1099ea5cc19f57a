"""Multi-object tracking quality: HOTA, DetA, AssA (Luiten et al., IJCV 2020), IDF1
(Ristani et al., 2016), MOTA and ID switches (CLEAR MOT, Bernardin & Stiefelhagen, 2008),
computed by TrackEval's own metric classes (``trackeval.metrics.HOTA``, ``CLEAR``,
``Identity``; PyPI ``trackeval`` 1.3.0, numpy 2 as is), called in-process on numpy
arrays: no files, no ``trackeval.Evaluator``.

Input: per video, MOT track arrays ``(N, >= 6)`` ``frame, id, x, y, w, h[, conf]`` in
pixels, frames 1-based (:mod:`stad.io.mot`), ground truth and prediction alike. One id
per person; a box without an identity (a tracker's "untracked", id 0) has no place in a
track array: leave it out, as a MOT tracker leaves it out of its output.

Similarity: the box IoU ``|A n B| / |A u B|`` with areas ``w * h`` (no ``+1``, boxes
``(x, y, x + w, y + h)``), :func:`stad.evaluation.functional.iou.iou_matrix` -- the same
formula as TrackEval's ``_calculate_box_ious`` for MOTChallenge boxes. CLEAR (MOTA, ID
switches) and Identity (IDF1) count a ground-truth / predicted pair as a match at IoU
>= ``iou_threshold`` (0.5, TrackEval's and MOTChallenge's default); HOTA, DetA, AssA and
LocA are TrackEval's averages over its 19 localisation thresholds alpha = 0.05 ... 0.95.
No MOTChallenge preprocessing (distractor classes, crowd regions, zero-marked boxes):
every ground-truth box counts. Over several videos, TrackEval's ``combine_sequences``
pools the counts (not a mean of per-video scores).

``tracks_per_person`` (not a TrackEval metric): each frame, ground-truth and predicted
boxes are paired one to one maximising IoU among pairs at IoU >= ``iou_threshold``; for
every person paired at least once, the number of distinct predicted ids paired with it,
averaged (1 = each person followed by one track; a fragmented or swapped person counts
more).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from stad.errors import StadError
from stad.evaluation.functional.iou import iou_matrix


@dataclass(frozen=True)
class TrackingScores:
    """Tracking metrics of one video or pooled over videos (see the module docstring).

    ``hota, deta, assa, loca`` are in [0, 1], averaged over TrackEval's alphas;
    ``idf1, idp, idr, mota, motp`` at the IoU threshold; counts are integers.
    """

    hota: float
    deta: float
    assa: float
    loca: float
    idf1: float
    idp: float
    idr: float
    mota: float
    motp: float
    id_switches: int
    fragmentations: int
    mostly_tracked: int
    mostly_lost: int
    true_positives: int
    false_negatives: int
    false_positives: int
    gt_dets: int
    pred_dets: int
    gt_ids: int
    pred_ids: int
    tracks_per_person: float


@dataclass(frozen=True)
class TrackingReport:
    """:attr:`combined` over every video, and :attr:`videos` one by one."""

    combined: TrackingScores
    videos: dict[str, TrackingScores] = field(default_factory=dict)


def _metrics(iou_threshold: float):
    try:
        from trackeval.metrics import CLEAR, HOTA, Identity
    except ImportError as e:
        raise StadError(f'tracking metrics need trackeval (pip install trackeval==1.3.0): '
                        f'{e}') from None
    config = {'THRESHOLD': float(iou_threshold), 'PRINT_CONFIG': False}
    return HOTA(), CLEAR(config), Identity(config)


def _check_tracks(rows, where: str) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    if rows.size == 0:
        return np.zeros((0, 6))
    if rows.ndim != 2 or rows.shape[1] < 6:
        raise StadError(f'{where}: expected MOT rows (N, >= 6) frame, id, x, y, w, h; got '
                        f'shape {rows.shape}')
    rows = rows[:, :6]
    if not np.isfinite(rows).all():
        raise StadError(f'{where}: a value is not a finite number')
    frames, ids = rows[:, 0], rows[:, 1]
    if (frames < 1).any() or (frames != np.round(frames)).any():
        raise StadError(f'{where}: frames must be integers >= 1 (1-based)')
    if (ids < 1).any() or (ids != np.round(ids)).any():
        raise StadError(f'{where}: ids must be integers >= 1 (leave untracked boxes out)')
    pairs = rows[:, :2].astype(np.int64)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    if (counts > 1).any():
        f, i = uniq[np.argmax(counts > 1)]
        raise StadError(f'{where}: id {i} has {counts.max()} boxes in frame {f}')
    return rows


def _by_frame(rows: np.ndarray, id_index: dict, n_frames: int) -> tuple[list, list]:
    """Per timestep 0..n_frames-1: (ids relabelled 0..K-1, boxes x1 y1 x2 y2)."""
    frames = rows[:, 0].astype(np.int64)
    ids = np.array([id_index[int(i)] for i in rows[:, 1]], dtype=np.int64)
    boxes = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)
    order = np.argsort(frames, kind='stable')
    frames, ids, boxes = frames[order], ids[order], boxes[order]
    starts = np.searchsorted(frames, np.arange(1, n_frames + 2))
    per_ids, per_boxes = [], []
    for t in range(n_frames):
        a, b = starts[t], starts[t + 1]
        per_ids.append(ids[a:b])
        per_boxes.append(boxes[a:b])
    return per_ids, per_boxes


def sequence_data(gt_rows, pred_rows, num_frames: int | None = None, *,
                  where: str = 'video') -> dict:
    """TrackEval's per-sequence input dict (``gt_ids``, ``tracker_ids``,
    ``similarity_scores`` per timestep, counts) of one video.

    Args:
        gt_rows, pred_rows: MOT track arrays ``(N, >= 6)``.
        num_frames: frames of the video (default: the last frame of either).
        where: names the video in errors.

    Raises:
        StadError: rows that are not valid tracks (frame or id not an integer >= 1, one
            id twice in a frame), or frames beyond ``num_frames``.
    """
    gt = _check_tracks(gt_rows, f'{where}: ground truth')
    pred = _check_tracks(pred_rows, f'{where}: prediction')
    last = int(max(gt[:, 0].max(initial=0), pred[:, 0].max(initial=0)))
    if num_frames is None:
        num_frames = last
    elif last > num_frames:
        raise StadError(f'{where}: a box in frame {last}, the video has {num_frames} frames')
    gt_index = {int(i): k for k, i in enumerate(np.unique(gt[:, 1]))}
    pred_index = {int(i): k for k, i in enumerate(np.unique(pred[:, 1]))}
    gt_ids, gt_boxes = _by_frame(gt, gt_index, num_frames)
    pred_ids, pred_boxes = _by_frame(pred, pred_index, num_frames)
    return dict(
        num_timesteps=num_frames, num_gt_ids=len(gt_index), num_tracker_ids=len(pred_index),
        num_gt_dets=len(gt), num_tracker_dets=len(pred), gt_ids=gt_ids, tracker_ids=pred_ids,
        similarity_scores=[iou_matrix(g, p) for g, p in zip(gt_boxes, pred_boxes)],
        seq=where)


def _tracks_per_person(data: dict, iou_threshold: float) -> tuple[int, int]:
    """(sum over paired people of their distinct paired ids, people paired)."""
    from scipy.optimize import linear_sum_assignment
    paired: dict[int, set] = {}
    for g, p, sim in zip(data['gt_ids'], data['tracker_ids'], data['similarity_scores']):
        if not len(g) or not len(p):
            continue
        gain = np.where(sim >= iou_threshold - np.finfo(float).eps, sim, 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        for r, c in zip(rows, cols):
            if gain[r, c] > 0:
                paired.setdefault(int(g[r]), set()).add(int(p[c]))
    return sum(len(s) for s in paired.values()), len(paired)


def _scores(hota: dict, clear: dict, ident: dict, n_gt_ids: int, n_pred_ids: int,
            person_tracks: tuple[int, int]) -> TrackingScores:
    mean = lambda x: float(np.mean(x))  # noqa: E731  (TrackEval's summary over alphas)
    total, people = person_tracks
    return TrackingScores(
        hota=mean(hota['HOTA']), deta=mean(hota['DetA']), assa=mean(hota['AssA']),
        loca=mean(hota['LocA']), idf1=float(ident['IDF1']), idp=float(ident['IDP']),
        idr=float(ident['IDR']), mota=float(clear['MOTA']), motp=float(clear['MOTP']),
        id_switches=int(clear['IDSW']), fragmentations=int(clear['Frag']),
        mostly_tracked=int(clear['MT']), mostly_lost=int(clear['ML']),
        true_positives=int(clear['CLR_TP']), false_negatives=int(clear['CLR_FN']),
        false_positives=int(clear['CLR_FP']), gt_dets=int(ident['IDTP'] + ident['IDFN']),
        pred_dets=int(ident['IDTP'] + ident['IDFP']), gt_ids=int(n_gt_ids),
        pred_ids=int(n_pred_ids), tracks_per_person=total / people if people else 0.0)


def evaluate_tracking(gt: Mapping[str, np.ndarray], pred: Mapping[str, np.ndarray], *,
                      num_frames: Mapping[str, int] | None = None,
                      iou_threshold: float = 0.5) -> TrackingReport:
    """Score predicted tracks against ground-truth tracks, per video and pooled.

    Args:
        gt: ``{video: MOT rows (N, >= 6)}``; every video to score (a video may have no
            rows).
        pred: ``{video: MOT rows}``; a video of ``gt`` missing here has no prediction.
        num_frames: frames per video (default: its last frame with a box).
        iou_threshold: IoU a pair needs to match for CLEAR, Identity and
            ``tracks_per_person``.

    Raises:
        StadError: a predicted video that is not in ``gt``, invalid rows (see
            :func:`sequence_data`), or trackeval missing.
    """
    extra = sorted(set(pred) - set(gt))
    if extra:
        raise StadError(f'predictions for {len(extra)} video(s) without ground truth, '
                        f'e.g. {extra[0]!r}')
    if not 0.0 < iou_threshold <= 1.0:
        raise StadError(f'iou_threshold must be in (0, 1], got {iou_threshold}')
    hota_m, clear_m, ident_m = _metrics(iou_threshold)
    res = {'hota': {}, 'clear': {}, 'ident': {}}
    videos, person_total, person_n, gt_ids, pred_ids = {}, 0, 0, 0, 0
    for video in sorted(gt):
        n = None if num_frames is None else int(num_frames[video])
        empty = np.zeros((0, 6))
        data = sequence_data(gt[video], pred.get(video, empty), n, where=video)
        h = res['hota'][video] = hota_m.eval_sequence(data)
        c = res['clear'][video] = clear_m.eval_sequence(data)
        i = res['ident'][video] = ident_m.eval_sequence(data)
        pt = _tracks_per_person(data, iou_threshold)
        videos[video] = _scores(h, c, i, data['num_gt_ids'], data['num_tracker_ids'], pt)
        person_total += pt[0]
        person_n += pt[1]
        gt_ids += data['num_gt_ids']
        pred_ids += data['num_tracker_ids']
    if not videos:
        raise StadError('no videos to evaluate')
    combined = _scores(hota_m.combine_sequences(res['hota']),
                       clear_m.combine_sequences(res['clear']),
                       ident_m.combine_sequences(res['ident']), gt_ids, pred_ids,
                       (person_total, person_n))
    return TrackingReport(combined, videos)
