"""The `(N, 8)` detections `stad predict` writes and `stad eval` reads, and the other formats it accepts.

The canonical detections are a float array ``(N, 8)`` with the columns
:data:`DET_COLUMNS`::

    video_index, frame, label, score, x1, y1, x2, y2

``video_index`` indexes ``gt['test_videos'][0]``, ``frame`` is 1-based, ``label`` is the
0-based index into ``gt['labels']``, boxes are pixels of the original video.

:func:`load_detections` reads a pickle holding any of:

1. ``{'videos': [video, ...], 'dets': array (N, 8)}`` -- the recommended file format:
   ``video_index`` indexes ``'videos'`` (self-describing; re-indexed against the GT).
2. ``{img_key: array (M, 6)}`` with rows ``(label, score, x1, y1, x2, y2)`` in pixels and
   keys from :func:`stad.io.layout.img_key` (``'<sport>/<video>.mp4,0042'``).
3. a list of mmaction2 results: data-sample dicts as written by
   ``mim test mmaction2 CONFIG --dump X.pkl`` (``video_id``, ``timestamp``,
   ``pred_instances`` with normalised ``bboxes`` (n, 4) and per-class ``scores`` (n, C)),
   or the ``[video, frame, bboxes, scores]`` lists ``MultiSportsMetric`` keeps.
4. a bare array (N, 8) whose ``video_index`` already indexes ``gt['test_videos'][0]``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from stad.errors import StadError
from stad.io.arrays import to_numpy
from stad.io.atomic import atomic_dump_pickle
from stad.io.layout import VIDEO_EXT, parse_img_key
from stad.io.safe_pickle import load_pickle

DET_COLUMNS = ('video_index', 'frame', 'label', 'score', 'x1', 'y1', 'x2', 'y2')


def check_detections(dets: Any, gt: dict, *, source: str = 'detections') -> np.ndarray:
    """Validate canonical detections against ``gt``; returns them as float64 ``(N, 8)``."""
    dets = np.asarray(dets, dtype=np.float64)
    if dets.size == 0:
        return dets.reshape(0, 8)
    if dets.ndim != 2 or dets.shape[1] != len(DET_COLUMNS):
        raise StadError(f'{source}: expected an array (N, 8) with columns {DET_COLUMNS}, '
                        f'got shape {dets.shape}')
    if not np.isfinite(dets).all():
        raise StadError(f'{source}: contains NaN or inf')
    videos = gt['test_videos'][0]
    vi = dets[:, 0].astype(np.int64)
    if vi.min() < 0 or vi.max() >= len(videos):
        raise StadError(f'{source}: video_index out of range 0..{len(videos) - 1}')
    labels = dets[:, 2].astype(np.int64)
    if labels.min() < 0 or labels.max() >= len(gt['labels']):
        raise StadError(f'{source}: label out of range 0..{len(gt["labels"]) - 1}')
    nframes = np.array([gt['nframes'][v] for v in videos])
    frames = dets[:, 1]
    bad = np.flatnonzero((frames < 1) | (frames > nframes[vi]))
    if bad.size:
        i = bad[0]
        raise StadError(f'{source}: frame {frames[i]:g} outside 1..{nframes[vi[i]]} of video '
                        f'{videos[vi[i]]!r} (frames are 1-based)')
    return dets


def _video_indexer(gt: dict, source: str):
    index = {v: i for i, v in enumerate(gt['test_videos'][0])}

    def lookup(video: str) -> int:
        if video.endswith(VIDEO_EXT):
            video = video[:-len(VIDEO_EXT)]
        if video not in index:
            raise StadError(f'{source}: video {video!r} is not among the ground truth '
                            'test_videos')
        return index[video]
    return lookup


def detections_from_indexed(videos: Sequence[str], dets: Any, gt: dict, *,
                            source: str = 'detections') -> np.ndarray:
    """Format 1: ``dets (N, 8)`` whose ``video_index`` indexes ``videos``."""
    dets = np.array(dets, dtype=np.float64)
    if dets.size == 0:
        dets = dets.reshape(0, 8)
    if dets.ndim != 2 or dets.shape[1] != len(DET_COLUMNS):
        raise StadError(f"{source}: 'dets' must be an array (N, 8) with columns "
                        f'{DET_COLUMNS}, got shape {dets.shape}')
    lookup = _video_indexer(gt, source)
    remap = np.array([lookup(v) for v in videos], dtype=np.float64)
    if len(dets):
        vi = dets[:, 0].astype(np.int64)
        if vi.min() < 0 or vi.max() >= len(videos):
            raise StadError(f"{source}: video_index out of range of 'videos'")
        dets[:, 0] = remap[vi]
    return check_detections(dets, gt, source=source)


def detections_from_img_keys(per_frame: dict, gt: dict, *,
                             source: str = 'detections') -> np.ndarray:
    """Format 2: ``{img_key: array (M, 6) rows (label, score, x1, y1, x2, y2) px}``."""
    lookup = _video_indexer(gt, source)
    parts = []
    for key, arr in per_frame.items():
        arr = np.asarray(arr, dtype=np.float64)
        if arr.size == 0:
            continue
        if arr.ndim != 2 or arr.shape[1] != 6:
            raise StadError(f'{source}: {key!r}: expected rows (label, score, x1, y1, x2, y2), '
                            f'got shape {arr.shape}')
        video, frame = parse_img_key(key)
        head = np.tile([float(lookup(video)), float(frame)], (len(arr), 1))
        parts.append(np.concatenate([head, arr], axis=1))
    dets = np.concatenate(parts) if parts else np.zeros((0, 8))
    return check_detections(dets, gt, source=source)


def detections_from_mmaction(results: Sequence[Any], gt: dict, *, per_class: bool = False,
                             min_score: float = 0.0,
                             source: str = 'mmaction2 results') -> np.ndarray:
    """Format 3: mmaction2 AVA-head predictions -> canonical detections.

    Each entry is a data-sample dict (``video_id``, ``timestamp`` = 1-based frame,
    ``pred_instances``: ``bboxes`` (n, 4) normalised to [0, 1], ``scores`` (n, C)) or a
    ``[video, frame, bboxes, scores]`` list. Boxes are scaled to pixels with
    ``gt['resolution'][video]`` = (h, w). ``C`` is ``len(gt['labels'])`` or one more
    (background in column 0, dropped).

    Args:
        per_class: False (as mmaction2's ``MultiSportsMetric``): one detection per box,
            labelled with its best class and that score. True: one detection per box and
            class whose score is >= ``min_score``.
        min_score: only with ``per_class``.
    """
    lookup = _video_indexer(gt, source)
    n_labels = len(gt['labels'])
    parts = []
    for i, r in enumerate(results):
        if isinstance(r, dict):
            try:
                video, frame = r['video_id'], r['timestamp']
                boxes, scores = r['pred_instances']['bboxes'], r['pred_instances']['scores']
            except KeyError as e:
                raise StadError(f'{source}: entry {i} lacks {e} (expected video_id, '
                                'timestamp, pred_instances.bboxes/scores)') from None
        else:
            video, frame, boxes, scores = r
        boxes, scores = to_numpy(boxes, np.float64).reshape(-1, 4), to_numpy(scores, np.float64)
        if len(boxes) == 0:
            continue
        scores = scores.reshape(len(boxes), -1)
        if scores.shape[1] == n_labels + 1:
            scores = scores[:, 1:]
        elif scores.shape[1] != n_labels:
            raise StadError(f'{source}: entry {i} has {scores.shape[1]} class scores, the '
                            f'ground truth {n_labels} labels')
        vi = lookup(str(video))
        h, w = gt['resolution'][gt['test_videos'][0][vi]]
        boxes = boxes * np.array([w, h, w, h], dtype=np.float64)
        if per_class:
            b, c = np.nonzero(scores >= min_score)
            s = scores[b, c]
        else:
            b = np.arange(len(boxes))
            c = np.argmax(scores, axis=1)
            s = scores[b, c]
        head = np.stack([np.full(len(b), vi), np.full(len(b), int(frame)), c, s], axis=1)
        parts.append(np.concatenate([head, boxes[b]], axis=1))
    dets = np.concatenate(parts) if parts else np.zeros((0, 8))
    return check_detections(dets, gt, source=source)


def read_detections(path: str, gt: dict, *, on_mmaction=None, **mmaction_kwargs
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """Read detections in any format of the module docstring, the file read once:
    canonical ``(N, 8)`` and, for a format-1 file that has them, its ``(N,)`` track ids
    (else ``None``).

    ``mmaction_kwargs`` (``per_class``, ``min_score``) apply to mmaction2 results.
    Read with stad's restricted loader; mmaction2 dumps hold tensors, so torch's tensor
    rebuild functions are allowed too (:mod:`stad.io.safe_pickle`), nothing else.
    """
    obj = load_pickle(path, 'detections file', torch=True)
    if on_mmaction is not None and isinstance(obj, (list, tuple)):
        on_mmaction()  # format 3: the caller says how it scores them
    dets = detections_from_object(obj, gt, source=path, **mmaction_kwargs)
    return dets, _track_ids_of(obj, len(dets), path)


def load_detections(path: str, gt: dict, **kwargs) -> np.ndarray:
    """The ``(N, 8)`` detections of :func:`read_detections`."""
    return read_detections(path, gt, **kwargs)[0]


def detections_from_object(obj: Any, gt: dict, *, source: str = 'detections',
                           **mmaction_kwargs) -> np.ndarray:
    """Dispatch on the formats of the module docstring."""
    if isinstance(obj, dict) and 'dets' in obj and 'videos' in obj:
        return detections_from_indexed(obj['videos'], obj['dets'], gt, source=source)
    if isinstance(obj, dict):
        return detections_from_img_keys(obj, gt, source=source)
    if isinstance(obj, np.ndarray):
        return check_detections(obj, gt, source=source)
    if isinstance(obj, (list, tuple)):
        return detections_from_mmaction(obj, gt, source=source, **mmaction_kwargs)
    raise StadError(f'{source}: unknown detections format {type(obj).__name__} '
                    '(see stad.io.detections)')


def save_detections(path: str, gt: dict, dets: np.ndarray,
                    track_ids: np.ndarray | None = None) -> None:
    """Write canonical detections in the recommended format 1 (atomic); ``track_ids``
    ``(N,)`` (the person track of each row, 0 = none) goes in as ``'track_ids'``."""
    dets = check_detections(dets, gt)
    doc = dict(videos=list(gt['test_videos'][0]), dets=dets)
    if track_ids is not None:
        doc['track_ids'] = _check_track_ids(track_ids, len(dets), path)
    atomic_dump_pickle(doc, path)


def _check_track_ids(ids, n: int, source: str) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.shape != (n,) or (ids.size and (ids.min() < 0 or not np.all(ids == np.round(ids)))):
        raise StadError(f"{source}: 'track_ids' must be {n} integers >= 0 (one per "
                        f'detection), got shape {ids.shape}')
    return ids.astype(np.int64)


def _track_ids_of(obj, n: int, source: str) -> np.ndarray | None:
    if not (isinstance(obj, dict) and 'track_ids' in obj):
        return None
    return _check_track_ids(obj['track_ids'], n, source)


def load_track_ids(path: str, n: int) -> np.ndarray | None:
    """The ``'track_ids'`` of a format-1 detections file (``None`` if it has none),
    checked against its ``n`` detections."""
    return _track_ids_of(load_pickle(path, 'detections file', torch=True), n, path)
