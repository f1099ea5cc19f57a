"""Person proposals straight from videos with a trained mmdet detector (`stad propose`).

Frames are decoded in a stream (OpenCV, BGR as mmdet's ``LoadImageFromFile`` gives),
sent through the config's test pipeline in batches and ``model.test_step``; no frame is
written to disk. Detections (pixels) are cached per video in a work dir, so a killed run
goes on where it stopped; at the end they become per-split proposal pickles with
:func:`stad.data.convert.detections_to_proposals`, written atomically.

Output format (one home: :mod:`stad.data.layout`): ``{img_key(video, frame):
float32 (N, 5)}``, x1, y1, x2, y2 normalised to [0, 1] by the frame's width/height,
then the score; boxes sorted by score, frames 1-based. Frames without a proposal above
the threshold have no key (mmaction2's ``AVADataset`` falls back to the whole frame for
a missing key, but fails on an empty array).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import asdict, dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np

from ..data.layout import VIDEO_EXT, DataLayout, img_key
from ..errors import StadError
from ..io import atomic_dump_pickle, atomic_write_text

# Per-video cache under the work dir: <work_dir>/videos/<sport>/<video>.pkl
CACHE_DIR = 'videos'
REPORT_FILE = 'proposal_report.json'
ALL_SPLIT = 'all'  # split name used when there is no ground truth to split videos


@dataclass(frozen=True)
class ProposalOptions:
    """Which frames to run on and which boxes to keep.

    Attributes:
        score_thr: keep person boxes with score >= this.
        max_per_frame: keep at most this many boxes per frame (highest scores).
        stride: run on frames 1, 1 + stride, 1 + 2 * stride, ... (1: every frame).
        batch_size: frames per ``model.test_step`` call (speed only, not results).
    """

    score_thr: float = 0.3
    max_per_frame: int = 10
    stride: int = 1
    batch_size: int = 8

    def __post_init__(self):
        if not 0.0 <= self.score_thr <= 1.0:
            raise StadError(f'score threshold must be in [0, 1], got {self.score_thr}')
        if self.max_per_frame < 1:
            raise StadError(f'max boxes per frame must be >= 1, got {self.max_per_frame}')
        if self.stride < 1:
            raise StadError(f'frame stride must be >= 1, got {self.stride}')
        if self.batch_size < 1:
            raise StadError(f'batch size must be >= 1, got {self.batch_size}')


# ------------------------------------------------------------------------------ model

def load_detector(config: str, checkpoint: str, *, device: str = 'cpu'):
    """Build the mmdet detector of ``config`` with ``checkpoint``'s weights, in eval mode.

    Raises:
        StadError: config or checkpoint file missing.
    """
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if not os.path.isfile(path):
            raise StadError(f'{what} file not found: {path}')
    from mmdet.apis import init_detector
    return init_detector(config, checkpoint, device=device)


def person_label(model) -> int:
    """Index of class 'person' in the detector's classes (0 if it has no class names)."""
    classes = [str(c).lower() for c in (getattr(model, 'dataset_meta', None) or {})
               .get('classes', ())]
    if classes and 'person' not in classes:
        raise StadError(f"the detector has no class 'person' (classes: {classes[:10]})")
    return classes.index('person') if classes else 0


def build_frame_pipeline(model):
    """The config's test pipeline fed with decoded frames instead of file names."""
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    steps = []
    for step in get_test_pipeline_cfg(model.cfg.copy()):
        kind = str(step['type']).split('.')[-1]
        if kind == 'LoadImageFromFile':
            step = dict(step, type='mmdet.LoadImageFromNDArray')
        elif kind == 'LoadAnnotations':  # frames have no annotations
            continue
        steps.append(step)
    return Compose(steps)


def detections_to_array(pred_instances, *, label: int, score_thr: float,
                        max_per_frame: int) -> np.ndarray:
    """One frame's mmdet predictions -> float32 (N, 5) x1, y1, x2, y2 (pixels), score.

    Keeps boxes of class ``label`` with score >= ``score_thr``, the ``max_per_frame``
    best, sorted by decreasing score.
    """
    bboxes = pred_instances.bboxes.detach().cpu().numpy()
    scores = pred_instances.scores.detach().cpu().numpy()
    labels = pred_instances.labels.detach().cpu().numpy()
    keep = (labels == label) & (scores >= score_thr)
    bboxes, scores = bboxes[keep], scores[keep]
    order = np.argsort(-scores, kind='stable')[:max_per_frame]
    return np.concatenate([bboxes[order], scores[order, None]], axis=1).astype(np.float32)


class FrameDetector:
    """Runs a detector on batches of BGR frames; returns person boxes in pixels.

    Args:
        model: a detector from :func:`load_detector` (or ``mmdet.apis.init_detector``).
        score_thr, max_per_frame: see :class:`ProposalOptions`.
    """

    def __init__(self, model, *, score_thr: float, max_per_frame: int):
        self.model = model
        self.pipeline = build_frame_pipeline(model)
        self.label = person_label(model)
        self.score_thr = score_thr
        self.max_per_frame = max_per_frame

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``frames``: HxWx3 uint8 BGR images -> per frame float32 (N, 5) x1, y1, x2, y2
        in the frame's pixels, score (see :func:`detections_to_array`)."""
        import torch
        if not len(frames):
            return []
        packed = [self.pipeline(dict(img=f, img_id=i)) for i, f in enumerate(frames)]
        data = dict(inputs=[p['inputs'] for p in packed],
                    data_samples=[p['data_samples'] for p in packed])
        with torch.no_grad():
            results = self.model.test_step(data)
        return [detections_to_array(r.pred_instances, label=self.label,
                                    score_thr=self.score_thr, max_per_frame=self.max_per_frame)
                for r in results]


# ------------------------------------------------------------------------------ video

def count_frames(path: str) -> int:
    """Frame count from the container header (no decoding); 0 if unknown."""
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if cap.isOpened() else 0
    finally:
        cap.release()


def iter_frame_batches(path: str, *, stride: int = 1, batch_size: int = 8
                       ) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """Decode ``path`` in one pass; yield (1-based frame numbers, BGR frames) batches.

    Frames 1, 1 + stride, ... are decoded; the others are only demuxed (``grab``).

    Raises:
        StadError: the video cannot be opened.
    """
    import cv2
    if not os.path.isfile(path):
        raise StadError(f'video not found: {path}')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise StadError(f'cannot read video {path}')
    try:
        numbers, frames = [], []
        index = 0
        while True:
            if index % stride == 0:
                ok, frame = cap.read()
                if not ok:
                    break
                numbers.append(index + 1)
                frames.append(frame)
                if len(frames) == batch_size:
                    yield numbers, frames
                    numbers, frames = [], []
            elif not cap.grab():
                break
            index += 1
        if frames:
            yield numbers, frames
    finally:
        cap.release()


def detect_video(detector: FrameDetector, path: str, video: str, *, stride: int = 1,
                 batch_size: int = 8, progress=None) -> dict[tuple[str, int], np.ndarray]:
    """Person detections of one video: ``{(video, frame): float32 (N, 5)}`` in pixels.

    The format of :func:`stad.data.convert.detections_to_proposals`; frames 1-based;
    frames without a box kept by the detector's threshold have no entry.

    Args:
        detector: a :class:`FrameDetector`.
        path: the video file.
        video: its id ``'<sport>/<video>'``.
        progress: optional tqdm bar, advanced by the number of frames run.
    """
    out = {}
    for numbers, frames in iter_frame_batches(path, stride=stride, batch_size=batch_size):
        for n, dets in zip(numbers, detector(frames)):
            if len(dets):
                out[(video, n)] = dets
        if progress is not None:
            progress.update(len(frames))
    return out


def video_size(path: str) -> tuple[int, int]:
    """(h, w) of a video from its header."""
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    finally:
        cap.release()


def normalise_detections(detections: Mapping[tuple[str, int], np.ndarray],
                         sizes: Mapping[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """``{(video, frame): pixels (N, 5)}`` -> ``{img_key: normalised float32 (N, 5)}``
    using each video's (h, w) from ``sizes``; for data without ground truth (with it,
    :func:`stad.data.convert.detections_to_proposals` does this per split)."""
    out = {}
    for (video, frame), dets in sorted(detections.items()):
        h, w = sizes[video]
        arr = np.array(dets, dtype=np.float32).reshape(-1, 5)
        arr[:, :4] = np.clip(arr[:, :4] / np.array([w, h, w, h], np.float32), 0, 1)
        out[img_key(video, frame)] = arr
    return out


# ---------------------------------------------------------------------------- dataset

@dataclass(frozen=True)
class ProposeResult:
    """What :func:`propose` wrote: pickle per split, the report (None without GT)."""

    files: dict
    report: dict | None
    report_file: str | None
    videos_run: int
    videos_cached: int


def _cache_signature(checkpoint: str, options: ProposalOptions) -> str:
    st = os.stat(checkpoint)
    key = dict(checkpoint=os.path.abspath(checkpoint), size=st.st_size,
               mtime=int(st.st_mtime), score_thr=options.score_thr,
               max_per_frame=options.max_per_frame, stride=options.stride)
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _read_cache(path: str, signature: str) -> dict | None:
    if not os.path.isfile(path):
        return None
    try:
        with open(path, 'rb') as f:  # stad's own cache, written by propose()
            cached = pickle.load(f)
    except Exception:  # a damaged cache entry is recomputed
        return None
    if not isinstance(cached, dict) or cached.get('signature') != signature:
        return None
    return cached['detections']


def _videos_by_split(layout: DataLayout, gt: dict | None,
                     splits: Sequence[str] | None) -> dict[str, list[str]]:
    from ..data.gt import split_videos
    if gt is not None:
        by_split = split_videos(gt)
    else:  # no ground truth: every video under trainval/ in one pickle
        videos = []
        for dirpath, _, names in os.walk(layout.video_dir):
            for name in names:
                if name.endswith(VIDEO_EXT):
                    rel = os.path.relpath(os.path.join(dirpath, name), layout.video_dir)
                    videos.append(os.path.splitext(rel)[0].replace(os.sep, '/'))
        by_split = {ALL_SPLIT: sorted(videos)}
    if splits:
        unknown = [s for s in splits if s not in by_split]
        if unknown:
            raise StadError(f'unknown split(s) {unknown}; this dataset has {sorted(by_split)}')
        by_split = {s: by_split[s] for s in splits}
    if not any(by_split.values()):
        raise StadError(f'no videos to run on under {layout.video_dir}')
    return by_split


def propose(config: str, checkpoint: str, root: str, *, work_dir: str,
            options: ProposalOptions = ProposalOptions(), splits: Sequence[str] | None = None,
            device: str = 'cpu', out_dir: str | None = None,
            show_progress: bool = True) -> ProposeResult:
    """Write person proposals for every video of ``root`` (MultiSports layout).

    Splits come from ``root``'s ground truth (``layout.gt_file``); without it, every
    video under ``trainval/`` goes to split ``'all'``. Pickles go to
    ``layout.proposals(split)`` under ``out_dir`` (default ``root/annotations``).
    With ground truth, the proposal report (:mod:`stad.data.proposals_report`) is
    computed and written to ``work_dir/proposal_report.json``.

    Resumable: each video's proposals are cached in ``work_dir/videos/``; a rerun with
    the same checkpoint and options skips videos already done.
    """
    from tqdm import tqdm

    from ..data.gt import load_gt
    from ..data.proposals_report import proposal_report

    layout = DataLayout(root)
    gt = load_gt(layout.gt_file) if os.path.isfile(layout.gt_file) else None
    by_split = _videos_by_split(layout, gt, splits)
    videos = sorted({v for vs in by_split.values() for v in vs})
    for v in videos:
        if not os.path.isfile(layout.video_path(v)):
            raise StadError(f'video {v!r}: file not found: {layout.video_path(v)}')
    if not os.path.isfile(checkpoint):
        raise StadError(f'checkpoint file not found: {checkpoint}')
    signature = _cache_signature(checkpoint, options)
    cache = {v: os.path.join(work_dir, CACHE_DIR, v + '.pkl') for v in videos}
    results = {v: _read_cache(cache[v], signature) for v in videos}
    todo = [v for v in videos if results[v] is None]

    if todo:
        detector = FrameDetector(load_detector(config, checkpoint, device=device),
                                 score_thr=options.score_thr,
                                 max_per_frame=options.max_per_frame)
        total = sum(-(-count_frames(layout.video_path(v)) // options.stride) for v in todo)
        with tqdm(total=total, unit='frame', desc='propose', disable=not show_progress,
                  dynamic_ncols=True) as bar:
            for v in todo:
                bar.set_postfix_str(v)
                results[v] = detect_video(detector, layout.video_path(v), v,
                                          stride=options.stride,
                                          batch_size=options.batch_size, progress=bar)
                atomic_dump_pickle(dict(signature=signature, video=v, detections=results[v]),
                                   cache[v])

    detections = {k: d for v in videos for k, d in results[v].items()}
    if gt is not None:
        from ..data.convert import detections_to_proposals
        per_split = detections_to_proposals(detections, gt)
    else:
        per_split = {ALL_SPLIT: normalise_detections(
            detections, {v: video_size(layout.video_path(v)) for v in videos})}
    files, by_split_props = {}, {}
    for split in by_split:
        path = layout.proposals(split)
        if out_dir is not None:
            path = os.path.join(out_dir, os.path.basename(path))
        atomic_dump_pickle(per_split[split], path)
        files[split] = path
        by_split_props[split] = per_split[split]

    report = report_file = None
    if gt is not None:
        report = proposal_report(by_split_props, gt, stride=options.stride)
        report_file = os.path.join(work_dir, REPORT_FILE)
        write_report(report, report_file, options=options, files=files)
    return ProposeResult(files=files, report=report, report_file=report_file,
                         videos_run=len(todo), videos_cached=len(videos) - len(todo))


def write_report(report: Mapping, path: str, **extra) -> None:
    """Write a proposal report (and context such as the options used) as JSON."""
    doc = dict(report=report)
    for k, v in extra.items():
        doc[k] = asdict(v) if hasattr(v, '__dataclass_fields__') else v
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + '\n')


def load_proposals(path: str) -> dict[str, np.ndarray]:
    """Read a proposal pickle written by :func:`propose`.

    Raises:
        StadError: missing or unreadable file, or not ``{img_key: (N, 4|5) array}``.
    """
    if not os.path.isfile(path):
        raise StadError(f'proposal file not found: {path}')
    from ..data.gt import _RestrictedUnpickler  # plain containers + numpy arrays only
    try:
        with open(path, 'rb') as f:
            data = _RestrictedUnpickler(f, path).load()
    except StadError:
        raise
    except Exception as e:
        raise StadError(f'{path}: not a readable pickle ({type(e).__name__}: {e})') from e
    if not isinstance(data, dict) or not all(
            isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[1] in (4, 5)
            for v in data.values()):
        raise StadError(f'{path}: expected {{img_key: array (N, 5)}} proposals')
    return data


def report_for_files(root: str, files: Mapping[str, str], *, out: str | None = None,
                     stride: int = 1) -> dict:
    """Proposal report of existing pickles ``{split: path}`` against ``root``'s GT;
    ``stride``: the pickles hold frames 1, 1 + stride, ... only."""
    from ..data.gt import load_gt
    from ..data.proposals_report import proposal_report
    gt = load_gt(DataLayout(root).gt_file)
    report = proposal_report({s: load_proposals(p) for s, p in files.items()}, gt,
                             stride=stride)
    if out:
        write_report(report, out, files=dict(files))
    return report
