"""Seeded synthetic ground truth and noisy detections for testing and benchmarking the
evaluator (not a dataset: boxes drift randomly, classes are random)."""
from __future__ import annotations

import numpy as np


def synthetic_gt(*, n_videos: int = 4, n_frames: int = 60, n_labels: int = 5,
                 tubes_per_video: int = 3, seed: int = 0) -> dict:
    """A MultiSports-schema ground truth: tubes of >= 16 frames, boxes in a 320x240 frame."""
    rng = np.random.default_rng(seed)
    videos = [f'sport/v_{i:04d}' for i in range(n_videos)]
    gttubes = {}
    for v in videos:
        per_label = {}
        for _ in range(tubes_per_video):
            c = int(rng.integers(n_labels))
            s = int(rng.integers(1, n_frames - 20))
            e = int(rng.integers(s + 15, n_frames + 1))
            f = np.arange(s, e + 1, dtype=np.float64)
            w, h = rng.uniform(30, 80), rng.uniform(60, 120)
            # a random walk kept inside the 320x240 image
            x = np.clip(rng.uniform(0, 200) + np.cumsum(rng.normal(0, 2, len(f))), 0, 320 - w)
            y = np.clip(rng.uniform(0, 100) + np.cumsum(rng.normal(0, 2, len(f))), 0, 240 - h)
            per_label.setdefault(c, []).append(np.stack([f, x, y, x + w, y + h], 1))
        gttubes[v] = per_label
    return dict(labels=[f'class {i}' for i in range(n_labels)],
                nframes={v: n_frames for v in videos},
                resolution={v: (240, 320) for v in videos}, gttubes=gttubes,
                train_videos=[[]], test_videos=[videos])


def synthetic_dets(gt: dict, *, seed: int = 1, noise: float = 4.0, p_keep: float = 0.95,
                   p_right_label: float = 0.9, fp_per_frame: float = 0.3,
                   with_tracks: bool = False):
    """Canonical detections ``(N, 8)``: jittered copies of the ground-truth boxes (some
    dropped, some mislabelled) plus random boxes on random frames; uniform scores.

    ``with_tracks``: return ``(dets, track_ids (N,) int64)`` instead, the track id of a
    row = 1 + the index of the ground-truth tube it copies (counted over the test videos,
    in ``gt['gttubes']`` order), 0 for the random boxes. The detections are the same.
    """
    rng = np.random.default_rng(seed)
    n_labels = len(gt['labels'])
    parts, ids, n_tubes = [], [], 0
    for iv, v in enumerate(gt['test_videos'][0]):
        for c, tubes in gt['gttubes'][v].items():
            for t in tubes:
                t = t[rng.random(len(t)) < p_keep]
                lab = np.where(rng.random(len(t)) < p_right_label, c,
                               rng.integers(n_labels, size=len(t)))
                boxes = t[:, 1:5] + rng.normal(0, noise, (len(t), 4))
                parts.append(np.column_stack([np.full(len(t), iv), t[:, 0], lab,
                                              rng.random(len(t)), boxes]))
                n_tubes += 1
                ids.append(np.full(len(t), n_tubes, dtype=np.int64))
        nf = gt['nframes'][v]
        n = int(fp_per_frame * nf)
        xy = rng.uniform(0, [250, 150], (n, 2))
        parts.append(np.column_stack([np.full(n, iv), rng.integers(1, nf + 1, n),
                                      rng.integers(n_labels, size=n), rng.random(n),
                                      xy, xy + [50, 80]]))
        ids.append(np.zeros(n, dtype=np.int64))
    dets = np.concatenate(parts).astype(np.float64)
    return (dets, np.concatenate(ids).astype(np.int64)) if with_tracks else dets


def as_mmaction_results(gt: dict, dets: np.ndarray, *, seed: int = 0) -> list:
    """Canonical detections -> what mmaction2's ``MultiSportsMetric.process`` keeps, one
    entry per frame: ``[video, frame, boxes (n, 4) normalised, scores (n, C) float32]``.
    Each box's class scores are random below its score, its own label at its score (so
    the argmax gives back the detection)."""
    rng = np.random.default_rng(seed)
    out = []
    order = np.lexsort((dets[:, 1], dets[:, 0]))
    d_all = dets[order]
    cuts = np.flatnonzero(np.diff(d_all[:, 0] * (d_all[:, 1].max() + 1) + d_all[:, 1])) + 1
    for d in np.split(d_all, cuts):
        if not len(d):
            continue
        v = gt['test_videos'][0][int(d[0, 0])]
        h, w = gt['resolution'][v]
        scores = rng.random((len(d), len(gt['labels']))) * d[:, 3:4] * 0.99
        scores[np.arange(len(d)), d[:, 2].astype(int)] = d[:, 3]
        out.append([v, int(d[0, 1]), (d[:, 4:8] / [w, h, w, h]).astype(np.float32),
                    scores.astype(np.float32)])
    return out
