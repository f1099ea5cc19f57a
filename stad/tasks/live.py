"""``stad demo SOURCE OUT.mp4`` on a live source (a camera, a stream, an ffmpeg pipe).

The file mode (:mod:`stad.tasks.demo`) predicts the whole video, then renders it, which
a source that never ends cannot wait for. Here four stages run at once, as threads
(torch, OpenCV and FFmpeg release the GIL), joined by **bounded** queues whose ``put``
never blocks: when a queue is full its oldest item is dropped and counted
(:class:`DropQueue`), so memory stays bounded however slow a stage is, and the reader
never waits for inference (a live source would back up and lag).

1. **read**: frames from :func:`stad.io.live.open_source` (BGR), numbered 0, 1, 2, ...
   and stamped with their capture time. Each frame goes to the writer queue and (every
   ``track_stride``-th) to the detector queue. The reader keeps a ring buffer of the
   last clip window of frames (``am.clip_window``); when a frame completes the clip of
   a keyframe (``keyframe_stride`` apart, placed as :func:`stad.apis.video.demo_keyframes`
   places them), the clip's sampled frames are set aside for the action model (a few
   clips at most; the oldest unused one goes first).
2. **detect + track**: the person detector on the frames waiting (up to ``batch_size``
   at a time; when it falls behind, the oldest waiting frames are dropped, counted as
   dropped detector frames), then one tracker update per frame. The latest tracked
   boxes are what the writer draws; a keyframe's boxes go to the action queue.
3. **action**: the action model on the keyframes waiting (up to ``batch_size``), each
   with its clip. A keyframe's clip must be complete, so a keyframe's scores can only
   come after the frames **half a clip window** after it have been captured
   (``(clip_len - 1 - clip_len // 2) * frame_interval`` frames: 4 frames, 0.16 s at
   25 fps for the synthetic models) plus the model's time. When the action model
   cannot keep up, stale keyframes are dropped, oldest first (the action queue holds
   ``action_queue`` keyframes; a clip no longer held is dropped too). A track's labels
   are the top actions of its latest scored keyframe
   (:func:`stad.apis.video.top_actions`; ``label_window`` is not applied live: it
   averages over keyframes to come).
4. **draw + write**: every captured frame, drawn with the latest known tracks and labels
   (the boxes of the last detected frame, the labels of each track's last scored
   keyframe), encoded to ``out`` (:func:`stad.io.video.write_mp4`, atomic). The output
   keeps real time: frames are not held back for inference. The writer queue holds
   ``write_queue`` frames (2 s of video by default); only if encoding itself falls that
   far behind are frames dropped (counted; 0 in a run that keeps up).

The run ends at the end of the stream, after ``max_frames`` frames or ``max_seconds``
seconds, or on Ctrl-C (a second Ctrl-C aborts and writes nothing): the frames captured
until then are written and ``out`` appears whole (the encoder is shielded from the
terminal's SIGINT so that it finishes the file).

``events`` (JSON Lines) is a **stream** in live mode: it is opened at the start and grows
as the run goes, one line per tracked box of every detected frame, written and flushed
when the box is known (``frame``, ``time``, ``track_id``, ``box``, ``actions`` as drawn
from then on, ``keyframe``, ``label_frame``: the keyframe whose scores gave the actions).
``segments`` is written atomically at the end, from the same labels
(:class:`SegmentBuilder`, what :func:`stad.apis.video.track_segments` gives on the
same results, built as the run goes).

:func:`run_live` returns a :class:`LiveSummary` (``report()`` for the terminal,
``as_dict()``): per-stage latency p50 / p95 / max (read, detect + track, action, draw +
write), end-to-end latency from capture to the frame handed to the encoder, capture to
boxes and to labels, processed and dropped keyframes (and per second), processed and
dropped detector frames, queue bounds and peaks, and the real-time factor (video
seconds captured / wall seconds).
"""
from __future__ import annotations

import collections
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from stad.apis.video import DemoOptions, box_event, top_actions, track_boxes, video_tracker
from stad.errors import StadError
from stad.io.atomic import atomic_write_text, check_writable
from stad.io.label_map import read_label_map
from stad.io.live import LiveSource, check_spec, open_source, source_kind
from stad.io.video import write_mp4
from stad.progress import progress_bar
from stad.tasks.demo import check_output, load_models, model_labels
from stad.visualization.render import caption, render_frame

#: latency samples kept per statistic (the percentiles are over the last ones)
STAT_SAMPLES = 20000
#: seconds the supervisor waits for a reader stuck in a read after a stop
_READER_GRACE = 2.0
_POLL = 0.05  # seconds a stage waits on a queue before it checks for an abort


class DropQueue:
    """A bounded FIFO whose :meth:`put` never blocks: when full, the oldest item is
    dropped (returned to the caller, counted in :attr:`dropped`), the oldest one that
    ``spare`` does not protect if there is one (the detector queue spares keyframes).
    :attr:`peak` is the largest size it reached; it never exceeds :attr:`maxsize`."""

    def __init__(self, maxsize: int, name: str, spare=None):
        if maxsize < 1:
            raise StadError(f'{name} queue size must be >= 1, got {maxsize}')
        self.maxsize, self.name = int(maxsize), name
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self.closed = False
        self.dropped = 0
        self.peak = 0
        #: ``spare(item)`` true: dropped only when every waiting item is spared
        self.spare = spare or (lambda item: False)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item) -> Any:
        """Append ``item``; return the item dropped to make room (``None`` if none): the
        oldest one :attr:`spare` does not protect, else the oldest. A closed queue
        takes nothing."""
        with self._cond:
            if self.closed:
                return None
            old = None
            if len(self._items) >= self.maxsize:
                at = next((j for j, x in enumerate(self._items) if not self.spare(x)), 0)
                old = self._items[at]
                del self._items[at]
                self.dropped += 1
            self._items.append(item)
            self.peak = max(self.peak, len(self._items))
            self._cond.notify()
            return old

    def get_many(self, n: int, timeout: float) -> list | None:
        """Up to ``n`` items, oldest first, waiting up to ``timeout`` s for the first:
        ``[]`` on timeout, ``None`` once closed and empty."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            if not self._items:
                return None if self.closed else []
            return [self._items.popleft() for _ in range(min(n, len(self._items)))]

    def close(self) -> None:
        """No more items: getters drain what is left, then get ``None``."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class LatencyStat:
    """Durations in seconds (the last :data:`STAT_SAMPLES`) -> p50 / p95 / max in ms
    (``scale=1``: in the unit added)."""

    def __init__(self, scale: float = 1000.0):
        self.samples: collections.deque = collections.deque(maxlen=STAT_SAMPLES)
        self.count = 0
        self.scale = scale

    def add(self, seconds: float) -> None:
        self.samples.append(float(seconds))
        self.count += 1

    def summary(self) -> dict:
        if not self.samples:
            return dict(n=0, p50=None, p95=None, max=None)
        a = np.asarray(self.samples) * self.scale
        return dict(n=self.count, p50=round(float(np.percentile(a, 50)), 2),
                    p95=round(float(np.percentile(a, 95)), 2), max=round(float(a.max()), 2))


class SegmentBuilder:
    """Action segments per person track, built one tracked frame at a time: the same
    segments as :func:`stad.apis.video.track_segments` on the same results (maximal runs
    of one track's frames with the same top label), with memory bounded by the
    segments, not the frames: a track's open run is closed by :meth:`close_track`."""

    def __init__(self, fps: float):
        self.fps = float(fps)
        self._open: dict[int, list] = {}  # track -> [label, first, last, score sum, n]
        self._done: list[dict] = []

    def add(self, frame: int, track_ids, actions) -> None:
        """One tracked frame: ``frame`` 1-based, per box its track ID and its drawn
        actions ``((name, score), ...)`` best first."""
        for t, acts in zip((int(t) for t in track_ids), actions):
            label, score = (acts[0][0], float(acts[0][1])) if acts else (None, 0.0)
            run = self._open.get(t)
            if run is not None and run[0] == label:
                run[2] = frame
                run[3] += score
                run[4] += 1
                continue
            if run is not None:
                self._emit(t, run)
            self._open[t] = [label, frame, frame, score, 1]

    def _emit(self, t: int, run: list) -> None:
        label, f0, f1, total, n = run
        if label is not None:
            self._done.append(dict(track_id=t, label=label, start_frame=f0, end_frame=f1,
                                   start=round((f0 - 1) / self.fps, 4),
                                   end=round(f1 / self.fps, 4),
                                   mean_score=round(total / n, 4)))

    def close_track(self, t: int) -> None:
        """Track ``t`` will not come back (its IDs are never reused)."""
        run = self._open.pop(int(t), None)
        if run is not None:
            self._emit(int(t), run)

    def segments(self) -> list[dict]:
        """Every segment so far (open runs included), by track then start."""
        out = list(self._done)
        for t, run in self._open.items():
            label, f0, f1, total, n = run
            if label is not None:
                out.append(dict(track_id=t, label=label, start_frame=f0, end_frame=f1,
                                start=round((f0 - 1) / self.fps, 4),
                                end=round(f1 / self.fps, 4), mean_score=round(total / n, 4)))
        return sorted(out, key=lambda s: (s['track_id'], s['start_frame']))


@dataclass(frozen=True)
class LiveSummary:
    """What :func:`run_live` did (``as_dict()`` for JSON, ``report()`` for people).

    Latencies are ``{'n', 'p50', 'p95', 'max'}`` in ms: ``read`` (one source read:
    waiting for the frame included, so about one frame period on a live source that
    keeps its pace), ``detect_track`` (one detector call on the waiting frames plus
    their tracker updates), ``action`` (one action model call on the waiting
    keyframes), ``draw_write`` (drawing a frame and handing it to the encoder),
    ``end_to_end`` (capture to the drawn frame handed to the encoder),
    ``capture_to_boxes`` (capture to the frame's tracked boxes), ``capture_to_labels``
    (a keyframe's capture to its labels: half a clip window plus queueing plus the
    action model). ``box_lag_frames``: ``{'n', 'p50', 'p95', 'max'}`` frames between a
    written frame and the detected frame whose boxes it shows. ``delay_frames``: frames
    a keyframe's clip reaches past it (the action model's built-in delay).
    ``warm_up_seconds``: the models' first calls on blank input, before reading.
    Keyframes: ``keyframes`` captured, ``keyframes_processed`` scored,
    ``keyframes_dropped`` (by reason: ``'detector'``, its frame dropped before detection;
    ``'action queue'``, pushed out by newer keyframes; ``'stale clip'``, its clip no
    longer held), ``keyframes_unfinished`` (the stream ended before its clip did, or its
    labels would come after the last frame was written).
    """

    out: str
    source: str
    fps: float
    size: tuple
    stopped_by: str
    frames_captured: int
    frames_written: int
    frames_dropped_writer: int
    wall_seconds: float
    video_seconds: float
    real_time_factor: float
    detector_frames: int
    detector_frames_dropped: int
    keyframes: int
    keyframes_processed: int
    keyframes_dropped: int
    keyframes_dropped_by: dict
    keyframes_unfinished: int
    keyframes_per_second: float
    keyframes_dropped_per_second: float
    latency_ms: dict
    queues: dict
    boxes: int
    tracks: int
    delay_frames: int = 0
    box_lag_frames: dict = field(default_factory=dict)
    warm_up_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def report(self) -> str:
        """The end-of-run report, a few lines."""
        def ms(name):
            s = self.latency_ms.get(name) or {}
            return '-' if not s.get('n') else f"{s['p50']:.1f}/{s['p95']:.1f}"
        by = ', '.join(f'{k} {v}' for k, v in self.keyframes_dropped_by.items())
        q = ', '.join(f"{k} {v['peak']}/{v['bound']}" for k, v in self.queues.items())
        return '\n'.join([
            f'{self.out}: {self.frames_written} frames {self.size[0]}x{self.size[1]} at '
            f'{self.fps:g} fps from {self.source} (live; stopped by {self.stopped_by}), '
            f'{self.video_seconds:.1f} s of video in {self.wall_seconds:.1f} s: real-time '
            f'factor {self.real_time_factor:.2f}',
            'latency ms p50/p95: read ' + ms('read') + ', detect+track ' + ms('detect_track')
            + ', action ' + ms('action') + ', draw+write ' + ms('draw_write')
            + '; end-to-end (capture -> rendered frame) ' + ms('end_to_end')
            + ', capture -> boxes ' + ms('capture_to_boxes') + ', capture -> labels '
            + ms('capture_to_labels'),
            f'keyframes: {self.keyframes_processed} processed '
            f'({self.keyframes_per_second:.2f}/s), {self.keyframes_dropped} dropped '
            f'({self.keyframes_dropped_per_second:.2f}/s: {by}), '
            f'{self.keyframes_unfinished} unfinished at the end, of {self.keyframes}',
            f'detector frames: {self.detector_frames} processed, '
            f'{self.detector_frames_dropped} dropped; frames dropped by the writer: '
            f'{self.frames_dropped_writer}; {self.boxes} boxes, {self.tracks} tracks; '
            f'queues peak/bound: {q}',
        ])


@dataclass
class _Frame:
    index: int  # 0-based capture order
    t: float  # capture time (perf_counter)
    frame: np.ndarray  # BGR


@dataclass
class _Job:
    index: int
    t: float
    boxes: np.ndarray
    track_ids: np.ndarray


class _ClipFrames:
    """The clips' frames as the action API reads a video: ``len()`` and
    ``get_batch(indices).asnumpy()`` (RGB), indices relative to frame ``lo``."""

    def __init__(self, frames: Mapping[int, np.ndarray], lo: int, n: int):
        self._frames, self._lo, self._n = frames, lo, n

    def __len__(self) -> int:
        return self._n

    def get_batch(self, inds):
        stacked = np.stack([self._frames[self._lo + int(i)][..., ::-1] for i in inds])

        class _B:
            def asnumpy(_self):
                return stacked
        return _B()


class _Aborted(Exception):
    """The writer stops without a file (second Ctrl-C, a failed stage, no frames)."""


class _Pipeline:
    """The four stages of :func:`run_live` and their shared state (module docstring)."""

    def __init__(self, source: LiveSource, out: str, detector, am, *, label_map: Mapping,
                 options: DemoOptions, max_frames: int | None, max_seconds: float | None,
                 det_queue: int, action_queue: int, write_queue: int,
                 events: str | None, stage_delay: Mapping[str, float], progress: bool):
        self.source, self.out, self.detector, self.am = source, out, detector, am
        self.label_map, self.o = label_map, options
        self.max_frames, self.max_seconds = max_frames, max_seconds
        self.delay = {k: float(v) for k, v in (stage_delay or {}).items()}
        unknown = set(self.delay) - {'read', 'detect', 'action', 'write'}
        if unknown:
            raise StadError(f"stage_delay: unknown stages {sorted(unknown)} (read, detect, "
                            "action, write)")
        self.det_q = DropQueue(det_queue, 'detector',
                               spare=lambda f: self.is_key(f.index))
        self.action_q = DropQueue(action_queue, 'action')
        self.write_q = DropQueue(write_queue, 'writer')
        half = am.clip_len // 2
        self.offsets = [(j - half) * am.frame_interval for j in range(am.clip_len)]
        self.first_key = half * am.frame_interval
        self.after = self.offsets[-1]  # frames after a keyframe its clip needs
        self.ring: collections.deque = collections.deque(maxlen=am.clip_window)
        self.clips: collections.OrderedDict = collections.OrderedDict()
        self.clip_keep = action_queue + options.batch_size + 4
        self.evicted_upto = -1
        self.clip_cond = threading.Condition()
        self.reader_done = False
        self.reader_running = False
        self.stop, self.abort = threading.Event(), threading.Event()
        self.finished = threading.Event()  # the writer is done; the others may stop
        self.writer_done = threading.Event()
        self.det_done = threading.Event()  # the detector stage has stopped
        self.stopped_by = 'end of stream'
        self.errors: list[BaseException] = []
        self.latest: tuple | None = None  # (frame index, boxes, track ids) last detected
        self.labels: dict[int, tuple] = {}  # track -> (actions, keyframe index)
        self.labels_lock = threading.Lock()
        self.stats = {k: LatencyStat() for k in (
            'read', 'detect_track', 'action', 'draw_write', 'end_to_end',
            'capture_to_boxes', 'capture_to_labels')}
        self.box_lag = LatencyStat(scale=1.0)  # frames
        self.captured = self.written = self.detected = self.n_boxes = 0
        self.keyframes = self.kf_processed = self.kf_unfinished = 0
        self.kf_dropped = {'detector': 0, 'action queue': 0, 'stale clip': 0}
        self.track_seen: dict[int, int] = {}  # track -> last update number
        self.n_tracks = 0
        self.n_updates = 0
        self.segments = SegmentBuilder(source.fps)
        self.events = open(events, 'w', encoding='utf-8') if events else None
        self.t_first = self.t_end = None
        self._pending: tuple | None = None
        self.bar = progress_bar(total=max_frames, desc='demo: live', unit='frame',
                                disable=not progress)

    # ------------------------------------------------------------------ helpers
    def is_key(self, i: int) -> bool:
        return i >= self.first_key and (i - self.first_key) % self.o.keyframe_stride == 0

    def _sleep(self, stage: str) -> None:
        if self.delay.get(stage):
            time.sleep(self.delay[stage])

    def _fail(self, e: BaseException) -> None:
        self.errors.append(e)
        self.abort.set()
        self.stop.set()

    # ------------------------------------------------------------------ 1. read
    def read_stage(self) -> None:
        self.reader_running = True
        try:
            frames = iter(self.source.frames())
            step = self.o.track_stride
            while not self.stop.is_set():
                t0 = time.perf_counter()
                item = next(frames, None)
                if item is None:
                    break
                t, frame = item
                self._sleep('read')
                if self.stop.is_set():
                    break
                i = self.captured
                self.stats['read'].add(time.perf_counter() - t0)
                if self.t_first is None:
                    self.t_first = t
                rec = _Frame(i, t, frame)
                self.captured += 1
                self._add_to_ring(i, frame)
                if self.is_key(i):
                    self.keyframes += 1
                if i % step == self.first_key % step:
                    old = self.det_q.put(rec)
                    if old is not None and self.is_key(old.index):
                        self.kf_dropped['detector'] += 1
                self.write_q.put(rec)
                if self.max_frames is not None and self.captured >= self.max_frames:
                    self.stopped_by = 'max-frames'
                    break
        except BaseException as e:  # any failure stops the run
            self._fail(e)
        finally:
            self.reader_running = False
            with self.clip_cond:
                self.reader_done = True
                self.clip_cond.notify_all()
            self.det_q.close()
            self.write_q.close()

    def _add_to_ring(self, i: int, frame: np.ndarray) -> None:
        """Ring buffer of the last clip window; set the clip of the keyframe that frame
        ``i`` completes aside (references, no copy)."""
        self.ring.append(frame)
        k = i - self.after
        if not self.is_key(k):
            return
        oldest = i - len(self.ring) + 1
        clip = {k + o: self.ring[k + o - oldest] for o in self.offsets}
        with self.clip_cond:
            self.clips[k] = clip
            while len(self.clips) > self.clip_keep:
                gone, _ = self.clips.popitem(last=False)
                self.evicted_upto = max(self.evicted_upto, gone)
            self.clip_cond.notify_all()

    def _take_clip(self, k: int) -> tuple[dict | None, str]:
        """The clip of keyframe ``k`` once complete: ``(frames, '')``, or ``(None,
        'stale clip' | 'unfinished')``."""
        with self.clip_cond:
            while k not in self.clips:
                if k <= self.evicted_upto:
                    return None, 'stale clip'
                if self.reader_done or self.abort.is_set() or self.finished.is_set():
                    return None, 'unfinished'
                self.clip_cond.wait(_POLL)
            return self.clips.pop(k), ''

    # ------------------------------------------------------------------ 2. detect + track
    def detect_stage(self) -> None:
        try:
            tracker = self.tracker
            limit = np.array([self.source.width, self.source.height] * 2, dtype=np.float32)
            while not self.abort.is_set():
                batch = self.det_q.get_many(self.o.batch_size, _POLL)
                if batch is None:
                    break
                if not batch:
                    continue
                t0 = time.perf_counter()
                dets = self.detector([np.ascontiguousarray(f.frame) for f in batch])
                self._sleep('detect')
                for f, d in zip(batch, dets):
                    self._track(tracker, f, d, limit)
                self.stats['detect_track'].add(time.perf_counter() - t0)
        except BaseException as e:
            self._fail(e)
        finally:
            self.action_q.close()
            self.det_done.set()

    def _track(self, tracker, f: _Frame, d: np.ndarray, limit: np.ndarray) -> None:
        b, s, ids, keep = track_boxes(tracker, d, limit=limit, max_persons=self.o.max_persons,
                                      update=self.n_updates)
        b, s, ids = b[keep], s[keep], ids[keep]
        self.latest = (f.index, b, ids)
        self.stats['capture_to_boxes'].add(time.perf_counter() - f.t)
        self.detected += 1
        self.n_boxes += len(b)
        with self.labels_lock:
            known = [self.labels.get(int(t)) for t in ids]
        acts = [k[0] if k else () for k in known]
        self.segments.add(f.index + 1, ids, acts)
        if self.events is not None:
            key = self.is_key(f.index)
            lines = [json.dumps(dict(
                box_event(f.index + 1, self.source.fps, t, b[j], acts[j], key),
                label_frame=None if known[j] is None else known[j][1] + 1)) + '\n'
                for j, t in enumerate(ids.tolist())]
            if lines:
                self.events.write(''.join(lines))
                self.events.flush()
        for t in ids.tolist():
            if int(t) not in self.track_seen:
                self.n_tracks += 1  # IDs are never reused: a new key is a new track
            self.track_seen[int(t)] = self.n_updates
        self.n_updates += 1
        if self.n_updates % 50 == 0:  # forget tracks the tracker has dropped
            gone = [t for t, u in self.track_seen.items()
                    if self.n_updates - u > self.o.track_buffer + 1]
            with self.labels_lock:
                for t in gone:
                    self.labels.pop(t, None)
            for t in gone:
                del self.track_seen[t]
                self.segments.close_track(t)
        if self.is_key(f.index):
            old = self.action_q.put(_Job(f.index, f.t, b, ids))
            if old is not None:
                self.kf_dropped['action queue'] += 1

    # ------------------------------------------------------------------ 3. action
    def action_stage(self) -> None:
        from stad.apis.action import predict_keyframes
        try:
            while not self.abort.is_set():
                jobs = self.action_q.get_many(self.o.batch_size, _POLL)
                if jobs is None:
                    break
                if self.finished.is_set():  # the video is written: labels come too late
                    self.kf_unfinished += len(jobs)
                    continue
                ready = []
                for job in jobs:
                    clip, why = self._take_clip(job.index)
                    if clip is None:
                        if why == 'unfinished':
                            self.kf_unfinished += 1
                        else:
                            self.kf_dropped[why] += 1
                    else:
                        ready.append((job, clip))
                if not ready:
                    continue
                t0 = time.perf_counter()
                frames = {i: fr for _, clip in ready for i, fr in clip.items()}
                lo = min(frames)
                source = _ClipFrames(frames, lo, max(frames) - lo + 1)
                scores = predict_keyframes(
                    self.am, source, [job.index - lo + 1 for job, _ in ready],
                    [job.boxes for job, _ in ready], normalized=False,
                    batch_size=self.o.batch_size, video='live')  # an id, not a path
                self._sleep('action')
                done = time.perf_counter()
                self.stats['action'].add(done - t0)
                with self.labels_lock:
                    for (job, _), sc in zip(ready, scores):
                        acts = top_actions(sc, self.label_map, thr=self.o.action_score_thr,
                                           topk=self.o.topk)
                        for t, a in zip(job.track_ids.tolist(), acts):
                            self.labels[int(t)] = (a, job.index)
                for job, _ in ready:
                    self.stats['capture_to_labels'].add(done - job.t)
                self.kf_processed += len(ready)
        except BaseException as e:
            self._fail(e)

    # ------------------------------------------------------------------ 4. draw + write
    def _frames_to_write(self):
        while True:
            if self.abort.is_set():
                raise _Aborted()
            items = self.write_q.get_many(1, _POLL)
            if items is None:
                # the last frame is written: the mp4 is renamed into place when this
                # returns, so not before the detector has finished its last frames
                # without an error (a failed stage leaves no output)
                while not self.det_done.wait(_POLL):
                    if self.abort.is_set():
                        raise _Aborted()
                if self.written == 0 or self.abort.is_set() or self.errors:
                    raise _Aborted()
                return
            if not items:
                continue
            f = items[0]
            t0 = time.perf_counter()
            latest = self.latest
            if latest is None:
                boxes, ids, caps = np.zeros((0, 4)), np.zeros(0, np.int64), []
            else:
                index, boxes, ids = latest
                self.box_lag.add(f.index - index)
                with self.labels_lock:
                    caps = [caption(t, (self.labels.get(int(t)) or ((),))[0])
                            for t in ids.tolist()]
            rgb = render_frame(f.frame[..., ::-1], boxes, ids, caps)
            self._sleep('write')
            self._pending = (f, t0)
            yield rgb

    def _on_frame(self) -> None:
        f, t0 = self._pending
        now = time.perf_counter()
        self.stats['draw_write'].add(now - t0)
        self.stats['end_to_end'].add(now - f.t)
        self.written += 1
        self.bar.update(1)

    def write_stage(self) -> None:
        if hasattr(signal, 'pthread_sigmask'):
            # the encoder (an ffmpeg child started from this thread) inherits the blocked
            # signal: a Ctrl-C in the terminal stops the run, not the encoder mid-file
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            write_mp4(self._frames_to_write(), self.out, fps=self.source.fps,
                      size=(self.source.width, self.source.height), on_frame=self._on_frame)
        except BaseException as e:
            if not isinstance(e, _Aborted):
                self.errors.append(e)
            self.abort.set()
            self.stop.set()
        finally:
            self.t_end = time.perf_counter()
            self.writer_done.set()

    # ------------------------------------------------------------------ supervisor
    def warm_up(self) -> None:
        """One detector call, one action model call and the tracker's imports on blank
        input before the first frame is read: the first calls of a model (lazy imports,
        allocations) take seconds, which would show as latency and drops."""
        from stad.apis.action import predict_keyframes
        t0 = time.perf_counter()
        w, h = self.source.width, self.source.height
        blank = np.zeros((h, w, 3), np.uint8)
        self.detector([blank])
        self.tracker = video_tracker(self.o, self.detector)
        self.tracker.update(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0)
        n = self.am.clip_window
        predict_keyframes(self.am, _ClipFrames({i: blank for i in range(n)}, 0, n),
                          [self.first_key + 1], [np.array([[0, 0, w / 2, h / 2]], np.float32)],
                          normalized=False, video='live')
        self.warm_up_seconds = time.perf_counter() - t0

    def run(self) -> None:
        try:
            self.warm_up()
            print(f'stad demo: live from {self.source.spec}, {self.source.width}x'
                  f'{self.source.height} at {self.source.fps:g} fps; Ctrl-C stops and writes '
                  f'{self.out}', file=sys.stderr, flush=True)
            self._supervise()
        finally:
            self.bar.close()
            if self.events is not None:
                self.events.close()

    def _supervise(self) -> None:
        stages = [threading.Thread(target=fn, name=f'stad-live-{name}', daemon=True)
                  for name, fn in (('read', self.read_stage), ('detect', self.detect_stage),
                                   ('action', self.action_stage), ('write', self.write_stage))]
        start = time.perf_counter()
        stop_at = None
        interrupts = 0
        for s in stages:
            s.start()
        # waits on an Event, not on writer.join(): a KeyboardInterrupt inside join() can
        # leave is_alive() False while the thread still runs (CPython 3.11), and the
        # process would exit before the encoder finished and the mp4 was renamed
        while not self.writer_done.is_set():
            try:
                self.writer_done.wait(_POLL)
                now = time.perf_counter()
                if (self.max_seconds is not None and not self.stop.is_set()
                        and now - start >= self.max_seconds):
                    self.stopped_by = 'max-seconds'
                    self.stop.set()
                if self.stop.is_set() and stop_at is None:
                    stop_at = now
                if (stop_at is not None and self.reader_running
                        and now - stop_at > _READER_GRACE):
                    # the reader is stuck in a read (a stalled source): finish without it
                    with self.clip_cond:
                        self.reader_done = True
                        self.clip_cond.notify_all()
                    self.det_q.close()
                    self.write_q.close()
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts == 1:
                    self.stopped_by = 'interrupt'
                    self.stop.set()
                    print('stad demo: stopping, writing the frames captured so far '
                          '(Ctrl-C again to abort)', file=sys.stderr)
                else:
                    self.errors.append(KeyboardInterrupt())
                    self.abort.set()
        self.finished.set()
        try:
            for s in stages[1:3]:
                s.join(5.0)
        except KeyboardInterrupt:
            self.abort.set()  # the video is written: stop waiting for the stages

    def summary(self) -> LiveSummary:
        wall = max((self.t_end or time.perf_counter()) - (self.t_first or 0.0), 1e-9) \
            if self.t_first is not None else 0.0
        video = self.captured / self.source.fps
        dropped = sum(self.kf_dropped.values())
        return LiveSummary(
            out=self.out, source=self.source.spec, fps=self.source.fps,
            size=(self.source.width, self.source.height), stopped_by=self.stopped_by,
            frames_captured=self.captured, frames_written=self.written,
            frames_dropped_writer=self.write_q.dropped, wall_seconds=round(wall, 3),
            video_seconds=round(video, 3),
            real_time_factor=round(video / wall, 3) if wall else 0.0,
            detector_frames=self.detected, detector_frames_dropped=self.det_q.dropped,
            keyframes=self.keyframes, keyframes_processed=self.kf_processed,
            keyframes_dropped=dropped, keyframes_dropped_by=dict(self.kf_dropped),
            keyframes_unfinished=self.kf_unfinished,
            keyframes_per_second=round(self.kf_processed / wall, 3) if wall else 0.0,
            keyframes_dropped_per_second=round(dropped / wall, 3) if wall else 0.0,
            latency_ms={k: v.summary() for k, v in self.stats.items()},
            queues={q.name: dict(bound=q.maxsize, peak=q.peak)
                    for q in (self.det_q, self.action_q, self.write_q)},
            boxes=self.n_boxes, tracks=self.n_tracks, delay_frames=self.after,
            warm_up_seconds=round(self.warm_up_seconds, 3),
            box_lag_frames=self.box_lag.summary())


def run_live(source_spec: str | LiveSource, out: str, *, det_config: str | None = None,
             det_checkpoint: str | None = None, config: str | None = None,
             checkpoint: str | None = None, options: DemoOptions = DemoOptions(),
             backend: str = 'torch', onnx_dir: str | None = None, precision: str = 'f32',
             label_map: str | None = None, device: str = 'cpu',
             cfg_options: Mapping | None = None, input_size=None,
             input_fps: float | None = None, max_seconds: float | None = None,
             max_frames: int | None = None, source_timeout: float = 10.0,
             events: str | None = None, segments: str | None = None,
             det_queue: int | None = None, action_queue: int = 2,
             write_queue: int | None = None, progress: bool = True,
             stage_delay: Mapping[str, float] | None = None,
             models: tuple | None = None) -> LiveSummary:
    """``stad demo SOURCE OUT.mp4`` on a live source, as staged threads (module docstring).

    Args:
        source_spec: ``'-'`` (raw ``bgr24`` frames on stdin), a camera index, a URL
            (:func:`stad.io.live.open_source`), a video file (replayed at its own rate),
            or an open :class:`stad.io.live.LiveSource`.
        out: output mp4 (written atomically, at the end).
        det_config, det_checkpoint, config, checkpoint: the models, as for
            :func:`stad.tasks.demo.run_demo`; ``backend`` / ``onnx_dir`` / ``precision``
            as :func:`stad.tasks.demo.load_models`.
        options: the demo's knobs (:class:`DemoOptions`; ``label_window`` is not used).
        input_size, input_fps: frame size ``'WxH'`` and rate of ``'-'`` (required there);
            elsewhere a resize and a rate override.
        max_seconds, max_frames: stop after this many seconds (from the start of
            reading) or captured frames; a live source may never end.
        source_timeout: seconds a URL may take to open, or stall while reading.
        events: JSON Lines file, written as a stream during the run (module docstring).
        segments: JSON file of the action segments per track, written at the end.
        det_queue: frames waiting for the detector (default ``options.batch_size``).
        action_queue: keyframes waiting for the action model.
        write_queue: frames waiting for the encoder (default 2 s of video).
        progress: a progress line of the frames written.
        stage_delay: test hook, ``{'read' | 'detect' | 'action' | 'write': seconds}``
            slept by that stage after each call (a slow stage on demand).
        models: ``(detector, ActionModel)`` already loaded (tests); the config and
            checkpoint arguments are then not used.

    Returns:
        A :class:`LiveSummary`.

    Raises:
        StadError: a bad source or option (before any model loads), a source that does
            not open, a stream that gave no frame, an output that cannot be written.
            Nothing is written then (``events`` excepted, once the run started).
    """
    for name, value in (('max_seconds', max_seconds), ('source_timeout', source_timeout)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise StadError(f'{name} must be a finite number > 0, got {value}')
    if max_frames is not None and max_frames < 1:
        raise StadError(f'max_frames must be >= 1, got {max_frames}')
    spec = source_spec.spec if isinstance(source_spec, LiveSource) else str(source_spec)
    if not isinstance(source_spec, LiveSource):
        check_spec(spec, input_size=input_size, input_fps=input_fps)
    check_output(out, spec if source_kind(spec) == 'file' else os.devnull)
    for path in (events, segments):
        if path is not None:
            check_writable(path)
    # a bad file fails before the source opens
    labels = read_label_map(label_map) if label_map is not None else None
    source = source_spec if isinstance(source_spec, LiveSource) else open_source(
        spec, input_size=input_size, input_fps=input_fps, timeout=source_timeout)
    pipe = None
    try:
        if models is None:
            if backend == 'torch' and None in (det_config, det_checkpoint, config, checkpoint):
                raise StadError('live demo: --det-config, --det-checkpoint, --config and '
                                '--checkpoint are needed')
            detector, am = load_models(det_config, det_checkpoint, config, checkpoint,
                                       options=options, device=device,
                                       cfg_options=cfg_options, backend=backend,
                                       onnx_dir=onnx_dir, precision=precision)
        else:
            detector, am = models
        labels = model_labels(am, labels, label_map)
        fps = source.fps
        pipe = _Pipeline(source, out, detector, am, label_map=labels, options=options,
                         max_frames=max_frames, max_seconds=max_seconds,
                         det_queue=det_queue or options.batch_size,
                         action_queue=action_queue,
                         write_queue=write_queue or max(16, math.ceil(2 * fps)),
                         events=events, stage_delay=stage_delay or {}, progress=progress)
        pipe.run()
    finally:
        # a reader still stuck in a read of a stalled stream keeps its source: closing a
        # demuxer under a running read is not safe; the process exit releases it
        if pipe is None or not pipe.reader_running:
            source.close()
    if pipe.errors:
        raise pipe.errors[0]
    if pipe.written == 0:
        raise StadError(f'{spec}: no frame received; nothing written')
    summary = pipe.summary()
    if segments is not None:
        atomic_write_text(segments, json.dumps(
            dict(video=spec, fps=fps, live=True, segments=pipe.segments.segments()),
            indent=1) + '\n')
    return summary
