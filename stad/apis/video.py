"""Spatio-temporal action detection on one video, streaming: the prediction half of
``stad demo`` (rendering and writing: :mod:`stad.visualization.render`).

Flow (:func:`predict_video`): the person detector runs on every ``track_stride``-th
frame (every frame by default), in batches of ``batch_size`` frames
(:class:`stad.apis.detect.FrameDetector`), and each of these frames' boxes update the
person tracker (:func:`stad.apis.tracking.make_tracker`: mmdet's ByteTrack or OC-SORT,
one update per detected frame, numbered 0, 1, 2, ...). On keyframes, every
``keyframe_stride`` frames where the action model's whole clip window fits inside the
video, the clips around the boxes also go through the action model
(:func:`stad.apis.action.predict_keyframes`, which decodes one clip at a time from the
frame source). Tracking on every frame is what keeps one ID per person: from one
keyframe to the next (8 frames) a walking person moves more than their width and a
jumping jack changes the box's shape, so keyframe-only tracking split each true person
of the synthetic videos into 2-5 tracks (``tests/apis/test_tracking.py``); and boxes
are drawn from the first frame a track covers, not from the first keyframe. The labels
drawn on a box are its track's action scores averaged over ``label_window`` of the
track's keyframes around the nearest one (:func:`smooth_track_actions`).

Memory does not grow with the video's length: frames are decoded on demand from a
:class:`VideoFrames` source (decord random access), which counts the decoded frames
alive at any time; the demo holds at most one batch of keyframes or one clip window
(tests assert ``peak_live_frames <= clip window + batch``). Only the per-keyframe
results (boxes and scores, a few numbers per person) are kept for the whole video.

Frame numbers: ``KeyframeResult.frame_index`` is the **0-based** index into the decoded
video (what the renderer iterates over); the action API takes 1-based keyframes
(``frame_index + 1``), as the ground truth and img keys do.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from stad.apis.tracking import TRACKERS, make_tracker
from stad.errors import StadError
from stad.io.video import VideoFrames
from stad.progress import progress_bar


@dataclass(frozen=True)
class DemoOptions:
    """Knobs of :func:`predict_video`.

    Attributes:
        det_score_thr: keep person boxes scoring >= this.
        action_score_thr: show actions scoring > this (upstream's demo uses ``>``).
        keyframe_stride: frames between keyframes, where the action model runs
            (mmaction2 demo's ``--predict-stepsize``); a multiple of ``track_stride``.
        batch_size: frames per detector / keyframes per action model forward pass.
        topk: at most this many actions per person, best first.
        max_persons: at most this many people per keyframe (best detector scores).
        det_cat_id: detector class index of 'person'; ``None`` = looked up by name
            (``stad.apis.detect.person_label``).
        tracker: ``'bytetrack'`` or ``'ocsort'`` (mmdet's trackers, see
            :mod:`stad.apis.tracking`). ByteTrack links boxes that overlap less from
            one keyframe to the next (IoU x score > 0.1, OC-SORT wants 0.3), which
            large strides need: someone walking moves a good part of their width.
        track_stride: frames between the person detections that feed the tracker (1:
            every frame, the default; larger is faster and breaks more tracks).
        track_buffer: tracker updates a track may go unseen before it is dropped (30
            at ``track_stride`` 1: the 30 frames of mmdet's ByteTrack configs).
        track_init_thr: detector score a person needs to start a track; boxes the
            tracker does not follow are left out (tracked on every frame, each would get
            a new ID on every frame: the flicker a user saw).
        label_window: keyframes of a track whose class scores are averaged for the
            labels drawn (:func:`smooth_track_actions`; 1: each keyframe alone).
    """

    det_score_thr: float = 0.5
    action_score_thr: float = 0.5
    keyframe_stride: int = 8
    batch_size: int = 4
    topk: int = 3
    max_persons: int = 10
    det_cat_id: int | None = None
    tracker: str = 'bytetrack'
    track_stride: int = 1
    track_buffer: int = 30
    track_init_thr: float = 0.7
    label_window: int = 3

    def __post_init__(self):
        if self.tracker not in TRACKERS:
            raise StadError(f"tracker must be one of {', '.join(TRACKERS)}, "
                            f'got {self.tracker!r}')
        for name in ('det_score_thr', 'action_score_thr', 'track_init_thr'):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise StadError(f'{name} must be in [0, 1], got {getattr(self, name)}')
        for name in ('keyframe_stride', 'batch_size', 'topk', 'max_persons',
                     'track_stride', 'track_buffer', 'label_window'):
            if getattr(self, name) < 1:
                raise StadError(f'{name} must be >= 1, got {getattr(self, name)}')
        if self.keyframe_stride % self.track_stride:
            raise StadError(f'keyframe_stride ({self.keyframe_stride}) must be a multiple of '
                            f'track_stride ({self.track_stride}): keyframes are tracked frames')


@dataclass(frozen=True)
class KeyframeResult:
    """Predictions of one tracked frame (a keyframe when it has ``scores``).

    Attributes:
        frame_index: 0-based index of the frame in the decoded video.
        boxes: ``(N, 4)`` float32 x1, y1, x2, y2 in pixels of the video.
        det_scores: ``(N,)`` detector scores.
        track_ids: ``(N,)`` int64 track IDs (>= 1, stable across keyframes).
        actions: per box, up to ``topk`` ``(label name, score)`` pairs above the action
            threshold, best first (from the track-smoothed scores, see
            :func:`smooth_track_actions`).
        scores: ``(N, C)`` float32 class probabilities of the box on this keyframe alone;
            ``None`` on a frame that was only detected and tracked.
    """

    @property
    def is_keyframe(self) -> bool:
        return self.scores is not None

    frame_index: int
    boxes: np.ndarray
    det_scores: np.ndarray
    track_ids: np.ndarray
    actions: tuple
    scores: np.ndarray | None = None


# ---------------------------------------------------------------------------- helpers

def demo_keyframes(num_frames: int, *, clip_len: int, frame_interval: int,
                   stride: int) -> list[int]:
    """0-based keyframe indices whose whole clip lies inside the video.

    The clip of keyframe ``k`` is ``k + (j - clip_len // 2) * frame_interval`` for
    ``j < clip_len`` (mmaction2's ``SampleAVAFrames`` in test mode), so keyframes run
    from ``(clip_len // 2) * frame_interval`` every ``stride`` frames. Empty if the video
    is shorter than the clip window ``(clip_len - 1) * frame_interval + 1``.
    """
    first = (clip_len // 2) * frame_interval
    last = num_frames - 1 - (clip_len - 1 - clip_len // 2) * frame_interval
    return list(range(first, last + 1, stride))


def top_actions(scores: np.ndarray, label_map: Mapping[int, str], *, thr: float,
                topk: int) -> tuple:
    """Per box the ``topk`` best ``(name, score)`` with score > ``thr``; classes missing
    from ``label_map`` are skipped (as mmaction2's demo does)."""
    out = []
    for row in np.atleast_2d(np.asarray(scores)) if len(scores) else ():
        order = np.argsort(-row, kind='stable')
        out.append(tuple((label_map[int(c)], float(row[c])) for c in order
                         if int(c) in label_map and row[c] > thr)[:topk])
    return tuple(out)


# ------------------------------------------------------------------------- prediction

def predict_video(source: VideoFrames, detector: Any, action_model: Any, *,
                  label_map: Mapping[int, str], options: DemoOptions = DemoOptions(),
                  progress: bool = True) -> list[KeyframeResult]:
    """Detect people, predict their actions and track them on every keyframe.

    Args:
        source: the video (:class:`VideoFrames`).
        detector: a :class:`stad.apis.detect.FrameDetector` (BGR frames in, ``(N, 5)``
            pixel boxes + score out, best first); its score threshold is used.
        action_model: a :class:`stad.apis.action.ActionModel`.
        label_map: ``{score column: name}``.
        options: see :class:`DemoOptions`.
        progress: show a progress bar (keyframes, with ETA).

    Returns:
        One :class:`KeyframeResult` per keyframe, in time order.

    Raises:
        StadError: the video is shorter than the action model's clip window.
    """
    from stad.apis.action import predict_keyframes

    am = action_model
    am.check_length(source.num_frames, source.path)
    keys = demo_keyframes(source.num_frames, clip_len=am.clip_len,
                          frame_interval=am.frame_interval, stride=options.keyframe_stride)
    step = options.track_stride
    tracked = list(range((keys[0] if keys else 0) % step, source.num_frames, step))
    keyset = set(keys)
    limit = np.array([source.width, source.height] * 2, dtype=np.float32)
    tracker = make_tracker(options.tracker, buffer=options.track_buffer,
                           init_thr=options.track_init_thr)
    results = []
    with progress_bar(total=len(tracked), desc='demo: detect + track + act', unit='frame',
                      disable=not progress) as bar:
        for s in range(0, len(tracked), options.batch_size):
            batch = tracked[s:s + options.batch_size]
            rgb = source.frames(batch)
            dets = detector([np.ascontiguousarray(f[..., ::-1]) for f in rgb])  # RGB->BGR
            del rgb  # the clips are decoded again, one at a time, by the action API
            # pixel boxes, clipped to the frame (the action head pools inside it)
            boxes = [np.clip(d[:options.max_persons, :4], 0, limit).astype(np.float32)
                     for d in dets]
            kf = [j for j, f in enumerate(batch) if f in keyset]
            scores = dict(zip(kf, predict_keyframes(
                am, source, [batch[j] + 1 for j in kf], [boxes[j] for j in kf],
                normalized=False, batch_size=options.batch_size,
                video=os.path.basename(source.path)))) if kf else {}
            for j, (f, d, b) in enumerate(zip(batch, dets, boxes)):
                det_scores = d[:len(b), 4].copy()
                # update number, not video frame: see stad.apis.tracking
                ids = tracker.update(b, det_scores, frame_index=s + j)
                # a box no track follows would get a new ID on every frame: not drawn
                keep = tracker.tracked
                sc = scores.get(j)
                results.append(KeyframeResult(
                    frame_index=int(f), boxes=b[keep], det_scores=det_scores[keep],
                    track_ids=ids[keep], actions=(),
                    scores=None if sc is None else np.asarray(sc)[keep]))
            bar.update(len(batch))
    return smooth_track_actions(results, label_map, thr=options.action_score_thr,
                                topk=options.topk, window=options.label_window)


def smooth_track_actions(results: Sequence[KeyframeResult], label_map: Mapping[int, str], *,
                         thr: float, topk: int, window: int) -> list[KeyframeResult]:
    """Each box's actions from its person track's class scores averaged over ``window``
    of the track's keyframes centred on the one nearest this frame (fewer at the
    track's ends), so that a label does not flicker from keyframe to keyframe with one
    keyframe's clip; the whole video's predictions are known before rendering, so the
    window looks ahead too. ``window=1`` keeps each keyframe's own scores; a track with
    no keyframe gets no actions. The scores stay as they were."""
    from dataclasses import replace
    tracks: dict[int, list[tuple[int, int]]] = {}  # track -> its keyframe boxes, in time
    for i, r in enumerate(results):
        if r.is_keyframe:
            for j, t in enumerate(r.track_ids):
                tracks.setdefault(int(t), []).append((i, j))
    half = max(window, 1) // 2
    smoothed, when = {}, {}
    for t, seq in tracks.items():
        rows = np.stack([results[i].scores[j] for i, j in seq]).astype(np.float32)
        cs = np.concatenate([np.zeros((1, rows.shape[1]), np.float32), np.cumsum(rows, 0)])
        n = np.arange(len(seq))
        lo, hi = np.maximum(n - half, 0), np.minimum(n + half + 1, len(seq))
        smoothed[t] = (cs[hi] - cs[lo]) / (hi - lo)[:, None]
        when[t] = np.array([results[i].frame_index for i, _ in seq])
    out = []
    for r in results:
        acts = []
        for t in r.track_ids.tolist():
            if t not in smoothed:
                acts.append(())
                continue
            k = int(np.argmin(np.abs(when[t] - r.frame_index)))  # the nearest keyframe
            acts.append(top_actions(smoothed[t][k:k + 1], label_map, thr=thr, topk=topk)[0])
        out.append(replace(r, actions=tuple(acts)))
    return out


# ------------------------------------------------------------------ predictions as data

def frame_events(results: Sequence[KeyframeResult], fps: float) -> list[dict]:
    """One event per drawn person box of every tracked frame, in time order: ``{'frame'
    (1-based), 'time' (s, ``(frame - 1) / fps``), 'track_id', 'box' [x1, y1, x2, y2] px,
    'actions' [[name, score], ...] (best first, the labels drawn), 'keyframe'}``."""
    out = []
    for r in results:
        f = r.frame_index + 1
        for j, t in enumerate(r.track_ids.tolist()):
            out.append(dict(frame=f, time=round((f - 1) / fps, 4), track_id=int(t),
                            box=[round(float(v), 1) for v in r.boxes[j]],
                            actions=[[n, round(float(s), 4)] for n, s in r.actions[j]],
                            keyframe=r.is_keyframe))
    return out


def track_segments(results: Sequence[KeyframeResult], fps: float) -> list[dict]:
    """The action segments per person track: maximal runs of tracked frames of one track
    whose top drawn label is the same (frames without a label end a run), ``{'track_id',
    'label', 'start_frame', 'end_frame' (1-based, inclusive), 'start', 'end' (s: the
    segment shows ``[(start_frame - 1) / fps, end_frame / fps)``), 'mean_score'}``, by
    track then start (Create ML's ``prediction(from:)``, TAO's inference listing)."""
    runs: dict[int, list] = {}
    for r in results:
        for j, t in enumerate(r.track_ids.tolist()):
            top = r.actions[j][0] if r.actions[j] else (None, 0.0)
            runs.setdefault(int(t), []).append((r.frame_index + 1, top[0], float(top[1])))
    out = []
    for t in sorted(runs):
        seq = runs[t]
        start = 0
        for i in range(1, len(seq) + 1):
            if i < len(seq) and seq[i][1] == seq[start][1]:
                continue
            label = seq[start][1]
            if label is not None:
                f0, f1 = seq[start][0], seq[i - 1][0]
                out.append(dict(track_id=t, label=label, start_frame=f0, end_frame=f1,
                                start=round((f0 - 1) / fps, 4), end=round(f1 / fps, 4),
                                mean_score=round(float(np.mean([s for _, _, s in
                                                                seq[start:i]])), 4)))
            start = i
    return out
