"""Person detection on decoded frames with a trained mmdet detector.

:class:`FrameDetector` sends BGR frames (as mmdet's ``LoadImageFromFile`` gives)
through the config's test pipeline in batches and ``model.test_step``, and returns the
person boxes in pixels; :func:`detect_video` runs it over one video in a stream (no
frame written to disk). Dataset-level proposals (cache, splits, report):
:mod:`stad.tasks.propose`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from stad.errors import StadError
from stad.io.arrays import to_numpy
from stad.io.checkpoint import load_weights
from stad.io.config import read_config
from stad.io.video import iter_frame_batches


@dataclass(frozen=True)
class ProposalOptions:
    """Which frames to run on and which boxes to keep.

    Attributes:
        score_thr: keep person boxes with score >= this.
        max_per_frame: keep at most this many boxes per frame (highest scores).
        stride: run on frames 1, 1 + stride, 1 + 2 * stride, ... (1: every frame).
        batch_size: frames per ``model.test_step`` call (speed only, not results).
        backend: ``'torch'``, or ``'auto'``, ``'onnxruntime'``, ``'openvino'``, which run
            the ``stad export onnx`` files in ``onnx_dir`` (:func:`make_detector`).
        onnx_dir: the export folder for a backend other than torch.
        precision: OpenVINO's ``'f32'`` or ``'bf16'``.
        workers: videos run at once on a runtime backend, each by its own detector
            whose sessions get ``cores // workers`` threads (speed only, not results);
            ``None``: as many as there are cores, at most :data:`MAX_WORKERS` (torch:
            always 1).
    """

    score_thr: float = 0.3
    max_per_frame: int = 10
    stride: int = 1
    batch_size: int = 8
    backend: str = 'torch'
    onnx_dir: str | None = None
    precision: str = 'f32'
    workers: int | None = None

    def __post_init__(self):
        if not 0.0 <= self.score_thr <= 1.0:
            raise StadError(f'score threshold must be in [0, 1], got {self.score_thr}')
        if self.max_per_frame < 1:
            raise StadError(f'max boxes per frame must be >= 1, got {self.max_per_frame}')
        if self.stride < 1:
            raise StadError(f'frame stride must be >= 1, got {self.stride}')
        if self.batch_size < 1:
            raise StadError(f'batch size must be >= 1, got {self.batch_size}')
        if self.workers is not None and self.workers < 1:
            raise StadError(f'workers must be >= 1, got {self.workers}')
        from stad.apis.runtime import check_backend
        check_backend(self.backend, self.precision)


# ------------------------------------------------------------------------------ model

def load_detector(config, checkpoint: str, *, device: str = 'cpu'):
    """Build the mmdet detector of ``config`` with ``checkpoint``'s weights, in eval mode.

    What ``mmdet.apis.init_detector(config, checkpoint)`` returns, except that the
    checkpoint is read safely and must match the model exactly
    (:func:`stad.io.checkpoint.load_weights`). ``model.dataset_meta`` as init_detector
    sets it: the checkpoint's ``meta.dataset_meta`` (keys lower-cased), else its
    ``meta.CLASSES`` (mmdet 2.x), else COCO's classes; the palette from the config's
    test dataset, else the checkpoint's, else ``'random'``.

    The ONNX Runtime / OpenVINO backends need no mmdet model:
    :class:`stad.apis.detect_numpy.RuntimeDetector` (:func:`make_detector`).

    Raises:
        StadError: config or checkpoint file missing; a checkpoint that is unreadable,
            unsafe or not of this detector.
    """
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if path is None or not os.path.isfile(path):
            raise StadError(f'{what} file not found: {path}')
    import warnings

    from mmdet.apis import init_detector
    from mmdet.evaluation import get_classes
    # init_detector warns "checkpoint is None, use COCO classes by default" (we load it
    # below) after simplefilter('once'), which would override an ignore filter: record
    # its warnings and pass on the others
    cfg = read_config(config, 'detector config')
    with warnings.catch_warnings(record=True) as caught:
        model = init_detector(cfg, None, device=device)
    for w in caught:
        if 'checkpoint is None' not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # without a checkpoint init_detector set {'classes': COCO, 'palette': the config's
    # test dataset palette, or 'random' if it has none}
    cfg_palette = model.dataset_meta.get('palette')
    ckpt = load_weights(model, checkpoint, what='detector')
    meta = ckpt.get('meta')
    meta = meta if isinstance(meta, dict) else {}  # converted weights may have none
    if isinstance(meta.get('dataset_meta'), dict):  # mmdet 3.x: keys lower-case
        dataset_meta = {str(k).lower(): v for k, v in meta['dataset_meta'].items()}
    elif 'CLASSES' in meta:  # mmdet 2.x
        dataset_meta = {'classes': meta['CLASSES']}
    else:
        warnings.warn(f'{checkpoint}: no class names in the checkpoint\'s meta, using COCO\'s '
                      '(as mmdet\'s init_detector does)')
        dataset_meta = {'classes': get_classes('coco')}
    # init_detector's priority: the config's palette, then the checkpoint's, then random
    # ('random' from above is init_detector's fallback, not the config's choice)
    if cfg_palette != 'random' or 'palette' not in dataset_meta:
        dataset_meta['palette'] = cfg_palette
    model.dataset_meta = dataset_meta
    from stad.apis.runtime import use_torchvision_roi_align
    use_torchvision_roi_align(model)  # same values, faster (stad.apis.runtime)
    return model


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
    from stad.apis.detect_numpy import person_rows
    return person_rows(to_numpy(pred_instances.bboxes), to_numpy(pred_instances.scores),
                       to_numpy(pred_instances.labels), label=label, score_thr=score_thr,
                       max_per_frame=max_per_frame)


class FrameDetector:
    """Runs a detector on batches of BGR frames; returns person boxes in pixels.

    Eager PyTorch; the ONNX Runtime / OpenVINO backends: :func:`make_detector`.

    Args:
        model: a detector from :func:`load_detector` (or ``mmdet.apis.init_detector``).
        score_thr, max_per_frame: see :class:`ProposalOptions`.
    """

    backend = 'torch'
    torch_free = False

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
        with torch.no_grad():  # model.test_step, in two steps
            data = self.model.data_preprocessor(data, False)
            # oneDNN's convolutions run natively channels-last (a probe for issue 15:
            # 1.44x on the detector backbone; same values)
            inputs = data['inputs'].contiguous(memory_format=torch.channels_last)
            preds = [r.pred_instances for r in self.model.predict(inputs,
                                                                  data['data_samples'])]
        return [detections_to_array(p, label=self.label, score_thr=self.score_thr,
                                    max_per_frame=self.max_per_frame) for p in preds]


def make_detector(config: str | None, checkpoint: str | None, *, score_thr: float,
                  max_per_frame: int, backend: str = 'torch', onnx_dir: str | None = None,
                  precision: str = 'f32', device: str = 'cpu', threads: int | None = None):
    """The person detector of ``backend``: a :class:`FrameDetector` over the mmdet model
    of ``config`` + ``checkpoint`` (``'torch'``), or a
    :class:`stad.apis.detect_numpy.RuntimeDetector` over the ``stad export onnx`` folder
    ``onnx_dir`` (``'auto'``, ``'onnxruntime'``, ``'openvino'``: no torch, no mmdet; the
    checkpoint is not read, ``config``, if given, replaces the export's copy for the pre-
    and post-processing; ``threads``: each runtime session's)."""
    from stad.apis.runtime import check_backend
    check_backend(backend, precision)
    if backend == 'torch':
        return FrameDetector(load_detector(config, checkpoint, device=device),
                             score_thr=score_thr, max_per_frame=max_per_frame)
    from stad.apis.detect_numpy import RuntimeDetector
    from stad.apis.runtime import require_onnx_dir
    return RuntimeDetector(require_onnx_dir(backend, onnx_dir), backend, score_thr=score_thr,
                           max_per_frame=max_per_frame, config=config, precision=precision,
                           threads=threads)


def detect_video(detector, path: str, video: str, *, stride: int = 1,
                 batch_size: int = 8, progress=None,
                 stats: dict | None = None) -> dict[tuple[str, int], np.ndarray]:
    """Person detections of one video: ``{(video, frame): float32 (N, 5)}`` in pixels.

    The format of :func:`stad.data.convert.detections_to_proposals`; frames 1-based;
    frames without a box kept by the detector's threshold have no entry.

    Args:
        detector: a :class:`FrameDetector` or what :func:`make_detector` returns.
        path: the video file.
        video: its id ``'<sport>/<video>'``.
        progress: optional progress bar, advanced by the number of frames run.
        stats: if given, ``stats['last_frame']`` is set to the last frame decoded.
    """
    out = {}
    last = 0
    for numbers, frames in iter_frame_batches(path, stride=stride, batch_size=batch_size):
        for n, dets in zip(numbers, detector(frames)):
            if len(dets):
                out[(video, n)] = dets
        last = numbers[-1]
        if progress is not None:
            progress.update(len(frames))
    if stats is not None:
        stats['last_frame'] = last
    return out


# one copy of the detector per worker: 4 bounds the memory (a ResNet-50 Faster R-CNN is
# ~170 MB per copy) where more cores gain less than threads in each session do
MAX_WORKERS = 4


def video_detectors(config: str | None, checkpoint: str | None, options: ProposalOptions,
                    videos: int, *, device: str = 'cpu') -> list:
    """The detectors :func:`detect_videos` runs ``videos`` videos with: one (torch, or a
    single video), else ``options.workers`` (default: the cores, at most
    :data:`MAX_WORKERS`), each runtime session with its share of the cores.

    Why several: the detector's small convolutions use two cores badly, so one video
    per core, each on one thread, gives the same boxes for less CPU and wall time than
    one video at a time on all cores (measured on 2 cores: ``stad propose`` of 4 videos
    5.5-5.8 s CPU / 2.9 s wall vs 5.7-6.9 / 3.3-3.9, docs/experiments.md)."""
    from stad.apis.runtime import default_threads
    kw = dict(score_thr=options.score_thr, max_per_frame=options.max_per_frame,
              backend=options.backend, onnx_dir=options.onnx_dir,
              precision=options.precision, device=device)
    workers = 1 if options.backend == 'torch' else min(
        videos, options.workers or min(default_threads(1), MAX_WORKERS))
    first = make_detector(config, checkpoint,
                          threads=default_threads(workers) if workers > 1 else None, **kw)
    return [first] + [first.copy() for _ in range(workers - 1)]


def detect_videos(detectors: Sequence, videos: Sequence[tuple[str, str]], *, stride: int = 1,
                  batch_size: int = 8, progress=None
                  ) -> Iterator[tuple[str, dict, dict]]:
    """:func:`detect_video` over ``videos`` (``(video id, path)`` pairs), as many at once
    as there are ``detectors`` (threads: the runtimes, OpenCV's decoder and NMS release
    the GIL); yields ``(video id, detections, stats)`` as each video ends, in order of
    ending. A failing video raises here; when it does, or when the caller stops (Ctrl-C,
    ``close()``), the videos not started are not run and those running stop at their
    next batch."""
    def run(det, v: str, path: str, bar) -> tuple[str, dict, dict]:
        stats = {}
        return v, detect_video(det, path, v, stride=stride, batch_size=batch_size,
                               progress=bar, stats=stats), stats

    if len(detectors) <= 1:
        for v, path in videos:
            if hasattr(progress, 'set_postfix_str'):
                progress.set_postfix_str(v)
            yield run(detectors[0], v, path, progress)
        return
    import queue
    import threading
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
    free = queue.Queue()
    for d in detectors:
        free.put(d)
    lock = threading.Lock()  # progress bars are not thread-safe
    stop = threading.Event()

    class _Stopped(Exception):
        pass

    class _Batches:  # called after each batch: the progress bar, and the stop
        def update(self, n):
            if stop.is_set():
                raise _Stopped
            if progress is not None:
                with lock:
                    progress.update(n)

    def one(v: str, path: str):
        det = free.get()
        try:
            return run(det, v, path, _Batches())
        finally:
            free.put(det)

    with ThreadPoolExecutor(len(detectors), thread_name_prefix='stad-detect') as pool:
        pending = {pool.submit(one, v, path) for v, path in videos}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        finally:
            stop.set()
            for f in pending:
                f.cancel()
