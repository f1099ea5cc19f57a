"""Link person boxes across frames into tracks with stable integer IDs, using mmdet's
maintained trackers (ByteTrack, OC-SORT: Kalman filter + IoU association, no appearance
model, no MOT model or weights).

Engines: ``'mmdet'`` runs mmdet's own tracker classes (torch tensors, ``mmdet.models``:
seconds to import); ``'numpy'`` runs ByteTrack as :mod:`stad.apis.bytetrack_numpy`, a
numpy port of mmdet's ByteTracker with the same IDs, for the ONNX Runtime / OpenVINO
demo that otherwise imports neither torch nor mmdet.

Streaming: :func:`make_tracker` builds a :class:`PersonTracker`; call
:meth:`PersonTracker.update` once per processed frame, in time order, with that frame's
boxes ``(x1, y1, x2, y2)`` in pixels and their detector scores.

``frame_index``: the number of the update in an evenly spaced sequence of processed
frames, counting 0, 1, 2, ... -- the keyframe number when only keyframes are detected
(the demo: keyframe ``i`` of the list, not its video frame ``i * stride + offset``), the
video frame when every frame is. mmdet's trackers treat a track not seen at
``frame_index - 1`` as lost (ByteTrack then skips its low-score association) and their
Kalman filter advances one step per update, so passing video frame numbers of keyframes
``k`` apart would make every track look lost on every keyframe. Skipping numbers means
frames without any detection call. ``frame_index == 0`` starts again (as :meth:`reset`).

IDs: every input box gets an ID ``>= 1``, aligned with the input order. A box the
tracker links to a track (confirmed, or tentative: a new track not yet seen on
``num_tentatives`` updates) gets that track's ID, stable across updates. A box the
tracker does not follow -- ByteTrack: score <= ``low`` (0.1), a score <= ``high`` (0.6)
that continues no track, or, while it holds no track, a score <= ``init_thr``; OC-SORT:
score <= 0.3, or <= ``init_thr`` while it holds no track -- gets a fresh ID no other box
has or will have (a track of one frame), so that every drawn box has a colour of its
own; :attr:`PersonTracker.tracked` tells which boxes were followed (``np.where(tracked,
ids, 0)`` gives the "0 = no track" convention of ``stad.io.detections``). IDs are never
reused, until :meth:`reset`.
"""
from __future__ import annotations

import functools
from typing import Mapping, Protocol

import numpy as np

from stad.errors import StadError

#: tracker kinds :func:`make_tracker` accepts
TRACKERS = ('bytetrack', 'ocsort')
#: tracker engines :func:`make_tracker` accepts: mmdet's classes, or stad's numpy port
#: (ByteTrack only)
ENGINES = ('mmdet', 'numpy')
#: the kinds each engine runs
ENGINE_KINDS = {'mmdet': TRACKERS, 'numpy': ('bytetrack',)}

# mmdet's ByteTrack / OC-SORT MOT17 configs (configs/bytetrack, configs/ocsort): a track
# unseen for 30 frames (1 s at 30 fps) is dropped; a new track needs a score > 0.7.
DEFAULT_BUFFER = 30
DEFAULT_INIT_THR = 0.7


def check_tracker_options(kind: str, *, buffer: int = DEFAULT_BUFFER,
                          init_thr: float = DEFAULT_INIT_THR, engine: str = 'mmdet') -> None:
    """Raise a one-line :class:`StadError` for an unknown tracker or engine, an engine
    that does not run that tracker, or a bad threshold (cheap: does not import mmdet)."""
    if kind not in TRACKERS:
        raise StadError(f"tracker must be one of {', '.join(TRACKERS)}, got {kind!r}")
    if engine not in ENGINES:
        raise StadError(f"tracker engine must be one of {', '.join(ENGINES)}, "
                        f"got {engine!r}")
    if kind not in ENGINE_KINDS[engine]:
        raise StadError(f"tracker engine {engine!r} runs only "
                        f"{', '.join(ENGINE_KINDS[engine])}, not {kind!r}")
    if isinstance(buffer, bool) or not isinstance(buffer, (int, np.integer)) or buffer < 1:
        raise StadError(f'tracker buffer must be an integer >= 1, got {buffer!r}')
    if not 0.0 <= init_thr <= 1.0:
        raise StadError(f'tracker init_thr must be in [0, 1], got {init_thr}')


@functools.cache
def _mmdet_classes() -> dict:
    """``{kind: mmdet tracker class}``, imported on first use (mmdet.models takes
    seconds to import)."""
    from mmdet.models.trackers import ByteTracker, OCSORTTracker, SORTTracker
    from mmdet.models.trackers.base_tracker import BaseTracker
    from mmdet.registry import TASK_UTILS

    class _SortInitWithoutMotmetrics(SORTTracker):
        # OCSORTTracker.__init__ goes through SORTTracker.__init__, which refuses to run
        # without motmetrics (motmetrics does not work with numpy 2) although OC-SORT
        # never calls it: it associates with lap and overrides SORT's track(). Placed
        # between the two in the MRO, this sets what SORTTracker.__init__ would (OC-SORT
        # then sets its own thresholds) minus the check.
        def __init__(self, motion=None, **kwargs):
            BaseTracker.__init__(self, **kwargs)
            if motion is not None:
                self.motion = TASK_UTILS.build(motion)
            self.reid = None

    class _OCSORT(OCSORTTracker, _SortInitWithoutMotmetrics):
        pass

    return {'bytetrack': ByteTracker, 'ocsort': _OCSORT}


def _match_rows(out_boxes: np.ndarray, out_scores: np.ndarray, boxes: np.ndarray,
                scores: np.ndarray) -> np.ndarray:
    """For each output instance of an mmdet tracker (or of its numpy port, which returns
    the same), the row of the input it came from (-1 if none).

    mmdet 3.3's ByteTracker / OCSORTTracker return only the boxes they put in a track,
    regrouped by association stage (matched to confirmed tracks, then to tentative or new
    tracks, then the low-score matches), as exact copies of the input rows (they index the
    input tensors; the Kalman-filtered boxes stay inside the tracker). So an output row
    equal in box and score to an input row is that row; identical duplicates are
    interchangeable. Should a later mmdet return filtered boxes instead, the fallback is
    the assignment maximising IoU (``lap.lapjv``, which mmdet's trackers use: SciPy's
    ``linear_sum_assignment`` alike, without importing scipy.optimize, 0.3 s).
    """
    import lap

    from stad.data.boxes import iou_matrix

    rows = np.full(len(out_boxes), -1, dtype=np.int64)
    if not len(out_boxes) or not len(boxes):
        return rows
    exact = ((out_boxes[:, None, :] == boxes[None, :, :]).all(-1)
             & (out_scores[:, None] == scores[None, :]))
    gain = iou_matrix(out_boxes, boxes) + exact
    _, x, _ = lap.lapjv(-gain.astype(np.float64), extend_cost=True)
    r = np.flatnonzero(x >= 0)
    c = x[r]
    keep = gain[r, c] > 0
    rows[r[keep]] = c[keep]
    return rows


class TrackerEngine(Protocol):
    """The engine-specific part of a :class:`PersonTracker`: one tracker's ``track`` on
    numpy arrays, returning mmdet's output; :class:`PersonTracker` makes the public IDs
    from it, the same for every engine.

    Attributes:
        tracks: the tracks the tracker holds, keyed by its own ids (from 0): a box of a
            track no longer in it is not linked to the track again.
    """

    tracks: Mapping[int, object]

    def reset(self) -> None:
        """Forget every track; the tracker's ids start at 0 again."""

    def track(self, boxes: np.ndarray, scores: np.ndarray,
              frame_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One frame's float32 boxes ``(N, 4)`` and scores ``(N,)`` (``frame_index`` 0
        resets) -> the boxes it put in a track ``(K, 4)`` (copies of input rows), their
        scores ``(K,)`` and their track ids ``(K,)``."""


class _MmdetEngine:
    """:class:`TrackerEngine` over an mmdet tracker instance: numpy in, torch tensors to
    mmdet, numpy out."""

    def __init__(self, mmdet_tracker):
        self.mm = mmdet_tracker

    def reset(self) -> None:
        self.mm.reset()

    @property
    def tracks(self) -> Mapping[int, object]:
        return self.mm.tracks

    def track(self, boxes: np.ndarray, scores: np.ndarray,
              frame_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import torch
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData

        sample = DetDataSample(metainfo=dict(frame_id=frame_index))
        sample.pred_instances = InstanceData(
            bboxes=torch.from_numpy(boxes.copy()), scores=torch.from_numpy(scores.copy()),
            labels=torch.zeros(len(boxes), dtype=torch.int64))  # one class: person
        with torch.no_grad():
            out = self.mm.track(sample)
        return out.bboxes.numpy(), out.scores.numpy(), out.instances_id.numpy()


class PersonTracker:
    """A streaming person tracker over mmdet's ByteTrack or OC-SORT, or the numpy port of
    mmdet's ByteTrack (build it with :func:`make_tracker`); IDs and ``frame_index`` as the
    module docstring says.

    Args:
        kind: ``'bytetrack'`` or ``'ocsort'``.
        tracker: the :class:`TrackerEngine`: an mmdet tracker behind ``_MmdetEngine``, or
            :class:`stad.apis.bytetrack_numpy.ByteTracker` as it is.
        engine: its name, one of :data:`ENGINES`.

    Attributes:
        kind: ``'bytetrack'`` or ``'ocsort'``.
        engine: ``'mmdet'`` or ``'numpy'``.
        tracked: ``(N,)`` bool of the last update: which boxes the tracker followed
            (the others got a one-frame ID).
    """

    def __init__(self, kind: str, tracker: TrackerEngine, engine: str = 'mmdet'):
        self.kind = kind
        self.engine = engine
        self._tracker = tracker
        self.reset()

    def reset(self) -> None:
        """Forget every track; IDs start at 1 again."""
        self._tracker.reset()
        self._public: dict[int, int] = {}  # tracker id (from 0) -> our id (from 1)
        self._next_id = 1
        self._last_frame: int | None = None
        self.tracked = np.zeros(0, dtype=bool)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def update(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int) -> np.ndarray:
        """Link one frame's boxes ``(N, 4)`` pixels with detector scores ``(N,)``;
        returns their IDs ``(N,)`` int64, each ``>= 1``, in the input order.

        Raises:
            ValueError: ``frame_index`` negative, or not after the previous one (except
                0, which starts again); ``scores`` not one per box.
        """
        boxes = np.ascontiguousarray(boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.ascontiguousarray(scores, dtype=np.float32).reshape(-1)
        if len(scores) != len(boxes):
            raise ValueError(f'{len(boxes)} boxes but {len(scores)} scores')
        frame_index = int(frame_index)
        if frame_index < 0:
            raise ValueError(f'frame_index must be >= 0, got {frame_index}')
        if frame_index == 0:
            self.reset()  # mmdet resets itself on frame 0: our ID map must follow
        elif self._last_frame is not None and frame_index <= self._last_frame:
            raise ValueError(f'frame_index must increase: {frame_index} after '
                             f'{self._last_frame}')
        self._last_frame = frame_index

        out_boxes, out_scores, out_ids = self._tracker.track(boxes, scores, frame_index)
        rows = _match_rows(out_boxes, out_scores, boxes, scores)

        ids = np.zeros(len(boxes), dtype=np.int64)
        for row, mm_id in zip(rows, out_ids.tolist()):
            if row >= 0:
                if mm_id not in self._public:
                    self._public[mm_id] = self._new_id()
                ids[row] = self._public[mm_id]
        self.tracked = ids > 0
        for row in np.flatnonzero(~self.tracked):
            ids[row] = self._new_id()
        # tracks the tracker dropped (lost too long, tentative and unmatched) never come
        # back
        alive = self._tracker.tracks
        self._public = {k: v for k, v in self._public.items() if k in alive}
        return ids


def make_tracker(kind: str = 'bytetrack', *, buffer: int = DEFAULT_BUFFER,
                 init_thr: float = DEFAULT_INIT_THR, engine: str = 'mmdet',
                 **mmdet_kwargs) -> PersonTracker:
    """A :class:`PersonTracker` over mmdet's ByteTracker (``'bytetrack'``) or
    OCSORTTracker (``'ocsort'``), with a Kalman filter motion model.

    Args:
        kind: one of :data:`TRACKERS`.
        buffer: a track unseen on this many consecutive updates is dropped (mmdet's
            ``num_frames_retain``); it can come back after ``buffer - 1`` misses.
        init_thr: score a box needs to start a track (mmdet's ``init_track_thr``;
            ByteTrack also starts tentative tracks from unmatched boxes above its
            ``obj_score_thrs['high']`` once it holds tracks).
        engine: one of :data:`ENGINES`: ``'mmdet'`` runs mmdet's class (imports torch
            and ``mmdet.models``); ``'numpy'`` runs :mod:`stad.apis.bytetrack_numpy`'s
            port of mmdet's ByteTracker (ByteTrack only; the same IDs, imports neither).
        mmdet_kwargs: other arguments of the mmdet class, e.g. ByteTrack's
            ``obj_score_thrs=dict(high=0.6, low=0.1)``, ``match_iou_thrs``, OC-SORT's
            ``obj_score_thr``, ``match_iou_thr``; their defaults are mmdet's configs'.
            The numpy engine takes ByteTrack's (``obj_score_thrs``, ``match_iou_thrs``,
            ``weight_iou_with_det_scores``, ``num_tentatives``).

    Raises:
        StadError: unknown ``kind`` or ``engine``, ``engine='numpy'`` with a tracker
            other than ByteTrack, or bad ``buffer`` / ``init_thr``.
    """
    check_tracker_options(kind, buffer=buffer, init_thr=init_thr, engine=engine)
    if engine == 'numpy':
        from stad.apis.bytetrack_numpy import ByteTracker
        return PersonTracker(kind, ByteTracker(num_frames_retain=int(buffer),
                                               init_track_thr=float(init_thr),
                                               **mmdet_kwargs), engine)
    # `_scope_` builds the Kalman filter from mmdet's registry whatever the caller's
    # default scope (mmaction, mmengine, none), and leaves that scope as it was
    motion = dict(type='KalmanFilter', _scope_='mmdet')
    mm = _mmdet_classes()[kind](motion=motion, num_frames_retain=int(buffer),
                                init_track_thr=float(init_thr), **mmdet_kwargs)
    return PersonTracker(kind, _MmdetEngine(mm), engine)


def engine_for(kind: str, torch_free: bool) -> str:
    """The tracker engine of a run: the numpy ByteTrack (the same IDs as mmdet's,
    :mod:`stad.apis.bytetrack_numpy`) when the run is ``torch_free`` (a runtime backend:
    :class:`stad.apis.detect_numpy.RuntimeDetector`), so that it imports neither torch
    nor mmdet; mmdet's own otherwise (and for OC-SORT)."""
    return 'numpy' if torch_free and kind in ENGINE_KINDS['numpy'] else 'mmdet'


def track_frames(dets_per_frame, kind: str = 'bytetrack', **options) -> list[np.ndarray]:
    """Person track ids of every box of a sequence of frames, in time order.

    Args:
        dets_per_frame: one ``(N_k, 5)`` array (x1, y1, x2, y2 pixels, score) per frame
            that was run (every frame, or every stride-th: one tracker step each),
            empty arrays for frames without boxes.
        kind, options: :func:`make_tracker`'s (``engine``, ``buffer``, ...), passed on.

    Returns:
        One ``(N_k,)`` int64 array per frame: the box's track id (>= 1), 0 for a box no
        track follows (see :attr:`PersonTracker.tracked`).
    """
    tracker = make_tracker(kind, **options)
    out = []
    for i, dets in enumerate(dets_per_frame):
        dets = np.asarray(dets, dtype=np.float32).reshape(-1, 5)
        ids = tracker.update(dets[:, :4], dets[:, 4], frame_index=i)
        out.append(np.where(tracker.tracked, ids, 0).astype(np.int64))
    return out
