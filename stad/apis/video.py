"""Spatio-temporal action detection on one video, streaming: the prediction half of
``stad demo`` (rendering and writing: :mod:`stad.visualization.render`).

Flow (:func:`predict_video`): the video is decoded once, in order
(:meth:`VideoFrames.stream`). The person detector runs on every ``track_stride``-th
frame (every frame by default), in batches of ``batch_size`` frames
(:class:`stad.apis.detect.FrameDetector`), and each of these frames' boxes update the
person tracker (:func:`stad.apis.tracking.make_tracker`: mmdet's ByteTrack or OC-SORT,
or the numpy port of ByteTrack beside the torch-free runtime detector, one update per
detected frame, numbered 0, 1, 2, ...). On keyframes, every
``keyframe_stride`` frames where the action model's whole clip window fits inside the
video, the clips around the boxes also go through the action model
(:func:`stad.apis.action.predict_keyframes`), ``batch_size`` keyframes per forward pass,
as soon as the last frame of their clips is decoded. Tracking on every frame is what
keeps one ID per person: from one keyframe to the next (8 frames) a walking person
moves more than their width and a jumping jack changes the box's shape, so
keyframe-only tracking split each true person of the synthetic videos into 2-5 tracks
(``tests/apis/test_tracking.py``); and boxes are drawn from the first frame a track
covers, not from the first keyframe. The labels drawn on a box are its track's action
scores averaged over ``label_window`` of the track's keyframes around the nearest one
(:func:`smooth_track_actions`).

Memory does not grow with the video's length: a decoded frame is kept only until the
detector has seen it (if it is tracked) and the last keyframe whose clip holds it has
been scored, so at most ``batch_size`` frames waiting for the detector, the clip frames
of the keyframes waiting for their batch and the RGB copies of one batch of clips are
alive (:attr:`VideoFrames.peak_live_frames`; tests/apis/test_demo.py asserts a bound
that does not depend on the length). Only the per-frame results (boxes and scores, a
few numbers per person) are kept for the whole video. Reading the video once in order
replaced random reads per detector batch and per clip, which decoded each frame
several times (2.5 s instead of 0.3 s of decoding for a 1600-frame 320x240 video).

Frame numbers: ``KeyframeResult.frame_index`` is the **0-based** index into the decoded
video (what the renderer iterates over); the action API takes 1-based keyframes
(``frame_index + 1``), as the ground truth and img keys do.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from stad.apis.tracking import TRACKERS, engine_for, make_tracker
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


def video_tracker(options: DemoOptions, detector: Any):
    """The person tracker of ``options`` beside ``detector``: numpy ByteTrack when the
    detector runs without torch (:func:`stad.apis.tracking.engine_for`)."""
    return make_tracker(options.tracker, buffer=options.track_buffer,
                        init_thr=options.track_init_thr,
                        engine=engine_for(options.tracker,
                                          getattr(detector, 'torch_free', False)))


def track_boxes(tracker, dets: np.ndarray, *, limit: np.ndarray, max_persons: int,
                update: int) -> tuple:
    """One detected frame into ``tracker``: ``(boxes, detector scores, track IDs, kept)``
    for the ``max_persons`` best of ``dets`` ``(N, 5)``, boxes clipped to the frame
    (``limit`` = ``[w, h, w, h]``: the action head pools inside it); ``kept`` marks the
    boxes a track follows (one no track follows would get a new ID on every frame: not
    drawn). ``update``: the tracker update number, not the video frame (see
    :mod:`stad.apis.tracking`)."""
    b = np.clip(dets[:max_persons, :4], 0, limit).astype(np.float32)
    s = dets[:len(b), 4].astype(np.float32)
    ids = tracker.update(b, s, frame_index=update)
    return b, s, ids, tracker.tracked.copy()


# ------------------------------------------------------------------------- prediction

class _KeptFrames:
    """The decoded frames :func:`predict_video` keeps, as the action API reads clips:
    ``len()`` (the whole video's, so keyframes keep their numbers) and
    ``get_batch(indices).asnumpy()`` (RGB copies, counted by the source)."""

    def __init__(self, source: VideoFrames, kept: dict):
        self.source, self.kept = source, kept

    def __len__(self) -> int:
        return self.source.num_frames

    def get_batch(self, indices: Sequence[int]):
        return _Array(self.source.to_rgb([self.kept[int(i)] for i in indices]))


class _Array:
    def __init__(self, array: np.ndarray):
        self._array = array

    def asnumpy(self) -> np.ndarray:
        return self._array


def predict_video(source: VideoFrames, detector: Any, action_model: Any, *,
                  label_map: Mapping[int, str], options: DemoOptions = DemoOptions(),
                  progress: bool = True) -> list[KeyframeResult]:
    """Detect and track people on every tracked frame, predict their actions on keyframes.

    Args:
        source: the video (:class:`VideoFrames`), read once in order.
        detector: what :func:`stad.apis.detect.make_detector` returns (BGR frames in, ``(N, 5)``
            pixel boxes + score out, best first); its score threshold is used. The
            frames it gets are read-only (the same arrays build the action clips).
        action_model: a :class:`stad.apis.action.ActionModel`.
        label_map: ``{score column: name}``.
        options: see :class:`DemoOptions`.
        progress: show a progress bar (tracked frames, with ETA).

    Returns:
        One :class:`KeyframeResult` per tracked frame, in time order.

    Raises:
        StadError: the video is shorter than the action model's clip window.
    """
    from stad.apis.action import clip_indices, predict_keyframes

    am = action_model
    n = source.num_frames
    am.check_length(n, source.path)
    keys = demo_keyframes(n, clip_len=am.clip_len, frame_interval=am.frame_interval,
                          stride=options.keyframe_stride)
    step, size = options.track_stride, options.batch_size
    first = (keys[0] if keys else 0) % step
    last_tracked = first + (n - 1 - first) // step * step

    def is_tracked(f: int) -> bool:
        return f >= first and (f - first) % step == 0

    # each clip frame is kept until the last keyframe whose clip holds it is scored
    clip_end, last_use = {}, {}
    for k in keys:
        inds = clip_indices(k + 1, n, clip_len=am.clip_len, frame_interval=am.frame_interval)
        clip_end[k] = int(inds.max())
        for f in inds.tolist():
            last_use[f] = k
    limit = np.array([source.width, source.height] * 2, dtype=np.float32)
    tracker = video_tracker(options, detector)
    video = os.path.basename(source.path)
    kept: dict[int, np.ndarray] = {}  # decoded BGR frames still needed
    clips = _KeptFrames(source, kept)
    records = []  # per tracked frame: (frame, all boxes, detector scores, track IDs, kept)
    scores: dict[int, np.ndarray] = {}  # record -> (N, C) class scores of all its boxes
    to_detect: list[int] = []  # tracked frames waiting for a full detector batch
    waiting: list[tuple[int, int]] = []  # (keyframe, record) detected, not yet scored
    state = dict(detected=-1, scored=-1)  # last frame detected, last keyframe scored

    def detect(bar) -> None:
        dets = detector([kept[f] for f in to_detect])
        for f, d in zip(to_detect, dets):
            records.append((f, *track_boxes(tracker, d, limit=limit,
                                            max_persons=options.max_persons,
                                            update=len(records))))
            if f in clip_end:
                waiting.append((f, len(records) - 1))
        state['detected'] = to_detect[-1]
        bar.update(len(to_detect))
        to_detect.clear()

    def act(batch: list) -> None:
        out = predict_keyframes(am, clips, [k + 1 for k, _ in batch],
                                [records[r][1] for _, r in batch], normalized=False,
                                batch_size=size, video=video)
        for (_, r), sc in zip(batch, out):
            scores[r] = sc
        state['scored'] = batch[-1][0]

    def release() -> None:
        for f in [f for f in kept if (not is_tracked(f) or f <= state['detected'])
                  and last_use.get(f, -1) <= state['scored']]:
            del kept[f]

    with progress_bar(total=(last_tracked - first) // step + 1 if n > first else 0,
                      desc='demo: detect + track + act', unit='frame',
                      disable=not progress) as bar:
        for i, frame in source.stream(lambda f: is_tracked(f) or f in last_use):
            frame.flags.writeable = False  # shared by the detector and the clips
            kept[i] = frame
            del frame
            if is_tracked(i):
                to_detect.append(i)
                if len(to_detect) == size or i == last_tracked:
                    detect(bar)
            ready = sum(1 for k, _ in waiting if clip_end[k] <= i)
            while ready >= size:
                act(waiting[:size])
                del waiting[:size]
                ready -= size
            release()
        if to_detect:  # the stream ended early (it offers every frame: not expected)
            detect(bar)
        for s in range(0, len(waiting), size):
            act(waiting[s:s + size])
        kept.clear()
    results = []
    for r, (f, b, det_scores, ids, keep) in enumerate(records):
        sc = scores.get(r)
        results.append(KeyframeResult(
            frame_index=int(f), boxes=b[keep], det_scores=det_scores[keep],
            track_ids=ids[keep], actions=(),
            scores=None if sc is None else np.asarray(sc)[keep]))
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

def box_event(frame: int, fps: float, track_id: int, box, actions, keyframe: bool) -> dict:
    """One drawn person box as data: ``{'frame'`` (1-based), ``'time'`` (s, ``(frame - 1)
    / fps``), ``'track_id'``, ``'box'`` [x1, y1, x2, y2] px, ``'actions'`` [[name, score],
    ...] (best first, the labels drawn), ``'keyframe'}`` (the demo's and live mode's
    ``--events`` lines)."""
    return dict(frame=int(frame), time=round((frame - 1) / fps, 4), track_id=int(track_id),
                box=[round(float(v), 1) for v in box],
                actions=[[n, round(float(s), 4)] for n, s in actions], keyframe=keyframe)


def frame_events(results: Sequence[KeyframeResult], fps: float) -> list[dict]:
    """One :func:`box_event` per drawn person box of every tracked frame, in time order."""
    return [box_event(r.frame_index + 1, fps, t, r.boxes[j], r.actions[j], r.is_keyframe)
            for r in results for j, t in enumerate(r.track_ids.tolist())]


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
